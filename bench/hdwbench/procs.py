"""Measuring a server's whole process tree with psutil: CPU, RSS, threads and processes, sampled in a thread."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

MIB = 2**20


def tree(root_pid: int) -> list[psutil.Process]:
    """The server's root process and all its descendants (empty when the root is gone)."""
    try:
        root = psutil.Process(root_pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


@dataclass
class Sample:
    t: float            # seconds since the sampler started
    procs: int
    threads: int
    rss: int            # bytes, summed over the tree (shared pages counted once per process)


@dataclass
class TreeSampler:
    """Samples the tree every `interval` seconds in a background thread.

    CPU is kept per pid at its last seen value, so a child that exits keeps the CPU it had at its last sample
    (it loses at most one interval of CPU, see performance.md "Noise")."""

    root_pid: int
    interval: float = 0.25
    samples: list[Sample] = field(default_factory=list)
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _t0: float = 0.0

    def start(self) -> "TreeSampler":
        self._t0 = time.monotonic()
        self.sample_once()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.sample_once()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_once()

    def sample_once(self) -> None:
        procs = threads = rss = 0
        cpu_now = {}
        for proc in tree(self.root_pid):
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    cpu_now[proc.pid] = times.user + times.system
                    threads += proc.num_threads()
                    rss += proc.memory_info().rss
                procs += 1
            except psutil.Error:
                continue        # exited between listing and reading: it keeps its last CPU value
        with self._lock:
            self.cpu_by_pid.update(cpu_now)
            self.samples.append(Sample(time.monotonic() - self._t0, procs, threads, rss))

    def now(self) -> float:
        return time.monotonic() - self._t0

    def cpu_snapshot(self) -> dict[int, float]:
        """Sample now and return a copy of the per-pid CPU seconds."""
        self.sample_once()
        with self._lock:
            return dict(self.cpu_by_pid)

    def samples_between(self, t_from: float, t_to: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if t_from <= s.t <= t_to]


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the tree used between two snapshots; processes born in between count from zero."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def memory_footprint(root_pid: int) -> dict:
    """RSS, PSS and USS (MiB) summed over the tree, with process and thread counts. PSS/USS need
    /proc/PID/smaps_rollup (root, or the same user); when unreadable they are reported as None."""
    rss = pss = uss = 0
    full_ok = True
    procs = threads = 0
    for proc in tree(root_pid):
        try:
            with proc.oneshot():
                threads += proc.num_threads()
                rss += proc.memory_info().rss
            try:
                full = proc.memory_full_info()
                pss += full.pss
                uss += full.uss
            except (psutil.AccessDenied, AttributeError):
                full_ok = False
            procs += 1
        except psutil.Error:
            continue
    return {
        "rss_mib": rss / MIB,
        "pss_mib": pss / MIB if full_ok else None,
        "uss_mib": uss / MIB if full_ok else None,
        "procs": procs,
        "threads": threads,
    }


def time_to_fraction_of_rise(samples: list[Sample], t_start: float, fraction: float = 0.95) -> tuple[float, int, int]:
    """(seconds from t_start until the thread count covered `fraction` of its rise, threads at t_start, max threads).

    The baseline is the last sample at or before t_start; with no rise the time is 0."""
    before = [s for s in samples if s.t <= t_start]
    after = [s for s in samples if s.t > t_start]
    if not before and not after:
        return 0.0, 0, 0
    base = before[-1].threads if before else after[0].threads
    peak = max([base, *[s.threads for s in after]])
    if peak <= base:
        return 0.0, base, peak
    target = base + fraction * (peak - base)
    for sample in after:
        if sample.threads >= target:
            return sample.t - t_start, base, peak
    return after[-1].t - t_start, base, peak      # unreachable: peak itself reaches the target
