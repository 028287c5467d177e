"""URL -> file: normalisation, Alias/Redirect (mod_alias), DocumentRoot, and the section walk that
gives a request its per-directory config.

Order, as Apache 2.4.71 (server/request.c, server/util.c):
1. the path of the request target has unreserved %-escapes (%2e, %41...) decoded, is normalised
   (`.` and `..` segments, repeated slashes with MergeSlashes On) and may never climb above `/` (400);
2. the rest is %-decoded: a bad escape is 400, an encoded '/' (AllowEncodedSlashes Off) or NUL is 404;
3. Redirect*, then Alias*, in the server's order (a vhost's own rules first); else DocumentRoot + path;
4. the sections are walked (see httpdw.config.site) and their patches merged; merges are cached by
   the tuple of matching sections, so a request usually costs a few dict lookups.
"""
from __future__ import annotations

import os
import re
from urllib.parse import quote

from httpdw.config.site import AliasRule, DirConf, Server

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = "0123456789abcdefABCDEF"


class MapError(Exception):
    """A URL that maps to nothing servable: answer `status`."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decode_unreserved(path: str) -> str:
    """AP_NORMALIZE_DECODE_UNRESERVED: %XX of an unreserved character becomes the character."""
    if "%" not in path:
        return path
    out = []
    i, n = 0, len(path)
    while i < n:
        c = path[i]
        h = path[i + 1:i + 3]
        if c == "%" and len(h) == 2 and h[0] in _HEX and h[1] in _HEX:
            b = int(h, 16)
            if b in _UNRESERVED:
                out.append(chr(b))
                i += 3
                continue
        out.append(c)
        i += 1
    return "".join(out)


def normalize(path: str, merge_slashes: bool = True) -> str:
    """ap_normalize_path: drop `.` segments, resolve `..`, merge slashes; climbing above / -> 400."""
    if not path.startswith("/"):
        raise MapError(400, "request path does not start with /")
    segments = path.split("/")
    out: list[str] = []
    last = len(segments) - 1
    for i, seg in enumerate(segments[1:], start=1):
        if seg == ".":
            if i == last:
                out.append("")
            continue
        if seg == "..":
            if not out:
                raise MapError(400, "AH10244: invalid URI path")
            out.pop()
            if i == last:
                out.append("")
            continue
        if seg == "" and merge_slashes and i != last:
            continue
        out.append(seg)
    return "/" + "/".join(out)


def unescape(path: str, encoded_slashes: str = "off") -> str:
    """ap_unescape_url: %XX -> byte; a bad escape is 400; %2F (unless allowed) and %00 are 404."""
    if "%" not in path:
        return path
    raw = bytearray()
    i, n = 0, len(path)
    while i < n:
        c = path[i]
        if c == "%":
            h = path[i + 1:i + 3]
            if len(h) != 2 or h[0] not in _HEX or h[1] not in _HEX:
                raise MapError(400, "bad %-escape in URL")
            b = int(h, 16)
            if b == 0 or (b == 0x2F and encoded_slashes == "off"):
                raise MapError(404, "encoded NUL or slash in URL")
            if b == 0x2F and encoded_slashes == "nodecode":
                raw += b"%2F"
            else:
                raw.append(b)
            i += 3
            continue
        raw += c.encode("latin-1", "replace")
        i += 1
    return raw.decode("utf-8", "surrogateescape")


def request_path(raw: str, server: Server) -> str:
    """The decoded, normalised path of a request target's path part (r->uri)."""
    return unescape(normalize(decode_unreserved(raw), server.merge_slashes), server.encoded_slashes)


def _alias_prefix_len(uri: str, fake: str) -> int:
    """mod_alias alias_matches: slashes in `fake` match runs of slashes in `uri`; 0 = no match."""
    i = j = 0
    n, m = len(uri), len(fake)
    while j < m:
        if fake[j] == "/":
            if i >= n or uri[i] != "/":
                return 0
            while j < m and fake[j] == "/":
                j += 1
            while i < n and uri[i] == "/":
                i += 1
        else:
            if i >= n or uri[i] != fake[j]:
                return 0
            i += 1
            j += 1
    # the match must end at a segment boundary (or the alias ends with '/')
    if m and fake[-1] != "/" and i < n and uri[i] != "/":
        return 0
    return i


def _expand(template: str, match: re.Match) -> str:
    """ap_pregsub: $0-$9 and &... as Apache's regex substitution ($N only; \\$ escapes)."""
    out = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "\\" and i + 1 < n and template[i + 1] in "$&":
            out.append(template[i + 1])
            i += 2
            continue
        if c == "$" and i + 1 < n and template[i + 1].isdigit():
            g = int(template[i + 1])
            if g <= (match.re.groups or 0):
                out.append(match.group(g) or "")
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def translate(server: Server, uri: str, query: str | None) -> tuple[str, object, object]:
    """mod_alias + core translate_name -> ("redirect", status, url|None) or ("file", path, root).

    `root` is the directory the path was mapped under (DocumentRoot or the Alias target): the
    symlink checks never look above it."""
    for rule in server.alias_rules:
        if not rule.redirect:
            continue
        hit = _match_rule(rule, uri)
        if hit is not None:
            url = hit
            if url is not None and query and "?" not in url:
                url = f"{url}?{query}"
            return "redirect", rule.status, url
    for rule in server.alias_rules:
        if rule.redirect:
            continue
        hit = _match_rule(rule, uri)
        if hit is not None:
            root = rule.real if rule.regex is None else os.path.dirname(hit.rstrip("/")) or "/"
            return "file", hit, root
    root = server.document_root
    return "file", root + uri if root != "/" else uri, root


def redirect_for(rules, uri: str, query: str | None) -> tuple[int, str | None] | None:
    """The first section-level Redirect that matches `uri`: (status, URL or None)."""
    for rule in rules:
        hit = _match_rule(rule, uri)
        if hit is not None:
            url = hit or None
            if url is not None and query and "?" not in url:
                url = f"{url}?{query}"
            return rule.status, url
    return None


def _match_rule(rule: AliasRule, uri: str) -> str | None:
    """The substituted target if `rule` matches `uri` (a redirect may have no target: "")."""
    if rule.regex is not None:
        m = rule.regex.search(uri)
        if m is None:
            return None
        if rule.real is None:
            return ""
        return _expand(rule.real, m)
    n = _alias_prefix_len(uri, rule.fake)
    if n == 0 and rule.fake:
        return None
    if rule.real is None:
        return ""
    rest = uri[n:]
    if rule.redirect:
        # mod_alias escapes the remainder of the path for the Location header
        return rule.real + quote(rest, safe="/:@!$&'()*+,;=-._~")
    return rule.real + rest


class Walker:
    """The per-directory config of a request: which sections apply, merged in Apache's order."""

    def __init__(self, server: Server):
        self.server = server
        self._merged: dict[tuple[int, ...], DirConf] = {}

    def dir_config(self, filename: str, is_dir: bool, uri: str) -> DirConf:
        """Merged config for `filename` (a directory when is_dir) requested as `uri`."""
        s = self.server
        dirpath = filename if is_dir else os.path.dirname(filename)
        if not dirpath.endswith("/"):
            dirpath += "/"
        keys: list[int] = []
        files_candidates = list(s.files_sections)
        for sec in s.dir_sections:
            if sec.matches_dir(dirpath):
                keys.append(sec.index)
                files_candidates.extend(sec.files)
        for sec in s.dirmatch_sections:
            if sec.regex.search(dirpath) or sec.regex.search(dirpath.rstrip("/") or "/"):
                keys.append(sec.index)
                files_candidates.extend(sec.files)
        if not is_dir:
            base = os.path.basename(filename)
            for sec in files_candidates:
                if sec.matches_file(base):
                    keys.append(sec.index)
        for sec in s.location_sections:
            if sec.matches_location(uri):
                keys.append(sec.index)
        return self.merged(tuple(keys), files_candidates)

    def location_config(self, uri: str) -> DirConf:
        """Merged config of the <Location> sections alone (for URLs that map to no file)."""
        keys = tuple(sec.index for sec in self.server.location_sections if sec.matches_location(uri))
        return self.merged(keys, [])

    def merged(self, keys: tuple[int, ...], files_candidates: list) -> DirConf:
        conf = self._merged.get(keys)
        if conf is not None:
            return conf
        by_index = {sec.index: sec for sec in self._all_sections(files_candidates)}
        conf = self.server.base.copy()
        for k in keys:
            conf.apply(by_index[k].patch)
        if len(self._merged) > 4096:
            self._merged.clear()
        self._merged[keys] = conf
        return conf

    def _all_sections(self, files_candidates: list):
        s = self.server
        yield from s.dir_sections
        yield from s.dirmatch_sections
        yield from files_candidates
        yield from s.location_sections
