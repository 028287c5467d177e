"""mod_alias directives: URL-path -> file-system path aliases and external redirects."""
from __future__ import annotations

from typing import Any

from httpdw.config import values
from httpdw.config.directives.http import decl
from httpdw.config.registry import Status, Syntax

STATUS_WORDS = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}


def redirect(words: list[str], node: Any, diags: Any) -> tuple[int, str, str | None]:
    """Redirect [status] URL-path [URL] -> (status, path, url or None for 410/no target).

    Mirrors mod_alias's add_redirect_internal: a leading status word or 3-digit code, and a URL
    required for 3xx statuses."""
    status = 302
    args = list(words)
    if args and (args[0].lower() in STATUS_WORDS or args[0].isdigit()):
        first = args.pop(0)
        status = STATUS_WORDS.get(first.lower()) or int(first)
    name = values.node_name(node)
    if name.lower() == "redirectpermanent":
        status = 301
    elif name.lower() == "redirecttemp":
        status = 302
    if len(args) == 1 and "://" in args[0]:
        return status, "", args[0]          # `Redirect [status] URL` inside <Location>: that location
    path = args[0] if args else ""
    url = args[1] if len(args) > 1 else None
    if 300 <= status < 400 and url is None:
        values.error(diags, node, "URL to redirect to is missing", hint="give the target URL")
    elif not (300 <= status < 400) and url is not None:
        values.error(diags, node, "Redirect URL not valid for this status", hint="410 Gone takes no URL")
    return status, path, url


decl("Alias", Syntax.TAKE12, "Map a URL-path to a file-system path (one argument inside <Location>).")
decl("AliasMatch", Syntax.TAKE2, "Map URLs matching a regular expression to file-system paths ($1...).")
decl("Redirect", Syntax.TAKE123, "Send an external redirect for a URL-path and everything below it.", parse=redirect)
decl("RedirectMatch", Syntax.TAKE23, "Send an external redirect for URLs matching a regular expression.",
     parse=redirect)
decl("RedirectPermanent", Syntax.TAKE2, "Redirect with 301.", parse=redirect)
decl("RedirectTemp", Syntax.TAKE2, "Redirect with 302.", parse=redirect)
REASON = "httpdw runs no CGI: serving the scripts as files would publish their source"
decl("ScriptAlias", Syntax.TAKE12, "Map a URL-path to CGI scripts (refused: httpdw runs no CGI).",
     status=Status.REFUSED, note=REASON)
decl("ScriptAliasMatch", Syntax.TAKE2, "Map URLs to CGI scripts by regex (refused: httpdw runs no CGI).",
     status=Status.REFUSED, note=REASON)
