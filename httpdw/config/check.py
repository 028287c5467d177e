"""Load a config all the way to the validated model: the one entry point for configtest and the engine.

    load_tree (includes, conditionals, variables) -> validate (names, contexts, arity, values)
    -> MpmSettings from the server-level values -> worker rules (spec 1.1, 1.3) -> ServerConfig

Nothing here raises for a bad config: every problem becomes a diagnostic, and `ConfigResult.config`
is None when there is an error. Problems that Apache only reports when it *starts* (no Listen line)
are kept apart in `start_errors`: `configtest` shows them without failing, the engine refuses to start.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from httpdw.config import loader, modules, validate
from httpdw.config.diagnostics import Diagnostic, Diagnostics, Severity
from httpdw.config.model import Listener, MpmSettings, ServerConfig
from httpdw.config.site import build_site, htaccess_risks
from httpdw.config.tree import ConfigTree, Node
from httpdw.config.worker_rules import (DEFAULTS as WORKER_DEFAULTS, WorkerLine, WorkerResult,
                                        run_worker_rules)


@dataclass
class ConfigResult:
    """What `load_config` found: the model (None when there are errors) and every diagnostic."""

    config: ServerConfig | None
    diagnostics: Diagnostics
    files: list[str] = field(default_factory=list)
    config_file: str = ""
    #: the worker rules' outcome (configured and effective numbers, adjustments); None if not reached
    worker: WorkerResult | None = None
    #: problems that only stop a real start (Apache reports them at start, not under -t)
    start_errors: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.diagnostics.has_errors()

    @property
    def can_start(self) -> bool:
        return self.config is not None and not self.start_errors


def load_config(config_file: str, *, server_root: str | None = None, defines: Sequence[str] = (),
                directives_before: Sequence[str] = (), directives_after: Sequence[str] = (),
                envvars: str | None = None, first_limits: tuple[int, int] | None = None,
                startup: bool = True) -> ConfigResult:
    """Read, validate and model the config at `config_file` (see the module docstring).

    envvars: a Debian-style `export NAME=value` file whose values ${NAME} may use (the process
      environment is not changed).
    first_limits: (ServerLimit, ThreadLimit) from the first load, on restarts (Apache keeps them).
    startup: True for the first load (Apache's console wording), False for restarts (log wording).
    """
    diags = Diagnostics()
    env = _read_envvars(envvars, diags) if envvars else None
    tree = loader.load_tree(config_file, server_root=server_root, defines=tuple(defines),
                            directives_before=tuple(directives_before),
                            directives_after=tuple(directives_after), diags=diags, env=env)
    validation = validate.validate(tree, diags)
    server_values: Mapping[str, list[tuple[Any, Node]]] = validation.server_values

    worker, order_warnings = run_worker_rules(_worker_lines(tree, server_values), startup=startup,
                                              first_limits=first_limits,
                                              buckets=_listener_buckets(server_values))
    diags.extend(list(worker.diagnostics) + order_warnings)
    mpm = _mpm_settings(tree, server_values, worker)
    start_errors = _start_errors(mpm)
    config = None if diags.has_errors() else ServerConfig(
        server_root=tree.server_root, config_file=config_file, mpm=mpm,
        error_log=_error_log(tree, server_values), log_level=_log_level(server_values),
        server_name=_last(server_values, "ServerName"), tree=tree, modules=_modules(tree),
        diagnostics=diags)
    if config is not None:
        config = _with_site(config, diags)
    return ConfigResult(config, diags, list(tree.files), config_file, worker, start_errors)


def _with_site(config: ServerConfig, diags: Diagnostics) -> ServerConfig | None:
    """Build the site model (vhosts, sections, mapping) here, once: its problems (a section regex
    Python cannot compile, ...) are config errors that configtest must show, not a surprise at start."""
    site = build_site(config, diags)
    for path, pos in htaccess_risks(site):
        diags.warning("HDW0113", f"{path} exists where AllowOverride allows it; httpdw does not read "
                      f".htaccess files, so requests below {os.path.dirname(path)} will answer 500", pos,
                      hint="move its directives into the <Directory> section and set AllowOverride None")
    return None if diags.has_errors() else dataclasses.replace(config, site=site)


# --------------------------------------------------------------------------- inputs

def _read_envvars(path: str, diags: Diagnostics) -> dict[str, str]:
    """The envvars file's variables layered over the process environment (for ${VAR})."""
    try:
        values = loader.read_envvars(path)
    except (OSError, UnicodeError) as exc:
        diags.error("HDW0001", f"Could not read envvars file {path}: {exc.strerror or exc}"
                    if isinstance(exc, OSError) else f"Could not read envvars file {path}: {exc}",
                    hint="--envvars names a shell file of `export NAME=value` lines (Debian's /etc/apache2/envvars)")
        return dict(os.environ)
    return {**os.environ, **values}


def _last(server_values: Mapping[str, list[tuple[Any, Node]]], name: str, default: Any = None) -> Any:
    """The value of the last occurrence (Apache: the last one wins), or `default`."""
    found = server_values.get(name)
    return found[-1][0] if found else default


def _file_order(tree: ConfigTree) -> dict[int, int]:
    """Node identity -> position in the processed tree (includes inlined): the order Apache reads."""
    return {id(node): i for i, node in enumerate(n for top in tree.nodes for n in top.walk())}


def _worker_lines(tree: ConfigTree, server_values: Mapping[str, list[tuple[Any, Node]]]) -> list[WorkerLine]:
    """Every worker-number line at server level, in reading order (for the rules and the 2.0 analysis)."""
    order = _file_order(tree)
    lines = [(order.get(id(node), 0), WorkerLine(name, value, node.pos))
             for name in WORKER_DEFAULTS for value, node in server_values.get(name, ())
             if isinstance(value, int)]
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


def _listener_buckets(server_values: Mapping[str, list[tuple[Any, Node]]]) -> int:
    """Apache's num_buckets: online CPUs / ListenCoresBucketsRatio when set (SO_REUSEPORT on Linux)."""
    ratio = _last(server_values, "ListenCoresBucketsRatio", 0)
    if not isinstance(ratio, int) or ratio <= 0:
        return 1
    return max(1, (os.cpu_count() or 1) // ratio)


# --------------------------------------------------------------------------- the model

def _resolve(server_root: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(server_root, path))


def _int_value(server_values, name: str, default: int) -> int:
    value = _last(server_values, name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _mpm_settings(tree: ConfigTree, server_values, worker: WorkerResult) -> MpmSettings:
    root = tree.server_root
    accept_mutex, lock_file = _accept_mutex(server_values, root)
    scoreboard = _last(server_values, "ScoreBoardFile")
    return MpmSettings(
        server_limit=worker.server_limit, thread_limit=worker.thread_limit,
        threads_per_child=worker.threads_per_child, max_request_workers=worker.max_request_workers,
        daemons_limit=worker.daemons_limit, start_servers=worker.start_servers,
        min_spare_threads=worker.min_spare_threads, max_spare_threads=worker.max_spare_threads,
        max_connections_per_child=_int_value(server_values, "MaxConnectionsPerChild", 0),
        graceful_shutdown_timeout=_int_value(server_values, "GracefulShutdownTimeout", 0),
        listen_backlog=_int_value(server_values, "ListenBacklog", 511),
        defer_accept=_defer_accept(server_values),
        listen_cores_buckets_ratio=_int_value(server_values, "ListenCoresBucketsRatio", 0),
        send_buffer_size=_int_value(server_values, "SendBufferSize", 0),
        receive_buffer_size=_int_value(server_values, "ReceiveBufferSize", 0),
        thread_stack_size=_int_value(server_values, "ThreadStackSize", 0),
        max_mem_free=_int_value(server_values, "MaxMemFree", 2048),
        listeners=_listeners(server_values),
        pid_file=_resolve(root, _last(server_values, "PidFile") or "logs/httpd.pid"),
        scoreboard_file=_resolve(root, scoreboard) if scoreboard else None,
        core_dump_directory=_resolve(root, _last(server_values, "CoreDumpDirectory") or root),
        user=_last(server_values, "User"), group=_last(server_values, "Group"),
        accept_mutex=accept_mutex, lock_file=lock_file,
        enable_exception_hook=bool(_last(server_values, "EnableExceptionHook", False)),
        adjustments=worker.adjustments,
    )


def _defer_accept(server_values) -> tuple[tuple[str, int], ...]:
    """TCP_DEFER_ACCEPT per protocol, as Apache on Linux: http and https default to the 'data' filter,
    `AcceptFilter proto none` turns it off, any other filter name turns it on with ListenTCPDeferAccept's
    seconds (core.c's accf_map, listen.c ap_apply_accept_filter)."""
    seconds = _int_value(server_values, "ListenTCPDeferAccept", 30)
    filters = {"http": "data", "https": "data"}
    for value, _node in server_values.get("AcceptFilter", ()):
        if isinstance(value, tuple):
            filters[value[0]] = value[1]
    return tuple((proto, 0 if name.lower() == "none" else seconds) for proto, name in filters.items())


def _listeners(server_values) -> tuple[Listener, ...]:
    """Listen lines in order (validation already refused bad ones and duplicates)."""
    return tuple(value for value, _node in server_values.get("Listen", ()) if isinstance(value, Listener))


def _accept_mutex(server_values, root: str) -> tuple[str, str | None]:
    """The accept mutex mechanism and lock directory/file.

    2.4's `Mutex mech[:dir] mpm-accept` wins over 2.0's `AcceptMutex` + `LockFile`, which win over a
    `Mutex` line for the catch-all `default` type."""
    specific = general = None
    for value, _node in server_values.get("Mutex", ()):
        types = getattr(value, "types", ())
        if "mpm-accept" in types:
            specific = value
        elif "default" in types:
            general = value
    if specific is not None:
        return specific.mechanism, specific.directory
    mechanism = _last(server_values, "AcceptMutex")
    lock_file = _last(server_values, "LockFile")
    if mechanism or lock_file:
        return mechanism or "default", _resolve(root, lock_file) if lock_file else None
    if general is not None:
        return general.mechanism, general.directory
    return "default", None


def _error_log(tree: ConfigTree, server_values) -> str:
    """ErrorLog as a path (ServerRoot-relative resolved), or a `|command` / `syslog:` target as written."""
    value = _last(server_values, "ErrorLog")
    target = value if isinstance(value, str) and value else "logs/error_log"
    if target.startswith("|") or target.startswith("syslog"):
        return target
    return _resolve(tree.server_root, target)


def _log_level(server_values) -> str:
    """LogLevel as the error log applies it: the main level word, then the per-module `module:level`
    words (e.g. "info mpm_worker:debug"). Several LogLevel lines accumulate as in Apache: the last main
    level wins, module settings add up (a later one for the same module replaces the earlier)."""
    main = "warn"
    per_module: dict[str, str] = {}
    for value, _node in server_values.get("LogLevel", []):
        words = value if isinstance(value, (list, tuple)) else ([value] if isinstance(value, str) else [])
        for w in words:
            if not isinstance(w, str):
                continue
            if ":" in w:
                module, _, level = w.rpartition(":")
                per_module[module] = level.lower()
            else:
                main = w.lower()
    return " ".join([main, *(f"{m}:{lvl}" for m, lvl in per_module.items())])


def _modules(tree: ConfigTree) -> frozenset[str]:
    """Module identifiers httpdw considers loaded: its built-ins plus the LoadModule'd ones."""
    return modules.builtin_modules() | frozenset(tree.loaded_modules)


def _start_errors(mpm: MpmSettings) -> tuple[Diagnostic, ...]:
    if mpm.listeners:
        return ()
    return (Diagnostic(Severity.ERROR, "AH00015", "no listening sockets available, shutting down", None,
                       "add a Listen line, e.g. Listen 8080 (Apache reports this only when it starts, "
                       "not under -t)"),)
