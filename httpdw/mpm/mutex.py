"""The accept mutex: serialises accept() across children when there are several listeners.

With one listener there is no mutex at all (Apache is built with SINGLE_LISTEN_UNSERIALIZED_ACCEPT):
every child's listener thread waits in poll() on the same socket and the kernel hands each connection
to one accept().

Python cannot create every mechanism Apache names, so each maps to the nearest real one (`-V` prints
this table):

    flock     flock(2) on a lock file                       (as Apache)
    fcntl     fcntl(F_SETLKW) on a lock file                (as Apache; httpdw's default)
    sysvsem   -> fcntl: like a SysV semaphore with SEM_UNDO, the lock is released if its holder dies
    pthread   -> flock: like a robust process-shared mutex, released if its holder dies
    posixsem  POSIX semaphore (sem_open through multiprocessing): NOT released if the holder is killed,
              exactly like Apache's posixsem
    default   -> fcntl

The lock file lives in the `Mutex` directory / `LockFile` path (default: the ServerRoot's logs/ directory),
is created by the parent and removed at shutdown. Each child opens it itself (flock locks belong to an open
file description, so an inherited descriptor would be shared).
"""
from __future__ import annotations

import fcntl
import os

MECHANISMS = {
    "flock": "flock", "fcntl": "fcntl", "sysvsem": "fcntl", "sem": "posixsem", "pthread": "flock",
    "posixsem": "posixsem", "default": "fcntl", "file": "fcntl",
}
DEFAULT = "fcntl"


def mechanism_for(name: str) -> str:
    """The real mechanism httpdw uses for an AcceptMutex/Mutex name ("fcntl:/dir" forms included)."""
    base = name.split(":", 1)[0].strip().lower() or "default"
    return MECHANISMS.get(base, DEFAULT)


def describe_mechanisms() -> list[str]:
    """Lines for -V: each Apache name and what httpdw really uses for it."""
    return [f"{name:9s} -> {real}" for name, real in MECHANISMS.items()]


class AcceptMutex:
    """One cross-process lock. Created in the parent; `child_init()` in each child after fork."""

    def __init__(self, mechanism: str, lock_path: str) -> None:
        self.mechanism = mechanism
        self.lock_path = lock_path
        self._fd = -1
        self._sem = None
        if mechanism == "posixsem":
            import multiprocessing  # here: only posixsem uses it, and every child would inherit it
            self._sem = multiprocessing.Lock()
        else:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)

    def child_init(self) -> None:
        """Open this child's own description of the lock file (before privileges are dropped)."""
        if self._sem is None:
            self._fd = os.open(self.lock_path, os.O_RDWR)

    def chown(self, uid: int | None, gid: int | None) -> None:
        """Let children that drop privileges open the file (Apache: AH00024 when this fails)."""
        if self._sem is None and os.geteuid() == 0:
            os.chown(self.lock_path, -1 if uid is None else uid, -1 if gid is None else gid)

    def acquire(self) -> None:
        if self._sem is not None:
            self._sem.acquire()
        elif self.mechanism == "flock":
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        else:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._sem is not None:
            self._sem.release()
        elif self.mechanism == "flock":
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        else:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def remove(self) -> None:
        """Parent, at shutdown."""
        if self._sem is None:
            try:
                os.unlink(self.lock_path)
            except FileNotFoundError:
                pass


def lock_file_path(lock_file: str | None, server_root: str, parent_pid: int) -> str:
    """Where the lock file goes: LockFile (a file path) or the Mutex directory, suffixed with the parent pid."""
    if lock_file and os.path.isdir(lock_file):
        return os.path.join(lock_file, f"httpdw.accept.{parent_pid}")
    if lock_file:
        return f"{lock_file}.{parent_pid}"
    logs = os.path.join(server_root, "logs")
    return os.path.join(logs if os.path.isdir(logs) else "/tmp", f"httpdw.accept.{parent_pid}")
