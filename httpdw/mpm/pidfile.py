"""PidFile handling, shared by the parent (write/remove) and `-k` (read + kill(pid, 0))."""
from __future__ import annotations

import errno
import os


def read_pid(path: str) -> int | None:
    """The pid in `path`, or None when there is no file or it holds no number."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def is_running(pid: int) -> bool:
    """kill(pid, 0) as Apache's -k does: EPERM still means the process exists."""
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def write_pid(path: str, pid: int) -> bool:
    """Write the pid (atomically via rename). Returns True if a pid file was already there (AH00098)."""
    existed = os.path.exists(path)
    tmp = f"{path}.{pid}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{pid}\n")
    os.replace(tmp, path)
    return existed


def remove_pid(path: str, pid: int) -> bool:
    """Remove the pid file if it still names `pid` (a new server may own it already)."""
    if read_pid(path) != pid:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
