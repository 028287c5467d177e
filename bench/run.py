#!/usr/bin/env python3
"""httpdw's benchmark: httpdw against Apache's worker MPM, nginx and gunicorn on this machine.

    bash bench/setup.sh                      # once: installs the missing peers and tools
    python bench/run.py                      # full run: 3 interleaved rounds (W2: 5), ~15 min on 2 cores
    python bench/run.py --quick              # smoke run: 1 round of 3 s runs
    python bench/run.py --workloads W1,W3 --servers httpdw,apache-worker --rounds 5
    python bench/run.py --profile W1         # py-spy on one httpdw child under W1 load

Results go to bench/results/<UTC timestamp>/ (results.md, results.json, chart.png). See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import shutil
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hdwbench.catalog import SERVERS, WORKLOADS  # noqa: E402  (after the path set-up above)
from hdwbench.servers import KINDS  # noqa: E402
from hdwbench.workloads import Timing  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent   #: the checkout the httpdw server runs from


def comma_list(allowed: tuple[str, ...] | list[str]):
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)} (got {text!r})")
        return list(dict.fromkeys(items))
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds (default 3; W2 gets at least 5; --quick: 1)")
    parser.add_argument("--workloads", type=comma_list(tuple(WORKLOADS)), default=list(WORKLOADS),
                        help="comma list of " + ",".join(WORKLOADS))
    parser.add_argument("--servers", type=comma_list(SERVERS), default=list(SERVERS),
                        help="comma list of " + ",".join(SERVERS))
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round, 3 s runs, short idles")
    parser.add_argument("--duration", type=int, default=None, help="seconds per measured load run (default 10)")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default bench/results/<UTC>)")
    parser.add_argument("--rerender", type=Path, default=None, metavar="DIR",
                        help="write DIR's results.md/json/chart again from its results.json (measures nothing)")
    parser.add_argument("--profile", choices=("W1", "W2", "W3"), default=None,
                        help="profile one httpdw child with py-spy under this workload instead of benchmarking")
    parser.add_argument("--profile-duration", type=int, default=10, help="seconds py-spy samples (default 10)")
    parser.add_argument("--profile-server", choices=("httpdw", "gunicorn"), default="httpdw",
                        help="the Python server to profile (default httpdw; gunicorn to compare)")
    return parser


def missing_tools(workloads: list[str]) -> list[str]:
    needed = {"wrk"} if set(workloads) & {"W1", "W3", "W5"} else set()
    if "W2" in workloads:
        needed.add("ab")
    return sorted(tool for tool in needed if not shutil.which(tool))


def compile_httpdw() -> None:
    """Byte-compile the checkout's httpdw once, as installing its wheel does: otherwise, with
    PYTHONDONTWRITEBYTECODE set (as on this project's machines), every server start would compile it
    from source and W6's start-up time would measure the compiler."""
    import compileall
    compileall.compile_dir(str(ROOT / "httpdw"), quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out_dir = args.out or RESULTS / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    if args.rerender:
        from hdwbench.runner import rerender
        if not (args.rerender / "results.json").is_file():
            print(f"--rerender: no results.json in {args.rerender}")
            return 2
        try:
            rerender(args.rerender)
        except (ValueError, KeyError, TypeError) as e:     # not JSON, or not a results file of this suite
            print(f"--rerender: {args.rerender}/results.json is not a results file of bench/run.py ({e!r})")
            return 2
        return 0
    if args.profile:
        from hdwbench.profile import run_profile
        out_dir.mkdir(parents=True, exist_ok=True)
        if not 1 <= args.profile_duration <= 300:
            print("--profile-duration must be between 1 and 300 seconds")
            return 2
        return run_profile(args.profile, args.profile_duration, out_dir, args.profile_server)

    from hdwbench.runner import Plan, execute
    missing = missing_tools(args.workloads)
    if missing:
        print(f"missing load tools: {', '.join(missing)} (bash bench/setup.sh installs them)")
        return 2
    timing = Timing.quick() if args.quick else Timing()
    if args.duration is not None:
        if not 1 <= args.duration <= 600:
            print("--duration must be between 1 and 600 seconds")
            return 2
        # In --quick, W2's ab is bounded by the same run length as wrk; otherwise by its 120 s limit.
        timing = replace(timing, duration_s=args.duration,
                         ab_limit_s=args.duration if args.quick else timing.ab_limit_s)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if not 1 <= rounds <= 50:
        print("--rounds must be between 1 and 50")
        return 2
    skipped = {name: why for name in args.servers if (why := KINDS[name].missing())}
    plan = Plan(args.workloads, args.servers, rounds, timing, quick=args.quick, skipped=skipped)
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    compile_httpdw()
    if os.geteuid() != 0:
        print("note: not root: PSS/USS may be unreadable for children that switch user")
    return execute(plan, out_dir, command.strip())


if __name__ == "__main__":
    sys.exit(main())
