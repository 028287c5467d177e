"""Config text -> a tree of `Node`s, with Apache 2.4's lexical rules (grammar/httpd.lark).

Three steps:

1. `join_continuations`: backslash-newline joins physical lines into logical lines (Apache does it
   before anything else, so it applies inside comments and at end of file too; a NUL byte ends
   its line, as in Apache's C strings). A map keeps, for every logical line, the physical line
   numbers it came from: a node's position is the *last* physical line, where Apache reports errors.
2. The Lark grammar (LALR, basic lexer, one token per line, the `start` callback runs while
   parsing, no parse tree kept) classifies each logical line: comment and blank (ignored),
   section opener, section closer, directive; its NAME / QUOTED_NAME rules split name from raw args.
3. `_TreeBuilder` nests sections with a stack, as Apache's ap_build_config does, reporting every
   structural problem with Apache's wording and carrying on (a stray closer is dropped, a crossed
   one closes up to its match, sections deeper than MAX_DEPTH are skipped with HDW0008).

Conditional sections (<IfModule>, <IfDefine>, ...) need the loader's knowledge of truth for two
Apache quirks, so the builder records them in `ParsedFile` instead of reporting them:
an unclosed *true* conditional is accepted at end of file (together with any unclosed section in
it), an unclosed *false* one is an error; and a *true* conditional's closer must be the whole line
(`</IfModule> # x` is "without matching" then), while a false one's need not.
"""
from __future__ import annotations

import functools
import importlib.resources
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.tree import Node, split_words

#: Sections nested deeper than this are skipped with HDW0008 (Apache has no limit, but nothing
#: real comes close, and every later stage can then walk the tree recursively).
MAX_DEPTH = 256

#: The conditional sections: read-time (EXEC_ON_READ) containers whose body is kept or skipped.
CONDITIONAL_SECTIONS = frozenset({"ifmodule", "ifdefine", "ifversion", "ifdirective", "ifsection", "iffile"})


@dataclass
class ClosingQuirk:
    """A conditional section's closer that Apache accepts only if the section is false."""

    pos: Pos
    message: str    #: the error Apache gives when the section is true
    message_if_false: str | None = None   #: the error when it is false (None: accepted)


@dataclass
class ParsedFile:
    """What the grammar found in one file: the nodes plus the facts the loader needs."""

    nodes: list[Node] = field(default_factory=list)
    #: id(conditional section node) -> its closer's quirk (see the module docstring)
    closing_quirks: dict[int, ClosingQuirk] = field(default_factory=dict)
    #: closers that followed another closer on the same line, which Apache ignores: (pos, tag)
    ignored_closers: list[tuple[Pos, str]] = field(default_factory=list)
    #: ids of sections left unclosed inside an unclosed conditional: Apache accepts them when that
    #: conditional is true, so the grammar did not report them (the loader does)
    deferred_unclosed: set[int] = field(default_factory=set)
    #: ids of section openers already reported as malformed (missing '>'): not evaluated again
    malformed: set[int] = field(default_factory=set)


# ---------------------------------------------------------------------------------------------
# Step 1: physical lines -> logical lines


@dataclass
class LineMap:
    """Logical line index -> physical positions (1-based)."""

    #: the last physical line of each logical line
    last_line: list[int]
    #: only for joined lines: offsets in the logical line where each later physical line starts
    joins: dict[int, int] = field(default_factory=dict)   #: logical index -> offset of last segment

    def pos(self, filename: str, index: int, column: int) -> Pos:
        """The position of a token at `column` (1-based) of logical line `index` (0-based).

        The line is the last physical line; the column is within that line when the token starts
        on it, else 1 (the token started on an earlier physical line)."""
        start_of_last = self.joins.get(index)
        if start_of_last is not None:
            column = column - start_of_last if column > start_of_last else 1
        return Pos(filename, self.last_line[index], column)


def join_continuations(text: str) -> tuple[list[str], LineMap]:
    """Split `text` into logical lines the way Apache's ap_cfg_getline does.

    Only a backslash immediately before the newline (LF or CRLF) continues a line; the backslash
    and the line end vanish and nothing is inserted. A backslash on a last line without newline
    stays. A NUL byte ends its physical line (C strings). A continuation on the last line joins the empty "line" after it, which is where Apache
    then counts the line (one past the end)."""
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()          # the text ended with a newline: no line after it
        trailing_join_target = True
    else:
        trailing_join_target = False
    logical: list[str] = []
    last_line: list[int] = []
    joins: dict[int, int] = {}
    pending: list[str] = []
    pending_len = 0
    last_index = len(physical) - 1
    for i, line in enumerate(physical):
        has_newline = i < last_index or trailing_join_target
        if "\x00" in line:
            # Apache reads lines as C strings: a NUL ends the line there, and since the newline
            # is then not seen, the line cannot continue either.
            line = line[:line.index("\x00")]
            has_newline = False
        if has_newline and (line.endswith("\\") or line.endswith("\\\r")):
            segment = line[:-2] if line.endswith("\r") else line[:-1]
            pending.append(segment)
            pending_len += len(segment)
            continue
        if pending:
            joins[len(logical)] = pending_len
            logical.append("".join(pending) + line)
            pending, pending_len = [], 0
        else:
            logical.append(line)
        last_line.append(i + 1)
    if pending:                 # continued at end of file: Apache counts one line past the end
        joins[len(logical)] = pending_len
        logical.append("".join(pending))
        last_line.append(len(physical) + 1)
    return logical, LineMap(last_line, joins)


# ---------------------------------------------------------------------------------------------
# Step 2: the Lark grammar classifies logical lines


@dataclass(slots=True)
class Line:
    """One classified logical line: its kind, where its first word starts, the word, the rest."""

    kind: str       #: "open", "close" or "directive"
    index: int      #: 0-based logical line index
    column: int     #: 1-based column of `head` in the logical line
    head: str       #: the first word ("<Directory", "</IfModule>", "ServerName", '"Quoted"')
    rest: str       #: the raw text after it, blanks stripped
    quoted: bool = False   #: the first word was quoted (`"</IfModule>"`)


#: Apache's blanks (C isspace without the newline)
_BLANKS = " \t\r\f\v"


class _LineClassifier(Transformer):
    """Lark callback for `start`: each line token becomes a `Line` (split by the NAME rules)."""

    #: a section line's first word: up to the first blank
    tag_re = re.compile(f"([{_BLANKS}]*)([^{_BLANKS}\n]*)")

    def __init__(self) -> None:
        super().__init__()
        self.head_re: re.Pattern | None = None   #: a directive line's first word (see learn_first_word)

    def learn_first_word(self, lark: Lark) -> None:
        """Split directive lines by the grammar's own NAME / QUOTED_NAME rules (one place for them)."""
        name = lark.get_terminal("NAME").pattern.to_regexp()
        quoted = lark.get_terminal("QUOTED_NAME").pattern.to_regexp()
        self.head_re = re.compile(f"([{_BLANKS}]*)((?:{quoted})|(?:{name}))")

    def start(self, tokens: list[Token]) -> list[Line]:
        kinds = {"OPEN_LINE": ("open", self.tag_re), "CLOSE_LINE": ("close", self.tag_re),
                 "DIRECTIVE_LINE": ("directive", self.head_re)}
        lines = []
        for tok in tokens:
            kind, pattern = kinds[tok.type]
            m = pattern.match(tok.value)
            lines.append(Line(kind, tok.line - 1, m.end(1) + 1, m.group(2),
                              tok.value[m.end():].strip(_BLANKS + "\n")))
        return lines



def grammar_source() -> str:
    """The text of grammar/httpd.lark.

    Installed, it ships as package `httpdw.grammar` (pyproject's package-dir maps grammar/ there).
    Run from a checkout without installing, that package name does not exist, so the file is
    read from the repository's grammar/ directory next to the httpdw package."""
    try:
        return importlib.resources.files("httpdw.grammar").joinpath("httpd.lark").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "grammar" / "httpd.lark"
        return checkout.read_text(encoding="utf-8")


#: Lark's options for the line grammar. `start` and `word` are both start symbols: `word` only
#: serves to read the NAME / QUOTED_NAME terminals, and one parser with both is built (or
#: loaded from the cache) at once.
_LARK_OPTIONS = {"parser": "lalr", "lexer": "basic", "start": ["start", "word"]}


@functools.cache
def _parser() -> Lark:
    """The LALR parser for the grammar file; its callbacks build `Line`s directly.

    Building the LALR tables costs ~60 ms at every start, so Lark's parser cache is used: Lark
    keys the cache file on the grammar text, its options, Lark's version and Python's, and
    rebuilds (overwriting the file) on any mismatch, so an edited grammar never meets stale
    tables. The file lives in the user's cache directory (see `parser_cache_path`), never in
    the working directory or the (possibly read-only) install; without a usable one the parser
    is simply built in memory."""
    cache = parser_cache_path()
    classifier = _LineClassifier()
    lark = Lark(grammar_source(), **_LARK_OPTIONS, cache=str(cache) if cache else False, transformer=classifier)
    classifier.learn_first_word(lark)
    return lark


#: the cache file's name in the cache directory (one file: Lark overwrites it when its key changes)
CACHE_FILE_NAME = "httpd-grammar.lark-cache"


def parser_cache_path() -> Path | None:
    """Where Lark may cache the built parser: $XDG_CACHE_HOME/httpdw (default ~/.cache/httpdw).

    The cache is a pickle, so it is used only from a directory and file that this user owns and
    nobody else can write, inside a cache home that nobody else can write either (a server started
    as root must not load a file another user planted or swapped in, which a shared directory like
    /tmp would allow). None when there is no such place: no home, a read-only or foreign
    directory; then the parser is built in memory as if no cache existed."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None     # "~" not expanded (no HOME) or a relative XDG path: never the cwd
    directory = Path(base) / "httpdw"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (_private(directory) and _private(Path(base), root_may_own=True)):
            return None
        path = directory / CACHE_FILE_NAME
        if path.exists() and not _private(path):
            return None
    except OSError:
        return None
    return path


def _private(path: Path, root_may_own: bool = False) -> bool:
    """Owned by this (effective) user (or root, if allowed) and writable by nobody else."""
    st = path.stat()
    owners = (os.geteuid(), 0) if root_may_own else (os.geteuid(),)
    return st.st_uid in owners and not st.st_mode & 0o022


def _parse_lines(text: str) -> list[Line]:
    return _parser().parse(text, start="start")


def classify_lines(logical: list[str], filename: str, diags: Diagnostics, line_map: LineMap) -> list[Line]:
    """Run the grammar over all logical lines at once; fall back to line by line if it fails."""
    if not logical:
        return []
    try:
        return _parse_lines("\n".join(logical) + "\n")
    except LarkError:
        pass
    # The grammar accepts every line, so this is only a safety net: parse each line alone, so
    # one line the grammar cannot take costs that line only.
    lines: list[Line] = []
    for index, text in enumerate(logical):
        try:
            result = _parse_lines(text + "\n")
        except LarkError as exc:
            diags.error("HDW0003", f"cannot parse this line ({type(exc).__name__})",
                        line_map.pos(filename, index, 1))
            continue
        for line in result:
            line.index = index
            lines.append(line)
    return lines


# ---------------------------------------------------------------------------------------------
# Step 3: nest sections


class _TreeBuilder:
    """Apache's ap_build_config nesting rules over the classified lines."""

    def __init__(self, filename: str, diags: Diagnostics, line_map: LineMap):
        self.filename = filename
        self.diags = diags
        self.line_map = line_map
        self.result = ParsedFile()
        self.stack: list[Node] = []
        self.skip_depth = 0     #: >0 while skipping sections nested beyond MAX_DEPTH

    def pos(self, line: Line) -> Pos:
        return self.line_map.pos(self.filename, line.index, line.column)

    def add(self, node: Node) -> None:
        (self.stack[-1].children if self.stack else self.result.nodes).append(node)

    def feed(self, line: Line) -> None:
        if line.kind == "open":
            self.opener(line)
        elif line.kind == "close":
            self.closer(line)
        elif not self.skip_depth:
            self.directive(line)

    # -- lines --

    def directive(self, line: Line) -> None:
        name = line.head
        if name[0] in "\"'":
            words = split_words(name)
            name = words[0] if words else ""
            if name.startswith("<"):
                # Apache reads the first word with ap_getword_conf, so "<IfModule" opens a section
                self.feed(Line("close" if name.startswith("</") else "open", line.index, line.column,
                               name, line.rest, quoted=True))
                return
        if name.endswith(">"):
            name = name[:-1]     # Apache cuts one '>' off any first word: `ServerAdmin> x` works
        self.add(Node(name, line.rest, self.pos(line)))

    def opener(self, line: Line) -> None:
        if self.skip_depth:
            self.skip_depth += 1
            return
        pos = self.pos(line)
        tag = line.head
        # Apache: a '>' ending the first word is cut off; with no arguments the args become ">".
        name = tag[1:-1] if tag.endswith(">") else tag[1:]
        raw = line.rest
        if not raw and tag.endswith(">"):
            raw = ">"
        cut = raw.rfind(">")
        if cut < 0:
            self.diags.error("HDW0003", f"<{name}> directive missing closing '>'", pos,
                             hint="end the section opener with '>'")
            args = raw
        else:
            args = raw[:cut].strip(_BLANKS)
        if len(self.stack) >= MAX_DEPTH:
            self.diags.error("HDW0008", f"<{name}> is nested deeper than {MAX_DEPTH} sections; "
                             "its contents are skipped", pos)
            self.skip_depth = 1
            return
        node = Node(name, args, pos, children=[])
        if cut < 0:
            self.result.malformed.add(id(node))
        self.add(node)
        self.stack.append(node)

    def closer(self, line: Line) -> None:
        if self.skip_depth:
            self.skip_depth -= 1
            return
        pos = self.pos(line)
        tag = line.head                     # "</IfModule>", or "</IfModule" when args follow
        well_formed = tag.endswith(">")
        name = tag[2:-1] if well_formed else tag[2:]
        self._note_ignored_closers(line)
        if not self.stack:
            self.diags.error("HDW0002", f"{tag} without matching <{tag[2:]} section", pos)
            return
        top = self.stack[-1]
        same = name.lower() == top.key
        if top.key in CONDITIONAL_SECTIONS and same and (not well_formed or line.rest or line.quoted):
            # Apache accepts this closer only when the section is false (it soaks the body);
            # a true one's body ends only at a line that is exactly </Name>.
            message = f"{tag} without matching <{tag[2:]} section"
            # A false one's body is soaked up to a closer whose first word, minus its last
            # character (the '>' it expects), names the section: `</IfModule junk>` fails that.
            if_false = None if well_formed else f"Expected </{top.name}> but saw {tag[:-1]}>"
            self.result.closing_quirks[id(top)] = ClosingQuirk(pos, message, if_false)
            self._close(pos)
            return
        if not well_formed:
            self.diags.error("HDW0002", f"{tag}> directive missing closing '>'", pos)
        elif not same:
            self.diags.error("HDW0002", f"Expected </{top.name}> but saw </{name}>", pos,
                             hint=f"<{top.name}> opened on line {top.pos.line}")
        if same:
            self._close(pos)
            return
        # Recovery: a closer of an outer section closes everything up to it; else it is dropped.
        for depth in range(len(self.stack) - 2, -1, -1):
            if self.stack[depth].key == name.lower():
                while len(self.stack) > depth:
                    self._close(pos)
                return

    def _close(self, pos: Pos) -> None:
        self.stack.pop().end_pos = pos

    def _note_ignored_closers(self, line: Line) -> None:
        """Remember `</X>` words after a closer: Apache ignores them (a hint for the loader)."""
        if "</" in line.rest:
            for word in line.rest.split():
                if word.startswith("</"):
                    self.result.ignored_closers.append((self.pos(line), word))

    def finish(self) -> ParsedFile:
        """End of file: report unclosed sections as Apache does (see the module docstring)."""
        for depth in range(len(self.stack) - 1, -1, -1):
            node = self.stack[depth]
            if node.key in CONDITIONAL_SECTIONS:
                continue        # the loader decides: true -> accepted, false -> error
            if any(outer.key in CONDITIONAL_SECTIONS for outer in self.stack[:depth]):
                # accepted by Apache if that conditional is true: the loader decides
                self.result.deferred_unclosed.add(id(node))
                continue
            self.diags.error("HDW0002", f"<{node.name}> was not closed.", node.pos,
                             hint=f"add </{node.name}>")
        self.stack.clear()
        return self.result


# ---------------------------------------------------------------------------------------------
# Public API


def parse_document(text: str, filename: str, diags: Diagnostics) -> ParsedFile:
    """Parse config text into nodes plus the conditional-section facts the loader needs."""
    logical, line_map = join_continuations(text)
    builder = _TreeBuilder(filename, diags, line_map)
    for line in classify_lines(logical, filename, diags, line_map):
        builder.feed(line)
    return builder.finish()


def parse_text(text: str, filename: str, diags: Diagnostics) -> list[Node]:
    """Parse config text into a list of nodes (sections nested), reporting problems into `diags`.

    Never raises on any text. Node names are kept as written (Node.key lowers them), arguments
    are raw (see tree.split_words), positions point at the last physical line of a joined line."""
    return parse_document(text, filename, diags).nodes


def decode_config_bytes(data: bytes) -> str:
    """Config file bytes -> text: UTF-8 if it is valid UTF-8, else latin-1 (never fails).

    Apache reads bytes; latin-1 maps each byte to one character, so nothing is lost."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
