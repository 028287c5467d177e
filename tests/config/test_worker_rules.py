"""The worker rules table (spec 1.1), the start-time floors (spec 1.3) and the 2.0 ordering analysis (spec 3).

Expected messages are Apache 2.4.71's own output (observed with `apache2 -t`, see spec 1.1/1.2); the
differential test in tests/cli/test_differential_apache.py checks the same against the real binary.
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from httpdw.config.diagnostics import Pos, Severity
from httpdw.config.worker_rules import (
    DEFAULTS, RULES, START_FLOORS, WorkerLine, apply_worker_rules, order_2_0_diagnostics, run_worker_rules,
)


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


def messages(result) -> list[str]:
    return [d.message for d in result.diagnostics]


def check(**values):
    """The 2.4 check_config rules only (what `apache2 -t` reports), startup variant."""
    return apply_worker_rules(values, start_floors=False)


# --------------------------------------------------------------------------- the table itself

def test_table_order_is_apaches_check_order():
    assert [r.number for r in RULES] == ["1a", "1b", "2", "3a", "3b", "4", "5a", "5b", "6", "7", "8", "9", "10", "11"]
    assert [r.number for r in START_FLOORS] == ["S1", "S2", "S3", "S4", "S5"]


def test_every_reported_rule_has_both_codes_and_a_hint():
    for rule in RULES:
        if rule.reported:
            assert rule.later_code and rule.later_message and rule.hint, rule.label
    startup_codes = [r.code for r in RULES if r.code]
    assert startup_codes == ["AH00300", "AH00302", "AH00305", "AH00307", "AH00310", "AH00312", "AH00314",
                             "AH00316", "AH00318", "AH00320", "AH00322"]


def test_defaults_are_silent():
    result = apply_worker_rules({})
    assert result.diagnostics == () and result.adjustments == ()
    assert (result.server_limit, result.thread_limit, result.threads_per_child, result.max_request_workers,
            result.daemons_limit, result.start_servers, result.min_spare_threads, result.max_spare_threads) == \
           (16, 64, 25, 400, 16, 3, 75, 250)


def test_seed_worker_block_is_silent():
    result = apply_worker_rules({"ServerLimit": 16, "StartServers": 2, "MaxRequestWorkers": 150,
                                 "MinSpareThreads": 25, "MaxSpareThreads": 75, "ThreadsPerChild": 25})
    assert result.diagnostics == ()
    assert result.daemons_limit == 6 and result.max_threads == 150


# --------------------------------------------------------------------------- each row, startup variant

@pytest.mark.parametrize("values, code, message, field, effective", [
    ({"ServerLimit": 20001}, "AH00300",
     "WARNING: ServerLimit of 20001 exceeds compile-time limit of 20000 servers, decreasing to 20000.",
     "server_limit", 20000),
    ({"ServerLimit": 0, "MaxRequestWorkers": 25}, "AH00302", "WARNING: ServerLimit of 0 not allowed, increasing to 1.", "server_limit", 1),
    ({"ThreadLimit": 99999, "ThreadsPerChild": 25}, "AH00305",
     "WARNING: ThreadLimit of 99999 exceeds compile-time limit of 20000 threads, decreasing to 20000.",
     "thread_limit", 20000),
    ({"ThreadLimit": -3, "ThreadsPerChild": 1, "MaxRequestWorkers": 16}, "AH00307",
     "WARNING: ThreadLimit of -3 not allowed, increasing to 1.", "thread_limit", 1),
    ({"ThreadsPerChild": 100, "MaxRequestWorkers": 640}, "AH00310",
     "WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing to 64. To increase, please "
     "see the ThreadLimit directive.", "threads_per_child", 64),
    ({"ThreadsPerChild": 0, "MaxRequestWorkers": 16}, "AH00312",
     "WARNING: ThreadsPerChild of 0 not allowed, increasing to 1.", "threads_per_child", 1),
    ({"MaxRequestWorkers": 10}, "AH00314",
     "WARNING: MaxRequestWorkers of 10 is less than ThreadsPerChild of 25, increasing to 25. MaxRequestWorkers "
     "must be at least as large as the number of threads in a single server.", "max_request_workers", 25),
    ({"MaxRequestWorkers": 160}, "AH00316",
     "WARNING: MaxRequestWorkers of 160 is not an integer multiple of ThreadsPerChild of 25, decreasing to "
     "nearest multiple 150, for a maximum of 6 servers.", "max_request_workers", 150),
    ({"ServerLimit": 4}, "AH00318",
     "WARNING: MaxRequestWorkers of 400 would require 16 servers and would exceed ServerLimit of 4, decreasing "
     "to 100. To increase, please see the ServerLimit directive.", "daemons_limit", 4),
    ({"StartServers": 0}, "AH00320", "WARNING: StartServers of 0 not allowed, increasing to 1.",
     "start_servers", 1),
    ({"MinSpareThreads": -5}, "AH00322",
     "WARNING: MinSpareThreads of -5 not allowed, increasing to 1 to avoid almost certain server failure. "
     "Please read the documentation.", "min_spare_threads", 1),
])
def test_each_row_startup_variant(values, code, message, field, effective):
    result = check(**values)
    assert codes(result) == [code]
    assert messages(result) == [message]
    assert getattr(result, field) == effective
    assert all(d.severity is Severity.WARNING for d in result.diagnostics)


@pytest.mark.parametrize("values, code, message", [
    ({"ServerLimit": 20001}, "AH00301", "ServerLimit of 20001 exceeds compile-time limit of 20000, decreasing to match"),
    ({"ServerLimit": 0, "MaxRequestWorkers": 25}, "AH00303", "ServerLimit of 0 not allowed, increasing to 1"),
    ({"ThreadLimit": 20001}, "AH00306", "ThreadLimit of 20001 exceeds compile-time limit of 20000, decreasing to match"),
    ({"ThreadLimit": 0, "ThreadsPerChild": 1, "MaxRequestWorkers": 16}, "AH00308",
     "ThreadLimit of 0 not allowed, increasing to 1"),
    ({"ThreadsPerChild": 65, "MaxRequestWorkers": 640}, "AH00311",
     "ThreadsPerChild of 65 exceeds ThreadLimit of 64, decreasing to match"),
    ({"ThreadsPerChild": -1, "MaxRequestWorkers": 16}, "AH00313", "ThreadsPerChild of -1 not allowed, increasing to 1"),
    ({"MaxRequestWorkers": 1}, "AH00315", "MaxRequestWorkers of 1 is less than ThreadsPerChild of 25, increasing to match"),
    ({"MaxRequestWorkers": 160}, "AH00317",
     "MaxRequestWorkers of 160 is not an integer multiple of ThreadsPerChild of 25, decreasing to nearest multiple 150"),
    ({"ServerLimit": 4}, "AH00319",
     "MaxRequestWorkers of 400 would require 16 servers and exceed ServerLimit of 4, decreasing to 100"),
    ({"StartServers": -2}, "AH00321", "StartServers of -2 not allowed, increasing to 1"),
    ({"MinSpareThreads": 0}, "AH00323", "MinSpareThreads of 0 not allowed, increasing to 1"),
])
def test_each_row_later_pass_variant(values, code, message):
    result = apply_worker_rules(values, startup=False, start_floors=False)
    assert codes(result) == [code]
    assert messages(result) == [message]


# --------------------------------------------------------------------------- chains (spec 1.1 / 1.2, observed)

def test_chain_threadlimit_0_threadsperchild_5():
    result = check(ThreadLimit=0, ThreadsPerChild=5)
    assert codes(result) == ["AH00307", "AH00310", "AH00318"]
    assert messages(result)[2] == ("WARNING: MaxRequestWorkers of 400 would require 400 servers and would exceed "
                                   "ServerLimit of 16, decreasing to 16. To increase, please see the ServerLimit "
                                   "directive.")
    assert (result.thread_limit, result.threads_per_child, result.daemons_limit) == (1, 1, 16)


def test_chain_tpc_30_mrw_1000_keeps_max_workers():
    result = check(ThreadsPerChild=30, MaxRequestWorkers=1000)
    assert codes(result) == ["AH00316", "AH00318"]
    assert "decreasing to nearest multiple 990, for a maximum of 33 servers." in messages(result)[0]
    assert messages(result)[1].startswith("WARNING: MaxRequestWorkers of 990 would require 33 servers")
    assert "decreasing to 480." in messages(result)[1]
    # rule 9 lowers only the children cap: max_workers keeps 990 (spec 1.2)
    assert result.max_request_workers == 990 and result.daemons_limit == 16 and result.max_threads == 480


def test_fixed_default_max_workers_surprises():
    assert codes(check(ThreadsPerChild=10)) == ["AH00318"]
    assert "decreasing to 160." in messages(check(ThreadsPerChild=10))[0]
    r30 = check(ThreadsPerChild=30)
    assert codes(r30) == ["AH00316"] and "multiple 390, for a maximum of 13 servers." in messages(r30)[0]
    assert check(ThreadsPerChild=50).diagnostics == ()


def test_anchor_example_160_then_100():
    result = check(MaxRequestWorkers=160, ThreadsPerChild=25, ServerLimit=4)
    assert codes(result) == ["AH00316", "AH00318"]
    assert result.max_threads == 100


def test_else_if_pairs_fire_once():
    result = check(ThreadsPerChild=0, ThreadLimit=0, MaxRequestWorkers=16)
    assert codes(result) == ["AH00307", "AH00312"]


def test_max_spare_threads_is_never_checked_by_check_config():
    assert check(MaxSpareThreads=-100).diagnostics == ()


# --------------------------------------------------------------------------- restarts (rules 2 and 4)

def test_restart_keeps_first_limits():
    # spec 1.5 (observed): SL 4 / TL 32 at start; restart with SL 6, TL 40, TPC 10, MRW 60
    result = apply_worker_rules({"ServerLimit": 6, "ThreadLimit": 40, "ThreadsPerChild": 10,
                                 "MaxRequestWorkers": 60}, startup=False, first_limits=(4, 32), start_floors=False)
    assert codes(result) == ["AH00304", "AH00309", "AH00319"]
    assert messages(result) == [
        "changing ServerLimit to 6 from original value of 4 not allowed during restart",
        "changing ThreadLimit to 40 from original value of 32 not allowed during restart",
        "MaxRequestWorkers of 60 would require 6 servers and exceed ServerLimit of 4, decreasing to 40",
    ]
    assert (result.server_limit, result.thread_limit, result.max_threads) == (4, 32, 40)


def test_restart_with_same_limits_is_silent():
    result = apply_worker_rules({"ServerLimit": 4, "ThreadsPerChild": 25, "MaxRequestWorkers": 100},
                                startup=False, first_limits=(4, 64), start_floors=False)
    assert result.diagnostics == ()


def test_restart_compares_after_the_clamp():
    # ServerLimit 0 is first raised to 1 (rule 1b), then compared with the first value
    result = apply_worker_rules({"ServerLimit": 0}, startup=False, first_limits=(1, 64), start_floors=False)
    assert codes(result) == ["AH00303", "AH00319"]


# --------------------------------------------------------------------------- start-time floors (spec 1.3)

def test_max_spare_floor_is_min_plus_tpc_plus_one():
    result = apply_worker_rules({"ThreadsPerChild": 10, "MaxRequestWorkers": 20, "MinSpareThreads": 9,
                                 "MaxSpareThreads": 10, "StartServers": 2})
    assert codes(result) == ["HDW0202"]
    assert result.max_spare_threads == 20
    adj = result.adjustments[0]
    assert (adj.directive, adj.before, adj.after, adj.code) == ("MaxSpareThreads", 10, 20, "HDW0202")
    assert "without a message" in result.diagnostics[0].message


def test_start_servers_capped_at_children_limit():
    result = apply_worker_rules({"StartServers": 10, "MaxRequestWorkers": 100})
    assert codes(result) == ["HDW0202"] and result.start_servers == 4


def test_floors_with_buckets():
    result = apply_worker_rules({"ThreadsPerChild": 10, "MaxRequestWorkers": 10, "StartServers": 1,
                                 "MinSpareThreads": 1, "MaxSpareThreads": 1}, buckets=2)
    assert [a.rule.split()[0] for a in result.adjustments] == ["S1", "S2", "S3", "S4"]
    assert result.daemons_limit == 2 and result.start_servers == 2
    assert result.min_spare_threads == 12 and result.max_spare_threads == 12 + 11 * 2


def test_floors_can_be_left_out():
    values = {"MinSpareThreads": 200, "MaxSpareThreads": 10}
    assert apply_worker_rules(values, start_floors=False).max_spare_threads == 10
    assert apply_worker_rules(values).max_spare_threads == 226


def test_floor_sum_wraps_like_c_int():
    result = apply_worker_rules({"MinSpareThreads": 2 ** 31 - 1, "MaxSpareThreads": 5})
    # MinSpare + TPC + 1 overflows to a negative number in C: no raise
    assert result.max_spare_threads == 5


# --------------------------------------------------------------------------- positions

def test_diagnostic_points_at_the_changed_line_and_relates_the_causes():
    pos = {"ThreadsPerChild": Pos("a.conf", 3), "ThreadLimit": Pos("b.conf", 7)}
    result = apply_worker_rules({"ThreadsPerChild": 100, "ThreadLimit": 50, "MaxRequestWorkers": 500},
                                positions=pos, start_floors=False)
    assert result.diagnostics[0].pos == Pos("a.conf", 3)
    assert result.diagnostics[0].related == (Pos("b.conf", 7),)


def test_unset_directive_points_at_the_cause():
    result = apply_worker_rules({"ServerLimit": 4}, positions={"ServerLimit": Pos("a.conf", 2)},
                                start_floors=False)
    assert result.diagnostics[0].pos == Pos("a.conf", 2)


# --------------------------------------------------------------------------- order never matters (2.4)

worker_names = st.sampled_from(sorted(DEFAULTS))
lines_strategy = st.lists(st.tuples(worker_names, st.integers(-5, 30000)), min_size=0, max_size=8,
                          unique_by=lambda t: t[0])


@settings(max_examples=150, deadline=None)
@given(lines_strategy, st.randoms())
def test_result_never_depends_on_directive_order(pairs, rnd):
    lines = [WorkerLine(name, value, Pos("f.conf", i + 1)) for i, (name, value) in enumerate(pairs)]
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    a, _ = run_worker_rules(lines)
    b, _ = run_worker_rules(shuffled)
    assert a == b


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(worker_names, st.integers(-(2 ** 31), 2 ** 31 - 1)), st.booleans(),
       st.integers(1, 8))
def test_invariants_after_rules(values, startup, buckets):
    r = apply_worker_rules(values, startup=startup, buckets=buckets)
    assert 1 <= r.server_limit <= 20000 and 1 <= r.thread_limit <= 20000
    assert 1 <= r.threads_per_child <= r.thread_limit
    assert r.max_request_workers >= r.threads_per_child
    assert r.max_request_workers % r.threads_per_child == 0
    assert max(1, buckets) <= r.daemons_limit
    assert r.daemons_limit <= max(r.server_limit, buckets)
    assert 1 <= r.start_servers <= r.daemons_limit
    assert r.min_spare_threads >= 1
    assert len(r.adjustments) == len(r.diagnostics)


def test_permutations_of_the_classic_block_give_identical_output():
    block = [("ServerLimit", 40), ("ThreadLimit", 128), ("ThreadsPerChild", 100), ("MaxRequestWorkers", 1000)]
    results = set()
    for perm in itertools.permutations(block):
        res, _ = run_worker_rules(WorkerLine(n, v) for n, v in perm)
        results.add((res.threads_per_child, res.max_request_workers, res.daemons_limit, tuple(codes(res))))
    assert results == {(100, 1000, 10, ())}


# --------------------------------------------------------------------------- Apache 2.0 ordering (HDW0201)

def lines_of(*pairs):
    return [WorkerLine(n, v, Pos("httpd.conf", i + 1)) for i, (n, v) in enumerate(pairs)]


def test_tpc_before_threadlimit_is_reported_with_both_lines():
    diags = order_2_0_diagnostics(lines_of(("ThreadsPerChild", 100), ("ThreadLimit", 128),
                                           ("MaxRequestWorkers", 400)))
    assert [d.code for d in diags] == ["HDW0201"]
    d = diags[0]
    assert d.pos == Pos("httpd.conf", 1) and d.related == (Pos("httpd.conf", 2),)
    assert "checked it against ThreadLimit 64 and made it 64" in d.message
    assert "makes it 100" in d.message


def test_limits_first_is_silent():
    assert order_2_0_diagnostics(lines_of(("ServerLimit", 40), ("ThreadLimit", 128), ("ThreadsPerChild", 100),
                                          ("MaxRequestWorkers", 1000))) == []


def test_tpc_before_threadlimit_with_same_outcome_is_silent():
    assert order_2_0_diagnostics(lines_of(("ThreadsPerChild", 50), ("ThreadLimit", 128),
                                          ("MaxRequestWorkers", 400))) == []


def test_maxclients_before_serverlimit():
    diags = order_2_0_diagnostics(lines_of(("MaxRequestWorkers", 1000), ("ServerLimit", 40)))
    assert [d.code for d in diags] == ["HDW0201"]
    assert diags[0].pos.line == 1 and diags[0].related[0].line == 2
    assert "checked it against ServerLimit 16 and allowed 400 threads in 16 children" in diags[0].message


def test_swap_hack_covers_first_maxclients_before_threadsperchild():
    assert order_2_0_diagnostics(lines_of(("MaxRequestWorkers", 150), ("ThreadsPerChild", 50))) == []


def test_second_threadsperchild_after_maxclients_is_not_covered_by_the_hack():
    diags = order_2_0_diagnostics(lines_of(("ThreadsPerChild", 25), ("MaxRequestWorkers", 150),
                                           ("ThreadsPerChild", 50)))
    assert [d.code for d in diags] == ["HDW0201"]
    assert "before ThreadsPerChild 50" in diags[0].message
    assert diags[0].related == (Pos("httpd.conf", 3),)


def test_threadlimit_below_default_tpc_without_tpc_line():
    diags = order_2_0_diagnostics(lines_of(("ThreadLimit", 10), ("MaxRequestWorkers", 100)))
    assert [d.code for d in diags] == ["HDW0201"]
    assert "never checked the default" in diags[0].message and diags[0].related == ()


def test_no_maxclients_line_changes_the_children_limit():
    diags = order_2_0_diagnostics(lines_of(("ThreadsPerChild", 50)))
    assert [d.code for d in diags] == ["HDW0201"]
    assert "allowed ServerLimit (16) children" in diags[0].message and "8 children of 50" in diags[0].message


def test_run_worker_rules_last_line_wins():
    result, _ = run_worker_rules(lines_of(("MaxRequestWorkers", 150), ("MaxRequestWorkers", 200)))
    assert result.max_request_workers == 200
    result, _ = run_worker_rules(lines_of(("MaxRequestWorkers", 200), ("MaxRequestWorkers", 150)))
    assert result.max_request_workers == 150
