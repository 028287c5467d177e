import json

import pytest

from hdwbench.catalog import WORKLOADS
from hdwbench.profile import render_top, top_functions
from hdwbench.report import fmt_ratio, fmt_spread, one_line, render_markdown, write_chart, write_json
from hdwbench.runner import Plan
from hdwbench.servers import render_template, small_document
from hdwbench.workloads import Timing, ab_argv, wrk_argv


def entry(metrics, ratio=None, failures=(), skipped=None, ok=3, total=3):
    return {"metrics": metrics, "ratio": ratio, "rounds_ok": ok, "rounds": total,
            "failures": list(failures), "skipped": skipped}


def sp(median, low, high, n=3):
    return {"median": median, "min": low, "max": high, "n": n}


def test_fmt_spread_and_ratio():
    assert fmt_spread(sp(26954, 22322, 28945), "{:,.0f}", True) == "26,954 [22,322–28,945]"
    assert fmt_spread(sp(26954, 22322, 28945), "{:,.0f}", False) == "26,954"
    assert fmt_spread(sp(5.0, 5.0, 5.0, n=1), "{:,.1f}", True) == "5.0"
    assert fmt_spread(None, "{}", True) == "–"
    assert fmt_ratio(sp(0.44, 0.39, 0.52), "httpdw") == "0.44 [0.39–0.52]"
    assert fmt_ratio(sp(1, 1, 1), "apache-worker") == "1.00"
    assert fmt_ratio(None, "httpdw") == "–"


def test_markdown_puts_ratio_after_the_primary_column_and_lists_failures():
    summary = {
        "W6": {"apache-worker": entry({"rss_start_mib": sp(13.6, 13.6, 13.6), "rss_idle_mib": sp(13.6, 13.5, 13.7)},
                                      ratio=sp(1, 1, 1)),
               "httpdw": entry({}, failures=["httpdw did not start: exited with status 1"], ok=0),
               "gunicorn": entry({}, skipped="gunicorn is not installed", ok=0, total=1)},
    }
    meta = {"started": "2026-11-23 12:00 UTC", "command": "python bench/run.py", "machine": "2 CPU",
            "software": "x", "interpreter": "/v/bin/python (a virtualenv) holds 8.5 MiB RSS", "rounds_desc":
            "3, interleaved", "duration_s": 10, "quick": False}
    text = render_markdown(summary, meta)
    assert "- interpreter: /v/bin/python (a virtualenv) holds 8.5 MiB RSS" in text
    header = next(line for line in text.splitlines() if line.startswith("| server"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols[:5] == ["server", "RSS@start MiB", "RSS@idle MiB", "x AW", "PSS@idle MiB"]
    row = next(line for line in text.splitlines() if line.startswith("| apache-worker"))
    assert "13.6 [13.5–13.7] | 1.00 |" in row
    assert "- httpdw: failed: httpdw did not start: exited with status 1" in text
    assert "- gunicorn: skipped: gunicorn is not installed" in text
    assert "| gunicorn" not in text


def test_one_line_keeps_start_and_end():
    text = "server did not start\n" + "\n".join(f"line {i}" for i in range(200)) + "\nImportError: boom"
    flat = one_line(text, 120)
    assert flat.startswith("server did not start")
    assert flat.endswith("ImportError: boom")
    assert len(flat) <= 125


def test_json_and_chart_are_written(tmp_path):
    summary = {"W1": {"apache-worker": entry({"rps": sp(100, 90, 110)}, ratio=sp(1, 1, 1)),
                      "httpdw": entry({}, failures=["no"], ok=0)}}
    write_json(tmp_path / "r.json", {"a": 1}, [{"round": 1}], summary)
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["W1"]["apache-worker"]["ratio"]["median"] == 1
    line = write_chart(tmp_path / "c.png", summary)
    if "skipped" in line:
        pytest.skip(line)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_every_workload_has_its_primary_metric_as_a_column():
    for workload in WORKLOADS.values():
        assert workload.primary in workload.metrics


def test_plan_interleaves_servers_and_gives_short_workloads_more_rounds():
    plan = Plan(["W1", "W2"], ["httpdw", "apache-worker", "nginx"], rounds=3, timing=Timing(),
                skipped={"nginx": "missing"})
    order = plan.cells()
    assert order[:4] == [(1, "W1", "httpdw"), (1, "W1", "apache-worker"), (1, "W2", "httpdw"),
                         (1, "W2", "apache-worker")]
    assert order[4:8] == [(2, "W1", "apache-worker"), (2, "W1", "httpdw"), (2, "W2", "apache-worker"),
                          (2, "W2", "httpdw")]                      # each round starts with the next server
    assert [c for c in order if c[0] > 3] == [(4, "W2", "apache-worker"), (4, "W2", "httpdw"),
                                              (5, "W2", "httpdw"), (5, "W2", "apache-worker")]
    assert plan.rounds_desc() == "W1: 3, W2: 5 (interleaved)"
    quick = Plan(["W1", "W2"], ["httpdw"], rounds=1, timing=Timing.quick(), quick=True)
    assert quick.cells() == [(1, "W1", "httpdw"), (1, "W2", "httpdw")]


def test_python_floor_runs_only_in_w6():
    plan = Plan(["W1", "W6"], ["httpdw", "python-floor"], rounds=2, timing=Timing())
    assert [c for c in plan.cells() if c[2] == "python-floor"] == [(1, "W6", "python-floor"),
                                                                  (2, "W6", "python-floor")]


def test_load_commands_are_the_documented_ones():
    argv = wrk_argv(256, 10, "http://127.0.0.1:1/1k.html", timeout_s=2)
    assert argv[:5] == ["wrk", "-t1", "-c256", "-d10s", "--latency"]
    assert argv[-3:] == ["--timeout", "2s", "http://127.0.0.1:1/1k.html"]
    ab = ab_argv(20000, "http://127.0.0.1:1/1k.html", 120)
    assert ab.index("-t") < ab.index("-n")          # -t implies -n 50000 unless -n comes after it
    assert ab[ab.index("-c") + 1] == "32"


def test_template_markers_must_all_be_filled():
    assert render_template("Listen 127.0.0.1:@PORT@ ${X} {y}", port=8080) == "Listen 127.0.0.1:8080 ${X} {y}"
    with pytest.raises(ValueError, match="@ROOT@"):
        render_template("ServerRoot @ROOT@", port=1)


def test_small_document_is_one_kib_of_html():
    doc = small_document()
    assert len(doc) == 1024 and doc.startswith(b"<html>")


def test_top_functions_from_speedscope():
    doc = {"shared": {"frames": [{"name": "serve", "file": "a.py", "line": 1},
                                 {"name": "parse", "file": "b.py", "line": 2},
                                 {"name": "send", "file": "c.py", "line": 3},
                                 {"name": "parse", "file": "b.py", "line": 9}]},
           "profiles": [{"type": "sampled", "samples": [[0, 1], [0, 3], [0, 2], [0]], "weights": [1, 1, 1, 1]},
                        {"type": "sampled", "samples": [[], [0, 0, 2]]}]}
    rows = top_functions(doc)
    by_name = {r["function"]: r for r in rows}
    assert by_name["parse"]["self_pct"] == pytest.approx(40.0)       # lines 2 and 9 merged
    assert by_name["send"]["self_pct"] == pytest.approx(40.0)
    assert by_name["serve"]["self_pct"] == pytest.approx(20.0)
    assert by_name["serve"]["incl_pct"] == pytest.approx(100.0)    # recursion counted once per sample
    assert top_functions(doc, by="incl")[0]["function"] == "serve"
    assert "parse (b.py)" in render_top(rows)


def test_the_interpreter_line_measures_this_interpreter():
    import sys

    from hdwbench.runner import interpreter_line

    line = interpreter_line()
    assert line.startswith(f"{sys.executable} (")
    mib = float(line.split(" holds ")[1].split(" MiB")[0])
    assert 1 < mib < 200
