"""The connection handler a worker thread runs: HTTP/1.x keep-alive and pipelining over one socket.

One `Connection` per accepted socket. It reads heads with httpdw.http.parser (limits of the
address's default server), picks the virtual host, maps the URL, checks access and runs the handler
(static files, directory index/listing, server-status), writes the response, logs it, and loops
while keep-alive allows. Every error becomes an HTTP answer or a close; nothing escapes the thread.

Scoreboard: R while reading a request, W from begin_request() to the end of the response,
K while waiting for the next request on a kept-alive connection.
"""
from __future__ import annotations

import errno
import logging
import mmap
import os
import re
import socket
import stat as stat_mod
import time
from typing import Any

from httpdw.config.site import OPT_FOLLOW_SYMLINKS, OPT_INDEXES, OPT_SYMLINKS_IF_OWNER, DirConf, Server, Site
from httpdw.http import access, autoindex, quickcalls
from httpdw.http.accesslog import LogRecord
from httpdw.http.errors import DROPS_CONNECTION, error_page, signature
from httpdw.http.mapcache import MapCache
from httpdw.http.mapping import MapError, Walker, redirect_for, request_path, translate
from httpdw.http.mime import file_meta
from httpdw.http.parser import BODY_CHUNKED, BodyReader, Head, ParseError, check_limits, find_head_end, \
    RequestParser, skip_blank_lines
from httpdw.http.response import DateCache, status_bytes
from httpdw.http.static import FileCache, FileEntry, if_range_ok, meets_conditions, multipart_parts, parse_ranges
from httpdw.http.wire import Wire, configure_listener, inherited

log = logging.getLogger("httpdw.http.connection")

#: methods Apache registers (http_protocol.c); others are M_INVALID -> 501
KNOWN_METHODS = frozenset(
    "GET HEAD PUT POST DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK "
    "VERSION-CONTROL CHECKOUT UNCHECKOUT CHECKIN UPDATE LABEL REPORT MKWORKSPACE MKACTIVITY BASELINE-CONTROL "
    "MERGE".split())
_HOST_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:[0-9]*)?\Z")
RECV_SIZE = 65536
LINGER_SECONDS = 2.0          #: the longest a closing connection waits for the client's end
LINGER_READ_SECONDS = 0.5     #: the longest one read of a lingering close waits
SENDFILE_MIN = 256 * 1024
MMAP_LIMIT = 4 << 20          #: the largest memory map one send uses (APR_MMAP_LIMIT)


_NO_HOST = object()


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


class Connection:
    """Serves one client connection until it closes."""

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

    # ------------------------------------------------------------------ mapping and handlers
    def route(self, req: Request, uri: str) -> Response:
        """Translate `uri`, check access, run the handler (also used for internal redirects)."""
        srv = req.server
        kind, a, b = translate(srv, uri, req.query)
        if kind == "redirect":
            req.conf = req.rt.walker.location_config(uri)
            if a == 410 or b is None:
                return self.error(req, a if a else 410)
            if not (300 <= a < 400):
                return self.error(req, a)
            return self.error(req, a, location=b)
        filename, root = a, b
        req.filename = filename
        try:
            st = os.stat(filename)
            exists = True
        except OSError as e:
            st = None
            exists = False
            if e.errno in (errno.EACCES, errno.ENAMETOOLONG):
                conf = req.rt.walker.dir_config(filename, False, uri)
                req.conf = conf
                log.error("AH00035: access to %s denied (filesystem path '%s') because search permissions are "
                          "missing on a component of the path", uri, filename)
                return self.error(req, 403)
        is_dir = exists and stat_mod.S_ISDIR(st.st_mode)
        if exists:
            conf = req.rt.walker.dir_config(filename, is_dir, uri)
        else:
            # request.c walks existing directories only: the first missing component ends the walk
            conf = req.rt.walker.dir_config(existing_prefix(filename, root), False, uri)
        req.conf = conf
        if not access.open_to_all(conf) and not access.allowed(conf, self.client(req)):
            log.error("AH01630: client denied by server configuration: %s", filename)
            return self.error(req, 403)
        if conf.redirects:
            hit = redirect_for(conf.redirects, uri, req.query)
            if hit is not None:
                status, url = hit
                return self.error(req, status, location=url) if url else self.error(req, status)
        if conf.allow_override and self.htaccess_present(req, filename, root, is_dir):
            return self.error(req, 500)
        if conf.unsupported is not None:
            if conf.unsupported not in req.rt.htaccess_reported:
                req.rt.htaccess_reported.add(conf.unsupported)
                log.error("refusing requests under %s: httpdw cannot honour it", conf.unsupported)
            return self.error(req, 500)
        if exists and not self.symlinks_ok(conf, filename, root):
            log.error("AH00037: Symbolic link not allowed or link target not accessible: %s", filename)
            return self.error(req, 403)
        handler = conf.handler
        if handler is None:
            handler = file_meta(os.path.basename(filename), conf, self.h.types)[3]
        if handler == "server-status":
            return self.h.status_response(req, self)
        if handler not in (None, "default-handler", "default_handler"):
            log.error("handler '%s' is not implemented by httpdw: refusing to serve %s as a file (it would publish its source)",
                      handler, filename)
            return self.error(req, 500)
        return self.default_handler(req, uri, filename, st, is_dir)

    def fast_file(self, req: Request, hit: tuple) -> Response | None:
        """A path seen before that mapped to a plain file anyone may read: skip decoding, mapping
        and access checks (all decided by the path alone) if it is still a regular file."""
        uri, filename, conf, encoded = hit
        # served before, so its inode is cached: a statx that keeps the GIL cannot wait
        key = quickcalls.file_key(encoded)
        entry = None
        if key is not None:
            if not stat_mod.S_ISREG(key[0]):
                return None
            entry = self.h.files.lookup(filename, conf, key[1:])
        if entry is None:
            try:
                st = os.stat(filename)
            except OSError:
                return None
            if not stat_mod.S_ISREG(st.st_mode):
                return None
            entry = self.h.files.get(filename, st, conf)
        req.uri = uri
        req.conf = conf
        req.filename = filename
        req.record.uri = uri
        req.record.query = req.query
        return self.file_response(req, filename, entry)

    def remember_fast(self, req: Request, uri: str, filename: str) -> None:
        """Let the next request for the same path take fast_file(), when nothing but the path decides."""
        conf = req.conf
        if (req.fast_key is None or req.internal or conf.allow_override or conf.handler is not None
                or conf.unsupported is not None or conf.redirects
                or not conf.options & OPT_FOLLOW_SYMLINKS or not access.open_to_all(conf)):
            return
        fast = req.rt.fast
        if len(fast) >= 4096:
            fast.clear()
        encoded = os.fsencode(filename)
        if b"\0" not in encoded:
            fast[req.fast_key] = (uri, filename, conf, encoded)

    def htaccess_present(self, req: Request, filename: str, root: str, is_dir: bool) -> bool:
        """AllowOverride lets .htaccess change this directory: httpdw reads none, so it fails closed."""
        d = filename if is_dir else os.path.dirname(filename)
        root = root.rstrip("/") or "/"
        while True:
            candidate = os.path.join(d, ".htaccess")
            if os.path.exists(candidate):
                if candidate not in req.rt.htaccess_reported:
                    req.rt.htaccess_reported.add(candidate)
                    log.error("%s exists and AllowOverride allows it, but httpdw does not read .htaccess "
                              "files: refusing to serve (500) rather than ignore what it may protect", candidate)
                return True
            if d == root or len(d) <= len(root) or d == "/":
                return False
            d = os.path.dirname(d)

    def symlinks_ok(self, conf: DirConf, filename: str, root: str) -> bool:
        """Without FollowSymLinks, no component below the mapped root may be a symlink
        (SymLinksIfOwnerMatch: unless link and target have the same owner)."""
        if conf.options & OPT_FOLLOW_SYMLINKS:
            return True
        root = root.rstrip("/")
        rel = filename[len(root):] if filename.startswith(root) else filename
        path = root
        for part in rel.split("/"):
            if not part:
                continue
            path = path + "/" + part
            try:
                lst = os.lstat(path)
            except OSError:
                return True
            if stat_mod.S_ISLNK(lst.st_mode):
                if not conf.options & OPT_SYMLINKS_IF_OWNER:
                    return False
                try:
                    if os.stat(path).st_uid != lst.st_uid:
                        return False
                except OSError:
                    return False
        return True

    def allow_value(self, req: Request) -> str:
        srv = req.server or self.default
        return "GET,POST,OPTIONS,HEAD" + (",TRACE" if srv.trace != "off" else "")

    def default_handler(self, req: Request, uri: str, filename: str, st: os.stat_result | None,
                        is_dir: bool) -> Response:
        method = req.method
        conf = req.conf
        if method not in KNOWN_METHODS:
            return self.error(req, 501)
        if method == "OPTIONS":
            if is_dir:
                # mod_dir/mod_autoindex answer for directories (their method order)
                allow = "HEAD,GET,POST,OPTIONS" + (",TRACE" if req.server.trace != "off" else "")
                return Response(200, "httpd/unix-directory", b"", [("Allow", allow)])
            ctype = file_meta(os.path.basename(filename), conf, self.h.types)[0]
            return Response(200, ctype, b"", [("Allow", self.allow_value(req))])
        if method not in ("GET", "HEAD", "POST"):
            return self.error(req, 405)
        if st is None:
            log.info("AH00128: File does not exist: %s", filename)
            return self.error(req, 404)
        if is_dir:
            return self.directory(req, uri, filename)
        if not stat_mod.S_ISREG(st.st_mode):
            return self.error(req, 403)
        if uri.endswith("/"):
            return self.error(req, 404)      # a file requested as a directory: path info
        if file_meta(os.path.basename(filename), conf, self.h.types)[3] is None:
            self.remember_fast(req, uri, filename)
        return self.file_response(req, filename, self.h.files.get(filename, st, req.conf))

    def directory(self, req: Request, uri: str, dirpath: str) -> Response:
        conf = req.conf
        if not uri.endswith("/"):
            if conf.directory_slash:
                loc = self.absolute_url(req, _escape_path(uri) + "/")
                if req.query:
                    loc += "?" + req.query
                return self.error(req, 301, location=loc)
            # DirectorySlash Off: mod_dir declines; mod_autoindex may still list the directory
            return self.listing(req, uri, dirpath)
        refused = False
        for name in conf.directory_index:
            if "/" in name:
                continue
            candidate = os.path.join(dirpath, name)
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            if stat_mod.S_ISREG(st.st_mode):
                sub_uri = uri + name
                sub_conf = req.rt.walker.dir_config(candidate, False, sub_uri)
                if not access.open_to_all(sub_conf) and not access.allowed(sub_conf, self.client(req)):
                    # mod_dir: an index that exists but is refused is an error, never a reason to
                    # fall back to a listing of the directory
                    refused = True
                    continue
                req.conf = sub_conf
                req.filename = candidate
                return self.route_index(req, sub_uri, candidate, st)
        if refused:
            log.error("AH01630: client denied by server configuration: %s", dirpath)
            return self.error(req, 403)
        return self.listing(req, uri, dirpath)

    def listing(self, req: Request, uri: str, dirpath: str) -> Response:
        """mod_autoindex: GET/HEAD only (anything else falls to the default handler: 404)."""
        conf = req.conf
        if conf.options & OPT_INDEXES:
            if req.method not in ("GET", "HEAD"):
                log.info("AH00128: File does not exist: %s", dirpath)
                return self.error(req, 404)
            base_uri = uri if uri.endswith("/") else uri + "/"
            walker = req.rt.walker

            def visible(name: str, is_dir: bool) -> bool:
                entry_conf = walker.dir_config(os.path.join(dirpath, name), is_dir, base_uri + name)
                return access.open_to_all(entry_conf) or access.allowed(entry_conf, self.client(req))

            body = autoindex.listing(dirpath, uri, req.query, conf.index_ignore, visible)
            resp = Response(200, "text/html;charset=ISO-8859-1", body)
            if req.method == "HEAD":
                resp.length = None          # Apache does not generate the listing for HEAD: no length
            return resp
        log.error("AH01276: Cannot serve directory %s: No matching DirectoryIndex (%s) found, and server-generated "
                  "directory index forbidden by Options directive", dirpath, ",".join(conf.directory_index) or "none")
        return self.error(req, 403)

    def route_index(self, req: Request, uri: str, filename: str, st: os.stat_result) -> Response:
        """mod_dir's internal redirect to an index file: its own handler and symlink rules apply."""
        conf = req.conf
        handler = conf.handler or file_meta(os.path.basename(filename), conf, self.h.types)[3]
        if handler == "server-status":
            return self.h.status_response(req, self)
        if handler not in (None, "default-handler", "default_handler"):
            return self.error(req, 500)
        return self.file_response(req, filename, self.h.files.get(filename, st, req.conf))

    def file_response(self, req: Request, filename: str, entry: FileEntry) -> Response:
        conf = req.conf
        fields = req.head.fields
        now = req.now
        etag = entry.etag(now)
        lm = entry.last_modified if entry.lm_epoch <= now else _http_date_now(now)
        base = [("Last-Modified", lm)]
        if etag:
            base.append(("ETag", etag))
        if conf.max_ranges != 0:
            base.append(("Accept-Ranges", "bytes"))
        else:
            base.append(("Accept-Ranges", "none"))
        if entry.encoding:
            base.append(("Content-Encoding", entry.encoding))
        if entry.language:
            base.append(("Content-Language", entry.language))
        if ("if-none-match" in fields or "if-modified-since" in fields or "if-match" in fields
                or "if-unmodified-since" in fields):
            cond = meets_conditions(req.method, fields, etag, entry.lm_epoch, now)
            if cond == 304:
                resp = Response(304, None, b"", base)
                resp.length = None
                return resp
            if cond == 412:
                # the default handler's own 412: the file's headers and an empty body
                return Response(412, entry.ctype, b"", base)
        self.discard_body(req)
        rng = fields.get("range")
        if rng is not None and req.method in ("GET", "HEAD") and if_range_ok(fields, etag, lm):
            ranges = parse_ranges(rng, entry.size, conf.max_ranges)
            if ranges == 416:
                resp = self.error(req, 416)
                resp.length = None      # byterange_filter's error: sent close-delimited, as Apache
                return resp
            if ranges is not None:
                return self.range_response(req, filename, entry, base, ranges, conf)
        resp = Response(200, entry.ctype, b"", base)
        if now - entry.mtime > 1.0:
            if entry.block is None:
                entry.block = "".join(f"{k}: {v}\r\n" for k, v in base).encode("latin-1", "replace")
            resp.block = entry.block
        if req.method == "HEAD" or entry.size == 0:
            resp.length = entry.size
        elif entry.body is not None and entry.size <= SENDFILE_MIN:
            resp.body = entry.body
            resp.length = entry.size
        else:
            resp.file = (filename, 0, entry.size)
            resp.length = entry.size
            resp.sendfile = entry.sendfile
            resp.mmap = conf.mmap
        return resp

    def range_response(self, req: Request, filename: str, entry, base, ranges, conf) -> Response:
        if len(ranges) == 1:
            start, end = ranges[0]
            fields = [base[0]] + base[1:] + [("Content-Range", f"bytes {start}-{end}/{entry.size}")]
            resp = Response(206, entry.ctype, b"", fields)
            if entry.body is not None:
                resp.body = entry.body[start:end + 1]
            else:
                resp.file = (filename, start, end - start + 1)
                resp.sendfile = entry.sendfile
                resp.mmap = conf.mmap
            resp.length = end - start + 1
            return resp
        boundary = f"{int(req.now * 1e6):x}{os.getpid():x}"
        parts, tail, total = multipart_parts(ranges, entry.size, entry.ctype, boundary)
        resp = Response(206, f"multipart/byteranges; boundary={boundary}", b"", list(base))
        resp.parts = (filename, parts, entry.body)
        resp.tail = tail
        resp.length = total
        return resp

    def trace(self, req: Request) -> Response:
        srv = req.server
        if srv.trace == "off":
            log.error("AH00669: TRACE denied by server configuration")
            return self.error(req, 405)
        if not req.body.done and srv.trace != "extended":
            log.error("AH00670: TRACE with a request body is not allowed")
            return self.error(req, 413)
        head = req.head
        lines = [head.request_line] + [f"{k}: {v}" for k, v in head.headers]
        body = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        resp = Response(200, "message/http", body)
        if head.version == "1.1":
            resp.chunked = True
        resp.length = None
        return resp

    # ------------------------------------------------------------------ errors
    def error(self, req: Request, status: int, location: str | None = None, notes: str = "",
              recursive: int = 0) -> Response:
        """ap_die + ap_send_error_response, with ErrorDocument (text, local URL, external URL)."""
        srv = req.server or self.default
        conf = req.conf or srv.base
        fields: list[tuple[str, str]] = []
        if location is not None and 300 <= status < 400:
            fields.append(("Location", location))
        if status in (405, 501):
            fields.append(("Allow", self.allow_value(req)))
        custom = conf.error_documents.get(status) if not recursive else None
        if custom is not None and status >= 400 or (custom is not None and status >= 300 and not location):
            resp = self.custom_error(req, status, custom, fields)
            if resp is not None:
                return resp
        sig = signature(conf.signature, self.h.banner, self.server_name_for_url(req), self.port_for_url(req),
                        srv.server_admin) if conf.signature != "off" else ""
        expect = req.head.fields.get("expect")
        body = error_page(status, method=req.method, location=location or "", notes=notes, expect=expect,
                          server_admin=srv.server_admin, signature=sig, recursive=recursive)
        resp = Response(status, "text/html; charset=iso-8859-1", body, fields)
        if req.method == "HEAD":
            resp.length = None          # ap_send_error_response stops before the body: no length
        return resp

    def custom_error(self, req: Request, status: int, target: str, fields) -> Response | None:
        if " " in target or not (target.startswith("/") or "://" in target):
            text = target[1:] if target.startswith('"') else target
            return Response(status, "text/html; charset=iso-8859-1", text.encode("latin-1", "replace"), fields)
        if "://" in target:
            return Response(302, "text/html; charset=iso-8859-1", error_page(302, location=target), [("Location", target)])
        # a local URL: an internal redirect (GET), keeping the error status
        if req.internal:
            return None
        req.internal += 1
        req.status_orig = status
        method = req.method
        saved = (req.method, req.conf, req.filename, req.query)
        req.method = "GET" if method != "HEAD" else "HEAD"
        path, _, q = target.partition("?")
        req.query = q or None
        req.record.query = req.query        # %q shows the final (redirected) request, as Apache logs it
        try:
            resp = self.route(req, path)
        except MapError as e:
            resp = self.error(req, e.status, recursive=e.status)
        req.method = saved[0]
        if resp.status >= 400:
            req.conf, req.filename, req.query = saved[1], saved[2], saved[3]
            req.record.final_sent_nothing = True
            return self.error(req, status, recursive=resp.status)
        if resp.status in (200, 206, 304) or resp.status == status:
            resp.status = status
            return resp
        return resp

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

    # ------------------------------------------------------------------ URLs
    def server_name_for_url(self, req: Request) -> str:
        """ap_get_server_name: ServerName with UseCanonicalName On, else the client's Host."""
        srv = req.server or self.default
        canonical = (req.conf.canonical if req.conf and req.conf.canonical else srv.canonical)
        if canonical != "on" and req.host:
            return req.host
        if canonical == "dns":
            return self.local_ip
        return srv.server_name_only or self.local_ip

    def port_for_url(self, req: Request) -> int:
        """ap_get_server_port: with UseCanonicalName Off the Host's port when it has one; otherwise
        the server's own port (ServerName host:port), else the scheme's default, 80."""
        srv = req.server or self.default
        canonical = (req.conf.canonical if req.conf and req.conf.canonical else srv.canonical)
        if canonical != "on":
            host = req.head.fields.get("host") or ""
            if host and not host.endswith("]") and ":" in host:
                p = host.rsplit(":", 1)[1]
                if p.isdigit():
                    return int(p)
        return srv.port or (443 if self.scheme(req) == "https" else 80)

    def scheme(self, req: Request) -> str:
        """ap_http_scheme: `ServerName https://name` (TLS offloaded in front of the server) says https."""
        name = (req.server or self.default).server_name or ""
        return "https" if name.lower().startswith("https://") else "http"

    def absolute_url(self, req: Request, path: str) -> str:
        name = self.server_name_for_url(req)
        port = self.port_for_url(req)
        scheme = self.scheme(req)
        default = 443 if scheme == "https" else 80
        return f"{scheme}://{name}{'' if port == default else ':' + str(port)}{path}"

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


def existing_prefix(filename: str, root: str) -> str:
    """The path up to and including the first missing component (what request.c's walk keeps)."""
    root = root.rstrip("/") or "/"
    if not filename.startswith(root):
        return filename
    path = root
    for part in filename[len(root):].split("/"):
        if not part:
            continue
        path = path.rstrip("/") + "/" + part
        if not os.path.isdir(path):
            return path
    return path


def _escape_path(path: str) -> str:
    """ap_escape_uri for Location headers."""
    from urllib.parse import quote
    return quote(path, safe="/!$&'()*+,;=:@-._~")


def _http_date_now(now: float) -> str:
    from httpdw.http.response import http_date
    return http_date(int(now))


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
