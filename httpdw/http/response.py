"""Response pieces every request needs: the Date header (formatted once per second), the Server
banner per ServerTokens, and header-block assembly."""
from __future__ import annotations

import re
import sys
import time

import httpdw
from httpdw.http.errors import status_line

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(ts: float) -> str:
    """RFC 7231 IMF-fixdate, e.g. 'Mon, 23 Nov 2026 11:57:50 GMT'. (Not email.utils.formatdate: the email
    package brings datetime, calendar, locale and random along, resident in every serving process.)"""
    t = time.gmtime(ts)
    return (f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}
_D, _MON = "[0-9]", "(?P<mon>[A-Z][a-z][a-z])"
_TIME = f"(?P<H>{_D}{_D}):(?P<M>{_D}{_D}):(?P<S>{_D}{_D})"
#: apr_date_parse_http's four shapes, matched after the first space (the weekday is not checked), each
#: ending where its apr_date_checkmask mask has '*' (a zone or anything else after it is ignored)
_HTTP_DATE_SHAPES = tuple(re.compile(p) for p in (
    f"(?P<d>{_D}{_D}) {_MON} (?P<y>{_D}{{4}}) {_TIME} ",          # RFC 1123: 06 Nov 1994 08:49:37 GMT
    f"(?P<d>{_D}{_D})-{_MON}-(?P<yy>{_D}{_D}) {_TIME} ",          # RFC 850:  06-Nov-94 08:49:37 GMT
    f"{_MON} (?P<d>[0-9 ]{_D}) {_TIME} (?P<y>{_D}{{4}})",         # asctime:  Nov  6 08:49:37 1994
    f"(?P<d>{_D}) {_MON} (?P<y>{_D}{{4}}) {_TIME} ",              # RFC 1123 with a one-digit day
))


def parse_http_date(text: str) -> float | None:
    """apr_date_parse_http: an HTTP date in one of its shapes -> epoch seconds, None if invalid. As Apache,
    the weekday and anything after the time (the zone) are ignored; dates before 1970 are invalid, and so is
    the epoch itself (Apache's APR_DATE_BAD is 0).
    (Self-contained: it runs in children that may not be able to import a module they did not inherit.)"""
    text = text.lstrip(" \t\n\v\f\r")
    space = text.find(" ")
    if space < 0:
        return None
    for shape in _HTTP_DATE_SHAPES:
        m = shape.match(text, space + 1)
        if m is not None:
            break
    else:
        return None
    fields = m.groupdict()
    if "yy" in fields:
        yy = int(fields["yy"])
        year = yy + (2000 if yy < 70 else 1900)
    else:
        year = int(fields["y"])
    mday, mon = int(fields["d"]), _MONTH_NUMBERS.get(fields["mon"])
    hour, minute, sec = int(fields["H"]), int(fields["M"]), int(fields["S"])
    if mon is None or not 1 <= mday <= _month_days(year, mon) or hour > 23 or minute > 59 or sec > 61 \
            or year < 1970:
        return None
    seconds = _days_since_epoch(year, mon, mday) * 86400 + hour * 3600 + minute * 60 + sec
    return float(seconds) if seconds else None


def _month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_since_epoch(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


class DateCache:
    """The current second and its Date header line, reformatted only when the second changes."""

    __slots__ = ("second", "line", "text")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""
        self.text = ""

    def header(self, now: float) -> bytes:
        sec = int(now)
        if sec != self.second:
            self.text = http_date(sec)
            self.line = b"Date: " + self.text.encode() + b"\r\n"
            self.second = sec
        return self.line


def server_banner(tokens: str) -> str:
    """The Server header and signature text per ServerTokens, with httpdw's product and version."""
    product, version = httpdw.PRODUCT, httpdw.__version__
    major, minor = version.split(".")[:2]
    if tokens == "Prod":
        return product
    if tokens == "Major":
        return f"{product}/{major}"
    if tokens == "Minor":
        return f"{product}/{major}.{minor}"
    if tokens == "Minimal":
        return f"{product}/{version}"
    if tokens == "OS":
        return f"{product}/{version} (Unix)"
    return f"{product}/{version} (Unix) Python/{sys.version.split()[0]}"


_STATUS_CACHE: dict[int, bytes] = {}


def status_bytes(status: int) -> bytes:
    """b'HTTP/1.1 200 OK\\r\\n' (Apache always answers with its own protocol, HTTP/1.1)."""
    b = _STATUS_CACHE.get(status)
    if b is None:
        b = _STATUS_CACHE[status] = f"HTTP/1.1 {status_line(status)}\r\n".encode()
    return b


def header_block(fields: list[tuple[str, str]]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in fields).encode("latin-1", "replace")


def monotonic() -> float:
    return time.monotonic()
