"""The parent (control) process: Apache's worker_run / server_main_loop, in the shape of gunicorn's arbiter.

The parent binds the listeners, owns the scoreboard, forks children and never serves a request. Signal
handlers only queue the signal number and wake the main loop through a self-pipe; the loop acts:

    TERM, INT  stop          HUP  hard restart        USR1  graceful restart        WINCH  graceful stop

Every second the loop either starts children still owed by a restart or runs the idle-server maintenance
(httpdw.mpm.maintenance). A child that exits is reaped at once, its slots are marked dead, and it is
replaced at once if it was killed by a signal; a child that exits with APEXIT_CHILDFATAL (it could not drop
privileges, its handler could not start) stops the server instead of a fork loop.

A restart (graceful or hard) reads and validates the new config *before* touching any child: a broken
config is logged and the running generation keeps serving.
"""
from __future__ import annotations

import dataclasses
import gc
import logging
import os
import queue
import select
import signal
import time
from dataclasses import dataclass
from typing import Callable

from httpdw.config.model import MpmSettings, ServerConfig
from httpdw.errorlog import ErrorLog, stderr_logging
from httpdw.mpm import api
from httpdw.mpm import pidfile
from httpdw.mpm.build import server_built, server_version
from httpdw.mpm.child import APEXIT_CHILDFATAL, APEXIT_CHILDSICK, POD_GRACEFUL, POD_RESTART, ChildSpec, child_main
from httpdw.mpm.listeners import NO_LISTENERS, BoundListener, ListenError, bind_all
from httpdw.mpm.loaded_config import LoadedConfig
from httpdw.mpm.maintenance import (HOLD_OFF_CYCLES, Decision, Limits, MaintenanceState,
                                    perform_idle_server_maintenance)
from httpdw.mpm.mutex import DEFAULT as DEFAULT_MUTEX, AcceptMutex, lock_file_path, mechanism_for
from httpdw.mpm.privs import malloc_trim
from httpdw.mpm.scoreboard import Scoreboard, ScoreboardError

log = logging.getLogger("httpdw.mpm")

#: signals the parent handles, and what each asks for
SIGNAL_ACTIONS = {
    signal.SIGTERM: "stop", signal.SIGINT: "stop", signal.SIGHUP: "restart",
    signal.SIGUSR1: "graceful", signal.SIGWINCH: "graceful-stop",
}
#: a killed child is replaced at once at most this many times in a row (Apache's AH10393)
MAX_SUCCESSIVE_KILLS = 3
#: -k start waits at most this long for the first child to report a ready thread
READY_TIMEOUT = 15.0


@dataclass(frozen=True)
class Timing:
    """The parent's clocks. Apache's values; tests pass shorter ones (an internal parameter, not a directive)."""

    maintenance_interval: float = 1.0
    #: ap_reclaim_child_processes: (seconds after the stop order, signal)
    reclaim_schedule: tuple[tuple[float, int], ...] = (
        (0.0, signal.SIGTERM), (3.0, signal.SIGTERM), (5.0, signal.SIGTERM), (7.0, signal.SIGTERM),
        (9.0, signal.SIGKILL))
    reclaim_give_up: float = 10.0


@dataclass
class ChildRecord:
    pid: int
    slot: int
    generation: int
    pod_w: int
    quiescing: bool = False


class StartupError(Exception):
    """The server cannot start; the message says why (already logged)."""


class Parent:
    """The control process. Build it with a validated config, then call `run()` (returns the exit status)."""

    def __init__(self, config: ServerConfig, *, reload: Callable[[tuple[int, int]], LoadedConfig],
                 factory_for: Callable[[ServerConfig], api.HandlerFactory], command_line: str = "",
                 timing: Timing = Timing(), on_ready: Callable[[], None] | None = None,
                 title: str = "", startup_fd: int = 2, startup_level: str | None = None) -> None:
        self.config = config
        self.settings = config.mpm
        self.reload = reload
        self.factory_for = factory_for
        self.command_line = command_line
        self.timing = timing
        self.on_ready = on_ready
        self.title = title
        self.startup_fd = startup_fd
        self.startup_level = startup_level or config.log_level   #: -e: LogLevel of the start-up channel
        self.first_limits = (self.settings.server_limit, self.settings.thread_limit)
        #: the largest ThreadsPerChild of any generation: thread records beyond it were never written
        self.max_threads_per_child = self.settings.threads_per_child
        self.generation = 0
        self.config_generation = 1
        self.children: dict[int, ChildRecord] = {}
        self.listeners: list[BoundListener] = []
        self.board: Scoreboard | None = None
        self.errorlog: ErrorLog | None = None
        self.mutex: AcceptMutex | None = None
        self.factory: api.HandlerFactory | None = None
        self.maint = MaintenanceState()
        self.remaining_to_start = 0
        self.successive_kills = 0
        self.shutting_down = False
        self.ready_pending = False
        self.ready_deadline = 0.0
        self.children_cpu = [0.0, 0.0]
        self.pid = os.getpid()
        self.pid_file_written = False
        self._signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        self._startup_handler: logging.Handler | None = None

    # ================================================================ start-up

    def run(self) -> int:
        """Start, serve until stopped, clean up. Never raises for operational failures."""
        try:
            self.start()
        except StartupError:
            self.cleanup()
            return 1
        try:
            return self.serve()
        finally:
            self.cleanup()

    def start(self) -> None:
        """Logs, handler, listeners, scoreboard, pid file, mutex, signals, first children (spec 4.1)."""
        if self.title:
            _set_title(self.title)
        self._startup_handler = stderr_logging(self.startup_level, self.startup_fd)
        self.open_logs()
        self.log_config_warnings()
        self.factory = self._make_factory(self.config)
        try:
            self.listeners, _ = bind_all(self.settings)
        except ListenError as e:
            log.log(55, "%s", e)
            if str(e) != NO_LISTENERS:
                log.log(55, NO_LISTENERS)
            log.log(55, "AH00015: Unable to open logs")
            raise StartupError(str(e)) from e
        self.create_scoreboard()
        self.write_pid_file()
        self.create_mutex()
        self.install_signals()
        self.publish_globals(restart=True)
        self.log_resuming()
        self.start_children(min(self.settings.start_servers, self.settings.daemons_limit))
        self.ready_pending = True
        self.ready_deadline = time.monotonic() + READY_TIMEOUT

    def open_logs(self) -> None:
        try:
            self.errorlog = ErrorLog(self.config.error_log, self.config.log_level)
            self.errorlog.open()
        except (OSError, ValueError) as e:
            log.log(55, "(%s)%s: AH00091: httpdw: could not open error log file %s.", getattr(e, "errno", None) or 0,
                    getattr(e, "strerror", None) or e, self.config.error_log)
            log.log(55, "AH00015: Unable to open logs")
            self.errorlog = None
            raise StartupError("cannot open the error log") from e

    def log_config_warnings(self) -> None:
        """Apache's second config pass: its warnings, in their error-log wording (AH00311, AH00317, ...),
        go to the error log only (the console had the first pass's wording already)."""
        try:
            loaded = self.reload(self.first_limits)
        except Exception:  # noqa: BLE001 - the config was valid a moment ago; nothing to add then
            return
        logger = logging.getLogger("httpdw")
        if self._startup_handler is not None:
            logger.removeHandler(self._startup_handler)
        try:
            for level, message in loaded.messages:
                if level != "error":
                    _config_logger(message).warning("%s", message)
        finally:
            if self._startup_handler is not None:
                logger.addHandler(self._startup_handler)

    def _make_factory(self, config: ServerConfig) -> api.HandlerFactory:
        try:
            return self.factory_for(config)
        except Exception as e:  # noqa: BLE001 - reported as a start-up failure, not a traceback
            log.log(55, "the connection handler could not be built: %s", e, exc_info=True)
            raise StartupError(str(e)) from e

    def create_scoreboard(self) -> None:
        sl, tl = self.first_limits
        try:
            self.board = Scoreboard.create(sl, tl, self.settings.scoreboard_file)
        except ScoreboardError as e:
            log.log(55, "%s", e)
            raise StartupError(str(e)) from e

    def write_pid_file(self) -> None:
        path = self.settings.pid_file
        try:
            existed = pidfile.write_pid(path, self.pid)
        except OSError as e:
            log.log(55, "(%d)%s: AH00100: httpdw: could not log pid to file %s", e.errno, e.strerror, path)
            raise StartupError(f"could not write pid file {path}") from e
        self.pid_file_written = True
        if existed:
            log.warning("AH00098: pid file %s overwritten -- Unclean shutdown of previous httpdw run?", path)

    def create_mutex(self) -> None:
        mechanism = mechanism_for(self.settings.accept_mutex)
        path = lock_file_path(self.settings.lock_file, self.config.server_root, self.pid)
        try:
            self.mutex = AcceptMutex(mechanism, path)
            if self.settings.user or self.settings.group:
                self._chown_mutex()
        except (OSError, KeyError) as e:
            log.log(55, "AH00023: Couldn't create the mpm-accept mutex %s: %s", path, e)
            raise StartupError(str(e)) from e
        log.debug("AH00294: Accept mutex: %s (default: %s)", mechanism, DEFAULT_MUTEX)

    def _chown_mutex(self) -> None:
        from httpdw.mpm.privs import PrivilegeError, resolve_group, resolve_user
        try:
            uid = resolve_user(self.settings.user)[0] if self.settings.user else None
            gid = resolve_group(self.settings.group) if self.settings.group else None
        except PrivilegeError:
            return  # the child reports the bad name and exits CHILDFATAL
        assert self.mutex is not None
        self.mutex.chown(uid, gid)

    def install_signals(self) -> None:
        """Handlers only queue (no logging, no work: they run between any two bytecodes)."""
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        signal.set_wakeup_fd(self._wake_w)
        for signum in (*SIGNAL_ACTIONS, signal.SIGCHLD):
            signal.signal(signum, self._queue_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def _queue_signal(self, signum, frame) -> None:
        self._signals.put(signum)

    def publish_globals(self, restart: bool) -> None:
        assert self.board is not None
        changes = dict(daemons_limit=self.settings.daemons_limit, threads_per_child=self.settings.threads_per_child,
                       running_generation=self.generation, config_generation=self.config_generation,
                       parent_pid=self.pid, server_built=server_built(), cpu=tuple(self.children_cpu))
        if restart:
            changes["restart_time"] = time.time()
        self.board.set_global(**changes)

    def log_resuming(self) -> None:
        log.log(25, "AH00292: %s configured -- resuming normal operations", server_version())
        log.info("AH00293: Server built: %s", server_built())
        if self.command_line:
            log.log(25, "AH00094: Command line: '%s'", self.command_line)

    # ================================================================ children

    def start_children(self, count: int) -> int:
        """Fork up to `count` children into free slots; returns how many were started."""
        started = 0
        for slot in self.free_slots():
            if started >= count:
                break
            if self.make_child(slot):
                started += 1
        return started

    def free_slots(self) -> list[int]:
        assert self.board is not None
        limit = min(self.settings.daemons_limit, self.board.server_limit)
        return [s for s in range(limit) if self.board.process(s).pid == 0]

    def make_child(self, slot: int) -> bool:
        """fork() one child into `slot`. The child never returns from child_main."""
        assert self.board is not None and self.factory is not None
        pod_r, pod_w = os.pipe()
        spec = self._child_spec(slot, pod_r, pod_w)
        self.board.set_process(slot, 0, self.generation)
        freeze_heap_for_fork()
        try:
            pid = os.fork()
        except OSError as e:
            log.log(55, "(%d)%s: AH00283: fork: Unable to fork new process", e.errno, e.strerror)
            os.close(pod_r)
            os.close(pod_w)
            return False
        if pid == 0:
            child_main(spec)
        os.close(pod_r)
        self.children[pid] = ChildRecord(pid, slot, self.generation, pod_w)
        self.board.set_process(slot, pid, self.generation)
        log.debug("child process %d started: slot %d, generation %d", pid, slot, self.generation)
        return True

    def _child_spec(self, slot: int, pod_r: int, pod_w: int) -> ChildSpec:
        s = self.settings
        parent_only = [pod_w, self._wake_r, self._wake_w] + [c.pod_w for c in self.children.values()]
        startup = self._startup_handler is not None
        return ChildSpec(
            slot=slot, generation=self.generation, threads_per_child=s.threads_per_child,
            max_connections=s.max_connections_per_child, listeners=list(self.listeners), board=self.board,
            handler_factory=self.factory, pod_fd=pod_r, accept_mutex=self.mutex, user=s.user, group=s.group,
            core_dump_directory=s.core_dump_directory, thread_stack_size=s.thread_stack_size,
            max_mem_free_kib=s.max_mem_free, close_fds=parent_only,
            title=f"httpdw: child gen={self.generation} slot={slot}",
            extra={"server_config": self.config},
            drop_handlers=[self._startup_handler] if startup else [],
            startup_fds=[self.startup_fd] if startup and self.startup_fd != 2 else [])

    def tell(self, rec: ChildRecord, order: bytes) -> None:
        """Write to a child's pipe of death ('!' graceful, '$' now). A child already gone is ignored."""
        try:
            os.write(rec.pod_w, order)
        except OSError:
            pass
        if order == POD_GRACEFUL and self.board is not None:
            rec.quiescing = True
            self.board.set_quiescing(rec.slot)

    def tell_all(self, order: bytes) -> None:
        for rec in list(self.children.values()):
            self.tell(rec, order)

    def reap_children(self) -> bool:
        """Reap every exited child. Returns True if one of the current generation died CHILDFATAL."""
        fatal = False
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            self.children_cpu[0] += usage.ru_utime
            self.children_cpu[1] += usage.ru_stime
            rec = self.children.pop(pid, None)
            if rec is None:
                # not a server child: a piped ErrorLog program (restarted by the ErrorLog) or some other
                # process of ours; never a slot to clear or a child to replace
                if self.errorlog is not None:
                    self.errorlog.reaped(pid, status)
                continue
            if self.child_exited(rec, status):
                fatal = True
        return fatal

    def child_exited(self, rec: ChildRecord, status: int) -> bool:
        """Spec 4.1 for one reaped child. Returns True for a fatal exit of the current generation."""
        assert self.board is not None
        if os.WIFSIGNALED(status):
            self.report_signal_death(rec, status)
        self.board.clear_process(rec.slot, self.max_threads_per_child)
        os.close(rec.pod_w)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == APEXIT_CHILDFATAL:
            if rec.generation == self.generation:
                log.log(55, "AH00050: Child %d returned a Fatal error... httpdw is exiting!", rec.pid)
                return True
            log.log(55, "AH00290: Ignoring fatal error in child of previous generation (pid %d).", rec.pid)
            return False
        log.debug("child process %d exited: slot %d, generation %d, status %d", rec.pid, rec.slot,
                  rec.generation, status)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == APEXIT_CHILDSICK:
            # a resource shortage (EMFILE on accept...): spawn slowly; fatal if no child ever got going
            self.maint.sick_child_detected = True   # the maintenance forks no more while no child was healthy
            self.maint.idle_spawn_rate = 1
        if self.shutting_down or rec.slot >= self.settings.daemons_limit:
            return False
        if os.WIFSIGNALED(status) and rec.generation == self.generation and not rec.quiescing:
            self.replace_killed_child(rec.slot)
        elif self.remaining_to_start > 0:
            if self.make_child(rec.slot):
                self.remaining_to_start -= 1
        else:
            self.successive_kills = 0
        return False

    def replace_killed_child(self, slot: int) -> None:
        self.successive_kills += 1
        if self.successive_kills > MAX_SUCCESSIVE_KILLS:
            if self.successive_kills == MAX_SUCCESSIVE_KILLS + 1:
                log.error("AH10393: children are killed successively!")
            return  # the maintenance replaces it, at its own pace
        self.make_child(slot)

    def report_signal_death(self, rec: ChildRecord, status: int) -> None:
        """AH00051/AH00052 as Apache (not for the signals the server itself sends), plus the
        EnableExceptionHook crash report: what each busy thread of the child was serving."""
        signum = os.WTERMSIG(status)
        name = signal.strsignal(signum) or f"signal {signum}"
        if signum not in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGKILL):
            if os.WCOREDUMP(status) and self.settings.core_dump_directory:
                log.log(25, "AH00051: child pid %d exit signal %s (%d), possible coredump in %s", rec.pid, name,
                        signum, self.settings.core_dump_directory)
            else:
                log.log(25, "AH00052: child pid %d exit signal %s (%d)", rec.pid, name, signum)
        if self.settings.enable_exception_hook:
            self.crash_report(rec, signum, name)

    def crash_report(self, rec: ChildRecord, signum: int, name: str) -> None:
        assert self.board is not None
        busy = []
        for t in range(self.settings.threads_per_child):
            w = self.board.worker(rec.slot, t)
            if w.pid == rec.pid and w.state not in (api.DEAD, api.READY, api.STARTING):
                busy.append(f"thread {t} [{w.state}] client {w.client or '-'} request \"{w.request}\"")
        log.error("crash report: child pid %d (slot %d, generation %d) exit signal %s (%d); %s", rec.pid,
                  rec.slot, rec.generation, name, signum, "; ".join(busy) if busy else "no request in progress")

    # ================================================================ main loop

    def serve(self) -> int:
        """Run generations until a stop. Returns the exit status."""
        while True:
            action = self.main_loop()
            if action == "fatal":
                self.stop_now()
                return 1
            if action == "stop":
                self.stop_now()
                log.log(25, "AH00295: caught SIGTERM, shutting down")
                return 0
            if action == "graceful-stop":
                self.graceful_stop()
                return 0
            self.restart(graceful=(action == "graceful"))

    def main_loop(self) -> str:
        """server_main_loop: wait for a signal or a child exit, reap, and once per interval maintain."""
        next_tick = time.monotonic() + self.timing.maintenance_interval
        while True:
            wait = max(0.0, next_tick - time.monotonic())
            self.wait_for_event(min(wait, 0.05) if self.ready_pending else wait)
            if self.reap_children():
                return "fatal"
            if self.ready_pending:
                self.check_ready()
            action = self.next_signal_action()
            if action:
                return action
            now = time.monotonic()
            if now >= next_tick:
                if not self.tick():
                    return "fatal"
                next_tick = next_tick_after(next_tick, self.timing.maintenance_interval, time.monotonic())

    def tick(self) -> bool:
        """Once per interval: owed children, else maintenance. False when the server must stop (AH02325)."""
        if self.remaining_to_start > 0:
            self.start_children(self.remaining_to_start)
            self.remaining_to_start = 0   # Apache: the rest is the maintenance's business
        elif self.maintain().give_up:
            log.log(55, "AH02325: A resource shortage or other unrecoverable failure was encountered before "
                        "any child process initialized successfully... httpdw is exiting!")
            return False
        self.publish_globals(restart=False)
        return True

    def maintain(self) -> Decision:
        """One round of perform_idle_server_maintenance, carried out; returns its decision."""
        assert self.board is not None
        s = self.settings
        limits = Limits(s.daemons_limit, s.threads_per_child, s.min_spare_threads, s.max_spare_threads,
                        s.max_request_workers)
        snap = self.board.snapshot(slots=s.daemons_limit, threads=s.threads_per_child)
        decision = perform_idle_server_maintenance(snap, self.generation, limits, self.maint)
        for level, message in decision.messages:
            log.log(logging.ERROR if level == "error" else logging.INFO, "%s", message)
        if decision.kill_one is not None:
            rec = self._child_in_slot(decision.kill_one)
            if rec is not None:
                self.tell(rec, POD_GRACEFUL)
        for slot in decision.spawn_slots:
            self.make_child(slot)
        return decision

    def _child_in_slot(self, slot: int) -> ChildRecord | None:
        for rec in self.children.values():
            if rec.slot == slot and rec.generation == self.generation and not rec.quiescing:
                return rec
        return None

    def wait_for_event(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self._wake_r], [], [], timeout)
        except InterruptedError:
            return
        if ready:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass

    def next_signal_action(self) -> str | None:
        while True:
            try:
                signum = self._signals.get_nowait()
            except queue.Empty:
                return None
            action = SIGNAL_ACTIONS.get(signum)
            if action:
                return action

    def check_ready(self) -> None:
        """Tell the launcher (-k start) that we serve, once a child has a thread waiting for connections."""
        assert self.board is not None
        snap = self.board.snapshot(slots=self.settings.daemons_limit, threads=self.settings.threads_per_child)
        serving = any(w.state == api.READY and w.generation == self.generation
                      for row in snap.workers for w in row)
        if serving or time.monotonic() >= self.ready_deadline:
            self.ready_pending = False
            self._drop_startup_handler()
            if self.on_ready:
                self.on_ready()

    def _drop_startup_handler(self) -> None:
        if self._startup_handler is not None:
            logging.getLogger("httpdw").removeHandler(self._startup_handler)
            self._startup_handler = None

    # ================================================================ stop

    def stop_now(self) -> None:
        """SIGTERM: '$' to every child, reclaim them, remove the pid file (spec 4.4)."""
        self.shutting_down = True
        self.tell_all(POD_RESTART)
        self.reclaim_children()
        self.remove_pid_file()

    def reclaim_children(self) -> None:
        """ap_reclaim_child_processes: TERM at 0, 3, 5, 7 s, KILL at 9 s, give up at 10 s."""
        start = time.monotonic()
        schedule = list(self.timing.reclaim_schedule)
        while self.children:
            elapsed = time.monotonic() - start
            while schedule and elapsed >= schedule[0][0]:
                at, signum = schedule.pop(0)
                self._signal_children(signum, log_it=at > 0)
            if elapsed >= self.timing.reclaim_give_up:
                for pid in self.children:
                    log.error("AH00047: could not make child process %d exit, attempting to continue anyway", pid)
                break
            self.wait_for_event(0.05)
            self.reap_children()

    def _signal_children(self, signum: int, log_it: bool) -> None:
        for pid in list(self.children):
            if log_it:
                if signum == signal.SIGKILL:
                    log.error("AH00046: child process %d still did not exit, sending a SIGKILL", pid)
                else:
                    log.warning("AH00045: child process %d still did not exit, sending a SIGTERM", pid)
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def graceful_stop(self) -> None:
        """SIGWINCH: stop listening, '!' to every child, wait (GracefulShutdownTimeout), then as SIGTERM."""
        self.shutting_down = True
        self.close_listeners(self.listeners)
        self.listeners = []
        self.tell_all(POD_GRACEFUL)
        self.remove_pid_file()
        log.log(25, "AH00296: caught SIGWINCH, shutting down gracefully")
        timeout = self.settings.graceful_shutdown_timeout
        deadline = None if timeout == 0 else time.monotonic() + max(timeout, 1)
        while self.children:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if self.next_signal_action() == "stop":
                break
            self.wait_for_event(0.2)
            self.reap_children()
        self.tell_all(POD_RESTART)
        self.reclaim_children()

    def remove_pid_file(self) -> None:
        if self.pid_file_written and pidfile.remove_pid(self.settings.pid_file, self.pid):
            log.info("AH00096: removed PID file %s (pid=%d)", self.settings.pid_file, self.pid)
        self.pid_file_written = False

    @staticmethod
    def close_listeners(listeners: list[BoundListener]) -> None:
        for b in listeners:
            try:
                b.sock.close()
            except OSError:
                pass

    def cleanup(self) -> None:
        """Whatever happened: no child left, no pid file, no scoreboard file, no lock file, logs closed."""
        if self.children:
            self.shutting_down = True
            self.tell_all(POD_RESTART)
            self.reclaim_children()
        self.remove_pid_file()
        self.close_listeners(self.listeners)
        self.listeners = []
        if self.board is not None:
            self.board.remove()
            self.board = None
        if self.mutex is not None:
            self.mutex.remove()
            self.mutex = None
        self._drop_startup_handler()
        _close_factory(self.factory)
        self.factory = None
        if self.errorlog is not None:
            self.errorlog.close()
            self.errorlog = None
        signal.set_wakeup_fd(-1)

    # ================================================================ restarts

    def restart(self, graceful: bool) -> None:
        """USR1 (graceful) or HUP: validate the new config first; only then touch the children."""
        if graceful:
            log.log(25, "AH00297: SIGUSR1 received.  Doing graceful restart")
        else:
            log.log(25, "AH00298: SIGHUP received.  Attempting to restart")
        prepared = self.prepare_new_generation()
        if prepared is None:
            return
        new_config, new_factory, new_listeners, dropped = prepared
        self.generation += 1
        self.config_generation += 1
        if graceful:
            self.tell_all(POD_GRACEFUL)
        else:
            self.tell_all(POD_RESTART)
            self.remaining_to_start = 0
            self.shutting_down = True   # no replacement of the children being reclaimed
            self.reclaim_children()
            self.shutting_down = False
            assert self.board is not None
            self.board.reset_workers(self.max_threads_per_child)
        self.close_listeners(dropped)
        self.listeners = new_listeners
        _close_factory(self.factory)
        self.config, self.settings, self.factory = new_config, new_config.mpm, new_factory
        thaw_heap_for_restart()
        self.max_threads_per_child = max(self.max_threads_per_child, self.settings.threads_per_child)
        self.reopen_logs()
        self.maint = MaintenanceState(hold_off=HOLD_OFF_CYCLES if graceful else 0,
                                      had_healthy_child=self.maint.had_healthy_child)
        self.successive_kills = 0
        self.publish_globals(restart=True)
        wanted = min(self.settings.start_servers, self.settings.daemons_limit)
        self.remaining_to_start = wanted - self.start_children(wanted)
        self.log_resuming()

    def prepare_new_generation(self):
        """Load + validate the config, build the handler factory, bind new listeners. None if anything fails
        (then nothing has changed and the running generation keeps serving)."""
        try:
            loaded = self.reload(self.first_limits)
        except Exception:  # noqa: BLE001 - a bug in the loader must not kill a serving parent
            log.error("reading the configuration failed; the running configuration keeps serving", exc_info=True)
            return None
        for level, message in loaded.messages:
            _config_logger(message).log(logging.ERROR if level == "error" else logging.WARNING, "%s", message)
        if loaded.config is None:
            log.error("the new configuration has errors: restart aborted, the running configuration keeps serving")
            return None
        config = self.pin_limits(loaded.config)
        try:
            factory = self._make_factory(config)
        except StartupError:
            log.error("restart aborted, the running configuration keeps serving")
            return None
        try:
            listeners, dropped = bind_all(config.mpm, keep=self.listeners)
        except ListenError as e:
            log.error("%s; restart aborted, the running configuration keeps serving", e)
            return None
        return config, factory, listeners, dropped

    def pin_limits(self, config: ServerConfig) -> ServerConfig:
        """ServerLimit/ThreadLimit keep their first values (spec 1.5). load_config(first_limits=...) does this
        already; this is the engine's own guarantee for any other loader."""
        m: MpmSettings = config.mpm
        sl, tl = self.first_limits
        if (m.server_limit, m.thread_limit) == (sl, tl):
            return config
        if m.server_limit != sl:
            log.warning("AH00304: changing ServerLimit to %d from original value of %d not allowed during restart",
                        m.server_limit, sl)
        if m.thread_limit != tl:
            log.warning("AH00309: changing ThreadLimit to %d from original value of %d not allowed during restart",
                        m.thread_limit, tl)
        tpc = min(m.threads_per_child, tl)
        daemons = min(m.daemons_limit, sl)
        mpm = dataclasses.replace(m, server_limit=sl, thread_limit=tl, threads_per_child=tpc, daemons_limit=daemons,
                                  max_request_workers=min(m.max_request_workers, daemons * tpc))
        return dataclasses.replace(config, mpm=mpm)

    def reopen_logs(self) -> None:
        if self.errorlog is None:
            return
        try:
            self.errorlog.reopen(self.config.error_log, self.config.log_level)
        except (OSError, ValueError) as e:
            log.error("could not reopen the error log %s: %s; logging continues to the old one",
                      self.config.error_log, e)


def next_tick_after(due: float, interval: float, now: float) -> float:
    """When the maintenance tick after one that was due at `due` is due: on a fixed grid, one interval
    after `due` rather than after the tick ended - under load a tick (scoreboard snapshot, forks) takes
    tens of ms, which would otherwise add up and slow every step of the pool's growth. A tick that
    overran the whole interval restarts the grid from `now`."""
    following = due + interval
    return following if following > now else now + interval


def freeze_heap_for_fork() -> None:
    """Move every object the parent has so far into the collector's permanent generation before fork().

    A child's first full collection would otherwise walk (and so write the GC header of) every module,
    function and config object inherited from the parent, copying nearly all shared pages (copy-on-write)
    into each child: frozen objects are never scanned. Collecting once, before the first freeze, keeps
    the start-up garbage out of the frozen set; later forks only freeze (no full collection per fork)."""
    if not gc.get_freeze_count():
        gc.collect()
        malloc_trim(0)   # what the config load freed goes back to the OS instead of into every child
    gc.freeze()


def thaw_heap_for_restart() -> None:
    """A restart drops the previous generation's config and handler: unfreeze so that any reference
    cycles among them can be collected (the next fork freezes the new generation again)."""
    gc.unfreeze()


def _close_factory(factory) -> None:
    """A handler factory may hold parent-side resources (piped access loggers): see api.HandlerFactory."""
    close = getattr(factory, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - a failing close must not stop a restart or a shutdown
            log.warning("closing the previous generation's handler factory failed", exc_info=True)


def _config_logger(message: str) -> logging.Logger:
    """The worker MPM's own config messages (AH00285-AH00324: limits, spares, AH00304/AH00309) are logged
    as [mpm_worker:...] like Apache's; every other config message as [core:...]."""
    code = message[2:7] if message.startswith("AH") else ""
    if code.isdigit() and 285 <= int(code) <= 324:
        return log
    return logging.getLogger("httpdw.config")


def _set_title(title: str) -> None:
    try:
        import setproctitle
        setproctitle.setproctitle(title)
    except ImportError:
        pass
