import pytest

from hdwbench.procs import Sample, cpu_delta, time_to_fraction_of_rise
from hdwbench.stats import round_ratios, spread, summarize


def cell(rnd, server, rps, status="ok", workload="W1"):
    return {"round": rnd, "workload": workload, "server": server, "status": status,
            "metrics": {"rps": rps} if status == "ok" else {}, "error": "" if status == "ok" else "boom"}


def test_spread_ignores_missing_values():
    result = spread([3.0, None, 1.0, 2.0])
    assert (result.median, result.low, result.high, result.n) == (2.0, 1.0, 3.0, 3)
    assert spread([None]) is None
    assert spread([]) is None


def test_ratios_are_taken_within_a_round():
    cells = [cell(1, "apache-worker", 100), cell(1, "httpdw", 50),
             cell(2, "apache-worker", 200), cell(2, "httpdw", 160),
             cell(3, "apache-worker", 0, status="failed"), cell(3, "httpdw", 999)]
    # round 3 has no anchor: no ratio for it (not 999/anything from another round)
    assert round_ratios(cells, "W1", "httpdw", "rps") == [0.5, 0.8]


def test_summarize_reports_medians_ratios_and_failures():
    cells = [cell(1, "apache-worker", 100), cell(1, "httpdw", 40), cell(1, "nginx", 250),
             cell(2, "apache-worker", 120), cell(2, "httpdw", 0, status="failed"), cell(2, "nginx", 240),
             cell(3, "apache-worker", 110), cell(3, "httpdw", 66), cell(3, "nginx", 330),
             {"round": 0, "workload": "W1", "server": "gunicorn", "status": "skipped", "error": "not installed",
              "metrics": {}}]
    summary = summarize(cells, ["W1"], ["httpdw", "apache-worker", "nginx", "gunicorn"],
                        {"W1": ["rps"]}, {"W1": "rps"})
    httpdw = summary["W1"]["httpdw"]
    assert httpdw["metrics"]["rps"] == {"median": 53.0, "min": 40, "max": 66, "n": 2}
    assert httpdw["ratio"]["median"] == pytest.approx((0.4 + 0.6) / 2)
    assert (httpdw["rounds_ok"], httpdw["rounds"], httpdw["failures"]) == (2, 3, ["boom"])
    assert summary["W1"]["nginx"]["ratio"]["min"] == pytest.approx(2.0)
    assert summary["W1"]["apache-worker"]["ratio"]["median"] == 1.0
    assert summary["W1"]["gunicorn"]["skipped"] == "not installed"
    assert summary["W1"]["gunicorn"]["metrics"] == {"rps": None}


def test_cpu_delta_counts_new_processes_from_zero_and_keeps_exited_ones():
    before = {1: 1.0, 2: 0.5}
    after = {1: 1.5, 2: 0.75, 3: 0.25}       # pid 3 was born during the run
    assert cpu_delta(before, after) == pytest.approx(1.0)


def test_time_to_95_percent_of_thread_rise():
    samples = [Sample(0.0, 3, 55, 0), Sample(0.9, 3, 55, 0),           # idle
               Sample(1.1, 3, 55, 0), Sample(2.0, 4, 80, 0), Sample(3.0, 6, 130, 0),
               Sample(3.9, 7, 158, 0), Sample(4.0, 7, 163, 0), Sample(5.0, 7, 163, 0)]
    t95, before, peak = time_to_fraction_of_rise(samples, t_start=1.0)
    assert (before, peak) == (55, 163)
    assert t95 == pytest.approx(2.9)        # 158 >= 55 + 0.95 * 108 = 157.6, at t=3.9


def test_no_rise_means_zero_time():
    samples = [Sample(0.0, 3, 3, 0), Sample(1.0, 3, 3, 0), Sample(2.0, 3, 3, 0)]
    assert time_to_fraction_of_rise(samples, t_start=0.5) == (0.0, 3, 3)
    assert time_to_fraction_of_rise([], t_start=0.5) == (0.0, 0, 0)
