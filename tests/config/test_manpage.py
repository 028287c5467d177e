"""httpdw.conf(5) and `httpdw -L` are generated from the registry and stay in sync with it."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from httpdw.config.diagnostics import CODES
from httpdw.config.manpage import list_directives_text, render_man, roff_escape
from httpdw.config.registry import Status, registry

MAN_PAGE = Path(__file__).resolve().parents[2] / "man" / "httpdw.conf.5"
ROFF_REQUESTS = {".TH", ".SH", ".SS", ".TP", ".B", ".br", ".PP", ".BR", '.\\"'}


def test_committed_man_page_is_up_to_date() -> None:
    assert MAN_PAGE.read_text(encoding="utf-8") == render_man(), (
        "man/httpdw.conf.5 is out of date: run `python -m httpdw.config.manpage > man/httpdw.conf.5`")


def test_man_page_names_every_directive_and_code() -> None:
    page = render_man()
    bold = {line[3:] for line in page.splitlines() if line.startswith(".B ")}
    listed = set()
    for line in page.splitlines():
        if line.startswith("\\fI") and ":\\fR " in line:      # "\fIverdict (reason):\fR A, B, C."
            listed |= set(line.split(":\\fR ", 1)[1].rstrip(".").split(", "))
    for spec in registry():
        name = roff_escape(spec.name if not spec.section else f"<{spec.name.lstrip('<')}>")
        if spec.status in (Status.IMPLEMENTED, Status.REMOVED):
            assert any(b == name or b.startswith(name + " ") for b in bold), spec.name
        else:
            assert name in listed, spec.name
    for code, meaning in CODES.items():
        assert f".B {code}\n{roff_escape(meaning)}" in page


def test_man_page_entries_carry_the_declared_facts() -> None:
    page = render_man()
    entry = page[page.index(".B ThreadsPerChild\n"):].split(".TP", 1)[0]
    assert "Number of worker threads each child process creates." in entry
    assert "Syntax:\\fR one argument" in entry and "Default:\\fR 25" in entry
    assert "Context:\\fR server config\n" in entry      # GLOBAL_ONLY: not in virtual hosts
    removed = page[page.index(".B AcceptMutex\n"):].split(".TP", 1)[0]
    assert "removed in 2.4" in removed
    refused = next(line for line in page.splitlines() if "RewriteRule" in line)
    assert refused.startswith("\\fIrefused (") and "RewriteEngine" in refused


def test_man_page_is_well_formed_roff() -> None:
    for line in render_man().splitlines():
        if line.startswith((".", "'")):
            assert line.split(" ", 1)[0] in ROFF_REQUESTS, line


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_groff_renders_it_without_warnings(tmp_path) -> None:
    page = tmp_path / "httpdw.conf.5"
    page.write_text(render_man(), encoding="utf-8")
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""


def test_roff_escape() -> None:
    assert roff_escape(".htaccess") == "\\&.htaccess"
    assert roff_escape("a\\b-c") == "a\\eb\\-c"


def test_dash_l_lists_what_httpdw_accepts_in_apaches_layout() -> None:
    text = list_directives_text()
    entries = re.split(r"\n(?=\S)", text.rstrip("\n"))
    names = {}
    for entry in entries:
        head, *body = entry.split("\n")
        m = re.fullmatch(r"(<?\w+) \(([\w.]+\.c)\)", head)
        assert m, head
        assert body and all(line.startswith("\t") for line in body), entry
        assert any(line.startswith("\tAllowed in *.conf ") for line in body), entry
        assert body[0].strip(), entry   # the description
        names[m.group(1).lstrip("<").lower()] = (m.group(2), body)
    for spec in registry():
        listed = spec.key in names
        assert listed == (spec.status in (Status.IMPLEMENTED, Status.REMOVED)), spec.name
    assert names["threadspercHild".lower()][0] == "worker.c"
    assert names["user"][0] == "mod_unixd.c"
    assert names["threadsperchild"][1][-2:] == [
        "\tAllowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>", "\tNot allowed in <VirtualHost>"]
    assert names["directory"][1][-1] == "\tAllowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>"
    assert names["files"][1][-2:] == ["\tAllowed in *.conf anywhere and in .htaccess",
                                       "\twhen AllowOverride isn't None"]
