"""The validated, immutable model of a config: what the engine and the HTTP layer consume.

Built by `httpdw.config.check.load_config()` from the processed tree after validation and the
worker rules. Frozen dataclasses: nothing below the CLI changes a config once it is built; a
graceful restart builds a new one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.tree import ConfigTree


@dataclass(frozen=True)
class Listener:
    """One `Listen [addr:]port [proto]` line."""

    host: str | None      #: None = all addresses (IPv4 and IPv6 where available); "::1" for [::1]
    port: int
    proto: str = "http"
    pos: Pos | None = None

    def __str__(self) -> str:
        h = self.host if self.host is not None else "*"
        return f"[{h}]:{self.port}" if h and ":" in h else f"{h}:{self.port}"


@dataclass(frozen=True)
class Adjustment:
    """One change a worker rule made to a value (shown by `configtest --effective`)."""

    directive: str
    before: int
    after: int
    code: str             #: the AH code (or HDW0202 for silent start-time floors)
    rule: str             #: short name of the rule, e.g. "5a ThreadsPerChild > ThreadLimit"


@dataclass(frozen=True)
class MpmSettings:
    """The effective worker-MPM values after the worker rules (spec section 1), plus process-level settings."""

    server_limit: int = 16
    thread_limit: int = 64
    threads_per_child: int = 25
    max_request_workers: int = 400     #: MaxRequestWorkers/MaxClients as Apache keeps it (max_workers)
    daemons_limit: int = 16            #: the real cap on children: MRW / TPC capped at ServerLimit
    start_servers: int = 3
    min_spare_threads: int = 75
    max_spare_threads: int = 250
    max_connections_per_child: int = 0   #: 0 = unlimited; negative = every child exits at once (as Apache)
    graceful_shutdown_timeout: int = 0   #: seconds; 0 = wait forever
    listen_backlog: int = 511
    #: TCP_DEFER_ACCEPT seconds per listener protocol (AcceptFilter/ListenTCPDeferAccept); 0 = accept at once
    defer_accept: tuple[tuple[str, int], ...] = (("http", 30), ("https", 30))
    listen_cores_buckets_ratio: int = 0
    send_buffer_size: int = 0
    receive_buffer_size: int = 0
    thread_stack_size: int = 0           #: bytes; 0 = system default
    max_mem_free: int = 2048             #: KiB
    listeners: tuple[Listener, ...] = ()
    pid_file: str = "logs/httpd.pid"     #: absolute after load (ServerRoot-relative resolved)
    scoreboard_file: str | None = None   #: None = anonymous shared memory
    core_dump_directory: str | None = None
    user: str | None = None              #: name or "#uid"; None = not set (stay as the starting user)
    group: str | None = None
    accept_mutex: str = "default"        #: mechanism from AcceptMutex / `Mutex ... mpm-accept`
    lock_file: str | None = None         #: LockFile / the Mutex directory
    enable_exception_hook: bool = False
    adjustments: tuple[Adjustment, ...] = ()

    def defer_accept_for(self, proto: str) -> int:
        """TCP_DEFER_ACCEPT seconds for a listener of protocol `proto` (Apache: a protocol without an
        AcceptFilter line gets none)."""
        return dict(self.defer_accept).get(proto, 0)


@dataclass(frozen=True)
class ServerConfig:
    """A whole validated config."""

    server_root: str
    config_file: str
    mpm: MpmSettings
    error_log: str = "logs/error_log"    #: file path (absolute) or "|command"
    log_level: str = "warn"
    server_name: str | None = None
    #: the processed tree (conditionals resolved, includes inlined): the HTTP layer builds its
    #: site model (vhosts, sections, handlers) from it with httpdw.config.site
    tree: ConfigTree = field(default_factory=ConfigTree)
    modules: frozenset[str] = frozenset()   #: module identifiers httpdw considers loaded
    #: the site model (vhosts, sections, mapping) built once from `tree` by httpdw.config.site,
    #: so configtest sees its problems and the HTTP layer does not build it again
    site: Any = field(default=None, compare=False)
    diagnostics: Diagnostics = field(default_factory=Diagnostics, compare=False)
