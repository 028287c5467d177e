"""The grammar's parser cache (grammar._parser): built once, reused at the next start, keyed on the
grammar text, kept in a private per-user directory and never trusted from anywhere else."""
from __future__ import annotations

import os

import lark.lark
import pytest

from httpdw.config import grammar
from httpdw.config.diagnostics import Diagnostics

SAMPLE = 'ServerName example\n<Directory "/srv">\n  "Require" all granted\n</Directory>\n'


@pytest.fixture
def fresh_parser(monkeypatch, tmp_path):
    """Each test starts without a built parser and with its own cache home (restored afterwards)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    grammar._parser.cache_clear()
    yield tmp_path / "cache" / "httpdw" / grammar.CACHE_FILE_NAME
    grammar._parser.cache_clear()


@pytest.fixture
def grammar_builds(monkeypatch):
    """Counts how often Lark compiles the grammar text (a cache hit does not)."""
    calls = []
    real = lark.lark.load_grammar

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(lark.lark, "load_grammar", counting)
    return calls


def _parse(text: str = SAMPLE):
    diags = Diagnostics()
    nodes = grammar.parse_text(text, "httpd.conf", diags)
    return [(n.name, n.args, n.pos.line, [(c.name, c.args) for c in n.children or []]) for n in nodes], list(diags)


def _restart() -> None:
    """What a new process does: no parser in memory, the cache file (if any) on disk."""
    grammar._parser.cache_clear()


def test_the_first_start_writes_the_cache_and_the_next_reuses_it(fresh_parser, grammar_builds):
    built = _parse()
    assert fresh_parser.is_file() and len(grammar_builds) == 1
    _restart()
    assert _parse() == built
    assert len(grammar_builds) == 1, "the second start compiled the grammar again instead of loading the cache"
    assert built[0] == [("ServerName", "example", 1, []),
                        ("Directory", '"/srv"', 2, [("Require", "all granted")])]


def test_a_changed_grammar_is_rebuilt_not_served_from_the_old_cache(fresh_parser, grammar_builds, monkeypatch):
    _parse()
    original = grammar.grammar_source()
    # The same grammar except that ';' also starts a comment line: a change the old tables cannot know.
    changed = (original.replace('COMMENT_LINE: _BLANK* "#"', 'COMMENT_LINE: _BLANK* ("#" | ";")')
               .replace("NAME: /[^ \\t\\r\\f\\v\\n<#\"'][", "NAME: /[^ \\t\\r\\f\\v\\n<#;\"'][", 1))
    assert changed.count(";") == original.count(";") + 2
    text = "; hidden\nServerName a\n"
    assert _parse(text)[0][0][:2] == (";", "hidden")
    monkeypatch.setattr(grammar, "grammar_source", lambda: changed)
    _restart()
    assert [n[:2] for n in _parse(text)[0]] == [("ServerName", "a")]
    assert len(grammar_builds) == 2
    # and the file now holds the new grammar's tables: going back to the original rebuilds again
    monkeypatch.setattr(grammar, "grammar_source", lambda: original)
    _restart()
    assert _parse(text)[0][0][:2] == (";", "hidden")
    assert len(grammar_builds) == 3


def test_a_corrupt_cache_file_is_rebuilt_and_replaced(fresh_parser, grammar_builds):
    fresh_parser.parent.mkdir(parents=True, mode=0o700)
    fresh_parser.write_bytes(b"garbage\n\x80\x04not a pickle")
    fresh_parser.chmod(0o600)
    assert _parse()[0][0][0] == "ServerName"
    assert len(grammar_builds) == 1
    _restart()
    _parse()
    assert len(grammar_builds) == 1, "the rewritten cache should have been used"


def test_a_cache_file_others_can_write_is_not_trusted(fresh_parser, grammar_builds):
    _parse()
    fresh_parser.chmod(0o666)   # e.g. planted or loosened: it is a pickle, loading it could run code
    assert grammar.parser_cache_path() is None
    _restart()
    _parse()
    assert len(grammar_builds) == 2


def test_a_shared_cache_directory_is_not_used(fresh_parser):
    fresh_parser.parent.mkdir(parents=True)
    fresh_parser.parent.chmod(0o777)
    assert grammar.parser_cache_path() is None


def test_a_cache_home_others_can_write_is_not_used(fresh_parser):
    """Like XDG_CACHE_HOME=/tmp: another user could swap the httpdw directory inside it."""
    cache_home = fresh_parser.parent.parent
    cache_home.mkdir(parents=True)
    cache_home.chmod(0o1777)
    assert grammar.parser_cache_path() is None
    cache_home.chmod(0o755)
    assert grammar.parser_cache_path() == fresh_parser


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a file owned by another user")
def test_a_cache_file_owned_by_another_user_is_not_trusted(fresh_parser):
    _parse()
    os.chown(fresh_parser, 65534, -1)
    assert grammar.parser_cache_path() is None


def test_without_a_usable_cache_directory_the_parser_is_built_in_memory(monkeypatch, tmp_path, grammar_builds):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))     # mkdir below a file fails
    grammar._parser.cache_clear()
    try:
        assert grammar.parser_cache_path() is None
        assert _parse()[0][0][0] == "ServerName"
        assert len(grammar_builds) == 1
    finally:
        grammar._parser.cache_clear()


def test_no_cache_file_lands_in_the_working_directory(monkeypatch, tmp_path):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    for xdg in ("relative/cache", ""):
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        if not xdg:
            monkeypatch.setenv("HOME", "relative-home")     # "~" expands to a relative path
        grammar._parser.cache_clear()
        try:
            assert grammar.parser_cache_path() is None
            _parse()
        finally:
            grammar._parser.cache_clear()
    assert list(workdir.iterdir()) == []
