"""`-X`: one process, in the foreground, no fork — the child's threads run in the process that was started.

For debugging (a debugger or a profiler sees the request path). The error log, listeners, scoreboard and
pid file are set up as for a normal start; there is no maintenance and no restart: TERM/INT/HUP stop at once,
WINCH/USR1 stop gracefully.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

from httpdw.config.model import ServerConfig
from httpdw.errorlog import ErrorLog, stderr_logging
from httpdw.mpm import api, pidfile
from httpdw.mpm.build import server_version
from httpdw.mpm.child import ChildSpec, run_single_process
from httpdw.mpm.listeners import ListenError, bind_all
from httpdw.mpm.scoreboard import Scoreboard, ScoreboardError

log = logging.getLogger("httpdw.mpm")


def run_single(config: ServerConfig, factory_for: Callable[[ServerConfig], api.HandlerFactory]) -> int:
    """Serve with one process until a signal; returns the exit status."""
    s = config.mpm
    _set_title(f"httpdw: parent (single process, -X) -f {config.config_file}")
    console = stderr_logging(config.log_level)
    errorlog = ErrorLog(config.error_log, config.log_level)
    listeners, board, wrote_pid = [], None, False
    try:
        errorlog.open()
        listeners, _ = bind_all(s)
        board = Scoreboard.create(s.server_limit, s.thread_limit, s.scoreboard_file)
        board.set_global(daemons_limit=1, threads_per_child=s.threads_per_child)
        board.set_process(0, os.getpid(), 0)
        pidfile.write_pid(s.pid_file, os.getpid())
        wrote_pid = True
        spec = ChildSpec(slot=0, generation=0, threads_per_child=s.threads_per_child,
                         max_connections=0, listeners=listeners, board=board,
                         handler_factory=factory_for(config), pod_fd=-1, user=s.user, group=s.group,
                         thread_stack_size=s.thread_stack_size, extra={"server_config": config})
        log.log(25, "AH00292: %s configured -- resuming normal operations", server_version())
        return run_single_process(spec)
    except (OSError, ListenError, ScoreboardError, RuntimeError) as e:
        log.log(55, "%s", e)
        return 1
    finally:
        if wrote_pid:
            pidfile.remove_pid(s.pid_file, os.getpid())
        for b in listeners:
            b.sock.close()
        if board is not None:
            board.remove()
        logging.getLogger("httpdw").removeHandler(console)
        errorlog.close()


def _set_title(title: str) -> None:
    """`-k stop` recognises the server by this title (httpdw.mpm.pidfile.is_server)."""
    try:
        import setproctitle
        setproctitle.setproctitle(title)
    except ImportError:
        pass
