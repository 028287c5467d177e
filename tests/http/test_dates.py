"""HTTP dates: httpdw formats and parses them itself (no email package in serving processes); the results
must be what email.utils gives for every valid date, and Apache's apr_date_parse_http verdicts otherwise."""
from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from httpdw.http.response import http_date, parse_http_date

EPOCH_TO_9999 = st.integers(min_value=1, max_value=253402300799)


@settings(max_examples=500, deadline=None)
@given(EPOCH_TO_9999)
def test_http_date_is_formatdate_with_gmt(ts):
    assert http_date(ts) == formatdate(ts, usegmt=True)


@settings(max_examples=500, deadline=None)
@given(EPOCH_TO_9999)
def test_the_three_formats_parse_back_to_the_same_second(ts):
    imf = http_date(ts)                                          # Sun, 06 Nov 1994 08:49:37 GMT
    weekday, day, mon, year, clock, _ = imf.replace(",", "").split()
    rfc850 = f"{weekday}day, {day}-{mon}-{year[2:]} {clock} GMT"  # Sunday, 06-Nov-94 08:49:37 GMT
    asctime = f"{weekday} {mon} {int(day):2d} {clock} {year}"     # Sun Nov  6 08:49:37 1994
    assert parse_http_date(imf) == ts == parsedate_to_datetime(imf).timestamp()
    assert parse_http_date(asctime) == ts
    if 1970 <= int(year) <= 2069:                                # two-digit years: 70-99 -> 19xx, else 20xx
        assert parse_http_date(rfc850) == ts


def test_what_apache_refuses_is_no_date():
    for text in ("", "garbage", "Sun, 06 Nov 1994 08:49:37",            # no zone after the time
                 "Sun, 31 Feb 2001 08:49:37 GMT", "Sun, 29 Feb 2001 08:49:37 GMT",
                 "Wed, 01 Jan 1969 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",   # APR_DATE_BAD is 0
                 "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                 "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 6 Nov 94 08:49:37 GMT"):
        assert parse_http_date(text) is None, text


def test_what_apache_tolerates_parses():
    base = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT")
    assert base == 784111777
    assert parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT") == base       # leading white space
    assert parse_http_date("Xyz, 06 Nov 1994 08:49:37 GMT") == base         # the weekday is not checked
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 +0000 extra") == base  # nor what follows the time
    assert parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT") == base          # a one-digit day
    assert parse_http_date("Sun, 29 Feb 2000 00:00:00 GMT") == 951782400     # a leap day
