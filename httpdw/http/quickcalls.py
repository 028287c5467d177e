"""System calls that cannot block, made *without* releasing the GIL.

Every system call Python makes (os.stat, socket.send, socket.recv, socket.close ...) releases the
GIL around it, because it might block. In a child whose worker threads all run Python, each release
is an invitation: a waiting thread takes the GIL, and the releasing thread, back from its 2-µs call,
has to wait for it - a futex wake-up, a context switch, and cold caches on both sides. Measured on the
1 KiB new-connection workload (bench W2), the send, recv, close and stat of one request cost ~45 µs
of CPU this way, about a fifth of what the whole request costs.

The calls here are the ones that cannot wait: send and recv with MSG_DONTWAIT (the kernel copies
what fits, or says EAGAIN at once), close of a socket without SO_LINGER, and statx of a path the
child has just served (its inode is in the kernel's cache). They are made through ctypes.PyDLL, which
keeps the GIL held during the call. Each returns None when it cannot answer without waiting (or is
unavailable on this platform); the caller then makes the ordinary, GIL-releasing call. The results
are what the ordinary calls give (the same bytes, the same stat fields, OSError with the same errno).
A ctypes call costs ~2 µs more than the C call behind os.stat: worth it only where, under load, the
GIL hand-over it avoids costs more (measured: it does, several times over).
"""
from __future__ import annotations

import errno
import os
import socket
import struct
import sys
import threading

# Linux only: the flags, AT_FDCWD and statx below are Linux's (elsewhere the ordinary calls serve)
try:
    if not sys.platform.startswith("linux"):
        raise ImportError("not Linux")
    import ctypes
    _libc = ctypes.PyDLL(None, use_errno=True)
    _send = _libc.send
    _recv = _libc.recv
    _close = _libc.close
except (ImportError, OSError, AttributeError):   # no ctypes, no libc symbols: the ordinary calls only
    ctypes = None
    AVAILABLE = False
    STATX_AVAILABLE = False
else:
    AVAILABLE = True
    # no argtypes: declaring them makes ctypes convert every argument through Python (~1.5 µs a
    # call); the arguments passed are Python ints (C int), bytes and ctypes buffers (pointers)
    _send.restype = _recv.restype = ctypes.c_ssize_t
    _statx = getattr(_libc, "statx", None)      # glibc >= 2.28
    STATX_AVAILABLE = _statx is not None

#: send never waits, and a peer that has gone gives EPIPE, not SIGPIPE
# plain ints: `|` on socket.MsgFlag members runs enum.py's Python code on every call (3-4 % of W1's CPU)
_SEND_FLAGS = int(socket.MSG_DONTWAIT | getattr(socket, "MSG_NOSIGNAL", 0))
_RECV_FLAGS = int(socket.MSG_DONTWAIT)
#: the most one send copies while holding the GIL (a socket buffer can take megabytes)
SEND_LIMIT = 256 * 1024
#: the most one recv takes (what the HTTP layer asks for)
RECV_BUFFER = 65536
#: the ordinary call decides (it waits with the connection's timeout, or retries)
_WOULD_BLOCK = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})
_AT_FDCWD = -100
_STATX_BASIC_STATS = 0x7FF
# struct statx (linux/stat.h; the same layout on every architecture, unlike struct stat): stx_mask
# at 0, stx_mode at 28, stx_ino and stx_size at 32 and 40, stx_mtime (tv_sec, tv_nsec) at 112
_STATX_KEY = struct.Struct("=I24xH2xQQ64xqI")


#: each thread's buffers (a shared one could be overwritten between the call and the copy)
_local = threading.local()


def send(fd: int, data: bytes, flags: int = 0) -> int | None:
    """Send what the socket buffer takes of `data` at once: the count sent (possibly less than all of
    it), or None when nothing could be sent without waiting. `flags` are added to send's (MSG_MORE).
    Raises OSError as socket.send would."""
    if not AVAILABLE or type(data) is not bytes or len(data) > SEND_LIMIT:
        return None
    n = _send(fd, data, len(data), _SEND_FLAGS | flags)
    if n >= 0:
        return n
    return _failed()


def recv(fd: int, size: int) -> bytes | None:
    """What is already received, up to `size` bytes (b"" when the peer closed), or None when nothing
    is there yet. Raises OSError as socket.recv would."""
    if not AVAILABLE:
        return None
    try:
        buf = _local.recv_buf
    except AttributeError:
        buf = _local.recv_buf = ctypes.create_string_buffer(RECV_BUFFER)
    n = _recv(fd, buf, min(size, RECV_BUFFER), _RECV_FLAGS)
    if n >= 0:
        return ctypes.string_at(buf, n)
    return _failed()


def close(fd: int) -> bool:
    """Close a socket descriptor (one without SO_LINGER: its close never waits). False when this
    module is unavailable and nothing was done."""
    if not AVAILABLE:
        return False
    if _close(fd) < 0:
        err = ctypes.get_errno()
        if err != errno.EINTR:    # Linux has released the descriptor anyway
            raise OSError(err, os.strerror(err))
    return True


def file_key(path: bytes) -> tuple[int, int, int, int] | None:
    """(st_mode, st_ino, st_size, st_mtime_ns) of `path` (followed like os.stat), for a path whose
    inode the kernel has cached (one just served): enough to tell a file unchanged. None when it must
    be asked the ordinary way (any error, or statx unavailable): the caller then calls os.stat, which
    also raises the right exception. `path` is the encoded name (os.fsencode), without NUL bytes."""
    if not STATX_AVAILABLE:
        return None
    try:
        buf = _local.statx_buf
    except AttributeError:
        buf = _local.statx_buf = ctypes.create_string_buffer(256)
    if _statx(_AT_FDCWD, path, 0, _STATX_BASIC_STATS, buf) != 0:
        return None
    mask, mode, ino, size, m_sec, m_nsec = _STATX_KEY.unpack_from(buf)
    if mask & _STATX_BASIC_STATS != _STATX_BASIC_STATS:
        return None
    return mode, ino, size, m_sec * 1_000_000_000 + m_nsec


def _failed() -> None:
    err = ctypes.get_errno()
    if err in _WOULD_BLOCK:
        return None
    raise OSError(err, os.strerror(err))
