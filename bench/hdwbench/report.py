"""Rendering a run: the Markdown tables, the JSON file and the PNG chart."""
from __future__ import annotations

import json
from pathlib import Path

from .catalog import WORKLOADS, Workload
from .stats import ANCHOR
from .targets import render_targets


def fmt_spread(spread: dict | None, fmt: str, with_range: bool) -> str:
    """'26,954 [22,322–28,945]' (range only when asked and when there was more than one round)."""
    if spread is None:
        return "–"
    text = fmt.format(spread["median"])
    if with_range and spread["n"] > 1:
        text += f" [{fmt.format(spread['min'])}–{fmt.format(spread['max'])}]"
    return text


def fmt_ratio(ratio: dict | None, server: str) -> str:
    if server == ANCHOR:
        return "1.00" if ratio else "–"
    if ratio is None:
        return "–"
    text = f"{ratio['median']:.2f}"
    if ratio["n"] > 1:
        text += f" [{ratio['min']:.2f}–{ratio['max']:.2f}]"
    return text


def render_workload_table(workload: Workload, per_server: dict) -> str:
    """One Markdown table: a row per server, with the ratio to apache-worker right after the primary metric."""
    cut = next(i for i, c in enumerate(workload.columns) if c.metric == workload.primary) + 1
    headers = ["server", *[c.header for c in workload.columns[:cut]], "x AW",
               *[c.header for c in workload.columns[cut:]], "rounds ok"]
    lines = [f"### {workload.name}: {workload.title}", "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    notes = []
    for server, entry in per_server.items():
        if entry["skipped"] is not None:
            notes.append(f"- {server}: skipped: {entry['skipped']}")
            continue
        cells = [fmt_spread(entry["metrics"].get(c.metric), c.fmt, c.with_range) for c in workload.columns]
        row = [server, *cells[:cut], fmt_ratio(entry["ratio"], server), *cells[cut:],
               f"{entry['rounds_ok']}/{entry['rounds']}"]
        lines.append("| " + " | ".join(row) + " |")
        for failure in dict.fromkeys(entry["failures"]):       # each distinct failure once
            notes.append(f"- {server}: failed: {one_line(failure)}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def one_line(text: str, limit: int = 400) -> str:
    """Multi-line text on one line; when too long, its start (what failed) and its end (the last error) are kept."""
    flat = " ⏎ ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    if len(flat) <= limit:
        return flat
    head = limit // 3
    return flat[:head] + " … " + flat[-(limit - head):]


def render_markdown(summary: dict, meta: dict, targets: list[dict] | None = None) -> str:
    """The whole report: how it was run, the targets' verdicts (hdwbench.targets), then one table per
    workload."""
    head = [
        f"# httpdw benchmark {meta['started']}",
        "",
        f"- command: `{meta['command']}`",
        f"- machine: {meta['machine']}",
        f"- software: {meta['software']}",
        f"- interpreter: {meta.get('interpreter', '?')}",
        f"- rounds: {meta['rounds_desc']}; load run length: {meta['duration_s']} s"
        + (" (--quick smoke run: numbers are indicative only)" if meta.get("quick") else ""),
        "- cells: median over rounds, [min–max] where shown; `x AW` is the median of the per-round ratios of the "
        "first column to apache-worker in the same round (W6: RSS, lower is better).",
        "- srv CPU: user+sys of the server's whole process tree (psutil) during the measured run, per request / MiB.",
        "",
    ]
    tables = [render_workload_table(WORKLOADS[name], per_server) for name, per_server in summary.items()]
    if targets:
        tables.insert(0, render_targets(targets))
    return "\n".join(head) + "\n" + "\n\n".join(tables) + "\n"


def write_json(path: Path, meta: dict, cells: list[dict], summary: dict, targets: list[dict] | None = None) -> None:
    path.write_text(json.dumps({"meta": meta, "targets": targets or [], "summary": summary, "cells": cells},
                               indent=2, sort_keys=False))


def write_chart(path: Path, summary: dict) -> str:
    """A bar per server per workload (median of the primary metric, min–max as error bars).
    Returns a line saying what happened; no chart (and a clear line) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart: skipped (matplotlib is not installed; `bash bench/setup.sh` installs it)"
    names = [name for name, per_server in summary.items() if any(e["metrics"] for e in per_server.values())]
    if not names:
        return "chart: skipped (no workload has results)"
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(4.4 * ncols, 6.0), 4.0 * nrows), squeeze=False)
    flat_axes = [ax for row in axes for ax in row]
    for ax in flat_axes[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(flat_axes, names):
        workload = WORKLOADS[name]
        servers, medians, below, above = [], [], [], []
        for server, entry in summary[name].items():
            value = entry["metrics"].get(workload.primary) if entry["metrics"] else None
            if value is None:                         # failed or skipped: an empty, labelled slot
                servers.append(f"{server}\n(skipped)" if entry["skipped"] is not None else f"{server}\n(failed)")
                medians.append(0.0)
                below.append(0.0)
                above.append(0.0)
                continue
            servers.append(server)
            medians.append(value["median"])
            below.append(value["median"] - value["min"])
            above.append(value["max"] - value["median"])
        colors = ["#d62728" if s.startswith("httpdw") else "#1f77b4" if s == ANCHOR else "#7f7f7f" for s in servers]
        bars = ax.bar(range(len(servers)), medians, yerr=[below, above], capsize=4, color=colors)
        ax.bar_label(bars, labels=[f"{m:,.0f}" if m >= 100 else (f"{m:.1f}" if m else "") for m in medians],
                     fontsize=8, padding=2)
        ax.set_xticks(range(len(servers)), servers, rotation=30, ha="right")
        ax.set_title(f"{name}: {workload.primary_label}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("httpdw vs peers: median over rounds, bars show min–max", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"chart: {path}"
