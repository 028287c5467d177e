"""What a request gets once its server is known: URL mapping, access checks, and the handlers
(static files with conditions and ranges, directory index and listing, server-status, TRACE).

A mixin of Connection (httpdw.http.connection): the methods read the connection's handler `h`, its
addresses, and answer errors through ErrorReplies.error."""
from __future__ import annotations

import errno
import logging
import os
import stat as stat_mod
from typing import TYPE_CHECKING
from urllib.parse import quote

from httpdw.config.site import OPT_FOLLOW_SYMLINKS, OPT_INDEXES, OPT_SYMLINKS_IF_OWNER, DirConf, Server
from httpdw.http import access, autoindex, quickcalls
from httpdw.http.exchange import Request, Response
from httpdw.http.mapping import redirect_for, translate
from httpdw.http.mime import file_meta
from httpdw.http.response import http_date
from httpdw.http.static import FileEntry, if_range_ok, meets_conditions, multipart_parts, parse_ranges

if TYPE_CHECKING:
    from httpdw.http.connection import Handler

log = logging.getLogger("httpdw.http.connection")

#: methods Apache registers (http_protocol.c); others are M_INVALID -> 501
KNOWN_METHODS = frozenset(
    "GET HEAD PUT POST DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK "
    "VERSION-CONTROL CHECKOUT UNCHECKOUT CHECKIN UPDATE LABEL REPORT MKWORKSPACE MKACTIVITY BASELINE-CONTROL "
    "MERGE".split())
#: files up to this size whose bytes the FileCache holds are sent from memory, larger ones from the file
SENDFILE_MIN = 256 * 1024


class ContentHandlers:
    """Mapping, access and the content handlers of one connection (mixed into Connection)."""

    h: Handler
    default: Server

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
    return quote(path, safe="/!$&'()*+,;=:@-._~")


def _http_date_now(now: float) -> str:
    return http_date(int(now))
