"""Showing a config check's outcome: text (with source line and caret), JSON, GitHub annotations, and
the effective MPM values table.

Text goes where Apache writes it (the caller passes stderr): every diagnostic as
`file:line:col: error|warning: [CODE] message`, the source line with a caret under the column, a
`hint:` line, then `Syntax OK` when there is no error, so scripts that grep for it keep working.
Colours only on a terminal and never when NO_COLOR is set (rich decides both).

The JSON document (`render_json`) is documented in man/httpdw.1 (section JSON OUTPUT) and
samples/README.md; `JSON_SCHEMA_VERSION` changes when a field changes meaning.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from httpdw import APACHE_COMPAT, __version__
from httpdw.config.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:   # check.py imports this module's callers, not this module: no import cycle at run time
    from httpdw.config.check import ConfigResult

JSON_SCHEMA_VERSION = 1

#: how much of a source line is shown around the column (very long lines are cut, not wrapped)
SHOWN_LINE_WIDTH = 160

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.NOTE: "bold cyan"}


#: How many related places a text diagnostic lists before it says how many more there are.
MAX_RELATED_SHOWN = 3

def fails(diagnostics: Iterable[Diagnostic], strict: bool) -> bool:
    """Whether the check fails: any error, or with --strict any warning too (notes never fail)."""
    bad = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return any(d.severity in bad for d in diagnostics)


def counts(diagnostics: Iterable[Diagnostic]) -> dict[str, int]:
    out = {s.value: 0 for s in Severity}
    for d in diagnostics:
        out[d.severity.value] += 1
    return out


# --------------------------------------------------------------------------- source lines

class SourceLines:
    """The few source lines the diagnostics point at, read once per file, tolerant of anything
    (missing files, binary junk, huge files: only lines up to the last one needed are read)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self._wanted: dict[str, set[int]] = {}
        for d in diagnostics:
            if d.pos is not None and d.pos.line > 0:
                self._wanted.setdefault(d.pos.file, set()).add(d.pos.line)
        self._lines: dict[tuple[str, int], str] = {}
        for path, numbers in self._wanted.items():
            self._read(path, numbers)

    def _read(self, path: str, numbers: set[int]) -> None:
        last = max(numbers)
        try:
            with open(path, "rb") as f:
                for number, raw in enumerate(f, start=1):
                    if number in numbers:
                        self._lines[(path, number)] = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                    if number >= last:
                        break
        except (OSError, ValueError):
            pass   # the diagnostic itself says why the file could not be read

    def get(self, path: str, line: int) -> str | None:
        return self._lines.get((path, line))


def _excerpt(line: str, col: int) -> tuple[str, int]:
    """Cut a long line around the column; returns the text and the caret's 0-based offset in it."""
    col0 = max(col - 1, 0)
    if len(line) <= SHOWN_LINE_WIDTH:
        return line, min(col0, len(line))
    start = max(0, min(col0 - SHOWN_LINE_WIDTH // 4, len(line) - SHOWN_LINE_WIDTH))
    cut = line[start:start + SHOWN_LINE_WIDTH]
    prefix = "..." if start else ""
    suffix = "..." if start + SHOWN_LINE_WIDTH < len(line) else ""
    return prefix + cut + suffix, len(prefix) + col0 - start


def _printable(text: str) -> str:
    """Control characters (junk input) shown as escapes so the terminal is not disturbed."""
    return "".join(c if c == "\t" or c.isprintable() else repr(c)[1:-1] for c in text)


# --------------------------------------------------------------------------- text

#: width used for tables when the output is not a terminal (files, pipes): wide enough not to fold
PLAIN_WIDTH = 200


def make_console(stream: TextIO, color: bool | None = None) -> Console:
    """A rich console on `stream`: colours on a terminal unless NO_COLOR is set; `color` forces."""
    plain = bool(os.environ.get("NO_COLOR")) if color is None else not color
    # NO_COLOR (no-color.org) or color=False: no escape sequences at all, not even bold
    console = Console(file=stream, force_terminal=True if color else None, no_color=plain,
                      color_system=None if plain else "auto", highlight=False, soft_wrap=True,
                      emoji=False, markup=False)
    if not console.is_terminal:
        console.width = PLAIN_WIDTH
    return console


def diagnostic_text(d: Diagnostic, sources: SourceLines) -> Text:
    """One diagnostic as gcc-style text: location, severity, [CODE] message, source line, caret, hint."""
    out = Text()
    if d.pos is not None:
        out.append(f"{d.pos}: ", style="bold")
    out.append(f"{d.severity.value}: ", style=_STYLE[d.severity])
    out.append(f"[{d.code}] ", style="bold")
    out.append(_printable(d.message))
    out.append("\n")
    source = sources.get(d.pos.file, d.pos.line) if d.pos is not None else None
    if source is not None:
        shown, caret = _excerpt(source, d.pos.col)
        # tabs expanded here (not by the terminal) so the caret lines up under the column
        pad = " " * len(_printable(shown[:caret]).expandtabs(8))
        shown = _printable(shown).expandtabs(8)
        gutter = f"{d.pos.line:>5} | "
        out.append(gutter, style="dim")
        out.append(shown + "\n")
        out.append(" " * (len(gutter) - 2) + "| ", style="dim")
        out.append(pad + "^\n", style=_STYLE[d.severity])
    for related in d.related[:MAX_RELATED_SHOWN]:
        out.append(f"  see also: {related}\n", style="dim")
    if len(d.related) > MAX_RELATED_SHOWN:
        # an ignored directive repeated 40 times would otherwise drown the other problems;
        # --format json keeps every place
        out.append(f"  see also: {len(d.related) - MAX_RELATED_SHOWN} more place(s)\n", style="dim")
    if d.hint:
        out.append("hint: ", style="bold green")
        out.append(_printable(d.hint) + "\n")
    return out


def render_text(result: "ConfigResult", stream: TextIO, *, strict: bool = False, color: bool | None = None) -> None:
    """Every diagnostic, then a summary, then `Syntax OK` when there is no error (Apache's last line)."""
    console = make_console(stream, color)
    items = list(result.diagnostics) + _start_notes(result)
    sources = SourceLines(items)
    for d in items:
        console.print(diagnostic_text(d, sources), end="")
    n = counts(result.diagnostics)
    if n["error"] or n["warning"]:
        summary = f"{n['error']} error(s), {n['warning']} warning(s)"
        if strict and not n["error"] and n["warning"]:
            summary += " (--strict: warnings fail)"
        console.print(Text(summary, style="bold"))
    if not result.diagnostics.has_errors():
        console.print("Syntax OK")


def _start_notes(result: "ConfigResult") -> list[Diagnostic]:
    """Start-only problems, shown as notes (they do not fail configtest, as in Apache) and only for a
    config without errors (with errors it cannot start anyway)."""
    if result.diagnostics.has_errors():
        return []
    return [dataclasses.replace(d, severity=Severity.NOTE, message="a start would fail: " + d.message)
            for d in result.start_errors]


# --------------------------------------------------------------------------- JSON

def effective_values(result: "ConfigResult") -> dict | None:
    """The effective MPM values by directive name (None when errors prevented building the config)."""
    if result.config is None:
        return None
    m = result.config.mpm
    return {
        "ServerLimit": m.server_limit,
        "ThreadLimit": m.thread_limit,
        "ThreadsPerChild": m.threads_per_child,
        "MaxRequestWorkers": m.max_request_workers,
        "daemons_limit": m.daemons_limit,
        "max_threads": m.daemons_limit * m.threads_per_child,
        "StartServers": m.start_servers,
        "MinSpareThreads": m.min_spare_threads,
        "MaxSpareThreads": m.max_spare_threads,
        "MaxConnectionsPerChild": m.max_connections_per_child,
        "GracefulShutdownTimeout": m.graceful_shutdown_timeout,
        "ListenBacklog": m.listen_backlog,
        "ListenCoresBucketsRatio": m.listen_cores_buckets_ratio,
        "SendBufferSize": m.send_buffer_size,
        "ReceiveBufferSize": m.receive_buffer_size,
        "ThreadStackSize": m.thread_stack_size,
        "MaxMemFree": m.max_mem_free,
        "Listen": [{"host": ln.host, "port": ln.port, "proto": ln.proto} for ln in m.listeners],
        "PidFile": m.pid_file,
        "ScoreBoardFile": m.scoreboard_file,
        "CoreDumpDirectory": m.core_dump_directory,
        "User": m.user,
        "Group": m.group,
        "AcceptMutex": m.accept_mutex,
        "LockFile": m.lock_file,
        "ServerRoot": result.config.server_root,
        "ErrorLog": result.config.error_log,
        "LogLevel": result.config.log_level,
    }


def json_document(result: "ConfigResult", *, strict: bool = False) -> dict:
    """The `--format json` document (schema: man/httpdw.1, JSON OUTPUT)."""
    adjustments = result.config.mpm.adjustments if result.config is not None else \
        (result.worker.adjustments if result.worker is not None else ())
    return {
        "schema": JSON_SCHEMA_VERSION,
        "httpdw_version": __version__,
        "apache_compat": APACHE_COMPAT,
        "config_file": result.config_file,
        "verdict": "errors" if fails(result.diagnostics, strict) else "ok",
        "syntax_ok": not result.diagnostics.has_errors(),
        "strict": strict,
        "counts": counts(result.diagnostics),
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "start_errors": [d.to_json() for d in result.start_errors],
        "effective": effective_values(result),
        "adjustments": [{"directive": a.directive, "before": a.before, "after": a.after, "code": a.code,
                         "rule": a.rule} for a in adjustments],
        "files": list(result.files),
    }


def render_json(result: "ConfigResult", *, strict: bool = False) -> str:
    return json.dumps(json_document(result, strict=strict), indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- GitHub Actions

def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


_GH_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def github_annotation(d: Diagnostic) -> str:
    """`::error file=F,line=L,col=C,title=CODE::message` (a workflow command)."""
    props = []
    if d.pos is not None:
        props += [f"file={_gh_property(d.pos.file)}", f"line={d.pos.line}", f"col={d.pos.col}"]
    props.append(f"title={_gh_property(d.code)}")
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    return f"::{_GH_LEVEL[d.severity]} {','.join(props)}::{_gh_data(message)}"


def render_github(result: "ConfigResult") -> str:
    return "".join(github_annotation(d) + "\n" for d in list(result.diagnostics) + _start_notes(result))


# --------------------------------------------------------------------------- --effective

@dataclass(frozen=True)
class EffectiveRow:
    directive: str
    configured: str       #: as set in the config, or "(default N)"
    effective: str
    changed_by: str       #: "AH00316 rule 8 ...; ..." or ""


#: the worker values shown first, with the name the rules use for each
_WORKER_ROWS = (("ServerLimit", "server_limit"), ("ThreadLimit", "thread_limit"),
                ("ThreadsPerChild", "threads_per_child"), ("MaxRequestWorkers", "max_request_workers"),
                ("daemons_limit", "daemons_limit"), ("StartServers", "start_servers"),
                ("MinSpareThreads", "min_spare_threads"), ("MaxSpareThreads", "max_spare_threads"))


def effective_rows(result: "ConfigResult") -> list[EffectiveRow]:
    """The rows of `--effective`: each worker value, configured -> effective, and the rules that changed it.

    With errors there is no model, but the worker rules still ran on what could be read: their rows
    are shown then (the other settings only with a valid config)."""
    source = result.config.mpm if result.config is not None else result.worker
    if source is None:
        return []
    rows = _worker_rows(source, result.worker)
    if result.config is None:
        return rows
    values = effective_values(result) or {}
    for name in ("MaxConnectionsPerChild", "GracefulShutdownTimeout", "ListenBacklog", "ThreadStackSize",
                 "MaxMemFree", "PidFile", "ScoreBoardFile", "User", "Group", "AcceptMutex", "LockFile",
                 "ErrorLog", "LogLevel"):
        rows.append(EffectiveRow(name, "", "" if values.get(name) is None else str(values[name]), ""))
    listeners = ", ".join(str(ln) + ("" if ln.proto == "http" else f" {ln.proto}")
                          for ln in result.config.mpm.listeners)
    rows.append(EffectiveRow("Listen", "", listeners or "(none: the server cannot start)", ""))
    return rows


def _worker_rows(source, worker) -> list[EffectiveRow]:
    """Rows for the worker numbers; `source` is the MpmSettings or the WorkerResult (same field names)."""
    rows = []
    for name, attr in _WORKER_ROWS:
        changed = [a for a in source.adjustments if a.directive == name]
        if name == "daemons_limit":
            label = "children limit (MaxRequestWorkers / ThreadsPerChild)"
            configured = str(changed[0].before) if changed else str(source.daemons_limit)
        else:
            label = name
            configured = _configured(worker, name, getattr(source, attr))
        rows.append(EffectiveRow(label, configured, str(getattr(source, attr)),
                                 "; ".join(f"{a.code} rule {a.rule} ({a.before} -> {a.after})" for a in changed)))
    rows.append(EffectiveRow("max threads (children limit x ThreadsPerChild)", "",
                             str(source.daemons_limit * source.threads_per_child), ""))
    return rows


def _configured(worker, name: str, effective: int) -> str:
    if worker is None:
        return str(effective)
    value = worker.configured.get(name, effective)
    return str(value) if name in worker.explicit else f"(default {value})"


def render_effective(result: "ConfigResult", stream: TextIO, *, color: bool | None = None) -> None:
    """The effective values table (a rich table on a terminal, aligned plain text otherwise)."""
    console = make_console(stream, color)
    rows = effective_rows(result)
    if not rows:
        console.print("effective values: not available (the config could not be read)")
        return
    title = "Effective MPM values"
    if result.config is None:
        title += " (the config has errors: worker values only, from the lines that could be read)"
    table = Table(title=title, title_justify="left", show_edge=False, box=None,
                  pad_edge=False, header_style="bold")
    for column in ("directive", "configured", "effective", "changed by"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.directive, row.configured, row.effective, row.changed_by,
                      style="yellow" if row.changed_by else None)
    console.print(table)
