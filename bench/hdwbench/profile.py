"""--profile: where a W1 (or W2/W3) run's CPU goes inside one httpdw child, measured from outside with py-spy,
so the engine needs no hook. The child is found through the process tree; the profile is a speedscope file
(open it at speedscope's site or any viewer) plus a top-functions table printed and saved as text."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

import psutil

from .parse import ParseError, parse_ab, parse_wrk
from .servers import KINDS, PROJECT_DIR, LARGE_FILE, SMALL_FILE, ServerStartError, start_server
from .workloads import ab_argv, wrk_argv


def top_functions(speedscope: dict, limit: int = 25, by: str = "self") -> list[dict]:
    """Self and inclusive share of the samples per function (its lines merged) from a py-spy speedscope
    document, sorted by `by` ("self" or "incl").

    Self = the function is the innermost frame of the sample; inclusive = it is anywhere on the stack
    (counted once per sample even when recursive)."""
    frames = speedscope["shared"]["frames"]
    key_of = [(f.get("name", "?"), f.get("file", "?")) for f in frames]
    self_w: Counter = Counter()
    incl_w: Counter = Counter()
    total = 0.0
    for prof in speedscope["profiles"]:
        weights = prof.get("weights") or [1] * len(prof["samples"])
        for stack, weight in zip(prof["samples"], weights):
            if not stack:
                continue
            total += weight
            self_w[key_of[stack[-1]]] += weight
            for key in {key_of[index] for index in stack}:
                incl_w[key] += weight
    ranking = self_w if by == "self" else incl_w
    return [{"function": name, "file": file,
             "self_pct": 100 * self_w[(name, file)] / total if total else 0.0,
             "incl_pct": 100 * incl_w[(name, file)] / total if total else 0.0}
            for (name, file), _ in ranking.most_common(limit)]


def short_path(path: str) -> str:
    """Paths relative to the project or to the interpreter's library, so the table stays readable."""
    for prefix, label in ((str(PROJECT_DIR) + "/", ""), (sysconfig.get_paths()["purelib"] + "/", "site-packages/"),
                          (sysconfig.get_paths()["stdlib"] + "/", "stdlib/")):
        if path.startswith(prefix):
            return label + path[len(prefix):]
    return path


def render_top(rows: list[dict]) -> str:
    lines = [f"{'self %':>7} {'incl %':>7}  function (file)"]
    lines += [f"{r['self_pct']:7.1f} {r['incl_pct']:7.1f}  {r['function']} ({short_path(r['file'])})" for r in rows]
    return "\n".join(lines)


def load_summary(workload: str, output: str) -> str:
    """One line about the load that ran during the profile (it is slowed by the sampling)."""
    try:
        result = parse_ab(output) if workload == "W2" else parse_wrk(output)
    except ParseError as exc:
        return f"no result ({exc})"
    return f"{result.rps:,.0f} req/s, {result.error_total} errors"


def busiest_child(root_pid: int) -> int | None:
    """The child with the most threads: with ServerLimit 1 that is the one serving (its listener + workers)."""
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.Error:
        return None
    best = None
    for child in children:
        try:
            count = child.num_threads()
        except psutil.Error:
            continue
        if best is None or count > best[0]:
            best = (count, child.pid)
    return best[1] if best else None


def py_spy_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("py-spy")
    return str(beside_python) if beside_python.exists() else shutil.which("py-spy")


PYTHON_SERVERS = ("httpdw", "gunicorn")     # py-spy reads Python stacks only


def run_profile(workload: str, duration_s: int, out_dir: Path, server_name: str = "httpdw") -> int:
    """Profile one child of a Python server (httpdw by default; gunicorn to compare) under the workload's
    load; prints the top functions. Returns an exit code."""
    spy = py_spy_binary()
    if not spy:
        print("profile: py-spy is not installed (bash bench/setup.sh installs it); nothing profiled")
        return 2
    try:
        server = start_server(KINDS[server_name], profile=True)
    except ServerStartError as exc:
        print(f"profile: {exc}")
        return 1
    with server:
        child = busiest_child(server.pid) or server.pid
        how = "child" if child != server.pid else "the server process itself (it has no children)"
        print(f"profile: {server_name} pid {server.pid}, profiling {how} pid {child} for {duration_s} s under {workload}")
        load_s = duration_s + 3
        if workload == "W2":
            load = ab_argv(10**6, server.url(SMALL_FILE), load_s)
        else:
            conns, path = (8, LARGE_FILE) if workload == "W3" else (64, SMALL_FILE)
            load = wrk_argv(conns, load_s, server.url(path))
        speedscope = out_dir / f"profile-{server_name}-{workload}.speedscope.json"
        loader = subprocess.Popen(load, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(1)           # let the pool settle before sampling
            # --gil: only the thread holding the GIL is sampled, i.e. where the Python CPU goes; without it
            # the 25 workers waiting on their queue fill the profile.
            spy_run = subprocess.run([spy, "record", "--pid", str(child), "--duration", str(duration_s), "--gil",
                                      "--rate", "200", "--format", "speedscope", "--output", str(speedscope)],
                                     capture_output=True, text=True, timeout=duration_s + 60)
        except subprocess.TimeoutExpired:
            spy_run = None
        finally:
            try:
                load_out, _ = loader.communicate(timeout=load_s + 30)
            except subprocess.TimeoutExpired:
                loader.kill()
                load_out, _ = loader.communicate()
    (out_dir / f"profile-{server_name}-{workload}-load.txt").write_text(load_out)
    print(f"profile: load while sampled: {load_summary(workload, load_out)} (py-spy pauses the child per sample)")
    if spy_run is None or spy_run.returncode != 0 or not speedscope.exists():
        detail = "timed out" if spy_run is None else (spy_run.stderr or spy_run.stdout).strip()[-500:]
        print(f"profile: py-spy failed: {detail}")
        return 1
    document = json.loads(speedscope.read_text())
    table = ("where the GIL holder was (py-spy --gil), by self time:\n" + render_top(top_functions(document))
             + "\n\nby inclusive time:\n" + render_top(top_functions(document, by="incl")))
    top_file = out_dir / f"profile-{server_name}-{workload}-top.txt"
    top_file.write_text(table + "\n")
    print(table)
    print(f"profile: {speedscope} (speedscope format), top functions in {top_file}")
    return 0
