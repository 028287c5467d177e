"""The HTTP layer inside the real server (`httpdw -k start|graceful|stop`): logs are reopened by
the new generation after a graceful restart, and piped loggers get a fresh pipe."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from http_helpers import free_port, get, raw, real_server_config, wait_for

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def httpdw(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "httpdw", *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=str(cwd))


def test_graceful_restart_reopens_access_logs(tmp_path):
    port = free_port()
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "htdocs" / "a.txt").write_text("a\n")
    conf = real_server_config(tmp_path, port, f"""StartServers 1
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


def test_timeouts_free_the_only_worker_thread(tmp_path):
    """Timeout and KeepAliveTimeout are enforced by the kernel on the real server's connections (set on
    the listener, inherited by each accepted socket): with a single worker thread, a client that stops
    reading a sendfile() response, one that trickles half a head, and one that idles after a request
    each hold it only for about Timeout, and the next client is served."""
    import socket

    (tmp_path / "htdocs").mkdir()
    (tmp_path / "htdocs" / "big.bin").write_bytes(b"\0" * (64 << 20))
    port, conf = _single_worker_server(tmp_path, "EnableSendfile On\n")
    started = httpdw("-f", str(conf), "-k", "start", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        assert wait_for(lambda: _ok(port))

        def served_within(seconds: float) -> bool:
            started = time.monotonic()
            answer = raw(port, b"GET /a.txt HTTP/1.0\r\n\r\n", timeout=seconds + 5)
            return answer.startswith(b"HTTP/1.1 200 OK") and time.monotonic() - started < seconds

        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")   # and never reads
        time.sleep(0.3)
        assert served_within(8), "a client that stopped reading kept the only worker"
        stalled.close()

        trickler = socket.create_connection(("127.0.0.1", port), timeout=8)
        trickler.sendall(b"GET /a.txt HTTP/1.1\r\nHost: loc")
        assert trickler.recv(200).startswith(b"HTTP/1.1 408 ")    # Timeout for the whole head
        trickler.close()

        idler = socket.create_connection(("127.0.0.1", port), timeout=8)
        idler.sendall(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = idler.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 OK")
        started_idle = time.monotonic()
        assert idler.recv(4096) == b""                            # KeepAliveTimeout closes it
        assert time.monotonic() - started_idle < 5
        idler.close()
        assert served_within(5)
    finally:
        httpdw("-f", str(conf), "-k", "stop", cwd=tmp_path)
        wait_for(lambda: not (tmp_path / "logs" / "httpd.pid").exists(), 15)


def _single_worker_server(tmp_path, extra: str = "") -> tuple[int, Path]:
    """A config with one child of one worker thread, Timeout and KeepAliveTimeout 1 s."""
    port = free_port()
    (tmp_path / "htdocs").mkdir(exist_ok=True)
    (tmp_path / "htdocs" / "a.txt").write_text("a\n")
    conf = real_server_config(tmp_path, port, f"""ServerLimit 1
StartServers 1
ThreadLimit 1
ThreadsPerChild 1
MaxRequestWorkers 1
MinSpareThreads 1
MaxSpareThreads 3
Timeout 1
KeepAliveTimeout 1
DocumentRoot {tmp_path}/htdocs
""" + extra)
    return port, conf


@pytest.mark.parametrize("accept_filter", ["", "AcceptFilter http none\n"])
def test_a_silent_connection_does_not_take_a_worker_with_the_data_accept_filter(tmp_path, accept_filter):
    """Apache's default AcceptFilter (TCP_DEFER_ACCEPT on Linux): a client that connects and sends nothing
    is not accepted, so the only worker stays free; with `AcceptFilter http none` it holds the worker
    until Timeout."""
    import socket

    port, conf = _single_worker_server(tmp_path, accept_filter)
    started = httpdw("-f", str(conf), "-k", "start", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        assert wait_for(lambda: _ok(port))
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        time.sleep(0.3)
        began = time.monotonic()
        answer = raw(port, b"GET /a.txt HTTP/1.0\r\n\r\n", timeout=8)
        waited = time.monotonic() - began
        assert answer.startswith(b"HTTP/1.1 200 OK")
        if accept_filter:
            assert waited > 0.5, waited         # the silent connection had the worker until Timeout (1 s)
        else:
            assert waited < 0.5, waited
        silent.close()
    finally:
        httpdw("-f", str(conf), "-k", "stop", cwd=tmp_path)
        wait_for(lambda: not (tmp_path / "logs" / "httpd.pid").exists(), 15)
