"""Access logs (mod_log_config): LogFormat strings compiled once into a list of small functions,
CustomLog/TransferLog targets (files opened O_APPEND per child, or `|program` pipes), env= conditions.

A log line is written with one os.write() on an O_APPEND descriptor, so lines of concurrent
threads and processes never interleave (Apache does the same with BufferedLogs Off)."""
from __future__ import annotations

import logging
import os
import threading
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:
    import subprocess   # at run time imported only where a piped log is started

log = logging.getLogger("httpdw.http.accesslog")

_NOTHING: Mapping[str, str] = MappingProxyType({})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class LogRecord:
    """What a log line can show about one request (filled by the connection handler).

    Every field has its default on the class: a request sets only what it knows (most requests on a
    server without access logs would otherwise pay for thirty attributes nobody reads). The defaults
    are immutable; a record's own values replace them, never mutate them."""

    client_ip = local_ip = ""
    client_port = local_port = canonical_port = 0
    request_line = method = protocol = uri = ""
    query: str | None = None
    status = original_status = 0
    body_bytes = bytes_in = bytes_out = 0
    #: an ErrorDocument redirect that failed: the final request, which %b/%B describe, sent no body
    final_sent_nothing = False
    start = 0.0
    duration = 0.0
    headers_in: Mapping[str, str] = _NOTHING
    #: the response's fields before Content-Type, and its Content-Type (None: not sent)
    fields_out: Sequence[tuple[str, str]] = ()
    content_type: str | None = None
    server_name = host_name = ""
    env: Mapping[str, str] = _NOTHING
    remote_host: str | None = None
    filename = ""
    keepalives = 0
    conn_status = "-"
    user: str | None = None

    @property
    def headers_out(self) -> list[tuple[str, str]]:
        """The response's header fields as sent (Content-Type last)."""
        fields = list(self.fields_out)
        if self.content_type:
            fields.append(("Content-Type", self.content_type))
        return fields

    @headers_out.setter
    def headers_out(self, fields: list[tuple[str, str]]) -> None:
        self.fields_out, self.content_type = fields, None


def escape(text: str) -> str:
    """ap_escape_logitem: quote, backslash and control characters escaped; non-ASCII as \\xhh."""
    if text.isprintable() and '"' not in text and "\\" not in text and text.isascii():
        return text
    out = []
    for ch in text.encode("latin-1", "replace") if isinstance(text, str) else text:
        c = chr(ch)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c in "\b\n\r\t\v":
            out.append({"\b": "\\b", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}[c])
        elif ch < 32 or ch >= 127:
            out.append(f"\\x{ch:02x}")
        else:
            out.append(c)
    return "".join(out)


_clf_cache: list = [-1, ""]


def clf_time(ts: float, fmt: str | None = None) -> str:
    """%t: [23/Nov/2026:11:57:50 +0000] in local time, as Apache; %{strftime}t when fmt is given."""
    if fmt is None and int(ts) == _clf_cache[0]:
        return _clf_cache[1]
    lt = time.localtime(ts)
    if fmt:
        if fmt in ("sec", "msec", "usec"):
            return str(int(ts * {"sec": 1, "msec": 1000, "usec": 1000000}[fmt]))
        if fmt in ("msec_frac", "usec_frac"):
            return f"{int(ts * 1000) % 1000:03d}" if fmt == "msec_frac" else f"{int(ts * 1e6) % 1000000:06d}"
        for prefix in ("begin:", "end:"):
            if fmt.startswith(prefix):
                fmt = fmt[len(prefix):]
        return time.strftime(fmt, lt)
    off = lt.tm_gmtoff // 60
    sign = "-" if off < 0 else "+"
    off = abs(off)
    text = (f"[{lt.tm_mday:02d}/{_MONTHS[lt.tm_mon - 1]}/{lt.tm_year}:{lt.tm_hour:02d}:{lt.tm_min:02d}:"
            f"{lt.tm_sec:02d} {sign}{off // 60:02d}{off % 60:02d}]")
    _clf_cache[0], _clf_cache[1] = int(ts), text     # one list store: safe across threads
    return text


Item = Callable[[LogRecord], str]


def _dash(v: str | None) -> str:
    return v if v else "-"


def _item(code: str, arg: str | None, final: bool) -> Item:
    """One %-directive -> a function of the record."""
    if code == "h":
        return lambda r: r.remote_host or r.client_ip
    if code == "a":
        return (lambda r: r.client_ip) if arg != "c" else (lambda r: r.client_ip)
    if code == "A":
        return lambda r: r.local_ip
    if code == "l":
        return lambda r: "-"
    if code == "u":
        return lambda r: escape(r.user) if r.user else "-"
    if code == "t":
        return lambda r: clf_time(r.start, arg)
    if code == "r":
        return lambda r: escape(r.request_line)
    if code == "s":
        return (lambda r: str(r.status)) if final else (lambda r: str(r.original_status or r.status))
    if code == "b":
        return lambda r: str(r.body_bytes) if r.body_bytes else "-"
    if code == "B":
        return lambda r: str(r.body_bytes)
    if code == "D":
        return lambda r: str(int(r.duration * 1_000_000))
    if code == "T":
        unit = {"ms": 1000, "us": 1_000_000, "s": 1}.get(arg or "s", 1)
        return lambda r: str(int(r.duration * unit))
    if code == "U":
        return lambda r: escape(r.uri)
    if code == "q":
        return lambda r: ("?" + escape(r.query)) if r.query else ""
    if code == "m":
        return lambda r: escape(r.method)
    if code == "H":
        return lambda r: r.protocol
    if code == "v":
        return lambda r: r.server_name
    if code == "V":
        return lambda r: r.host_name
    if code == "p":
        if arg == "remote":
            return lambda r: str(r.client_port)
        if arg == "local":
            return lambda r: str(r.local_port)
        return lambda r: str(r.canonical_port)
    if code == "P":
        if arg in ("tid", "hextid"):
            return (lambda r: str(threading.get_ident())) if arg == "tid" else (lambda r: f"{threading.get_ident():x}")
        return lambda r: str(os.getpid())
    if code == "i":
        key = (arg or "").lower()
        return lambda r: escape(r.headers_in[key]) if r.headers_in.get(key) else "-"
    if code == "o":
        key = (arg or "").lower()
        if key == "content-type":
            # mod_log_config logs the type without its parameters (ap_field_noparam): "text/html"
            return lambda r: _dash(escape(_header_out(r, key).split(";", 1)[0].rstrip()))
        return lambda r: _dash(escape(_header_out(r, key)))
    if code == "e":
        return lambda r: escape(r.env[arg]) if r.env.get(arg) else "-"
    if code == "n":
        return lambda r: "-"
    if code == "C":
        key = arg or ""
        return lambda r: _cookie(r.headers_in.get("cookie", ""), key)
    if code == "I":
        return lambda r: str(r.bytes_in)
    if code == "O":
        return lambda r: str(r.bytes_out)
    if code == "S":
        return lambda r: str(r.bytes_in + r.bytes_out)
    if code == "f":
        return lambda r: escape(r.filename) or "-"
    if code == "k":
        return lambda r: str(r.keepalives)
    if code == "X":
        return lambda r: r.conn_status
    if code == "L":
        return lambda r: "-"
    if code == "R":
        return lambda r: "-"
    if code == "%":
        return lambda r: "%"
    # mod_log_config refuses unknown directives at config time; here a literal keeps the line useful
    text = "%" + ("{" + arg + "}" if arg is not None else "") + code
    return lambda r: text


class _Inline:
    """An item that can also be written as an f-string expression."""

    __slots__ = ("func", "inline")

    def __init__(self, func: Item, inline: str):
        self.func = func
        self.inline = inline

    def __call__(self, r: LogRecord) -> str:
        return self.func(r)


def _header_out(r: LogRecord, key: str) -> str:
    """The first response header named `key` (lower case), or ''."""
    return next((v for k, v in r.headers_out if k.lower() == key), "")


def _hdr(headers: dict, key: str) -> str:
    v = headers.get(key)
    return escape(v) if v else "-"


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return escape(v)
    return "-"


def _with_condition(item: Item, statuses: tuple[int, ...], negate: bool) -> Item:
    """%400,501{User-agent}i / %!200,304i: the item only for (or except for) some statuses."""
    def conditional(r: LogRecord) -> str:
        hit = r.status in statuses
        return item(r) if hit != negate else "-"
    return conditional


def compile_format(fmt: str) -> Callable[[LogRecord], str]:
    """Compile a LogFormat string into a function record -> line (without the newline)."""
    parts: list[Any] = []
    i, n = 0, len(fmt)
    lit: list[str] = []
    while i < n:
        c = fmt[i]
        if c == "\\" and i + 1 < n:
            lit.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(fmt[i + 1], "\\" + fmt[i + 1]))
            i += 2
            continue
        if c != "%" or i + 1 >= n:
            lit.append(c)
            i += 1
            continue
        i += 1
        negate = False
        statuses: list[int] = []
        final = False
        arg = None
        while i < n:
            d = fmt[i]
            if d == "!":
                negate = True
            elif d.isdigit():
                j = i
                while j < n and (fmt[j].isdigit() or fmt[j] == ","):
                    j += 1
                statuses = [int(x) for x in fmt[i:j].split(",") if x]
                i = j
                continue
            elif d == "<":
                final = False
            elif d == ">":
                final = True
            elif d == "{":
                j = fmt.find("}", i)
                if j == -1:
                    break
                arg = fmt[i + 1:j]
                i = j
            else:
                break
            i += 1
        if i >= n:
            break
        code = fmt[i]
        i += 1
        if lit:
            parts.append("".join(lit))
            lit = []
        item = _item(code, arg, final or code != "s")
        if statuses:
            item = _with_condition(item, tuple(statuses), negate)
        else:
            inline = _INLINE.get((code, (final or code != "s") if code == "s" else None)) if arg is None else None
            if code == "i" and arg is not None:
                inline = "{_hdr(r.headers_in, %r)}" % arg.lower()
            if inline is not None:
                item = _Inline(item, inline)
        parts.append(item)
    if lit:
        parts.append("".join(lit))
    return _generate(parts)


#: expressions for the most common items, so a whole format compiles to one f-string
_INLINE = {
    ("h", None): "{(r.remote_host or r.client_ip)}",
    ("l", None): "-",
    ("r", None): "{_esc(r.request_line)}",
    ("s", True): "{r.status}",
    ("O", None): "{r.bytes_out}",
    ("I", None): "{r.bytes_in}",
    ("B", None): "{r.body_bytes}",
    ("b", None): "{r.body_bytes or '-'}",
    ("t", None): "{_clf(r.start)}",
    ("a", None): "{r.client_ip}",
    ("A", None): "{r.local_ip}",
    ("m", None): "{_esc(r.method)}",
    ("U", None): "{_esc(r.uri)}",
    ("H", None): "{r.protocol}",
    ("v", None): "{r.server_name}",
}


def _generate(parts: list) -> Callable[[LogRecord], str]:
    """Turn compiled parts into one function whose body is a single f-string."""
    namespace: dict[str, Any] = {"_esc": escape, "_clf": clf_time, "_hdr": _hdr}
    pieces = []
    for n, part in enumerate(parts):
        if isinstance(part, str):
            # literal text goes in as a variable: no quoting rules to get wrong
            namespace[f"_l{n}"] = part
            pieces.append("{_l%d}" % n)
            continue
        inline = getattr(part, "inline", None)
        if inline is not None:
            pieces.append(inline)
        else:
            namespace[f"_i{n}"] = part
            pieces.append("{_i%d(r)}" % n)
    source = 'def render(r):\n    return f"""' + "".join(pieces) + '"""\n'
    exec(compile(source, "<LogFormat>", "exec"), namespace)
    return namespace["render"]


class AccessLog:
    """One open CustomLog/TransferLog: a file descriptor (O_APPEND) or a pipe to a program."""

    def __init__(self, target: str, fmt: str, env: str | None = None):
        self.target = target
        self.render = compile_format(fmt)
        self.env_var = env.lstrip("!") if env else None
        self.env_negate = bool(env and env.startswith("!"))
        self.fd = -1
        self.proc: subprocess.Popen | None = None

    def open(self) -> None:
        if self.target.startswith("|"):
            self.proc = spawn_piped_logger(self.target)
            self.fd = self.proc.stdin.fileno() if self.proc and self.proc.stdin else -1
        else:
            try:
                self.fd = os.open(self.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                log.error("AH00649: could not open transfer log file %s: %s", self.target, e)
                self.fd = -1

    def wants(self, r: LogRecord) -> bool:
        if self.env_var is None:
            return True
        return (self.env_var in r.env) != self.env_negate

    def write(self, r: LogRecord) -> None:
        if self.fd < 0 or not self.wants(r):
            return
        try:
            os.write(self.fd, (self.render(r) + "\n").encode("latin-1", "replace"))
        except OSError as e:
            log.error("AH00646: Error writing to %s: %s", self.target, e)

    def close(self) -> None:
        if self.proc is not None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
            except OSError:
                pass
            self.proc = None
            self.fd = -1
        elif self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1


def spawn_piped_logger(target: str) -> subprocess.Popen | None:
    """`|cmd` and `|$cmd` run through /bin/sh, `||cmd` directly (mod_log_config / ap_open_piped_log)."""
    import shlex        # here: only piped logs need these two, and every serving process would hold them
    import subprocess
    cmd = target[1:]
    direct = cmd.startswith("|")
    if direct or cmd.startswith("$"):
        cmd = cmd[1:]
    args = shlex.split(cmd) if direct else ["/bin/sh", "-c", "exec " + cmd]
    try:
        return subprocess.Popen(args, stdin=subprocess.PIPE, close_fds=True, start_new_session=False)
    except OSError as e:
        log.error("AH00104: unable to start piped log program '%s': %s", cmd, e)
        return None
