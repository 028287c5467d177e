import json

from hdwbench.runner import rerender
from hdwbench.targets import check_targets, render_targets


def cell(rnd, workload, server, status="ok", **metrics):
    return {"round": rnd, "workload": workload, "server": server, "status": status, "metrics": metrics}


def verdicts(cells, workloads):
    return {(r["workload"], r["goal"]): (r["figure"], r["verdict"]) for r in check_targets(cells, workloads)}


def test_ratios_are_medians_of_same_round_ratios_against_the_named_peer():
    cells = [cell(1, "W1", "httpdw", rps=600), cell(1, "W1", "apache-worker", rps=1000),
             cell(2, "W1", "httpdw", rps=500), cell(2, "W1", "apache-worker", rps=1000),
             cell(3, "W1", "httpdw", rps=700), cell(3, "W1", "apache-worker", rps=1000),
             cell(1, "W3", "httpdw", mib_s=900, cpu_ms_per_mib=0.3), cell(1, "W3", "apache-worker", mib_s=2000,
                                                                        cpu_ms_per_mib=0.4),
             cell(1, "W3", "nginx", mib_s=1000, cpu_ms_per_mib=0.3)]
    found = verdicts(cells, ["W1", "W3"])
    assert found[("W1", "≥ 0.6× Apache worker req/s")] == ("0.600× Apache worker", "met")
    assert found[("W3", "server CPU per MiB ≤ Apache's")] == ("0.750× Apache's CPU per MiB", "met")
    # against nginx, not Apache (which would be 0.45×)
    assert found[("W3", "MiB/s ≥ 0.9× nginx")] == ("0.900× nginx", "met")
    assert {w for w, _ in found} == {"W1", "W3"}        # only the workloads that ran


def test_a_target_whose_peer_did_not_run_is_not_checked_rather_than_met():
    cells = [cell(1, "W3", "httpdw", mib_s=900, cpu_ms_per_mib=0.3),
             cell(1, "W3", "apache-worker", mib_s=2000, cpu_ms_per_mib=0.4),
             cell(1, "W3", "nginx", status="failed")]
    figure, verdict = verdicts(cells, ["W3"])[("W3", "MiB/s ≥ 0.9× nginx")]
    assert figure == "–" and verdict.startswith("not checked")


def test_w5_growth_is_judged_at_the_sampling_resolution_and_any_failure_misses():
    cells = [cell(1, "W5", "httpdw", t95_s=3.13, errors=0), cell(1, "W5", "apache-worker", t95_s=3.08, errors=0),
             cell(2, "W5", "httpdw", t95_s=3.19, errors=5), cell(2, "W5", "apache-worker", t95_s=3.09, errors=0),
             cell(3, "W5", "httpdw", t95_s=3.12, errors=0), cell(3, "W5", "apache-worker", t95_s=3.10, errors=0)]
    found = verdicts(cells, ["W5"])
    assert found[("W5", "pool grows at least as fast as Apache's")][1] == "met"       # 3.13 vs 3.09
    assert found[("W5", "zero failed requests")] == ("5 failed in 1 of 3 rounds", "NOT met")
    slower = [dict(c, metrics=dict(c["metrics"], t95_s=c["metrics"]["t95_s"] + 0.2)) if c["server"] == "httpdw"
              else c for c in cells]
    assert verdicts(slower, ["W5"])[("W5", "pool grows at least as fast as Apache's")][1] == "NOT met"


def test_w6_is_lower_is_better():
    cells = [cell(1, "W6", "httpdw", rss_idle_mib=49.0), cell(1, "W6", "apache-worker", rss_idle_mib=13.8)]
    assert verdicts(cells, ["W6"])[("W6", "RSS ≤ 2.5× Apache's")] == ("3.551× Apache's RSS", "NOT met")
    assert "| W6 | RSS ≤ 2.5× Apache's | 3.551× Apache's RSS | NOT met |" in render_targets(check_targets(cells, ["W6"]))


def test_rerender_rebuilds_the_report_with_targets_from_the_cells(tmp_path):
    meta = {"started": "2026-12-03 08:40 UTC", "command": "python bench/run.py", "machine": "m", "software": "s",
            "interpreter": "i", "rounds_desc": "1, interleaved", "duration_s": 10, "quick": False,
            "workloads": ["W1"], "servers": ["httpdw", "apache-worker"]}
    cells = [cell(1, "W1", "httpdw", rps=700, p50_ms=1, p99_ms=2, errors=0, rss_max_mib=50, cpu_us_per_req=80),
             cell(1, "W1", "apache-worker", rps=1000, p50_ms=1, p99_ms=2, errors=0, rss_max_mib=30,
                  cpu_us_per_req=70)]
    (tmp_path / "results.json").write_text(json.dumps({"meta": meta, "summary": {}, "cells": cells}))
    rerender(tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "| W1 | ≥ 0.6× Apache worker req/s | 0.700× Apache worker | met |" in text
    assert "| httpdw | 700 | 0.70 |" in text
    assert json.loads((tmp_path / "results.json").read_text())["targets"][0]["verdict"] == "met"
