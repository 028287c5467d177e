"""The HTTP layer inside the real server (`httpdw -k start|graceful|stop`): logs are reopened by
the new generation after a graceful restart, and piped loggers get a fresh pipe."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from http_helpers import free_port, get

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def httpdw(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "httpdw", *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=str(cwd))


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_graceful_restart_reopens_access_logs(tmp_path):
    port = free_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "htdocs" / "a.txt").write_text("a\n")
    conf = tmp_path / "httpd.conf"
    conf.write_text(f"""ServerRoot {tmp_path}
LoadModule mpm_worker_module /usr/lib/apache2/modules/mod_mpm_worker.so
Listen 127.0.0.1:{port}
PidFile {tmp_path}/logs/httpd.pid
ErrorLog {tmp_path}/logs/error_log
ServerName localhost
StartServers 1
DocumentRoot {tmp_path}/htdocs
LogFormat "%>s %U" short
CustomLog {tmp_path}/logs/access_log short
CustomLog "|/bin/cat >> {tmp_path}/logs/piped_log" short
""")
    started = httpdw("-f", str(conf), "-k", "start", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        assert wait_for(lambda: _ok(port))
        access = tmp_path / "logs" / "access_log"
        assert wait_for(lambda: access.exists() and "200 /a.txt" in access.read_text())
        os.rename(access, tmp_path / "logs" / "access_log.1")          # as logrotate does
        assert httpdw("-f", str(conf), "-k", "graceful", cwd=tmp_path).returncode == 0
        assert wait_for(lambda: _ok(port) and access.exists() and "200 /a.txt" in access.read_text(), 15)
        piped = tmp_path / "logs" / "piped_log"
        assert wait_for(lambda: piped.exists() and piped.read_text().count("200 /a.txt") >= 2, 15)
    finally:
        httpdw("-f", str(conf), "-k", "stop", cwd=tmp_path)
        wait_for(lambda: not (tmp_path / "logs" / "httpd.pid").exists(), 15)


def _ok(port: int) -> bool:
    try:
        return get(port, "/a.txt").status == 200
    except (OSError, AssertionError):
        return False
