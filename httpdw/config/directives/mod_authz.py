"""Access control: mod_authz_core (Require, <RequireAll|Any|None>), mod_authz_host's providers
(all, ip, host, local, env, method), and mod_access_compat's 2.0-style Order/Allow/Deny/Satisfy."""
from __future__ import annotations

from typing import Any

from httpdw.config import values
from httpdw.config.directives.http import decl
from httpdw.config.registry import Context, Syntax

AUTHZ_PROVIDERS = ("all", "ip", "host", "local", "env", "method", "forward-dns")


def require(words: list[str], node: Any, diags: Any) -> tuple[bool, str, tuple[str, ...]]:
    """Require [not] provider args... -> (negated, provider, args)."""
    from httpdw.config.tree import split_words
    ws = split_words(" ".join(words))
    negate = bool(ws) and ws[0].lower() == "not"
    if negate:
        ws = ws[1:]
    provider = ws[0].lower() if ws else ""
    if provider not in AUTHZ_PROVIDERS:
        values.error(diags, node, f"Unknown Authz provider: {ws[0] if ws else ''}",
                     hint="httpdw implements Require all|ip|host|local|env|method", code="HDW0106")
    elif provider == "all" and (len(ws) != 2 or ws[1].lower() not in ("granted", "denied")):
        values.error(diags, node, "'Require all' does not take arguments other than 'granted' or 'denied'",
                     hint="Require all granted")
    return negate, provider, tuple(ws[1:])


def order(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("allow,deny", "deny,allow", "mutual-failure"):
        values.error(diags, node, "unknown order", hint="Order allow,deny or Order deny,allow")
        return "deny,allow"
    return word


def allow_deny(words: list[str], node: Any, diags: Any) -> tuple[str, ...]:
    if not words or words[0].lower() != "from":
        values.error(diags, node, "allow and deny must be followed by 'from'", hint="Allow from 10.0.0.0/8")
        return ()
    return tuple(words[1:])


def satisfy(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("all", "any"):
        values.error(diags, node, "Satisfy either 'any' or 'all'.", hint="Satisfy All is the default")
        return "all"
    return word


decl("Require", Syntax.RAW_ARGS, "Who may access: all granted|denied, ip, host, local, env, method; "
     "`not` negates inside <RequireAll>/<RequireNone>.", parse=require)
for _name, _doc in (("<RequireAll", "Every Require inside must succeed."),
                    ("<RequireAny", "One Require inside must succeed."),
                    ("<RequireNone", "No Require inside may succeed.")):
    decl(_name, Syntax.RAW_ARGS, _doc, module="authz_core_module",
         desc="Container for authorization directives grouped under an authz logic type",
         contexts=Context.DIRECTORY | Context.HTACCESS)
decl("AuthMerging", Syntax.TAKE1, "How a section's Require rules combine with the enclosing ones: Off, And, Or.",
     parse=lambda w, n, d: (w[0].lower() if w else "off"))
decl("Order", Syntax.TAKE1, "2.0-style evaluation order of Allow and Deny.", parse=order)
decl("Allow", Syntax.ITERATE2, "2.0-style: hosts allowed ('from' all|IP|network|host|env=).", parse=allow_deny)
decl("Deny", Syntax.ITERATE2, "2.0-style: hosts denied ('from' all|IP|network|host|env=).", parse=allow_deny)
decl("Satisfy", Syntax.TAKE1, "2.0-style: access needs both host rules and Require (All) or either (Any).",
     parse=satisfy)
