"""The config tree: what the grammar produces and the loader rewrites.

A config is a list of `Node`s. A node is either a directive (`children is None`) or a section
(`<Name args> ... </Name>`, `children` is a list). Argument text is kept *raw* (as written, after
line continuation is joined): what the arguments mean belongs to each directive's declaration in
the registry (TAKE1, ITERATE, RAW_ARGS, ...), not to the grammar. `words()` splits them the way
Apache's ap_getword_conf does, for the directives that want that.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from httpdw.config.diagnostics import Pos


@dataclass(slots=True)
class Node:
    name: str                    #: as written, without '<' for sections ("Directory", "ThreadsPerChild")
    args: str                    #: raw argument text, stripped; for sections the text before the last '>'
    pos: Pos                     #: where the name starts (last physical line if continued)
    children: list["Node"] | None = None   #: None for a directive, a list for a section
    end_pos: Pos | None = None   #: position of the closing tag, for sections
    #: the file that *included* this node's file, innermost first (for include-chain messages)
    include_chain: tuple[Pos, ...] = ()

    @property
    def key(self) -> str:
        """Lower-cased name: directive names are case-insensitive."""
        return self.name.lower()

    @property
    def is_section(self) -> bool:
        return self.children is not None

    @property
    def display_name(self) -> str:
        """The name as Apache prints it in messages: `<Directory` for sections."""
        return f"<{self.name}" if self.is_section else self.name

    def words(self) -> list[str]:
        """The arguments split as ap_getword_conf does (quotes removed, `""` yields an empty word)."""
        return split_words(self.args)

    def walk(self):
        """Yield this node and every node below it, depth first, in file order."""
        yield self
        for child in self.children or ():
            yield from child.walk()


def split_words(text: str) -> list[str]:
    """Split raw argument text into words like Apache's ap_getword_conf.

    - blanks (space, tab, CR, LF) separate words;
    - a word *starting* with `"` or `'` runs to the matching quote; inside it, a backslash escapes
      the quote character or a backslash, other backslashes are kept; an unterminated quote runs
      to the end of the text (Apache accepts it);
    - `""` or `''` gives an empty word (which TAKE1 directives then count as "no argument");
    - outside quotes, backslashes are literal.
    """
    words: list[str] = []
    i, n = 0, len(text)
    blanks = " \t\r\n\f\v"
    while True:
        while i < n and text[i] in blanks:
            i += 1
        if i >= n:
            return words
        c = text[i]
        if c in "\"'":
            quote = c
            i += 1
            buf: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                    buf.append(text[i + 1])
                    i += 2
                    continue
                buf.append(text[i])
                i += 1
            i += 1  # skip the closing quote (or run past the end)
            words.append("".join(buf))
        else:
            j = i
            while j < n and text[j] not in blanks:
                j += 1
            words.append(text[i:j])
            i = j


@dataclass
class ConfigTree:
    """A parsed, loaded config: the top-level nodes plus what the loader learned on the way."""

    nodes: list[Node] = field(default_factory=list)
    files: list[str] = field(default_factory=list)        #: every file read, in order
    server_root: str = "/etc/httpdw"
    defines: dict[str, str] = field(default_factory=dict)  #: Define'd names -> values ("" if none)
    #: modules named by LoadModule lines, identifier -> the LoadModule node (e.g. "mpm_worker_module")
    loaded_modules: dict[str, Node] = field(default_factory=dict)
