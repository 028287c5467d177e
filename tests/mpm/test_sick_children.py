"""Resource shortages in children, provoked for real (spec 4.1 "Sick children"):

* before any child ever got going: every child fails to create its worker threads (the address space is
  limited with RLIMIT_AS and each thread asks for a bigger stack than that), exits APEXIT_CHILDSICK, and the
  parent stops with AH02325 instead of forking in a loop;
* after a healthy child: a child that runs out of descriptors on accept (EMFILE, its RLIMIT_NOFILE lowered
  with prlimit to what it already holds) exits CHILDSICK after AH00488, and the server carries on: the
  maintenance replaces it and the connection left in the backlog is served by the new child.
"""
from __future__ import annotations

import os
import resource
import socket
import subprocess

import psutil

from httpdw.mpm.maintenance import Limits, MaintenanceState, perform_idle_server_maintenance

from .mpm_helpers import wait_until
from .test_units import board_with

GIB = 1 << 30


def test_children_sick_before_any_was_healthy_stop_the_server_ah02325(make_server):
    s = make_server(start_servers=2, threads_per_child=3, min_spare_threads=4, thread_stack_size=16 * GIB)

    def limit_address_space() -> None:   # in the server process only (and so in its children)
        resource.setrlimit(resource.RLIMIT_AS, (4 * GIB, 4 * GIB))

    s.proc = subprocess.Popen(s.command("start", "--foreground"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=limit_address_space)
    out, err = s.proc.communicate(timeout=30)
    assert s.proc.returncode == 1, (out, err)
    text = s.log_text()
    assert "AH00282: ap_thread_create: unable to create worker thread" in text
    assert text.count("AH02325: A resource shortage or other unrecoverable failure was encountered before any "
                      "child process initialized successfully... httpdw is exiting!") == 1
    assert "AH00050" not in text and b"Traceback" not in err
    # Apache's order: the maintenance gives up instead of forking again, so only StartServers were tried
    assert text.count("started: slot") == 2 and text.count("status 1792") == 2      # exit 7 = CHILDSICK
    assert text.index("AH02325") > text.rindex("status 1792")
    assert not os.path.exists(s.pid_file) and not os.path.exists(s.scoreboard_file)


def test_a_child_out_of_descriptors_after_a_healthy_start_is_replaced(make_server):
    s = make_server(start_servers=1, threads_per_child=2, min_spare_threads=1, max_spare_threads=10).start()
    wait_until(lambda: (snap := s.snapshot()) and snap.workers[0][0].state == "_", 10, what="a ready child")
    s.get("/")    # healthy: it served
    [child] = s.children()
    held = child.num_fds()
    child.rlimit(psutil.RLIMIT_NOFILE, (held, held))   # no descriptor left for the next accept

    with socket.create_connection(("127.0.0.1", s.port), timeout=15) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 10,
                   what="the sick child to exit")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")      # served from the backlog by the replacement child
    text = s.log_text()
    assert "(24)Too many open files: AH00488: apr_socket_accept: (client socket)" in text
    assert f"child process {child.pid} exited: slot 0, generation 0, status {7 << 8}" in text
    assert "AH02325" not in text and s.proc.poll() is None
    [replacement] = wait_until(lambda: s.children(), 5, what="the replacement child")
    assert replacement.pid != child.pid
    s.get("/")


# ------------------------------------------------------------------------------------------ the rule itself

LIMITS = Limits(daemons_limit=4, threads_per_child=2, min_spare_threads=2, max_spare_threads=6, max_workers=8)


def test_maintenance_gives_up_instead_of_spawning_when_no_child_was_ever_healthy():
    state = MaintenanceState(sick_child_detected=True)
    d = perform_idle_server_maintenance(board_with({}, tpc=2, daemons=4).snapshot(), 0, LIMITS, state)
    assert d.give_up and d.spawn_slots == []


def test_maintenance_treats_a_sick_child_after_a_healthy_one_as_transient():
    state = MaintenanceState(sick_child_detected=True)
    # slot 0 has every thread ready: a healthy child (Apache: all threads >= SERVER_READY)
    d = perform_idle_server_maintenance(board_with({0: "_W"}, tpc=2, daemons=4).snapshot(), 0, LIMITS, state)
    assert state.had_healthy_child and not d.give_up and d.spawn_slots == [1]
    assert not state.sick_child_detected
