"""Helpers for the engine tests: real servers (fork, threads, signals) on loopback ephemeral ports.

A `Server` is started through tests/mpm/serve.py (the real httpdw.cli.server.run with a JSON config,
the tiny test handler and short timers), observed from outside with psutil, TCP and the scoreboard file,
and always torn down by pid.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil

from httpdw.mpm.scoreboard import Scoreboard, ScoreboardError

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, "serve.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(port: int, path: str = "/", timeout: float = 10.0) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"bad response {data[:80]!r}")
    return body.decode()


class Server:
    def __init__(self, root, **mpm) -> None:
        self.root = str(root)
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.root, "conf.json")
        self.scoreboard_file = os.path.join(self.root, "logs", "scoreboard")
        self.pid_file = os.path.join(self.root, "logs", "httpd.pid")
        self.error_log = os.path.join(self.root, "logs", "error_log")
        settings = dict(server_limit=16, thread_limit=64, threads_per_child=5, max_request_workers=80,
                        daemons_limit=16, start_servers=2, min_spare_threads=1, max_spare_threads=11,
                        pid_file=self.pid_file, scoreboard_file=self.scoreboard_file)
        settings.update(mpm)
        self.settings = settings
        self.log_level = "info mpm_worker:debug"
        self.listen = [["127.0.0.1", self.port]]
        self.proc: subprocess.Popen | None = None
        self.write_config()

    def write_config(self, text: str | None = None) -> None:
        if text is None:
            text = json.dumps({"mpm": self.settings, "listen": self.listen, "error_log": self.error_log,
                               "log_level": self.log_level, "server_root": self.root})
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    # -- process control ----------------------------------------------------------------------------

    def command(self, action: str = "start", *extra: str) -> list[str]:
        return [sys.executable, SERVE, self.conf, action, *extra]

    def start(self, wait_children: int | None = None) -> "Server":
        self.proc = subprocess.Popen(self.command("start", "--foreground"), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        wait_until(lambda: self.proc.poll() is not None or self.accepting(), 20, what="server to accept")
        assert self.proc.poll() is None, self.proc.communicate()
        n = self.settings["start_servers"] if wait_children is None else wait_children
        wait_until(lambda: len(self.children()) >= n, 20, what=f"{n} children")
        return self

    @property
    def pid(self) -> int:
        if self.proc is None:   # started with -k start: the daemon's pid is in the pid file
            with open(self.pid_file) as f:
                return int(f.read())
        return self.proc.pid

    def parent(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def children(self) -> list[psutil.Process]:
        try:
            return [c for c in self.parent().children() if c.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            return []

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def accepting(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def snapshot(self):
        try:
            board = Scoreboard.attach(self.scoreboard_file)
        except ScoreboardError:
            return None
        try:
            return board.snapshot()
        finally:
            board.mem.close()

    def log_text(self) -> str:
        try:
            with open(self.error_log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def get(self, path: str = "/") -> str:
        return http_get(self.port, path)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None:
            return 0   # a -k started daemon is reaped by init; kill_everything() covers it
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        return self.proc.returncode

    def kill_everything(self) -> None:
        """Teardown: whatever the test did, nothing of ours survives (by pid, descendants first)."""
        try:
            parent = self.parent()
            procs = parent.children(recursive=True) + [parent]
        except (psutil.NoSuchProcess, OSError, ValueError):
            procs = []
        if self.proc is None:
            for p in procs:   # a daemon from -k start: only if it really is ours
                if not p.cmdline() or not p.cmdline()[0].startswith("httpdw:"):
                    return
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        if self.proc is None:
            return
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
