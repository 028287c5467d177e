"""Helpers for the CLI tests (the fixtures are in conftest.py): run `httpdw` in-process (fast, for many
cases) or as a real process (`python -m httpdw`, so PATH does not matter), and a minimal passing config."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from httpdw.cli import command

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"

#: every process the tests start is bounded by this (seconds)
PROCESS_TIMEOUT = 60


@dataclass
class Run:
    """What one httpdw run gave: exit status and the two streams."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_inprocess(*args: str, env: dict[str, str] | None = None) -> Run:
    """`httpdw ARGS` through click's test runner (no new interpreter: fast enough for hypothesis)."""
    result = CliRunner().invoke(command, list(args), env=env, catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # an exception escaping the command is exactly what the user would see as a traceback
        import traceback
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception))
    return Run(result.exit_code, result.stdout, stderr)


def run_process(*args: str, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                timeout: float = PROCESS_TIMEOUT) -> Run:
    """`python -m httpdw ARGS` as a real process (exit codes, streams and Python start-up as users see them)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "httpdw", *args], cwd=cwd, env=full_env, capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def minimal(server_root: Path, body: str = "", listen: str = "127.0.0.1:18080") -> str:
    """A config that passes on its own (ServerRoot, Listen, logs in the tmp dir), plus `body`."""
    return (f"ServerRoot {server_root}\n"
            f"Listen {listen}\n"
            f"PidFile {server_root}/logs/httpd.pid\n"
            f"ErrorLog {server_root}/logs/error_log\n"
            f"ServerName localhost\n" + body)
