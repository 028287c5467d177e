"""`httpdw status [-f FILE] [--once] [--format json]`: the scoreboard of a running server, live.

The view is read from the server's `ScoreBoardFile` (mapped read-only: nothing is asked of the server).
Without a ScoreBoardFile it reads `/server-status?auto` from the first Listen address instead (fewer
details: counters and the scoreboard line). `--once` prints one snapshot; otherwise the view refreshes
every second until Ctrl-C. `--format json` prints one snapshot as JSON, for scripts.
"""
from __future__ import annotations

import json
import socket
import sys
import time

from httpdw.cli import CliOptions
from httpdw.mpm import api, pidfile
from httpdw.mpm.scoreboard import Scoreboard, ScoreboardError
from httpdw.mpm.status_text import counters, parse_auto, scoreboard_line, uptime_words


class StatusUnavailable(Exception):
    """Neither the scoreboard file nor the status URL could be read; the message says why."""


def run(opts: CliOptions) -> int:
    try:
        return _run(opts)
    except KeyboardInterrupt:   # Ctrl-C while loading the config or reading a snapshot: no traceback
        return 130


def _run(opts: CliOptions) -> int:
    from httpdw.cli.server import load_with_check
    loaded = load_with_check(opts, None)
    if loaded.config is None:
        for level, text in loaded.messages:
            if level == "error":
                print(text, file=sys.stderr)
        return 1
    source = StatusSource(loaded.config)
    try:
        if opts.output_format == "json":
            print(json.dumps(source.read_json(), indent=2))
            return 0
        if opts.once or not sys.stdout.isatty():
            _print(source.render())
            return 0
        return live_view(source)
    except StatusUnavailable as e:
        print(f"httpdw status: {e}", file=sys.stderr)
        return 1


def _print(renderable) -> None:
    from rich.console import Console
    Console().print(renderable)


def live_view(source: "StatusSource", interval: float = 1.0, console=None) -> int:
    """Redraw the status in place every `interval` seconds until Ctrl-C (then exit status 0).

    A server that is not there at the start is an error (StatusUnavailable, exit 1); one that goes away
    while watched (stopped, restarting) is shown as a message in the view, which keeps trying."""
    from rich.live import Live
    first = source.render()
    try:
        # no auto-refresh thread: a frame is drawn when there is a new one, once per interval
        with Live(first, console=console, auto_refresh=False, screen=False) as live:
            while True:
                time.sleep(interval)
                live.update(_render_or_problem(source), refresh=True)
    except KeyboardInterrupt:
        return 0


def _render_or_problem(source: "StatusSource"):
    from rich.text import Text
    try:
        return source.render()
    except StatusUnavailable as e:
        return Text(f"httpdw status: {e}\n(trying again every second; Ctrl-C to leave)", style="bold red")


class StatusSource:
    """Where the status comes from: the scoreboard file, else the server-status URL."""

    def __init__(self, config) -> None:
        self.config = config
        self.path = config.mpm.scoreboard_file

    # -- reading --------------------------------------------------------------------------------------

    def snapshot(self) -> api.ScoreboardSnapshot | None:
        """The scoreboard from the file, or None when no ScoreBoardFile is configured."""
        if not self.path:
            return None
        try:
            board = Scoreboard.attach(self.path)
        except ScoreboardError as e:
            raise StatusUnavailable(f"{e} (is the server running? pid file {self.config.mpm.pid_file})") from e
        try:
            if not pidfile.is_running(board.parent_pid):
                raise StatusUnavailable(f"{self.path} is stale: its server (pid {board.parent_pid}) is not running")
            return board.snapshot()
        finally:
            board.mem.close()

    def auto_fields(self) -> list[tuple[str, str]]:
        """GET /server-status?auto on the first Listen address."""
        listeners = self.config.mpm.listeners
        if not listeners:
            raise StatusUnavailable("no ScoreBoardFile and no Listen address to ask /server-status")
        first = listeners[0]
        host = first.host if first.host not in (None, "*", "", "0.0.0.0", "::") else "127.0.0.1"
        try:
            with socket.create_connection((host, first.port), timeout=5) as s:
                s.sendall(f"GET /server-status?auto HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError as e:
            raise StatusUnavailable(f"no ScoreBoardFile, and {host}:{first.port}/server-status?auto: {e}") from e
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            status_line = head.split(b"\r\n")[0].decode("latin-1")
            raise StatusUnavailable(f"/server-status?auto answered {status_line!r}"
                                    " (is `SetHandler server-status` configured?)")
        return parse_auto(body.decode("latin-1"))[1]

    # -- output ---------------------------------------------------------------------------------------

    def read_json(self) -> dict:
        snap = self.snapshot()
        if snap is None:
            return {"source": "server-status", "fields": dict(self.auto_fields())}
        return {"source": "scoreboard", **snapshot_to_dict(snap)}

    def render(self):
        snap = self.snapshot()
        return render_snapshot(snap) if snap is not None else render_auto(self.auto_fields())


def snapshot_to_dict(snap: api.ScoreboardSnapshot) -> dict:
    c = counters(snap)
    processes = []
    for slot, proc in enumerate(snap.processes):
        if not proc.pid:
            continue
        threads = snap.workers[slot][:snap.threads_per_child]
        processes.append({
            "slot": slot, "pid": proc.pid, "generation": proc.generation, "quiescing": proc.quiescing,
            "connections": proc.connections,
            "threads": [{"state": w.state, "accesses": w.access_count, "bytes": w.bytes_served,
                         "client": w.client, "request": w.request} for w in threads]})
    return {
        "server_limit": snap.server_limit, "thread_limit": snap.thread_limit, "daemons_limit": snap.daemons_limit,
        "threads_per_child": snap.threads_per_child, "running_generation": snap.running_generation,
        "config_generation": snap.config_generation, "restart_time": snap.restart_time,
        "uptime_seconds": int(time.time() - snap.restart_time),
        "idle": c.idle, "busy": c.busy, "graceful": c.graceful, "accesses": c.accesses, "kbytes": c.kbytes,
        "scoreboard": scoreboard_line(snap), "processes": processes,
    }


_STYLE = {"_": "green", "W": "bold red", "R": "yellow", "K": "cyan", "G": "magenta", "C": "blue", "S": "white",
          ".": "dim", "L": "yellow", "D": "yellow", "I": "magenta"}


def _letters(states: str):
    from rich.text import Text
    text = Text()
    for letter in states:
        text.append(letter, style=_STYLE.get(letter, ""))
    return text


def render_snapshot(snap: api.ScoreboardSnapshot):
    """The table of children (one row per process: its threads' state letters), a summary line (children,
    busy/idle counts, accesses) and Apache's scoreboard line."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    data = snapshot_to_dict(snap)
    # two short lines (each fits an 80-column terminal): the server, then the threads
    server_line = (f"generation {data['running_generation']}  up{uptime_words(data['uptime_seconds']) or ' 0 seconds'}"
                   f"  children {len(data['processes'])}/{data['daemons_limit']}"
                   f"  threads/child {data['threads_per_child']}")
    threads_line = (f"busy {data['busy']}  idle {data['idle']}  graceful {data['graceful']}"
                    f"  accesses {data['accesses']}")
    table = Table(title="httpdw scoreboard", expand=False)
    for col in ("slot", "pid", "gen", "state", "threads", "conns", "acc", "last request"):
        table.add_column(col)
    for p in data["processes"]:
        states = "".join(t["state"] for t in p["threads"])
        last = max(p["threads"], key=lambda t: t["accesses"])["request"] if p["threads"] else ""
        table.add_row(str(p["slot"]), str(p["pid"]), str(p["generation"]),
                      "quiescing" if p["quiescing"] else "running", _letters(states), str(p["connections"]),
                      str(sum(t["accesses"] for t in p["threads"])), last)
    # the summary lines are lines of their own, not the table's caption: a caption wraps at the table's
    # width, so its height would change with the digits of the uptime and the live view would jump
    summary = [Text(line, no_wrap=True, overflow="ellipsis") for line in (server_line, threads_line)]
    return Group(table, *summary, _letters(data["scoreboard"]))


def render_auto(fields: list[tuple[str, str]]):
    from rich.console import Group
    from rich.table import Table
    values = dict(fields)
    table = Table(title="httpdw server-status?auto", show_header=False)
    for key, value in fields:
        if key != "Scoreboard":
            table.add_row(key, value)
    return Group(table, _letters(values.get("Scoreboard", "")))
