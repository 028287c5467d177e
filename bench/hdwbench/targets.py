"""The issue's targets, checked against a run: one row per target, with the figure it was judged on.

Each target is read the way the issue states it: ratios are medians of per-round ratios (each server
against its peer *in the same round*), over the rounds in which both ran. A target whose servers or
workload did not run is reported as not checked, never as met. Pure: cells in, rows out.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable

from .stats import ANCHOR, ok_cells, round_ratios
from .workloads import W5_SAMPLE_S

SUBJECT = "httpdw"


@dataclass(frozen=True)
class Target:
    workload: str
    goal: str                                           # as the issue words it
    judge: Callable[[list[dict]], tuple[str, bool] | None]   # cells -> (figure, met), None: cannot tell


def _median_ratio(cells, workload, metric, peer=ANCHOR) -> float | None:
    ratios = round_ratios(cells, workload, SUBJECT, metric, anchor=peer)
    return statistics.median(ratios) if ratios else None


def _at_least(workload: str, metric: str, floor: float, peer: str = ANCHOR, label: str = ""):
    def judge(cells):
        ratio = _median_ratio(cells, workload, metric, peer)
        if ratio is None:
            return None
        return f"{ratio:.3f}× {label or peer}", ratio >= floor
    return judge


def _cpu_per_mib_at_most_apache(cells):
    ratio = _median_ratio(cells, "W3", "cpu_ms_per_mib")
    if ratio is None:
        return None
    return f"{ratio:.3f}× Apache's CPU per MiB", ratio <= 1.0


def _grows_as_fast_as_apache(cells):
    mine = [c["metrics"]["t95_s"] for c in ok_cells(cells, "W5", SUBJECT)]
    theirs = [c["metrics"]["t95_s"] for c in ok_cells(cells, "W5", ANCHOR)]
    if not mine or not theirs:
        return None
    ours, apache = statistics.median(mine), statistics.median(theirs)
    # the thread count is sampled every W5_SAMPLE_S: a smaller difference is below what was measured
    return (f"{ours:.2f} s vs Apache's {apache:.2f} s to 95 % of threads (sampled every {W5_SAMPLE_S} s)",
            ours - apache < W5_SAMPLE_S)


def _no_failed_requests(cells):
    failed = [c["metrics"]["errors"] for c in ok_cells(cells, "W5", SUBJECT)]
    if not failed:
        return None
    bad_rounds = sum(1 for n in failed if n)
    if not bad_rounds:
        return f"none in {len(failed)} rounds", True
    return f"{sum(failed)} failed in {bad_rounds} of {len(failed)} rounds", False


def _footprint_at_most(times: float):
    def judge(cells):
        ratio = _median_ratio(cells, "W6", "rss_idle_mib")
        if ratio is None:
            return None
        return f"{ratio:.3f}× Apache's RSS", ratio <= times
    return judge


TARGETS: tuple[Target, ...] = (
    Target("W1", "≥ 0.6× Apache worker req/s", _at_least("W1", "rps", 0.6, label="Apache worker")),
    Target("W2", "≥ 0.7× Apache worker req/s", _at_least("W2", "rps", 0.7, label="Apache worker")),
    Target("W3", "server CPU per MiB ≤ Apache's", _cpu_per_mib_at_most_apache),
    Target("W3", "MiB/s ≥ 0.9× nginx", _at_least("W3", "mib_s", 0.9, peer="nginx")),
    Target("W5", "pool grows at least as fast as Apache's", _grows_as_fast_as_apache),
    Target("W5", "zero failed requests", _no_failed_requests),
    Target("W6", "RSS ≤ 2.5× Apache's", _footprint_at_most(2.5)),
)


def check_targets(cells: list[dict], workloads: list[str]) -> list[dict]:
    """A row per target of the workloads that ran: {"workload", "goal", "figure", "verdict"}."""
    rows = []
    for target in TARGETS:
        if target.workload not in workloads:
            continue
        judged = target.judge(cells)
        if judged is None:
            rows.append({"workload": target.workload, "goal": target.goal, "figure": "–",
                         "verdict": "not checked (a server it compares did not run)"})
        else:
            figure, met = judged
            rows.append({"workload": target.workload, "goal": target.goal, "figure": figure,
                         "verdict": "met" if met else "NOT met"})
    return rows


def render_targets(rows: list[dict]) -> str:
    if not rows:
        return ""
    lines = ["### Targets (issue 5): medians of per-round ratios", "",
             "| workload | target | this run | verdict |", "|---|---|---|---|"]
    lines += [f"| {r['workload']} | {r['goal']} | {r['figure']} | {r['verdict']} |" for r in rows]
    return "\n".join(lines)
