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


def is_server(pid: int) -> bool:
    """kill(pid, 0) and, where /proc tells, the process really is an httpdw parent.

    Apache trusts kill(pid, 0) alone, so after a reboot a stale pid file whose number now belongs to
    another process makes `-k stop` signal that process. httpdw also checks the process title the
    parent sets ("httpdw: parent ..."); without /proc it falls back to Apache's check."""
    if not is_running(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except FileNotFoundError:
        return os.path.isdir("/proc/self") is False   # no /proc at all: Apache's check only
    except OSError:
        return True
    return cmdline.startswith(b"httpdw: parent")


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
