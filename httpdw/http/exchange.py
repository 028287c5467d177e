"""What one request/response exchange carries between the connection loop and the handlers:
the request being served, the response to send, and a virtual server's per-child state."""
from __future__ import annotations

from httpdw.config.site import DirConf, Server
from httpdw.http.mapping import Walker
from httpdw.http.parser import BodyReader, Head


class Response:
    """What to send: status, header fields (before Content-Length), and a body source."""

    __slots__ = ("status", "fields", "ctype", "body", "file", "length", "parts", "tail", "chunked", "sendfile", "mmap",
                 "block")

    def __init__(self, status: int, ctype: str | None = None, body: bytes = b"", fields=None):
        self.status = status
        self.fields: list[tuple[str, str]] = fields if fields is not None else []
        self.ctype = ctype
        self.body = body
        self.file: tuple[str, int, int] | None = None     # (path, offset, count) sent after `body`
        self.length: int | None = len(body)
        self.parts = None                                  # multipart/byteranges pieces
        self.tail = b""
        self.chunked = False
        self.sendfile = False
        self.mmap = False
        self.block: bytes | None = None       # pre-encoded `fields` (static files)


class ServerRuntime:
    """Per-(virtual)server state of one child: the section walker and the open access logs."""

    def __init__(self, server: Server, logs: list):
        self.server = server
        self.walker = Walker(server)
        self.logs = logs
        self.htaccess_reported: set[str] = set()
        #: raw request path -> (uri, filename, conf) for paths that map to a plain readable file
        self.fast: dict[str, tuple] = {}


class Request:
    """One request being served (what handlers and the log see)."""

    __slots__ = ("head", "method", "server", "rt", "uri", "query", "conf", "filename", "host", "port",
                 "fast_key", "record", "body", "expect_continue", "connection", "continue_sent", "internal", "now",
                 "status_orig", "host_server")

    def __init__(self, head: Head):
        self.head = head
        self.method = head.method
        self.server: Server | None = None
        self.rt: ServerRuntime | None = None
        self.uri = ""
        self.query: str | None = None
        self.conf: DirConf | None = None
        self.filename = ""
        self.host: str | None = None
        self.port: int | None = None
        self.body: BodyReader | None = None
        self.expect_continue = False
        self.connection = ""                     #: the Connection header, lower-cased ("" without one)
        self.continue_sent = False
        self.internal = 0
        self.fast_key: str | None = None
        self.host_server: Server | None = None   #: the server the Host header picked
        self.now = 0.0
        self.status_orig = 0
