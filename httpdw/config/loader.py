"""The loader: a config file and everything it pulls in -> one processed `ConfigTree`.

It does what Apache does while *reading* a config (the EXEC_ON_READ directives), in file order:

* `Include` / `IncludeOptional`: files, whole directories (every entry, sorted), wildcards in any
  path segment (sorted; a wildcard never matches a dot-file), ServerRoot-relative paths. The
  included nodes replace the Include line; each keeps its own file/line and records, in
  `include_chain`, the Include lines that brought it in. Cycles are reported with the chain of
  files (HDW0004) instead of Apache's "Exceeded maximum include depth".
* `ServerRoot` (later relative paths use it), `Define` / `UnDefine`, `${VAR}` substitution (Define'd
  values, then the environment; an undefined one warns AH00111 and stays literal), `Error`.
* `LoadModule`, in order, so that a later `<IfModule>` sees it (modules.py says what each is).
* The conditional sections `<IfModule>`, `<IfDefine>`, `<IfVersion>`, `<IfDirective>`,
  `<IfSection>`, `<IfFile>`: a true one is replaced by its contents, a false one is dropped
  without looking inside (unknown directives there are fine, as in Apache).

Directives are otherwise left alone: validation (registry) checks names, contexts and values.
Every problem goes to the Diagnostics; nothing raises.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import httpdw
from httpdw.config import modules
from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.grammar import CONDITIONAL_SECTIONS, ParsedFile, decode_config_bytes, parse_document
from httpdw.config.tree import ConfigTree, Node, split_words

#: The server root when neither -d nor ServerRoot gives one (httpdw's compiled-in default).
DEFAULT_SERVER_ROOT = "/etc/httpdw"
#: Apache's AP_MAX_INCLUDE_DEPTH and AP_MAX_INCLUDE_DIR_DEPTH.
MAX_INCLUDE_DEPTH = 128
MAX_INCLUDE_DIR_DEPTH = 128
#: How many files one Include may expand to. Apache has no such cap, but it stops at the first
#: error; httpdw goes on to report everything, so `Include /` (the whole file system, /proc's
#: self-referencing links included) must not collect millions of paths.
MAX_INCLUDE_FILES = 10_000
#: The nesting budget, in Python frames (see _Loader.enter); an include costs this many.
MAX_NESTING_COST = 600
_INCLUDE_COST = 4
#: How Apache names the pseudo-file of -C / -c directives in its messages.
CMDLINE_FILE = "-c/-C directives"

_INCLUDE_DESC = ("Name(s) of the config file(s) to be included; fails if the wildcard does not match "
                 "at least one file")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_BLANKS = " \t\r\f\v"


def load_tree(config_file: str, *, server_root: str | None = None, defines: Sequence[str] = (),
              directives_before: Sequence[str] = (), directives_after: Sequence[str] = (),
              diags: Diagnostics, env: Mapping[str, str] | None = None) -> ConfigTree:
    """Read `config_file` (and what it includes) into a processed ConfigTree.

    server_root: -d (default DEFAULT_SERVER_ROOT); a relative config_file is resolved against it
      when given, else against the current directory.
    defines: -D names for <IfDefine>; `NAME=value` also sets ${NAME} (an httpdw extension: Apache's
      -D only defines the name).
    directives_before / directives_after: -C / -c directives, processed before / after the file.
    env: the environment ${VAR} falls back to (default os.environ); the CLI layers --envvars on it.
    """
    root = os.path.normpath(os.path.abspath(server_root)) if server_root else DEFAULT_SERVER_ROOT
    loader = _Loader(diags, root, os.environ if env is None else env)
    for item in defines:
        name, eq, value = item.partition("=")
        loader.tree.defines[name] = value
        if eq:
            loader.variables[name] = value
    nodes: list[Node] = []
    if directives_before:
        nodes += loader.process_text("\n".join(directives_before), CMDLINE_FILE)
    if server_root and not os.path.isabs(config_file):
        config_file = os.path.join(root, config_file)
    nodes += loader.load_file(os.path.abspath(config_file), via=None)   # a file, never a directory
    if directives_after:
        nodes += loader.process_text("\n".join(directives_after), CMDLINE_FILE)
    loader.tree.nodes = nodes
    loader.tree.server_root = loader.server_root
    return loader.tree


def read_config_file(path: str, diags: Diagnostics, pos: Pos | None = None) -> str | None:
    """The text of a config file (UTF-8, else latin-1), or None with Apache's error reported.

    Like Apache, only regular files (and /dev/null) are read: a FIFO or a device could block or
    never end."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) and path != "/dev/null":
            diags.error("AH00554", f"Access to file {path} denied by server: not a regular file", pos)
            return None
        with open(path, "rb") as f:
            return decode_config_bytes(f.read())
    except OSError as exc:
        diags.error("HDW0001", f"Could not open configuration file {path}: {_reason(exc)}", pos)
        return None
    except ValueError as exc:      # e.g. a NUL byte in the path
        diags.error("HDW0001", f"Could not open configuration file {path!r}: {exc}", pos)
        return None


# ---------------------------------------------------------------------------------------------


@dataclass
class _FileFacts:
    """What the grammar told us about the files read so far (see grammar.ParsedFile)."""

    closing_quirks: dict = field(default_factory=dict)
    deferred_unclosed: set = field(default_factory=set)
    malformed: set = field(default_factory=set)
    ignored_closers: dict[str, list[tuple[Pos, str]]] = field(default_factory=dict)
    #: the parsed files themselves: the facts are keyed by id(node), so every node must stay
    #: alive until loading ends (a dropped false branch's id could otherwise be reused)
    keep_alive: list[ParsedFile] = field(default_factory=list)

    def add(self, filename: str, parsed: ParsedFile) -> None:
        self.keep_alive.append(parsed)
        self.closing_quirks.update(parsed.closing_quirks)
        self.deferred_unclosed |= parsed.deferred_unclosed
        self.malformed |= parsed.malformed
        if parsed.ignored_closers:
            self.ignored_closers.setdefault(filename, []).extend(parsed.ignored_closers)


class _Loader:
    def __init__(self, diags: Diagnostics, server_root: str, env: Mapping[str, str]):
        self.diags = diags
        self.server_root = server_root
        self.env = env
        self._files_left = MAX_INCLUDE_FILES
        self.variables: dict[str, str] = {}      #: Define NAME value (what ${NAME} reads first)
        self.tree = ConfigTree(server_root=server_root)
        self.facts = _FileFacts()
        self.include_stack: list[str] = []       #: real paths of the files being read
        self.include_chain: tuple[Pos, ...] = ()  #: the Include lines that led here, innermost first
        self.depth = 0                            #: nesting cost in use (see enter)
        self.in_true_unclosed = 0                 #: inside a true conditional that was never closed
        self._loaded_cache: tuple[tuple[str, ...], frozenset[str]] | None = None
        self.handlers: dict[str, Callable[[Node], list[Node] | None]] = {
            "include": lambda n: self.include_directive(n, optional=False),
            "includeoptional": lambda n: self.include_directive(n, optional=True),
            "serverroot": self.server_root_directive,
            "define": self.define_directive,
            "undefine": self.undefine_directive,
            "error": self.error_directive,
            "loadmodule": self.load_module_directive,
        }

    # -- reading files ------------------------------------------------------------------------

    def process_text(self, text: str, filename: str) -> list[Node]:
        parsed = parse_document(text, filename, self.diags)
        self.facts.add(filename, parsed)
        return self.process(parsed.nodes)

    def load_file(self, path: str, via: Node | None) -> list[Node]:
        """Parse and process one file, guarding against include cycles and runaway depth."""
        pos = via.pos if via else None
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError) as exc:     # ValueError: a NUL in a ${VAR} value
            self.diags.error("HDW0001", f"Could not open configuration file {path!r}: {exc}", pos)
            return []
        if real in self.include_stack:
            chain = self.include_stack[self.include_stack.index(real):] + [real]
            self.diags.error("HDW0004", "Include cycle: " + " -> ".join(chain), pos,
                             hint="a file includes itself, directly or through others",
                             related=self.include_chain)
            return []
        if len(self.include_stack) > MAX_INCLUDE_DEPTH:
            self.diags.error("HDW0008", f"Exceeded maximum include depth of {MAX_INCLUDE_DEPTH}, "
                             "There appears to be a recursion.", pos)
            return []
        text = read_config_file(path, self.diags, pos)
        if text is None:
            return []
        self.tree.files.append(path)
        if not self.enter(_INCLUDE_COST, pos):
            return []
        saved_chain = self.include_chain
        self.include_stack.append(real)
        if via is not None:
            self.include_chain = (via.pos,) + self.include_chain
        try:
            parsed = parse_document(text, path, self.diags)
            self.facts.add(path, parsed)
            return self.process(parsed.nodes)
        finally:
            self.include_stack.pop()
            self.include_chain = saved_chain
            self.depth -= _INCLUDE_COST

    def enter(self, cost: int, pos: Pos | None) -> bool:
        """Go one level deeper if the nesting budget allows (else report HDW0008 and refuse).

        Sections, conditionals and includes recurse; `cost` is the number of Python frames each
        adds, so that no config, however deep, can hit RecursionError in this or a later stage."""
        if self.depth + cost > MAX_NESTING_COST:
            self.diags.error("HDW0008", "sections and includes are nested too deeply; the contents "
                             "here are skipped", pos)
            return False
        self.depth += cost
        return True

    # -- the walk -----------------------------------------------------------------------------

    def process(self, nodes: list[Node]) -> list[Node]:
        """Process nodes in file order; returns what remains (includes and true branches inlined)."""
        out: list[Node] = []
        for node in nodes:
            self.substitute(node)
            node.include_chain = self.include_chain
            if node.is_section:
                if node.key in CONDITIONAL_SECTIONS:
                    out += self.conditional(node)
                    continue
                if id(node) in self.facts.deferred_unclosed and self.in_true_unclosed:
                    self.diags.warning("HDW0002", f"<{node.name}> was not closed.", node.pos,
                                       hint="Apache accepts this only because the enclosing conditional "
                                            "section is not closed either; add </" + node.name + ">")
                if self.enter(1, node.pos):
                    try:
                        node.children = self.process(node.children)
                    finally:
                        self.depth -= 1
                else:
                    node.children = []
                out.append(node)
                continue
            handler = self.handlers.get(node.key)
            replacement = handler(node) if handler else None
            if replacement is None:
                out.append(node)
            else:
                out += replacement
        return out

    def substitute(self, node: Node) -> None:
        """Apache's ap_resolve_env on the line: ${NAME} from Define, then the environment."""
        if "${" in node.args:
            node.args = self.resolve(node.args, node.pos)
        if "${" in node.name:
            node.name = self.resolve(node.name, node.pos)

    def resolve(self, text: str, pos: Pos) -> str:
        def value(m: re.Match) -> str:
            name = m.group(1)
            if name in self.variables:
                return self.variables[name]
            if name in self.env:
                return self.env[name]
            self.diags.warning("AH00111", f"Config variable ${{{name}}} is not defined", pos,
                               hint="Define it, set it in the environment, or pass --envvars FILE")
            return m.group(0)
        return _VARIABLE.sub(value, text)

    # -- directives the loader acts on --------------------------------------------------------

    def include_directive(self, node: Node, *, optional: bool) -> list[Node] | None:
        words = split_words(node.args)
        if len(words) != 1:
            return None      # validation reports the arity with Apache's wording
        path = self.root_relative(words[0])
        return self.include_path(path, optional=optional, via=node)

    def include_path(self, path: str, *, optional: bool, via: Node | None) -> list[Node]:
        pos = via.pos if via else None
        self._files_left = MAX_INCLUDE_FILES
        try:
            files = self.expand(path, optional, pos)
        except _TooManyFiles:
            self.diags.error("HDW0008", f"Include of '{path}' matches more than {MAX_INCLUDE_FILES} files", pos,
                             hint="name the directory or pattern that holds the config files")
            return []
        out: list[Node] = []
        for file in files:
            out += self.load_file(file, via)
        return out

    def _count_file(self) -> None:
        """One more file for the current Include (see MAX_INCLUDE_FILES)."""
        self._files_left -= 1
        if self._files_left < 0:
            raise _TooManyFiles

    def server_root_directive(self, node: Node) -> None:
        words = split_words(node.args)
        if len(words) != 1 or not words[0]:
            return None      # arity (`ServerRoot ""` too) is validation's
        path = os.path.normpath(self.root_relative(words[0]))
        if not os.path.isdir(path):
            self.diags.error("HDW0104", "ServerRoot must be a valid directory", node.pos,
                             hint=f"{path} is not a directory")
            return None
        self.server_root = path
        self.tree.server_root = path
        return None

    def define_directive(self, node: Node) -> None:
        words = split_words(node.args)
        if not 1 <= len(words) <= 2:
            return None
        name = words[0]
        if ":" in name:
            self.diags.error("HDW0104", "Variable name must not contain ':'", node.pos)
            return None
        self.tree.defines[name] = words[1] if len(words) == 2 else ""
        if len(words) == 2:
            self.variables[name] = words[1]
        return None

    def undefine_directive(self, node: Node) -> None:
        words = split_words(node.args)
        if len(words) != 1:
            return None
        if ":" in words[0]:
            self.diags.error("HDW0104", "Variable name must not contain ':'", node.pos)
            return None
        self.tree.defines.pop(words[0], None)
        self.variables.pop(words[0], None)
        return None

    def error_directive(self, node: Node) -> None:
        message = node.args
        if len(message) > 1 and message[0] == '"' and message[-1] == '"':
            message = message[1:-1]      # Apache cuts one pair of surrounding double quotes
        self.diags.error("HDW0007", message or "The Error directive was used with no message.", node.pos)
        return None

    def load_module_directive(self, node: Node) -> None:
        words = split_words(node.args)
        if len(words) != 2:
            return None
        identifier, so_path = words
        if identifier in self.tree.loaded_modules:
            self.diags.warning("AH01574", f"module {identifier} is already loaded, skipping", node.pos)
            return None
        module = modules.MODULES.get(identifier)
        shared_object = modules.lookup(os.path.basename(so_path)) if so_path.endswith(".so") else None
        if module is not None and shared_object is not None and shared_object is not module:
            # the .so file is another module's: Apache's dlsym of the identifier fails
            self.diags.error("HDW0104", f"Can't locate API module structure `{identifier}' in file {so_path}",
                             node.pos, hint=f"{os.path.basename(so_path)} holds {shared_object.identifier}")
            return None
        self.tree.loaded_modules[identifier] = node
        if module is None:
            self.diags.warning("HDW0108", f"LoadModule {identifier}: a module httpdw does not know; "
                               "it counts as loaded, its directives will be reported as unknown",
                               node.pos, hint=f"from {so_path}")
        elif module.status is modules.ModuleStatus.KNOWN:
            self.diags.warning("HDW0108", f"{identifier} is an Apache module that httpdw does not implement",
                               node.pos, hint="it counts as loaded: its <IfModule> sections are read and "
                                              "its directives reported")
        elif module.status is modules.ModuleStatus.OTHER_MPM:
            self.diags.warning("HDW0110", f"{identifier} is loaded; httpdw always runs the worker MPM",
                               node.pos, hint="event's directives are the worker's and apply; prefork-only "
                                              "ones are reported as not applicable")
        return None

    def loaded_identifiers(self) -> frozenset[str]:
        """Built-in and provided modules plus those LoadModule named so far (cached per change)."""
        if self._loaded_cache is None or len(self._loaded_cache[0]) != len(self.tree.loaded_modules):
            names = tuple(self.tree.loaded_modules)
            self._loaded_cache = (names, modules.always_loaded() | frozenset(names))
        return self._loaded_cache[1]

    # -- conditional sections -----------------------------------------------------------------

    def conditional(self, node: Node) -> list[Node]:
        """A true conditional's processed contents, or nothing, with Apache's end-of-file rules."""
        if id(node) in self.facts.malformed:
            return []        # "missing closing '>'" was reported; Apache would stop there
        truth = self.evaluate(node)
        quirk = self.facts.closing_quirks.get(id(node))
        if not truth:
            if node.end_pos is None and truth is not None:
                self.diags.error("HDW0002", f"Expected </{node.name}> before end of configuration",
                                 node.pos, hint=self.unclosed_hint(node))
            elif quirk is not None and quirk.message_if_false and truth is not None:
                self.diags.error("HDW0002", quirk.message_if_false, quirk.pos,
                                 hint=f"close with </{node.name}>")
            return []
        if quirk is not None:
            self.diags.error("HDW0002", quirk.message, quirk.pos,
                             hint=f"inside a true <{node.name}>, the closer must be alone on its line")
        if not self.enter(2, node.pos):
            return []
        unclosed = node.end_pos is None
        self.in_true_unclosed += unclosed
        try:
            return self.process(node.children)
        finally:
            self.in_true_unclosed -= unclosed
            self.depth -= 2

    def unclosed_hint(self, node: Node) -> str:
        for pos, tag in self.facts.ignored_closers.get(node.pos.file, ()):
            if tag.lower() == f"</{node.key}>" and pos.line > node.pos.line:
                return (f"the {tag} on line {pos.line} follows another closer on the same line, "
                        "which Apache ignores; put it on its own line")
        return f"add </{node.name}>"

    def evaluate(self, node: Node) -> bool | None:
        """Is the conditional true? None when its argument is invalid (reported)."""
        if node.key == "ifversion":
            return self.if_version(node)
        negated, name = modules.parse_ifmodule_arg(node.args)
        if not name:
            self.diags.error("HDW0003", f"<{node.name}> directive requires additional arguments", node.pos)
            return None
        if node.key == "ifmodule":
            found = modules.is_loaded(name, self.loaded_identifiers())
        elif node.key == "ifdefine":
            found = name in self.tree.defines
        elif node.key == "iffile":
            found = os.path.exists(self.root_relative(name))
        else:
            found = self.directive_known(name, section=node.key == "ifsection")
        return found != negated

    def directive_known(self, name: str, *, section: bool) -> bool:
        """<IfDirective>/<IfSection>: is the name a directive (section) of a loaded module?"""
        from httpdw.config.registry import registry   # the registry sits above the loader
        if section and name.startswith("<"):
            return False             # `<IfSection <Directory>` is false in Apache
        spec = registry().get(name)
        if spec is None or spec.section != (section or name.startswith("<")):
            return False
        loaded = self.loaded_identifiers()
        return spec.module in ("core", "") or spec.module in loaded

    def if_version(self, node: Node) -> bool | None:
        """mod_version's <IfVersion [[!]op] version>, against httpdw.APACHE_COMPAT_VERSION."""
        words = split_words(node.args)
        if not words or len(words) > 2:
            message = (f"<{node.name}> directive requires additional arguments" if not words
                       else f"<{node.name}> directive missing closing '>'")
            self.diags.error("HDW0003", message, node.pos)
            return None
        op, version = ("=", words[0]) if len(words) == 1 else (words[0], words[1])
        negated = op.startswith("!")
        if negated:
            op = op[1:]
        result = _compare_version(op, version)
        if isinstance(result, str):
            self.diags.error("HDW0003", result, node.pos)
            return None
        return result != negated

    # -- paths --------------------------------------------------------------------------------

    def root_relative(self, path: str) -> str:
        """Apache's ap_server_root_relative."""
        return path if os.path.isabs(path) else os.path.join(self.server_root, path)

    def expand(self, path: str, optional: bool, pos: Pos | None) -> list[str]:
        """The files an Include of `path` reads, in Apache's order."""
        if not _has_wildcard(path):
            return self.files_of(path, optional, pos, 0)
        return self.expand_wildcard(path, optional, pos)

    def files_of(self, path: str, optional: bool, pos: Pos | None, dir_depth: int) -> list[str]:
        """A literal path: a file, or every entry of a directory (sorted, recursively)."""
        if not os.path.isdir(path):
            if optional and not os.path.exists(path):     # missing or a dangling symlink
                return []
            self._count_file()
            return [path]            # read_config_file reports it if it cannot be read
        if dir_depth > MAX_INCLUDE_DIR_DEPTH:
            self.diags.error("HDW0008", f"Directory '{path}' exceeds the maximum include directory nesting "
                             f"level of {MAX_INCLUDE_DIR_DEPTH}. You have probably a recursion somewhere.", pos)
            return []
        try:
            entries = sorted(os.listdir(path))
        except (OSError, ValueError) as exc:
            self.diags.error("HDW0001", f"Could not open directory {path}: {_reason(exc)}", pos)
            return []
        out: list[str] = []
        for entry in entries:
            out += self.files_of(os.path.join(path, entry), optional, pos, dir_depth + 1)
        return out

    def expand_wildcard(self, path: str, optional: bool, pos: Pos | None) -> list[str]:
        """Apache's ap_process_fnmatch_configs: the first segment with a wildcard is matched in its
        directory (dot-files only by a pattern starting with '.'); later segments recurse."""
        segments = path.split("/")
        index = next(i for i, seg in enumerate(segments) if _has_wildcard(seg))
        directory = "/".join(segments[:index]) or "/"
        pattern = segments[index]
        rest = "/".join(segments[index + 1:])
        try:
            entries = sorted(os.listdir(directory))
        except (OSError, ValueError) as exc:
            if not optional:
                self.diags.error("HDW0005", f"Include/IncludeOptional: Could not open directory {directory}: "
                                 f"{_reason(exc)}", pos)
            return []
        matches = [e for e in entries if _fnmatch_period(e, pattern)
                   and (not rest or os.path.isdir(os.path.join(directory, e)))]
        if not matches:
            if not optional:
                self.diags.error("HDW0005", f"Include/IncludeOptional: No matches for the wildcard '{pattern}' "
                                 f"in '{directory}', failing", pos,
                                 hint="use IncludeOptional if matching nothing is fine")
            return []
        out: list[str] = []
        for entry in matches:
            full = os.path.join(directory, entry)
            out += self.expand(full + "/" + rest, optional, pos) if rest else self.files_of(full, optional, pos, 0)
        return out


class _TooManyFiles(Exception):
    """An Include expanded to more than MAX_INCLUDE_FILES files (raised out of the recursion)."""


def _reason(exc: Exception) -> str:
    """An OS error's reason as Apache prints it (strerror), or the exception text."""
    errno = getattr(exc, "errno", None)
    return os.strerror(errno) if errno else str(exc)


def _has_wildcard(text: str) -> bool:
    """apr_fnmatch_test: does the pattern contain a wildcard?"""
    return any(c in text for c in "*?[")


def _fnmatch_period(name: str, pattern: str) -> bool:
    """apr_fnmatch with APR_FNM_PERIOD: a leading '.' must be matched by a literal '.'."""
    if name in (".", ".."):
        return False
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern.replace("[^", "[!"))


_VERSION_INVALID = ("Version appears to be invalid. It must have the format major[.minor[.patch]] where major, "
                    "minor and patch are numbers.")


def _compare_version(op: str, version: str) -> bool | str:
    """mod_version's comparison; a str is Apache's error message."""
    current = httpdw.APACHE_COMPAT_VERSION
    current_text = ".".join(str(p) for p in current)
    if version.startswith("/"):
        if op not in ("=", "==") or len(version) < 2 or not version.endswith("/"):
            return "Missing delimiting / of regular expression." if op in ("=", "==") \
                else f"unrecognized operator '{op}'"
        return _regex_match(version[1:-1], current_text)
    if op == "~":
        return _regex_match(version, current_text)
    if op not in ("=", "==", "<", "<=", ">", ">="):
        return f"unrecognized operator '{op}'"
    if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", version):
        return _VERSION_INVALID
    wanted = tuple(int(p) for p in version.split(".")) + (0, 0)
    sign = (current > wanted[:3]) - (current < wanted[:3])   # missing parts count as 0, like Apache
    return {"=": sign == 0, "==": sign == 0, "<": sign < 0, "<=": sign <= 0, ">": sign > 0, ">=": sign >= 0}[op]


def _regex_match(pattern: str, text: str) -> bool | str:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return "Unable to compile regular expression"


# ---------------------------------------------------------------------------------------------
# envvars


_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)")
_BLOCK_OPENERS = {"if": "fi", "case": "esac", "while": "done", "for": "done", "until": "done"}


def read_envvars(path: str) -> dict[str, str]:
    """The variables a Debian-style envvars shell file sets (`export NAME=value`, `NAME=value`).

    A small subset of sh: comments, `export`, `unset`, single and double quotes, `$NAME`,
    `${NAME}`, `${NAME:-default}` / `${NAME-default}` (and other `${NAME...}` forms read as
    `${NAME}`). Conditionals and loops cannot be evaluated here, so their bodies are skipped
    (Debian's only sets SUFFIX there, which is then empty, as on a default install).
    Raises OSError if the file cannot be read."""
    with open(path, "rb") as f:
        text = decode_config_bytes(f.read())
    values: dict[str, str] = {}
    block_stack: list[str] = []
    for raw in _shell_lines(text):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split(None, 1)[0].rstrip(";")
        if first in _BLOCK_OPENERS:
            block_stack.append(_BLOCK_OPENERS[first])
            continue
        if block_stack:
            if first == block_stack[-1]:
                block_stack.pop()
            continue
        _apply_shell_line(line, values)
    return values


def _shell_lines(text: str) -> list[str]:
    return text.replace("\\\n", "").split("\n")


def _apply_shell_line(line: str, values: dict[str, str]) -> None:
    words = line.split(None, 1)
    command = words[0]
    if command == "unset":
        for name in (words[1].split() if len(words) > 1 else ()):
            values.pop(name, None)
        return
    if command in ("export", "readonly", "local", "declare"):
        line = words[1] if len(words) > 1 else ""
    m = _ASSIGNMENT.match(line)
    if m:
        values[m.group(1)] = _shell_value(m.group(2), values)


def _shell_value(text: str, values: Mapping[str, str]) -> str:
    """The value of a shell word: quotes removed, variables expanded (unquoted: up to a blank)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t;":
            break
        if c == "'":
            end = text.find("'", i + 1)
            end = n if end < 0 else end
            out.append(text[i + 1:end])
            i = end + 1
        elif c == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(_expand_shell(text[i + 1:end], values))
            i = end + 1
        elif c == "\\":
            out.append(text[i + 1:i + 2])     # an escaped character (nothing at the very end)
            i += 2
        else:
            j = i
            while j < n and text[j] not in " \t;'\"\\":
                j += 1
            out.append(_expand_shell(text[i:j], values))
            i = j
    return "".join(out)


_SHELL_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _expand_shell(text: str, values: Mapping[str, str]) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        current = values.get(name, os.environ.get(name))
        modifier = m.group(2) or ""
        for op in (":-", "-"):
            if modifier.startswith(op):
                if current is None or (op == ":-" and current == ""):
                    return _expand_shell(modifier[len(op):], values)
                return current
        return current or ""
    return _SHELL_VARIABLE.sub(value, text.replace('\\"', '"'))
