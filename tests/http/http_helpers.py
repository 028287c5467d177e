"""Helpers for the HTTP layer tests: the real ConnectionHandler served from threads on 127.0.0.1.

No engine is involved: a small accept loop calls the handler once per connection in its own thread,
with a fake scoreboard slot that records the states the handler reports."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import textwrap
import threading
import time

import pytest

from httpdw.config.check import load_config
from httpdw.http.server import make_handler_factory
from httpdw.mpm.api import ConnectionContext


class FakeSlot:
    """A scoreboard slot that remembers what it was told (per thread: tests look at the last ones)."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self.requests: list[tuple[str, str, str]] = []
        self.ended: list[int] = []

    def set_state(self, state: str) -> None:
        self.states.append(state)

    def begin_request(self, request_line: str, client: str, vhost: str) -> None:
        self.states.append("W")
        self.requests.append((request_line, client, vhost))

    def end_request(self, bytes_sent: int) -> None:
        self.ended.append(bytes_sent)


class ThreadServer:
    """Accepts on 127.0.0.1:<ephemeral> and runs the handler for each connection in a thread."""

    def __init__(self, handler, port: int = 0, host: str = "127.0.0.1"):
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.slots: list[FakeSlot] = []
        self.stopping = False
        self.graceful = False          #: what ctx.stopping() answers (a child exiting gracefully)
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                conn, addr = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            slot = FakeSlot()
            self.slots.append(slot)
            ctx = ConnectionContext(sock=conn, client_addr=addr, local_addr=conn.getsockname(),
                                    listener_port=self.port, slot=slot, stopping=lambda: self.graceful or self.stopping)
            threading.Thread(target=self._run, args=(ctx,), daemon=True).start()

    def _run(self, ctx) -> None:
        try:
            self.handler(ctx)
        except BaseException as e:     # the handler must never raise: record it for the tests
            self.errors.append(e)

    def close(self) -> None:
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


def config_from_file(path: str, server_root: str):
    """The ServerConfig of a config file, through the real config pipeline (errors fail the test)."""
    result = load_config(path, server_root=server_root)
    errors = [d for d in result.diagnostics if d.is_error]
    assert result.config is not None, f"config errors: {[(d.code, d.message) for d in errors]}"
    return result.config


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Site:
    """A document tree + config text under tmp_path, served by httpdw's handler."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.docroot = tmp_path / "htdocs"
        self.docroot.mkdir()
        (tmp_path / "logs").mkdir()
        self.server = None
        self.factory = None

    def write(self, rel: str, data: bytes | str = b"", mtime: float | None = None) -> str:
        path = self.docroot / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return str(path)

    def start(self, conf: str, port: int | None = None) -> "Site":
        port = port or free_port()
        text = textwrap.dedent(conf).format(root=self.root, docroot=self.docroot, port=port)
        base = (f"ServerRoot {self.root}\nListen 127.0.0.1:{port}\nPidFile {self.root}/logs/pid\n"
                f"ErrorLog {self.root}/logs/error_log\nServerName localhost\n")
        cfile = self.root / "httpd.conf"
        cfile.write_text(base + text)
        self.config = config_from_file(str(cfile), str(self.root))
        self.factory = make_handler_factory(self.config)
        handler = self.factory(None)
        self.server = ThreadServer(handler, port=port)
        self.port = port
        return self

    def close(self) -> None:
        if self.server:
            self.server.close()
        if self.factory:
            self.factory.close()


def raw(port: int, data: bytes, timeout: float = 3.0, half_close: bool = True) -> bytes:
    """Send raw bytes, read until the server closes (bounded by `timeout`)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


class Parsed:
    """One response parsed from raw bytes."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self) -> str:
        return f"<{self.status} {self.headers} {self.body[:80]!r}>"


def parse_responses(data: bytes, head_requests: int = 0, methods: list[str] | None = None) -> list[Parsed]:
    """Split a byte stream into responses (Content-Length / chunked / close framing)."""
    out = []
    i = 0
    idx = 0
    while i < len(data):
        end = data.find(b"\r\n\r\n", i)
        if end == -1:
            break
        lines = data[i:end].decode("latin-1").split("\r\n")
        _, code, *reason = lines[0].split(" ", 2)
        headers = [tuple(x.split(": ", 1)) for x in lines[1:]]
        p = Parsed(int(code), reason[0] if reason else "", headers, b"")
        i = end + 4
        method = methods[idx] if methods and idx < len(methods) else "GET"
        idx += 1
        if p.status in (204, 304) or 100 <= p.status < 200 or method == "HEAD":
            pass
        elif p.header("Transfer-Encoding") == "chunked":
            body = b""
            while True:
                nl = data.find(b"\r\n", i)
                size = int(data[i:nl], 16)
                i = nl + 2
                if size == 0:
                    i += 2
                    break
                body += data[i:i + size]
                i += size + 2
            p.body = body
        elif p.header("Content-Length") is not None:
            n = int(p.header("Content-Length"))
            p.body = data[i:i + n]
            i += n
        else:
            p.body = data[i:]
            i = len(data)
        out.append(p)
    return out


def get(port: int, path: str, headers: dict | None = None, method: str = "GET", version: str = "1.1",
        body: bytes = b"") -> Parsed:
    """One request on its own connection (Connection: close)."""
    h = {"Host": "localhost", "Connection": "close"}
    h.update(headers or {})
    lines = [f"{method} {path} HTTP/{version}"] + [f"{k}: {v}" for k, v in h.items() if v is not None]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    resps = parse_responses(raw(port, data, half_close=False), methods=[method])
    assert resps, f"no response to {method} {path}"
    return resps[-1]


def has_apache() -> bool:
    return shutil.which("apache2") is not None


def write_files(root, files: dict) -> None:
    """Write {relative path: bytes} under `root`, creating directories."""
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def wait_serving(procs: dict, ports: dict, timeout: float = 15.0) -> None:
    """Wait until each started server {name: Popen} answers on ports[name]; fail the test (and kill
    them all) with the server's stderr if one does not within `timeout`."""
    for name, p in procs.items():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if raw(ports[name], b"GET / HTTP/1.0\r\n\r\n", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            for q in procs.values():
                q.kill()
            pytest.fail(f"{name} did not start: {p.stderr.read().decode()}")


def stop_processes(procs) -> None:
    """SIGTERM every process, then wait (SIGKILL after 15 s): Apache reclaims children within 10 s."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def real_server_config(root, port: int, body: str = "") -> "os.PathLike":
    """Write root/httpd.conf for the real server (`python -m httpdw`): the worker module line, Listen on
    127.0.0.1:port, pid file and error log under root/logs (created), ServerName, then `body`."""
    from pathlib import Path
    root = Path(root)
    (root / "logs").mkdir(exist_ok=True)
    conf = root / "httpd.conf"
    conf.write_text(f"""ServerRoot {root}
LoadModule mpm_worker_module /usr/lib/apache2/modules/mod_mpm_worker.so
Listen 127.0.0.1:{port}
PidFile {root}/logs/httpd.pid
ErrorLog {root}/logs/error_log
ServerName localhost
""" + body)
    return conf


def read_to_eof(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes (the socket's own timeout bounds each wait)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def wait_for(predicate, timeout: float = 10.0) -> bool:
    """Poll `predicate` every 0.1 s until it is true (True) or `timeout` s have passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
