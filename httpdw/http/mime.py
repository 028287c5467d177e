"""MIME types as mod_mime assigns them: TypesConfig file + AddType/AddCharset/AddEncoding/AddLanguage/
AddHandler per directory, ForceType, and AddDefaultCharset.

httpdw ships Debian's /etc/mime.types as httpdw/data/mime.types (the file Debian's Apache reads
through `TypesConfig /etc/mime.types`), used when the config names no TypesConfig or the named
file cannot be read."""
from __future__ import annotations

import functools
import logging

log = logging.getLogger("httpdw.http.mime")


def parse_mime_types(text: str) -> dict[str, str]:
    """mime.types lines `type ext ext ...` -> {ext: type} (extensions lower-cased; later lines win)."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        for ext in words[1:]:
            table[ext.lower()] = words[0].lower()
    return table


@functools.lru_cache(maxsize=8)
def load_types(path: str | None) -> dict[str, str]:
    """The TypesConfig table; the shipped default when path is None or unreadable (logged)."""
    if path:
        try:
            with open(path, encoding="latin-1") as f:
                return parse_mime_types(f.read())
        except OSError as e:
            log.error("AH01597: could not open mime types config file %s: %s; using httpdw's default", path, e)
    from importlib import resources     # here: most configs name their TypesConfig; serving processes skip it
    return parse_mime_types(resources.files("httpdw").joinpath("data", "mime.types").read_text(encoding="latin-1"))


def file_meta(name: str, conf, types: dict[str, str]) -> tuple[str | None, str | None, str | None, str | None]:
    """(content type, encoding, language, handler) for a file name, as mod_mime's find_ct.

    Every dot-separated part after the first is an extension, looked up in the per-directory
    tables first, then in TypesConfig; a later extension overrides an earlier one."""
    ctype = charset = encoding = language = handler = None
    parts = name.split(".")
    for ext in parts[1:]:
        ext = ext.lower()
        if not ext:
            continue
        t = conf.types.get(ext)
        if t is None:
            t = types.get(ext)
        if t:
            ctype = t
        c = conf.charsets.get(ext)
        if c:
            charset = c
        e = conf.encodings.get(ext)
        if e:
            encoding = e
        lang = conf.languages.get(ext)
        if lang:
            language = lang
        h = conf.handlers.get(ext)
        if h:
            handler = h
    if conf.force_type:
        ctype = conf.force_type
    if ctype and charset and "charset=" not in ctype.lower():
        ctype = f"{ctype}; charset={charset}"
    if language is None and conf.default_language:
        language = conf.default_language
    return ctype, encoding, language, handler


def with_default_charset(ctype: str | None, charset: str | None) -> str | None:
    """ap_make_content_type: AddDefaultCharset applies to text/plain and text/html without a charset."""
    if not ctype or not charset:
        return ctype
    low = ctype.lower()
    if "charset=" in low or not (low.startswith("text/plain") or low.startswith("text/html")):
        return ctype
    return f"{ctype}; charset={charset}"
