"""The contract between the engine and whatever serves connections (the HTTP layer).

The engine calls a `HandlerFactory` once per child process, after fork and privilege drop, and
gets a `ConnectionHandler`. A worker thread then calls the handler once per accepted connection and
holds the connection for its whole life (keep-alive included), as the worker MPM does.

The handler reports what it is doing through `ctx.slot` (its own scoreboard slot; no lock is taken)
and checks `ctx.stopping()` between requests: when the child is exiting gracefully (MaxConnectionsPerChild
reached, graceful restart or stop) it finishes the current request and closes instead of keeping alive.

Plain data and protocols only: this module imports nothing from httpdw.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Callable, Protocol


#: Scoreboard states, Apache's letters (include/scoreboard.h, mod_status.c).
DEAD, STARTING, READY, BUSY_READ, BUSY_WRITE, BUSY_KEEPALIVE, BUSY_LOG, BUSY_DNS, CLOSING, GRACEFUL, IDLE_KILL = \
    ".", "S", "_", "R", "W", "K", "L", "D", "C", "G", "I"
STATE_LETTERS = ".S_RWKLDCGI"


class Slot(Protocol):
    """A worker thread's own scoreboard slot. Each thread writes only its own slot."""

    def set_state(self, state: str) -> None:
        """Set the state letter (one of STATE_LETTERS)."""

    def begin_request(self, request_line: str, client: str, vhost: str) -> None:
        """A request was read: state becomes W, the request line/client/vhost are recorded."""

    def end_request(self, bytes_sent: int) -> None:
        """A response was sent: counts one access and the bytes, records the duration."""


@dataclass
class ConnectionContext:
    sock: socket.socket
    client_addr: tuple            #: as returned by accept()
    local_addr: tuple             #: sock.getsockname()
    listener_port: int
    slot: Slot
    stopping: Callable[[], bool]  #: True once the child is exiting gracefully: no more keep-alive


ConnectionHandler = Callable[[ConnectionContext], None]
"""Called once per accepted connection, in a worker thread, for the connection's whole life.

A handler object may also have a ``configure_listener(sock)`` method: the child calls it on each of its
listening sockets before its listener thread starts, to set options the accepted sockets inherit (on
Linux: TCP_NODELAY, SO_RCVTIMEO, SO_SNDTIMEO), so that no connection pays a system call for them. The
listening sockets are shared by the whole server; a handler sets the same values in every child.

It may also have a ``housekeeping()`` method: the child's main thread calls it about once a second while
the child runs (the HTTP layer drops memory maps nobody used for a while), never from a worker thread."""


@dataclass(frozen=True)
class WorkerScore:
    """One thread slot of a snapshot (mod_status's worker_score)."""

    state: str = DEAD
    pid: int = 0
    generation: int = 0
    access_count: int = 0        #: requests served by this slot in this process
    bytes_served: int = 0
    conn_count: int = 0          #: requests on the current connection
    conn_bytes: int = 0
    my_access_count: int = 0     #: requests in the slot's whole life (across processes), Apache's "Acc" middle
    my_bytes_served: int = 0
    start_time: float = 0.0      #: current/last request start (epoch seconds)
    stop_time: float = 0.0
    duration_us: int = 0         #: total time serving requests, microseconds
    last_used: float = 0.0
    client: str = ""
    vhost: str = ""
    request: str = ""
    times_user: float = 0.0      #: CPU of the process, seconds (same for every thread of a process)
    times_system: float = 0.0


@dataclass(frozen=True)
class ProcessScore:
    pid: int = 0
    generation: int = 0
    quiescing: bool = False
    #: the connection accounting of this process, for -S/status views
    connections: int = 0


@dataclass(frozen=True)
class ScoreboardSnapshot:
    """A consistent-enough copy of the scoreboard (Apache reads it without locks too)."""

    server_limit: int
    thread_limit: int
    daemons_limit: int
    threads_per_child: int
    running_generation: int          #: ParentServerMPMGeneration
    config_generation: int           #: ParentServerConfigGeneration (starts at 1)
    restart_time: float              #: epoch seconds of the last (re)start
    start_time: float                #: epoch seconds the server first started
    server_built: str
    processes: tuple[ProcessScore, ...]
    workers: tuple[tuple[WorkerScore, ...], ...]   #: [process slot][thread slot]
    children_cpu_user: float = 0.0   #: CPU of reaped children (Apache's CPUChildrenUser)
    children_cpu_system: float = 0.0


@dataclass(frozen=True)
class ChildInfo:
    """What a handler factory is told about the child it runs in."""

    slot: int
    generation: int
    pid: int
    snapshot: Callable[[], ScoreboardSnapshot]   #: read the live scoreboard (for mod_status)
    extra: dict = field(default_factory=dict)


HandlerFactory = Callable[[ChildInfo], ConnectionHandler]
"""Built once per generation in the parent, called once per child after fork and privilege drop.

A factory object may also have a ``close()`` method: the parent calls it when a restart replaces the
factory's generation and at shutdown, to release what the factory opened in the parent (e.g. the pipes
to piped loggers, which the children keep their own copies of)."""
