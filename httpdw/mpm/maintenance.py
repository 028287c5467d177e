"""`perform_idle_server_maintenance` (spec 4.2) as a pure function: a scoreboard snapshot in, a decision out.

The parent calls it once a second and carries out the decision (fork children into the chosen slots,
or tell one child to exit gracefully). Keeping the arithmetic free of processes makes every rule of
Apache's worker.c testable with plain data.

One deliberate difference: Apache lets a new child "squat" on the slot of a child that is still finishing
gracefully (taking over its thread slots as they free up). httpdw forks only into slots whose process has
been reaped, so a free slot here is a slot with no process; the limits (daemons_limit children, never more
than daemons_limit × ThreadsPerChild threads) are the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from httpdw.mpm import api

MAX_SPAWN_RATE = 32
#: after a graceful restart the spawn rate does not double for this many spawning cycles
HOLD_OFF_CYCLES = 10

_IDLE_STATES = (api.DEAD, api.STARTING, api.READY)                     # status <= SERVER_READY
_ACTIVE_STATES = (api.READY, api.BUSY_READ, api.BUSY_WRITE, api.BUSY_KEEPALIVE, api.BUSY_LOG,
                  api.BUSY_DNS, api.CLOSING)                             # READY <= status < GRACEFUL


@dataclass
class MaintenanceState:
    """What Apache keeps in `retained` between maintenance cycles."""

    idle_spawn_rate: int = 1
    hold_off: int = 0
    maxclients_reported: bool = False
    near_maxclients_reported: bool = False
    had_healthy_child: bool = False
    #: a child exited APEXIT_CHILDSICK (set by the parent when it reaps one)
    sick_child_detected: bool = False


@dataclass
class Decision:
    spawn_slots: list[int] = field(default_factory=list)   #: fork a child into each of these slots
    kill_one: int | None = None                             #: process slot told to exit gracefully ('!')
    #: children are sick and none was ever healthy: stop the server (AH02325) instead of forking again
    give_up: bool = False
    messages: list[tuple[str, str]] = field(default_factory=list)   #: (level, message)
    idle_threads: int = 0
    active_threads: int = 0
    total_non_dead: int = 0


@dataclass(frozen=True)
class Limits:
    daemons_limit: int
    threads_per_child: int
    min_spare_threads: int
    max_spare_threads: int
    max_workers: int             #: MaxRequestWorkers


def perform_idle_server_maintenance(snap: api.ScoreboardSnapshot, generation: int, limits: Limits,
                                    state: MaintenanceState) -> Decision:
    """Decide what this second's maintenance does. Mutates `state` (spawn rate, once-only flags)."""
    d = Decision()
    free_slots: list[int] = []
    idle_per_slot: dict[int, int] = {}
    for i in range(min(limits.daemons_limit, snap.server_limit)):
        proc = snap.processes[i]
        threads = snap.workers[i][:limits.threads_per_child]
        live_current = proc.pid != 0 and not proc.quiescing
        idle_here = active_here = 0
        any_dying = False
        for w in threads:
            any_dying = any_dying or w.state == api.GRACEFUL
            if live_current:
                if proc.generation == generation and w.state in _IDLE_STATES:
                    idle_here += 1
                if w.state in _ACTIVE_STATES:
                    active_here += 1
        d.idle_threads += idle_here
        d.active_threads += active_here
        if proc.pid != 0 and proc.generation == generation and not proc.quiescing:
            idle_per_slot[i] = idle_here
        if proc.pid == 0 and len(free_slots) < min(state.idle_spawn_rate, MAX_SPAWN_RATE):
            free_slots.append(i)
        elif proc.pid != 0 and active_here == limits.threads_per_child:
            state.had_healthy_child = True
        if proc.pid != 0 and not any_dying:
            d.total_non_dead += 1

    if d.idle_threads > limits.max_spare_threads:
        d.kill_one = _child_to_stop(idle_per_slot)
        state.idle_spawn_rate = 1
    elif d.idle_threads < limits.min_spare_threads:
        if not free_slots:
            _scoreboard_full(d, limits, state)
        else:
            _spawn(d, free_slots, state)
    else:
        state.idle_spawn_rate = 1
    return d


def _child_to_stop(idle_per_slot: dict[int, int]) -> int | None:
    """Apache writes one '!' that whichever child reads first obeys; httpdw picks the current-generation
    child with the most idle threads (it finishes soonest), the highest slot on a tie."""
    if not idle_per_slot:
        return None
    return max(idle_per_slot, key=lambda s: (idle_per_slot[s], s))


def _scoreboard_full(d: Decision, limits: Limits, state: MaintenanceState) -> None:
    if d.active_threads >= limits.max_workers:
        if d.idle_threads == 0:
            if not state.maxclients_reported:
                d.messages.append(("error", "AH00286: server reached MaxRequestWorkers setting, consider "
                                            "raising the MaxRequestWorkers setting"))
                state.maxclients_reported = True
        elif not state.near_maxclients_reported:
            d.messages.append(("error", "AH00287: server is within MinSpareThreads of MaxRequestWorkers, "
                                        "consider raising the MaxRequestWorkers setting"))
            state.near_maxclients_reported = True
    else:
        d.messages.append(("error", "AH00288: scoreboard is full, not at MaxRequestWorkers"))
    state.idle_spawn_rate = 1


def _spawn(d: Decision, free_slots: list[int], state: MaintenanceState) -> None:
    if state.sick_child_detected:
        if not state.had_healthy_child:
            # Apache: "looks like a basket case": no child ever fully initialised; give up, fork no more
            d.give_up = True
            return
        state.sick_child_detected = False   # a transient shortage, as Apache assumes once a child was healthy
    d.spawn_slots = free_slots[:state.idle_spawn_rate]
    if state.idle_spawn_rate >= 8:
        d.messages.append(("info", f"AH00289: server seems busy, (you may need to increase StartServers, "
                                   f"ThreadsPerChild or Min/MaxSpareThreads), spawning {len(d.spawn_slots)} "
                                   f"children, there are around {d.idle_threads} idle threads, and "
                                   f"{d.total_non_dead} total children"))
    if state.hold_off:
        state.hold_off -= 1
    elif state.idle_spawn_rate < MAX_SPAWN_RATE:
        state.idle_spawn_rate *= 2
