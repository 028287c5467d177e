"""Binding the `Listen` sockets (Apache's listen.c): done once by the parent, inherited by every child.

`Listen 80` (no address) binds the IPv6 wildcard with IPV6_V6ONLY off, so one socket takes IPv4 and IPv6,
as Apache does on Linux; without IPv6 it falls back to 0.0.0.0. On a graceful restart the parent keeps the
sockets whose address did not change (no connection is refused during the restart), binds new ones and
closes the ones the new config dropped.
"""
from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from httpdw.config.model import Listener, MpmSettings


NO_LISTENERS = "no listening sockets available, shutting down"


class ListenError(Exception):
    """A Listen address that cannot be bound; the message is Apache's."""


@dataclass
class BoundListener:
    listener: Listener
    sock: socket.socket

    @property
    def key(self) -> tuple:
        return (self.listener.host, self.listener.port)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]


def _addresses(listener: Listener) -> list[tuple]:
    """(family, sockaddr) candidates for one Listen, most preferred first."""
    if listener.host is None or listener.host in ("*", ""):
        candidates = []
        if socket.has_ipv6:
            candidates.append((socket.AF_INET6, ("::", listener.port, 0, 0)))
        candidates.append((socket.AF_INET, ("0.0.0.0", listener.port)))
        return candidates
    infos = socket.getaddrinfo(_resolver_name(listener.host), listener.port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    return [(family, addr) for family, _, _, _, addr in infos]


def _resolver_name(host: str) -> str | bytes:
    """The host as getaddrinfo should get it: ASCII names (nearly all) as bytes, since for a str it IDNA-encodes
    every name, even "127.0.0.1", which imports encodings.idna with the stringprep and unicodedata tables into
    the parent and so into every child. For ASCII, the IDNA encoding is these very bytes."""
    return host.encode("ascii") if host.isascii() else host


def bind_one(listener: Listener, settings: MpmSettings) -> BoundListener:
    """Create, configure, bind and listen one socket. Raises ListenError with Apache's wording."""
    try:
        candidates = _addresses(listener)
    except (socket.gaierror, UnicodeError) as e:   # UnicodeError: a name IDNA cannot encode (an empty label)
        raise ListenError(f"AH00077: alloc_listener: failed to set up sockaddr for {listener.host}: {e}") from e
    last: OSError | None = None
    for family, addr in candidates:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:  # e.g. IPv6 disabled in the kernel: try the next family
            last = e
            continue
        try:
            _configure(sock, family, settings)
            _defer_accept(sock, settings.defer_accept_for(listener.proto))
            sock.bind(addr)
            sock.listen(settings.listen_backlog if settings.listen_backlog > 0 else socket.SOMAXCONN)
        except OSError as e:
            sock.close()
            last = e
            if e.errno == errno.EAFNOSUPPORT or (e.errno == errno.EADDRNOTAVAIL and family == socket.AF_INET6
                                                  and listener.host is None):
                continue
            break
        sock.setblocking(False)
        return BoundListener(listener, sock)
    assert last is not None
    raise ListenError(f"({last.errno}){last.strerror}: AH00072: make_sock: could not bind to address {listener}")


def _configure(sock: socket.socket, family: int, settings: MpmSettings) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    if settings.send_buffer_size > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.send_buffer_size)
    if settings.receive_buffer_size > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, settings.receive_buffer_size)
    sock.set_inheritable(False)  # inherited by fork (not exec): piped loggers must not hold the port


def _defer_accept(sock: socket.socket, seconds: int) -> None:
    """TCP_DEFER_ACCEPT (Linux): the kernel queues a connection for accept() only once its first data
    (the request) has arrived, so a worker is never handed a connection with nothing to read. Apache
    sets it on http/https listeners by default (AcceptFilter ... data); where the option does not
    exist, connections are simply accepted at once."""
    option = getattr(socket, "TCP_DEFER_ACCEPT", None)
    if option is not None and sock.family in (socket.AF_INET, socket.AF_INET6):   # (0 turns it off)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, seconds)
        except OSError:
            pass


def bind_all(settings: MpmSettings, keep: list[BoundListener] = ()) -> tuple[list[BoundListener], list[BoundListener]]:
    """Bind every Listen of `settings`, reusing sockets from `keep` with the same address.

    Returns (the new set, the sockets of `keep` that are no longer wanted). On error, nothing new stays
    open and ListenError is raised."""
    if not settings.listeners:
        raise ListenError(NO_LISTENERS)
    kept = {b.key: b for b in keep}
    result: list[BoundListener] = []
    fresh: list[BoundListener] = []
    try:
        for listener in settings.listeners:
            key = (listener.host, listener.port)
            if any(b.key == key for b in result):
                continue  # a duplicate Listen line: Apache binds it once
            if key in kept:
                sock = kept.pop(key).sock
                _defer_accept(sock, settings.defer_accept_for(listener.proto))   # the new config's value
                result.append(BoundListener(listener, sock))
            else:
                b = bind_one(listener, settings)
                fresh.append(b)
                result.append(b)
    except ListenError:
        for b in fresh:
            b.sock.close()
        raise
    return result, list(kept.values())
