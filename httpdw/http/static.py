"""Static files: metadata cache, ETag and Last-Modified as Apache makes them, conditional requests
(ap_meets_conditions) and byte ranges (byterange_filter.c).

A file's entry is rebuilt only when its (inode, size, mtime) changes; the check is one stat() per
request. Small files keep their bytes in the entry, so a hit costs no open()/read()."""
from __future__ import annotations

import os
import stat as stat_mod
import threading

from httpdw.config.site import ETAG_INODE, ETAG_MTIME, ETAG_SIZE
from httpdw.http.filesystems import sendfile_safe
from httpdw.http.mime import file_meta, with_default_charset
from httpdw.http.response import http_date, parse_http_date

#: files up to this size are kept in memory (a keep-alive benchmark of 1 KiB files costs one stat)
SMALL_FILE = 64 * 1024
MAX_ENTRIES = 8192


class FileEntry:
    """What a static response needs about one version of one file under one directory config."""

    __slots__ = ("key", "size", "mtime", "etag_core", "last_modified", "ctype", "encoding", "language",
                 "handler", "body", "lm_epoch", "block", "sendfile")

    def __init__(self, st: os.stat_result, name: str, conf, types: dict[str, str]):
        self.key = (st.st_ino, st.st_size, st.st_mtime_ns)
        self.size = st.st_size
        self.mtime = st.st_mtime_ns / 1e9
        self.etag_core = make_etag_core(st, conf.etag_bits)
        ctype, self.encoding, self.language, self.handler = file_meta(name, conf, types)
        self.ctype = with_default_charset(ctype, conf.default_charset)
        self.lm_epoch = int(self.mtime)
        self.last_modified = http_date(self.lm_epoch)
        self.body: bytes | None = None
        #: the encoded entity header lines of a plain 200, once the file is old enough for a strong ETag
        self.block: bytes | None = None
        #: send the file with sendfile(2): EnableSendfile's choice, or (unset) whether it is local
        self.sendfile = False

    def etag(self, now: float) -> str | None:
        """ap_make_etag: weak (W/) when the file changed less than a second before the request."""
        if self.etag_core is None:
            return None
        return ("W/" if now - self.mtime <= 1.0 else "") + self.etag_core


def make_etag_core(st: os.stat_result, bits: int) -> str | None:
    """'"inode-size-mtime"' in lower-case hex, only the parts FileETag asks for; None for FileETag None."""
    parts = []
    if bits & ETAG_INODE:
        parts.append(f"{st.st_ino:x}")
    if bits & ETAG_SIZE:
        parts.append(f"{st.st_size:x}")
    if bits & ETAG_MTIME:
        parts.append(f"{st.st_mtime_ns // 1000:x}")
    return '"' + "-".join(parts) + '"' if parts else None


class FileCache:
    """path+config -> FileEntry, validated by stat() on each use."""

    def __init__(self, types: dict[str, str]):
        self.types = types
        self.entries: dict[tuple[str, int], FileEntry] = {}
        self.lock = threading.Lock()

    def lookup(self, path: str, conf, key: tuple[int, int, int]) -> FileEntry | None:
        """The entry of `path` under `conf` if the file is still the one it describes:
        key = (st_ino, st_size, st_mtime_ns) of a fresh stat."""
        entry = self.entries.get((path, id(conf)))
        return entry if entry is not None and entry.key == key else None

    def get(self, path: str, st: os.stat_result, conf) -> FileEntry:
        """The entry of `path` under `conf` for the file `st` describes (made, and cached, when new)."""
        entry = self.lookup(path, conf, (st.st_ino, st.st_size, st.st_mtime_ns))
        if entry is not None:
            return entry
        entry = FileEntry(st, os.path.basename(path), conf, self.types)
        entry.sendfile = conf.sendfile if conf.sendfile is not None else sendfile_safe(path, st.st_dev)
        if entry.size <= SMALL_FILE:
            try:
                with open(path, "rb") as f:
                    data = f.read(SMALL_FILE + 1)
                if len(data) == entry.size:
                    entry.body = data
            except OSError:
                pass
        if len(self.entries) >= MAX_ENTRIES:
            with self.lock:
                self.entries.clear()
        self.entries[(path, id(conf))] = entry
        return entry


def _etag_list(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def strong_match(etag: str | None, header: str) -> bool:
    if etag is None or etag.startswith("W/"):
        return False
    return any(t == etag for t in _etag_list(header))


def weak_match(etag: str | None, header: str) -> bool:
    if etag is None:
        return False
    core = etag[2:] if etag.startswith("W/") else etag
    return any((t[2:] if t.startswith("W/") else t) == core for t in _etag_list(header))


def meets_conditions(method: str, fields: dict[str, str], etag: str | None, mtime: int, now: float) -> int:
    """ap_meets_conditions -> 0 (go on), 304 or 412."""
    im = fields.get("if-match")
    if im is not None:
        if im.strip() != "*" and not strong_match(etag, im):
            return 412
    else:
        ius = fields.get("if-unmodified-since")
        if ius is not None:
            t = parse_http_date(ius)
            if t is not None and mtime > t:
                return 412
    inm = fields.get("if-none-match")
    if inm is not None:
        if inm.strip() == "*" or weak_match(etag, inm):
            return 304 if method in ("GET", "HEAD") else 412
        return 0
    ims = fields.get("if-modified-since")
    if ims is not None and method in ("GET", "HEAD"):
        t = parse_http_date(ims)
        if t is not None and mtime <= t <= now:
            return 304
    return 0


def if_range_ok(fields: dict[str, str], etag: str | None, last_modified: str) -> bool:
    """If-Range: an entity tag must match strongly; a date must equal Last-Modified exactly."""
    ir = fields.get("if-range")
    if ir is None:
        return True
    ir = ir.strip()
    if ir.startswith('"') or ir.startswith("W/"):
        return etag is not None and not etag.startswith("W/") and ir == etag
    return ir == last_modified


def parse_ranges(header: str, size: int, max_ranges: int) -> list[tuple[int, int]] | None | int:
    """byterange_filter's ap_set_byterange: the ranges to send, merged as Apache merges them.

    Returns None to ignore the header (send 200), 416 when nothing is satisfiable, or the list."""
    if max_ranges == 0:
        return None
    h = header.strip()
    if not h[:6].lower() == "bytes=":
        return None
    specs = [s.strip() for s in h[6:].split(",")]
    ranges: list[tuple[int, int]] = []
    unsatisfiable = 0
    for spec in specs:
        if not spec:
            continue
        dash = spec.find("-")
        if dash == -1:
            return None
        a, b = spec[:dash].strip(), spec[dash + 1:].strip()
        if a == "":
            if not b.isdigit():
                return None
            n = int(b)
            if n == 0:
                unsatisfiable += 1
                continue
            start, end = max(size - n, 0), size - 1
        else:
            if not a.isdigit() or (b and not b.isdigit()):
                return None
            start = int(a)
            if start >= size:
                unsatisfiable += 1
                continue
            end = int(b) if b else size - 1
            if end < start:
                return None
            if end >= size:
                end = size - 1
        if start >= size or size == 0:
            unsatisfiable += 1
            continue
        ranges.append((start, end))
    if not ranges:
        return 416 if unsatisfiable else None
    if max_ranges > 0 and len(ranges) > max_ranges:
        return None
    merged: list[tuple[int, int]] = []
    ostart, oend = ranges[0]
    for start, end in ranges[1:]:
        if start <= oend + 1 and end >= ostart - 1:
            ostart, oend = min(ostart, start), max(oend, end)
        else:
            merged.append((ostart, oend))
            ostart, oend = start, end
    merged.append((ostart, oend))
    return merged


def multipart_parts(ranges: list[tuple[int, int]], size: int, ctype: str | None,
                    boundary: str) -> tuple[list[tuple[bytes, int, int]], bytes, int]:
    """Bodies of multipart/byteranges: [(part head, start, end)], the closing line, total length."""
    parts = []
    total = 0
    for start, end in ranges:
        head = f"\r\n--{boundary}\r\n"
        if ctype:
            head += f"Content-type: {ctype}\r\n"
        head += f"Content-range: bytes {start}-{end}/{size}\r\n\r\n"
        hb = head.encode("latin-1", "replace")
        parts.append((hb, start, end))
        total += len(hb) + end - start + 1
    tail = f"\r\n--{boundary}--\r\n".encode()
    return parts, tail, total + len(tail)


def is_regular(st: os.stat_result) -> bool:
    return stat_mod.S_ISREG(st.st_mode)
