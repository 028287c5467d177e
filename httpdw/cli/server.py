"""`httpdw -k start|stop|restart|graceful|graceful-stop`, `-D FOREGROUND` and `-X`: wiring config, HTTP and engine.

As Apache's `-k` (mpm_unix.c ap_signal_server), the config is loaded and checked first, so a broken config
makes even `-k stop` fail with the error; then the pid from PidFile is checked with kill(pid, 0) and the
answer is Apache's, with "httpdw" for "httpd":

    httpdw (pid 1234) already running        -k start, server up (exit 0)
    httpdw (no pid file) not running         -k stop, no pid file (exit 0)
    httpdw (pid 1234?) not running           -k stop, stale pid file (exit 0)
    httpdw not running, trying to start      -k graceful/restart, server down: starts it

`-k start` detaches (fork, setsid, fork; stdin/stdout to /dev/null) and returns only once a child of the
new server has a thread waiting for connections, or prints why the server could not start and exits 1:
the daemon's start-up messages travel back over a pipe.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Callable

from httpdw.cli import CliOptions
from httpdw.cli.isolated_load import IsolatedLoader
from httpdw.config.model import ServerConfig
from httpdw.errorlog import LEVELS
from httpdw.mpm import pidfile
from httpdw.mpm.loaded_config import LoadedConfig

if TYPE_CHECKING:
    from httpdw.mpm import api
    from httpdw.mpm.parent import Parent, Timing

SIGNALS = {"stop": signal.SIGTERM, "graceful": signal.SIGUSR1, "restart": signal.SIGHUP,
           "graceful-stop": signal.SIGWINCH}
READY_MARK = b"\0httpdw-ready\n"
NAME = "httpdw"

Loader = Callable[[CliOptions, "tuple[int, int] | None"], LoadedConfig]
FactoryFor = Callable[[ServerConfig], "api.HandlerFactory"]


def run(opts: CliOptions, action: str | None, *, _load: Loader | None = None, _factory_for: FactoryFor | None = None,
        _timing: Timing | None = None) -> int:
    """Run one -k action (None = start, like apachectl). The underscored parameters are for tests only.

    The engine and the HTTP layer are imported only once the config loader process runs (a start imports
    them meanwhile), so that the two overlap; -k stop and friends never import them."""
    action = action or "start"
    if opts.log_level is not None and opts.log_level.lower() not in LEVELS:
        print(f"httpdw: -e {opts.log_level}: not a log level (emerg alert crit error warn notice info debug "
              "trace1..trace8)", file=sys.stderr)
        return 1
    load = _load or IsolatedLoader(load_with_check, meanwhile=import_serving_layers if action == "start" else None)
    factory_for = _factory_for or http_handler_factory
    loaded = load(opts, None)
    _print_messages(loaded.messages, errors_only=False)
    if loaded.config is None:
        return 1
    config = loaded.config
    if opts.single_process:
        from httpdw.mpm.single import run_single
        return run_single(config, factory_for)
    pid = pidfile.read_pid(config.mpm.pid_file)
    running = pid is not None and pidfile.is_server(pid)
    if action == "start":
        if running:
            print(f"{NAME} (pid {pid}) already running")
            return 0
        return start(opts, config, load, factory_for, _timing)
    if action in ("graceful", "restart") and not running:
        print(f"{NAME} not running, trying to start")
        return start(opts, config, load, factory_for, _timing)
    if not running:
        print(f"{NAME} (no pid file) not running" if pid is None else f"{NAME} (pid {pid}?) not running")
        return 0
    try:
        os.kill(pid, SIGNALS[action])
    except OSError as e:   # e.g. a root server and an unprivileged user
        print(f"{NAME}: ({e.errno}){e.strerror}: could not send signal {SIGNALS[action].name} to pid {pid}",
              file=sys.stderr)
        return 1
    return 0


def start(opts: CliOptions, config: ServerConfig, load: Loader, factory_for: FactoryFor,
          timing: Timing | None) -> int:
    """Start the server: in the foreground (-D FOREGROUND) or detached (-k start).

    -e LEVEL sets the level of the start-up messages; -E FILE sends them to FILE instead of the console."""
    from httpdw.mpm.parent import Parent, Timing
    try:
        startup_log = os.open(opts.startup_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) \
            if opts.startup_log else None
    except OSError as e:
        print(f"httpdw: AH00085: Invalid -E error log file {opts.startup_log}: {e.strerror}", file=sys.stderr)
        return 1

    def make_parent(on_ready=None, startup_fd: int = 2) -> Parent:
        return Parent(config, reload=lambda first: load(opts, first), factory_for=factory_for,
                      command_line=command_line(), timing=Timing() if timing is None else timing, on_ready=on_ready,
                      title=f"httpdw: parent -f {config.config_file}",
                      startup_fd=startup_log if startup_log is not None else startup_fd,
                      startup_level=opts.log_level)

    if opts.foreground:
        return make_parent().run()
    return start_detached(make_parent)


def start_detached(make_parent: Callable[..., Parent]) -> int:
    """Double fork + setsid; wait on a pipe until the daemon says it serves (0) or fails (1, with why)."""
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _become_daemon(make_parent, w)  # never returns
    os.close(w)
    os.waitpid(pid, 0)
    data = _read_until_ready(r)
    os.close(r)
    if data.endswith(READY_MARK):
        sys.stderr.write(data[:-len(READY_MARK)].decode("utf-8", "replace"))
        return 0
    text = data.decode("utf-8", "replace")
    sys.stderr.write(text if text.strip() else f"{NAME}: the server exited during start-up (see the error log)\n")
    return 1


def _read_until_ready(fd: int) -> bytes:
    data = b""
    while not data.endswith(READY_MARK):
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data


def _become_daemon(make_parent: Callable[..., Parent], w: int) -> None:
    code = 1
    try:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        os.chdir("/")
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)

        def ready() -> None:
            os.write(w, READY_MARK)
            os.close(w)

        code = make_parent(on_ready=ready, startup_fd=w).run()
    except BaseException as e:  # noqa: BLE001 - report to the launcher rather than die silently
        try:
            os.write(w, f"{NAME}: {e}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def command_line() -> str:
    """For AH00094: how this server was started."""
    return " ".join([NAME, *sys.argv[1:]])


def load_with_check(opts: CliOptions, first_limits: tuple[int, int] | None) -> LoadedConfig:
    """Load and validate through httpdw.config.check.load_config (the config layer's single entry point).

    first_limits is None for the first load (console wording of the worker warnings, as Apache's first
    pass); on restarts it pins ServerLimit/ThreadLimit and asks for the error-log wording."""
    try:
        from httpdw.config.check import load_config
    except ImportError as e:
        return LoadedConfig(None, [("error", f"{NAME}: the config layer is not available ({e})")])
    try:
        result = load_config(opts.resolved_config_file(), server_root=opts.server_root, defines=tuple(opts.defines),
                             directives_before=tuple(opts.directives_before),
                             directives_after=tuple(opts.directives_after), envvars=opts.envvars,
                             first_limits=first_limits, startup=first_limits is None)
    except Exception as e:  # noqa: BLE001 - a loader bug must become a message, not a traceback
        return LoadedConfig(None, [("error", f"{NAME}: reading the configuration failed: {e!r}")])
    messages = [_diagnostic_message(d, "error" if d.is_error else "warn") for d in result.diagnostics]
    start_errors = list(getattr(result, "start_errors", ()))
    messages += [_diagnostic_message(d, "error") for d in start_errors]
    return LoadedConfig(result.config if not start_errors else None, messages)


def _diagnostic_message(d, level: str) -> tuple[str, str]:
    where = f" (line {d.pos.line} of {d.pos.file})" if d.pos else ""
    return level, f"{d.code}: {d.message}{where}"


def import_serving_layers() -> None:
    """Import the engine and the HTTP layer while the config loader process works (see run()).

    A missing HTTP layer is left for http_handler_factory to report."""
    import httpdw.mpm.parent  # noqa: F401
    try:
        import httpdw.http  # noqa: F401
    except ImportError:
        pass


def http_handler_factory(config: ServerConfig) -> api.HandlerFactory:
    """The HTTP layer's handler factory (imported here only: the engine knows no HTTP)."""
    try:
        from httpdw.http import make_handler_factory
    except ImportError:
        try:
            from httpdw.http.server import make_handler_factory
        except ImportError as e:
            raise RuntimeError(f"the HTTP layer is not available ({e})") from e
    return make_handler_factory(config)


def _print_messages(messages: list[tuple[str, str]], errors_only: bool) -> None:
    for level, text in messages:
        if level == "error" or not errors_only:
            print(text, file=sys.stderr)
