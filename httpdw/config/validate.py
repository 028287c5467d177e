"""Validation: check every directive of a processed tree against the registry, in Apache's order.

For each node, as Apache's config.c and the handlers do:

1. the name must be known (else HDW0101, Apache's "Invalid command" text, plus a did-you-mean);
2. the directory-context check (`X not allowed in <Directory> context`, `X not allowed here`);
3. the argument count for the declared Syntax, with Apache's wording;
4. the handler's own context checks (`X cannot occur within <VirtualHost> section`, ...);
5. what httpdw does with it (IGNORED / NOT_APPLICABLE: warning; REFUSED: error);
6. the value parser, which reports Apache's value errors.

Unlike Apache, which stops at the first error, every node is checked, so one run reports every
problem. The result gives the parsed value of every node and, for the worker rules, the values
set at server level (outside <VirtualHost> and directory sections), aliases folded.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.directives.apache_known import apache_facts, module_identifiers
from httpdw.config.directives.core import CONDITIONAL_SECTIONS, DIRECTORY_SECTIONS
from httpdw.config.registry import Context, DirectiveSpec, Registry, Status, Syntax, registry
from httpdw.config.tree import ConfigTree, Node
from httpdw.config.values import module_loaded, using_context, within_sections


@dataclass
class ValidationResult:
    """What validation learned: parsed values, by node and (for the server level) by directive."""

    #: canonical directive name -> [(value, node)] set at server level, in file order; aliases folded
    #: (MaxClients lines are listed under MaxRequestWorkers). Nodes with errors are left out.
    server_values: dict[str, list[tuple[Any, Node]]] = field(default_factory=dict)
    _values: dict[int, tuple[Node, Any]] = field(default_factory=dict, repr=False)
    _specs: dict[int, DirectiveSpec] = field(default_factory=dict, repr=False)

    def value_of(self, node: Node) -> Any:
        """The parsed value of any directive node (None if it had errors or is not implemented)."""
        entry = self._values.get(id(node))
        return entry[1] if entry is not None and entry[0] is node else None

    def spec_of(self, node: Node) -> DirectiveSpec | None:
        """The declaration a node was checked against (None for unknown names)."""
        return self._specs.get(id(node))

    def last(self, name: str, default: Any = None) -> Any:
        """The last server-level value of a directive (Apache: the last occurrence wins)."""
        entries = self.server_values.get(name)
        return entries[-1][0] if entries else default


@dataclass(frozen=True)
class Scope:
    """Where a node sits: the innermost directory-type section and whether inside <VirtualHost>."""

    sections: tuple[Node, ...] = ()          #: enclosing sections, outermost first (conditionals excluded)

    @property
    def dir_section(self) -> Node | None:
        for node in reversed(self.sections):
            if node.key in DIRECTORY_SECTIONS:
                return node
        return None

    @property
    def vhost(self) -> Node | None:
        return next((n for n in self.sections if n.key == "virtualhost"), None)

    @property
    def in_vhost(self) -> bool:
        return self.vhost is not None

    @property
    def context(self) -> Context:
        if self.dir_section is not None:
            return Context.DIRECTORY
        return Context.VHOST if self.in_vhost else Context.SERVER

    def within(self, node: Node) -> "Scope":
        return Scope(self.sections + (node,))


#: deepest section nesting checked (the walk is recursive; the loader has its own, lower, limit)
MAX_DEPTH = 200

#: distinct unknown names per run that get a did-you-mean (each costs a fuzzy search of the registry)
MAX_SUGGESTIONS = 200

# Which section names each not_within keyword covers, and Apache's wording for it
NOT_WITHIN = {
    "Location": ({"location", "locationmatch"}, "<Location>"),
    "Directory": ({"directory", "directorymatch"}, "<Directory>"),
    "Files": ({"files", "filesmatch"}, "<Files>"),
    "Limit": ({"limit", "limitexcept"}, "<Limit> or <LimitExcept>"),
    "VirtualHost": ({"virtualhost"}, "<VirtualHost>"),
}


def validate(tree: ConfigTree, diags: Diagnostics) -> ValidationResult:
    """Check every node of a processed tree; report into `diags`; return the parsed values."""
    result = ValidationResult()
    validator = _Validator(registry(), diags, result)
    with using_context(tree.server_root, frozenset(tree.loaded_modules)):
        validator.walk(tree.nodes, Scope())
    check_duplicate_listeners(result, diags)
    return result


class _Validator:
    def __init__(self, reg: Registry, diags: Diagnostics, result: ValidationResult):
        self.reg = reg
        self.diags = diags
        self.result = result
        self._candidates: dict[bool, dict[str, DirectiveSpec]] = {}
        self._suggestions: dict[tuple[str, bool], str | None] = {}
        #: spec key -> (index in diags.items, message) of the warning for an ignored directive
        self._ignored: dict[str, tuple[int, str]] = {}

    def walk(self, nodes: list[Node], scope: Scope, depth: int = 0) -> None:
        previous: Node | None = None
        for node in nodes:
            if node.is_section and depth >= MAX_DEPTH:
                self.diags.error("HDW0008", f"sections nested more than {MAX_DEPTH} deep: {node.display_name}> "
                                 "and its contents were not checked", node.pos,
                                 hint="flatten the configuration; real configs nest a few levels at most")
                continue
            if node.is_section and node.key in CONDITIONAL_SECTIONS:
                # the loader resolved it already; if a wrapper remains it is transparent, like in Apache
                self.walk(node.children or [], scope, depth + 1)
                continue
            self.check_else_order(node, previous)
            spec = self.check_node(node, scope)
            if node.is_section and spec is not None and spec.status is Status.IMPLEMENTED:
                # children of sections httpdw does not implement (<Proxy>, <Perl>, <Macro>) use that
                # module's language: they are reported with the section, not one by one
                self.walk(node.children or [], scope.within(node), depth + 1)
            previous = node

    # ------------------------------------------------------------------ one node

    def check_node(self, node: Node, scope: Scope) -> DirectiveSpec | None:
        spec = self.reg.get(node.name) if node.name else None
        if spec is None or spec.section != node.is_section:
            self.report_unknown(node)
            return None
        self.result._specs[id(node)] = spec
        errors_before = len(self.diags.errors)
        if not (self.check_context(node, spec, scope) and self.check_arity(node, spec)
                and self.check_handler_context(node, spec, scope)):
            return spec
        if not self.check_status(node, spec):
            return spec
        value = self.parse_value(node, spec, scope)
        self.result._values[id(node)] = (node, value)
        if len(self.diags.errors) == errors_before and scope.context is Context.SERVER and not spec.section:
            name = spec.alias_of or spec.name
            self.result.server_values.setdefault(name, []).append((value, node))
        return spec

    def report_unknown(self, node: Node) -> None:
        shown = node.display_name
        suggestion = self.did_you_mean(node)
        hint = f"did you mean '{suggestion}'?" if suggestion else \
            "check the spelling, or remove the line if it belongs to a module httpdw does not know"
        if re.search(r"[=:]", node.name):
            hint += f" Apache reads everything up to the first blank as the name: write " \
                    f"'{re.split(r'[=:]', node.name, maxsplit=1)[0]} value'"
        self.diags.error("HDW0101", f"Invalid command '{shown}', perhaps misspelled or defined by a module not "
                         "included in the server configuration", node.pos, hint=hint)

    def did_you_mean(self, node: Node) -> str | None:
        """The closest known name of the same kind (section or directive), case-insensitively."""
        key = node.name.lower()
        cache_key = (key, node.is_section)
        if cache_key not in self._suggestions:
            if len(self._suggestions) >= MAX_SUGGESTIONS:
                return None   # a file of junk: stay fast rather than suggest for every line
            self._suggestions[cache_key] = self._closest(key, node.is_section)
        return self._suggestions[cache_key]

    def _closest(self, key: str, section: bool) -> str | None:
        if section not in self._candidates:
            self._candidates[section] = {s.key: s for s in self.reg.specs.values() if s.section == section}
        candidates = self._candidates[section]
        base = re.split(r"[=:]", key, maxsplit=1)[0]
        if base in candidates and base != key:
            match = [base]
        else:
            # only names of similar length can reach the cutoff: this keeps junk input fast
            near = [c for c in candidates if abs(len(c) - len(key)) <= max(3, len(key) // 3)]
            match = difflib.get_close_matches(key, near, n=1, cutoff=0.75)
        if not match:
            return None
        spec = candidates[match[0]]
        return f"<{spec.name.lstrip('<')}>" if spec.section else spec.name

    def check_context(self, node: Node, spec: DirectiveSpec, scope: Scope) -> bool:
        """config.c's override check: may this directive appear in this kind of place at all?"""
        if spec.contexts & scope.context or spec.exec_on_read:
            return True
        shown = self.shown(spec)
        inner = scope.dir_section or scope.vhost
        if scope.context is Context.SERVER:
            message = f"{shown} not allowed here"
            hint = "it is only allowed inside <Directory>, <Location>, <Files> or <If>"
        else:
            where = f"<{self.canonical(inner)}>"
            message = f"{shown} not allowed in {where} context"
            hint = (f"move it out of the {where} section" if spec.contexts & (Context.SERVER | Context.VHOST)
                    else "it is only allowed inside <Directory>, <Location>, <Files> or <If>")
        self.diags.error("HDW0102", message, node.pos, hint=hint)
        return False

    def check_handler_context(self, node: Node, spec: DirectiveSpec, scope: Scope) -> bool:
        """The handler's ap_check_cmd_context: GLOBAL_ONLY and NOT_IN_* restrictions."""
        gt = ">" if spec.section else ""
        if spec.global_only and scope.in_vhost:
            self.diags.error("HDW0102", f"{self.shown(spec)}{gt} cannot occur within <VirtualHost> section",
                             node.pos, hint="move it to the main server config, outside <VirtualHost>")
            return False
        for keyword in spec.not_within:
            keys, shown_within = NOT_WITHIN[keyword]
            if any(s.key in keys for s in scope.sections):
                self.diags.error("HDW0102", f"{self.shown(spec)}{gt} cannot occur within {shown_within} section",
                                 node.pos, hint=f"move it out of the {shown_within} section")
                return False
        return True

    def check_arity(self, node: Node, spec: DirectiveSpec) -> bool:
        words = node.words()
        if arity_ok(spec.syntax, words):
            return True
        message = spec.syntax.message.format(name=self.shown(spec), desc=spec.desc)
        if not spec.desc:   # Apache adds ", <desc>" only when the command table has a description
            message = message.removesuffix(", ").removesuffix(": ")
        self.diags.error("HDW0103", message, node.pos, hint=arity_hint(spec))
        return False

    def check_status(self, node: Node, spec: DirectiveSpec) -> bool:
        """Report what httpdw does with a directive it does not implement; True if the value is parsed."""
        module = module_display(spec)
        shown = self.shown(spec)
        if spec.status in (Status.IGNORED, Status.REFUSED, Status.NOT_APPLICABLE) and not self.loaded(spec):
            # Apache does not know a directive whose module is not loaded: same verdict, better hint
            self.diags.error("HDW0107", f"Invalid command '{shown}', perhaps misspelled or defined by a module "
                             "not included in the server configuration", node.pos,
                             hint=f"{shown} belongs to {module}, which is not loaded (no LoadModule "
                                  f"{spec.module}); httpdw does not implement {module} either: "
                                  + ("remove the line" if spec.status is not Status.REFUSED else
                                     f"serve this site with Apache ({spec.note})"))
            return False
        # "of mod_expires, which httpdw does not implement" / "of mod_alias, which httpdw implements in part"
        whose = f"{module}, which httpdw {'implements only in part' if self.provided(spec) else 'does not implement'}"
        if spec.status is Status.IGNORED:
            self.warn_once(node, spec, "HDW0105", f"{shown} is a directive of {whose}: ignored",
                           hint="remove it, or keep it for Apache; httpdw runs without it")
            return False
        if spec.status is Status.REFUSED:
            self.diags.error("HDW0106", f"{shown} is a directive of {whose}; ignoring it would change who can "
                             f"reach what ({spec.note})", node.pos,
                             hint="serve this site with Apache, or remove the directive after checking that "
                                  "httpdw's own access rules (Require, Allow/Deny) give the protection you need")
            return False
        if spec.status is Status.NOT_APPLICABLE:
            self.warn_once(node, spec, "HDW0109", f"{shown} is a directive of {module}; httpdw runs the worker MPM: "
                           "ignored", hint="use the worker equivalents (ThreadsPerChild, MinSpareThreads, "
                                           "MaxSpareThreads, MaxRequestWorkers)")
            return False
        return True  # IMPLEMENTED, and REMOVED (accepted; the rules report what they need)

    @staticmethod
    def provided(spec: DirectiveSpec) -> bool:
        """Is the directive's module one httpdw provides (core, the worker MPM, mod_alias, ...)?"""
        from httpdw.config.modules import always_loaded
        return spec.module in ("core", "core_module") or spec.module in always_loaded()

    @staticmethod
    def loaded(spec: DirectiveSpec) -> bool:
        """Is the directive's module loaded (LoadModule, or always there in httpdw)?"""
        return any(module_loaded(m) for m in module_identifiers(spec.module))

    def warn_once(self, node: Node, spec: DirectiveSpec, code: str, message: str, hint: str) -> None:
        """One warning per ignored directive name, at its first line; later lines are added to it as
        related places (a stock Debian config has 39 AddIcon lines: one warning says it all)."""
        first = self._ignored.get(spec.key)
        if first is None:
            self._ignored[spec.key] = (len(self.diags.items), message)
            self.diags.warning(code, message, node.pos, hint=hint)
            return
        index, base_message = first
        previous = self.diags.items[index]
        related = previous.related + ((node.pos,) if node.pos is not None else ())
        self.diags.items[index] = dataclasses.replace(
            previous, related=related, message=f"{base_message} (also on {len(related)} other "
                                               f"line{'s' if len(related) > 1 else ''})")

    def parse_value(self, node: Node, spec: DirectiveSpec, scope: Scope) -> Any:
        words = [node.args] if spec.syntax is Syntax.RAW_ARGS else node.words()
        if spec.syntax is Syntax.ITERATE:
            words = words[:words.index("")] if "" in words else words   # Apache stops at an empty word
        if spec.parse is None:
            return words
        try:
            with within_sections(tuple(self.canonical(n) for n in scope.sections)):
                return spec.parse(words, node, self.diags)
        except Exception as exc:  # a parser bug must not become a traceback for the user
            self.diags.error("HDW0104", f"{spec.name}: could not read the value ({type(exc).__name__}: {exc})",
                             node.pos, hint="this is a bug in httpdw; please report it with this line")
            return None

    def check_else_order(self, node: Node, previous: Node | None) -> None:
        """<Else>/<ElseIf> must follow an <If> or <ElseIf> in the same scope."""
        if node.is_section and node.key in ("else", "elseif"):
            if previous is None or not previous.is_section or previous.key not in ("if", "elseif"):
                self.diags.error("HDW0002", "<Else> or <ElseIf> section without previous <If> or <ElseIf> "
                                 "section in same scope", node.pos, hint="put it right after the <If> section")

    # ------------------------------------------------------------------ naming

    def canonical(self, node: Node | None) -> str:
        if node is None:
            return ""
        spec = self.reg.get(node.name)
        return spec.name.lstrip("<") if spec is not None else node.name

    @staticmethod
    def shown(spec: DirectiveSpec) -> str:
        """The name as Apache's messages spell it: its command table's spelling (mod_access_compat's
        `allow`, core's `LimitRequestFieldsize`), sections with their '<'."""
        facts = apache_facts(spec.name)
        name = facts.name if facts is not None else spec.name
        return name if not spec.section else f"<{name.lstrip('<')}"


def module_display(spec: DirectiveSpec) -> str:
    """`rewrite_module` -> `mod_rewrite`; the MPMs by name."""
    module = spec.module
    if module.startswith("mpm_") and module.endswith("_module"):
        return f"the {module[4:-7]} MPM"
    if module in ("core", "core_module"):
        return "Apache's core"
    return "mod_" + module[:-len("_module")] if module.endswith("_module") else module


def arity_ok(syntax: Syntax, words: list[str]) -> bool:
    """Apache's argument-count rules (config.c invoke_cmd), including that "" counts as missing."""
    n = len(words)
    first = n > 0 and words[0] != ""
    if syntax is Syntax.NO_ARGS:
        return n == 0
    if syntax is Syntax.TAKE1:
        return n == 1 and first
    if syntax is Syntax.TAKE2:
        return n == 2 and first and words[1] != ""
    if syntax is Syntax.TAKE3:
        return n == 3 and all(words)
    if syntax is Syntax.TAKE12:
        return 1 <= n <= 2 and first
    if syntax is Syntax.TAKE23:
        return 2 <= n <= 3 and first and words[1] != ""
    if syntax is Syntax.TAKE123:
        return 1 <= n <= 3 and first
    if syntax is Syntax.TAKE13:
        return first and (n == 1 or n == 3 or (n == 2 and words[1] == ""))
    if syntax is Syntax.FLAG:
        return n == 1 and words[0].lower() in ("on", "off")
    if syntax is Syntax.ITERATE:
        return first
    if syntax is Syntax.ITERATE2:
        return first and n >= 2
    return True   # TAKE_ARGV, RAW_ARGS: the handler checks


def arity_hint(spec: DirectiveSpec) -> str:
    if spec.syntax is Syntax.FLAG:
        return f"write {spec.name} On or {spec.name} Off"
    counts = {Syntax.NO_ARGS: "no arguments", Syntax.TAKE1: "exactly one argument (quote it if it contains blanks)",
              Syntax.TAKE2: "exactly two arguments", Syntax.TAKE3: "exactly three arguments",
              Syntax.TAKE12: "one or two arguments", Syntax.TAKE23: "two or three arguments",
              Syntax.TAKE123: "one to three arguments", Syntax.TAKE13: "one or three arguments",
              Syntax.ITERATE: "one or more arguments", Syntax.ITERATE2: "two or more arguments"}
    return f"{spec.name} takes {counts.get(spec.syntax, 'other arguments')}; an empty \"\" counts as none, " \
           "and a '#' after the arguments is not a comment"


def check_duplicate_listeners(result: ValidationResult, diags: Diagnostics) -> None:
    """listen.c: the same address string and port twice -> `Cannot define multiple Listeners ...`."""
    seen: dict[tuple[str | None, int], Pos | None] = {}
    kept = []
    for listener, node in result.server_values.get("Listen", []):
        if listener is None:
            continue
        key = (listener.host, listener.port)
        if key in seen:
            diags.error("HDW0104", "Cannot define multiple Listeners on the same IP:port", node.pos,
                        hint="remove the duplicate Listen line", related=(seen[key],) if seen[key] else ())
            continue
        seen[key] = node.pos
        kept.append((listener, node))
    if "Listen" in result.server_values:
        result.server_values["Listen"] = kept

