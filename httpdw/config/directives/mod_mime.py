"""mod_mime and mod_dir directives: file extensions -> type, charset, encoding, language, handler;
directory indexes."""
from __future__ import annotations

from typing import Any

from httpdw.config import values
from httpdw.config.directives.http import decl, raw_words
from httpdw.config.registry import Syntax


def type_and_exts(words: list[str], node: Any, diags: Any) -> tuple[str, tuple[str, ...]]:
    """`AddType text/html .html htm` -> ("text/html", ("html", "htm")): extensions lower-cased, dots dropped."""
    return (words[0] if words else ""), tuple(w.lstrip(".").lower() for w in words[1:])


def exts(words: list[str], node: Any, diags: Any) -> tuple[str, ...]:
    return tuple(w.lstrip(".").lower() for w in words)


def default_type(words: list[str], node: Any, diags: Any) -> str | None:
    """DefaultType: 2.4 ignores every value but None (AH00558-like warning at startup)."""
    word = words[0] if words else ""
    if word.lower() != "none":
        diags.warning("HDW0112", f"DefaultType {word}: Apache 2.4 ignores DefaultType (except None); "
                      "files of unknown type are sent without a Content-Type", values.pos_of(node),
                      hint="use ForceType or AddType for the files concerned")
    return None


decl("TypesConfig", Syntax.TAKE1, "The mime.types file (ServerRoot-relative); httpdw ships one as the default.",
     parse=values.path_value, default="conf/mime.types")
decl("AddType", Syntax.ITERATE2, "Map file extensions to a media type.", parse=type_and_exts)
decl("RemoveType", Syntax.ITERATE, "Forget AddType mappings for extensions in this section.", parse=exts)
decl("DefaultType", Syntax.TAKE1, "2.0/2.2: type for files of unknown type; 2.4 accepts only None.",
     parse=default_type)
decl("ForceType", Syntax.TAKE1, "Serve every file of the section with this media type.")
decl("AddCharset", Syntax.ITERATE2, "Map file extensions to a charset parameter.", parse=type_and_exts)
decl("RemoveCharset", Syntax.ITERATE, "Forget AddCharset mappings for extensions.", parse=exts)
decl("AddEncoding", Syntax.ITERATE2, "Map file extensions to a Content-Encoding.", parse=type_and_exts)
decl("RemoveEncoding", Syntax.ITERATE, "Forget AddEncoding mappings for extensions.", parse=exts)
decl("AddLanguage", Syntax.ITERATE2, "Map file extensions to a Content-Language.", parse=type_and_exts)
decl("RemoveLanguage", Syntax.ITERATE, "Forget AddLanguage mappings for extensions.", parse=exts)
decl("DefaultLanguage", Syntax.TAKE1, "Content-Language for files without a language extension.")
decl("AddHandler", Syntax.ITERATE2, "Map file extensions to a handler; handlers httpdw does not implement "
     "answer 500 rather than serve the file as source.", parse=type_and_exts)
decl("RemoveHandler", Syntax.ITERATE, "Forget AddHandler mappings for extensions.", parse=exts)

# mod_dir
decl("DirectoryIndex", Syntax.RAW_ARGS, "Files tried, in order, when a directory is requested.",
     parse=lambda w, n, d: raw_words(w),
     default="index.html")
decl("DirectorySlash", Syntax.FLAG, "Redirect /dir to /dir/ for directories.", parse=values.flag, default=True)
