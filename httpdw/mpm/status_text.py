"""mod_status's output from a scoreboard snapshot: `?auto` text and the HTML page, as pure functions.

The HTTP layer's server-status handler calls these (it knows the request: host, query, ServerTokens);
`httpdw status` uses `counters()` for its own view. Field names, order and number formats are Apache
2.4.71's mod_status (spec 4.5, checked against a live Apache): APR's ``%g`` drops the leading zero
(``.25``), traffic per second/request is computed from whole kilobytes as Apache does, and durations are
whole milliseconds.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from httpdw.mpm import api
from httpdw.mpm.build import server_version as default_server_version

DISABLED = " "

#: mod_status's scoreboard key (the HTML page)
STATE_NAMES = {
    api.READY: "Waiting for Connection", api.STARTING: "Starting up", api.BUSY_READ: "Reading Request",
    api.BUSY_WRITE: "Sending Reply", api.BUSY_KEEPALIVE: "Keepalive (read)", api.BUSY_DNS: "DNS Lookup",
    api.CLOSING: "Closing connection", api.BUSY_LOG: "Logging", api.GRACEFUL: "Gracefully finishing",
    api.IDLE_KILL: "Idle cleanup of worker", api.DEAD: "Open slot with no current process",
}
#: the words of the per-thread "Server Details" mode column
MODE_WORDS = {
    api.DEAD: "Dead", api.STARTING: "Starting", api.READY: "Ready", api.BUSY_READ: "Read",
    api.BUSY_WRITE: "Write", api.BUSY_KEEPALIVE: "Keepalive", api.BUSY_LOG: "Logging", api.BUSY_DNS: "DNS lookup",
    api.CLOSING: "Closing", api.GRACEFUL: "Graceful", api.IDLE_KILL: "Dying",
}


def escape_html(text: str) -> str:
    """html.escape(text) (& < > " and '), without the html module: this page is rendered in a child that
    may have dropped privileges (User) and so cannot import a stdlib module it has not loaded before
    the fork (the interpreter may live where only root can read), and the html module (with its entity
    table) is not worth loading into every serving process for five replacements."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#x27;"))


def apr_g(value: float) -> str:
    """APR's ``%g``: like C's, but without the zero before the decimal point (``.25``)."""
    text = f"{value:g}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def uptime_words(seconds: int) -> str:
    """mod_status's show_time(): `` 1 day 2 hours 3 seconds`` (leading space, zero parts left out)."""
    days, rest = divmod(max(0, int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")):
        if n:
            out += f" {n} {unit}{'' if n == 1 else 's'}"
    return out


def apache_time(t: float) -> str:
    """``Monday, 23-Nov-2026 12:00:00 UTC``: Apache's DEFAULT_TIME_FORMAT in local time."""
    return time.strftime("%A, %d-%b-%Y %H:%M:%S %Z", time.localtime(t))


def scoreboard_line(snap: api.ScoreboardSnapshot) -> str:
    """Every slot's letter, leaving out "disabled" ones (DEAD outside daemons_limit × ThreadsPerChild)."""
    letters = []
    for i, row in enumerate(snap.workers):
        for j, w in enumerate(row):
            if w.state == api.DEAD and (i >= snap.daemons_limit or j >= snap.threads_per_child):
                continue
            letters.append(w.state)
    return "".join(letters)


@dataclass(frozen=True)
class Counters:
    """What mod_status adds up from the scoreboard."""

    idle: int
    busy: int
    graceful: int
    accesses: int
    kbytes: int
    duration_ms: int
    cpu_user: float
    cpu_system: float
    cpu_children_user: float
    cpu_children_system: float


def counters(snap: api.ScoreboardSnapshot) -> Counters:
    idle = busy = graceful = accesses = 0
    byte_total = duration_us = 0
    cpu_user = cpu_system = 0.0
    for i, row in enumerate(snap.workers):
        proc = snap.processes[i]
        live = proc.pid != 0 and not proc.quiescing
        if proc.pid:
            cpu_user += row[0].times_user if row else 0.0
            cpu_system += row[0].times_system if row else 0.0
        for w in row:
            if w.state == api.GRACEFUL:
                graceful += 1
            if live:
                if w.state == api.READY:
                    if proc.generation == snap.running_generation:
                        idle += 1
                elif w.state not in (api.DEAD, api.STARTING, api.IDLE_KILL, api.GRACEFUL):
                    busy += 1
            if w.access_count or w.state not in (api.READY, api.DEAD):
                accesses += w.access_count
                byte_total += w.bytes_served
                duration_us += w.duration_us
    return Counters(idle, busy, graceful, accesses, byte_total >> 10, duration_us // 1000, cpu_user, cpu_system,
                    snap.children_cpu_user, snap.children_cpu_system)


def auto_text(snap: api.ScoreboardSnapshot, host: str | None = None, extended: bool = True,
              now: float | None = None, *, server_name: str | None = None, server_version: str | None = None,
              load: tuple[float, float, float] | None = None) -> str:
    """``/server-status?auto`` exactly as Apache's worker MPM writes it (text/plain).

    host: the first line (Apache prints the host name of the request); `server_name` is accepted as
    the same thing. server_version: the ServerTokens-dependent banner (default: the full product string)."""
    host = host or server_name or "localhost"
    now = time.time() if now is None else now
    load = os.getloadavg() if load is None else load
    up = int(now - snap.restart_time)
    c = counters(snap)
    lines = [
        host,
        f"ServerVersion: {server_version or default_server_version()}",
        "ServerMPM: worker",
        f"Server Built: {snap.server_built}",
        f"CurrentTime: {apache_time(now)}",
        f"RestartTime: {apache_time(snap.restart_time)}",
        f"ParentServerConfigGeneration: {snap.config_generation}",
        f"ParentServerMPMGeneration: {snap.running_generation}",
        f"ServerUptimeSeconds: {up}",
        f"ServerUptime:{uptime_words(up)}",
        f"Load1: {load[0]:.2f}",
        f"Load5: {load[1]:.2f}",
        f"Load15: {load[2]:.2f}",
    ]
    if extended:
        lines += _extended_auto_lines(c, up)
    lines += [f"BusyWorkers: {c.busy}", f"GracefulWorkers: {c.graceful}", f"IdleWorkers: {c.idle}",
              f"Scoreboard: {scoreboard_line(snap)}"]
    return "\n".join(lines) + "\n"


def _extended_auto_lines(c: Counters, up: int) -> list[str]:
    lines = [f"Total Accesses: {c.accesses}", f"Total kBytes: {c.kbytes}", f"Total Duration: {c.duration_ms}",
             f"CPUUser: {apr_g(c.cpu_user)}", f"CPUSystem: {apr_g(c.cpu_system)}",
             f"CPUChildrenUser: {apr_g(c.cpu_children_user)}", f"CPUChildrenSystem: {apr_g(c.cpu_children_system)}"]
    cpu = c.cpu_user + c.cpu_system + c.cpu_children_user + c.cpu_children_system
    if cpu and up > 0:
        lines.append(f"CPULoad: {apr_g(cpu / up * 100)}")
    lines.append(f"Uptime: {up}")
    if up > 0:
        lines += [f"ReqPerSec: {apr_g(c.accesses / up)}", f"BytesPerSec: {apr_g(1024 * c.kbytes / up)}"]
    if c.accesses > 0:
        lines += [f"BytesPerReq: {apr_g(1024 * c.kbytes / c.accesses)}",
                  f"DurationPerReq: {apr_g(c.duration_ms / c.accesses)}"]
    return lines


def parse_auto(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a ``?auto`` body into (host line, [(key, value)...]) in order (for `httpdw status` and tests)."""
    lines = text.splitlines()
    fields = []
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            fields.append((key, value.strip()))
    return (lines[0] if lines else ""), fields


# ---------------------------------------------------------------------------------------------- HTML


def _bytes_words(n: float) -> str:
    """mod_status's format_byte_out: ``824 B``, ``5.2 kB``, ``1.3 MB``, ``2.0 GB``."""
    if n < 5 * 1024:
        return f"{int(n)} B"
    if n < 5 * 1024 * 1024:
        return f"{n / 1024:.1f} kB"
    if n < 5 * 1024 * 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / (1024 * 1024 * 1024):.1f} GB"


def _kbytes_words(kb: int) -> str:
    """format_kbyte_out: ``9 kB``, ``12.3 MB``, ``1.0 GB``."""
    if kb < 5 * 1024:
        return f"{kb} kB"
    if kb < 5 * 1024 * 1024:
        return f"{kb / 1024:.1f} MB"
    return f"{kb / (1024 * 1024):.1f} GB"


def html_page(snap: api.ScoreboardSnapshot, host: str | None = None, extended: bool = True,
              now: float | None = None, *, server_name: str | None = None, server_version: str | None = None,
              via: str | None = None, notable: bool = False, refresh: int | None = None,
              load: tuple[float, float, float] | None = None) -> str:
    """The HTML status page: header, counters, the scoreboard in <pre> (64 letters a line), the key, and
    with ExtendedStatus the per-thread table (``?notable``: the "Server Details" list instead; otherwise
    the PID key), as Apache's mod_status. `refresh` is accepted for the caller's convenience: the
    Refresh header is the HTTP layer's business."""
    host = host or server_name or "localhost"
    now = time.time() if now is None else now
    load = os.getloadavg() if load is None else load
    up = int(now - snap.restart_time)
    c = counters(snap)
    esc = escape_html
    out = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">',
           "<html><head>", "<title>Apache Status</title>", "</head><body>",
           f"<h1>Apache Server Status for {esc(host)} (via {esc(via or host)})</h1>", "",
           f"<dl><dt>Server Version: {esc(server_version or default_server_version())}</dt>",
           "<dt>Server MPM: worker</dt>", f"<dt>Server Built: {esc(snap.server_built)}", "</dt></dl><hr /><dl>",
           f"<dt>Current Time: {apache_time(now)}</dt>", f"<dt>Restart Time: {apache_time(snap.restart_time)}</dt>",
           f"<dt>Parent Server Config. Generation: {snap.config_generation}</dt>",
           f"<dt>Parent Server MPM Generation: {snap.running_generation}</dt>",
           f"<dt>Server uptime: {uptime_words(up)}</dt>",
           f"<dt>Server load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}</dt>"]
    if extended:
        out += _extended_html_lines(c, up)
    out.append(f"<dt>{c.busy} requests currently being processed, {c.graceful} workers gracefully restarting, "
               f"{c.idle} idle workers</dt>")
    line = scoreboard_line(snap)
    out.append("</dl><pre>" + "\n".join(line[i:i + 64] for i in range(0, len(line), 64)) + "</pre>")
    out.append(_scoreboard_key())
    if not extended:
        out.append(_pid_key(snap))
    elif notable:
        out.append(_server_details(snap, now))
    else:
        out.append(_thread_table(snap, now))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _extended_html_lines(c: Counters, up: int) -> list[str]:
    lines = [f"<dt>Total accesses: {c.accesses} - Total Traffic: {_kbytes_words(c.kbytes)} - "
             f"Total Duration: {c.duration_ms}</dt>"]
    cpu = c.cpu_user + c.cpu_system + c.cpu_children_user + c.cpu_children_system
    usage = (f"<dt>CPU Usage: u{apr_g(c.cpu_user)} s{apr_g(c.cpu_system)} cu{apr_g(c.cpu_children_user)} "
             f"cs{apr_g(c.cpu_children_system)}")
    if cpu and up > 0:
        usage += f" - {float(cpu / up * 100):.3g}% CPU load"
    lines.append(usage + "</dt>")
    parts = []
    if up > 0:
        parts += [f"{apr_g(c.accesses / up)} requests/sec", f"{_bytes_words(1024 * c.kbytes / up)}/second"]
    if c.accesses > 0:
        parts += [f"{_bytes_words(1024 * c.kbytes / c.accesses)}/request",
                  f"{apr_g(c.duration_ms / c.accesses)} ms/request"]
    if parts:
        lines.append("<dt>" + " - ".join(parts) + "</dt>")
    return lines


def _scoreboard_key() -> str:
    order = [api.READY, api.STARTING, api.BUSY_READ, api.BUSY_WRITE, api.BUSY_KEEPALIVE, api.BUSY_DNS,
             api.CLOSING, api.BUSY_LOG, api.GRACEFUL, api.IDLE_KILL, api.DEAD]
    items = [f'"<b><code>{s}</code></b>" {STATE_NAMES[s]}' for s in order]
    return "<p>Scoreboard Key:<br />\n" + ", \n".join(items) + "<br />\n</p>"


def _pid_key(snap: api.ScoreboardSnapshot) -> str:
    rows = ["<p>PID Key: <br />", "<pre>"]
    for i, row in enumerate(snap.workers):
        for j, w in enumerate(row):
            if w.state != api.DEAD and snap.processes[i].pid:
                rows.append(f"   {snap.processes[i].pid} in state: {w.state} ")
                break
    rows += ["</pre>", "</p>"]
    return "\n".join(rows)


def _thread_table(snap: api.ScoreboardSnapshot, now: float) -> str:
    head = ("<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th><th>SS</th>"
            "<th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th><th>Client</th><th>Protocol</th>"
            "<th>VHost</th><th>Request</th></tr>\n")
    rows = []
    for i, row in enumerate(snap.workers):
        for j, w in enumerate(row):
            if w.access_count == 0 and w.state in (api.READY, api.DEAD):
                continue
            mode = f"<b>{w.state}</b>" if w.state not in (api.READY, api.DEAD) else w.state
            since = int(now - w.last_used) if w.last_used else 0
            req_ms = int((w.stop_time - w.start_time) * 1000) if w.stop_time >= w.start_time > 0 else 0
            rows.append(
                f"<tr><td><b>{i}-{w.generation}</b></td><td>{w.pid or '-'}</td>"
                f"<td>{w.conn_count}/{w.access_count}/{w.my_access_count}</td><td>{mode}\n</td>"
                f"<td>{w.times_user + w.times_system:.2f}</td><td>{since}</td><td>{req_ms}</td>"
                f"<td>{w.duration_us // 1000}</td><td>{w.conn_bytes / 1024:.1f}</td>"
                f"<td>{w.bytes_served / 1048576:.2f}</td><td>{w.my_bytes_served / 1048576:.2f}\n</td>"
                f"<td>{escape_html(w.client)}</td><td>http/1.1</td><td nowrap>{escape_html(w.vhost)}</td>"
                f"<td nowrap>{escape_html(w.request)}</td></tr>\n")
    return head + "\n".join(rows) + "\n</table>"


def _server_details(snap: api.ScoreboardSnapshot, now: float) -> str:
    """``?notable``: one paragraph per thread that served something (mod_status's no-table format)."""
    parts = ["<hr /><h2>Server Details</h2>", ""]
    for i, row in enumerate(snap.workers):
        for w in row:
            if w.access_count == 0 and w.state in (api.READY, api.DEAD):
                continue
            mode = MODE_WORDS.get(w.state, "?")
            mode = f"<b>{mode}</b>" if w.state not in (api.READY, api.DEAD) else mode
            since = int(now - w.last_used) if w.last_used else 0
            req_ms = int((w.stop_time - w.start_time) * 1000) if w.stop_time >= w.start_time > 0 else 0
            parts.append(
                f"<b>Server {i}-{w.generation}</b> ({w.pid or '-'}): {w.conn_count}|{w.access_count}|"
                f"{w.my_access_count} [{mode}] u{apr_g(w.times_user)} s{apr_g(w.times_system)} cu0 cs0\n"
                f" {since} {req_ms} {w.duration_us // 1000}({_bytes_words(w.conn_bytes)}|"
                f"{_bytes_words(w.bytes_served)}|{_bytes_words(w.my_bytes_served)})\n"
                f" <i>{escape_html(w.client)} {{{escape_html(w.request)}}}</i> <i>(http/1.1)</i> "
                f"<b>[{escape_html(w.vhost)}]</b><br />\n")
    return "\n".join(parts)
