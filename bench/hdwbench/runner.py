"""The run: which cells run in which order (interleaved rounds), each cell's server start/measure/stop,
the progress line, and writing the results directory."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import report
from .catalog import WORKLOADS
from .servers import KINDS, PROJECT_DIR, ServerStartError, start_server
from .stats import summarize
from .targets import check_targets
from .workloads import RUNNERS, LoadError, Timing

MIN_ROUNDS_SHORT = 5        # performance.md: ab runs on fast servers last 1–2 s, so W2 needs ≥ 5 rounds


@dataclass
class Plan:
    workloads: list[str]
    servers: list[str]
    rounds: int
    timing: Timing
    quick: bool = False
    skipped: dict[str, str] = field(default_factory=dict)     # server -> why it cannot run

    def rounds_for(self, workload: str) -> int:
        if self.quick:
            return self.rounds
        return max(self.rounds, MIN_ROUNDS_SHORT) if WORKLOADS[workload].short else self.rounds

    def cells(self) -> list[tuple[int, str, str]]:
        """(round, workload, server) in run order: every server once per workload per round, the order
        rotated each round (A B C, B C A, C A B …) so that no server always runs first or always right
        after another's load (measured: the first slot of a round was sometimes slower). Extra rounds
        of short workloads come after the common ones, interleaved the same way."""
        servers = [s for s in self.servers if s not in self.skipped]
        order = []
        for rnd in range(1, max(self.rounds_for(w) for w in self.workloads) + 1):
            shift = (rnd - 1) % len(servers) if servers else 0
            rotated = servers[shift:] + servers[:shift]
            for workload in self.workloads:
                if rnd > self.rounds_for(workload):
                    continue
                for server in rotated:
                    if KINDS[server].takes(workload):
                        order.append((rnd, workload, server))
        return order

    def rounds_desc(self) -> str:
        counts = {w: self.rounds_for(w) for w in self.workloads}
        if len(set(counts.values())) == 1:
            return f"{self.rounds}, interleaved"
        return ", ".join(f"{w}: {n}" for w, n in counts.items()) + " (interleaved)"


def run_cell(rnd: int, workload: str, server_name: str, timing: Timing) -> dict:
    """Start a fresh server, run the workload, stop the server. Failures become a 'failed' cell."""
    cell = {"round": rnd, "workload": workload, "server": server_name, "status": "ok", "metrics": {}}
    try:
        server = start_server(KINDS[server_name])
    except ServerStartError as exc:
        cell.update(status="failed", error=str(exc), command=exc.command)
        return cell
    with server:
        try:
            cell["metrics"] = RUNNERS[workload](server, timing)
        except LoadError as exc:
            cell.update(status="failed", error=str(exc))
    return cell


def headline(workload: str, cell: dict) -> str:
    if cell["status"] != "ok":
        return "FAILED: " + report.one_line(cell.get("error", ""), 160)
    m = cell["metrics"]
    if workload == "W3":
        return f"{m['mib_s']:,.0f} MiB/s, {m['cpu_ms_per_mib']:.2f} ms CPU/MiB, {m['errors']} errors"
    if workload == "W5":
        return (f"{m['rps']:,.0f} req/s, threads {m['threads_before']}→{m['threads_max']} in {m['t95_s']:.1f} s, "
                f"{m['errors']} failed, p99 {m['p99_ms']:.0f} ms")
    if workload == "W6":
        pss = f"{m['pss_idle_mib']:.1f}" if m["pss_idle_mib"] is not None else "?"
        return f"RSS {m['rss_idle_mib']:.1f} MiB, PSS {pss} MiB, {m['procs']} procs / {m['threads']} threads"
    return (f"{m['rps']:,.0f} req/s, p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.1f} ms, "
            f"{m['errors']} errors, {m['cpu_us_per_req']:.0f} µs CPU/req")


def fmt_clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def execute(plan: Plan, out_dir: Path, command: str) -> int:
    """Run every cell, print progress, write table, JSON and chart. Returns the exit code."""
    started = dt.datetime.now(dt.timezone.utc)
    for server, why in plan.skipped.items():
        print(f"skip {server}: {why}", flush=True)
    order = plan.cells()
    if not order:
        print("nothing to run: every selected server is skipped", flush=True)
        return 2
    cells, t0 = [], time.monotonic()
    interrupted = False
    try:
        for index, (rnd, workload, server) in enumerate(order, 1):
            elapsed = time.monotonic() - t0
            left = elapsed / (index - 1) * (len(order) - index + 1) if index > 1 else None
            eta = f", ~{fmt_clock(left)} left" if left is not None else ""
            print(f"[{index}/{len(order)} {fmt_clock(elapsed)}{eta}] round {rnd} {workload} {server} …", end=" ",
                  flush=True)
            cell = run_cell(rnd, workload, server, plan.timing)
            cells.append(cell)
            print(headline(workload, cell), flush=True)
    except KeyboardInterrupt:       # the running server was stopped on the way out; keep what was measured
        interrupted = True
        print("\ninterrupted: writing the cells measured so far", flush=True)
    for server, why in plan.skipped.items():
        for workload in filter(KINDS[server].takes, plan.workloads):
            cells.append({"round": 0, "workload": workload, "server": server, "status": "skipped",
                          "error": why, "metrics": {}})
    summary = summarize(cells, plan.workloads, plan.servers,
                        {w: WORKLOADS[w].metrics for w in plan.workloads},
                        {w: WORKLOADS[w].primary for w in plan.workloads})
    meta = describe_run(plan, started, command, time.monotonic() - t0)
    meta["interrupted"] = interrupted
    write_outputs(out_dir, meta, cells, summary)
    return 130 if interrupted else 0


def write_outputs(out_dir: Path, meta: dict, cells: list[dict], summary: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = check_targets(cells, list(summary))
    markdown = report.render_markdown(summary, meta, targets)
    (out_dir / "results.md").write_text(markdown)
    report.write_json(out_dir / "results.json", meta, cells, summary, targets)
    chart_line = report.write_chart(out_dir / "chart.png", summary)
    print()
    print(markdown)
    print(chart_line)
    print(f"results: {out_dir}/results.md, results.json")


def rerender(out_dir: Path) -> None:
    """Write results.md, results.json and chart.png again from the cells of results.json (after a change
    to how runs are summarised or reported; nothing is measured)."""
    data = json.loads((out_dir / "results.json").read_text())
    meta, cells = data["meta"], data["cells"]
    workloads = [w for w in meta["workloads"] if w in WORKLOADS]
    summary = summarize(cells, workloads, meta["servers"], {w: WORKLOADS[w].metrics for w in workloads},
                        {w: WORKLOADS[w].primary for w in workloads})
    write_outputs(out_dir, meta, cells, summary)


def describe_run(plan: Plan, started: dt.datetime, command: str, wall_s: float) -> dict:
    return {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "wall_s": round(wall_s, 1),
        "machine": machine_line(),
        "software": software_line(),
        "interpreter": interpreter_line(),
        "rounds": plan.rounds,
        "rounds_desc": plan.rounds_desc(),
        "duration_s": plan.timing.duration_s,
        "quick": plan.quick,
        "workloads": plan.workloads,
        "servers": plan.servers,
        "skipped": plan.skipped,
    }


def first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "?"


#: what a bare interpreter holds once started (the floor under each of httpdw's processes, W6)
_BARE = ("import sys; rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS')]; "
         "print(int(rss[0].split()[1]) / 1024 if rss else 0, len(sys.modules))")


def interpreter_line() -> str:
    """The RSS of `python -c ...` with the interpreter httpdw runs on: W6 sums one per process. Site
    packages' .pth files (an editable install's finder, a sandbox's hooks) are counted here too."""
    words = first_line([sys.executable, "-c", _BARE]).split()
    if len(words) != 2:
        return "?"
    venv = "a virtualenv" if sys.prefix != sys.base_prefix else "not a virtualenv"
    return (f"{sys.executable} ({venv}) holds {float(words[0]):.1f} MiB RSS and {words[1]} modules "
            f"before any server code; W6 counts it once per process")


def machine_line() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPU {model}, {mem_gib:.0f} GiB, Linux {platform.release()}, loopback, unpinned"


def software_line() -> str:
    commit = first_line(["git", "-C", str(PROJECT_DIR), "rev-parse", "--short", "HEAD"])
    parts = [f"httpdw {commit} on Python {platform.python_version()} ({sys.executable})",
             first_line(["apache2", "-v"]).replace("Server version: ", ""),
             first_line(["nginx", "-v"]).replace("nginx version: ", ""),
             first_line(["wrk", "-v"]).split(" [")[0],
             "ab " + first_line(["ab", "-V"]).split("Version ")[-1].split(" ")[0]]
    try:
        import gunicorn
        parts.append(f"gunicorn {gunicorn.__version__}")
    except ImportError:
        pass
    return "; ".join(parts)
