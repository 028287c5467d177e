"""Running one workload against one started server and turning the measurements into metrics."""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from .parse import LoadResult, ParseError, parse_ab, parse_wrk
from .procs import MIB, TreeSampler, cpu_delta, memory_footprint, time_to_fraction_of_rise
from .servers import LARGE_FILE, SMALL_FILE, TEMPLATES, RunningServer

REPORT_LUA = str(TEMPLATES / "report.lua")
# A load tool gets its own run length plus this much before it is killed: every run is bounded in time.
TOOL_GRACE_S = 30


class LoadError(RuntimeError):
    """The load tool failed, timed out, or printed no result."""


@dataclass(frozen=True)
class Timing:
    """Run lengths; --quick shortens all of them."""

    duration_s: int = 10        # each measured wrk run
    warmup_s: int = 2           # wrk warm-up with the same connection count
    ab_warmup_n: int = 2000     # ab warm-up requests
    ab_n: int = 20000           # W2 requests
    ab_limit_s: int = 120       # W2 upper bound in time
    burst_idle_s: int = 3       # W5: idle before the burst
    idle_s: int = 10            # W6: idle before the second footprint

    @classmethod
    def quick(cls) -> "Timing":
        return cls(duration_s=3, warmup_s=1, ab_warmup_n=500, ab_n=20000, ab_limit_s=3, burst_idle_s=1, idle_s=3)


def wrk_argv(connections: int, duration_s: int, url: str, timeout_s: int | None = None) -> list[str]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", "-s", REPORT_LUA]
    if timeout_s:
        argv += ["--timeout", f"{timeout_s}s"]
    return argv + [url]


def ab_argv(n: int, url: str, limit_s: int | None = None) -> list[str]:
    # -t before -n: -t alone implies -n 50000, a later -n overrides it; whichever ends first ends the run.
    argv = ["ab", "-q", "-r"]
    if limit_s:
        argv += ["-t", str(limit_s)]
    return argv + ["-n", str(n), "-c", "32", "-s", "10", url]


def run_tool(argv: list[str], limit_s: float) -> str:
    """Run a load tool with a hard time limit; its stdout, or LoadError."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=limit_s + TOOL_GRACE_S)
    except subprocess.TimeoutExpired:
        raise LoadError(f"{argv[0]} still running after {limit_s + TOOL_GRACE_S:.0f} s; killed") from None
    except FileNotFoundError:
        raise LoadError(f"{argv[0]} is not installed (bash bench/setup.sh installs it)") from None
    if done.returncode != 0 and not done.stdout:
        raise LoadError(f"{argv[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout + ("\n" + done.stderr if done.returncode else "")


def measured(server: RunningServer, sampler: TreeSampler, argv: list[str], limit_s: float, parser) -> dict:
    """One measured load run: CPU of the server tree around it, RSS peak during it, the tool's numbers."""
    t0, cpu0 = sampler.now(), sampler.cpu_snapshot()
    out = run_tool(argv, limit_s)
    cpu1, t1 = sampler.cpu_snapshot(), sampler.now()
    try:
        load: LoadResult = parser(out)
    except ParseError as exc:
        raise LoadError(f"{exc}; output tail: {out.strip()[-300:]}") from None
    cpu_s = cpu_delta(cpu0, cpu1)
    window = sampler.samples_between(t0, t1)
    metrics = {
        "requests": load.requests,
        "duration_s": load.duration_s,
        "rps": load.rps,
        "mib_s": load.mib_per_s,
        "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms,
        "max_ms": load.max_ms,
        "errors": load.error_total,
        "errors_by_kind": {k: v for k, v in load.errors.items() if v},
        "cpu_s": cpu_s,
        "cpu_us_per_req": cpu_s * 1e6 / load.requests if load.requests else None,
        "rss_max_mib": max((s.rss for s in window), default=0) / MIB,
        "t_start": t0,
    }
    if not server.alive():
        raise LoadError(f"the server exited during the run: {server.stderr_tail()}")
    server.remember_tree()
    return metrics


def w1(server: RunningServer, timing: Timing) -> dict:
    url = server.url(SMALL_FILE)
    run_tool(wrk_argv(64, timing.warmup_s, url), timing.warmup_s)
    sampler = TreeSampler(server.pid).start()
    try:
        return measured(server, sampler, wrk_argv(64, timing.duration_s, url), timing.duration_s, parse_wrk)
    finally:
        sampler.stop()


def w2(server: RunningServer, timing: Timing) -> dict:
    url = server.url(SMALL_FILE)
    run_tool(ab_argv(timing.ab_warmup_n, url), timing.ab_limit_s)
    sampler = TreeSampler(server.pid).start()
    try:
        return measured(server, sampler, ab_argv(timing.ab_n, url, timing.ab_limit_s), timing.ab_limit_s, parse_ab)
    finally:
        sampler.stop()


def w3(server: RunningServer, timing: Timing) -> dict:
    url = server.url(LARGE_FILE)
    run_tool(wrk_argv(8, timing.warmup_s, url), timing.warmup_s)
    sampler = TreeSampler(server.pid).start()
    try:
        metrics = measured(server, sampler, wrk_argv(8, timing.duration_s, url), timing.duration_s, parse_wrk)
    finally:
        sampler.stop()
    mib = metrics["mib_s"] * metrics["duration_s"]
    metrics["cpu_ms_per_mib"] = metrics["cpu_s"] * 1000 / mib if mib else None
    return metrics


#: how often W5 samples the tree's thread count: the resolution of its time to 95 % of the rise
W5_SAMPLE_S = 0.1


def w5(server: RunningServer, timing: Timing) -> dict:
    """A cold server sits idle, then 256 connections arrive at once. The thread count of the process tree
    (psutil, every 0.1 s) shows how fast the pool grows; mod_status stops answering when every worker is
    busy, so it is not used."""
    sampler = TreeSampler(server.pid, interval=W5_SAMPLE_S).start()
    try:
        time.sleep(timing.burst_idle_s)
        argv = wrk_argv(256, timing.duration_s, server.url(SMALL_FILE), timeout_s=2)
        metrics = measured(server, sampler, argv, timing.duration_s, parse_wrk)
    finally:
        sampler.stop()
    samples = sampler.samples
    t95, before, peak = time_to_fraction_of_rise(samples, metrics["t_start"])
    metrics.update(t95_s=t95, threads_before=before, threads_max=peak,
                   procs_max=max((s.procs for s in samples), default=0))
    return metrics


def w6(server: RunningServer, timing: Timing) -> dict:
    """Footprint right after the first 200 (start_server waited for it) and again after idling."""
    start = memory_footprint(server.pid)
    time.sleep(timing.idle_s)
    idle = memory_footprint(server.pid)
    if not server.alive():
        raise LoadError(f"the server exited while idle: {server.stderr_tail()}")
    return {
        "rss_start_mib": start["rss_mib"],
        "rss_idle_mib": idle["rss_mib"],
        "pss_idle_mib": idle["pss_mib"],
        "uss_idle_mib": idle["uss_mib"],
        "procs": idle["procs"],
        "threads": idle["threads"],
        "startup_s": server.startup_s,
    }


RUNNERS = {"W1": w1, "W2": w2, "W3": w3, "W5": w5, "W6": w6}
