"""Value parsers: turn a directive's argument words into a typed value, reading them as Apache does.

Every parser has the registry's `ValueParser` shape: `parse(words, node, diags) -> value`. It reports
problems into `diags` (Apache's wording, the node's position, a hint) and always returns a value
(never raises), so validation goes on and reports every problem.

Numbers: Apache reads most numeric directives with C `atoi` (spec 1.2): `25x` is 25, `abc` is 0,
`99999999999` wraps. httpdw computes exactly the same number, so effective values match Apache's,
and adds an HDW0111 warning saying what Apache makes of a value that is not a plain integer.

Some checks need the server root (paths are ServerRoot-relative) or the loaded modules; the validator
publishes them with `using_context()` for the duration of a walk.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from httpdw.config.diagnostics import Diagnostics

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
LONG_MIN, LONG_MAX = -(2 ** 63), 2 ** 63 - 1
#: C isspace() in the "C" locale
C_SPACE = " \t\n\v\f\r"
PLAIN_INT = re.compile(r"[+-]?[0-9]+\Z")

@dataclass(frozen=True)
class ParseContext:
    """What some parsers need besides the words: set by the validator for the length of a walk."""

    server_root: str = "/etc/httpdw"
    #: identifiers of the modules loaded by LoadModule (httpdw's own are always loaded, see modules.py)
    loaded_modules: frozenset[str] = frozenset()


_context: contextvars.ContextVar[ParseContext] = contextvars.ContextVar("parse_context", default=ParseContext())


@contextlib.contextmanager
def using_context(server_root: str, loaded_modules: frozenset[str] | set[str] = frozenset()) -> Iterator[None]:
    """Make `server_root` and the LoadModule'd modules (identifiers) visible to the parsers in the block."""
    token = _context.set(ParseContext(server_root, frozenset(loaded_modules)))
    try:
        yield
    finally:
        _context.reset(token)


_section_names: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("sections", default=())


@contextlib.contextmanager
def within_sections(names: tuple[str, ...]) -> Iterator[None]:
    """Set by the validator around each value parser: the enclosing sections, outermost first."""
    token = _section_names.set(names)
    try:
        yield
    finally:
        _section_names.reset(token)


def enclosing_sections() -> tuple[str, ...]:
    """Canonical names of the sections around the directive being parsed (e.g. ("VirtualHost",
    "Directory")), for handler checks such as ServerAlias's `only used in <VirtualHost>`."""
    return _section_names.get()


def in_virtual_host() -> bool:
    return "VirtualHost" in _section_names.get()


def server_root() -> str:
    return _context.get().server_root


def module_loaded(short_name: str) -> bool:
    """Whether a module is loaded, named as LogLevel names it: `ssl`, `mod_ssl.c` or `ssl_module`."""
    name = short_name
    if name.startswith("mod_"):
        name = name[4:]
    if name.endswith(".c"):
        name = name[:-2]
    if not name.endswith("_module"):
        name += "_module"
    if name == "core_module":
        return True
    from httpdw.config.modules import always_loaded   # the one table of httpdw's modules
    return name in _context.get().loaded_modules or name in always_loaded()


def server_root_relative(path: str) -> str:
    """ap_server_root_relative: absolute paths stay, others are joined to ServerRoot."""
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(server_root(), path))


# --------------------------------------------------------------------------- C number reading

def _c_digits(text: str) -> tuple[int, str, bool]:
    """Shared core of atoi/strtol (base 10): skip C blanks, optional sign, ASCII digits.

    Returns (mathematical value, the consumed text, whether any digit was seen)."""
    i, n = 0, len(text)
    while i < n and text[i] in C_SPACE:
        i += 1
    start = i
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    j = i
    while j < n and "0" <= text[j] <= "9":   # ASCII only: Unicode digits stop atoi as in C
        j += 1
    if j == i:
        return 0, "", False
    return sign * int(text[i:j]), text[start:j], True


def c_strtol(text: str) -> tuple[int, bool]:
    """glibc strtol(text, NULL, 10): (value saturated to the C long range, whether it overflowed (ERANGE))."""
    value, _, _ = _c_digits(text)
    if value > LONG_MAX:
        return LONG_MAX, True
    if value < LONG_MIN:
        return LONG_MIN, True
    return value, False


def c_strtoi64(text: str) -> tuple[int, str, bool]:
    """apr_strtoi64(text, &end, 10): (value, the text after the number - all of it when there is no
    digit, as C leaves `end` at the start then -, whether it is beyond the 64-bit range (ERANGE))."""
    value, consumed, seen = _c_digits(text)
    if not seen:
        return 0, text, False
    rest = text[text.find(consumed) + len(consumed):]
    return value, rest, not -(1 << 63) <= value <= (1 << 63) - 1


def to_int32(value: int) -> int:
    """Keep the low 32 bits as a signed int, as the C conversion long -> int does on x86-64."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def c_atoi(text: str) -> int:
    """C atoi as glibc implements it: (int) strtol(text, NULL, 10).

    `abc`, `0x10`, `` -> 0; `2.5` -> 2; `1e3` -> 1; `2147483648` -> -2147483648;
    `99999999999` -> 1215752191; `99999999999999999999` -> -1 (saturated to LONG_MAX, then truncated)."""
    return to_int32(c_strtol(text)[0])


def plain_int_problem(text: str, result: int) -> str | None:
    """Why `text` is not a plain integer Apache reads unchanged, or None when it is."""
    stripped = text.strip(C_SPACE)
    if not PLAIN_INT.match(stripped):
        return f"'{text}' is not a plain integer; Apache reads it with atoi as {result}"
    if int(stripped) != result:
        return f"'{text}' is out of range for a C int; Apache reads it as {result}"
    return None


def warn_if_not_plain(text: str, result: int, node: Any, diags: Diagnostics) -> None:
    """HDW0111 when Apache's reading of `text` is not what the text says."""
    problem = plain_int_problem(text, result)
    if problem:
        diags.warning("HDW0111", f"{node_name(node)}: {problem}", pos_of(node),
                      hint=f"write the number as plain digits; httpdw uses {result}, as Apache does")


def node_name(node: Any) -> str:
    """The name as written in the file (for messages about what the user wrote)."""
    return getattr(node, "name", "directive")


def canonical_name(node: Any) -> str:
    """The declared spelling (`sendbuffersize` -> `SendBufferSize`): Apache's handlers print their
    directive's name as a constant, whatever the case in the file."""
    from httpdw.config.registry import registry   # at call time: the registry imports the parsers
    spec = registry().get(node_name(node))
    return spec.name.lstrip("<") if spec is not None else node_name(node)


def pos_of(node: Any):
    return getattr(node, "pos", None)


def error(diags: Diagnostics, node: Any, message: str, hint: str, code: str = "HDW0104") -> None:
    """Report a value error (Apache's wording in `message`) at the node."""
    diags.error(code, message, pos_of(node), hint=hint)


# --------------------------------------------------------------------------- parsers

def atoi_value(words: list[str], node: Any, diags: Diagnostics) -> int:
    """A number read with atoi, no range check at parse time (ServerLimit, ThreadsPerChild, ...)."""
    text = words[0] if words else ""
    value = c_atoi(text)
    warn_if_not_plain(text, value, node, diags)
    return value


def atoi_min(minimum: int, message: str, *, allow_zero: bool = False) -> Callable[[list[str], Any, Diagnostics], int]:
    """An atoi number that must be >= minimum (or exactly 0 when allow_zero): Apache's message otherwise."""

    def parse(words: list[str], node: Any, diags: Diagnostics) -> int:
        value = atoi_value(words, node, diags)
        if value < minimum and not (allow_zero and value == 0):
            error(diags, node, message.format(name=canonical_name(node)),
                  hint=f"use a value of at least {minimum}" + (" (or 0)" if allow_zero else ""))
        return value

    parse.__doc__ = f"atoi number >= {minimum}" + (" or 0" if allow_zero else "")
    return parse


def strtol_nonneg(words: list[str], node: Any, diags: Diagnostics) -> int:
    """A long read with strtol (base 10): negative or out of range -> `Invalid <Name> value: X`."""
    text = words[0] if words else ""
    value, overflow = c_strtol(text)
    if value < 0 or overflow:
        error(diags, node, f"Invalid {canonical_name(node)} value: {text}",
              hint="use a non-negative whole number")
        return 0
    stripped = text.strip(C_SPACE)
    if not PLAIN_INT.match(stripped):
        diags.warning("HDW0111", f"{node_name(node)}: '{text}' is not a plain integer; Apache reads it "
                      f"with strtol as {value}", pos_of(node), hint="write the number as plain digits")
    return value


def flag(words: list[str], node: Any, diags: Diagnostics) -> bool:
    """On/Off, case-insensitive (the arity check already refused anything else for FLAG directives)."""
    return bool(words) and words[0].lower() == "on"


def on_off_word(words: list[str], node: Any, diags: Diagnostics) -> bool:
    """A TAKE1 on/off parameter checked by the handler (`parameter must be 'on' or 'off'`)."""
    word = (words[0] if words else "").lower()
    if word not in ("on", "off"):
        error(diags, node, "parameter must be 'on' or 'off'", hint=f"write {node_name(node)} On or {node_name(node)} Off")
    return word == "on"


def text_value(words: list[str], node: Any, diags: Diagnostics) -> str:
    """The single argument as written (quotes removed)."""
    return words[0] if words else ""


def path_value(words: list[str], node: Any, diags: Diagnostics) -> str:
    """A file path, ServerRoot-relative when not absolute (ap_server_root_relative)."""
    return server_root_relative(words[0]) if words else server_root()


def existing_directory(words: list[str], node: Any, diags: Diagnostics) -> str:
    """A ServerRoot-relative path that must be an existing directory (CoreDumpDirectory's checks)."""
    path = path_value(words, node, diags)
    name = canonical_name(node)
    if not os.path.exists(path):
        error(diags, node, f"{name} {path} does not exist", hint="create the directory or point to an existing one")
    elif not os.path.isdir(path):
        error(diags, node, f"{name} {path} is not a directory", hint="point it to a directory, not a file")
    return path


def size_value(words: list[str], node: Any, diags: Diagnostics) -> int:
    """A byte size written as a plain non-negative integer (apr_strtoff-style, for limits like
    LimitRequestBody): anything else is an error that names the value."""
    text = words[0] if words else ""
    if not re.fullmatch(r"[0-9]+", text.strip(C_SPACE)):
        error(diags, node, f"{canonical_name(node)} requires a non-negative integer, not '{text}'",
              hint="write the size in bytes as plain digits")
        return 0
    return int(text)


def words_value(words: list[str], node: Any, diags: Diagnostics) -> list[str]:
    """All the argument words as a list (ITERATE, TAKE_ARGV)."""
    return list(words)


def choice(*allowed: str, message: str) -> Callable[[list[str], Any, Diagnostics], str]:
    """One of `allowed` (case-insensitive) -> the canonical spelling; Apache's `message` otherwise.

    `message` may use {arg} and {name}."""
    canon = {a.lower(): a for a in allowed}

    def parse(words: list[str], node: Any, diags: Diagnostics) -> str:
        arg = words[0] if words else ""
        if arg.lower() not in canon:
            error(diags, node, message.format(arg=arg, name=canonical_name(node)),
                  hint="use one of: " + ", ".join(allowed))
            return arg
        return canon[arg.lower()]

    parse.__doc__ = "one of " + ", ".join(allowed)
    return parse
