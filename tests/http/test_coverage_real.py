"""Piped access logs through the real server (`httpdw -D FOREGROUND`: parent, forked child, worker
threads): `CustomLog "|rotatelogs ..."` gets each line into the rotated file, and `TransferLog` to a
pipe works the same way; stopping the server ends the loggers it started."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from http_helpers import free_port, get, real_server_config, wait_for

REPO = Path(__file__).resolve().parents[2]
ROTATELOGS = shutil.which("rotatelogs") or "/usr/bin/rotatelogs"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.access(ROTATELOGS, os.X_OK), reason="rotatelogs (apache2-utils) missing")]

COMBINED = re.compile(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                      r'"GET /a\.txt\?rotated=1 HTTP/1\.1" 200 \d+ "http://ref\.example/" "rotate-test"')


def loggers_of(root: Path) -> list[psutil.Process]:
    """The piped-logger processes whose command line names this test's directory."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        line = " ".join(p.info["cmdline"] or ())
        if "rotatelogs" in line and str(root) in line:
            found.append(p)
    return found


def test_rotatelogs_receives_combined_lines(tmp_path):
    port = free_port()
    for d in ("htdocs", "rot"):
        (tmp_path / d).mkdir()
    (tmp_path / "htdocs" / "a.txt").write_text("a\n")
    conf = real_server_config(tmp_path, port, f"""StartServers 1
DocumentRoot {tmp_path}/htdocs
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
CustomLog "|{ROTATELOGS} -l {tmp_path}/rot/access.%Y%m%d 86400" combined
LogFormat "%>s %U%q"
TransferLog "|{ROTATELOGS} {tmp_path}/rot/transfer.%Y 86400"
""")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = subprocess.Popen([sys.executable, "-m", "httpdw", "-f", str(conf), "-D", "FOREGROUND"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=str(tmp_path))
    try:
        assert wait_for(lambda: _ok(port), 15), "server did not answer"
        resp = get(port, "/a.txt?rotated=1", {"Referer": "http://ref.example/", "User-Agent": "rotate-test"})
        assert resp.status == 200
        rot = tmp_path / "rot"

        def rotated_line() -> bool:
            files = sorted(rot.glob("access.*"))
            return bool(files) and any(COMBINED.fullmatch(ln) for f in files for ln in f.read_text().splitlines())

        assert wait_for(rotated_line, 10), [(f.name, f.read_text()) for f in rot.iterdir()]
        access = sorted(rot.glob("access.*"))
        # -l: the file is named after the local date of the period (today, or yesterday just past midnight)
        days = {time.strftime("%Y%m%d", time.localtime(time.time() - s)) for s in (0, 60)}
        assert {f.name for f in access} <= {f"access.{d}" for d in days}
        transfer = rot / f"transfer.{time.gmtime().tm_year}"
        assert wait_for(lambda: transfer.exists() and "200 /a.txt?rotated=1" in transfer.read_text().splitlines(), 10)
        assert loggers_of(tmp_path), "the rotatelogs processes should run while the server does"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
    # the parent owns its piped loggers: they end with it (each gets EOF on its pipe)
    assert wait_for(lambda: not loggers_of(tmp_path), 10), [p.pid for p in loggers_of(tmp_path)]


def _ok(port: int) -> bool:
    try:
        return get(port, "/a.txt").status == 200
    except (OSError, AssertionError):
        return False
