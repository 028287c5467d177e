"""A child process: ThreadsPerChild worker threads, one listener thread, and a main thread on the pipe of death.

Apache's worker.c `child_main` / `start_threads` / `listener_thread` / `worker_thread`, in Python:

* The **listener** waits until one of its own workers is idle (`FdQueue.wait_for_idler`) *before* it
  accepts, so a child with no free thread leaves connections to the others. With several listeners it
  takes the accept mutex around poll+accept.
* A **worker** pops a connection and holds it for its whole life (keep-alive included) by calling the
  connection handler once.
* The **main thread** reads the pipe of death: ``!`` = exit gracefully (stop accepting, let the workers
  finish their connections), ``$`` = exit now. EOF means the parent is gone: exit gracefully, so a killed
  parent leaves no orphans serving stale config.

MaxConnectionsPerChild counts connections: the listener decrements the budget at each accept (stricter
than Apache, which decrements after the connection and so may overshoot by a few), and once it is spent
the child stops accepting, finishes and exits; the parent replaces it.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sys
import _thread
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from httpdw.mpm import api
from httpdw.mpm.fdqueue import FdQueue
from httpdw.mpm.listeners import BoundListener
from httpdw.mpm.mutex import AcceptMutex
from httpdw.mpm.privs import PrivilegeError, drop_privileges, malloc_trim, setup_core_dumps
from httpdw.mpm.scoreboard import Scoreboard, process_cpu_times

log = logging.getLogger("httpdw.mpm.child")

#: Apache's child exit codes (include/httpd.h): the parent stops the server on CHILDFATAL.
APEXIT_OK, APEXIT_CHILDINIT, APEXIT_CHILDSICK, APEXIT_CHILDFATAL = 0, 3, 7, 15

POD_GRACEFUL, POD_RESTART = b"!", b"$"
#: seconds a gracefully exiting child waits for its listener thread before ending the queue itself
LISTENER_EXIT_WAIT = 5.0
#: the child's GIL switch interval (Python's default is 5 ms). A worker holds the GIL only between two
#: system calls (tens of µs), so the forced switch fires only when the holder has been preempted by the
#: kernel; it then makes the holder queue again behind every waiter. With 25 threads a child, 10x the
#: default measured 5.8-6.2 -> 3.2-3.4 context switches a request and +10 % req/s at 256 keep-alive
#: connections, 4.1 -> 3.2-3.5 at 64, 3.0 -> 2.8 for new connections. A handler that computes for long
#: without a system call delays its child's other threads by at most this much.
SWITCH_INTERVAL = 0.05
#: connections accepted after polling once an eager accept found nothing waiting
EAGER_PAUSE = 16


@dataclass
class ChildSpec:
    """Everything a child needs, prepared by the parent before fork()."""

    slot: int
    generation: int
    threads_per_child: int
    max_connections: int                  #: MaxConnectionsPerChild (0 = unlimited)
    listeners: list[BoundListener]
    board: Scoreboard
    handler_factory: api.HandlerFactory
    pod_fd: int                           #: read end of this child's pipe of death
    accept_mutex: AcceptMutex | None = None
    user: str | None = None
    group: str | None = None
    core_dump_directory: str | None = None
    thread_stack_size: int = 0
    max_mem_free_kib: int = 0             #: 0 = never trim (Apache: 0 = unlimited)
    close_fds: list[int] = field(default_factory=list)   #: parent-only descriptors to close after fork
    #: the start-up channel (stderr or the pipe to the `-k start` launcher): a child reports why it cannot
    #: start there, then drops it once initialised so the launcher's pipe reaches EOF when the parent exits
    drop_handlers: list = field(default_factory=list)
    startup_fds: list[int] = field(default_factory=list)
    title: str = ""
    extra: dict = field(default_factory=dict)


class Child:
    """One child process's threads. `run()` returns the exit code."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.queue = FdQueue()
        self.graceful = threading.Event()     #: set once the child exits gracefully
        self.dying = False                    #: '$' received: no state updates to G, exit at once
        self.budget = spec.max_connections if spec.max_connections != 0 else -1
        self.connections = 0
        self.handled_since_trim = 0
        self.workers_alive = 0                #: worker threads started and not yet finished
        self._alive_lock = threading.Lock()
        self.listener: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self.handler: api.ConnectionHandler | None = None
        self.sick = False                     #: accept failed (EMFILE...): exit with APEXIT_CHILDSICK
        self._eager: socket.socket | None = None   #: the listener that gave the last connection
        self._kinds: dict[socket.socket, tuple[int, int, int]] = {}   #: listener -> (family, type, proto)
        self._eager_after = 0                      #: no eager accept before this many connections
        self.graceful_since = 0.0

    # -- start-up ------------------------------------------------------------------------------------

    def initialise(self) -> int:
        """Privileges, core dumps, stack size, handler. Returns an exit code != 0 on a fatal failure."""
        spec = self.spec
        if spec.accept_mutex is not None:
            try:
                spec.accept_mutex.child_init()
            except OSError as e:
                log.log(55, "(%d)%s: AH00280: Couldn't initialize cross-process lock in child", e.errno, e.strerror)
                return APEXIT_CHILDFATAL
        try:
            drop_privileges(spec.user, spec.group)
            if spec.core_dump_directory:
                setup_core_dumps(spec.core_dump_directory)
        except PrivilegeError as e:
            log.log(55, "%s", e)
            return APEXIT_CHILDFATAL
        if spec.thread_stack_size:
            try:
                threading.stack_size(spec.thread_stack_size)
            except (ValueError, RuntimeError):
                log.warning("AH02435: WARNING: ThreadStackSize of %d is inappropriate, using default",
                            spec.thread_stack_size)
        info = api.ChildInfo(slot=spec.slot, generation=spec.generation, pid=os.getpid(),
                             snapshot=spec.board.snapshot, extra=dict(spec.extra))
        try:
            self.handler = spec.handler_factory(info)
        except Exception:  # noqa: BLE001 - a handler that cannot start must stop the server, not loop
            log.log(55, "the connection handler could not be initialised in child %d", os.getpid(), exc_info=True)
            return APEXIT_CHILDFATAL
        configure = getattr(self.handler, "configure_listener", None)
        if configure is not None:   # see api.ConnectionHandler: options accepted sockets inherit
            for bound in spec.listeners:
                configure(bound.sock)
        return APEXIT_OK

    def leave_startup_channel(self) -> None:
        for handler in self.spec.drop_handlers:
            logging.getLogger("httpdw").removeHandler(handler)
        for fd in self.spec.startup_fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def start_threads(self) -> None:
        """One worker per thread slot, then the listener (it needs a worker to hand connections to).

        Workers are started as apr_thread_create starts Apache's: without waiting for each new thread
        to be scheduled. threading.Thread.start() waits for that, and in a child forked while every core
        is busy (the pool growing under a burst) 25 such waits took ~150 ms before the child could serve."""
        for t in range(self.spec.threads_per_child):
            slot = self.spec.board.thread_slot(self.spec.slot, t, self.spec.generation)
            slot.stopping = self.graceful.is_set
            with self._alive_lock:
                self.workers_alive += 1
            try:
                _thread.start_new_thread(self._worker_main, (slot,))
            except RuntimeError:
                with self._alive_lock:
                    self.workers_alive -= 1
                raise
        self.listener = threading.Thread(target=self._listener_loop, name="listener", daemon=True)
        self.listener.start()

    # -- listener thread ----------------------------------------------------------------------------

    def _listener_loop(self) -> None:
        socks = [b.sock for b in self.spec.listeners]
        self._kinds = {s: (int(s.family), int(s.type), s.proto) for s in socks}
        # per listening fd: (port, local address of its connections or None when it must be asked per
        # connection), so that a specific-address listener costs no getsockname() per connection
        origins = {b.sock.fileno(): (b.port, fixed_local_address(b.sock)) for b in self.spec.listeners}
        mutex = self.spec.accept_mutex if len(socks) > 1 else None
        # without a mutex every child waits on the same sockets: EPOLLEXCLUSIVE wakes one of them per
        # connection instead of all (the kernel's answer to the thundering herd Apache avoids with a
        # blocking accept); with the mutex only its holder waits anyway
        poller = ListenerPoller(socks, self._wake_r, exclusive=mutex is None)
        try:
            while not self.graceful.is_set():
                if self.budget == 0 or self.spec.max_connections < 0:
                    self.begin_graceful("MaxConnectionsPerChild reached")
                    break
                if not self.queue.wait_for_idler(0.5, self.graceful.is_set):
                    continue
                accepted = self._accept_one(poller, mutex)
                if accepted is None:
                    continue
                conn, addr, listen_fd = accepted
                if self.budget > 0:
                    self.budget -= 1
                self.connections += 1
                self.queue.push((conn, addr, *origins[listen_fd]))
        finally:
            # only now may idle workers leave: nothing can be pushed after this point
            self.queue.terminate(self.spec.threads_per_child)
            poller.close()
            for s in socks:  # a gracefully exiting child releases its listeners (the parent keeps its own)
                s.close()

    def _accept_one(self, poller: "ListenerPoller", mutex: AcceptMutex | None):
        """Wait for a listener to be ready and accept (under the mutex when there are several listeners).

        Once poll() reports a connection it is accepted even if a graceful exit began meanwhile: the
        queue stays open until this thread ends, so the connection is served, never dropped."""
        if mutex is not None:
            mutex.acquire()
        try:
            # under load the socket that just gave a connection usually has the next one waiting:
            # try it before polling (saves an epoll_wait per connection; EAGAIN sends us to poll).
            # Only with one listener: with several, always taking the busy one would starve the others
            # (the poller hands ready sockets out round-robin)
            # A miss costs more than the poll it saves (Python builds an OSError for EAGAIN), so
            # after one the next EAGER_PAUSE connections go straight to poll (light load misses always)
            eager, self._eager = self._eager, None
            if (eager is not None and len(poller.socks) == 1 and self.connections >= self._eager_after
                    and not self.graceful.is_set()):
                accepted = self._try_accept(eager)
                if accepted is not None:
                    return accepted
                self._eager_after = self.connections + EAGER_PAUSE
            while not self.graceful.is_set():
                for s in poller.poll(0.5):
                    accepted = self._try_accept(s)
                    if accepted is not None or self.sick:
                        return accepted
            return None
        finally:
            if mutex is not None:
                mutex.release()

    def _try_accept(self, s: socket.socket):
        """accept() on a non-blocking listener: (conn, addr, fd), or None when another child took the
        connection or accept failed for real (then the child is marked sick and exits gracefully)."""
        try:
            fd, addr = s._accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None  # another child took it
        except OSError as e:
            self._accept_failed(e)
            return None
        # socket.accept() would also turn the family and type into enums on every call (a few µs
        # on each connection's path): the listener's are known
        conn = socket.socket(*self._kinds[s], fileno=fd)
        if conn.gettimeout() is not None:   # only with a default timeout set: accept4() already gives
            conn.setblocking(True)          # a blocking socket, so no ioctl otherwise
        self._eager = s
        return conn, addr, s.fileno()

    def _accept_failed(self, e: OSError) -> None:
        """EMFILE and friends: Apache sets resource_shortage and the child exits gracefully (CHILDSICK)."""
        log.error("(%d)%s: AH00488: apr_socket_accept: (client socket)", e.errno, e.strerror)
        self.sick = True
        self.begin_graceful("accept failed")

    # -- worker threads -------------------------------------------------------------------------------

    def _worker_main(self, slot) -> None:
        try:
            self._worker_loop(slot)
        finally:
            with self._alive_lock:
                self.workers_alive -= 1

    def _worker_loop(self, slot) -> None:
        while True:
            slot.set_state(api.READY)
            item = self.queue.pop()
            if item is None:
                break
            self._serve(slot, *item)
        if not self.dying:
            slot.set_state(api.GRACEFUL)

    def _serve(self, slot, conn: socket.socket, addr, port: int, local_addr: tuple | None) -> None:
        client = addr[0] if isinstance(addr, tuple) else str(addr)
        slot.new_connection(client)
        slot.set_state(api.BUSY_READ)
        try:
            ctx = api.ConnectionContext(sock=conn, client_addr=addr, local_addr=local_addr or conn.getsockname(),
                                        listener_port=port, slot=slot, stopping=self.graceful.is_set)
            assert self.handler is not None
            self.handler(ctx)
        except OSError as e:   # the client vanished (reset before we looked): nothing worth a traceback
            log.debug("connection from %s: %s", client, e)
        except Exception:  # noqa: BLE001 - one bad connection must not take the thread down
            log.error("connection handler failed for client %s", client, exc_info=True)
        finally:
            slot.set_state(api.CLOSING)
            try:
                conn.close()
            except OSError:
                pass
            self.handled_since_trim += 1

    # -- main thread ----------------------------------------------------------------------------------

    def begin_graceful(self, why: str) -> None:
        """Stop accepting; workers finish what they hold, then exit. Safe to call twice."""
        if self.graceful.is_set():
            return
        log.debug("child %d (slot %d) exiting gracefully: %s", os.getpid(), self.spec.slot, why)
        self.graceful.set()
        self.graceful_since = time.monotonic()
        self.spec.board.set_quiescing(self.spec.slot)
        os.write(self._wake_w, b"x")
        self.queue.wake()

    def wait_for_orders(self) -> int:
        """Read the pipe of death until the child should exit; returns the exit code."""
        pod = self.spec.pod_fd
        while True:
            if self.graceful.is_set():
                self._unblock_stuck_listener()
                if not self.workers_alive:
                    return APEXIT_CHILDSICK if self.sick else APEXIT_OK
            ready, _, _ = select.select([pod], [], [], 0.2 if self.graceful.is_set() else 1.0)
            self._publish_accounting()
            self._handler_housekeeping()
            if not ready:
                continue
            try:
                order = os.read(pod, 1)
            except OSError:
                order = b""
            if order == POD_RESTART:
                self.dying = True
                return APEXIT_OK
            # '!' or EOF (the parent is gone): exit gracefully; stop watching a closed pipe
            self.begin_graceful("pipe of death" if order else "parent exited")
            if not order:
                pod = self._silent_pipe()

    def _handler_housekeeping(self) -> None:
        """The handler's optional periodic work (api.ConnectionHandler), about once a second."""
        housekeeping = getattr(self.handler, "housekeeping", None)
        if housekeeping is None:
            return
        try:
            housekeeping()
        except Exception:  # noqa: BLE001 - a handler's bug must not end the child
            log.error("connection handler housekeeping failed", exc_info=True)

    def _unblock_stuck_listener(self) -> None:
        """The listener ends the queue itself; if it is stuck (e.g. waiting for the accept mutex) for
        LISTENER_EXIT_WAIT seconds, end the queue anyway so the workers can finish (Apache's AH00276)."""
        if self.listener is None or not self.listener.is_alive():
            self.queue.terminate(self.spec.threads_per_child)
        elif time.monotonic() - self.graceful_since > LISTENER_EXIT_WAIT:
            if not self.queue.terminated:
                log.debug("AH00276: the listener thread didn't exit")
            self.queue.terminate(self.spec.threads_per_child)

    def _silent_pipe(self) -> int:
        """A closed pipe is readable (EOF) forever; after EOF, wait on a pipe nobody writes to instead."""
        r, w = os.pipe()
        self._keep_open = w
        return r

    def _publish_accounting(self) -> None:
        user, system = process_cpu_times()
        self.spec.board.update_process_accounting(self.spec.slot, self.connections, user, system)
        if self.spec.max_mem_free_kib > 0 and self.handled_since_trim:
            self.handled_since_trim = 0
            malloc_trim(self.spec.max_mem_free_kib * 1024)

    def run(self) -> int:
        code = self.initialise()
        if code != APEXIT_OK:
            return code
        self.leave_startup_channel()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            self.start_threads()
        except RuntimeError as e:   # "can't start new thread": out of memory, RLIMIT_NPROC...
            log.log(55, "(%s): AH00282: ap_thread_create: unable to create worker thread", e)
            return APEXIT_CHILDSICK
        return self.wait_for_orders()


class ListenerPoller:
    """Waits until a listening socket has a connection; also wakes when the child's wake pipe is written.

    epoll where available, with EPOLLEXCLUSIVE for the listeners when `exclusive` (no accept mutex), so
    one connection wakes one child; select() elsewhere. Ready sockets come back round-robin so one busy
    port cannot starve the others."""

    def __init__(self, socks: list[socket.socket], wake_fd: int, exclusive: bool) -> None:
        self.socks = socks
        self.by_fd = {s.fileno(): s for s in socks}
        self.wake_fd = wake_fd
        self.next_index = 0
        self.epoll = select.epoll() if hasattr(select, "epoll") else None
        if self.epoll is not None:
            flags = select.EPOLLIN | (getattr(select, "EPOLLEXCLUSIVE", 0) if exclusive else 0)
            for s in socks:
                self.epoll.register(s.fileno(), flags)
            self.epoll.register(wake_fd, select.EPOLLIN)

    def poll(self, timeout: float) -> list[socket.socket]:
        if self.epoll is not None:
            try:
                fds = [fd for fd, _ in self.epoll.poll(timeout)]
            except InterruptedError:
                return []
            ready = [self.by_fd[fd] for fd in fds if fd in self.by_fd]
        else:
            readable, _, _ = select.select(self.socks + [self.wake_fd], [], [], timeout)
            ready = [s for s in readable if s is not self.wake_fd]
        if len(ready) > 1:
            n = len(self.socks)
            ready.sort(key=lambda s: (self.socks.index(s) - self.next_index) % n)
        if ready:
            self.next_index = (self.socks.index(ready[0]) + 1) % len(self.socks)
        return ready

    def close(self) -> None:
        if self.epoll is not None:
            self.epoll.close()


def fixed_local_address(sock: socket.socket) -> tuple | None:
    """The local address every connection accepted on `sock` has, when the listener is bound to one
    specific IP address; None for a wildcard listener (then each connection's own getsockname() says
    which of the host's addresses the client reached)."""
    try:
        local = sock.getsockname()
    except OSError:
        return None
    if sock.family == socket.AF_INET and local[0] != "0.0.0.0":
        return local
    if sock.family == socket.AF_INET6 and local[0] != "::" and not local[0].startswith("::ffff:"):
        return local
    return None


def reset_signals_in_child() -> None:
    """The parent's handlers must not run in a child: TERM kills it (the parent's reclaim relies on that),
    the parent's control signals are ignored (a Ctrl-C on the terminal reaches the whole process group,
    and it is the parent's job to stop the children)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)


def child_main(spec: ChildSpec) -> None:
    """Entry point right after fork(): never returns (os._exit), so no parent code runs in the child."""
    code = APEXIT_CHILDSICK
    try:
        reset_signals_in_child()
        for fd in spec.close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if spec.title:
            _set_title(spec.title)
        code = Child(spec).run()
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the parent's code
        try:
            log.critical("child %d failed", os.getpid(), exc_info=True)
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def _set_title(title: str) -> None:
    try:
        import setproctitle
        setproctitle.setproctitle(title)
    except ImportError:
        pass


def run_single_process(spec: ChildSpec, on_ready: Callable[[], None] | None = None) -> int:
    """-X: the child's threads in this very process, no fork. TERM/INT stop at once, WINCH/USR1 gracefully."""
    pod_r, pod_w = os.pipe()
    spec.pod_fd = pod_r

    def order(byte: bytes):
        return lambda signum, frame: os.write(pod_w, byte)

    signal.signal(signal.SIGTERM, order(POD_RESTART))
    signal.signal(signal.SIGINT, order(POD_RESTART))
    signal.signal(signal.SIGHUP, order(POD_RESTART))
    signal.signal(signal.SIGWINCH, order(POD_GRACEFUL))
    signal.signal(signal.SIGUSR1, order(POD_GRACEFUL))
    child = Child(spec)
    code = child.initialise()
    if code != APEXIT_OK:
        return code
    child.start_threads()
    if on_ready:
        on_ready()
    code = child.wait_for_orders()
    time.sleep(0)  # let daemon threads see the flags before the interpreter exits
    return code
