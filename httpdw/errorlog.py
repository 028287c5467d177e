"""The error log: Apache's line format and LogLevel filtering for the "httpdw" logger hierarchy.

Lines look like Apache 2.4's default ErrorLogFormat:

    [Mon Nov 23 12:00:00.123456 2026] [mpm_worker:notice] [pid 42:tid 139872] AH00292: httpdw/0.1.0 ... configured

Who logs as which Apache module (the `[module:level]` field) follows from the logger name:
``httpdw.mpm*`` is ``mpm_worker``; ``httpdw.http.<name>`` is ``<name>`` (``mod_`` stripped) unless the name
is one of the generic HTTP-layer modules (server, conn, protocol, ...), which log as ``core`` like Apache's
core does; everything else (cli, config, errorlog) is ``core``. A record may also carry an explicit
``apache_module`` attribute (``log.info(..., extra={"apache_module": "status"})``).

LogLevel: ``LogLevel info mpm_worker:debug`` sets the default and per-module levels. As in Apache's log.c,
**notice** messages are always written whatever the level (that is how "resuming normal operations" reaches
a log set to ``LogLevel error``); the levels below are emerg … debug, trace1 … trace8.

The destination is a file (opened O_APPEND by the parent, inherited by children, so each line is one
``write()``) or ``|command`` (a piped logger started by the parent through /bin/sh, its stdin fed by every
process). `ErrorLog.reopen()` is what a graceful restart calls.

Piped loggers are *reliable* as Apache's (AP_HAVE_RELIABLE_PIPED_LOGS): the parent owns both ends of the
pipe, so when the logger program dies the parent (which reaps it, see `ErrorLog.reaped`) starts a new one on
the same pipe; every process keeps writing to the descriptor it already has, and the lines written in
between wait in the pipe for the new logger. Forked server children close the read end (an at-fork hook):
only the parent and the logger hold it.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess   # at run time imported only where a piped log is started

#: Apache's levels mapped onto Python's numeric levels (higher = more severe). NOTICE sits between
#: WARNING and INFO; trace1..trace8 sit below DEBUG.
LEVELS: dict[str, int] = {
    "emerg": 60, "alert": 55, "crit": 50, "error": 40, "warn": 30, "notice": 25, "info": 20, "debug": 10,
    **{f"trace{i}": 10 - i for i in range(1, 9)},
}
NOTICE = LEVELS["notice"]
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
for _name, _num in LEVELS.items():
    if logging.getLevelName(_num).startswith("Level "):
        logging.addLevelName(_num, _name.upper())

ROOT_LOGGER = "httpdw"
#: HTTP-layer logger names that are Apache's core, not a module of their own.
_CORE_HTTP_NAMES = {"server", "conn", "connection", "protocol", "request", "core", "handler", "http"}


class LogLevelError(ValueError):
    """A LogLevel argument that is not a level or module:level."""


def parse_log_level(spec: str) -> tuple[int, dict[str, int]]:
    """``"info mpm_worker:debug"`` -> (default level number, {module: level number}).

    Module names may be written ``mpm_worker``, ``mod_mpm_worker.c`` or ``mpm_worker_module`` as Apache accepts."""
    default = LEVELS["warn"]
    per_module: dict[str, int] = {}
    for word in spec.split():
        if ":" in word:
            module, level = word.rsplit(":", 1)
            per_module[_normal_module_name(module)] = _level_number(level)
        else:
            default = _level_number(word)
    return default, per_module


def _level_number(word: str) -> int:
    try:
        return LEVELS[word.lower()]
    except KeyError:
        raise LogLevelError(f"LogLevel requires level keyword: one of emerg/alert/crit/error/warn/notice/info/"
                            f"debug/trace1/.../trace8, not {word!r}") from None


def _normal_module_name(name: str) -> str:
    name = name.lower()
    if name.startswith("mod_"):
        name = name[4:]
    if name.endswith(".c"):
        name = name[:-2]
    if name.endswith("_module"):
        name = name[:-7]
    return name


def apache_module_of(record: logging.LogRecord) -> str:
    """The `[module:...]` name for a record (see the module docstring)."""
    explicit = getattr(record, "apache_module", None)
    if explicit:
        return explicit
    parts = record.name.split(".")
    if len(parts) >= 2 and parts[0] == ROOT_LOGGER:
        if parts[1] == "mpm":
            return "mpm_worker"
        if parts[1] == "http" and len(parts) >= 3 and parts[2] not in _CORE_HTTP_NAMES:
            return _normal_module_name(parts[2])
    return "core"


def format_time(t: float) -> str:
    """Apache's ``%{cu}t``-style timestamp: ``Mon Nov 23 12:00:00.123456 2026`` (local time)."""
    lt = time.localtime(t)
    usec = int((t - int(t)) * 1_000_000)
    return time.strftime("%a %b %d %H:%M:%S", lt) + f".{usec:06d} " + time.strftime("%Y", lt)


class ApacheFormatter(logging.Formatter):
    """Formats one record as one Apache error-log line (no trailing newline).

    For syslog the time stamp is left out (syslog adds its own), as Apache does."""

    def __init__(self, with_time: bool = True) -> None:
        super().__init__()
        self.with_time = with_time

    def format(self, record: logging.LogRecord) -> str:
        level = LEVEL_NAMES.get(record.levelno) or _nearest_level_name(record.levelno)
        message = record.getMessage()
        if record.exc_info:
            message += " " + self.formatException(record.exc_info).replace("\n", " | ")
        stamp = f"[{format_time(record.created)}] " if self.with_time else ""
        return f"{stamp}[{apache_module_of(record)}:{level}] [pid {record.process}:tid {record.thread}] {message}"


def _nearest_level_name(levelno: int) -> str:
    for num in sorted(LEVEL_NAMES, reverse=True):
        if levelno >= num:
            return LEVEL_NAMES[num]
    return "trace8"


class LogLevelFilter(logging.Filter):
    """Apache's filtering: per-module level if set, else the default; notice always passes."""

    def __init__(self, spec: str = "warn") -> None:
        super().__init__()
        self.default, self.per_module = parse_log_level(spec)

    def lowest(self) -> int:
        """The most verbose level any module asks for (what the logger itself must let through)."""
        return min([self.default, *self.per_module.values()])

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == NOTICE:
            return True
        wanted = self.per_module.get(apache_module_of(record), self.default)
        return record.levelno >= wanted


class FdHandler(logging.Handler):
    """Writes each formatted line with a single os.write() so lines from several processes never interleave."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
            os.write(self.fd, data)
        except BrokenPipeError:
            pass   # a piped logger given up on (see ErrorLog.reaped): nothing left to tell
        except Exception:  # noqa: BLE001 - a full disk or a dead piped logger must not kill a worker
            self.handleError(record)


class ErrorLog:
    """The server's error log: opens the destination, installs the handler on the "httpdw" logger.

    Created by the parent before it forks; children inherit the open descriptor and the handler."""

    def __init__(self, destination: str, log_level: str = "warn", *, also_stderr: bool = False) -> None:
        self.destination = destination
        self.log_level = log_level
        self.also_stderr = also_stderr
        self.fd = -1
        self.piped: PipedLogger | None = None
        self._handlers: list[logging.Handler] = []
        #: the httpdw logger's (level, propagate) before the first install, given back by close()
        self._found: tuple[int, bool] | None = None
        self._lock = threading.Lock()
        self._retired: list[PipedLogger] = []

    def open(self) -> None:
        """Open the file or start the piped logger, and attach the handler. Raises OSError (AH00015 territory)."""
        with self._lock:
            self.fd, self.piped = _open_destination(self.destination)
            self._install()

    def reopen(self, destination: str | None = None, log_level: str | None = None) -> None:
        """Graceful restart: open the (possibly new) destination, swap handlers, close the old one.

        Log rotation tools rename the file and send USR1; reopening by name picks up the new file."""
        old_fd, old_piped = self.fd, self.piped
        destination = self.destination if destination is None else destination
        log_level = self.log_level if log_level is None else log_level
        LogLevelFilter(log_level)  # a bad level raises here, before anything changes
        with self._lock:
            self.fd, self.piped = _open_destination(destination)
            self.destination, self.log_level = destination, log_level
            self._install()
        # the old piped logger is not waited for: children of the old generation still write to it,
        # and it exits by itself at EOF once the last of them is gone (the parent reaps it then)
        if old_piped is not None:
            old_piped.retire()
            self._retired.append(old_piped)
        _close_destination(old_fd, old_piped, wait=False)

    def reaped(self, pid: int, status: int) -> bool:
        """The parent reaped `pid`: if it is a piped logger, deal with it and return True (it is not a
        server child). The current logger is restarted on the same pipe (Apache's AH00106); a retired one
        (of a previous generation) just exited at EOF as expected."""
        for old in self._retired:
            if old.pid == pid:
                old.exited(status)
                self._retired.remove(old)
                return True
        with self._lock:
            current = self.piped
            if current is None or current.pid != pid:
                return False
            current.exited(status)
            restarted, failure = _restart(current)
        if restarted is None:
            logging.getLogger("httpdw.errorlog").error(
                "AH00106: piped log program '%s' failed unexpectedly; not restarted: %s",
                current.command, failure)
        else:
            # logged after the restart, so the line itself goes through the new logger
            logging.getLogger("httpdw.errorlog").error(
                "AH00106: piped log program '%s' failed unexpectedly (%s); restarted as pid %d",
                current.command, _exit_words(status), restarted)
        return True

    def close(self) -> None:
        """Detach the handlers and close the destination (the parent at shutdown)."""
        with self._lock:
            self._uninstall()
            if self._found is not None:     # leave the logging setup as it was found (tests, -X)
                logger = logging.getLogger(ROOT_LOGGER)
                logger.setLevel(self._found[0])
                logger.propagate = self._found[1]
                self._found = None
            _close_destination(self.fd, self.piped)
            self.fd, self.piped = -1, None

    def _install(self) -> None:
        self._uninstall()
        level_filter = LogLevelFilter(self.log_level)
        handler = FdHandler(self.fd) if self.fd >= 0 else _syslog_handler(self.destination)
        handlers: list[logging.Handler] = [handler]
        if self.also_stderr:
            handlers.append(FdHandler(2))
        for h in handlers:
            h.setFormatter(ApacheFormatter(with_time=h is not handler or self.fd >= 0))
            h.addFilter(level_filter)
        logger = logging.getLogger(ROOT_LOGGER)
        if self._found is None:
            self._found = (logger.level, logger.propagate)
        logger.setLevel(min(level_filter.lowest(), NOTICE))
        logger.propagate = False
        for h in handlers:
            logger.addHandler(h)
        self._handlers = handlers

    def _uninstall(self) -> None:
        logger = logging.getLogger(ROOT_LOGGER)
        for h in self._handlers:
            logger.removeHandler(h)
        self._handlers = []


def _syslog_handler(destination: str) -> logging.Handler:
    """``ErrorLog syslog[:facility]`` (default facility local7, as Apache). Raises OSError without /dev/log."""
    import logging.handlers
    facility_name = destination.partition(":")[2] or "local7"
    facility = logging.handlers.SysLogHandler.facility_names.get(facility_name.lower())
    if facility is None:
        raise OSError(f"{destination}: unknown syslog facility {facility_name!r}")
    if not os.path.exists("/dev/log"):
        raise OSError(f"{destination}: no syslog socket /dev/log")
    handler = logging.handlers.SysLogHandler(address="/dev/log", facility=facility)
    handler.ident = "httpdw: "
    # the priority of Apache's levels (Python's table knows only its own five)
    handler.priority_map = {**handler.priority_map, "EMERG": "emerg", "ALERT": "alert", "NOTICE": "notice",
                            **{f"TRACE{i}": "debug" for i in range(1, 9)}}
    return handler


#: a piped logger that dies this soon after its start this many times in a row is not restarted again
QUICK_DEATH_SECONDS = 1.0
MAX_QUICK_LOGGER_DEATHS = 5


class PipedLogger:
    """A ``|command`` logger: a pipe owned by the parent and the program reading it (restartable)."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        _PIPE_READ_ENDS.add(self.read_fd)
        self.proc: subprocess.Popen | None = None
        self.pid = 0
        self.started = 0.0
        self.quick_deaths = 0   #: deaths in a row within QUICK_DEATH_SECONDS of a start

    def spawn(self) -> None:
        """Start the program with the pipe's read end as its stdin (through /bin/sh, as `|$` in Apache)."""
        import subprocess   # here: only a piped ErrorLog needs it, and every serving process would hold it
        self.proc = subprocess.Popen(["/bin/sh", "-c", self.command], stdin=self.read_fd, close_fds=True)
        self.pid = self.proc.pid
        self.started = time.monotonic()

    def exited(self, status: int) -> None:
        """Someone else (the parent's wait loop) reaped the program: tell the Popen so it never waits."""
        if self.proc is not None:
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        quick = time.monotonic() - self.started < QUICK_DEATH_SECONDS
        self.quick_deaths = self.quick_deaths + 1 if quick else 0

    def retire(self) -> None:
        """Drop the parent's read end: the program now owns the pipe and stops at EOF."""
        self._close_read_end()

    def _close_read_end(self) -> None:
        if self.read_fd >= 0:
            _PIPE_READ_ENDS.discard(self.read_fd)
            os.close(self.read_fd)
            self.read_fd = -1

    def wait(self, timeout: float) -> None:
        """At shutdown (write end already closed): let the program drain the pipe and exit."""
        self._close_read_end()
        if self.proc is None:
            return
        import subprocess   # already loaded by spawn()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()


#: read ends of piped loggers held by this process; a forked server child closes them (see module doc)
_PIPE_READ_ENDS: set[int] = set()


def _close_pipe_read_ends_in_child() -> None:
    for fd in list(_PIPE_READ_ENDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _PIPE_READ_ENDS.clear()


os.register_at_fork(after_in_child=_close_pipe_read_ends_in_child)


def _restart(piped: PipedLogger) -> tuple[int | None, str | OSError | None]:
    """Start a dead logger again on its pipe: (new pid, None), or (None, why not)."""
    if piped.quick_deaths > MAX_QUICK_LOGGER_DEATHS:
        # a program that cannot even start (typo, missing binary) would be forked in a loop; give up
        # and let writers see EPIPE rather than block on a pipe nobody will ever read
        piped.retire()
        return None, f"it died within {QUICK_DEATH_SECONDS:g}s of its start {piped.quick_deaths} times"
    try:
        piped.spawn()
    except OSError as e:
        piped.retire()
        return None, e
    return piped.pid, None


def _exit_words(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _open_destination(destination: str) -> tuple[int, PipedLogger | None]:
    if destination == "syslog" or destination.startswith("syslog:"):
        _syslog_handler(destination).close()   # check now: a start must fail here, not later
        return -1, None
    if destination.startswith("|"):
        command = destination[1:].lstrip()
        if command.startswith("$"):  # Apache: "|$cmd" runs through the shell explicitly; same for us
            command = command[1:]
        piped = PipedLogger(command)
        try:
            piped.spawn()
        except OSError:
            os.close(piped.write_fd)
            piped.wait(0)
            raise
        # the write end is the handler's fd: server children are fork()ed and keep it (O_CLOEXEC only
        # keeps it out of programs that are exec()ed, the logger itself included: it must see EOF)
        return piped.write_fd, piped
    fd = os.open(destination, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    return fd, None


def _close_destination(fd: int, piped: PipedLogger | None, wait: bool = True) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass
    if piped is not None and wait:
        piped.wait(timeout=2)


def stderr_logging(log_level: str = "warn", fd: int = 2) -> logging.Handler:
    """While the server starts (and for -X): Apache-format lines on stderr, or on `fd` (the pipe to the
    `-k start` launcher). The caller removes the handler once the server runs."""
    logger = logging.getLogger(ROOT_LOGGER)
    level_filter = LogLevelFilter(log_level)
    handler = FdHandler(fd)
    # the console gets the bare message, as Apache prints start-up errors ("AH00015: Unable to open logs")
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(level_filter)
    # only problems reach the console: "resuming normal operations" and other notices go to the error log
    handler.addFilter(lambda record: record.levelno >= LEVELS["warn"])
    logger.setLevel(min(level_filter.lowest(), NOTICE))
    logger.propagate = False
    logger.addHandler(handler)
    return handler
