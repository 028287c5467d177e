"""httpdw.http.quickcalls: the GIL-keeping system calls give what the ordinary calls give, and None
whenever the ordinary (waiting) call must decide."""
from __future__ import annotations

import os
import socket

import pytest

from httpdw.http import quickcalls
from httpdw.http.wire import Wire

pytestmark = pytest.mark.skipif(not quickcalls.STATX_AVAILABLE, reason="ctypes/libc calls unavailable here (Linux only)")


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns


def test_file_key_is_what_os_stat_says_for_every_kind_of_path(tmp_path):
    regular = tmp_path / "f.txt"
    regular.write_bytes(b"x" * 1234)
    os.utime(regular, ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
    (tmp_path / "link").symlink_to(regular)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "é ü").write_text("non-ASCII name")
    for path in (regular, tmp_path / "link", tmp_path / "fifo", tmp_path / "dir", tmp_path / "é ü",
                 "/dev/null"):
        assert quickcalls.file_key(os.fsencode(path)) == _key(os.stat(path)), path


def test_file_key_sees_a_change_of_content_and_of_mtime(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"one")
    before = quickcalls.file_key(os.fsencode(path))
    path.write_bytes(b"two")                         # same size
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1))
    assert quickcalls.file_key(os.fsencode(path)) != before
    assert quickcalls.file_key(os.fsencode(path)) == _key(os.stat(path))


def test_file_key_of_a_missing_or_unreadable_path_is_left_to_os_stat(tmp_path):
    assert quickcalls.file_key(os.fsencode(tmp_path / "missing")) is None
    assert quickcalls.file_key(os.fsencode(tmp_path / "missing" / "deeper")) is None


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    b.settimeout(5.0)       # a broken call fails the test instead of hanging it
    yield a, b
    a.close()
    b.close()


def test_recv_returns_what_is_there_none_when_nothing_and_empty_at_the_end(pair):
    a, b = pair
    assert quickcalls.recv(a.fileno(), 100) is None
    b.sendall(b"hello")
    assert quickcalls.recv(a.fileno(), 3) == b"hel"
    assert quickcalls.recv(a.fileno(), 100) == b"lo"
    b.shutdown(socket.SHUT_WR)
    assert quickcalls.recv(a.fileno(), 100) == b""


def test_recv_larger_than_its_buffer_takes_what_fits(pair):
    a, b = pair
    b.setblocking(False)
    sent = 0
    try:
        while sent < 3 * quickcalls.RECV_BUFFER:
            sent += b.send(b"r" * 65536)
    except BlockingIOError:
        pass
    got = quickcalls.recv(a.fileno(), 4 * quickcalls.RECV_BUFFER)
    assert got and len(got) <= quickcalls.RECV_BUFFER and set(got) == {ord("r")}


def test_send_takes_what_fits_then_says_it_would_wait(pair):
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    total = 0
    while True:
        n = quickcalls.send(a.fileno(), b"s" * 65536)
        if n is None:
            break
        assert 0 < n <= 65536
        total += n
    assert total > 0
    received = bytearray()
    b.setblocking(False)
    try:
        while True:
            chunk = b.recv(1 << 20)
            if not chunk:
                break
            received += chunk
    except BlockingIOError:
        pass
    assert len(received) == total


def test_send_leaves_what_it_does_not_take_at_once_to_the_ordinary_call(pair):
    a, _ = pair
    assert quickcalls.send(a.fileno(), bytearray(b"x")) is None                     # not bytes
    assert quickcalls.send(a.fileno(), b"x" * (quickcalls.SEND_LIMIT + 1)) is None    # too much to copy


def test_send_to_a_closed_peer_raises_broken_pipe_without_a_signal(pair):
    a, b = pair
    b.close()
    with pytest.raises(BrokenPipeError):
        quickcalls.send(a.fileno(), b"x")


def test_close_releases_the_descriptor(pair):
    a, b = pair
    fd = a.detach()
    assert quickcalls.close(fd) is True
    assert b.recv(1) == b""         # the end reaches the peer: its only descriptor is closed


def test_wire_works_the_ordinary_way_without_quick_calls(pair, monkeypatch):
    monkeypatch.setattr(quickcalls, "AVAILABLE", False)
    a, b = pair
    wire = Wire(a, None)
    b.sendall(b"ping")
    assert wire.recv(100, 2.0) == b"ping"
    wire.sendall(b"pong", 2.0)
    assert b.recv(100) == b"pong"
    wire.close()
    assert a.fileno() == -1 and b.recv(1) == b""


def test_the_flags_of_every_send_and_recv_are_plain_ints():
    """socket.MsgFlag members are enums: `|` on one runs enum.py's Python code (Flag.__or__, a new
    member) on every send; the profile of a keep-alive run showed it as 3-4 % of the CPU."""
    from httpdw.http import wire

    for value in (quickcalls._SEND_FLAGS, quickcalls._RECV_FLAGS, wire.MSG_MORE):
        assert type(value) is int
    assert type(quickcalls._SEND_FLAGS | wire.MSG_MORE) is int
