"""A connection's socket with kernel-enforced timeouts: as few system calls per request as possible.

Python's own socket timeouts cost system calls on every operation: a socket with a timeout is
non-blocking, so each recv() and send() is preceded by a poll(), and each settimeout() is an
ioctl(FIONBIO). In a threaded server each system call also releases and retakes the GIL, which under
load means futex traffic and a context switch. So the socket here stays *blocking* and its timeouts
are SO_RCVTIMEO / SO_SNDTIMEO: one recv or send per operation, and a setsockopt() only when a timeout
really changes. On Linux an accepted socket inherits these options (and TCP_NODELAY) from its
listening socket, so `configure_listener` sets them once for every connection; `Wire` is told what
the socket already has and touches it only when a request needs something else.

The semantics are Apache's Timeout: the limit bounds each wait for the client (a read that gets
nothing, a write that makes no progress), not a whole transfer. A timed-out kernel wait surfaces as
EAGAIN on a blocking socket; `Wire` turns it into TimeoutError, as a Python socket timeout would be.

A read whose data is already there, a write the socket buffer takes at once and the close are made
first without releasing the GIL (httpdw.http.quickcalls); only a call that would wait goes through
the socket, releasing the GIL for the wait.
"""
from __future__ import annotations

import os
import socket
import struct

from httpdw.http import quickcalls

_TIMEVAL = struct.Struct("@ll")
#: send(2)'s "more data follows" (Linux; 0 where there is none: the head then goes out alone)
MSG_MORE = int(getattr(socket, "MSG_MORE", 0))    # an int: see quickcalls._SEND_FLAGS
#: SO_RCVTIMEO of 0 means "wait forever": the shortest wait the kernel can do stands in for zero
_SHORTEST = 0.001
#: Apache takes any Timeout (`Timeout 99999999999999999999` passes apache2 -t); beyond ~68 years the
#: kernel waits forever anyway, and a larger number would not fit the struct
_LONGEST = float(2 ** 31 - 1)


def timeval(seconds: float) -> bytes:
    """`seconds` as the struct timeval SO_RCVTIMEO/SO_SNDTIMEO take (at least 1 ms: 0 would mean never;
    at most ~68 years)."""
    packed = _timevals.get(seconds)
    if packed is None:
        clamped = min(max(float(seconds), _SHORTEST), _LONGEST)
        whole = int(clamped)
        packed = _TIMEVAL.pack(whole, int(round((clamped - whole) * 1_000_000)))
        if len(_timevals) < 64:     # the configured timeouts; a head's remaining time is not worth keeping
            _timevals[seconds] = packed
    return packed


_timevals: dict[float, bytes] = {}


def configure_listener(sock: socket.socket, timeout: float) -> tuple[float, float] | None:
    """Set on a listening socket what its accepted connections should start with: TCP_NODELAY (as
    Apache's ap_sock_disable_nagle, so a head and a file sent apart never wait for a delayed ACK) and
    `timeout` for receiving and sending. Returns the (receive, send) timeouts set, or None when the
    socket does not take them (then each connection sets its own)."""
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(timeout))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(timeout))
    except OSError:
        return None
    return timeout, timeout


def inherited(sock: socket.socket, expected: tuple[float, float]) -> bool:
    """Does an accepted socket really carry the options its listener was given? (Linux copies them;
    asked once per child so a platform that does not can never leave a socket without a timeout.)"""
    try:
        rcv = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL.size)
        snd = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _TIMEVAL.size)
    except OSError:
        return False
    return rcv == timeval(expected[0]) and snd == timeval(expected[1])


class Wire:
    """A blocking socket whose every wait is bounded by a timeout the kernel enforces."""

    __slots__ = ("sock", "recv_timeout", "send_timeout", "nodelay", "quick_recv")

    def __init__(self, sock: socket.socket, timeouts: tuple[float, float] | None = None) -> None:
        """`timeouts`: the (receive, send) timeouts the socket already has (inherited from its
        listener), or None when it has none yet: then it gets TCP_NODELAY here and its timeouts
        before its first read or write."""
        self.sock = sock
        # a new connection's request is usually there already (TCP_DEFER_ACCEPT); once a read finds
        # nothing (a keep-alive client waits for our answer first) the next ones would mostly miss too
        self.quick_recv = True
        if sock.gettimeout() is not None:   # a Python-level timeout would bring back poll() per call
            sock.settimeout(None)
        if timeouts is None:
            self.recv_timeout = self.send_timeout = None
            self.nodelay = _set_nodelay(sock)
        else:
            self.recv_timeout, self.send_timeout = timeouts
            self.nodelay = True

    def set_recv_timeout(self, seconds: float) -> None:
        if seconds != self.recv_timeout:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(seconds))
            self.recv_timeout = seconds

    def set_send_timeout(self, seconds: float) -> None:
        if seconds != self.send_timeout:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(seconds))
            self.send_timeout = seconds

    def recv(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes; b"" when the client closed; TimeoutError after `timeout` s of silence."""
        if self.quick_recv:
            data = quickcalls.recv(self.sock.fileno(), size)
            if data is not None:
                return data
            self.quick_recv = False
        if timeout != self.recv_timeout:
            self.set_recv_timeout(timeout)
        try:
            return self.sock.recv(size)
        except BlockingIOError:
            raise TimeoutError("timed out waiting for the client") from None

    def sendall(self, data: bytes, timeout: float, more: bool = False) -> None:
        """Send all of `data`; TimeoutError after `timeout` s without progress. `more`: a body follows
        at once (a file's head): the kernel holds the tail of `data` to fill a segment with what comes
        next, as APR corks a socket around its headers and sendfile."""
        flags = MSG_MORE if more else 0
        sent = quickcalls.send(self.sock.fileno(), data, flags)
        if sent is not None:
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        if timeout != self.send_timeout:
            self.set_send_timeout(timeout)
        try:
            self.sock.sendall(data, flags)
        except BlockingIOError:
            raise TimeoutError("timed out writing to the client") from None

    def sendfile(self, fd: int, offset: int, count: int, timeout: float) -> int:
        """Send `count` bytes of the file `fd` from `offset` with sendfile(2); returns the bytes sent
        (fewer when the file shrank). socket.sendfile() is not used: on a blocking socket whose send
        timed out it would wait in select() with no limit."""
        if timeout != self.send_timeout:
            self.set_send_timeout(timeout)
        out = self.sock.fileno()
        sent = 0
        while sent < count:
            try:
                n = os.sendfile(out, fd, offset + sent, count - sent)
            except BlockingIOError:
                raise TimeoutError("timed out writing to the client") from None
            except InterruptedError:
                continue
            if n == 0:      # end of file: it shrank since it was stat()ed
                break
            sent += n
        return sent

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        fd = self.sock.detach()     # the socket object forgets it: closing it later does nothing
        if fd >= 0 and not quickcalls.close(fd):
            os.close(fd)


def _set_nodelay(sock: socket.socket) -> bool:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:     # not TCP (a Unix socket in tests): nothing to disable
        return False
    return True
