"""A piped ErrorLog program that dies is restarted by the parent on the same pipe (Apache's reliable piped
logs): a real server, its logger killed by pid, later lines arriving through a new logger."""
from __future__ import annotations

import os
import signal

import psutil

from .mpm_helpers import wait_until


def logger_processes(server) -> list[psutil.Process]:
    """The parent's children that are not server children (those have an `httpdw:` process title)."""
    found = []
    for c in server.parent().children():
        try:
            if c.status() != psutil.STATUS_ZOMBIE and not c.cmdline()[0].startswith("httpdw:"):
                found.append(c)
        except (psutil.NoSuchProcess, IndexError):
            pass
    return found


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_a_killed_piped_logger_is_restarted_and_lines_keep_arriving(make_server):
    s = make_server(start_servers=2, threads_per_child=2, min_spare_threads=1, max_spare_threads=10)
    piped = os.path.join(s.root, "logs", "piped_error_log")
    s.error_log = f"|cat >> {piped}"
    s.write_config()
    s.start()
    wait_until(lambda: "AH00292" in read(piped), 10, what="the first lines through the pipe")
    [first] = wait_until(lambda: logger_processes(s), 5, what="the logger")
    server_children = {c.pid for c in s.children()} - {first.pid}

    first.kill()
    wait_until(lambda: "AH00106: piped log program" in read(piped), 10, what="the restart notice")
    text = read(piped)
    assert text.count("AH00106") == 1
    assert f"cat >> {piped}' failed unexpectedly (killed by signal {signal.SIGKILL.value}); restarted as pid" \
        in text
    [second] = logger_processes(s)
    assert second.pid != first.pid and f"restarted as pid {second.pid}" in text
    # the reaped logger was not taken for a server child: same children, none replaced, no slot freed
    assert {c.pid for c in s.children()} - {second.pid} == server_children
    assert "exit signal" not in text

    # later lines arrive through the new logger: the parent's, and those of children forked before the
    # restart (they still write to the descriptor they inherited: the same pipe)
    s.signal(signal.SIGUSR1)
    wait_until(lambda: read(piped).count("AH00292") == 2, 10, what="graceful restart lines after the restart")
    wait_until(lambda: all(f"child {pid} (slot" in read(piped) for pid in server_children), 10,
               what="the old children's own lines")
    assert s.stop() == 0
    assert "AH00295: caught SIGTERM, shutting down" in read(piped)
    assert not second.is_running() or second.status() == psutil.STATUS_ZOMBIE


def test_a_logger_that_cannot_start_is_given_up_after_a_few_tries(make_server):
    """A program that dies at once is not forked in a loop: a few restarts, then one message and no more."""
    s = make_server(start_servers=1, threads_per_child=2, min_spare_threads=1, max_spare_threads=10)
    marker = os.path.join(s.root, "logs", "tries")
    s.error_log = f"|echo x >> {marker}; exit 3"
    s.write_config()
    s.start()
    wait_until(lambda: read(marker).count("x") >= 6, 10, what="the restarts")
    wait_until(lambda: not logger_processes(s), 5, what="no logger left")
    tries = read(marker).count("x")
    assert 6 <= tries <= 7
    s.get("/")                       # still serving, writers get EPIPE silently, nothing blocks
    assert s.accepting() and read(marker).count("x") == tries
    assert s.stop() == 0
