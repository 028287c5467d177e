"""httpdw.http.wire: blocking sockets with kernel timeouts, options inherited from the listener, and the
lingering close the connection skips only when the client itself ended the connection."""
from __future__ import annotations

import os
import select
import socket
import struct
import sys
import threading
import time

import pytest

from http_helpers import FakeSlot, Site, read_to_eof
from httpdw.http.wire import Wire, configure_listener, inherited, timeval
from httpdw.mpm.api import ConnectionContext


def _rcvtimeo(sock: socket.socket) -> tuple[int, int]:
    return struct.unpack("@ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))


def _sndtimeo(sock: socket.socket) -> tuple[int, int]:
    return struct.unpack("@ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16))


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield s
    s.close()


def _pair(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(listener.getsockname(), timeout=5)
    server, _ = listener.accept()
    return client, server


def test_timeval_packs_seconds_and_microseconds_and_never_zero():
    assert struct.unpack("@ll", timeval(300)) == (300, 0)
    assert struct.unpack("@ll", timeval(2.25)) == (2, 250000)
    # 0 would mean "wait forever" to the kernel: the shortest wait stands in for it
    assert struct.unpack("@ll", timeval(0)) == (0, 1000)
    assert struct.unpack("@ll", timeval(-3)) == (0, 1000)
    # Apache accepts any Timeout; a huge one is "forever" to the kernel and must still pack
    assert struct.unpack("@ll", timeval(1e20)) == (2 ** 31 - 1, 0)
    # a negative Timeout is no limit at all (config: math.inf): the kernel's longest wait
    assert struct.unpack("@ll", timeval(float("inf"))) == (2 ** 31 - 1, 0)


def test_a_huge_timeout_still_serves(site):
    from http_helpers import raw
    site.write("a.txt", "hello\n")
    site.start("DocumentRoot {docroot}\nTimeout 99999999999999999999\nKeepAliveTimeout 9223372036854\n")
    handler = site.factory(None)
    with socket.socket() as lst:
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        handler.configure_listener(lst)                     # (what each child does)
        assert handler.listener_timeouts is not None
    answer = raw(site.port, b"GET /a.txt HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"hello\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux copies these options to accepted sockets")
def test_accepted_sockets_inherit_nodelay_and_timeouts_from_the_listener(listener):
    assert configure_listener(listener, 7.5) == (7.5, 7.5)
    client, server = _pair(listener)
    with client, server:
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert _rcvtimeo(server) == (7, 500000) and _sndtimeo(server) == (7, 500000)
        assert inherited(server, (7.5, 7.5))
        assert not inherited(server, (5, 5))
        assert server.gettimeout() is None          # blocking: no poll() before each call


def test_a_socket_without_inherited_options_gets_them_before_its_first_wait(listener):
    client, server = _pair(listener)
    with client, server:
        wire = Wire(server, None)
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        client.sendall(b"x")
        _wait_readable(server)
        assert wire.recv(10, 3.0) == b"x"           # already there: no wait, so no timeout needed
        later = threading.Timer(0.2, client.sendall, (b"z",))
        later.start()
        assert wire.recv(10, 3.0) == b"z"           # had to wait: with the timeout set first
        later.join()
        assert _rcvtimeo(server) == (3, 0)
        wire.sendall(b"y", 4.0)
        assert client.recv(1) == b"y"


def test_a_write_the_buffer_cannot_take_at_once_waits_with_the_timeout_and_times_out(listener):
    client, server = _stalled_pair(listener)
    with client, server:
        wire = Wire(server, None)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.sendall(b"w" * 200_000, 0.3)       # partly taken at once, the rest must wait
        assert _sndtimeo(server) == (0, 300000)
        assert time.monotonic() - started < 5.0


def test_a_partly_taken_write_is_finished_by_the_waiting_path(listener):
    client, server = _stalled_pair(listener)
    data = os.urandom(200_000)
    with client, server:
        wire = Wire(server, None)
        got = bytearray()
        reader = threading.Thread(target=lambda: (time.sleep(0.2), _read_n(client, got, len(data))))
        reader.start()
        wire.sendall(data, 5.0)
        reader.join(10)
        assert bytes(got) == data


def test_close_releases_the_descriptor_and_the_socket_object_forgets_it(listener):
    client, server = _pair(listener)
    with client:
        Wire(server, None).close()
        assert server.fileno() == -1
        server.close()                              # nothing left to close: no error, no stray close
        # the end reaches the peer: the descriptor (the socket's only one) was really closed (os.fstat on
        # its number could see another thread's new file)
        assert client.recv(1) == b""


def test_a_python_level_timeout_is_removed(listener):
    client, server = _pair(listener)
    with client, server:
        server.settimeout(9)
        Wire(server, (1.0, 1.0))
        assert server.gettimeout() is None


def test_recv_times_out_with_timeout_error_and_reports_eof(listener):
    client, server = _pair(listener)
    with client, server:
        wire = Wire(server, None)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.recv(100, 0.2)
        assert 0.15 < time.monotonic() - started < 2.0
        client.close()
        assert wire.recv(100, 1.0) == b""


def _stalled_pair(listener):
    """A connection whose client never reads, with small buffers so writes stall quickly."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(listener.getsockname())
    server, _ = listener.accept()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return client, server


def test_sendall_to_a_client_that_does_not_read_times_out(listener):
    client, server = _stalled_pair(listener)
    with client, server:
        wire = Wire(server, None)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.sendall(b"z" * (8 << 20), 0.3)
        assert time.monotonic() - started < 5.0


def test_sendfile_sends_the_range_and_times_out_on_a_stalled_client(listener, tmp_path):
    path = tmp_path / "f.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    client, server = _pair(listener)
    with client, server, open(path, "rb") as f:
        wire = Wire(server, None)
        got = bytearray()
        reader = threading.Thread(target=lambda: _read_n(client, got, 200_000))
        reader.start()
        assert wire.sendfile(f.fileno(), 50_000, 200_000, 5.0) == 200_000
        reader.join(5)
        assert bytes(got) == data[50_000:250_000]
        # past the end of the file: what there is, no error
        rest = bytearray()
        reader = threading.Thread(target=lambda: _read_n(client, rest, 50_000))
        reader.start()
        assert wire.sendfile(f.fileno(), 250_000, 100_000, 5.0) == 50_000
        reader.join(5)
        assert bytes(rest) == data[250_000:]
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (16 << 20))
    client, server = _stalled_pair(listener)
    with client, server, open(big, "rb") as f:
        wire = Wire(server, None)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.sendfile(f.fileno(), 0, 16 << 20, 0.3)
        assert time.monotonic() - started < 5.0


def _wait_readable(sock: socket.socket) -> None:
    """Until what the peer sent has arrived (loopback delivers at once, but do not rely on it)."""
    assert select.select([sock], [], [], 5.0)[0], "nothing arrived"


def _read_n(sock: socket.socket, into: bytearray, n: int) -> None:
    while len(into) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return
        into += chunk


# -- the connection's close: lingering only when the server chose to close ------------------------------

@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.close()


def _serve_one(handler, request: bytes) -> tuple[float, bytes, socket.socket]:
    """Run the handler on a socketpair whose client sends `request` and then neither sends nor
    closes: returns how long the handler took, the response and the still-open client end."""
    server, client = socket.socketpair()
    client.sendall(request)
    ctx = ConnectionContext(sock=server, client_addr=("127.0.0.1", 40000), local_addr=("127.0.0.1", 80),
                            listener_port=80, slot=FakeSlot(), stopping=lambda: False)
    started = time.monotonic()
    handler(ctx)
    took = time.monotonic() - started
    client.settimeout(2)
    return took, read_to_eof(client), client


def _handler(site, extra: str = ""):
    site.write("a.txt", "hello\n")
    site.start("DocumentRoot {docroot}\n" + extra)
    return site.factory(None)


def test_a_client_that_asked_to_close_is_not_lingered_on(site):
    handler = _handler(site)
    for request in (b"GET /a.txt HTTP/1.0\r\n\r\n",
                    b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"):
        took, data, client = _serve_one(handler, request)
        with client:
            assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"hello\n")
            # the client still holds its end open: a lingering close would wait for it (0.5 s a read)
            assert took < 0.4, took


def test_the_server_lingers_when_it_chose_to_close(site):
    handler = _handler(site, "KeepAlive Off\n")
    took, data, client = _serve_one(handler, b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    with client:
        assert b"Connection: close" in data and data.endswith(b"hello\n")
        assert took >= 0.45, took           # waited for the client's end (Apache's lingering close)


def test_pipelined_bytes_behind_a_closing_request_are_lingered_on(site):
    handler = _handler(site)
    took, data, client = _serve_one(handler, b"GET /a.txt HTTP/1.0\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n")
    with client:
        assert data.count(b"HTTP/1.1 200 OK") == 1
        assert took >= 0.45, took


# -- how a large file is sent: sendfile, memory maps (Apache's default), or reads -------------------------

@pytest.mark.parametrize("switches, path", [("", "local? sendfile: mmap"), ("EnableMMAP Off\n", "local? sendfile: read"),
                                            ("EnableSendfile Off\n", "mmap"),
                                            ("EnableSendfile Off\nEnableMMAP Off\n", "read"),
                                            ("EnableSendfile On\n", "sendfile"),
                                            ("EnableSendfile On\nEnableMMAP Off\n", "sendfile")])
def test_large_files_and_ranges_are_sent_whole_by_every_path(site, switches, path, monkeypatch):
    import mmap as mmap_mod
    from http_helpers import raw
    from httpdw.http.filesystems import filesystem_type, LOCAL_FILESYSTEMS

    if path.startswith("local?"):      # EnableSendfile unset: sendfile where the file system is local
        local = filesystem_type(str(site.docroot)) in LOCAL_FILESYSTEMS
        path = "sendfile" if local else path.rpartition(" ")[2]

    used = {"mmap": 0, "sendfile": 0}
    real_mmap, real_sendfile = mmap_mod.mmap, os.sendfile

    def counting_mmap(*args, **kw):
        used["mmap"] += 1
        return real_mmap(*args, **kw)

    def counting_sendfile(*args):
        used["sendfile"] += 1
        return real_sendfile(*args)

    monkeypatch.setattr(mmap_mod, "mmap", counting_mmap)
    monkeypatch.setattr(os, "sendfile", counting_sendfile)
    # larger than one memory map (4 MiB) and not a multiple of the page size
    data = os.urandom((9 << 20) + 12345)
    site.write("big.bin", data)
    site.start("DocumentRoot {docroot}\n" + switches)
    answer = raw(site.port, b"GET /big.bin HTTP/1.0\r\n\r\n", timeout=20)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and body == data
    # a range starting inside a page, crossing the 4 MiB map boundary
    first, last = 4093, (4 << 20) + 5000
    answer = raw(site.port, b"GET /big.bin HTTP/1.0\r\nRange: bytes=%d-%d\r\n\r\n" % (first, last), timeout=20)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206 ") and body == data[first:last + 1]
    # the path the switches choose was really taken: 3 maps for the whole file; the range reuses the
    # first (kept by the handler's MapCache) and maps its own last piece
    assert used == {"mmap": 4 if path == "mmap" else 0, "sendfile": used["sendfile"] if path == "sendfile" else 0}
    assert path != "sendfile" or used["sendfile"] >= 2


def test_a_files_head_is_sent_with_msg_more_and_other_answers_without(site, monkeypatch):
    """The head of a file body goes with MSG_MORE (the kernel keeps its tail to share a segment with
    the body, as APR corks around sendfile); a head with nothing behind it must not be held back."""
    from http_helpers import raw
    from httpdw.http import quickcalls, wire

    if not wire.MSG_MORE:
        pytest.skip("no MSG_MORE on this platform")
    sends: list[tuple[bytes, int]] = []
    real_send = quickcalls.send

    def recording_send(fd, data, flags=0):
        sends.append((bytes(data[:16]), flags))
        return real_send(fd, data, flags)

    monkeypatch.setattr(quickcalls, "send", recording_send)
    site.write("file.bin", os.urandom(200_000))
    site.start("DocumentRoot {docroot}\nEnableSendfile On\n")

    def flags_of_answer(request: bytes) -> list[int]:
        del sends[:]
        answer = raw(site.port, request, timeout=10)
        assert answer.startswith(b"HTTP/1.1 ")
        return [flags for data, flags in sends if data.startswith(b"HTTP/1.1 ")]

    assert flags_of_answer(b"GET /file.bin HTTP/1.0\r\n\r\n") == [wire.MSG_MORE]
    assert flags_of_answer(b"HEAD /file.bin HTTP/1.0\r\n\r\n") == [0]
    assert flags_of_answer(b"GET /missing HTTP/1.0\r\n\r\n") == [0]
    etag = [line for line in raw(site.port, b"HEAD /file.bin HTTP/1.0\r\n\r\n").split(b"\r\n")
            if line.lower().startswith(b"etag:")][0].split(b":", 1)[1].strip()
    assert flags_of_answer(b"GET /file.bin HTTP/1.0\r\nIf-None-Match: " + etag + b"\r\n\r\n") == [0]
