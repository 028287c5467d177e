"""Rendering a check's outcome: text with caret and hint, JSON document, GitHub annotations, --effective.

These build ConfigResults by hand (the worker rules give real diagnostics), so the renderer is tested
on its own; tests/cli/test_configtest.py runs the whole command on real files.
"""
from __future__ import annotations

import io
import json

from httpdw.config import render
from httpdw.config.check import ConfigResult
from httpdw.config.diagnostics import Diagnostic, Diagnostics, Pos, Severity
from httpdw.config.model import Listener, MpmSettings, ServerConfig
from httpdw.config.worker_rules import WorkerLine, run_worker_rules


def make_result(tmp_path, text: str, lines, extra=(), with_config=True) -> ConfigResult:
    path = tmp_path / "httpd.conf"
    path.write_text(text)
    worker, order = run_worker_rules([WorkerLine(n, v, Pos(str(path), ln, col)) for n, v, ln, col in lines])
    diags = Diagnostics()
    diags.extend(list(worker.diagnostics) + order + list(extra))
    config = None
    if with_config and not diags.has_errors():
        mpm = MpmSettings(server_limit=worker.server_limit, thread_limit=worker.thread_limit,
                          threads_per_child=worker.threads_per_child,
                          max_request_workers=worker.max_request_workers, daemons_limit=worker.daemons_limit,
                          start_servers=worker.start_servers, min_spare_threads=worker.min_spare_threads,
                          max_spare_threads=worker.max_spare_threads, adjustments=worker.adjustments,
                          listeners=(Listener("127.0.0.1", 8080),))
        config = ServerConfig(server_root=str(tmp_path), config_file=str(path), mpm=mpm)
    return ConfigResult(config, diags, [str(path)], str(path), worker)


def text_of(result, **kw) -> str:
    buf = io.StringIO()
    render.render_text(result, buf, **kw)
    return buf.getvalue()


def test_text_has_location_code_source_caret_hint_and_syntax_ok(tmp_path):
    result = make_result(tmp_path, "Listen 8080\n\tMaxRequestWorkers 160\n", [("MaxRequestWorkers", 160, 2, 2)])
    out = text_of(result, color=False)
    lines = out.splitlines()
    assert lines[0] == (f"{tmp_path}/httpd.conf:2:2: warning: [AH00316] WARNING: MaxRequestWorkers of 160 is not "
                        "an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 150, for a "
                        "maximum of 6 servers.")
    assert lines[1] == "    2 |         MaxRequestWorkers 160"    # tabs expanded, so the caret lines up
    assert lines[2] == "      |         ^"
    assert lines[3] == "hint: use a multiple of ThreadsPerChild"
    assert lines[-2] == "0 error(s), 1 warning(s)"
    assert lines[-1] == "Syntax OK"
    assert "\x1b[" not in out


def test_no_syntax_ok_when_there_is_an_error(tmp_path):
    bad = Diagnostic(Severity.ERROR, "HDW0101", "Invalid command 'Foo'", Pos(str(tmp_path / "httpd.conf"), 1, 1),
                     "did you mean 'Options'?")
    result = make_result(tmp_path, "Foo bar\n", [], extra=[bad])
    out = text_of(result, color=False)
    assert "error: [HDW0101] Invalid command 'Foo'" in out
    assert "    1 | Foo bar" in out
    assert "Syntax OK" not in out
    assert out.splitlines()[-1] == "1 error(s), 0 warning(s)"


def test_colour_only_when_asked_or_on_a_terminal(tmp_path, monkeypatch):
    result = make_result(tmp_path, "ServerLimit 0\n", [("ServerLimit", 0, 1, 1), ("MaxRequestWorkers", 25, 1, 1)])
    assert "\x1b[" in text_of(result, color=True)
    assert "\x1b[" not in text_of(result)            # a StringIO is not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in text_of(result)


def test_related_lines_are_listed(tmp_path):
    text = "ThreadsPerChild 100\nThreadLimit 128\n"
    result = make_result(tmp_path, text, [("ThreadsPerChild", 100, 1, 1), ("ThreadLimit", 128, 2, 1)])
    out = text_of(result, color=False)
    assert "[HDW0201]" in out and f"see also: {tmp_path}/httpd.conf:2:1" in out


def test_many_related_places_are_cut_in_text_but_kept_in_json(tmp_path):
    path = tmp_path / "httpd.conf"
    places = tuple(Pos(str(path), n, 1) for n in range(2, 42))
    ignored = Diagnostic(Severity.WARNING, "HDW0105", "AddIcon ... ignored", Pos(str(path), 1, 1),
                         related=places)
    result = make_result(tmp_path, "AddIcon x y\n" * 41, [], extra=[ignored])
    out = text_of(result, color=False)
    assert out.count("see also:") == render.MAX_RELATED_SHOWN + 1
    assert f"see also: {40 - render.MAX_RELATED_SHOWN} more place(s)" in out
    doc = json.loads(render.render_json(result))
    [d] = [d for d in doc["diagnostics"] if d["code"] == "HDW0105"]
    assert len(d["related"]) == 40


def test_long_and_binary_lines_are_cut_and_escaped(tmp_path):
    long_line = "Foo " + "x" * 5000 + "\x07\x1b[31m"
    d = Diagnostic(Severity.ERROR, "HDW0101", "Invalid command 'Foo'", Pos(str(tmp_path / "httpd.conf"), 1, 4000))
    result = make_result(tmp_path, long_line + "\n", [], extra=[d])
    out = text_of(result, color=False)
    source = [ln for ln in out.splitlines() if ln.startswith("    1 | ")][0]
    assert len(source) < render.SHOWN_LINE_WIDTH + 20 and source.endswith("...")
    assert "\x1b" not in out and "\x07" not in out


def test_missing_source_file_is_not_a_problem(tmp_path):
    d = Diagnostic(Severity.ERROR, "HDW0001", "Could not open configuration file /nope", Pos("/nope/x.conf", 3))
    result = make_result(tmp_path, "", [], extra=[d])
    assert "Could not open configuration file" in text_of(result, color=False)


def test_strict_summary_mentions_strict(tmp_path):
    result = make_result(tmp_path, "StartServers 0\n", [("StartServers", 0, 1, 1)])
    assert "(--strict: warnings fail)" in text_of(result, strict=True, color=False)
    assert render.fails(result.diagnostics, strict=True) and not render.fails(result.diagnostics, strict=False)


def test_json_document(tmp_path):
    result = make_result(tmp_path, "ServerLimit 4\n", [("ServerLimit", 4, 1, 1)])
    doc = json.loads(render.render_json(result))
    assert doc["verdict"] == "ok" and doc["syntax_ok"] is True and doc["schema"] == render.JSON_SCHEMA_VERSION
    assert doc["apache_compat"] == "2.4.71" and doc["httpdw_version"]
    assert doc["counts"] == {"error": 0, "warning": 1, "note": 0}
    [d] = doc["diagnostics"]
    assert (d["code"], d["severity"], d["line"], d["column"]) == ("AH00318", "warning", 1, 1)
    assert doc["effective"]["ServerLimit"] == 4 and doc["effective"]["daemons_limit"] == 4
    assert doc["effective"]["max_threads"] == 100 and doc["effective"]["MaxRequestWorkers"] == 400
    assert doc["adjustments"] == [{"directive": "daemons_limit", "before": 16, "after": 4, "code": "AH00318",
                                   "rule": "9 children limit > ServerLimit"}]
    assert doc["files"] == [str(tmp_path / "httpd.conf")]
    assert json.loads(render.render_json(result, strict=True))["verdict"] == "errors"


def test_json_with_errors_has_no_effective_values(tmp_path):
    bad = Diagnostic(Severity.ERROR, "HDW0103", "ServerLimit takes one argument", Pos(str(tmp_path / "httpd.conf"), 1))
    doc = json.loads(render.render_json(make_result(tmp_path, "ServerLimit\n", [], extra=[bad])))
    assert doc["verdict"] == "errors" and doc["syntax_ok"] is False and doc["effective"] is None


def test_github_annotations_escape_properties_and_data(tmp_path):
    d = Diagnostic(Severity.ERROR, "HDW0101", "100% bad,\nreally", Pos("/a,b:c.conf", 7, 3), "fix it")
    w = Diagnostic(Severity.WARNING, "AH00316", "w", None)
    n = Diagnostic(Severity.NOTE, "HDW0202", "n", Pos("f", 1))
    result = make_result(tmp_path, "", [], extra=[d, w, n])
    out = render.render_github(result).splitlines()
    assert out[0] == "::error file=/a%2Cb%3Ac.conf,line=7,col=3,title=HDW0101::100%25 bad,%0Areally (hint: fix it)"
    assert out[1] == "::warning title=AH00316::w"
    assert out[2].startswith("::notice file=f,line=1,col=1,title=HDW0202::n")


def test_effective_table_names_the_rules(tmp_path):
    result = make_result(tmp_path, "", [("ThreadsPerChild", 30, 1, 1), ("MaxRequestWorkers", 1000, 2, 1)])
    buf = io.StringIO()
    render.render_effective(result, buf)
    out = buf.getvalue()
    mrw = [ln for ln in out.splitlines() if ln.startswith("MaxRequestWorkers")][0]
    assert "1000" in mrw and "990" in mrw and "AH00316 rule 8" in mrw
    children = [ln for ln in out.splitlines() if ln.startswith("children limit")][0]
    assert "33" in children and "16" in children and "AH00318 rule 9" in children
    assert any(ln.startswith("ServerLimit") and "(default 16)" in ln for ln in out.splitlines())
    assert any(ln.startswith("max threads") and "480" in ln for ln in out.splitlines())
    assert "127.0.0.1:8080" in out


def test_effective_table_with_errors_shows_the_worker_values(tmp_path):
    bad = Diagnostic(Severity.ERROR, "HDW0101", "x", None)
    buf = io.StringIO()
    render.render_effective(make_result(tmp_path, "", [("MaxRequestWorkers", 160, 1, 1)], extra=[bad]), buf)
    out = buf.getvalue()
    assert "the config has errors" in out
    assert any(ln.startswith("MaxRequestWorkers") and "AH00316" in ln for ln in out.splitlines())
    assert "Listen" not in out


def test_effective_table_with_nothing_read(tmp_path):
    bad = Diagnostic(Severity.ERROR, "HDW0001", "x", None)
    result = ConfigResult(None, Diagnostics([bad]), [], str(tmp_path / "nope.conf"), None)
    buf = io.StringIO()
    render.render_effective(result, buf)
    assert "not available" in buf.getvalue()
