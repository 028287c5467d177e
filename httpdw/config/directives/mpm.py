"""The worker MPM's directives and the process-level ones (Listen, User, Group, PidFile, Mutex, ...).

Both vocabularies: Apache 2.4's names and the 2.0-era ones (MaxClients, MaxRequestsPerChild as
aliases; AcceptMutex, LockFile, EnableExceptionHook, which 2.4 removed, accepted as REMOVED so old
configs still load). Parse-time checks and their error texts are Apache's (spec section 2); the
range rules that Apache applies later (ServerLimit caps, MaxRequestWorkers multiples) belong to
the worker rules, not here: these handlers only read the numbers the way Apache does.

Every directive here is RSRC_CONF + GLOBAL_ONLY in Apache: allowed in the server config only, and
"cannot occur within <VirtualHost> section" inside a virtual host.
"""
from __future__ import annotations

import grp
import ipaddress
import os
import pwd
from dataclasses import dataclass
from typing import Any

from httpdw.config.diagnostics import Diagnostics
from httpdw.config.directives.apache_known import apache_desc
from httpdw.config.model import Listener
from httpdw.config.registry import Context, Status, Syntax, declare
from httpdw.config.tree import split_words
from httpdw.config.values import (atoi_min, atoi_value, c_atoi, choice, error, existing_directory,
                                  module_loaded, on_off_word, path_value, pos_of, server_root_relative,
                                  strtol_nonneg)

WORKER = "mpm_worker_module"
SERVER = Context.SERVER | Context.VHOST   # RSRC_CONF; GLOBAL_ONLY then refuses <VirtualHost>
ARGV0 = "httpdw"                          # Apache prints ap_server_argv0 in AH00543/AH00544


def mpm_directive(name: str, module: str, syntax: Syntax, doc: str, **kw: Any) -> None:
    """Declare a server-config-only directive, with Apache's description unless one is given."""
    if "desc" not in kw:
        kw["desc"] = apache_desc(name)
    declare(name, module, syntax, SERVER, doc, global_only=True, **kw)


# --------------------------------------------------------------------------- the worker numbers

def _int(name: str, doc: str, default: int, module: str = WORKER, **kw: Any) -> None:
    mpm_directive(name, module, Syntax.TAKE1, doc, parse=atoi_value, default=default, **kw)


_int("ServerLimit", "Upper limit on the number of child processes (fixed for the life of the parent; max 20000).", 16)
_int("ThreadLimit", "Upper limit on ThreadsPerChild (fixed for the life of the parent; max 20000).", 64)
_int("ThreadsPerChild", "Number of worker threads each child process creates.", 25)
_int("MaxRequestWorkers", "Maximum number of worker threads serving requests at the same time.", 400,
     default_doc="400 (16 x 25, not recomputed from ServerLimit or ThreadsPerChild)")
_int("MaxClients", "Apache 2.0/2.2 name of MaxRequestWorkers.", 400, alias_of="MaxRequestWorkers",
     since="2.0 name, deprecated in 2.4")
_int("StartServers", "Number of child processes created at start-up.", 3)
_int("MinSpareThreads", "Minimum number of idle worker threads; below it, more children are started.", 75)
_int("MaxSpareThreads", "Maximum number of idle worker threads; above it, children are stopped.", 250)
_int("GracefulShutdownTimeout", "Seconds a graceful stop waits for children to finish (0 = forever).", 0)
_int("MaxConnectionsPerChild", "Connections a child serves before it exits (0 = unlimited).", 0,
     module="core")
_int("MaxRequestsPerChild", "Apache 2.0/2.2 name of MaxConnectionsPerChild.", 0, module="core",
     alias_of="MaxConnectionsPerChild", since="2.0 name, deprecated in 2.4")

mpm_directive("ListenBacklog", WORKER, Syntax.TAKE1, "Length of the queue of pending connections (listen(2) backlog).",
              parse=atoi_min(1, "ListenBacklog must be > 0"), default=511)
mpm_directive("ListenTCPDeferAccept", WORKER, Syntax.TAKE1,
              "Seconds TCP_DEFER_ACCEPT lets a connection wait for its first data before accept() sees it.",
              parse=atoi_min(1, "ListenTCPDeferAccept must be > 0"), default=30)
mpm_directive("AcceptFilter", "core", Syntax.TAKE2,
              "The accept filter of a protocol: 'none' accepts at once; any other (data, dataready, httpready) "
              "is TCP_DEFER_ACCEPT on Linux: the kernel hands over a connection once its request has arrived.",
              parse=lambda words, node, diags: (words[0].lower(), words[1]),
              default_doc="http and https: data (TCP_DEFER_ACCEPT)")
mpm_directive("ListenCoresBucketsRatio", WORKER, Syntax.TAKE1,
              "CPU cores per listener bucket (SO_REUSEPORT); 0, the default, disables buckets.",
              parse=atoi_min(1, "ListenCoresBucketsRatio must be > 0"), default=0)
for _name in ("SendBufferSize", "ReceiveBufferSize"):
    mpm_directive(_name, WORKER, Syntax.TAKE1,
                  f"TCP {'send' if _name.startswith('Send') else 'receive'} buffer size in bytes (0 = system default).",
                  parse=atoi_min(512, "{name} must be >= 512 bytes, or 0 for system default.", allow_zero=True),
                  default=0)
mpm_directive("MaxMemFree", "core", Syntax.TAKE1, "KiB of free memory each allocator may keep before returning it.",
              parse=strtol_nonneg, default=2048)
mpm_directive("ThreadStackSize", "core", Syntax.TAKE1, "Stack size of worker threads in bytes (0 = system default).",
              parse=strtol_nonneg, default=0)


# --------------------------------------------------------------------------- Listen

def parse_addr_port(text: str) -> tuple[str | None, int, bool]:
    """APR's apr_parse_addr_port: (host or None, port (0 = none given), ok).

    `80` -> (None, 80); `1.2.3.4:80`; `[::1]:80` -> ("::1", 80); `host` -> ("host", 0);
    a port outside 1..65535, a leading ':' or a malformed `[v6]` -> not ok."""
    end = len(text)
    i = end - 1
    while i >= 0 and text[i].isdigit() and text[i].isascii():
        i -= 1
    if i < 0:                                     # the whole string is a port
        port = c_atoi(text)
        return (None, port, True) if 1 <= port <= 65535 else (None, 0, False)
    port = 0
    last = end
    if text[i] == ":" and i < end - 1:            # host:port
        if i == 0:
            return None, 0, False
        port = c_atoi(text[i + 1:])
        if not 1 <= port <= 65535:
            return None, 0, False
        last = i
    host = text[:last]
    if host.startswith("["):
        if host.find("]") != len(host) - 1:
            return None, 0, False
        inner = host[1:-1]
        addr, _, scope = inner.partition("%")
        if "%" in inner and not scope:
            return None, 0, False
        try:
            ipaddress.IPv6Address(addr)
        except ValueError:
            return None, 0, False
        return inner, port, True
    return host, port, True


def parse_listen(words: list[str], node: Any, diags: Diagnostics) -> Listener | None:
    """`Listen [addr:]port [protocol]` with ap_set_listener's checks and messages."""
    if not 1 <= len(words) <= 2:
        error(diags, node, "Listen requires 1 or 2 arguments.", hint="write Listen [address:]port [protocol]",
              code="HDW0103")
        return None
    host, port, ok = parse_addr_port(words[0])
    if not ok:
        error(diags, node, "Invalid address or port", hint="the port must be 1-65535; IPv6 addresses go in "
              "brackets: Listen [::1]:8080")
        return None
    if host == "*":
        host = None
    if not port:
        error(diags, node, "Port must be specified", hint=f"add a port, e.g. Listen {words[0]}:80"
              if not words[0].isdigit() else "use a port from 1 to 65535")
        return None
    proto = words[1].lower() if len(words) == 2 else ("https" if port == 443 else "http")
    return Listener(host=host, port=port, proto=proto, pos=pos_of(node))


mpm_directive("Listen", WORKER, Syntax.TAKE_ARGV, "An address and port to accept connections on, and an optional protocol.",
              parse=parse_listen, default_doc="none: at least one Listen is required to start")


# --------------------------------------------------------------------------- files

mpm_directive("PidFile", "core", Syntax.TAKE1, "File the parent process writes its process id to (ServerRoot-relative).",
              parse=path_value, default="logs/httpd.pid")
mpm_directive("ScoreBoardFile", "core", Syntax.TAKE1,
              "File for the scoreboard; unset, httpdw uses anonymous shared memory.", parse=path_value,
              default_doc="unset (anonymous shared memory)")
mpm_directive("CoreDumpDirectory", "core", Syntax.TAKE1, "Directory the server changes to before dumping core.",
              parse=existing_directory, default_doc="ServerRoot")


def runtime_dir(words: list[str], node: Any, diags: Diagnostics) -> str:
    """DefaultRuntimeDir: must be an existing directory (core.c set_runtime_dir)."""
    path = path_value(words, node, diags)
    if not os.path.isdir(path):
        error(diags, node, "DefaultRuntimeDir must be a valid directory, absolute or relative to ServerRoot",
              hint=f"create {path} or point DefaultRuntimeDir to an existing directory")
    return path


declare("DefaultRuntimeDir", "core", Syntax.TAKE1, SERVER,
        "Directory for run-time files (pid file, scoreboard, locks) given as relative paths.",
        desc=apache_desc("DefaultRuntimeDir"), parse=runtime_dir, default_doc="logs/ under ServerRoot",
        exec_on_read=True)   # read while parsing, like ServerRoot: accepted in any context


# --------------------------------------------------------------------------- User / Group

ROOT_REFUSAL = ("Error:\tApache has not been designed to serve pages while\n"
                "\trunning as root.  There are known race conditions that\n"
                "\twill allow any local user to read any file on the system.\n"
                "\tIf you still desire to serve pages as root then\n"
                "\tadd -DBIG_SECURITY_HOLE to the CFLAGS env variable\n"
                "\tand then rebuild the server.\n"
                "\tIt is strongly suggested that you instead modify the User\n"
                "\tdirective in your httpd.conf file to list a non-root\n"
                "\tuser.\n")


def one_line(text: str) -> str:
    """Apache's multi-line handler messages on one diagnostic line (same words, blanks collapsed)."""
    return " ".join(text.split())


def parse_user(words: list[str], node: Any, diags: Diagnostics) -> str:
    """User name or #uid, resolved now as Apache does (unknown -> AH00543; uid 0 refused)."""
    name = words[0] if words else ""
    if name.startswith("#"):
        uid = c_atoi(name[1:])
    else:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except (KeyError, ValueError):
            diags.error("AH00543", f"{ARGV0}: bad user name {name}", pos_of(node),
                        hint="create the user or name an existing one (or #uid)")
            return name
    if uid == 0:
        error(diags, node, one_line(ROOT_REFUSAL), hint="name an unprivileged user, e.g. User www-data")
    return name


def parse_group(words: list[str], node: Any, diags: Diagnostics) -> str:
    """Group name or #gid, resolved now (unknown -> AH00544); root is allowed, as in Apache."""
    name = words[0] if words else ""
    if not name.startswith("#"):
        try:
            grp.getgrnam(name)
        except (KeyError, ValueError):
            diags.error("AH00544", f"{ARGV0}: bad group name {name}", pos_of(node),
                        hint="create the group or name an existing one (or #gid)")
    return name


mpm_directive("User", "unixd_module", Syntax.TAKE1, "User the children run as when the server starts as root.",
              parse=parse_user, default_doc="#-1 (unchanged when not started as root)")
mpm_directive("Group", "unixd_module", Syntax.TAKE1, "Group the children run as when the server starts as root.",
              parse=parse_group, default_doc="#-1 (unchanged when not started as root)")


# --------------------------------------------------------------------------- Mutex

MUTEX_MECHANISMS = ("Mutex mechanisms are: 'none', 'default', 'flock:/path/to/file', 'fcntl:/path/to/file', "
                    "'file:/path/to/file', 'pthread', 'sysvsem', 'posixsem', 'sem'")
#: mechanism spellings ap_parse_mutex accepts -> the mechanism (Linux build)
_MECHS = {"default": "default", "yes": "default", "fcntl": "fcntl", "file": "fcntl", "flock": "flock",
          "posixsem": "posixsem", "sem": "posixsem", "sysvsem": "sysvsem", "pthread": "pthread"}
#: mutex types httpdw itself registers (mpm-accept, and `default` for all of them): never "none"
HTTPDW_MUTEX_TYPES = ("default", "mpm-accept")
#: types Apache modules register (observed with apache2 2.4.71), valid only while the module is
#: loaded, as in Apache; the built-in watchdog's is always there
MODULE_MUTEX_TYPES = {"watchdog-callback": "watchdog_module", "ssl-cache": "ssl_module",
                      "ssl-stapling": "ssl_module", "ssl-stapling-refresh": "ssl_module",
                      "rewrite-map": "rewrite_module", "authdigest-client": "auth_digest_module",
                      "authn-socache": "authn_socache_module", "ldap-cache": "ldap_module",
                      "proxy-balancer-shm": "proxy_balancer_module", "cache-socache": "cache_socache_module"}


def mutex_type_valid(mutex_type: str) -> bool:
    """Is the type registered? (case-sensitive, like Apache's hash lookup)"""
    if mutex_type in HTTPDW_MUTEX_TYPES:
        return True
    module = MODULE_MUTEX_TYPES.get(mutex_type)
    return module is not None and (module == "watchdog_module" or module_loaded(module))


@dataclass(frozen=True)
class MutexSetting:
    """One `Mutex mechanism[:dir] [types...] [OmitPID]` line."""

    mechanism: str            #: "default", "fcntl", "flock", "posixsem", "sysvsem", "pthread" or "none"
    directory: str | None     #: lock-file directory (ServerRoot-relative resolved), file-based mechanisms
    types: tuple[str, ...]    #: mutex types it applies to ("default" = every type not named elsewhere)
    omit_pid: bool = False


def parse_mutex(words: list[str], node: Any, diags: Diagnostics) -> MutexSetting | None:
    """util_mutex.c ap_set_mutex: mechanism, directory, types, OmitPID, with Apache's messages."""
    raw = words[0] if words else ""
    parts = split_words(raw)
    mechdir = parts[0] if parts else ""
    if not mechdir:
        error(diags, node, f"Mutex requires at least a mechanism argument ({MUTEX_MECHANISMS})",
              hint="e.g. Mutex default, or Mutex file:/var/lock/httpdw mpm-accept", code="HDW0103")
        return None
    meth, sep, directory = mechdir.partition(":")
    mech = "none" if meth.lower() in ("none", "no") else _MECHS.get(meth.lower())
    if mech is None:
        error(diags, node, f"Invalid Mutex argument {mechdir} ({MUTEX_MECHANISMS})",
              hint="use one of the listed mechanisms")
        return None
    lock_dir = None
    if directory and mech != "none":    # "none" returns before the directory is looked at
        lock_dir = server_root_relative(directory)
        if not os.path.isdir(lock_dir):
            error(diags, node, f"Invalid Mutex directory in argument {mechdir}",
                  hint=f"create the directory {lock_dir} or name an existing one")
            return None
    types = [t for t in parts[1:] if t.lower() != "omitpid"]
    omit_pid = len(types) != len(parts) - 1
    for mutex_type in reversed(types or ["default"]):     # Apache pops the list: last one first
        if not mutex_type_valid(mutex_type):
            error(diags, node, f"Mutex type {mutex_type} is not valid",
                  hint="types are case-sensitive: default, mpm-accept, watchdog-callback, or the type of a "
                       "loaded module (ssl-cache with mod_ssl, rewrite-map with mod_rewrite, ...)")
            return None
        if mech == "none" and mutex_type in HTTPDW_MUTEX_TYPES:
            error(diags, node, f"None is not allowed for mutex type {mutex_type}",
                  hint="the accept mutex cannot be disabled; use Mutex default")
            return None
    return MutexSetting(mech, lock_dir, tuple(types or ["default"]), omit_pid)


mpm_directive("Mutex", "core", Syntax.RAW_ARGS, "Mechanism (and lock directory) for the accept mutex and other mutexes.",
              parse=parse_mutex, default_doc="default")


# --------------------------------------------------------------------------- removed in 2.4, accepted

ACCEPT_MUTEX_VALID = ("Valid accept mutexes for this platform and MPM are: default, flock, fcntl, sysvsem, "
                      "posixsem, pthread.")
mpm_directive("AcceptMutex", WORKER, Syntax.TAKE1,
              "Apache 2.0/2.2: mechanism of the accept mutex (2.4: Mutex <mech> mpm-accept).",
              desc=ACCEPT_MUTEX_VALID, status=Status.REMOVED, since="2.0/2.2; removed in 2.4",
              parse=choice("default", "flock", "fcntl", "sysvsem", "posixsem", "pthread",
                           message="{arg} is an invalid mutex mechanism; " + ACCEPT_MUTEX_VALID),
              note="removed in Apache 2.4 (use Mutex <mechanism> mpm-accept); httpdw accepts it for 2.0-era configs")
mpm_directive("LockFile", WORKER, Syntax.TAKE1,
              "Apache 2.0/2.2: lock file of the accept mutex (2.4: Mutex file:<dir> mpm-accept).",
              desc="The lockfile used when Apache needs to lock the accept() call", status=Status.REMOVED,
              since="2.0/2.2; removed in 2.4", parse=path_value,
              note="removed in Apache 2.4 (use Mutex file:<dir> mpm-accept); httpdw accepts it for 2.0-era configs")
mpm_directive("EnableExceptionHook", WORKER, Syntax.TAKE1,
              "Apache 2.0/2.2: run exception hooks after a child crashes.",
              desc="Enable or disable the exception hook", status=Status.REMOVED, parse=on_off_word,
              since="2.0.49-2.2; not built into Debian's 2.4", default=False,
              note="not compiled into Apache 2.4 builds; httpdw accepts it for 2.0-era configs and has no "
                   "exception hooks to run")

del _name
