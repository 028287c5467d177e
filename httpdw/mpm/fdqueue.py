"""The hand-over between a child's listener thread and its worker threads (Apache's fdqueue.c).

The important part is the idle-worker accounting: the listener calls `wait_for_idler()` *before* it
accepts, so a child never takes a connection it has no free thread for, and a busy child leaves new
connections in the kernel backlog for children that have free threads.

Built on two `queue.SimpleQueue`s (C code: a blocking get() releases the GIL and a put() wakes exactly
one waiter), because this is on every connection's path:

* a worker that becomes idle puts an *idle token*; the listener takes one (with a timeout) before it
  accepts, which reserves that worker for the next connection;
* the accepted connection goes into the *work* queue, where any waiting worker takes it.

Each pushed connection consumes one token, so the connections queued never outnumber the idle workers.
"""
from __future__ import annotations

import queue

_IDLE, _WAKE, _END = "idle", "wake", None


class FdQueue:
    """Idle-worker tokens plus the queue of accepted connections."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._reserved = False          # the listener holds a token it has not used yet
        self._terminated = False

    def wait_for_idler(self, timeout: float, stop=lambda: False) -> bool:
        """Listener: block until a worker is idle (and reserve it).

        Returns False on timeout, when `stop()` is true (a `wake()` makes it look now), or once the
        queue is terminated; the listener then rechecks its flags. A reservation is kept until a
        connection is pushed, so a False return after reserving loses nothing."""
        while not self._reserved:
            if self._terminated or stop():
                return False
            try:
                token = self._idle.get(timeout=timeout)
            except queue.Empty:
                return False
            if token == _IDLE:
                self._reserved = True
        return not self._terminated and not stop()

    def wake(self) -> None:
        """Make a waiting listener recheck its `stop` condition now."""
        self._idle.put(_WAKE)

    def push(self, item) -> None:
        """Listener: hand an accepted connection to the reserved idle worker."""
        self._reserved = False
        self._work.put(item)

    def pop(self):
        """Worker: become idle and wait for a connection; None once the queue is terminated."""
        self._idle.put(_IDLE)
        return self._work.get()

    def terminate(self, workers: int) -> None:
        """Graceful exit: connections already queued are still served (FIFO), then each of the
        `workers` threads gets None. Only the listener pushes, and it calls this once it is done
        (or the child's main thread does, when the listener is stuck)."""
        if self._terminated:
            return
        self._terminated = True
        self._idle.put(_WAKE)
        for _ in range(workers):
            self._work.put(_END)

    @property
    def terminated(self) -> bool:
        return self._terminated

    @property
    def idlers(self) -> int:
        """Idle workers the listener has not reserved yet (for tests and diagnostics; a pending
        wake() counts as one until the listener sees it)."""
        return self._idle.qsize()
