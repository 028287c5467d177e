"""The worker MPM's value rules, as one table (spec section 1.1 and 1.3), plus the 2.0 ordering analysis.

Apache 2.4 stores every worker directive with plain `atoi` and checks nothing while parsing. After
the whole config has been read, `worker_check_config` runs a fixed list of checks top to bottom,
each one looking at the values *as they are at that moment* (so the chain of adjustments matters,
but the order of the directives in the file never does). At a real start, `worker_run` then applies
a few clamps silently. This module is that list, written as data: `RULES` (check_config, with
Apache's AH codes and exact messages) and `START_FLOORS` (worker_run, reported with httpdw's own
code HDW0202 because Apache says nothing).

`apply_worker_rules()` is a pure function: the raw numbers in, the effective numbers, every
adjustment and the diagnostics out.

Apache 2.0/2.2 did the checks inside the directive handlers, each against whatever the other values
were at that line, so there the order *did* matter ("put ServerLimit and ThreadLimit first").
`order_2_0_diagnostics()` replays that and reports, with HDW0201, each place where a config would
have come out differently under 2.0 (spec section 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from httpdw.config.diagnostics import Diagnostic, Pos, Severity
from httpdw.config.model import Adjustment

# --------------------------------------------------------------------------- constants (worker.c)

MAX_SERVER_LIMIT = 20000
MAX_THREAD_LIMIT = 20000

#: worker_pre_config's defaults. MaxRequestWorkers is *fixed* at 16 x 25 = 400: Apache computes it
#: before any directive is read and never recomputes it (spec 1.2).
DEFAULTS: dict[str, int] = {
    "ServerLimit": 16,
    "ThreadLimit": 64,
    "ThreadsPerChild": 25,
    "MaxRequestWorkers": 16 * 25,
    "StartServers": 3,
    "MinSpareThreads": 3 * 25,
    "MaxSpareThreads": 10 * 25,
}

#: The directives the rules read, canonical names (aliases folded: MaxClients -> MaxRequestWorkers).
WORKER_DIRECTIVES = tuple(DEFAULTS)

#: Name of the computed children cap (ap_daemons_limit) in adjustments and the effective table.
DAEMONS_LIMIT = "daemons_limit"


def _int32(value: int) -> int:
    """C int arithmetic wraps on overflow (in practice); worker_run's floor sums can overflow."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


# --------------------------------------------------------------------------- the state the rules see

@dataclass
class RuleState:
    """The worker globals while the rules run (names as in worker.c, comments give the directive)."""

    server_limit: int          # ServerLimit
    thread_limit: int          # ThreadLimit
    threads_per_child: int     # ThreadsPerChild
    max_workers: int           # MaxRequestWorkers / MaxClients
    daemons_to_start: int      # StartServers
    min_spare_threads: int     # MinSpareThreads
    max_spare_threads: int     # MaxSpareThreads
    daemons_limit: int = 0     # computed by rule 7
    #: retained->first_server_limit / first_thread_limit: set on restarts (None at the first load)
    first_server_limit: int | None = None
    first_thread_limit: int | None = None
    #: listener buckets (1 unless ListenCoresBucketsRatio > 0 and SO_REUSEPORT)
    buckets: int = 1

    def numbers(self) -> dict[str, int | None]:
        """The values by name, for formatting the messages (`{server_limit}` etc.)."""
        return dict(vars(self))


#: which RuleState field each directive feeds
FIELD_OF: dict[str, str] = {
    "ServerLimit": "server_limit",
    "ThreadLimit": "thread_limit",
    "ThreadsPerChild": "threads_per_child",
    "MaxRequestWorkers": "max_workers",
    "StartServers": "daemons_to_start",
    "MinSpareThreads": "min_spare_threads",
    "MaxSpareThreads": "max_spare_threads",
    DAEMONS_LIMIT: "daemons_limit",
}


# --------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Rule:
    """One row of the table: when `condition` holds, `directive`'s value becomes `adjustment(state)`.

    Messages are `str.format` templates over the state *before* the change plus `{old}` and `{new}`.
    `code`/`startup_message` is the console variant Apache prints at the first load (what `-t`
    shows); `later_code`/`later_message` the short variant it logs at later passes (restarts, the
    second pass of a start). None where Apache has no such variant.
    """

    number: str
    name: str
    directive: str                          #: whose value changes (a key of FIELD_OF)
    condition: Callable[[RuleState], bool]
    adjustment: Callable[[RuleState], int]
    code: str | None
    startup_message: str | None
    later_code: str | None
    later_message: str | None
    causes: tuple[str, ...] = ()            #: the other directives the condition compares with
    hint: str = ""
    reported: bool = True                   #: False for pure computations (rule 7)
    severity: Severity = Severity.WARNING

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}"


#: worker_check_config (2.4), applied top to bottom. Rows 1a/1b, 3a/3b and 5a/5b are else-if pairs in
#: the C code; their conditions exclude each other here, so evaluating them in turn is the same.
RULES: tuple[Rule, ...] = (
    Rule("1a", "ServerLimit > 20000", "ServerLimit",
         lambda s: s.server_limit > MAX_SERVER_LIMIT,
         lambda s: MAX_SERVER_LIMIT,
         "AH00300", "WARNING: ServerLimit of {old} exceeds compile-time limit of 20000 servers, decreasing to 20000.",
         "AH00301", "ServerLimit of {old} exceeds compile-time limit of 20000, decreasing to match",
         hint="ServerLimit can be at most 20000"),
    Rule("1b", "ServerLimit < 1", "ServerLimit",
         lambda s: s.server_limit < 1,
         lambda s: 1,
         "AH00302", "WARNING: ServerLimit of {old} not allowed, increasing to 1.",
         "AH00303", "ServerLimit of {old} not allowed, increasing to 1",
         hint="ServerLimit must be at least 1 (a non-number reads as 0)"),
    Rule("2", "ServerLimit changed on restart", "ServerLimit",
         lambda s: s.first_server_limit is not None and s.server_limit != s.first_server_limit,
         lambda s: s.first_server_limit,
         None, None,
         "AH00304", "changing ServerLimit to {old} from original value of {first_server_limit} "
                    "not allowed during restart",
         hint="the scoreboard is sized at the first start: stop and start the server to change ServerLimit"),
    Rule("3a", "ThreadLimit > 20000", "ThreadLimit",
         lambda s: s.thread_limit > MAX_THREAD_LIMIT,
         lambda s: MAX_THREAD_LIMIT,
         "AH00305", "WARNING: ThreadLimit of {old} exceeds compile-time limit of 20000 threads, decreasing to 20000.",
         "AH00306", "ThreadLimit of {old} exceeds compile-time limit of 20000, decreasing to match",
         hint="ThreadLimit can be at most 20000"),
    Rule("3b", "ThreadLimit < 1", "ThreadLimit",
         lambda s: s.thread_limit < 1,
         lambda s: 1,
         "AH00307", "WARNING: ThreadLimit of {old} not allowed, increasing to 1.",
         "AH00308", "ThreadLimit of {old} not allowed, increasing to 1",
         hint="ThreadLimit must be at least 1 (a non-number reads as 0)"),
    Rule("4", "ThreadLimit changed on restart", "ThreadLimit",
         lambda s: s.first_thread_limit is not None and s.thread_limit != s.first_thread_limit,
         lambda s: s.first_thread_limit,
         None, None,
         "AH00309", "changing ThreadLimit to {old} from original value of {first_thread_limit} "
                    "not allowed during restart",
         hint="the scoreboard is sized at the first start: stop and start the server to change ThreadLimit"),
    Rule("5a", "ThreadsPerChild > ThreadLimit", "ThreadsPerChild",
         lambda s: s.threads_per_child > s.thread_limit,
         lambda s: s.thread_limit,
         "AH00310", "WARNING: ThreadsPerChild of {old} exceeds ThreadLimit of {thread_limit} threads, "
                    "decreasing to {thread_limit}. To increase, please see the ThreadLimit directive.",
         "AH00311", "ThreadsPerChild of {old} exceeds ThreadLimit of {thread_limit}, decreasing to match",
         causes=("ThreadLimit",),
         hint="raise ThreadLimit to at least ThreadsPerChild, or lower ThreadsPerChild"),
    Rule("5b", "ThreadsPerChild < 1", "ThreadsPerChild",
         lambda s: s.threads_per_child < 1,
         lambda s: 1,
         "AH00312", "WARNING: ThreadsPerChild of {old} not allowed, increasing to 1.",
         "AH00313", "ThreadsPerChild of {old} not allowed, increasing to 1",
         hint="ThreadsPerChild must be at least 1 (a non-number reads as 0)"),
    Rule("6", "MaxRequestWorkers < ThreadsPerChild", "MaxRequestWorkers",
         lambda s: s.max_workers < s.threads_per_child,
         lambda s: s.threads_per_child,
         "AH00314", "WARNING: MaxRequestWorkers of {old} is less than ThreadsPerChild of {threads_per_child}, "
                    "increasing to {threads_per_child}. MaxRequestWorkers must be at least as large as the "
                    "number of threads in a single server.",
         "AH00315", "MaxRequestWorkers of {old} is less than ThreadsPerChild of {threads_per_child}, "
                    "increasing to match",
         causes=("ThreadsPerChild",),
         hint="MaxRequestWorkers counts threads across all children: make it a multiple of ThreadsPerChild"),
    Rule("7", "children limit = MaxRequestWorkers / ThreadsPerChild", DAEMONS_LIMIT,
         lambda s: True,
         lambda s: s.max_workers // s.threads_per_child,
         None, None, None, None, reported=False),
    Rule("8", "MaxRequestWorkers not a multiple of ThreadsPerChild", "MaxRequestWorkers",
         lambda s: s.max_workers % s.threads_per_child != 0,
         lambda s: s.daemons_limit * s.threads_per_child,
         "AH00316", "WARNING: MaxRequestWorkers of {old} is not an integer multiple of ThreadsPerChild of "
                    "{threads_per_child}, decreasing to nearest multiple {new}, for a maximum of {daemons_limit} "
                    "servers.",
         "AH00317", "MaxRequestWorkers of {old} is not an integer multiple of ThreadsPerChild of "
                    "{threads_per_child}, decreasing to nearest multiple {new}",
         causes=("ThreadsPerChild",),
         hint="use a multiple of ThreadsPerChild"),
    # MaxRequestWorkers itself is left unchanged here: only the children cap drops (spec 1.2).
    Rule("9", "children limit > ServerLimit", DAEMONS_LIMIT,
         lambda s: s.daemons_limit > s.server_limit,
         lambda s: s.server_limit,
         "AH00318", "WARNING: MaxRequestWorkers of {max_workers} would require {old} servers and would exceed "
                    "ServerLimit of {server_limit}, decreasing to {server_limit_x_tpc}. To increase, please see "
                    "the ServerLimit directive.",
         "AH00319", "MaxRequestWorkers of {max_workers} would require {old} servers and exceed ServerLimit of "
                    "{server_limit}, decreasing to {server_limit_x_tpc}",
         causes=("MaxRequestWorkers", "ServerLimit", "ThreadsPerChild"),
         hint="raise ServerLimit to MaxRequestWorkers / ThreadsPerChild, or lower MaxRequestWorkers "
              "(when it is not set, Apache's default is a fixed 400, not ServerLimit x ThreadsPerChild)"),
    Rule("10", "StartServers < 1", "StartServers",
         lambda s: s.daemons_to_start < 1,
         lambda s: 1,
         "AH00320", "WARNING: StartServers of {old} not allowed, increasing to 1.",
         "AH00321", "StartServers of {old} not allowed, increasing to 1",
         hint="StartServers must be at least 1 (a non-number reads as 0)"),
    Rule("11", "MinSpareThreads < 1", "MinSpareThreads",
         lambda s: s.min_spare_threads < 1,
         lambda s: 1,
         "AH00322", "WARNING: MinSpareThreads of {old} not allowed, increasing to 1 to avoid almost certain "
                    "server failure. Please read the documentation.",
         "AH00323", "MinSpareThreads of {old} not allowed, increasing to 1",
         hint="MinSpareThreads must be at least 1 (a non-number reads as 0)"),
)

def _min_spare_floor(s: RuleState) -> int:
    return _int32(s.threads_per_child * (s.buckets - 1) + s.buckets)


def _max_spare_floor(s: RuleState) -> int:
    return _int32(s.min_spare_threads + (s.threads_per_child + 1) * s.buckets)


_SILENT = "Apache does this at start without a message"

#: worker_run's silent clamps (2.4.23 and later, spec 1.3), applied after RULES at a real start.
#: Apache prints nothing for these; httpdw reports them (HDW0202) because they change what runs.
START_FLOORS: tuple[Rule, ...] = (
    Rule("S1", "children limit >= listener buckets", DAEMONS_LIMIT,
         lambda s: s.daemons_limit < s.buckets,
         lambda s: s.buckets,
         "HDW0202", "the children limit of {old} is below the {buckets} listener buckets; raised to {new} "
                    "(" + _SILENT + ")",
         "HDW0202", "children limit raised from {old} to {new} (listener buckets)",
         causes=("MaxRequestWorkers", "ServerLimit"),
         hint="ListenCoresBucketsRatio gives one bucket per N cores; each bucket needs a child"),
    Rule("S2", "StartServers >= listener buckets", "StartServers",
         lambda s: s.daemons_to_start < s.buckets,
         lambda s: s.buckets,
         "HDW0202", "StartServers of {old} is below the {buckets} listener buckets; raised to {new} "
                    "(" + _SILENT + ")",
         "HDW0202", "StartServers raised from {old} to {new} (listener buckets)",
         hint="ListenCoresBucketsRatio gives one bucket per N cores; each bucket needs a child"),
    Rule("S3", "MinSpareThreads floor", "MinSpareThreads",
         lambda s: s.min_spare_threads < _min_spare_floor(s),
         _min_spare_floor,
         "HDW0202", "MinSpareThreads of {old} is below ThreadsPerChild x (buckets - 1) + buckets = {new}; "
                    "raised to {new} (" + _SILENT + ")",
         "HDW0202", "MinSpareThreads raised from {old} to {new} (listener buckets)",
         causes=("ThreadsPerChild",),
         hint="with listener buckets every bucket keeps a child's worth of idle threads"),
    Rule("S4", "MaxSpareThreads floor", "MaxSpareThreads",
         lambda s: s.max_spare_threads < _max_spare_floor(s),
         _max_spare_floor,
         "HDW0202", "MaxSpareThreads of {old} is below MinSpareThreads + (ThreadsPerChild + 1) x buckets = "
                    "{min_spare_threads} + ({threads_per_child} + 1) x {buckets}; raised to {new} (" + _SILENT
                    + ", so idle children are not killed and re-forked every second)",
         "HDW0202", "MaxSpareThreads raised from {old} to {new} (MinSpareThreads + ThreadsPerChild + 1)",
         causes=("MinSpareThreads", "ThreadsPerChild"),
         hint="set MaxSpareThreads to at least MinSpareThreads + ThreadsPerChild + 1"),
    Rule("S5", "StartServers <= children limit", "StartServers",
         lambda s: s.daemons_to_start > s.daemons_limit,
         lambda s: s.daemons_limit,
         "HDW0202", "StartServers of {old} exceeds the children limit of {daemons_limit}; only {new} children "
                    "are started (" + _SILENT + ")",
         "HDW0202", "StartServers lowered from {old} to {new} (children limit)",
         causes=("MaxRequestWorkers", "ServerLimit", "ThreadsPerChild"),
         hint="lower StartServers, or raise MaxRequestWorkers / ServerLimit"),
)


# --------------------------------------------------------------------------- applying the table

@dataclass(frozen=True)
class WorkerResult:
    """The effective worker values after the rules, with what changed them."""

    server_limit: int
    thread_limit: int
    threads_per_child: int
    max_request_workers: int     #: as Apache keeps max_workers (rule 9 does not lower it)
    daemons_limit: int           #: the real cap on children
    start_servers: int           #: children forked at start (min(StartServers, daemons_limit) after S5)
    min_spare_threads: int
    max_spare_threads: int
    #: the values the rules started from (configured, or the defaults), by directive name
    configured: Mapping[str, int] = field(default_factory=dict)
    #: which of those were set in the config (the others are Apache's defaults)
    explicit: frozenset[str] = frozenset()
    adjustments: tuple[Adjustment, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def max_threads(self) -> int:
        """The threads that can actually run at once: children limit x ThreadsPerChild."""
        return self.daemons_limit * self.threads_per_child

    @property
    def first_limits(self) -> tuple[int, int]:
        """(ServerLimit, ThreadLimit) to pass back on restarts (retained first_*_limit)."""
        return self.server_limit, self.thread_limit


def apply_worker_rules(values: Mapping[str, int], *, positions: Mapping[str, Pos] | None = None,
                       startup: bool = True, first_limits: tuple[int, int] | None = None,
                       buckets: int = 1, start_floors: bool = True) -> WorkerResult:
    """Run RULES (and START_FLOORS) over the raw atoi'd values, like worker_check_config + worker_run.

    values: directive name -> the number Apache stored (missing = Apache's default, see DEFAULTS).
    positions: directive name -> where it was set, for the diagnostics.
    startup: True for the first load (console messages, what `apache2 -t` prints); False for later
      passes (restarts: the short error-log messages).
    first_limits: (ServerLimit, ThreadLimit) of the first load, on restarts (rules 2 and 4).
    buckets: listener buckets (1 unless ListenCoresBucketsRatio is set).
    start_floors: also apply worker_run's silent start-time clamps (they are part of what runs).
    """
    positions = positions or {}
    raw = {name: values.get(name, default) for name, default in DEFAULTS.items()}
    state = RuleState(**{FIELD_OF[name]: value for name, value in raw.items()}, buckets=max(1, buckets))
    if first_limits is not None:
        state.first_server_limit, state.first_thread_limit = first_limits
    adjustments: list[Adjustment] = []
    diagnostics: list[Diagnostic] = []
    for rule in RULES + (START_FLOORS if start_floors else ()):
        _apply_rule(rule, state, startup, positions, adjustments, diagnostics)
    return WorkerResult(
        server_limit=state.server_limit, thread_limit=state.thread_limit,
        threads_per_child=state.threads_per_child, max_request_workers=state.max_workers,
        daemons_limit=state.daemons_limit, start_servers=state.daemons_to_start,
        min_spare_threads=state.min_spare_threads, max_spare_threads=state.max_spare_threads,
        configured=raw, explicit=frozenset(n for n in values if n in DEFAULTS),
        adjustments=tuple(adjustments), diagnostics=tuple(diagnostics))


def _apply_rule(rule: Rule, state: RuleState, startup: bool, positions: Mapping[str, Pos],
                adjustments: list[Adjustment], diagnostics: list[Diagnostic]) -> None:
    if not rule.condition(state):
        return
    attr = FIELD_OF[rule.directive]
    old = getattr(state, attr)
    new = rule.adjustment(state)
    numbers = state.numbers() | {"old": old, "new": new,
                                 "server_limit_x_tpc": state.server_limit * state.threads_per_child}
    setattr(state, attr, new)
    if not rule.reported:
        return
    code, template = (rule.code, rule.startup_message) if startup else (rule.later_code, rule.later_message)
    if template is None:      # rules 2 and 4 have no console variant: Apache logs them only on restart
        code, template = rule.later_code, rule.later_message
    adjustments.append(Adjustment(rule.directive, old, new, code, rule.label))
    pos, related = _where(rule, positions)
    diagnostics.append(Diagnostic(rule.severity, code, template.format(**numbers), pos, rule.hint, related))


def _where(rule: Rule, positions: Mapping[str, Pos]) -> tuple[Pos | None, tuple[Pos, ...]]:
    """Point at the line of the directive that changes (or, if it was not set, the first cause that
    was); the other lines involved become `related`."""
    names = ((rule.directive,) if rule.directive in positions else ()) + rule.causes
    if rule.directive == DAEMONS_LIMIT:
        names = rule.causes
    found = [positions[n] for n in names if n in positions]
    if not found:
        return None, ()
    primary, rest = found[0], found[1:]
    return primary, tuple(p for p in dict.fromkeys(rest) if p != primary)


# --------------------------------------------------------------------------- Apache 2.0's order dependence

@dataclass(frozen=True)
class WorkerLine:
    """One worker directive line at server level, in file order (includes inlined)."""

    directive: str      #: canonical name (MaxClients folded into MaxRequestWorkers)
    value: int          #: the atoi'd value
    pos: Pos | None = None


def _clamp_tpc_2_0(value: int, thread_limit: int) -> int:
    """2.0's set_threads_per_child: lowered to ThreadLimit, or raised to 1."""
    if value > thread_limit:
        return thread_limit
    return max(value, 1)


def _max_clients_2_0(value: int, tpc: int, server_limit: int) -> tuple[int, int]:
    """2.0's set_max_clients: (effective MaxClients, children limit) against the values of the moment."""
    clients = max(value, tpc)
    daemons = clients // tpc
    clients = daemons * tpc
    if daemons > server_limit:
        daemons = server_limit
        clients = daemons * tpc
    daemons = max(daemons, 1)
    return clients, daemons


def _limit_2_0(value: int, maximum: int) -> int:
    """2.0's set_server_limit / set_thread_limit: capped and raised to 1 by the handler itself."""
    return min(max(value, 1), maximum)


def _swap_hack_2_0(lines: list[WorkerLine]) -> list[WorkerLine]:
    """2.0/2.2 worker_pre_config swapped the first MaxClients with the first ThreadsPerChild when
    MaxClients came first (includes and true <IfModule> blocks were flattened by then)."""
    mc = next((i for i, ln in enumerate(lines) if ln.directive == "MaxRequestWorkers"), None)
    tpc = next((i for i, ln in enumerate(lines) if ln.directive == "ThreadsPerChild"), None)
    if mc is not None and tpc is not None and mc < tpc:
        lines = list(lines)
        lines[mc], lines[tpc] = lines[tpc], lines[mc]
    return lines


def order_2_0_diagnostics(lines: Sequence[WorkerLine]) -> list[Diagnostic]:
    """HDW0201 for each place where Apache 2.0/2.2's parse-time checks would have given another result.

    2.0 checked ThreadsPerChild against the ThreadLimit of that moment and MaxClients against the
    ThreadsPerChild and ServerLimit of that moment (after its MaxClients/ThreadsPerChild swap hack);
    a later ServerLimit/ThreadLimit/ThreadsPerChild line came too late. A check is reported when a
    later line changed what it compared with *and* the outcome differs. Two order-independent 2.0
    gaps are reported too: ThreadLimit below ThreadsPerChild's default with no ThreadsPerChild line
    (2.0 never checked it), and no MaxClients line (2.0 allowed ServerLimit children, 2.4 400 threads).
    """
    ordered = _swap_hack_2_0([ln for ln in lines if ln.directive in DEFAULTS])
    final = _final_limits_2_0(ordered)
    out: list[Diagnostic] = []
    server_limit, thread_limit, tpc = 16, 64, 25
    for index, line in enumerate(ordered):
        if line.directive == "ServerLimit":
            server_limit = _limit_2_0(line.value, MAX_SERVER_LIMIT)
        elif line.directive == "ThreadLimit":
            thread_limit = _limit_2_0(line.value, MAX_THREAD_LIMIT)
        elif line.directive == "ThreadsPerChild":
            tpc = _clamp_tpc_2_0(line.value, thread_limit)
            out += _tpc_too_early(index, line, tpc, thread_limit, final)
        elif line.directive == "MaxRequestWorkers":
            out += _max_clients_too_early(index, line, tpc, server_limit, final)
    out += _gaps_2_0(final)
    return out


@dataclass(frozen=True)
class _Final2:
    """What the 2.0 limits end up as after every line, and where each directive was set last."""

    server_limit: int
    thread_limit: int
    tpc: int
    last: Mapping[str, tuple[int, WorkerLine]]    #: directive -> (index in the 2.0 order, line)

    def later_setter(self, directive: str, index: int) -> WorkerLine | None:
        """The line that sets `directive` last, if it comes after position `index` (else None)."""
        found = self.last.get(directive)
        return found[1] if found is not None and found[0] > index else None

    def line(self, directive: str) -> WorkerLine | None:
        found = self.last.get(directive)
        return found[1] if found is not None else None


def _final_limits_2_0(ordered: Sequence[WorkerLine]) -> _Final2:
    last = {ln.directive: (i, ln) for i, ln in enumerate(ordered)}
    sl = _limit_2_0(last["ServerLimit"][1].value, MAX_SERVER_LIMIT) if "ServerLimit" in last else 16
    tl = _limit_2_0(last["ThreadLimit"][1].value, MAX_THREAD_LIMIT) if "ThreadLimit" in last else 64
    tpc = _clamp_tpc_2_0(last["ThreadsPerChild"][1].value, tl) if "ThreadsPerChild" in last else 25
    return _Final2(sl, tl, tpc, last)


def _tpc_too_early(index: int, line: WorkerLine, tpc_2_0: int, thread_limit_then: int,
                   final: _Final2) -> list[Diagnostic]:
    later = final.later_setter("ThreadLimit", index)
    if later is None or thread_limit_then == final.thread_limit:
        return []
    tpc_final = _clamp_tpc_2_0(line.value, final.thread_limit)
    if tpc_final == tpc_2_0:
        return []
    return [_hdw0201(
        line, later,
        f"ThreadsPerChild {line.value} comes before ThreadLimit {later.value}: Apache 2.0/2.2 checked it against "
        f"ThreadLimit {thread_limit_then} and made it {tpc_2_0}; Apache 2.4 (and httpdw) checks after reading "
        f"everything and makes it {tpc_final}",
        "put ServerLimit and ThreadLimit before the other worker directives if this config is also used with "
        "Apache 2.0/2.2")]


def _max_clients_too_early(index: int, line: WorkerLine, tpc_then: int, server_limit_then: int,
                           final: _Final2) -> list[Diagnostic]:
    then = _max_clients_2_0(line.value, tpc_then, server_limit_then)
    now = _max_clients_2_0(line.value, final.tpc, final.server_limit)
    if then == now:
        return []
    # blame a later line only if its value alone changes the outcome (a ThreadsPerChild that 2.0
    # clamped because of a late ThreadLimit is reported on the ThreadsPerChild line instead)
    alone = {"ServerLimit": _max_clients_2_0(line.value, tpc_then, final.server_limit),
             "ThreadsPerChild": _max_clients_2_0(line.value, final.tpc, server_limit_then)}
    out = []
    for directive, value_then, value_final in (("ServerLimit", server_limit_then, final.server_limit),
                                               ("ThreadsPerChild", tpc_then, final.tpc)):
        later = final.later_setter(directive, index)
        if later is None or value_then == value_final or alone[directive] == then:
            continue
        out.append(_hdw0201(
            line, later,
            f"MaxClients/MaxRequestWorkers {line.value} comes before {directive} {later.value}: Apache 2.0/2.2 "
            f"checked it against {directive} {value_then} and allowed {then[0]} threads in {then[1]} children; "
            f"Apache 2.4 (and httpdw) checks after reading everything and allows {now[0]} in {now[1]}",
            f"put {directive} before MaxClients/MaxRequestWorkers if this config is also used with "
            "Apache 2.0/2.2"))
    return out


def _gaps_2_0(final: _Final2) -> list[Diagnostic]:
    out = []
    tl_line = final.line("ThreadLimit")
    if tl_line is not None and final.line("ThreadsPerChild") is None \
            and final.thread_limit < DEFAULTS["ThreadsPerChild"]:
        out.append(_hdw0201(
            tl_line, None,
            f"ThreadLimit {tl_line.value} is below ThreadsPerChild's default of 25 and there is no ThreadsPerChild "
            f"line: Apache 2.0/2.2 never checked the default and started 25 threads per child with a scoreboard "
            f"sized for {final.thread_limit}; Apache 2.4 (and httpdw) lowers ThreadsPerChild to {final.thread_limit}",
            f"add ThreadsPerChild {final.thread_limit} next to ThreadLimit"))
    if final.line("MaxRequestWorkers") is None:
        anchor = final.line("ThreadsPerChild") or final.line("ServerLimit")
        children_2_0 = final.server_limit
        children_2_4 = min(max(DEFAULTS["MaxRequestWorkers"], final.tpc) // final.tpc, final.server_limit)
        if anchor is not None and children_2_0 != children_2_4:
            out.append(_hdw0201(
                anchor, None,
                f"there is no MaxClients/MaxRequestWorkers line: Apache 2.0/2.2 allowed ServerLimit "
                f"({children_2_0}) children, Apache 2.4 (and httpdw) uses the fixed default of 400 threads, "
                f"i.e. {children_2_4} children of {final.tpc} threads",
                "set MaxRequestWorkers explicitly (ServerLimit x ThreadsPerChild for the 2.0 behaviour)"))
    return out


def _hdw0201(line: WorkerLine, other: WorkerLine | None, message: str, hint: str) -> Diagnostic:
    related = (other.pos,) if other is not None and other.pos is not None else ()
    return Diagnostic(Severity.WARNING, "HDW0201", message, line.pos, hint, related)


# --------------------------------------------------------------------------- convenience

def run_worker_rules(lines: Iterable[WorkerLine], *, startup: bool = True,
                     first_limits: tuple[int, int] | None = None, buckets: int = 1,
                     start_floors: bool = True) -> tuple[WorkerResult, list[Diagnostic]]:
    """Last line of each directive wins (as in Apache); returns the 2.4 result and the HDW0201 list."""
    lines = list(lines)
    values = {ln.directive: ln.value for ln in lines if ln.directive in DEFAULTS}
    positions = {ln.directive: ln.pos for ln in lines if ln.directive in DEFAULTS and ln.pos is not None}
    result = apply_worker_rules(values, positions=positions, startup=startup, first_limits=first_limits,
                                buckets=buckets, start_floors=start_floors)
    return result, order_2_0_diagnostics(lines)
