"""Diagnostics: every problem the config layer finds, with its position, code and hint.

A diagnostic never raises: the layers collect them in a `Diagnostics` list and go on, so `configtest`
can report every problem, not only the first (Apache stops at the first).

Codes: Apache's own AH codes where Apache has one for the same condition (e.g. AH00316), otherwise
httpdw's own `HDW` codes, listed in CODES below with their one-line meaning (the man page shows them).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Pos:
    """A place in a config file: path as given/resolved, 1-based line and column.

    For a directive continued over several physical lines with a trailing backslash, `line` is the
    *last* physical line (Apache reports errors there)."""

    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str          # "AH00316", "HDW0101", ...
    message: str       # Apache's wording where Apache has one
    pos: Pos | None = None
    hint: str | None = None
    #: other places this diagnostic is about (e.g. the two lines of a 2.0 ordering warning)
    related: tuple[Pos, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict:
        d = {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.pos.file if self.pos else None,
            "line": self.pos.line if self.pos else None,
            "column": self.pos.col if self.pos else None,
            "hint": self.hint,
        }
        if self.related:
            d["related"] = [{"file": p.file, "line": p.line, "column": p.col} for p in self.related]
        return d


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics, appended to by every config stage."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, severity: Severity, code: str, message: str, pos: Pos | None = None,
            hint: str | None = None, related: tuple[Pos, ...] = ()) -> Diagnostic:
        d = Diagnostic(severity, code, message, pos, hint, related)
        self.items.append(d)
        return d

    def error(self, code: str, message: str, pos: Pos | None = None, hint: str | None = None,
              related: tuple[Pos, ...] = ()) -> Diagnostic:
        return self.add(Severity.ERROR, code, message, pos, hint, related)

    def warning(self, code: str, message: str, pos: Pos | None = None, hint: str | None = None,
                related: tuple[Pos, ...] = ()) -> Diagnostic:
        return self.add(Severity.WARNING, code, message, pos, hint, related)

    def note(self, code: str, message: str, pos: Pos | None = None, hint: str | None = None) -> Diagnostic:
        return self.add(Severity.NOTE, code, message, pos, hint)

    def extend(self, other: "Diagnostics | list[Diagnostic]") -> None:
        self.items.extend(other.items if isinstance(other, Diagnostics) else other)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


#: httpdw's own diagnostic codes (Apache's AH codes are used as-is where they apply).
#: One line each; the man page and `--format json` documentation are generated from this table.
CODES: dict[str, str] = {
    # syntax / structure (grammar, loader)
    "HDW0001": "the file could not be read (missing, unreadable, a directory where a file was expected)",
    "HDW0002": "a section was not closed, closed twice, or closed by the wrong closer",
    "HDW0003": "a section opener is malformed (missing '>', missing arguments)",
    "HDW0004": "an Include cycle (the chain of files is shown)",
    "HDW0005": "Include names a file or pattern that matches nothing",
    "HDW0006": "a config variable ${X} is used but not defined (Apache AH00111)",
    "HDW0007": "an `Error` directive was reached",
    "HDW0008": "nesting or include depth limit exceeded",
    # directives (registry / validation)
    "HDW0101": "unknown directive (with a did-you-mean suggestion)",
    "HDW0102": "directive not allowed in this context",
    "HDW0103": "wrong number of arguments",
    "HDW0104": "invalid argument value",
    "HDW0105": "a real Apache directive that httpdw does not implement: ignored",
    "HDW0106": "a real Apache directive that httpdw does not implement and cannot safely ignore "
               "(access control, authentication, TLS, rewrite, proxy)",
    "HDW0107": "a directive of a module that is not loaded",
    "HDW0108": "LoadModule names a module httpdw knows but does not implement",
    "HDW0109": "directive is not applicable to the worker MPM (prefork/other MPM only)",
    "HDW0110": "another MPM is loaded; httpdw runs worker",
    "HDW0111": "a number is not a plain integer; Apache would read it with atoi",
    "HDW0112": "a deprecated or obsolete directive",
    "HDW0113": "an .htaccess file where AllowOverride allows one: httpdw does not read .htaccess, "
               "so requests below it fail closed (500)",
    "HDW0114": "an <If>/<ElseIf>/<Else> block: httpdw does not evaluate expressions, so requests it could "
               "apply to fail closed (500)",
    # worker rules
    "HDW0201": "the result would differ under Apache 2.0's parse-time checks (directive order)",
    "HDW0202": "a start-time floor or clamp changes the effective value",
}
