"""What each workload measures and how its table looks: one place for these facts, used by the runner,
the summary, the Markdown table and the chart."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    metric: str
    header: str
    fmt: str = "{:,.0f}"          # format of the median
    with_range: bool = False      # also print [min–max]


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    primary: str                  # the metric ratios to apache-worker and the chart use
    primary_label: str
    higher_is_better: bool
    columns: tuple[Column, ...]
    short: bool = False           # a run lasts a second or two on fast servers: needs more rounds

    @property
    def metrics(self) -> list[str]:
        return [c.metric for c in self.columns]


_LOAD_COLUMNS = (
    Column("p50_ms", "p50 ms", "{:,.2f}"),
    Column("p99_ms", "p99 ms", "{:,.1f}"),
    Column("errors", "errors", "{:,.0f}"),
    Column("rss_max_mib", "RSS max MiB", "{:,.1f}"),
)

WORKLOADS: dict[str, Workload] = {
    "W1": Workload("W1", "1 KiB file, keep-alive (wrk -t1 -c64 --latency)", "rps", "req/s", True,
                   (Column("rps", "req/s", with_range=True), *_LOAD_COLUMNS,
                    Column("cpu_us_per_req", "srv CPU µs/req"))),
    "W2": Workload("W2", "1 KiB file, a new connection per request (ab -c 32)", "rps", "req/s", True,
                   (Column("rps", "req/s", with_range=True), *_LOAD_COLUMNS,
                    Column("cpu_us_per_req", "srv CPU µs/req")), short=True),
    "W3": Workload("W3", "10 MiB file, keep-alive (wrk -t1 -c8)", "mib_s", "MiB/s", True,
                   (Column("mib_s", "MiB/s", with_range=True), *_LOAD_COLUMNS,
                    Column("cpu_ms_per_mib", "srv CPU ms/MiB", "{:,.3f}"),
                    Column("cpu_s", "srv CPU s/run", "{:,.2f}"))),
    "W5": Workload("W5", "burst from 0 to 256 connections (wrk -t1 -c256 --timeout 2s)", "rps", "req/s", True,
                   (Column("t95_s", "t to 95 % threads s", "{:,.1f}", with_range=True),
                    Column("threads_before", "threads before", "{:,.0f}"),
                    Column("threads_max", "threads max", "{:,.0f}"),
                    Column("procs_max", "procs max", "{:,.0f}"),
                    Column("errors", "failed requests", "{:,.0f}", with_range=True),
                    Column("rps", "req/s"),
                    Column("p99_ms", "p99 ms", "{:,.1f}"),
                    Column("rss_max_mib", "RSS max MiB", "{:,.1f}"),
                    Column("cpu_us_per_req", "srv CPU µs/req"))),
    "W6": Workload("W6", "idle footprint of the whole process tree", "rss_idle_mib", "RSS MiB (lower is better)",
                   False,
                   (Column("rss_start_mib", "RSS@start MiB", "{:,.1f}"),
                    Column("rss_idle_mib", "RSS@idle MiB", "{:,.1f}", with_range=True),
                    Column("pss_idle_mib", "PSS@idle MiB", "{:,.1f}"),
                    Column("uss_idle_mib", "USS@idle MiB", "{:,.1f}"),
                    Column("procs", "procs", "{:,.0f}"),
                    Column("threads", "threads", "{:,.0f}"),
                    Column("startup_s", "start to first 200 s", "{:,.2f}"))),
}

#: python-floor (W6 only) is the footprint of a stdlib-only server of httpdw's shape: the floor under W6
SERVERS = ("httpdw", "apache-worker", "nginx", "gunicorn", "python-floor")
