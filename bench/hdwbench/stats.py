"""Medians, spreads and same-round ratios over the cells of a run.

A *cell* is one (round, workload, server) measurement: a dict with at least "round", "workload", "server",
"status" ("ok" | "failed" | "skipped") and "metrics" (name -> number). Everything here is pure.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

ANCHOR = "apache-worker"


@dataclass
class Spread:
    """Median with the min–max range over rounds; n is how many rounds had a value."""

    median: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}


def spread(values: list[float]) -> Spread | None:
    """Median and range of the values that exist; None when there are none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return Spread(statistics.median(present), min(present), max(present), len(present))


def ok_cells(cells: list[dict], workload: str, server: str) -> list[dict]:
    return [c for c in cells if c["workload"] == workload and c["server"] == server and c["status"] == "ok"]


def metric_spread(cells: list[dict], workload: str, server: str, metric: str) -> Spread | None:
    return spread([c["metrics"].get(metric) for c in ok_cells(cells, workload, server)])


def round_ratios(cells: list[dict], workload: str, server: str, metric: str, anchor: str = ANCHOR) -> list[float]:
    """server/anchor for each round where both measured the metric: ratios are taken inside one round because
    the machine's speed drifts between rounds far more than between neighbouring runs."""
    anchor_by_round = {c["round"]: c["metrics"].get(metric) for c in ok_cells(cells, workload, anchor)}
    ratios = []
    for cell in ok_cells(cells, workload, server):
        base = anchor_by_round.get(cell["round"])
        value = cell["metrics"].get(metric)
        if base and value is not None:
            ratios.append(value / base)
    return ratios


def summarize(cells: list[dict], workloads: list[str], servers: list[str], metrics_of: dict[str, list[str]],
              primary_of: dict[str, str], anchor: str = ANCHOR) -> dict:
    """workload -> server -> {"metrics": {name: Spread dict}, "ratio": Spread dict|None, "rounds_ok", "failures"}."""
    summary: dict = {}
    for workload in workloads:
        per_server = {}
        for server in servers:
            mine = [c for c in cells if c["workload"] == workload and c["server"] == server]
            if not mine:
                continue
            metrics = {}
            for name in metrics_of[workload]:
                found = metric_spread(cells, workload, server, name)
                metrics[name] = found.as_dict() if found else None
            ratio = spread(round_ratios(cells, workload, server, primary_of[workload], anchor))
            per_server[server] = {
                "metrics": metrics,
                "ratio": ratio.as_dict() if ratio else None,
                "rounds_ok": sum(1 for c in mine if c["status"] == "ok"),
                "rounds": len(mine),
                "failures": [c.get("error", "") for c in mine if c["status"] == "failed"],
                "skipped": next((c.get("error", "") for c in mine if c["status"] == "skipped"), None),
            }
        summary[workload] = per_server
    return summary
