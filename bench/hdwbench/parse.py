"""Parsing the load generators' output (wrk with report.lua, ab) into plain numbers.

Pure functions over text, so they are unit-tested in bench/tests without running anything.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

WRK_MARKER = "HDWBENCH "
WRK_ERROR_KINDS = ("connect", "read", "write", "timeout", "status")


class ParseError(ValueError):
    """The tool's output did not contain what a finished run prints (it crashed, or was killed)."""


@dataclass
class LoadResult:
    """One load run, whichever tool produced it. Latencies in milliseconds."""

    requests: int
    duration_s: float
    bytes: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def mib_per_s(self) -> float:
        return self.bytes / self.duration_s / 2**20 if self.duration_s > 0 else 0.0

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())


def parse_wrk(stdout: str) -> LoadResult:
    """Read the JSON line report.lua prints; fall back to wrk's human summary when the line is missing."""
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            try:
                data = json.loads(line[len(WRK_MARKER):])
            except json.JSONDecodeError as exc:
                raise ParseError(f"wrk report line is not JSON: {exc}") from exc
            return _wrk_from_report(data)
    return parse_wrk_text(stdout)


def _wrk_from_report(data: dict) -> LoadResult:
    return LoadResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        bytes=int(data["bytes"]),
        errors={kind: int(data[kind]) for kind in WRK_ERROR_KINDS},
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
_SIZE = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


def _duration_ms(text: str) -> float:
    """wrk prints latencies as 1.99ms, 812.00us, 1.02s, 2.00m."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ParseError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk_text(stdout: str) -> LoadResult:
    """wrk's own summary (without report.lua). Coarser: byte counts are rounded by wrk."""
    summary = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read", stdout)
    if not summary:
        raise ParseError("wrk output has no 'N requests in T' summary line")
    duration_ms = float(summary.group(2)) * _UNITS_MS[summary.group(3)]
    result = LoadResult(
        requests=int(summary.group(1)),
        duration_s=duration_ms / 1000,
        bytes=int(float(summary.group(4)) * _SIZE[summary.group(5)]),
        errors={kind: 0 for kind in WRK_ERROR_KINDS},
    )
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", stdout)
    if sock:
        for kind, value in zip(("connect", "read", "write", "timeout"), sock.groups()):
            result.errors[kind] = int(value)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    if non2xx:
        result.errors["status"] = int(non2xx.group(1))
    for pct, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        found = re.search(rf"^\s*{pct}(?:\.0+)?%\s+(\S+)", stdout, re.MULTILINE)
        if found:
            setattr(result, attr, _duration_ms(found.group(1)))
    return result


def parse_ab(stdout: str) -> LoadResult:
    """ab's report: completed and failed requests, time taken, the percentile table (whole ms).

    ab counts a request whose connection failed as "complete" *and* "failed", so the successful ones are
    complete - failed (never below 0); failures are reported as errors, not as throughput."""
    complete = re.search(r"^Complete requests:\s+(\d+)", stdout, re.MULTILINE)
    taken = re.search(r"^Time taken for tests:\s+([\d.]+) seconds", stdout, re.MULTILINE)
    if not complete or not taken:
        raise ParseError("ab output has no 'Complete requests' / 'Time taken' lines (ab aborted?)")
    failed = re.search(r"^Failed requests:\s+(\d+)", stdout, re.MULTILINE)
    non2xx = re.search(r"^Non-2xx responses:\s+(\d+)", stdout, re.MULTILINE)
    transferred = re.search(r"^Total transferred:\s+(\d+) bytes", stdout, re.MULTILINE)
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", stdout, re.MULTILINE))
    longest = re.search(r"^\s+100%\s+(\d+) \(longest request\)", stdout, re.MULTILINE)
    failed_n = int(failed.group(1)) if failed else 0
    return LoadResult(
        requests=max(int(complete.group(1)) - failed_n, 0),
        duration_s=float(taken.group(1)),
        bytes=int(transferred.group(1)) if transferred else 0,
        errors={
            "failed": failed_n,
            "status": int(non2xx.group(1)) if non2xx else 0,
        },
        p50_ms=float(percentiles["50"]) if "50" in percentiles else None,
        p99_ms=float(percentiles["99"]) if "99" in percentiles else None,
        max_ms=float(longest.group(1)) if longest else None,
    )
