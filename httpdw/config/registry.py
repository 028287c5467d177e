"""The directive registry: each directive is declared exactly once, here or in `directives/`.

A `DirectiveSpec` carries everything httpdw knows about one directive: name, Apache module,
argument syntax, allowed contexts, value parser, default, one-line doc and whether httpdw
implements it. That one table drives validation (names, contexts, arity, values), error texts,
did-you-mean, `httpdw -L` and the man page `httpdw.conf(5)`, as gunicorn's config.py does for
its settings.

Declarations live in `httpdw/config/directives/<area>.py` modules, each calling `declare(...)`
at import time; `registry()` imports them all once and returns the frozen table.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable


class Syntax(enum.Enum):
    """Apache's argument shapes (include/http_config.h `cmd_how`).

    Each value is (min, max, Apache's wording of the arity error); max None = unbounded."""

    TAKE1 = (1, 1, "{name} takes one argument, {desc}")
    TAKE2 = (2, 2, "{name} takes two arguments, {desc}")
    TAKE3 = (3, 3, "{name} takes three arguments, {desc}")
    TAKE12 = (1, 2, "{name} takes 1-2 arguments, {desc}")
    TAKE23 = (2, 3, "{name} takes two or three arguments, {desc}")
    TAKE123 = (1, 3, "{name} takes one, two or three arguments, {desc}")
    TAKE13 = (1, 3, "{name} takes one or three arguments, {desc}")  # 2 is refused too
    NO_ARGS = (0, 0, "{name} takes no arguments")
    FLAG = (1, 1, "{name} must be On or Off")
    ITERATE = (1, None, "{name} requires at least one argument, {desc}")
    ITERATE2 = (2, None, "{name} requires at least two arguments, {desc}")
    TAKE_ARGV = (0, None, "{name}: {desc}")   # the value parser checks the count itself
    # (the 4th item keeps RAW_ARGS a member of its own: with equal values Enum would make it an
    # alias of TAKE_ARGV, and RAW_ARGS parsers would get split words instead of the raw text)
    RAW_ARGS = (0, None, "{name}: {desc}", "raw")    # the raw text is handed to the value parser

    @property
    def min(self) -> int:
        return self.value[0]

    @property
    def max(self) -> int | None:
        return self.value[1]

    @property
    def message(self) -> str:
        return self.value[2]


class Context(enum.Flag):
    """Where a directive may appear (Apache's RSRC_CONF / ACCESS_CONF / OR_* in one flag set)."""

    SERVER = enum.auto()      #: the main server config, outside any section but conditionals
    VHOST = enum.auto()       #: inside <VirtualHost>
    DIRECTORY = enum.auto()   #: inside <Directory>, <Location>, <Files>, their *Match forms, <If>, <Limit>
    HTACCESS = enum.auto()    #: in .htaccess (httpdw does not read .htaccess; kept for the docs)

    #: RSRC_CONF: server config and virtual host
    @classmethod
    def server_and_vhost(cls) -> "Context":
        return cls.SERVER | cls.VHOST

    @classmethod
    def all(cls) -> "Context":
        return cls.SERVER | cls.VHOST | cls.DIRECTORY | cls.HTACCESS


class Status(enum.Enum):
    """What httpdw does with a directive."""

    IMPLEMENTED = "implemented"          #: httpdw honours it
    IGNORED = "ignored"                  #: a real Apache directive httpdw does not implement: warning
    REFUSED = "refused"                  #: not implemented and ignoring it would change who can reach
                                         #: what (access control, auth, TLS, rewrite, proxy): error
    NOT_APPLICABLE = "not-applicable"    #: another MPM's directive (prefork, event-only): warning
    REMOVED = "removed"                  #: existed in Apache 2.0/2.2, removed in 2.4, accepted by httpdw


#: A value parser: gets the argument words (or, for RAW_ARGS, a one-element list with the raw text),
#: the node (for positions) and a diagnostics sink; returns the typed value. It reports problems into
#: the sink (with Apache's wording) instead of raising.
ValueParser = Callable[[list[str], Any, Any], Any]


@dataclass(frozen=True)
class DirectiveSpec:
    name: str                         #: canonical spelling, e.g. "ThreadsPerChild"; sections as "<Directory"
    module: str                       #: Apache module identifier, e.g. "mpm_worker_module", "core", "mime_module"
    syntax: Syntax
    contexts: Context
    doc: str                          #: one line, for -L and the man page
    desc: str = ""                    #: Apache's command-table description (used in arity errors)
    parse: ValueParser | None = None  #: None: the words themselves are the value
    default: Any = None
    default_doc: str = ""             #: how the default is shown in docs when `default` is not plain
    status: Status = Status.IMPLEMENTED
    global_only: bool = False         #: ap_check_cmd_context(GLOBAL_ONLY): "cannot occur within <VirtualHost>"
    alias_of: str | None = None       #: e.g. MaxClients -> MaxRequestWorkers (same handler, last wins)
    section: bool = False             #: a container (<Directory ...> ... </Directory>)
    since: str = ""                   #: e.g. "2.4" / "2.0 only" for docs
    #: sections this one may not be nested in (Apache's ap_check_cmd_context NOT_IN_*): "Location" means
    #: "cannot occur within <Location> section" (also <LocationMatch>), "Limit" means "... within
    #: <Limit> or <LimitExcept> section", likewise "Directory" and "Files"
    not_within: tuple[str, ...] = ()
    #: processed while the file is read (Apache's EXEC_ON_READ: ServerRoot, LoadModule, Include, ...):
    #: Apache runs these before any context check, so they are accepted anywhere
    exec_on_read: bool = False
    #: why httpdw ignores/refuses it, or how httpdw differs from Apache (shown in hints, -L, man page)
    note: str = ""

    @property
    def key(self) -> str:
        return self.name.lower().lstrip("<")


@dataclass
class Registry:
    specs: dict[str, DirectiveSpec] = field(default_factory=dict)   #: key (lower, no '<') -> spec

    def declare(self, spec: DirectiveSpec) -> DirectiveSpec:
        if spec.key in self.specs:
            raise ValueError(f"directive {spec.name} declared twice")   # one place for each fact
        self.specs[spec.key] = spec
        return spec

    def get(self, name: str) -> DirectiveSpec | None:
        return self.specs.get(name.lower().lstrip("<"))

    def __iter__(self):
        return iter(sorted(self.specs.values(), key=lambda s: s.key))

    def __len__(self) -> int:
        return len(self.specs)


_REGISTRY = Registry()
_LOADED = False


def declare(name: str, module: str, syntax: Syntax, contexts: Context, doc: str, **kw: Any) -> DirectiveSpec:
    """Declare one directive (called by the `directives/` modules at import time)."""
    section = name.startswith("<")
    return _REGISTRY.declare(DirectiveSpec(name=name.lstrip("<") if not section else name, module=module,
                                           syntax=syntax, contexts=contexts, doc=doc, section=section, **kw))


def registry() -> Registry:
    """The complete registry, every declaration module imported once."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from httpdw.config import directives  # noqa: F401  (imports every declaration module)
    return _REGISTRY
