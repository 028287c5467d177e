"""Request parsing: httptools (llhttp, the parser of Node.js) behind a small sans-IO interface.

Bytes go in, a `Head` or a `ParseError` comes out; bodies are framed by the same llhttp parser.
Nothing here touches a socket, so every rule can be tested (and fuzzed) with bytes alone.

What this layer adds around llhttp, as Apache does it (server/protocol.c, HttpProtocolOptions Strict):
- the limits: LimitRequestLine (414), LimitRequestFieldSize and LimitRequestFields (400 with
  Apache's error notes), checked on the raw bytes *before* llhttp buffers a line;
- blank lines before the request line are skipped;
- the request line must be `METHOD SP target SP HTTP/x.y` (one space each);
- a method llhttp does not know (FOO, lower-case get) is not a syntax error: Apache answers 501,
  so the line is parsed with a stand-in method and the real one kept;
- framing conflicts (Transfer-Encoding with Content-Length, duplicate or invalid Content-Length,
  a Transfer-Encoding that does not end in chunked) are refused: 400 (request smuggling).
"""
from __future__ import annotations

import re

import httptools

from httpdw.http.errors import NOTE_FIELD_COUNT, NOTE_FIELD_SIZE

#: methods llhttp accepts in requests (anything else that is a valid token is parsed as GET and
#: reported with its own name, so the handler can answer 501 as Apache does)
LLHTTP_METHODS = frozenset(
    "DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH UNLOCK BIND "
    "REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE PATCH PURGE "
    "MKCALENDAR LINK UNLINK SOURCE QUERY".split())

_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^ \t]+) (HTTP/[0-9]\.[0-9])\Z")
#: the protocol versions served (llhttp validated the line; anything else is refused with 400)
_VERSIONS = {b"HTTP/1.1": "1.1", b"HTTP/1.0": "1.0"}

BODY_NONE, BODY_LENGTH, BODY_CHUNKED = 0, 1, 2


class ParseError(Exception):
    """A request that cannot be served: answer `status` (with Apache's `note`) and close."""

    def __init__(self, status: int, note: str = "", reason: str = ""):
        super().__init__(reason or note or str(status))
        self.status = status
        self.note = note
        self.reason = reason


class Head:
    """A parsed request head."""

    __slots__ = ("method", "target", "version", "raw_headers", "fields", "request_line", "body_kind",
                 "content_length", "head_bytes", "_parser", "_proto")

    def __init__(self, method: str = "", target: str = "", version: str = "1.1", request_line: str = "",
                 head_bytes: int = 0) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.raw_headers: list[tuple[bytes, bytes]] = []   #: as received (names as sent)
        self.fields: dict[str, str] = {}            #: lower-cased names; repeats joined with ", "
        self.request_line = request_line
        self.body_kind = BODY_NONE
        self.content_length = 0
        self.head_bytes = head_bytes

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The header lines as received (names as sent), latin-1 decoded (TRACE echoes them)."""
        return [(n.decode("latin-1"), v.decode("latin-1").strip(" \t")) for n, v in self.raw_headers]

    def get(self, name: str, default: str | None = None) -> str | None:
        """A request header by lower-case name."""
        return self.fields.get(name, default)


class _Proto:
    """httptools callbacks: collect the head, hand body pieces to the current sink.

    No on_url: the request-line check already has the target (llhttp still validates it), and each
    callback is a Python call on every request."""

    __slots__ = ("headers", "head_done", "complete", "body", "after_complete")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.body: list[bytes] = []
        self.after_complete = False

    def on_message_begin(self) -> None:
        if self.complete:
            self.after_complete = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if not self.complete:
            self.head_done = True

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


def skip_blank_lines(buf: bytearray) -> None:
    """Apache ignores empty lines before a request line (old clients send a CRLF after a POST body)."""
    i = 0
    n = len(buf)
    while i < n and buf[i] in (13, 10):
        i += 1
    if i:
        del buf[:i]


def find_head_end(buf: bytes | bytearray) -> int:
    """Index just past the blank line ending the head, or -1 while it is incomplete.

    A bare-LF blank line ends the head too; llhttp then refuses the bare LF (Apache: 400)."""
    end = buf.find(b"\r\n\r\n")
    # a bare-LF blank line only matters before the first CRLF one (pipelined heads may follow it)
    lf = buf.find(b"\n\n", 0, end + 2 if end != -1 else len(buf))
    if lf != -1 and (end == -1 or lf < end):
        return lf + 2
    return end + 4 if end != -1 else -1


def check_limits(buf: bytes | bytearray, end: int, line_limit: int, field_limit: int, fields_limit: int) -> None:
    """Apply LimitRequestLine/FieldSize/Fields to the head in buf[:end] (end=-1: an incomplete head).

    Apache reads each line with the limit as the buffer size, so a line longer than the limit fails
    even before its end arrives: the same is checked here on partial data."""
    head = buf if end < 0 else buf[:end]
    first_nl = head.find(b"\n")
    first_len = (first_nl if first_nl != -1 else len(head))
    if first_nl > 0 and head[first_nl - 1] == 13:
        first_len -= 1
    # Apache's line buffer holds limit+2 bytes with the line end: a line of limit+1 still fits
    if line_limit and first_len > line_limit + 1:
        raise ParseError(414, "", "request line too long")
    if first_nl == -1:
        return
    start = first_nl + 1
    count = 0
    n = len(head)
    while start < n:
        nl = head.find(b"\n", start)
        stop = nl if nl != -1 else n
        length = stop - start
        if length and head[stop - 1] == 13 and nl != -1:
            length -= 1
        if length == 0 and nl != -1:
            break                       # the blank line: end of the head
        if field_limit and length > field_limit + 1:
            raise ParseError(400, NOTE_FIELD_SIZE, "request header field too long")
        if nl == -1:
            break
        count += 1
        if fields_limit and count > fields_limit:
            raise ParseError(400, NOTE_FIELD_COUNT, "too many request header fields")
        start = nl + 1


class RequestParser:
    """One llhttp parser per connection: heads are fed exactly, bodies exactly (Content-Length) or
    to their end (chunked), so consecutive requests of a keep-alive connection reuse it."""

    __slots__ = ("proto", "parser", "line_limit", "field_limit", "fields_limit", "short_head")

    def __init__(self, line_limit: int = 8190, field_limit: int = 8190, fields_limit: int = 100):
        self.line_limit = line_limit
        self.field_limit = field_limit
        self.fields_limit = fields_limit
        #: a head no longer than this cannot break a length limit (0 = unlimited: never short)
        self.short_head = min(line_limit, field_limit) if line_limit and field_limit else \
            (line_limit or field_limit or 1 << 62)
        self.proto = _Proto()
        self.parser = httptools.HttpRequestParser(self.proto)

    def _fresh(self) -> None:
        """The previous message was not fed to its end (or more was fed): start over."""
        self.proto = proto = _Proto()
        self.parser = httptools.HttpRequestParser(proto)

    def parse(self, data: bytes) -> Head:
        """Parse one complete head (data ends with the blank line). Raises ParseError."""
        # a short head cannot break a length limit: only the field count needs checking then
        if len(data) > self.short_head or (self.fields_limit and data.count(b"\n") > self.fields_limit):
            check_limits(data, len(data), self.line_limit, self.field_limit, self.fields_limit)
        nl = data.find(b"\n")
        if nl < 0:
            nl = len(data)
        m = _REQUEST_LINE.match(data, 0, nl - 1 if nl > 0 and data[nl - 1] == 13 else nl)
        if m is None:
            raise ParseError(400, "", "malformed request line")
        method_b, target_b, version_b = m.groups()
        method = method_b.decode("ascii")
        feed = data
        if method not in LLHTTP_METHODS:
            feed = b"GET" + data[len(method_b):]
        proto = self.proto
        if proto.after_complete or (proto.head_done and not proto.complete):
            self._fresh()
            proto = self.proto
        else:   # (inline: this runs for every request)
            proto.headers = []
            proto.head_done = proto.complete = False
            proto.body = []
        parser = self.parser
        try:
            parser.feed_data(feed)
        except httptools.HttpParserUpgrade:
            proto.after_complete = True     # Upgrade/CONNECT pauses llhttp: use a new parser next time
            proto.complete = True
        except httptools.HttpParserError as e:
            raise ParseError(400, "", f"llhttp: {e}") from None
        if not proto.head_done:
            raise ParseError(400, "", "incomplete head")
        version = _VERSIONS.get(version_b)
        if version is None:
            raise ParseError(400, "", f"unsupported protocol version {version_b.decode('ascii')}")
        head = Head(method, target_b.decode("latin-1"), version, m.group(0).decode("latin-1"), len(data))
        fields: dict[str, str] = {}
        for name_b, value_b in proto.headers:
            key = name_b.lower().decode("latin-1")
            value = value_b.decode("latin-1").strip(" \t")
            old = fields.get(key)
            if old is None:
                fields[key] = value
            elif key == "host":
                raise ParseError(400, "", "more than one Host header")
            else:
                fields[key] = old + ", " + value
        head.raw_headers = proto.headers
        head.fields = fields
        if "transfer-encoding" in fields:
            head.body_kind = BODY_CHUNKED
        elif "content-length" in fields:
            head.body_kind = BODY_LENGTH
            head.content_length = int(fields["content-length"])
        head._parser = parser
        head._proto = proto
        return head


def parse_head(data: bytes, line_limit: int = 8190, field_limit: int = 8190, fields_limit: int = 100) -> Head:
    """Parse one complete head with a fresh parser (see RequestParser.parse)."""
    return RequestParser(line_limit, field_limit, fields_limit).parse(data)


class BodyReader:
    """Frames a request body with the head's llhttp parser: feed bytes, get body pieces.

    Content-Length bodies are fed exactly (so pipelined requests after them stay in the caller's
    buffer). A chunked body's end is known only to llhttp: what follows it in the same read is
    consumed, and `overran` says so (the connection is then closed after the response)."""

    def __init__(self, head: Head):
        self.head = head
        self.remaining = head.content_length if head.body_kind == BODY_LENGTH else -1
        self.done = head.body_kind == BODY_NONE or head._proto.complete
        self.overran = False
        self.received = 0

    def feed(self, data: bytes | bytearray | memoryview) -> tuple[list[bytes], int]:
        """Feed data; returns (body pieces, bytes of `data` used). Raises ParseError on bad chunking."""
        if self.done:
            return [], 0
        proto = self.head._proto
        used = len(data)
        if self.remaining >= 0:
            used = min(used, self.remaining)
            data = bytes(data[:used])
            self.remaining -= used
        try:
            self.head._parser.feed_data(bytes(data))
        except httptools.HttpParserUpgrade:
            proto.complete = True
        except httptools.HttpParserError as e:
            if not proto.complete:
                # http_filter's get_chunk_size: a chunk size that overflows is 413, other errors 400
                status = 413 if "overflow" in str(e).lower() else 400
                raise ParseError(status, "", f"llhttp body: {e}") from None
            proto.after_complete = True     # what followed the chunked body was not a valid request
        pieces, proto.body = proto.body, []
        self.received += sum(len(p) for p in pieces)
        if proto.complete or self.remaining == 0:
            self.done = True
            self.overran = proto.after_complete
        return pieces, used
