"""Response pieces every request needs: the Date header (formatted once per second), the Server
banner per ServerTokens, and header-block assembly."""
from __future__ import annotations

import sys
import time
from email.utils import formatdate

import httpdw
from httpdw.http.errors import status_line

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(ts: float) -> str:
    """RFC 7231 IMF-fixdate, e.g. 'Mon, 23 Nov 2026 11:57:50 GMT'."""
    return formatdate(ts, usegmt=True)


def parse_http_date(text: str) -> float | None:
    """apr_date_parse_http: the three HTTP date formats -> epoch seconds, None if invalid."""
    from email.utils import parsedate_to_datetime
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return dt.timestamp()


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
