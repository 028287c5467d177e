"""Core (core.c / http_core.c) directives the HTTP layer implements: documents, protocol, limits, errors.

The command-table descriptions and allowed contexts come from Apache's own tables (`apache2 -L`,
kept in httpdw/data/apache_directives.tsv) so arity errors read exactly as Apache's. The value
parsers here turn argument words into what httpdw.config.site needs; they report Apache's wording
into the diagnostics sink and never raise.
"""
from __future__ import annotations

import math
import re
from typing import Any

from httpdw.config import values
from httpdw.config.directives.apache_known import apache_facts, contexts_from_allowed
from httpdw.config.option_bits import OPTION_ALL, OPTION_BITS
from httpdw.config.registry import Context, Syntax, declare
from httpdw.config.tree import split_words


def decl(name: str, syntax: Syntax, doc: str, *, module: str | None = None, contexts: Context | None = None,
         desc: str | None = None, **kw: Any) -> None:
    """Declare `name` with Apache's module, contexts and description unless given explicitly."""
    facts = apache_facts(name)
    if facts is not None:
        module = module or ("core" if facts.module == "core_module" else facts.module)
        contexts = contexts if contexts is not None else contexts_from_allowed(facts.allowed, facts.override)
        desc = desc if desc is not None else facts.desc
    declare(name, module or "core", syntax, contexts if contexts is not None else Context.all(), doc,
            desc=desc or "", **kw)


# --------------------------------------------------------------------------- value parsers

def raw_words(words: list[str]) -> list[str]:
    """RAW_ARGS parsers get the raw text as one word: split it as ap_getword_conf does."""
    return split_words(" ".join(words))


#: ap_timeout_parameter_parse's units in microseconds, told by the first letters after the number (case
#: matters; what follows them is ignored: `5sec` is 5 seconds)
_TIME_UNITS_US = (("ms", 1_000), ("mi", 60_000_000), ("s", 1_000_000), ("h", 3_600_000_000))
_INTERVAL_MAX_US = (1 << 63) - 1     #: apr_interval_time_t


def timeout_seconds(words: list[str], node: Any, diags: Any) -> float:
    """ap_timeout_parameter_parse (KeepAliveTimeout): an integer, then an optional unit - none or s:
    seconds, ms, mi(n), h. Apache 2.4 refuses a negative value or one beyond its 64-bit microseconds."""
    text = words[0] if words else ""
    value, rest, overflow = values.c_strtoi64(text)
    unit_us = 1_000_000 if not rest else next((us for unit, us in _TIME_UNITS_US if rest.startswith(unit)), None)
    if overflow or unit_us is None or value < 0 or value * unit_us > _INTERVAL_MAX_US:
        values.error(diags, node, f"{values.canonical_name(node)} has wrong format",
                     hint="write a number of seconds, or one with ms, s, min or h, e.g. 5 or 500ms")
        return 0.0
    return value * unit_us / 1_000_000


#: APR waits without limit on a negative timeout (httpdw.http.wire turns it into the kernel's longest wait)
NO_LIMIT = math.inf


def core_timeout(words: list[str], node: Any, diags: Any) -> float:
    """Timeout as Apache's set_timeout reads it: whole seconds through atoi (unlike KeepAliveTimeout, no
    units: `100ms` is 100 seconds and `abc` is 0, which HDW0111 points out); negative: no limit."""
    seconds = values.atoi_value(words, node, diags)
    return NO_LIMIT if seconds < 0 else float(seconds)


def nonneg_int(words: list[str], node: Any, diags: Any) -> int:
    """An atoi number that Apache refuses when negative ("<Name> must be a non-negative integer")."""
    n = values.atoi_value(words, node, diags)
    if n < 0:
        values.error(diags, node, f"{values.node_name(node)} \"{words[0]}\" must be a non-negative integer",
                     hint="use 0 or a positive number")
        return 0
    return n


SERVER_TOKENS = {"min": "Minimal", "minimal": "Minimal", "major": "Major", "minor": "Minor",
                 "prod": "Prod", "productonly": "Prod", "os": "OS", "full": "Full"}


def server_tokens(words: list[str], node: Any, diags: Any) -> str:
    """ServerTokens: Apache takes any unknown word as Full (no error); httpdw warns about it."""
    word = (words[0] if words else "").lower()
    if word not in SERVER_TOKENS:
        diags.warning("HDW0104", f"ServerTokens {words[0] if words else ''}: unknown value, Apache uses Full",
                      values.pos_of(node), hint="use Prod, Major, Minor, Minimal, OS or Full")
        return "Full"
    return SERVER_TOKENS[word]


def server_signature(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("on", "off", "email"):
        values.error(diags, node, "ServerSignature: use one of: off | on | email",
                     hint="ServerSignature Off hides the server line on error pages")
        return "off"
    return word


def options(words: list[str], node: Any, diags: Any) -> tuple[int | None, int, int]:
    """Options -> (absolute set or None, added, removed), as core.c's set_options reads them.

    Mixing +/- with plain words is an error in 2.4 ("Either all Options must start with + or -,
    or no Option may.")."""
    absolute: int | None = None
    add = remove = 0
    signed = plain = False
    for w in words:
        action = w[0] if w[:1] in "+-" else ""
        name = w[1:] if action else w
        if action:
            signed = True
        else:
            plain = True
        key = name.lower()
        if key == "none":
            bit = 0
        elif key == "all":
            bit = OPTION_ALL
        elif key in OPTION_BITS:
            bit = OPTION_BITS[key]
        else:
            values.error(diags, node, f"Illegal option {name}", hint="see the Options documentation for the names")
            continue
        if action == "+":
            add |= bit
            remove &= ~bit
        elif action == "-":
            remove |= bit
            add &= ~bit
        else:
            absolute = (absolute or 0) | bit
    if signed and plain:
        values.error(diags, node, "Either all Options must start with + or -, or no Option may.",
                     hint="write either `Options +A -B` or `Options A B`")
    if absolute is not None and (add or remove):
        absolute = (absolute | add) & ~remove
        add = remove = 0
    return absolute, add, remove


ETAG_BITS = {"inode": 1, "mtime": 2, "size": 4, "digest": 8}


def file_etag(words: list[str], node: Any, diags: Any) -> tuple[int | None, int, int]:
    """FileETag -> (absolute bits or None, added, removed); All = INode MTime Size, None = 0."""
    absolute: int | None = None
    add = remove = 0
    for w in words:
        action = w[0] if w[:1] in "+-" else ""
        key = (w[1:] if action else w).lower()
        if key == "all":
            bit = 1 | 2 | 4
        elif key == "none":
            bit = 0
        elif key in ETAG_BITS:
            bit = ETAG_BITS[key]
        else:
            values.error(diags, node, f"Unknown keyword '{w}' for FileETag", hint="use INode, MTime, Size, All or None")
            continue
        if action == "+":
            add |= bit
        elif action == "-":
            remove |= bit
        else:
            absolute = (absolute or 0) | bit
    return absolute, add, remove


def error_document(words: list[str], node: Any, diags: Any) -> tuple[int, str | None]:
    """ErrorDocument code target -> (code, target); target None for `default`."""
    code = values.c_atoi(words[0]) if words else 0
    if code < 400 or code > 599:
        if not (300 <= code < 400):
            values.error(diags, node, f"Unsupported HTTP response code {words[0] if words else ''}",
                         hint="use a 4xx or 5xx status code")
    target = words[1] if len(words) > 1 else ""
    return code, None if target == "default" else target


def trace_enable(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("on", "off", "extended"):
        values.error(diags, node, "TraceEnable must be one of 'on', 'off', or 'extended'",
                     hint="TraceEnable Off is the usual hardening")
        return "on"
    return word


def canonical_name(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("on", "off", "dns"):
        values.error(diags, node, "parameter must be 'on', 'off', or 'dns'", hint="UseCanonicalName Off is the default")
        return "off"
    return word


def hostname_lookups(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("on", "off", "double"):
        values.error(diags, node, "parameter must be 'on', 'off', or 'double'", hint="HostnameLookups Off is the default")
        return "off"
    return word


def on_off_charset(words: list[str], node: Any, diags: Any) -> str | None:
    """AddDefaultCharset On|Off|charset -> the charset or None."""
    word = words[0] if words else "off"
    if word.lower() == "off":
        return None
    if word.lower() == "on":
        return "iso-8859-1"
    return word


def allow_override(words: list[str], node: Any, diags: Any) -> bool:
    """AllowOverride -> whether any override is allowed (httpdw reads no .htaccess either way)."""
    for w in words:
        key = w.split("=", 1)[0].lower()
        if key not in ("none", "all", "authconfig", "fileinfo", "indexes", "limit", "options", "nonfatal"):
            values.error(diags, node, f"Illegal override option {w}",
                         hint="use None, All, AuthConfig, FileInfo, Indexes, Limit, Options[=...]")
    return not (len(words) == 1 and words[0].lower() == "none")


def max_ranges(words: list[str], node: Any, diags: Any) -> int:
    """MaxRanges: default, unlimited (-1 internally), none (0 = no ranges), or a positive number."""
    word = (words[0] if words else "").lower()
    if word == "default":
        return 200
    if word == "unlimited":
        return -1
    if word == "none":
        return 0
    n = values.c_atoi(word)
    if n <= 0:
        values.error(diags, node, "MaxRanges requires 'none', 'default', 'unlimited' or a positive integer",
                     hint="MaxRanges 200 is Apache's default")
        return 200
    return n


def allow_encoded_slashes(words: list[str], node: Any, diags: Any) -> str:
    word = (words[0] if words else "").lower()
    if word not in ("on", "off", "nodecode"):
        values.error(diags, node, "AllowEncodedSlashes must be On, Off, or NoDecode", hint="Off is the default")
        return "off"
    return word


S = Context.SERVER | Context.VHOST

# --------------------------------------------------------------------------- declarations

decl("DocumentRoot", Syntax.TAKE1, "The directory the URL space of a (virtual) server maps to.",
     parse=values.path_value, default="/var/www/html", default_doc="/usr/local/apache2/htdocs in Apache's build")
decl("ServerAlias", Syntax.ITERATE, "Other names a name-based virtual host answers to (wildcards allowed).",
     desc="A name or names alternately used to access the server", contexts=Context.VHOST)
decl("UseCanonicalName", Syntax.TAKE1, "Self-referential URLs (redirects, %V, SERVER_NAME) use ServerName "
     "(On) or the client's Host (Off).", parse=canonical_name, default="off")
decl("ServerTokens", Syntax.TAKE1, "How much the Server header tells: Prod, Major, Minor, Minimal, OS, Full.",
     parse=server_tokens, default="Full", global_only=True)
decl("ServerSignature", Syntax.TAKE1, "The server line at the foot of generated pages: Off, On, EMail.",
     parse=server_signature, default="off")
decl("KeepAlive", Syntax.FLAG, "Allow persistent connections.", parse=values.flag, default=True)
decl("MaxKeepAliveRequests", Syntax.TAKE1, "Requests per persistent connection; 0 = unlimited.",
     parse=values.atoi_value, default=100)
decl("KeepAliveTimeout", Syntax.TAKE1, "Seconds to wait for the next request on a persistent connection.",
     parse=timeout_seconds, default=5.0)
decl("Timeout", Syntax.TAKE1, "Seconds to wait for a client while reading a request or sending a response "
     "(whole seconds, read with atoi as Apache does: no units).", parse=core_timeout, default=60.0)
decl("TraceEnable", Syntax.TAKE1, "Answer TRACE requests: on, off (405), extended.", parse=trace_enable, default="on")
decl("LimitRequestLine", Syntax.TAKE1, "Longest request line accepted (414 beyond).", parse=nonneg_int,
     default=8190, global_only=False)
decl("LimitRequestFieldSize", Syntax.TAKE1, "Longest request header line accepted (400 beyond).",
     parse=nonneg_int, default=8190, desc="Limit on maximum size of an HTTP request header field")
decl("LimitRequestFields", Syntax.TAKE1, "Most request header fields accepted; 0 = unlimited (400 beyond).",
     parse=nonneg_int, default=100)
decl("LimitRequestBody", Syntax.TAKE1, "Largest request body accepted, bytes (413 beyond); 0 = unlimited.",
     parse=values.size_value, default=1073741824)
decl("ErrorDocument", Syntax.TAKE2, "What to send for an error status: a local URL, an external URL "
     "(redirect) or a text.", parse=error_document)
decl("Options", Syntax.RAW_ARGS, "Features of a directory: Indexes, FollowSymLinks, SymLinksIfOwnerMatch, "
     "All, None, with +/-.", parse=lambda w, n, d: options(raw_words(w), n, d),
     default="FollowSymLinks")
decl("AllowOverride", Syntax.RAW_ARGS, "Which directives .htaccess files may hold; httpdw reads no .htaccess "
     "and answers 500 where one exists and overrides are allowed.", parse=lambda w, n, d: allow_override(raw_words(w), n, d), default="None",
     note="httpdw never reads .htaccess: with AllowOverride other than None, a directory holding one answers 500")
decl("AllowOverrideList", Syntax.RAW_ARGS, "Single directives .htaccess files may hold (as AllowOverride: "
     "httpdw fails closed where a .htaccess exists).", parse=lambda w, n, d: raw_words(w))
decl("SetHandler", Syntax.TAKE1, "The handler for every file of a section (server-status, default-handler, None).")
decl("AddDefaultCharset", Syntax.TAKE1, "A charset added to text/plain and text/html responses without one.",
     parse=on_off_charset, default=None)
decl("FileETag", Syntax.RAW_ARGS, "What a static file's ETag is made of: INode, MTime, Size, All, None.",
     parse=lambda w, n, d: file_etag(raw_words(w), n, d), default="MTime Size")
decl("EnableSendfile", Syntax.TAKE1, "Send static files with sendfile(2) (unset: on local filesystems only).",
     parse=values.on_off_word, default=None,
     note="Apache's default is Off, for network and FUSE filesystems; unset, httpdw uses sendfile(2) for files "
          "on local ones (ext4, xfs, btrfs, tmpfs, overlay ...), and a memory map elsewhere. Off or On decides")
decl("EnableMMAP", Syntax.TAKE1, "Send static files from a memory map (Off: read them; sendfile, where used, "
     "takes precedence).", parse=values.on_off_word, default=True)
decl("HostnameLookups", Syntax.TAKE1, "Resolve client addresses to names for logs (%h).",
     parse=hostname_lookups, default="off")
decl("ExtendedStatus", Syntax.FLAG, "Keep per-request details (client, request line, vhost) for server-status.",
     parse=values.flag, default=True, global_only=True)
decl("MaxRanges", Syntax.TAKE1, "Most ranges served in one Range request before the whole file is sent.",
     parse=max_ranges, default=200)
decl("MergeSlashes", Syntax.FLAG, "Merge repeated slashes in the URL path before mapping.", parse=values.flag,
     default=True)
decl("AllowEncodedSlashes", Syntax.TAKE1, "Whether %2F may appear in a URL path (Off: 404).",
     parse=allow_encoded_slashes, default="off")
