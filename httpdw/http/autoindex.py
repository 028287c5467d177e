"""Directory listings as mod_autoindex's plain (non-fancy) listing."""
from __future__ import annotations

import fnmatch
import os
from typing import Callable
from urllib.parse import quote

from httpdw.http.errors import DOCTYPE, esc


def parent_of(uri: str) -> str:
    """ap_make_dirstr_parent: '/a/b/' -> '/a/'."""
    trimmed = uri.rstrip("/")
    cut = trimmed.rfind("/")
    return trimmed[:cut + 1] if cut >= 0 else "/"


def listing(dirpath: str, uri: str, query: str | None = None, ignore: tuple[str, ...] = (),
            visible: Callable[[str, bool], bool] | None = None) -> bytes:
    """The HTML of a plain index of `dirpath` requested as `uri` (ends with '/').

    `ignore`: IndexIgnore wildcards; `visible(name, is_dir)`: False for entries the client could not
    fetch (mod_autoindex runs a sub-request per entry and leaves refused ones out)."""
    title = uri
    while len(title) > 1 and title.endswith("/"):
        title = title[:-1]
    entries = []
    try:
        names = os.listdir(dirpath)
    except OSError:
        names = []
    for name in names:
        if any(fnmatch.fnmatchcase(name, pat) for pat in ignore):
            continue
        full = os.path.join(dirpath, name)
        try:
            is_dir = os.path.isdir(full)
        except OSError:
            continue
        if visible is not None and not visible(name, is_dir):
            continue
        entries.append((name, is_dir))
    descending = False
    if query:
        for part in query.replace("&", ";").split(";"):
            if part.upper() == "O=D":
                descending = True
    entries.sort(key=lambda e: e[0], reverse=descending)
    out = [DOCTYPE, "<html>\n <head>\n  <title>Index of ", esc(title), "</title>\n </head>\n <body>\n",
           "<h1>Index of ", esc(title), "</h1>\n<ul>"]
    if uri != "/":
        out.append(f'<li><a href="{esc(parent_of(uri))}"> Parent Directory</a></li>\n')
    for name, is_dir in entries:
        shown = name + ("/" if is_dir else "")
        href = quote(name, safe="!$&'()*+,;=:@-._~") + ("/" if is_dir else "")
        if ":" in name.split("/")[0]:
            href = "./" + href
        out.append(f'<li><a href="{esc(href)}"> {esc(shown)}</a></li>\n')
    out.append("</ul>\n</body></html>\n")
    return "".join(out).encode("utf-8", "surrogateescape")
