"""The engine run for real: children, threads, maintenance, recycling, crashes, restarts, stops.

Everything is observed from outside: psutil (processes, threads, uids), TCP requests, the scoreboard file
and the error log.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from .mpm_helpers import http_get, wait_until

pytestmark = pytest.mark.slow


class Load:
    """Background clients doing requests in a loop; counts successes and failures."""

    def __init__(self, port: int, clients: int = 4, path: str = "/sleep/20") -> None:
        self.port, self.path = port, path
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                http_get(self.port, self.path, timeout=10)
                with self._lock:
                    self.ok += 1
            except OSError as e:
                with self._lock:
                    self.failed.append(repr(e))

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(15)


def child_pids(server) -> set[int]:
    return {c.pid for c in server.children()}


def test_children_threads_titles_and_scoreboard(make_server):
    server = make_server(start_servers=3, threads_per_child=4, min_spare_threads=1, max_spare_threads=20).start()
    snap = wait_until(lambda: (s := server.snapshot()) and
                      sum(w.state == "_" for row in s.workers for w in row) == 12 and s, what="12 idle threads")
    children = server.children()
    assert len(children) == 3
    for c in children:
        # ThreadsPerChild workers + the listener + the main thread reading the pipe of death
        wait_until(lambda: c.num_threads() == 4 + 2, 2, what="the listener thread")
        assert c.cmdline()[0].startswith("httpdw: child gen=0 slot=")
    assert server.parent().cmdline()[0] == f"httpdw: parent -f {server.conf}"
    live = [p for p in snap.processes if p.pid]
    assert sorted(p.pid for p in live) == sorted(c.pid for c in children)
    assert snap.threads_per_child == 4 and snap.daemons_limit == 16 and snap.running_generation == 0
    # each child's threads are in its own slot, the other thread slots are dead
    for slot, proc in enumerate(snap.processes[:3]):
        assert [w.state for w in snap.workers[slot][:5]] == ["_"] * 4 + ["."]
        assert all(w.pid == proc.pid for w in snap.workers[slot][:4])
    assert server.get("/") == "ok\n"
    assert "AH00292: httpdw/0.1.0 (Apache 2.4.71 compatible) configured -- resuming normal operations" in server.log_text()


def test_requests_are_recorded_in_the_scoreboard(make_server):
    server = make_server(start_servers=1, threads_per_child=2).start()
    time.sleep(1.2)
    connections_before = server.snapshot().processes[0].connections   # start() probed the port once
    for _ in range(3):
        server.get("/hello")
    snap = wait_until(lambda: (s := server.snapshot()) and sum(w.access_count for w in s.workers[0]) == 3 and s,
                      what="3 accesses")
    served = [w for w in snap.workers[0] if w.access_count]
    assert all(w.request == "GET /hello HTTP/1.1" and w.client == "127.0.0.1" for w in served)
    assert sum(w.bytes_served for w in served) > 0
    # the child publishes its connection count and CPU time about once a second
    wait_until(lambda: server.snapshot().processes[0].connections == connections_before + 3, 3,
               what="connection count")


def test_worker_threads_run_with_the_childs_longer_gil_switch_interval(make_server):
    from httpdw.mpm.child import SWITCH_INTERVAL

    server = make_server(start_servers=1, threads_per_child=2).start()
    assert float(server.get("/switchinterval")) == pytest.approx(SWITCH_INTERVAL)
    assert SWITCH_INTERVAL > sys.getswitchinterval()        # the parent (here: the test) keeps Python's


def test_the_child_calls_the_handlers_housekeeping_about_once_a_second(make_server):
    server = make_server(start_servers=1, threads_per_child=2).start()
    first = int(server.get("/housekeeping"))
    time.sleep(2.5)
    assert 2 <= int(server.get("/housekeeping")) - first <= 4


def test_spare_threads_grow_under_burst_and_shrink_when_idle(make_server):
    server = make_server(start_servers=1, threads_per_child=4, min_spare_threads=4, max_spare_threads=9).start()
    assert len(server.children()) == 1
    burst = [threading.Thread(target=http_get, args=(server.port, "/sleep/2500"), daemon=True) for _ in range(12)]
    for t in burst:
        t.start()
    # 12 busy + at least 4 idle needs 4 children; the spawn rate doubles 1, 2, 4 while short
    wait_until(lambda: len(server.children()) >= 4, 10, what="pool to grow to 4 children")
    for t in burst:
        t.join(20)
    # idle 16 > MaxSpareThreads 9: one child told to go per second until idle <= 9 (2 children, 8 idle)
    wait_until(lambda: len(server.children()) == 2, 15, what="pool to shrink to 2 children")
    time.sleep(1)
    assert len(server.children()) == 2


def test_max_connections_per_child_recycles(make_server):
    server = make_server(start_servers=1, threads_per_child=2, min_spare_threads=1, max_spare_threads=3,
                         max_connections_per_child=3).start()
    served_by: dict[int, int] = {}
    for _ in range(9):
        pid = int(wait_until(lambda: _try_get(server.port, "/pid"), 10, what="an answer").split()[0])
        served_by[pid] = served_by.get(pid, 0) + 1
    assert len(served_by) >= 3
    assert max(served_by.values()) <= 3


def _try_get(port, path):
    try:
        return http_get(port, path, timeout=5)
    except OSError:
        return None


def test_kill_9_child_under_load_is_replaced_at_once(make_server):
    server = make_server(start_servers=2, threads_per_child=3, min_spare_threads=1, max_spare_threads=20).start()
    with Load(server.port, clients=3) as load:
        time.sleep(0.5)
        victim = sorted(child_pids(server))[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(child_pids(server)) == 2 and victim not in child_pids(server), 5,
                   what="killed child replaced")
        ok_before = load.ok
        time.sleep(1)
        assert load.ok > ok_before   # still serving
    # only requests held by the killed child can fail
    assert len(load.failed) <= 3, load.failed


def test_exception_hook_reports_the_request_of_a_crashed_child(make_server):
    server = make_server(start_servers=1, threads_per_child=2, enable_exception_hook=True).start()
    victim = next(iter(child_pids(server)))
    t = threading.Thread(target=_try_get, args=(server.port, "/sleep/3000"), daemon=True)
    t.start()
    wait_until(lambda: any(w.request.startswith("GET /sleep/3000") and w.state == "W"
                           for w in server.snapshot().workers[0]), 5, what="request in progress")
    os.kill(victim, signal.SIGSEGV)
    text = wait_until(lambda: "crash report" in (s := server.log_text()) and s, 5, what="crash report")
    assert f"AH00052: child pid {victim} exit signal Segmentation fault (11)" in text
    assert 'request "GET /sleep/3000 HTTP/1.1"' in text
    wait_until(lambda: len(server.children()) == 1 and victim not in child_pids(server), 5, what="respawn")


def test_graceful_restart_under_load_loses_no_request(make_server):
    server = make_server(start_servers=2, threads_per_child=4, min_spare_threads=2, max_spare_threads=20).start()
    old = child_pids(server)
    with Load(server.port, clients=4, path="/sleep/30") as load:
        time.sleep(0.7)
        server.signal(signal.SIGUSR1)
        wait_until(lambda: (s := server.snapshot()) and s.running_generation == 1, 5, what="generation 1")
        wait_until(lambda: not (old & child_pids(server)) and len(child_pids(server)) >= 2, 10,
                   what="old children replaced")
        server.signal(signal.SIGUSR1)
        wait_until(lambda: server.snapshot().running_generation == 2, 5, what="generation 2")
        time.sleep(1)
    assert load.failed == []
    assert load.ok > 20
    snap = server.snapshot()
    assert snap.config_generation == 3
    assert all(c.cmdline()[0].startswith("httpdw: child gen=2") for c in server.children())
    text = server.log_text()
    assert text.count("AH00297: SIGUSR1 received.  Doing graceful restart") == 2
    assert server.pid == server.parent().pid  # same parent, same pid file
    assert open(server.pid_file).read().strip() == str(server.pid)


def test_graceful_restart_with_broken_config_keeps_serving(make_server):
    server = make_server(start_servers=2, threads_per_child=2).start()
    before = child_pids(server)
    server.write_config("{ this is not a config")
    server.signal(signal.SIGUSR1)
    wait_until(lambda: "restart aborted" in server.log_text(), 5, what="abort message")
    assert "AH00526: Syntax error" in server.log_text()
    assert server.get("/") == "ok\n"
    assert child_pids(server) == before
    assert server.snapshot().running_generation == 0
    server.write_config()
    server.signal(signal.SIGUSR1)
    wait_until(lambda: server.snapshot().running_generation == 1, 5, what="generation 1 after the fix")
    assert server.get("/") == "ok\n"


def test_graceful_restart_adds_a_listener_and_pins_limits(make_server):
    server = make_server(start_servers=1, threads_per_child=2).start()
    from .mpm_helpers import free_port
    second = free_port()
    server.listen.append(["127.0.0.1", second])
    server.settings["server_limit"] = 20
    server.write_config()
    server.signal(signal.SIGUSR1)
    wait_until(lambda: server.snapshot().running_generation == 1, 5, what="generation 1")
    assert wait_until(lambda: _try_get(second, "/"), 5, what="the new port") == "ok\n"
    assert server.get("/") == "ok\n"
    assert "AH00304: changing ServerLimit to 20 from original value of 16 not allowed during restart" \
        in server.log_text()
    assert server.snapshot().server_limit == 16


def test_hard_restart_replaces_every_child(make_server):
    server = make_server(start_servers=2, threads_per_child=2).start()
    before = child_pids(server)
    server.signal(signal.SIGHUP)
    wait_until(lambda: (p := child_pids(server)) and len(p) == 2 and not (p & before), 10, what="new children")
    assert "AH00298: SIGHUP received.  Attempting to restart" in server.log_text()
    assert server.get("/") == "ok\n"
    assert server.snapshot().running_generation == 1


def test_graceful_stop_finishes_the_request_in_progress(make_server):
    server = make_server(start_servers=1, threads_per_child=2).start()
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("body", _try_get(server.port, "/sleep/1500")))
    t.start()
    wait_until(lambda: any(w.state == "W" for w in server.snapshot().workers[0]), 5, what="busy worker")
    server.signal(signal.SIGWINCH)
    t.join(10)
    assert result["body"] == "slept\n"
    assert server.proc.wait(10) == 0
    assert "AH00296: caught SIGWINCH, shutting down gracefully" in server.log_text()
    assert not os.path.exists(server.pid_file)
    assert not os.path.exists(server.scoreboard_file)


def test_stop_leaves_nothing_behind(make_server):
    server = make_server(start_servers=3, threads_per_child=2).start()
    everyone = [server.pid, *child_pids(server)]
    assert server.stop() == 0
    assert all(_gone(p) for p in everyone)
    assert not os.path.exists(server.pid_file)
    assert not os.path.exists(server.scoreboard_file)
    assert "AH00295: caught SIGTERM, shutting down" in server.log_text()
    assert not server.accepting()


def _gone(pid: int) -> bool:
    """Exited (a zombie counts: a daemon's parent is init, which may reap late in a container)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _k(server, action, timeout=20):
    return subprocess.run(server.command(action), capture_output=True, text=True, timeout=timeout)


def test_k_start_detaches_and_k_stop_cleans_up(make_server):
    server = make_server(start_servers=2, threads_per_child=2)
    started = _k(server, "start")
    assert started.returncode == 0, started.stderr
    assert server.accepting()          # -k start returned only once the server listens
    pid = int(open(server.pid_file).read())
    parent = psutil.Process(pid)
    assert os.getsid(pid) != os.getsid(os.getpid())   # detached: a session of its own, no terminal
    family = [pid, *(c.pid for c in parent.children())]
    assert len(family) == 3
    again = _k(server, "start")
    assert again.returncode == 0 and again.stdout.strip() == f"httpdw (pid {pid}) already running"
    assert http_get(server.port, "/") == "ok\n"
    assert _k(server, "graceful").returncode == 0
    wait_until(lambda: server.snapshot() and server.snapshot().running_generation == 1, 5, what="graceful")
    stopped = _k(server, "stop")
    assert stopped.returncode == 0 and stopped.stdout == ""
    wait_until(lambda: all(_gone(p) for p in family), 10, what="every process gone")
    assert not os.path.exists(server.pid_file)
    assert not os.path.exists(server.scoreboard_file)
    again = _k(server, "stop")
    assert again.returncode == 0 and again.stdout.strip() == "httpdw (no pid file) not running"


def test_k_start_reports_why_it_cannot_start(make_server):
    server = make_server()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", server.port))
        squatter.listen()
        result = _k(server, "start")
    assert result.returncode == 1
    assert "AH00072: make_sock: could not bind to address 127.0.0.1:" in result.stderr
    assert "Address already in use" in result.stderr
    assert not os.path.exists(server.pid_file)
    assert not os.path.exists(server.scoreboard_file)


def test_stale_pid_file_is_reported_and_replaced(make_server):
    server = make_server(start_servers=1, threads_per_child=2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(server.pid_file, "w") as f:
        f.write(f"{dead.pid}\n")
    result = _k(server, "stop")
    assert result.stdout.strip() == f"httpdw (pid {dead.pid}?) not running"
    # a pid file naming a live process that is not an httpdw parent (pid reuse after a reboot):
    # Apache would send it SIGTERM; httpdw says the server is not running and leaves it alone
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with open(server.pid_file, "w") as f:
            f.write(f"{bystander.pid}\n")
        result = _k(server, "stop")
        assert result.stdout.strip() == f"httpdw (pid {bystander.pid}?) not running"
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    server.start(wait_children=1)
    assert "AH00098: pid file" in server.log_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_children_drop_privileges_when_started_as_root(make_server):
    import grp
    import pwd
    nobody = pwd.getpwnam("nobody")
    group = "nogroup" if _has_group("nogroup") else grp.getgrgid(nobody.pw_gid).gr_name
    server = make_server(start_servers=2, threads_per_child=2, user="nobody", group=group)
    os.chmod(server.root, 0o755)
    server.start()
    assert server.parent().uids().real == 0
    for c in server.children():
        assert c.uids().effective == nobody.pw_uid and c.uids().real == nobody.pw_uid
        assert c.gids().effective == grp.getgrnam(group).gr_gid
    assert server.get("/") == "ok\n"


def _has_group(name):
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def test_a_child_that_cannot_start_stops_the_server(make_server):
    if os.geteuid() != 0:
        pytest.skip("needs root: an unprivileged start does not switch users")
    server = make_server(start_servers=2, user="#4000000")
    result = _k(server, "start")
    assert result.returncode == 1
    assert "AH00050: Child" in result.stderr and "returned a Fatal error" in result.stderr
    text = server.log_text()
    assert "AH02155: getpwuid: couldn't determine user name from uid 4000000" in text
    assert text.count("started: slot") <= 4     # no fork loop
    assert not os.path.exists(server.pid_file)


def test_single_process_mode_x(make_server):
    server = make_server(threads_per_child=3)
    server.proc = subprocess.Popen(server.command("start", "-X"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: _try_get(server.port, "/pid"), 10, what="-X serving")
    pid, slot, _ = _try_get(server.port, "/pid").split()
    assert int(pid) == server.proc.pid and server.children() == []   # served by the process itself, no fork
    assert server.parent().cmdline()[0].startswith("httpdw: parent (single process, -X)")
    stop = _k(server, "stop")           # -k stop finds the -X process through the pid file too
    assert stop.returncode == 0 and stop.stdout == ""
    assert server.proc.wait(10) == 0
    assert not os.path.exists(server.pid_file)


def test_single_process_mode_x_stops_on_sigterm(make_server):
    server = make_server(threads_per_child=3)
    server.proc = subprocess.Popen(server.command("start", "-X"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: _try_get(server.port, "/pid"), 10, what="-X serving")
    assert server.parent().num_threads() == 3 + 2
    assert os.path.exists(server.pid_file)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    assert not os.path.exists(server.pid_file)


def test_thread_stack_size_warning_and_core_dump_directory(make_server, tmp_path):
    cores = tmp_path / "cores"
    cores.mkdir()
    server = make_server(start_servers=2, threads_per_child=2, thread_stack_size=1000,
                         core_dump_directory=str(cores)).start()
    wait_until(lambda: server.log_text().count("AH02435: WARNING: ThreadStackSize of 1000 is inappropriate, "
                                               "using default") == 2, 5, what="AH02435 from each child")
    assert all(c.cwd() == str(cores) for c in server.children())
    assert server.get("/") == "ok\n"


def test_graceful_shutdown_timeout_bounds_graceful_stop(make_server):
    server = make_server(start_servers=1, threads_per_child=2, graceful_shutdown_timeout=1).start()
    t = threading.Thread(target=_try_get, args=(server.port, "/sleep/8000"), daemon=True)
    t.start()
    wait_until(lambda: any(w.state == "W" for w in server.snapshot().workers[0]), 5, what="busy worker")
    started = time.monotonic()
    server.signal(signal.SIGWINCH)
    assert server.proc.wait(10) == 0
    assert time.monotonic() - started < 4      # 1 s of grace, then the children are reclaimed
    assert server.children() == []


def test_graceful_restart_reopens_the_error_log(make_server):
    server = make_server(start_servers=1, threads_per_child=2).start()
    old_log = server.error_log
    server.error_log = os.path.join(server.root, "logs", "error_log.new")
    server.write_config()
    server.signal(signal.SIGUSR1)
    wait_until(lambda: os.path.exists(server.error_log) and "AH00292" in server.log_text(), 5, what="new log")
    with open(old_log) as f:
        assert "AH00297: SIGUSR1 received.  Doing graceful restart" in f.read()


def test_a_busy_child_leaves_new_connections_to_a_child_with_a_free_thread(make_server):
    server = make_server(start_servers=2, threads_per_child=1, min_spare_threads=1, max_spare_threads=10).start()
    wait_until(lambda: sum(w.state == "_" for row in server.snapshot().workers for w in row) == 2, 5,
               what="both threads idle")
    slow = threading.Thread(target=_try_get, args=(server.port, "/sleep/3000"), daemon=True)
    slow.start()
    busy_pid = wait_until(lambda: next((w.pid for row in server.snapshot().workers for w in row
                                        if w.state == "W"), None), 5, what="the slow request")
    started = time.monotonic()
    answered_by = {int(http_get(server.port, "/pid").split()[0]) for _ in range(5)}
    assert time.monotonic() - started < 2.5      # none of them waited behind the slow request
    assert busy_pid not in answered_by and len(answered_by) == 1


def test_two_listeners_use_the_accept_mutex(make_server):
    from .mpm_helpers import free_port
    server = make_server(start_servers=3, threads_per_child=2)
    second = free_port()
    server.listen.append(["127.0.0.1", second])
    server.write_config()
    server.start()
    lock = os.path.join(server.root, "logs", f"httpdw.accept.{server.pid}")
    assert os.path.exists(lock)
    for port in (server.port, second) * 5:
        assert http_get(port, "/") == "ok\n"
    assert server.stop() == 0
    assert not os.path.exists(lock)


def test_children_exit_when_the_parent_is_killed(make_server):
    server = make_server(start_servers=2, threads_per_child=2).start()
    children = child_pids(server)
    server.signal(signal.SIGKILL)
    server.proc.wait(5)
    # the pipe of death reads EOF: each child exits gracefully instead of serving on as an orphan
    wait_until(lambda: all(_gone(p) for p in children), 10, what="orphaned children to exit")
    # the stale pid file and scoreboard file do not prevent the next start
    assert os.path.exists(server.pid_file)
    server.start()
    assert server.get("/") == "ok\n"
    assert "AH00098: pid file" in server.log_text()


def test_graceful_restart_with_every_slot_taken_queues_instead_of_failing(make_server):
    # ServerLimit 2, both slots busy: the new generation can only start as the old children leave;
    # meanwhile connections wait in the listen backlog, none is refused
    server = make_server(server_limit=2, daemons_limit=2, start_servers=2, threads_per_child=2,
                         max_request_workers=4, min_spare_threads=1, max_spare_threads=4).start()
    old = child_pids(server)
    with Load(server.port, clients=3, path="/sleep/50") as load:
        time.sleep(0.5)
        server.signal(signal.SIGUSR1)
        wait_until(lambda: len(p := child_pids(server)) == 2 and not (p & old), 10, what="both slots renewed")
        time.sleep(0.5)
    assert load.failed == [] and load.ok > 10


def test_user_root_is_refused_as_apache_does(make_server):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    server = make_server(start_servers=1, user="root")
    result = _k(server, "start")
    assert result.returncode == 1
    assert "Apache has not been designed to serve pages while\n\trunning as root." in server.log_text()
    assert "AH00050: Child" in result.stderr
    assert not os.path.exists(server.pid_file)
