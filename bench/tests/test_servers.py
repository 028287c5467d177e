import os
import shutil
import stat
import subprocess
import sys
import time

import psutil

from hdwbench.procs import memory_footprint
from hdwbench.servers import KINDS, LARGE_SIZE, SMALL_FILE, SMALL_SIZE, RunningServer, ServerKind, make_root, probe, start_server


def test_fresh_root_has_the_documents_readable_by_a_dropped_user():
    root = make_root()
    try:
        assert (root / "www" / "1k.html").stat().st_size == SMALL_SIZE
        assert (root / "www" / "10m.bin").stat().st_size == LARGE_SIZE
        assert stat.S_IMODE(root.stat().st_mode) == 0o755
        assert stat.S_IMODE((root / "www" / "1k.html").stat().st_mode) == 0o644
    finally:
        shutil.rmtree(root)


def test_stop_ends_a_child_left_behind_by_a_dead_parent_and_removes_the_root():
    root = make_root()
    script = "import os, time\nif os.fork() == 0:\n    time.sleep(30)\nelse:\n    time.sleep(0.6)\n"
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    server = RunningServer(ServerKind("orphaning"), root, 0, proc)
    deadline = time.monotonic() + 5
    while not server._known and time.monotonic() < deadline:
        server.remember_tree()
        time.sleep(0.05)
    child = server._known[0]
    proc.wait(timeout=5)                  # the parent is gone; its child was reparented
    server.stop()
    try:
        child.wait(timeout=5)
    except psutil.NoSuchProcess:
        pass
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert not root.exists()


def test_stop_signals_the_group_while_the_leader_lives():
    root = make_root()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    assert os.getpgid(proc.pid) == proc.pid
    RunningServer(ServerKind("sleeper"), root, 0, proc).stop()
    assert proc.returncode == -15          # SIGTERM, not the SIGKILL fallback


def test_python_floor_has_httpdws_shape_and_serves_the_small_file():
    """W6's floor: parent + 2 forked children of 27 threads (as httpdw's), serving the 1 KiB file."""
    with start_server(KINDS["python-floor"]) as server:
        assert probe(server.port, SMALL_FILE) == (200, SMALL_SIZE)
        assert probe(server.port, "/../etc/passwd")[0] == 404
        deadline = time.monotonic() + 5
        while (found := memory_footprint(server.pid))["threads"] < 55 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (found["procs"], found["threads"]) == (3, 55)
        assert found["rss_mib"] > 0
        root = server.root
    assert not root.exists()
