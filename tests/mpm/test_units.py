"""The engine's pure parts with plain data: maintenance rules, scoreboard records, fdqueue, error-log lines,
mod_status text."""
from __future__ import annotations

import logging
import os
import re
import threading
import time

import pytest

from httpdw import errorlog
from httpdw.mpm import api, mutex
from httpdw.mpm.fdqueue import FdQueue
from httpdw.mpm.maintenance import Limits, MaintenanceState, perform_idle_server_maintenance
from httpdw.mpm.scoreboard import Scoreboard, ScoreboardError
from httpdw.mpm import status_text


# ------------------------------------------------------------------------------------------ scoreboard

def board_with(children: dict[int, str], generation: int = 0, server_limit: int = 8, thread_limit: int = 4,
               tpc: int = 4, daemons: int = 8, quiescing=()) -> Scoreboard:
    """A scoreboard with process slots filled from {slot: "state letters"}."""
    board = Scoreboard.create(server_limit, thread_limit)
    board.set_global(daemons_limit=daemons, threads_per_child=tpc, running_generation=generation)
    for slot, states in children.items():
        board.set_process(slot, 1000 + slot, generation)
        for t, letter in enumerate(states):
            board.thread_slot(slot, t, generation).set_state(letter)
        if slot in quiescing:
            board.set_quiescing(slot)
    return board


def test_scoreboard_slots_counters_and_snapshot():
    board = Scoreboard.create(2, 3)
    board.set_process(1, os.getpid(), 4)
    slot = board.thread_slot(1, 2, 4)
    slot.new_connection("10.0.0.1")
    slot.begin_request("GET /x HTTP/1.1", "10.0.0.1", "example.org")
    slot.end_request(1234)
    slot.begin_request("GET /y" + "z" * 300, "10.0.0.1", "example.org")
    slot.end_request(10)
    snap = board.snapshot()
    w = snap.workers[1][2]
    assert (w.state, w.pid, w.generation, w.access_count, w.bytes_served) == ("W", os.getpid(), 4, 2, 1244)
    assert w.conn_count == 2 and w.conn_bytes == 1244 and w.my_access_count == 2
    assert w.client == "10.0.0.1" and w.vhost == "example.org" and len(w.request.encode()) == 128
    assert snap.workers[1][0].state == "." and snap.processes[1].pid == os.getpid()
    board.clear_process(1)
    assert board.snapshot().workers[1][2].state == "." and board.process(1).pid == 0


def test_slot_lifetime_counter_survives_a_new_process():
    board = Scoreboard.create(1, 1)
    first = board.thread_slot(0, 0, 0)
    first.begin_request("GET / HTTP/1.1", "c", "v")
    first.end_request(5)
    second = board.thread_slot(0, 0, 1)   # the next child in the same slot
    second.begin_request("GET / HTTP/1.1", "c", "v")
    second.end_request(5)
    w = board.worker(0, 0)
    assert (w.access_count, w.my_access_count) == (1, 2)


def test_slot_shows_graceful_when_the_child_is_stopping():
    board = Scoreboard.create(1, 1)
    slot = board.thread_slot(0, 0, 0)
    slot.stopping = lambda: True
    slot.set_state(api.BUSY_KEEPALIVE)
    assert board.worker_state(0, 0) == "G"


def test_scoreboard_file_is_readable_by_another_process(tmp_path):
    path = str(tmp_path / "sb")
    board = Scoreboard.create(3, 2, path)
    board.set_global(daemons_limit=3, threads_per_child=2, running_generation=7)
    board.thread_slot(2, 1, 7).set_state("K")
    reader = Scoreboard.attach(path)
    snap = reader.snapshot()
    assert (snap.server_limit, snap.thread_limit, snap.running_generation) == (3, 2, 7)
    assert snap.workers[2][1].state == "K"
    board.remove()
    assert not os.path.exists(path)


def test_attach_refuses_what_is_not_a_scoreboard(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"hello world" * 20)
    with pytest.raises(ScoreboardError):
        Scoreboard.attach(str(bad))
    with pytest.raises(ScoreboardError):
        Scoreboard.attach(str(tmp_path / "missing"))


# ------------------------------------------------------------------------------------------ maintenance

LIMITS = Limits(daemons_limit=8, threads_per_child=4, min_spare_threads=4, max_spare_threads=9, max_workers=32)


def test_too_few_idle_spawns_with_doubling_rate():
    board = board_with({0: "WWWW"})
    state = MaintenanceState()
    rates = []
    for _ in range(4):
        d = perform_idle_server_maintenance(board.snapshot(), 0, LIMITS, state)
        rates.append(len(d.spawn_slots))
    assert rates == [1, 2, 4, 7]      # 1, 2, 4 … capped by the 7 free slots
    assert state.idle_spawn_rate == 16


def test_spawn_rate_resets_when_enough_idle():
    board = board_with({0: "____"})
    state = MaintenanceState(idle_spawn_rate=8)
    d = perform_idle_server_maintenance(board.snapshot(), 0, LIMITS, state)
    assert d.spawn_slots == [] and d.kill_one is None and state.idle_spawn_rate == 1


def test_too_many_idle_stops_exactly_one_child():
    board = board_with({0: "____", 1: "__W_", 2: "____"})
    d = perform_idle_server_maintenance(board.snapshot(), 0, LIMITS, MaintenanceState())
    assert d.idle_threads == 11 and d.kill_one == 2 and d.spawn_slots == []


def test_idle_count_ignores_old_generation_and_quiescing_children():
    board = board_with({0: "____", 1: "____"}, quiescing=(1,))
    snap = board.snapshot()
    d = perform_idle_server_maintenance(snap, 0, LIMITS, MaintenanceState())
    assert d.idle_threads == 4
    d = perform_idle_server_maintenance(snap, 1, LIMITS, MaintenanceState())
    assert d.idle_threads == 0 and d.spawn_slots   # a new generation needs children of its own


def test_hold_off_after_graceful_restart_keeps_rate_at_one():
    board = board_with({0: "WWWW"})
    state = MaintenanceState(hold_off=2)
    sizes = [len(perform_idle_server_maintenance(board.snapshot(), 0, LIMITS, state).spawn_slots) for _ in range(4)]
    assert sizes == [1, 1, 1, 2]


def test_busy_message_at_rate_eight():
    board = board_with({0: "WWWW"})
    state = MaintenanceState(idle_spawn_rate=8)
    d = perform_idle_server_maintenance(board.snapshot(), 0, LIMITS, state)
    assert d.messages == [("info", "AH00289: server seems busy, (you may need to increase StartServers, "
                                   "ThreadsPerChild or Min/MaxSpareThreads), spawning 7 children, there are around "
                                   "0 idle threads, and 1 total children")]


def test_full_scoreboard_messages():
    limits = Limits(daemons_limit=2, threads_per_child=4, min_spare_threads=4, max_spare_threads=9, max_workers=8)
    state = MaintenanceState()
    full_busy = board_with({0: "WWWW", 1: "WWWW"}, daemons=2)
    d = perform_idle_server_maintenance(full_busy.snapshot(), 0, limits, state)
    assert d.messages == [("error", "AH00286: server reached MaxRequestWorkers setting, consider raising the "
                                    "MaxRequestWorkers setting")]
    assert perform_idle_server_maintenance(full_busy.snapshot(), 0, limits, state).messages == []   # once
    near = board_with({0: "WWW_", 1: "WWWW"}, daemons=2)
    d = perform_idle_server_maintenance(near.snapshot(), 0, limits, MaintenanceState())
    assert d.messages[0][1].startswith("AH00287: server is within MinSpareThreads of MaxRequestWorkers")
    # slots held by gracefully finishing children of the last generation: full, but not at MaxRequestWorkers
    old = board_with({0: "GGGG", 1: "GGGG"}, daemons=2)
    d = perform_idle_server_maintenance(old.snapshot(), 1, limits, MaintenanceState())
    assert d.messages == [("error", "AH00288: scoreboard is full, not at MaxRequestWorkers")]


# ------------------------------------------------------------------------------------------ fdqueue

def test_fdqueue_listener_waits_for_an_idle_worker():
    q = FdQueue()
    assert q.wait_for_idler(0.05) is False          # no worker yet: the listener must not accept
    got = []
    worker = threading.Thread(target=lambda: got.append(q.pop()))
    worker.start()
    assert q.wait_for_idler(2) is True
    q.push("conn")
    worker.join(2)
    assert got == ["conn"]
    assert q.wait_for_idler(0.05) is False          # the only worker is busy now


def test_fdqueue_serves_queued_connections_before_ending():
    q = FdQueue()
    got = []
    worker = threading.Thread(target=lambda: [got.append(x) for x in iter(q.pop, None)])
    worker.start()
    assert q.wait_for_idler(2)
    q.push("a")
    assert q.wait_for_idler(2)
    q.push("b")
    q.terminate(1)
    worker.join(2)
    assert got == ["a", "b"] and not worker.is_alive()


def test_fdqueue_reservation_survives_a_stop_request():
    q = FdQueue()
    threading.Thread(target=q.pop, daemon=True).start()
    assert q.wait_for_idler(2)
    stopping = True
    assert q.wait_for_idler(0.05, lambda: stopping) is False
    stopping = False
    assert q.wait_for_idler(0.05, lambda: stopping) is True   # the same idle worker, still reserved


def test_fdqueue_terminate_wakes_idle_workers():
    q = FdQueue()
    results = []
    workers = [threading.Thread(target=lambda: results.append(q.pop())) for _ in range(3)]
    for w in workers:
        w.start()
    while q.idlers < 3:
        time.sleep(0.01)
    q.terminate(3)
    for w in workers:
        w.join(2)
    assert results == [None, None, None]


# ------------------------------------------------------------------------------------------ error log

def _record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_error_log_line_format():
    line = errorlog.ApacheFormatter().format(_record("httpdw.mpm", errorlog.NOTICE, "AH00292: x"))
    assert re.fullmatch(r"\[\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[mpm_worker:notice\] "
                        r"\[pid \d+:tid \d+\] AH00292: x", line), line
    assert "[core:error]" in errorlog.ApacheFormatter().format(_record("httpdw.http.server", 40, "m"))
    assert "[autoindex:warn]" in errorlog.ApacheFormatter().format(_record("httpdw.http.autoindex", 30, "m"))
    assert "[trace3]" not in errorlog.ApacheFormatter().format(_record("httpdw.cli", 7, "m"))
    assert "[core:trace3]" in errorlog.ApacheFormatter().format(_record("httpdw.cli", 7, "m"))


def test_log_level_per_module_and_notice_always():
    f = errorlog.LogLevelFilter("error mpm_worker:debug")
    assert f.filter(_record("httpdw.mpm", 10, "debug from the mpm"))
    assert not f.filter(_record("httpdw.http.server", 30, "core warning"))
    assert f.filter(_record("httpdw.http.server", 40, "core error"))
    assert f.filter(_record("httpdw.http.server", errorlog.NOTICE, "notice passes whatever the level"))
    assert f.lowest() == 10
    assert errorlog.parse_log_level("info mod_status.c:trace2") == (20, {"status": 8})
    with pytest.raises(errorlog.LogLevelError):
        errorlog.parse_log_level("loud")


def test_error_log_file_and_reopen(tmp_path):
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    log = errorlog.ErrorLog(str(first), "info")
    log.open()
    try:
        logging.getLogger("httpdw.mpm").info("one")
        log.reopen(str(second), "warn")
        logging.getLogger("httpdw.mpm").info("filtered now")
        logging.getLogger("httpdw.mpm").error("two")
    finally:
        log.close()
    assert first.read_text().endswith("] one\n")
    assert "two" in second.read_text() and "filtered" not in second.read_text()


def test_closing_the_error_log_gives_back_the_logging_setup_it_found(tmp_path):
    logger = logging.getLogger("httpdw")
    found = (logger.level, logger.propagate)
    log = errorlog.ErrorLog(str(tmp_path / "a.log"), "debug")
    log.open()
    assert logger.propagate is False            # the error log alone gets the server's records
    log.reopen(str(tmp_path / "b.log"), "warn")
    log.close()
    assert (logger.level, logger.propagate) == found and not log._handlers


def test_piped_error_log(tmp_path):
    out = tmp_path / "piped.log"
    log = errorlog.ErrorLog(f"|cat > {out}", "warn")
    log.open()
    logging.getLogger("httpdw.mpm").error("through the pipe")
    log.close()
    assert "[mpm_worker:error]" in out.read_text() and "through the pipe" in out.read_text()


# ------------------------------------------------------------------------------------------ accept mutex

def test_mutex_mechanism_mapping():
    assert mutex.mechanism_for("default") == "fcntl"
    assert mutex.mechanism_for("flock:/var/lock") == "flock"
    assert mutex.mechanism_for("sysvsem") == "fcntl"
    assert mutex.mechanism_for("pthread") == "flock"
    assert mutex.mechanism_for("posixsem") == "posixsem"


@pytest.mark.parametrize("mechanism", ["flock", "fcntl", "posixsem"])
def test_mutex_excludes_another_process(tmp_path, mechanism):
    m = mutex.AcceptMutex(mechanism, str(tmp_path / "lock"))
    m.child_init()
    m.acquire()
    pid = os.fork()
    if pid == 0:   # the other child: must block until the parent releases
        m.child_init()
        start = time.monotonic()
        m.acquire()
        os._exit(0 if time.monotonic() - start >= 0.3 else 1)
    time.sleep(0.4)
    m.release()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    m.remove()


# ------------------------------------------------------------------------------------------ mod_status text

def test_apr_g_and_uptime_words():
    assert status_text.apr_g(0.25) == ".25" and status_text.apr_g(1638.4) == "1638.4" and status_text.apr_g(0) == "0"
    assert status_text.uptime_words(1) == " 1 second"
    assert status_text.uptime_words(90061) == " 1 day 1 hour 1 minute 1 second"
    assert status_text.uptime_words(0) == ""


def test_auto_text_fields_in_apache_order():
    board = board_with({0: "_W__", 1: "G_..", 2: "____"}, generation=1, server_limit=4, daemons=3)
    board.set_quiescing(1)
    board.set_global(config_generation=2, restart_time=1000.0, server_built="2026-11-23T12:00:00",
                     cpu=(0.0, 0.0))
    s = board.thread_slot(0, 0, 1)
    for _ in range(4):
        s.begin_request("GET / HTTP/1.1", "c", "v")
        s.end_request(2048)
    s.set_state(api.READY)
    text = status_text.auto_text(board.snapshot(), "127.0.0.1", True, now=1010.0, load=(0.5, 1.0, 2.25))
    host, fields = status_text.parse_auto(text)
    keys = [k for k, _ in fields]
    assert host == "127.0.0.1"
    assert keys == ["ServerVersion", "ServerMPM", "Server Built", "CurrentTime", "RestartTime",
                    "ParentServerConfigGeneration", "ParentServerMPMGeneration", "ServerUptimeSeconds",
                    "ServerUptime", "Load1", "Load5", "Load15", "Total Accesses", "Total kBytes", "Total Duration",
                    "CPUUser", "CPUSystem", "CPUChildrenUser", "CPUChildrenSystem", "Uptime", "ReqPerSec",
                    "BytesPerSec", "BytesPerReq", "DurationPerReq", "BusyWorkers", "GracefulWorkers",
                    "IdleWorkers", "Scoreboard"]
    values = dict(fields)
    assert values["ServerMPM"] == "worker" and values["ServerUptime"] == "10 seconds"
    assert values["Load1"] == "0.50" and values["Load15"] == "2.25"   # "%.2f", as Apache
    assert values["Total Accesses"] == "4" and values["Total kBytes"] == "8"
    assert values["ReqPerSec"] == ".4" and values["BytesPerReq"] == "2048"
    # slot 1 is quiescing: its '_' is neither idle nor busy, its G counts as graceful
    assert (values["BusyWorkers"], values["GracefulWorkers"], values["IdleWorkers"]) == ("1", "1", "7")
    # 3 daemons x 4 threads; slot 3's dead threads are "disabled" and left out
    assert values["Scoreboard"] == "_W__G_..____"
    short = status_text.auto_text(board.snapshot(), "h", False, now=1010.0, load=(0, 0, 0))
    assert "Total Accesses" not in short and "\nUptime: " not in short and short.endswith("Scoreboard: _W__G_..____\n")


def test_html_page_has_counters_scoreboard_and_table():
    board = board_with({0: "_W__"}, server_limit=2, daemons=2)
    s = board.thread_slot(0, 1, 0)
    s.begin_request("GET /<script> HTTP/1.1", "10.1.1.1", "v")
    page = status_text.html_page(board.snapshot(), "localhost", True, now=time.time(), load=(0, 0, 0))
    assert "<h1>Apache Server Status for localhost (via localhost)</h1>" in page
    assert "<pre>_W__....</pre>" in page   # slot 1: no process, within daemons_limit
    assert "1 requests currently being processed, 0 workers gracefully restarting, 3 idle workers" in page
    assert "GET /&lt;script&gt; HTTP/1.1" in page and "<script>" not in page
    brief = status_text.html_page(board.snapshot(), "localhost", False, now=time.time(), load=(0, 0, 0))
    assert "PID Key" in brief and "Total accesses" not in brief


# ------------------------------------------------------------------------------------------ listeners

def test_listener_socket_options_and_ipv6():
    import socket as socketmod
    from httpdw.config.model import Listener, MpmSettings
    from httpdw.mpm.listeners import ListenError, bind_all
    settings = MpmSettings(listeners=(Listener("127.0.0.1", 0), Listener("::1", 0)), send_buffer_size=65536,
                           receive_buffer_size=32768, listen_backlog=17)
    try:
        bound, dropped = bind_all(settings)
    except ListenError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert dropped == [] and [b.sock.family for b in bound] == [socketmod.AF_INET, socketmod.AF_INET6]
        s = bound[0].sock
        assert s.getsockopt(socketmod.SOL_SOCKET, socketmod.SO_REUSEADDR) == 1
        assert s.getsockopt(socketmod.SOL_SOCKET, socketmod.SO_SNDBUF) >= 65536   # Linux doubles it
        assert s.getsockopt(socketmod.SOL_SOCKET, socketmod.SO_RCVBUF) >= 32768
        # a graceful restart keeps the sockets whose address did not change, drops the others
        again, gone = bind_all(MpmSettings(listeners=(Listener("127.0.0.1", 0),)), keep=bound)
        assert again[0].sock is bound[0].sock and gone[0].sock is bound[1].sock
    finally:
        for b in bound:
            b.sock.close()


@pytest.mark.skipif(not hasattr(__import__("socket"), "TCP_DEFER_ACCEPT"), reason="Linux option")
def test_listeners_get_tcp_defer_accept_by_protocol_and_keep_it_current():
    import socket as socketmod
    from httpdw.config.model import Listener, MpmSettings
    from httpdw.mpm.listeners import bind_all
    settings = MpmSettings(listeners=(Listener("127.0.0.1", 0), Listener("127.0.0.2", 0, "ftp")),
                           defer_accept=(("http", 7), ("https", 7)))
    bound, _ = bind_all(settings)
    try:
        defer = [b.sock.getsockopt(socketmod.IPPROTO_TCP, socketmod.TCP_DEFER_ACCEPT) for b in bound]
        assert defer[0] >= 7 and defer[1] == 0       # (the kernel rounds up to its retransmission steps)
        # a graceful restart applies the new config's filter to the sockets it keeps
        again, _ = bind_all(MpmSettings(listeners=(Listener("127.0.0.1", 0),), defer_accept=(("http", 0),)),
                            keep=bound[:1])
        assert again[0].sock.getsockopt(socketmod.IPPROTO_TCP, socketmod.TCP_DEFER_ACCEPT) == 0
    finally:
        for b in bound:
            b.sock.close()


def test_bind_failure_has_apaches_wording():
    import socket as socketmod
    from httpdw.config.model import Listener, MpmSettings
    from httpdw.mpm.listeners import ListenError, bind_all
    with socketmod.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=rf"^\(98\)Address already in use: AH00072: make_sock: could not "
                                              rf"bind to address 127\.0\.0\.1:{port}$"):
            bind_all(MpmSettings(listeners=(Listener("127.0.0.1", port),)))
    with pytest.raises(ListenError, match="no listening sockets available, shutting down"):
        bind_all(MpmSettings(listeners=()))


def test_scoreboard_size_is_bounded_and_untouched_records_read_dead():
    from httpdw.mpm.scoreboard import MAX_THREAD_SLOTS
    with pytest.raises(ScoreboardError, match="AH00004: Unable to create or access scoreboard"):
        Scoreboard.create(20000, 20000)
    big = Scoreboard.create(1024, MAX_THREAD_SLOTS // 1024)   # allowed: nothing is written up front
    assert big.worker_state(1023, 1023) == "." and big.worker(500, 7).state == "."
    region = big.snapshot(slots=2, threads=3)
    assert len(region.workers) == 2 and len(region.workers[0]) == 3 and len(region.processes) == 1024
    big.mem.close()


def test_hard_restart_reset_clears_used_records():
    board = board_with({0: "W_", 1: "KK"}, thread_limit=4, tpc=2)
    board.reset_workers(threads=2)
    snap = board.snapshot()
    assert {w.state for row in snap.workers for w in row} == {"."} and snap.processes[0].pid == 0


def test_maintenance_ticks_stay_on_a_one_second_grid():
    from httpdw.mpm.parent import next_tick_after
    # a tick due at 10.0 that ran until 10.3 (forks under load): the next is due at 11.0, not 11.3
    assert next_tick_after(10.0, 1.0, 10.3) == 11.0
    assert next_tick_after(11.0, 1.0, 11.02) == 12.0
    # a tick that overran its whole interval restarts the grid from now
    assert next_tick_after(10.0, 1.0, 11.5) == 12.5
