"""The server-status handler (mod_status): `SetHandler server-status` in a <Location>.

The pages themselves are pure functions of a scoreboard snapshot, written by the engine side in
httpdw.mpm.status_text (`auto_text(...)` for `?auto`, `html_page(...)` otherwise); this module only
reads the request (?auto, ?refresh=N, ?notable) and wraps the text in a response."""
from __future__ import annotations

import logging
import time

log = logging.getLogger("httpdw.http.status")


def status_options(query: str | None) -> dict:
    """mod_status's query words: auto, notable, refresh[=N] (';' or '&' separated)."""
    opts = {"auto": False, "notable": False, "refresh": None}
    for word in (query or "").replace(";", "&").split("&"):
        key, _, value = word.partition("=")
        key = key.lower()
        if key == "auto":
            opts["auto"] = True
        elif key == "notable":
            opts["notable"] = True
        elif key == "refresh":
            opts["refresh"] = int(value) if value.isdigit() else 1
    return opts


def status_response(handler, req, conn):
    """Answer a server-status request (GET/HEAD only, as mod_status)."""
    from httpdw.http.exchange import Response
    if req.method not in ("GET", "HEAD"):
        return conn.error(req, 405)
    source = handler.status_source
    if source is None:
        log.error("server-status requested but this process has no scoreboard")
        return conn.error(req, 500)
    from httpdw.mpm import status_text
    snapshot = source()
    opts = status_options(req.query)
    # mod_status prints the host the client asked for (ap_get_server_name)
    common = dict(server_name=conn.server_name_for_url(req), server_version=handler.banner,
                  extended=handler.site.extended_status, now=time.time())
    if opts["auto"]:
        text = status_text.auto_text(snapshot, **common)
        return Response(200, "text/plain; charset=ISO-8859-1", text.encode("latin-1", "replace"))
    html = status_text.html_page(snapshot, notable=opts["notable"], refresh=opts["refresh"], **common)
    resp = Response(200, "text/html; charset=ISO-8859-1", html.encode("latin-1", "replace"))
    if opts["refresh"] is not None:
        resp.fields.append(("Refresh", f"{opts['refresh']};url={req.uri}"))
    return resp
