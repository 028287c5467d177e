"""The hand-over between a child's listener thread and its worker threads (Apache's fdqueue.c).

The important part is the idle-worker accounting: the listener calls `wait_for_idler()` *before* it
accepts, so a child never takes a connection it has no free thread for, and a busy child leaves new
connections in the kernel backlog for children that have free threads.

Two conditions share one lock so that a push wakes exactly one idle worker and a worker becoming
idle wakes only the listener (waking all 25 workers for each connection costs more than serving it).
"""
from __future__ import annotations

import collections
import threading


class FdQueue:
    """A queue of accepted connections plus the count of workers waiting on it."""

    def __init__(self) -> None:
        self._items: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._has_item = threading.Condition(self._lock)     # workers wait here
        self._has_idler = threading.Condition(self._lock)    # the listener waits here
        self._idlers = 0
        self._terminated = False

    def wait_for_idler(self, timeout: float, stop=lambda: False) -> bool:
        """Listener: block until a worker is idle and not already promised a queued connection.

        Returns False on timeout, when `stop()` becomes true (after a `wake()`), or once the queue is
        terminated; the listener then rechecks its flags."""
        with self._lock:
            ok = self._has_idler.wait_for(
                lambda: self._terminated or stop() or self._idlers > len(self._items), timeout)
            return bool(ok) and not self._terminated and not stop()

    def wake(self) -> None:
        """Make a waiting listener recheck its `stop` condition now."""
        with self._lock:
            self._has_idler.notify_all()

    def push(self, item) -> None:
        """Listener: hand an accepted connection to one idle worker."""
        with self._lock:
            self._items.append(item)
            self._has_item.notify()

    def pop(self):
        """Worker: become idle and wait for a connection; None once the queue is terminated and empty."""
        with self._lock:
            self._idlers += 1
            self._has_idler.notify()
            try:
                while not self._items and not self._terminated:
                    self._has_item.wait()
                return self._items.popleft() if self._items else None
            finally:
                self._idlers -= 1

    def terminate(self) -> None:
        """Graceful exit: queued connections are still served, then every waiting worker gets None."""
        with self._lock:
            self._terminated = True
            self._has_item.notify_all()
            self._has_idler.notify_all()

    @property
    def terminated(self) -> bool:
        return self._terminated

    @property
    def idlers(self) -> int:
        with self._lock:
            return self._idlers
