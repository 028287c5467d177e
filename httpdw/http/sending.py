"""How a file's bytes reach the socket: sendfile(2), memory maps kept between requests, or reads;
and multipart/byteranges bodies.

A mixin of Connection (httpdw.http.connection)."""
from __future__ import annotations

import mmap
import os
from typing import TYPE_CHECKING

from httpdw.http.exchange import Request, Response
from httpdw.http.wire import Wire

if TYPE_CHECKING:
    from httpdw.http.connection import Handler

MMAP_LIMIT = 4 << 20          #: the largest memory map one send uses (APR_MMAP_LIMIT)


class FileSending:
    """The file-body senders of one connection (mixed into Connection)."""

    h: Handler
    wire: Wire

    def send_file(self, path: str, offset: int, count: int, timeout: float, use_sendfile: bool = False,
                  use_mmap: bool = False) -> int:
        """Send part of a file: sendfile(2) with EnableSendfile On (or unset, on a local filesystem:
        httpdw.http.filesystems), else from a memory map as Apache's default handler does (EnableMMAP
        On: one copy, page cache to socket), else by reading it. Returns the bytes sent (fewer when
        the file shrank meanwhile)."""
        with open(path, "rb") as f:
            if use_sendfile:
                return self.wire.sendfile(f.fileno(), offset, count, timeout)
            if use_mmap and count > 0:
                return self.send_mapped(f, offset, count, timeout)
            f.seek(offset)
            sent = 0
            while sent < count:
                chunk = f.read(min(count - sent, 256 * 1024))
                if not chunk:
                    break
                self.wire.sendall(chunk, timeout)
                sent += len(chunk)
            return sent

    def send_mapped(self, f, offset: int, count: int, timeout: float) -> int:
        """Send from memory maps of at most MMAP_LIMIT bytes each (APR's file bucket does the same),
        kept between requests by the handler's MapCache. A file that shrinks under the map makes the
        send fail (EFAULT), as it does Apache's."""
        st = os.fstat(f.fileno())
        end = min(offset + count, st.st_size)
        sent = 0
        pos = offset
        while pos < end:
            start = pos - pos % mmap.ALLOCATIONGRANULARITY     # a map starts on a page boundary
            length = min(end, start + MMAP_LIMIT) - start
            mapped = self.h.maps.get(f.fileno(), st, start, length)     # kept for the next request
            with memoryview(mapped) as view:
                self.wire.sendall(view[pos - start:length], timeout)
            sent += start + length - pos
            pos = start + length
        return sent

    def send_multipart(self, req: Request, resp: Response, header: bytes, timeout: float) -> int:
        path, parts, body = resp.parts
        out = [header]
        if body is not None:
            for ph, start, end in parts:
                out.append(ph)
                out.append(body[start:end + 1])
            out.append(resp.tail)
            data = b"".join(out)
            self.wire.sendall(data, timeout)
            req.record.body_bytes = len(data) - len(header)
            return len(data)
        self.wire.sendall(header, timeout)
        total = len(header)
        for ph, start, end in parts:
            self.wire.sendall(ph, timeout)
            total += len(ph) + self.send_file(path, start, end - start + 1, timeout)
        self.wire.sendall(resp.tail, timeout)
        total += len(resp.tail)
        req.record.body_bytes = total - len(header)
        return total
