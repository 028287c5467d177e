"""Core directives of the config language itself, the loader's directives and every core section.

The loader (httpdw/config/loader.py) *acts* on ServerRoot, Include, IncludeOptional, Define,
UnDefine, Error, LoadModule, LoadFile and the conditional sections (<IfModule>, <IfDefine>,
<IfVersion>, <IfDirective>, <IfSection>, <IfFile>); they are declared here so that names, contexts
and arity are checked in one place and they appear in `-L` and the man page. The mapping sections
(<Directory>, <Location>, <Files>, their *Match forms, <VirtualHost>, <If>/<ElseIf>/<Else>,
<Limit>/<LimitExcept>) are read by the HTTP layer; here they get their context rules and argument
checks, with Apache's wording.
"""
from __future__ import annotations

from typing import Any

from httpdw.config.diagnostics import Diagnostics
from httpdw.config.directives.apache_known import apache_desc
from httpdw.config.registry import Context, Syntax, declare
from httpdw.config.values import (c_atoi, canonical_name, error, module_loaded, path_value, text_value,
                                  words_value)

ANY = Context.SERVER | Context.VHOST | Context.DIRECTORY | Context.HTACCESS
ANY_CONF = Context.SERVER | Context.VHOST | Context.DIRECTORY       # "anywhere" but not .htaccess
SERVER = Context.SERVER | Context.VHOST                               # RSRC_CONF: "only outside <Directory>..."
DIR_ONLY = Context.DIRECTORY | Context.HTACCESS                       # "only inside <Directory>..."


def core(name: str, module: str, syntax: Syntax, contexts: Context, doc: str, **kw: Any) -> None:
    if "desc" not in kw:
        kw["desc"] = apache_desc(name)
    declare(name, module, syntax, contexts, doc, **kw)


# --------------------------------------------------------------------------- loader directives

core("ServerRoot", "core", Syntax.TAKE1, SERVER, "Directory that relative paths in the config are resolved against.",
     parse=text_value, default_doc="the compiled-in default (see httpdw -V)",
     exec_on_read=True)
core("Include", "core", Syntax.TAKE1, ANY_CONF,
     "Read other config files here: a file, a directory or a wildcard pattern, which must match something.",
     exec_on_read=True)
core("IncludeOptional", "core", Syntax.TAKE1, ANY_CONF,
     "Like Include, but a file or pattern that matches nothing is silently skipped.",
     exec_on_read=True)
core("Define", "core", Syntax.TAKE12, ANY_CONF, "Define a variable (optionally with a value) for ${NAME} and <IfDefine>.",
     exec_on_read=True)
core("UnDefine", "core", Syntax.TAKE1, ANY_CONF, "Remove a variable defined by Define or -D.",
     exec_on_read=True)
core("Error", "core", Syntax.RAW_ARGS, ANY, "Stop reading the config with this error message.")
core("LoadModule", "so_module", Syntax.TAKE2, SERVER,
     "Load an Apache module: httpdw knows each by its identifier and provides it or reports it.",
     exec_on_read=True)
core("LoadFile", "so_module", Syntax.ITERATE, SERVER, "Load a shared library (accepted; httpdw loads nothing).",
     exec_on_read=True)


# --------------------------------------------------------------------------- logging and naming

LOG_LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
              *(f"trace{i}" for i in range(1, 9)))
LOG_LEVEL_ERROR = ("Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/"
                   "trace1/.../trace8")


def parse_log_level(words: list[str], node: Any, diags: Diagnostics) -> list[str]:
    """`LogLevel level [module:level ...]` (core.c set_loglevel): the valid words, levels lower-cased,
    e.g. ["warn", "mpm_worker:info"]; a word without ':' sets the main level."""
    levels: list[str] = []
    for word in words:
        module, sep, level = word.rpartition(":")
        if sep and not module_loaded(module):
            error(diags, node, f"Cannot find module {module}", hint="name a module that is loaded, e.g. core:info")
            continue
        if level.lower() not in LOG_LEVELS:
            error(diags, node, f"{word}: {LOG_LEVEL_ERROR}" if sep else LOG_LEVEL_ERROR,
                  hint="e.g. LogLevel warn, or LogLevel warn mpm_worker:info")
            continue
        levels.append(f"{module}{sep}{level.lower()}")
    return levels


def parse_server_name(words: list[str], node: Any, diags: Diagnostics) -> str:
    """`ServerName [scheme://]host[:port]`: the port, when given, must be 1..65535."""
    arg = words[0] if words else ""
    host = arg.split("://", 1)[1] if "://" in arg else arg
    colon = host.rfind(":")
    # a ':' inside [IPv6] brackets is not a port separator
    if colon != -1 and "]" not in host[colon:]:
        port = c_atoi(host[colon + 1:])
        if not 1 <= port <= 65535:
            error(diags, node, f'The port number "{arg}" is outside the appropriate range (i.e., 1..65535).',
                  hint="write ServerName host or ServerName host:port with a port from 1 to 65535")
    return arg


def parse_error_log(words: list[str], node: Any, diags: Diagnostics) -> str:
    """ErrorLog: `|program`, `syslog[:facility]`, or a file (ServerRoot-relative resolved)."""
    arg = words[0] if words else ""
    if arg.startswith("|") or arg == "syslog" or arg.startswith("syslog:"):
        return arg
    return path_value(words, node, diags)


core("ErrorLog", "core", Syntax.TAKE1, SERVER, "File the error log is written to, or |program, or syslog.",
     parse=parse_error_log, default="logs/error_log")
core("LogLevel", "core", Syntax.ITERATE, ANY_CONF, "Minimum level of messages written to the error log, "
     "globally and per module (module:level).", parse=parse_log_level, default="warn")
core("ServerName", "core", Syntax.TAKE1, SERVER, "Host name (and port) the server uses to identify itself.",
     parse=parse_server_name, default_doc="the host's name, from DNS (with a warning)")
core("ServerAdmin", "core", Syntax.TAKE1, SERVER, "Email address (or URL) shown on error pages.",
     parse=text_value)


def parse_name_virtual_host(words: list[str], node: Any, diags: Diagnostics) -> str:
    """NameVirtualHost does nothing since 2.3.11; Apache warns AH00548 with the place of the line."""
    pos = getattr(node, "pos", None)
    where = f"{pos.file}:{pos.line}" if pos is not None else ""
    diags.warning("AH00548", f"NameVirtualHost has no effect and will be removed in the next release {where}",
                  pos, hint="delete the line: name-based virtual hosts need no declaration since Apache 2.4")
    return words[0] if words else ""


core("NameVirtualHost", "core", Syntax.TAKE1, SERVER, "Apache 2.2: declare an address for name-based virtual "
     "hosts. No effect since 2.4 (warning AH00548), as in Apache.", parse=parse_name_virtual_host,
     since="2.0/2.2; no effect since 2.4", note="accepted with Apache's warning AH00548; it changes nothing")


# --------------------------------------------------------------------------- sections

def section_args(words: list[str], node: Any, diags: Diagnostics) -> list[str]:
    """A container that needs arguments: `<Name> directive requires additional arguments` otherwise.

    Apache tests the raw text, so `<Directory "">` passes this check."""
    raw = getattr(node, "args", " ".join(words))
    if not raw.strip():
        error(diags, node, f"<{canonical_name(node)}> directive requires additional arguments",
              hint="give the section its argument, e.g. <Directory /var/www>", code="HDW0103")
    return words_value(words, node, diags)


def no_section_args(words: list[str], node: Any, diags: Diagnostics) -> list[str]:
    """<Else> takes no argument."""
    if getattr(node, "args", "").strip():
        error(diags, node, f"<{canonical_name(node)}> does not take an argument",
              hint="write <Else> alone; use <ElseIf expr> for a condition", code="HDW0103")
    return []


def section(name: str, contexts: Context, doc: str, *, parse=section_args, **kw: Any) -> None:
    core(name, kw.pop("module", "core"), Syntax.RAW_ARGS, contexts, doc, parse=parse, **kw)


section("<Directory", SERVER, "Directives for a directory of the file system and everything below it.")
section("<DirectoryMatch", SERVER, "Like <Directory>, for directories matching a regular expression.")
section("<Location", SERVER, "Directives for URLs starting with a path.")
section("<LocationMatch", SERVER, "Like <Location>, for URLs matching a regular expression.")
section("<Files", ANY, "Directives for files whose name matches (wildcards allowed).", not_within=("Location", "Limit"))
section("<FilesMatch", ANY, "Like <Files>, with a regular expression.", not_within=("Location", "Limit"))
section("<VirtualHost", SERVER, "Directives for a virtual host: one or more addresses (addr:port or *:port).",
        global_only=True)
section("<If", ANY, "Directives applied when an expression is true for the request.", not_within=("Limit",))
section("<ElseIf", ANY, "Directives applied when the previous <If>/<ElseIf> was false and this expression is true.",
        not_within=("Limit",))
section("<Else", ANY, "Directives applied when the previous <If>/<ElseIf> were all false.", parse=no_section_args,
        not_within=("Limit",))
section("<Limit", DIR_ONLY, "Access-control directives that apply only to the listed HTTP methods.")
section("<LimitExcept", DIR_ONLY, "Access-control directives that apply to all HTTP methods but the listed ones.")

# Conditional sections: the loader evaluates them and keeps only the true branches.
section("<IfModule", ANY, "Directives read only if a module is (or, with !, is not) loaded.", exec_on_read=True)
section("<IfDefine", ANY, "Directives read only if a variable is (or, with !, is not) defined.", exec_on_read=True)
section("<IfVersion", ANY, "Directives read only if the server version compares as given (httpdw answers as 2.4).",
        module="version_module", exec_on_read=True)
section("<IfDirective", ANY, "Directives read only if a directive name is (or is not) known.", exec_on_read=True)
section("<IfSection", ANY, "Directives read only if a section name is (or is not) known.", exec_on_read=True)
section("<IfFile", ANY, "Directives read only if a file exists (ServerRoot-relative).", exec_on_read=True)

#: the sections that make a *directory context* for directives inside them (Apache's cmd->path is set)
DIRECTORY_SECTIONS = frozenset({"directory", "directorymatch", "files", "filesmatch", "location", "locationmatch",
                                "if", "elseif", "else", "limit", "limitexcept", "proxy", "proxymatch"})
#: the conditional sections the loader resolves; transparent for context purposes if any remain
CONDITIONAL_SECTIONS = frozenset({"ifmodule", "ifdefine", "ifversion", "ifdirective", "ifsection", "iffile"})
