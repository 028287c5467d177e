"""A tiny connection handler for the engine tests only (the real one is the HTTP layer's).

Speaks just enough HTTP/1.1 for curl-like clients: one request per connection (Connection: close), paths
``/sleep/<ms>`` (hold the worker), ``/pid`` (which child answered), ``/switchinterval`` (the child's GIL
switch interval), ``/housekeeping`` (how often the child called the handler's housekeeping()), anything else -> "ok". It reports to the scoreboard through the
api.Slot it is given, as the real handler does.
"""
from __future__ import annotations

import os
import sys
import time

from httpdw.mpm import api


class _Handler:
    """A connection handler with the optional housekeeping() of the api contract."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.housekeeping_calls = 0

    def __call__(self, ctx: api.ConnectionContext) -> None:
        self.handle(ctx, self)

    def housekeeping(self) -> None:
        self.housekeeping_calls += 1


def factory(info: api.ChildInfo) -> api.ConnectionHandler:
    def handle(ctx: api.ConnectionContext, handler: _Handler) -> None:
        ctx.sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = ctx.sock.recv(4096)
            if not chunk:
                return
            data += chunk
        request_line = data.split(b"\r\n", 1)[0].decode("latin-1")
        ctx.slot.begin_request(request_line, ctx.client_addr[0], "localhost")
        parts = request_line.split()
        path = parts[1] if len(parts) > 1 else "/"
        if path.startswith("/sleep/"):
            time.sleep(int(path.split("/")[2]) / 1000)
            body = b"slept\n"
        elif path == "/housekeeping":
            body = f"{handler.housekeeping_calls}\n".encode()
        elif path == "/switchinterval":
            body = f"{sys.getswitchinterval()}\n".encode()
        elif path == "/pid":
            body = f"{os.getpid()} {info.slot} {info.generation}\n".encode()
        else:
            body = b"ok\n"
        head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        ctx.sock.sendall(head + body)
        ctx.slot.end_request(len(head) + len(body))
    return _Handler(handle)


def factory_for(config) -> api.HandlerFactory:
    return factory
