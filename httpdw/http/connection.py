"""The connection handler a worker thread runs: HTTP/1.x keep-alive and pipelining over one socket.

One `Connection` per accepted socket. It reads heads with httpdw.http.parser (limits of the
address's default server), picks the virtual host, hands the request to the content handlers
(httpdw.http.content: mapping, access, static files, directories, server-status), writes the
response (file bodies: httpdw.http.sending), logs it, and loops while keep-alive allows. Every error
becomes an HTTP answer (httpdw.http.replies) or a close; nothing escapes the thread.

Scoreboard: R while reading a request, W from begin_request() to the end of the response,
K while waiting for the next request on a kept-alive connection.
"""
from __future__ import annotations

import errno
import logging
import re
import socket
import time
from typing import Any

from httpdw.config.site import Server, Site
from httpdw.http import access
from httpdw.http.accesslog import LogRecord
from httpdw.http.content import ContentHandlers
from httpdw.http.errors import DROPS_CONNECTION
from httpdw.http.exchange import Request, Response, ServerRuntime
from httpdw.http.mapcache import MapCache
from httpdw.http.mapping import MapError, request_path
from httpdw.http.parser import BODY_CHUNKED, BodyReader, Head, ParseError, check_limits, find_head_end, \
    RequestParser, skip_blank_lines
from httpdw.http.replies import ErrorReplies
from httpdw.http.response import DateCache, status_bytes
from httpdw.http.sending import FileSending
from httpdw.http.static import FileCache
from httpdw.http.wire import Wire, configure_listener, inherited

log = logging.getLogger("httpdw.http.connection")

_HOST_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:[0-9]*)?\Z")
RECV_SIZE = 65536
LINGER_SECONDS = 2.0          #: the longest a closing connection waits for the client's end
LINGER_READ_SECONDS = 0.5     #: the longest one read of a lingering close waits


_NO_HOST = object()


class Connection(ContentHandlers, ErrorReplies, FileSending):
    """Serves one client connection until it closes: the protocol loop. What a request gets (mapping,
    handlers), error answers and file bodies come from the mixins, each in its own module."""

    def __init__(self, handler: "Handler", ctx: Any):
        self.h = handler
        self.ctx = ctx
        self.sock: socket.socket = ctx.sock
        self.client_ip = str(ctx.client_addr[0]) if ctx.client_addr else ""
        self.client_port = int(ctx.client_addr[1]) if ctx.client_addr and len(ctx.client_addr) > 1 else 0
        self.local_ip = str(ctx.local_addr[0]) if ctx.local_addr else ""
        self.local_port = int(ctx.local_addr[1]) if ctx.local_addr and len(ctx.local_addr) > 1 else ctx.listener_port
        if self.client_ip.startswith("::ffff:"):
            self.client_ip = self.client_ip[7:]
        if self.local_ip.startswith("::ffff:"):
            self.local_ip = self.local_ip[7:]
        self.default = handler.site.select(self.local_ip, self.local_port, None)
        d = self.default
        self.parser = RequestParser(d.limit_line, d.limit_field_size, d.limit_fields)
        self.buf = bytearray()
        self.requests = 0
        self.bytes_in = 0
        self.linger = False
        self.last_host_header: object = _NO_HOST    #: the previous request's Host header ...
        self.last_host: tuple = (None, None)        #: ... and (host name, server) it gave
        # blocking socket, kernel timeouts; TCP_NODELAY and the timeouts usually come from the listener
        self.wire = Wire(self.sock, handler.inherited_timeouts(self.sock))

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        slot = self.ctx.slot
        timeout = self.default.timeout
        try:
            while True:
                slot.set_state("R" if self.requests == 0 else "K")
                try:
                    head = self.read_head(timeout if self.requests == 0 else self.keepalive_timeout)
                except ParseError as e:
                    self.answer_protocol_error(e)
                    break
                if head is None:
                    break
                keep = self.serve(head)
                self.requests += 1
                if not keep or self.ctx.stopping():
                    break
        except (ConnectionError, socket.timeout, TimeoutError, BrokenPipeError):
            pass
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EBADF, errno.ENOTCONN):
                log.warning("connection from %s: %s", self.client_ip, e)
        except Exception:   # a bug must cost one connection, never the worker thread
            log.exception("internal error serving %s", self.client_ip)
        finally:
            self.close()

    @property
    def keepalive_timeout(self) -> float:
        return self._ka_timeout if hasattr(self, "_ka_timeout") else self.default.keep_alive_timeout

    def read_head(self, idle_timeout: float) -> Head | None:
        """Read until a complete head is buffered; None when the client went away or idled out."""
        srv = self.default
        wire = self.wire
        buf = self.buf
        wait = idle_timeout
        deadline = 0.0
        while True:
            skip_blank_lines(buf)
            if buf:
                if not deadline:
                    if self.requests:
                        self.ctx.slot.set_state("R")
                    # the whole head must arrive within Timeout: a client trickling a byte at a
                    # time cannot hold a worker thread longer than that
                    deadline = time.monotonic() + srv.timeout
                end = find_head_end(buf)
                if end >= 0:
                    data = bytes(buf[:end])
                    del buf[:end]
                    self.bytes_in = len(data)
                    return self.parser.parse(data)
                check_limits(buf, -1, srv.limit_line, srv.limit_field_size, srv.limit_fields)
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise ParseError(408, "", "the request head did not arrive within Timeout")
            try:
                data = wire.recv(RECV_SIZE, wait)
            except TimeoutError:
                if buf:
                    raise ParseError(408, "", "timeout reading the request") from None
                return None
            if not data:
                return None
            buf += data

    # ------------------------------------------------------------------ one request
    def serve(self, head: Head) -> bool:
        """Answer one request; True to keep the connection alive."""
        req = Request(head)
        req.now = time.time()
        t0 = time.monotonic()
        req.record = rec = LogRecord()
        rec.start = req.now
        rec.request_line = head.request_line
        rec.method = head.method
        rec.protocol = "HTTP/" + head.version
        rec.headers_in = head.fields
        rec.bytes_in = self.bytes_in
        rec.client_ip, rec.client_port = self.client_ip, self.client_port
        rec.local_ip, rec.local_port = self.local_ip, self.local_port
        req.body = BodyReader(head)
        req.expect_continue = False
        req.connection = (head.fields.get("connection") or "").lower()
        host_hdr = head.fields.get("host")
        if host_hdr == self.last_host_header:
            # a keep-alive client names the same host every time: the same name, the same server
            req.host, vhost = self.last_host
        else:
            req.host = self.host_name(host_hdr)
            # the server the Host header picks (process() reuses it unless the target names another host)
            vhost = self.h.site.select(self.local_ip, self.local_port, req.host)
            self.last_host_header, self.last_host = host_hdr, (req.host, vhost)
        req.host_server = vhost
        self.ctx.slot.begin_request(head.request_line, self.client_ip, vhost.name)
        try:
            resp = self.process(req)
        except MapError as e:
            resp = self.error(req, e.status)
        except ParseError as e:
            # an error found while reading the body: Apache sends it close-delimited
            resp = self.error(req, e.status, notes=e.note)
            resp.length = None
            req.body.done = True
        server = req.server or self.default
        keep = self.decide_keepalive(req, resp)
        sent = self.send(req, resp, keep)
        if rec.final_sent_nothing:
            rec.body_bytes = 0
        if keep and not req.body.done:
            keep = self.finish_body(req)
        rec.status = resp.status
        rec.original_status = req.status_orig or resp.status
        rec.bytes_out = sent
        rec.duration = time.monotonic() - t0
        self.ctx.slot.end_request(sent)
        self.write_log(req, rec)
        if req.body.overran:
            keep = False
        self._ka_timeout = server.keep_alive_timeout
        if not keep:
            self.linger = not self.client_closes(req)
        return keep

    def process(self, req: Request) -> Response:
        head = req.head
        target = head.target
        version = head.version
        host_hdr = head.fields.get("host")
        if version == "1.1" and host_hdr is None:
            log.info("AH00569: client sent HTTP/1.1 request without hostname (see RFC2616 section 14.23): %s",
                     req.head.request_line)
            return self.error(req, 400)
        if host_hdr is not None and not _HOST_RE.match(host_hdr):
            return self.error(req, 400)
        if "#" in target:
            return self.error(req, 400)
        if req.method == "CONNECT":
            # no proxy module: the core refuses CONNECT (its authority-form target maps to nothing)
            req.server = self.h.site.select(self.local_ip, self.local_port, req.host)
            self.bind_server(req)
            return self.error(req, 405)
        if target == "*":
            req.server = self.h.site.select(self.local_ip, self.local_port, self.host_name(host_hdr))
            self.bind_server(req)
            if req.method != "OPTIONS":
                return self.error(req, 400)
            return Response(200, None, b"")
        if target.startswith("/"):
            path, _, query = target.partition("?")
            host = req.host
        elif "://" in target:
            scheme, _, rest = target.partition("://")
            authority, slash, tail = rest.partition("/")
            path, _, query = ("/" + tail).partition("?")
            host = self.host_name(authority.rpartition("@")[2])
            if not scheme.isalpha():
                return self.error(req, 400)
        else:
            return self.error(req, 400)
        req.query = query if "?" in target else None
        if host == req.host and req.host_server is not None:
            req.server = req.host_server
        else:
            req.server = self.h.site.select(self.local_ip, self.local_port, host)
        req.host = host
        self.bind_server(req)
        srv = req.server
        if req.body.done and req.method in ("GET", "HEAD") and "expect" not in head.fields:
            hit = req.rt.fast.get(path)
            if hit is not None:
                resp = self.fast_file(req, hit)
                if resp is not None:
                    return resp
            req.fast_key = path
        try:
            req.uri = request_path(path, srv)
        except MapError as e:
            if e.status == 400:
                log.info("AH10244: invalid URI path (%s)", target)
            return self.error(req, e.status)
        req.record.uri = req.uri
        req.record.query = req.query
        body = req.body
        if head.body_kind == BODY_CHUNKED or head.content_length:
            limit = self.limit_body(req)
            if limit and head.content_length > limit:
                log.error("AH01588: Requested content-length of %d is larger than the configured limit of %d",
                          head.content_length, limit)
                resp = self.error(req, 413)
                resp.length = None      # Apache finds this while reading the body: close-delimited
                return resp
        expect = head.fields.get("expect")
        if expect is not None:
            if expect.lower() != "100-continue":
                log.info("AH00570: client sent an unrecognized expectation value of Expect: %s", expect)
                return self.error(req, 417)
            req.expect_continue = version == "1.1" and not body.done
        if req.method == "TRACE":
            return self.trace(req)
        return self.route(req, req.uri)

    def client(self, req: Request) -> access.Client:
        """What access rules test (made only when a rule needs it)."""
        return access.Client(self.client_ip, self.local_ip, req.method)

    def host_name(self, host: str | None) -> str | None:
        if not host:
            return None
        if host.startswith("["):
            return host[: host.find("]") + 1].lower()
        return host.rsplit(":", 1)[0].lower().rstrip(".") if ":" in host else host.lower().rstrip(".")

    def bind_server(self, req: Request) -> None:
        req.rt = self.h.runtime(req.server)
        req.record.server_name = req.server.name

    def limit_body(self, req: Request) -> int:
        return (req.conf or req.server.base).limit_body

    # ------------------------------------------------------------------ a head that could not be read

    def answer_protocol_error(self, e: ParseError) -> None:
        """A head that could not be parsed: Apache's 400/408/414 page, then close."""
        if e.status == 408:
            log.info("AH00567: request failed: error reading the headers")
        else:
            log.info("request failed: %s (from %s)", e.reason or e.note, self.client_ip)
        head = Head()
        head.request_line = ""
        head.method = "GET"
        req = Request(head)
        req.now = time.time()
        req.body = BodyReader(head)
        req.record = rec = LogRecord()
        rec.start = req.now
        resp = self.error(req, e.status, notes=e.note)
        self.ctx.slot.begin_request("", self.client_ip, self.default.name)
        try:
            sent = self.send(req, resp, False)
        except OSError:
            sent = 0
        self.ctx.slot.end_request(sent)
        rec.status = rec.original_status = resp.status
        rec.bytes_out = sent
        rec.bytes_in = len(self.buf)
        rec.client_ip, rec.client_port = self.client_ip, self.client_port
        rec.local_ip, rec.local_port = self.local_ip, self.local_port
        rec.protocol = "HTTP/1.0"
        rec.server_name = self.default.name
        req.server = self.default
        if e.status != 408:
            self.write_log(req, rec)
        self.linger = True

    # ------------------------------------------------------------------ bodies
    def discard_body(self, req: Request) -> None:
        """Read and drop a request body the handler does not use (ap_discard_request_body), sending
        100 Continue first when the client waits for it."""
        body = req.body
        if body.done:
            return
        if req.expect_continue and not req.continue_sent:
            req.continue_sent = True
            self.wire.sendall(b"HTTP/1.1 100 Continue\r\n\r\n", (req.server or self.default).timeout)
        self.read_body(req)

    def read_body(self, req: Request) -> None:
        body = req.body
        limit = self.limit_body(req)
        timeout = (req.server or self.default).timeout
        while not body.done:
            if self.buf:
                pieces, used = body.feed(self.buf)
                del self.buf[:used]
                req.record.bytes_in += used     # %I counts the body as read, framing included (mod_logio)
                if limit and body.received > limit:
                    raise ParseError(413, "", "request body larger than LimitRequestBody")
                continue
            data = self.wire.recv(RECV_SIZE, timeout)
            if not data:
                raise ConnectionResetError("client closed while sending the body")
            self.buf += data

    def finish_body(self, req: Request) -> bool:
        """After an error answer: drop the unread body to keep the connection usable, unless the
        client is waiting for 100 Continue (then it never sends it: close)."""
        if req.expect_continue and not req.continue_sent:
            return False
        try:
            self.read_body(req)
        except (ParseError, OSError):
            return False
        return True

    # ------------------------------------------------------------------ writing
    def decide_keepalive(self, req: Request, resp: Response) -> bool:
        """ap_set_keepalive: may this connection serve another request after this response?"""
        srv = req.server or self.default
        head = req.head
        if not srv.keep_alive or resp.status in DROPS_CONNECTION or self.ctx.stopping():
            return False
        conn = req.connection
        if "close" in conn:
            return False
        if head.version == "1.0" and "keep-alive" not in conn:
            return False
        if resp.length is None and not resp.chunked and resp.status not in (304, 204) and req.method != "HEAD":
            return False
        if srv.keep_alive_max and self.requests >= srv.keep_alive_max:
            return False
        if req.body.overran:
            return False
        return True

    def client_closes(self, req: Request) -> bool:
        """Did the client itself end the connection with this request, with nothing of it left unread?

        Then it sends nothing more (it said so: HTTP/1.0 without keep-alive, or Connection: close), so
        no later input can turn our close into a reset and the lingering close is skipped - as nginx's
        lingering_close heuristic does. Whenever the server chose to close (errors, limits, a graceful
        stop, an unread body or pipelined bytes), Apache's lingering close still runs."""
        if self.buf or not req.body.done or req.body.overran:
            return False
        conn = req.connection     # ("" without the header)
        return "close" in conn or (req.head.version == "1.0" and "keep-alive" not in conn)

    def send(self, req: Request, resp: Response, keep: bool) -> int:
        """Write the response; returns the bytes sent (headers included, Apache's %O)."""
        srv = req.server or self.default
        h = self.h
        out = [status_bytes(resp.status), h.dates.header(req.now), h.server_line]
        if resp.block is not None:
            out.append(resp.block)
        else:
            for k, v in resp.fields:
                out.append(f"{k}: {v}\r\n".encode("latin-1", "replace"))
        status = resp.status
        head_only = req.method == "HEAD"
        chunked_body = resp.chunked and resp.file is None and resp.length is None
        if status in (304, 204):
            pass
        elif chunked_body:
            out.append(b"Transfer-Encoding: chunked\r\n")
        elif resp.length is not None:
            out.append(b"Content-Length: %d\r\n" % resp.length)
        if keep:
            if "keep-alive" in req.connection:
                left = srv.keep_alive_max - self.requests
                out.append(f"Keep-Alive: timeout={int(srv.keep_alive_timeout)}, max={left}\r\n".encode()
                           if srv.keep_alive_max else f"Keep-Alive: timeout={int(srv.keep_alive_timeout)}\r\n".encode())
                out.append(b"Connection: Keep-Alive\r\n")
        else:
            out.append(b"Connection: close\r\n")
        if resp.ctype and status not in (304, 204):
            out.append(b"Content-Type: " + resp.ctype.encode("latin-1", "replace") + b"\r\n")
        out.append(b"\r\n")
        header = b"".join(out)
        rec = req.record
        rec.fields_out, rec.content_type = resp.fields, resp.ctype
        wire = self.wire
        timeout = srv.timeout
        if head_only or status in (304, 204):
            wire.sendall(header, timeout)
            rec.body_bytes = 0
            return len(header)
        if chunked_body:
            body = resp.body
            data = header + (b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n")
            wire.sendall(data, timeout)
            rec.body_bytes = len(body)
            return len(data)
        if resp.parts is not None:
            return self.send_multipart(req, resp, header, timeout)
        if resp.file is None:
            wire.sendall(header + resp.body if resp.body else header, timeout)
            rec.body_bytes = len(resp.body)
            return len(header) + len(resp.body)
        path, offset, count = resp.file
        wire.sendall(header, timeout, more=count > 0)
        sent = self.send_file(path, offset, count, timeout, resp.sendfile, resp.mmap)
        rec.body_bytes = sent
        if sent != count:
            raise ConnectionResetError("file changed or client went away while sending")
        return len(header) + sent

    def write_log(self, req: Request, rec: LogRecord) -> None:
        srv = req.server or self.default
        rt = self.h.runtime(srv)
        if not rt.logs:
            return
        rec.server_name = srv.name
        rec.host_name = self.server_name_for_url(req) if req.server else srv.name
        rec.canonical_port = srv.port or 80     # %p: a ServerName without port is port 80 (ap_default_port)
        rec.filename = req.filename
        lookups = (req.conf.hostname_lookups if req.conf and req.conf.hostname_lookups else srv.hostname_lookups)
        if lookups != "off":
            rec.remote_host = access.remote_name(self.client_ip, double=lookups == "double")
        rec.keepalives = self.requests
        for alog in rt.logs:
            alog.write(rec)

    def close(self) -> None:
        """Close the connection; after we decided to close, linger briefly so the client reads the
        answer before any unread input turns into a reset (Apache's lingering close)."""
        wire = self.wire
        try:
            if self.linger:
                wire.shutdown_write()
                deadline = time.monotonic() + LINGER_SECONDS
                drained = 0
                while time.monotonic() < deadline and drained < 1 << 20:
                    data = wire.recv(RECV_SIZE, LINGER_READ_SECONDS)
                    if not data:
                        break
                    drained += len(data)
        except OSError:   # TimeoutError included: the client kept the connection open
            pass
        try:
            wire.close()
        except OSError:
            pass


class Handler:
    """The ConnectionHandler of one child: shared, read-mostly state for all its worker threads."""

    def __init__(self, site: Site, types: dict[str, str], logs_for: dict[int, list], status_source=None):
        from httpdw.http.response import server_banner
        self.site = site
        self.types = types
        self.banner = server_banner(site.server_tokens)
        self.server_line = b"Server: " + self.banner.encode() + b"\r\n"
        self.dates = DateCache()
        self.files = FileCache(types)
        self.maps = MapCache()
        self._runtimes: dict[int, ServerRuntime] = {}
        for server in (site.main, *site.vhosts):
            self._runtimes[id(server)] = ServerRuntime(server, logs_for.get(id(server), []))
        self.status_source = status_source
        #: (receive, send) timeouts set on every listening socket, None when not (all) set
        self.listener_timeouts: tuple[float, float] | None = None
        self._listener_failed = False
        self._inheritance_ok: bool | None = None

    def configure_listener(self, sock: socket.socket) -> None:
        """Give a listening socket what its connections should start with (TCP_NODELAY, the main
        server's Timeout), so no connection needs a system call for them (see httpdw.http.wire).

        The listening sockets are shared with the parent and the other children: after a graceful
        restart that changes Timeout, a connection the old generation still accepts may start with the
        new value until its first read or write with another timeout."""
        got = configure_listener(sock, self.site.main.timeout)
        self._listener_failed = self._listener_failed or got is None
        self.listener_timeouts = None if self._listener_failed else got

    def inherited_timeouts(self, sock: socket.socket) -> tuple[float, float] | None:
        """The timeouts an accepted socket got from its listener, or None when it has none of ours
        (no listener configured, or a platform that does not copy them: checked on the first connection)."""
        expected = self.listener_timeouts
        if expected is None:
            return None
        if self._inheritance_ok is None:
            self._inheritance_ok = inherited(sock, expected)
        return expected if self._inheritance_ok else None

    def housekeeping(self) -> None:
        """Called by the child about once a second: memory maps unused for a while are dropped (a
        deleted file's space is freed, its descriptor closed)."""
        self.maps.sweep()

    def runtime(self, server: Server) -> ServerRuntime:
        return self._runtimes[id(server)]

    def status_response(self, req: Request, conn: Connection) -> Response:
        from httpdw.http.status import status_response
        return status_response(self, req, conn)

    def __call__(self, ctx: Any) -> None:
        Connection(self, ctx).run()
