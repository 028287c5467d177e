import pytest

from hdwbench.parse import ParseError, parse_ab, parse_wrk, parse_wrk_text


def test_wrk_report_line_wins_over_text_and_counts_non_2xx_as_status_errors(data):
    result = parse_wrk(data("wrk_report_404.txt"))
    assert result.requests == 55184
    assert result.bytes == 16996412
    assert result.duration_s == pytest.approx(1.09994)
    assert result.errors["status"] == 55184
    assert result.error_total == 55184
    assert result.p50_ms == pytest.approx(0.132)
    assert result.p99_ms == pytest.approx(1.244)
    assert result.max_ms == pytest.approx(4.346)
    assert result.rps == pytest.approx(55184 / 1.09994)


def test_wrk_text_fallback_reads_summary_and_latency_distribution(data):
    result = parse_wrk(data("wrk_text.txt"))       # no report line: falls back to the human summary
    assert result.requests == 42572
    assert result.duration_s == pytest.approx(1.0)
    assert result.bytes == int(51.28 * 2**20)
    assert result.p50_ms == pytest.approx(0.185)
    assert result.p99_ms == pytest.approx(0.297)
    assert result.error_total == 0


def test_wrk_text_socket_errors_and_second_units():
    text = """Running 10s test @ http://127.0.0.1:1/
  Latency Distribution
     50%    1.50s
     99%    2.00m
  1200 requests in 10.02s, 1.20MB read
  Socket errors: connect 3, read 7, write 0, timeout 11
  Non-2xx or 3xx responses: 4
"""
    result = parse_wrk_text(text)
    assert result.errors == {"connect": 3, "read": 7, "write": 0, "timeout": 11, "status": 4}
    assert result.p50_ms == 1500.0
    assert result.p99_ms == 120000.0
    assert result.rps == pytest.approx(1200 / 10.02)


def test_wrk_without_summary_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_broken_report_line_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_wrk('HDWBENCH {"requests": \n')


def test_ab_report(data):
    result = parse_ab(data("ab.txt"))
    assert result.requests == 300
    assert result.error_total == 0
    assert result.bytes > 300 * 1024
    assert result.p50_ms is not None and result.p99_ms is not None and result.max_ms is not None
    assert result.p50_ms <= result.p99_ms <= result.max_ms


def test_ab_non_2xx_are_errors(data):
    result = parse_ab(data("ab_404.txt"))
    assert result.errors == {"failed": 0, "status": 100}
    assert result.p99_ms == 3.0
    assert result.max_ms == 3.0
    assert result.duration_s == pytest.approx(0.007)


def test_ab_failed_connections_are_not_throughput(data):
    result = parse_ab(data("ab_refused.txt"))    # every connection refused: ab still says "complete"
    assert result.requests == 0
    assert result.errors["failed"] > 0


def test_ab_aborted_output_is_a_parse_error():
    aborted = "Benchmarking 127.0.0.1 (be patient)\napr_pollset_poll: The timeout specified has expired (70007)\n"
    with pytest.raises(ParseError):
        parse_ab(aborted)
