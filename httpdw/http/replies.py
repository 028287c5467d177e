"""Error answers (ap_die, ap_send_error_response, ErrorDocument) and the URLs they and redirects
name (ap_get_server_name, ap_get_server_port, ap_construct_url).

A mixin of Connection (httpdw.http.connection): an ErrorDocument with a local URL is an internal
redirect through ContentHandlers.route, and 405/501 name the methods ContentHandlers.allow_value allows."""
from __future__ import annotations

from typing import TYPE_CHECKING

from httpdw.config.site import Server
from httpdw.http.errors import error_page, signature
from httpdw.http.exchange import Request, Response
from httpdw.http.mapping import MapError

if TYPE_CHECKING:
    from httpdw.http.connection import Handler


class ErrorReplies:
    """Error responses and absolute URLs of one connection (mixed into Connection)."""

    h: Handler
    default: Server
    local_ip: str

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
