"""httpdw.cli.options: the click-free parser of server command lines agrees with click wherever it answers.

The lean parser exists so that a serving process never imports click; it may leave any command line
to click (answer None), but when it does answer, its parameters must be exactly click's.
"""
from __future__ import annotations

import subprocess
import sys

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpdw.cli import command
from httpdw.cli.options import OPTIONS, parse_serving_argv

from cli_helpers import REPO


def click_params(argv: list[str]) -> dict | None:
    """What click parses `argv` into (tuples as lists, like the lean parser), None if click refuses it."""
    try:
        ctx = command.make_context("httpdw", list(argv))
    except (click.exceptions.Exit, click.ClickException):
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in ctx.params.items()}


SERVING = [
    [],
    ["-f", "/etc/httpd.conf"],
    ["-f", "httpd.conf", "-D", "FOREGROUND"],
    ["-f/x.conf", "-DFOREGROUND", "-DSSL", "-d", "/srv", "-k", "start"],
    ["-k", "stop", "-f", "x.conf"],
    ["-kgraceful-stop", "-C", "ServerName a", "-c", "LogLevel debug", "-e", "info", "-E", "/tmp/s.log"],
    ["start"], ["restart", "-k", "restart"],
    ["--envvars", "/etc/apache2/envvars", "-k", "start"], ["--envvars=/e", "-X"],
    ["--format", "json", "-k", "start"], ["--format=github", "--strict", "--effective", "--once"],
]

NOT_SERVING = [
    ["-h"], ["--help"], ["-t"], ["configtest"], ["-k", "configtest"], ["status"], ["-V"], ["-v"], ["-M"],
    ["-l"], ["-L"], ["-S"], ["-k", "bogus"], ["-k", "=start"], ["configtest", "-k", "stop"], ["-Z"], ["-f"],
    ["--format", "xml"], ["--format=xml"], ["--strict=1"], ["-tS"], ["-f", "-D"], ["--", "start"],
    ["start", "stop"], ["-f", ""], ["-", "start"], ["--envvar", "x"],
]


@pytest.mark.parametrize("argv", SERVING, ids=" ".join)
def test_plain_server_command_lines_are_parsed_without_click_and_as_click(argv):
    params = parse_serving_argv(argv)
    assert params is not None
    assert params == click_params(argv)


@pytest.mark.parametrize("argv", NOT_SERVING, ids=" ".join)
def test_everything_else_is_left_to_click(argv):
    assert parse_serving_argv(argv) is None


TOKENS = st.sampled_from(
    [o.flag for o in OPTIONS] + ["-h", "--help", "--", "-", "-Q", "-tS", "-DFOO", "-fx.conf", "--format=json",
                                 "--envvars=/e", "start", "stop", "graceful", "configtest", "status", "json", "xml",
                                 "FOREGROUND", "/etc/httpd.conf", "", "=x", "-k=start", "x=y"])


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=6))
def test_whenever_the_lean_parser_answers_click_agrees(argv):
    params = parse_serving_argv(argv)
    if params is not None:
        assert params == click_params(argv)


def test_the_help_lists_every_option_in_table_order():
    text = command.get_help(command.make_context("httpdw", [], resilient_parsing=True))
    positions = [text.index(f"  {o.flag} ") for o in OPTIONS]
    assert positions == sorted(positions)
    assert all(o.help.split()[0] in text for o in OPTIONS)


def test_python_m_httpdw_starts_the_server_path_without_click(tmp_path):
    """`python -m httpdw -k stop` (a server command) runs without importing click at all."""
    code = ("import sys, runpy; sys.argv = ['httpdw', '-k', 'stop', '-f', sys.argv[1]]\n"
            "try:\n    runpy.run_module('httpdw', run_name='__main__')\n"
            "except SystemExit as e:\n    print('exit', e.code, 'click' in sys.modules)\n")
    conf = tmp_path / "httpd.conf"
    conf.write_text(f"ServerRoot {tmp_path}\nListen 127.0.0.1:1\nPidFile {tmp_path}/httpd.pid\n"
                    f"ErrorLog {tmp_path}/error_log\nServerName localhost\n")
    done = subprocess.run([sys.executable, "-c", code, str(conf)], capture_output=True, text=True, timeout=60,
                          cwd=str(REPO))
    assert "not running" in done.stdout, done.stderr
    assert done.stdout.strip().endswith("exit 0 False"), done.stdout + done.stderr
