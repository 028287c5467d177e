"""The command line's options, declared once, and a click-free parser for the commands that start a server.

`OPTIONS` is the one table of Apache's flags and httpdw's long options: httpdw.cli.click_command builds
the click command (help, errors, every command line) from it, and `parse_serving_argv` reads it too.

Why a second parser: click (with typing, uuid, platform, datetime and gettext behind it) costs ~1.6 MiB
in the process that imports it. The process that parses a `-k start` / `-D FOREGROUND` command line
becomes the serving parent, and every child is forked from it, so whatever it imported is resident
three times over in an idle server (parent + StartServers 2). `parse_serving_argv` accepts only plain
command lines that start, stop or signal a server, and answers None for anything else (-h, an unknown
or malformed option, a bad value, configtest, -V ...), which then goes through click exactly as before:
so every message and exit status is click's, and the two parsers agree on what they both accept
(tests/cli/test_options.py checks that against click itself).
"""
from __future__ import annotations

from typing import NamedTuple

K_ACTIONS = ("start", "stop", "restart", "graceful", "graceful-stop", "configtest")
WORD_ACTIONS = ("configtest", "status") + K_ACTIONS

#: --format's choices (configtest and status output)
FORMATS = ("text", "json", "github")


class Option(NamedTuple):
    """One command-line option: its spelling, the name of the value it sets, and how it takes a value."""

    flag: str                       #: "-f" or "--envvars"
    dest: str                       #: the parameter name (click's callback keyword)
    help: str
    metavar: str | None = None      #: None: a flag without a value (is_flag)
    multiple: bool = False          #: may be repeated; the values are collected in order
    choices: tuple[str, ...] = ()   #: the only values accepted (click.Choice)
    default: str | None = None

    @property
    def is_flag(self) -> bool:
        return self.metavar is None and not self.choices


OPTIONS: tuple[Option, ...] = (
    Option("-f", "config_file", "Config file (default: the compiled-in path, see -V).", "FILE"),
    Option("-d", "server_root", "ServerRoot to use before the config sets one.", "DIR"),
    Option("-D", "defines", "Define NAME for <IfDefine> (FOREGROUND: do not detach).", "NAME", multiple=True),
    Option("-C", "directives_before", "Process DIRECTIVE before reading the config.", "DIRECTIVE", multiple=True),
    Option("-c", "directives_after", "Process DIRECTIVE after reading the config.", "DIRECTIVE", multiple=True),
    Option("-e", "log_level", "LogLevel for the start-up messages.", "LEVEL"),
    Option("-E", "startup_log", "Log start-up errors to FILE.", "FILE"),
    Option("-k", "k_action", "start | stop | restart | graceful | graceful-stop | configtest", "ACTION"),
    Option("-t", "test_config", "Check the config and exit (same as `configtest`)."),
    Option("-S", "show_vhosts", "Show the parsed virtual-host settings."),
    Option("-L", "list_directives", "List every directive httpdw knows."),
    Option("-M", "list_modules", "List the modules httpdw provides."),
    Option("-l", "list_static", "List the compiled-in modules (same as -M)."),
    Option("-V", "show_build", "Show the build settings."),
    Option("-v", "show_version", "Show the version."),
    Option("-X", "single_process", "Debug mode: one child, in the foreground."),
    Option("--envvars", "envvars", "Read `export NAME=value` lines (Debian's envvars) into the environment.", "FILE"),
    Option("--strict", "strict", "configtest: warnings fail too."),
    Option("--format", "output_format", "configtest/status output format.", choices=FORMATS, default="text"),
    Option("--effective", "effective", "configtest: print the effective MPM values and the rules that changed them."),
    Option("--once", "once", "status: print one snapshot and exit."),
)

#: the flags that make the command something other than starting or signalling a server
_NOT_SERVING = ("test_config", "show_vhosts", "list_directives", "list_modules", "list_static", "show_build",
                "show_version")

_BY_FLAG = {o.flag: o for o in OPTIONS}


def parse_serving_argv(argv: list[str]) -> dict[str, object] | None:
    """The parameters click would give the command (the `action` argument and every option's dest) when
    `argv` plainly starts, stops or signals a server; None whenever click should parse it instead."""
    params: dict[str, object] = {o.dest: ([] if o.multiple else (False if o.is_flag else o.default))
                                 for o in OPTIONS}
    params["action"] = None
    rest = list(argv)
    while rest:
        if not _take_one(rest, params):
            return None
    return params if _is_serving(params) else None


def _take_one(rest: list[str], params: dict[str, object]) -> bool:
    """Consume the next option or argument from `rest` into `params`; False if it is not a plain one."""
    token = rest.pop(0)
    if token.startswith("--"):
        flag, eq, attached = token.partition("=")
        value = attached if eq else None
    elif token.startswith("-") and len(token) > 1:
        flag, value = token[:2], token[2:] or None
    else:
        if params["action"] is not None or token not in WORD_ACTIONS:
            return False
        params["action"] = token
        return True
    option = _BY_FLAG.get(flag)
    if option is None:
        return False
    if option.is_flag:
        params[option.dest] = True
        return value is None    # "-tS" / "--strict=x": click's business
    if value is None:
        if not rest:
            return False
        value = rest.pop(0)
    # a value click would take but that looks like a mistake ("-f -D"), or one it rejects: click decides
    if not value or value.startswith("-") or (option.choices and value not in option.choices):
        return False
    if option.multiple:
        params[option.dest].append(value)   # type: ignore[union-attr]
    else:
        params[option.dest] = value
    return True


def _is_serving(params: dict[str, object]) -> bool:
    """A server action (start, the default, or a -k signal) with nothing click would complain about."""
    if any(params[name] for name in _NOT_SERVING):
        return False
    action, k_action = params["action"], params["k_action"]
    if k_action is not None and k_action not in K_ACTIONS:
        return False
    if action and k_action and action != k_action:
        return False
    return (action or k_action) not in ("configtest", "status")
