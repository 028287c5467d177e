"""Memory maps of large files kept between requests (EnableMMAP On).

Apache maps each file bucket (at most 4 MiB) for one request and unmaps it after. Measured under the
10 MiB workload (bench W3), mapping and unmapping are ~15 % of a child's CPU for both servers (the
kernel's fault-around and page-table teardown), the same on every request for the same file. Keeping
the maps of recently sent files skips that work: ~20 % less CPU per MiB.

What bounds the cache, and why:
* every map is keyed on the opened file's (device, inode, size, mtime) from its fstat, so a file that
  was replaced, resized or modified gets a new map at once; a truncation between that fstat and the send
  makes the send fail (EFAULT), exactly as with a per-request map;
* in Python 3.11 each mmap object keeps a duplicate of the file's descriptor: at most MAX_MAPS maps per
  child (and none when the descriptor limit is low), so the cache can never starve accept();
* a map keeps its file's inode alive, so a deleted file's disk space is held while it is mapped: maps
  unused for IDLE_SECONDS are dropped by `sweep()` (the child calls it about once a second);
* at most MAX_BYTES mapped per child.
A map being sent from while it is dropped stays valid: the sending thread holds its own reference,
and the map is unmapped when the last reference goes.
"""
from __future__ import annotations

import mmap
import os
import resource
import threading
import time

MAX_MAPS = 16
MAX_BYTES = 64 << 20
IDLE_SECONDS = 5.0
#: below this many descriptors (RLIMIT_NOFILE soft limit) the cache keeps nothing
MIN_DESCRIPTORS = 1024


def _descriptor_limit() -> int:
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 0
    return soft if soft != resource.RLIM_INFINITY else 1 << 30


class MapCache:
    """Read-only maps of file pieces, shared by a child's worker threads."""

    def __init__(self, max_maps: int | None = None, max_bytes: int = MAX_BYTES,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        if max_maps is None:
            max_maps = MAX_MAPS if _descriptor_limit() >= MIN_DESCRIPTORS else 0
        self.max_maps = max_maps
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds
        #: key -> [map, length, last use]; insertion order is the order of first use (evicted first)
        self._maps: dict[tuple, list] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._maps)

    def get(self, fd: int, st: os.stat_result, start: int, length: int) -> mmap.mmap:
        """A read-only map of `length` bytes of the open file `fd` from `start` (a page boundary);
        `st` is fstat(fd). The caller must not close it: a cached map is shared."""
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, start, length)
        entry = self._maps.get(key)
        if entry is not None:
            entry[2] = time.monotonic()
            return entry[0]
        mapped = mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=start)
        if self.max_maps and length <= self.max_bytes:
            with self._lock:
                if key not in self._maps:
                    self._maps[key] = [mapped, length, time.monotonic()]
                    self._bytes += length
                    self._evict_beyond_limits()
        return mapped

    def sweep(self, now: float | None = None) -> None:
        """Drop the maps unused for idle_seconds (their descriptors and inodes go with them)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in [k for k, e in self._maps.items() if now - e[2] > self.idle_seconds]:
                self._drop(key)

    def clear(self) -> None:
        with self._lock:
            for key in list(self._maps):
                self._drop(key)

    def _evict_beyond_limits(self) -> None:
        while self._maps and (len(self._maps) > self.max_maps or self._bytes > self.max_bytes):
            self._drop(next(iter(self._maps)))

    def _drop(self, key: tuple) -> None:
        # no close(): a thread may be about to send from it. Without the cache's reference the map
        # (and its descriptor) goes as soon as the last such sender lets go of it: at once when idle
        _, length, _ = self._maps.pop(key)
        self._bytes -= length
