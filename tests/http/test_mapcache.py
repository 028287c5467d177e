"""httpdw.http.mapcache: memory maps kept between requests, and everything that must end them."""
from __future__ import annotations

import os

import pytest

from http_helpers import raw
from httpdw.http.mapcache import MapCache

PAGE = 4096


def _open(path):
    f = open(path, "rb")
    return f, os.fstat(f.fileno())


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def big(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * PAGE * 16))
    return path


def test_the_same_piece_of_the_same_file_is_mapped_once(big):
    cache = MapCache(max_maps=4)
    f, st = _open(big)
    with f:
        first = cache.get(f.fileno(), st, 0, PAGE * 16)
        assert cache.get(f.fileno(), st, 0, PAGE * 16) is first
        assert cache.get(f.fileno(), st, PAGE * 16, PAGE * 16) is not first     # another piece
    f2, st2 = _open(big)        # another descriptor of the same file: the same map
    with f2:
        assert cache.get(f2.fileno(), st2, 0, PAGE * 16) is first
        assert bytes(first[:PAGE]) == big.read_bytes()[:PAGE]


def test_a_modified_or_replaced_file_gets_a_new_map(big):
    cache = MapCache(max_maps=4)
    f, st = _open(big)
    with f:
        old = cache.get(f.fileno(), st, 0, PAGE)
    big.write_bytes(b"n" * len(big.read_bytes()))           # same size, same inode, new mtime
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    f, st = _open(big)
    with f:
        new = cache.get(f.fileno(), st, 0, PAGE)
    assert new is not old and bytes(new[:4]) == b"nnnn"
    replacement = big.with_name("other.bin")
    replacement.write_bytes(b"r" * PAGE)
    os.replace(replacement, big)                            # a new inode at the same path
    f, st = _open(big)
    with f:
        assert bytes(cache.get(f.fileno(), st, 0, PAGE)[:4]) == b"rrrr"


def test_the_cache_is_bounded_by_maps_and_bytes(big):
    cache = MapCache(max_maps=2, max_bytes=3 * PAGE)
    f, st = _open(big)
    with f:
        for i in range(4):
            cache.get(f.fileno(), st, i * PAGE, PAGE)
        assert len(cache) == 2                              # the oldest went first
        cache.get(f.fileno(), st, 0, 4 * PAGE)              # larger than max_bytes: served, not kept
        assert len(cache) == 2 and cache._bytes == 2 * PAGE


def test_unused_maps_are_dropped_with_their_descriptors(big):
    cache = MapCache(max_maps=4, idle_seconds=5.0)
    before = _fds()
    f, st = _open(big)
    with f:
        cache.get(f.fileno(), st, 0, PAGE)
        cache.get(f.fileno(), st, PAGE, PAGE)
    assert _fds() == before + 2                             # each map holds a duplicate descriptor
    cache.sweep()                                           # used just now: kept
    assert len(cache) == 2
    cache.sweep(now=10 ** 9)                                # long unused: dropped, descriptors closed
    assert len(cache) == 0 and _fds() == before


def test_a_map_being_sent_from_survives_being_dropped(big):
    cache = MapCache(max_maps=1)
    f, st = _open(big)
    with f:
        mapped = cache.get(f.fileno(), st, 0, PAGE)
        with memoryview(mapped) as view:
            cache.get(f.fileno(), st, PAGE, PAGE)           # evicts the first while it is in use
            assert bytes(view[:8]) == big.read_bytes()[:8]


def test_without_enough_descriptors_nothing_is_kept(big, monkeypatch):
    from httpdw.http import mapcache
    monkeypatch.setattr(mapcache, "_descriptor_limit", lambda: 256)
    cache = MapCache()
    f, st = _open(big)
    with f:
        assert cache.get(f.fileno(), st, 0, PAGE) is not None
    assert len(cache) == 0


def test_the_handler_keeps_maps_between_requests_and_housekeeping_ends_them(site):
    data = os.urandom((5 << 20) + 100)
    path = site.write("big.bin", data)
    site.start("DocumentRoot {docroot}\nEnableSendfile Off\n")     # unset, a local file goes by sendfile
    handler = site.server.handler
    for _ in range(2):
        answer = raw(site.port, b"GET /big.bin HTTP/1.0\r\n\r\n", timeout=20)
        assert answer.partition(b"\r\n\r\n")[2] == data
    assert len(handler.maps) == 2                           # 4 MiB + the rest, mapped once for both
    with open(path, "r+b") as f:                            # changed in place: served new at once
        f.write(b"CHANGED!")
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1000))
    assert raw(site.port, b"GET /big.bin HTTP/1.0\r\n\r\n", timeout=20).partition(b"\r\n\r\n")[2][:8] == b"CHANGED!"
    handler.maps.idle_seconds = 0.0
    handler.housekeeping()
    assert len(handler.maps) == 0
