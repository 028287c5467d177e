"""`httpdw status` in a real terminal: the live rich view run under tmux (a real pseudo-terminal and a
terminal emulator, so what is asserted is the screen a person sees), against a running server started from
a real httpd.conf; it follows the scoreboard as it changes, reports a server that went away and picks it up
again, and leaves cleanly on Ctrl-C (SIGINT)."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys

import psutil
import pytest

from .mpm_helpers import free_port, wait_until
from .test_real_config import REPO, get, httpdw, site, write_site  # noqa: F401 - site is a fixture

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux for a real terminal")]


class Terminal:
    """One tmux server of our own (private socket, no user config), one 120x40 window running `command`."""

    def __init__(self, sock: str, command: list[str], env: dict[str, str]) -> None:
        self.sock = sock
        self.last_screen = ""
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # COLUMNS/LINES inherited from the test runner would override the terminal's real size. The shell
        # traps SIGINT (a handler, reset to the default in the view, which Python then turns into
        # KeyboardInterrupt) so that it survives Ctrl-C and reports the view's exit status.
        shell = (f"trap true INT; env -u COLUMNS -u LINES {exports} {shlex.join(command)}; "
                 f"echo \"view exit status $?\"")
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40", "-s", "status",
                  shlex.join(["sh", "-c", shell]), ";", "set-option", "-g", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "status")

    def frame(self, until=lambda screen: True, what: str = "a complete frame") -> str:
        """The screen once it shows a whole frame (tmux may be captured while rich is still drawing one)
        for which `until` holds."""
        def complete():
            screen = self.screen()
            lines = [line.strip() for line in screen.strip().splitlines()]
            whole = (screen.lstrip().startswith("httpdw scoreboard") and len(summary(screen)) == 5
                     and lines and re.fullmatch(r"[_SRWKLDCGI.]+", lines[-1]))
            self.last_screen = screen
            return screen if whole and until(screen) else None
        try:
            return wait_until(complete, 20, what=what)
        except AssertionError:
            raise AssertionError(f"{what}; the screen was: {self.last_screen!r}") from None

    def pane(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", "status", fmt).strip()

    def ctrl_c(self) -> None:
        self.tmux("send-keys", "-t", "status", "C-c")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True, timeout=10)


def summary(screen: str) -> dict[str, str]:
    """The summary line of the view: `generation 0  up ...  children 2/4  ...  busy 0  idle 10 ...`."""
    return dict(re.findall(r"\b(children|busy|idle|accesses|generation) (\S+)", screen))


def rows(screen: str) -> list[list[str]]:
    """The table's body rows as cells: slot, pid, gen, state, threads, conns, acc, last request."""
    return [[cell.strip() for cell in line.strip("│").split("│")]
            for line in screen.splitlines() if line.startswith("│")]


def test_live_status_view_follows_the_server_and_leaves_on_ctrl_c(site, tmp_path):
    port = free_port()
    conf = write_site(site, port)
    assert httpdw("-f", conf, "-k", "start").returncode == 0
    term = None
    try:
        term = Terminal(str(tmp_path / "tmux.sock"), [sys.executable, "-m", "httpdw", "-f", conf, "status"],
                        {"PYTHONPATH": REPO, "TERM": "xterm-256color"})
        first = term.frame(lambda s: summary(s)["idle"] == "10", what="the live view of two idle children")
        assert summary(first)["children"] == "2/4" and summary(first)["busy"] == "0"
        children = psutil.Process(int(open(os.path.join(site, "logs", "httpd.pid")).read())).children()
        assert [(r[0], r[2], r[3], r[4]) for r in rows(first)] == [("0", "0", "running", "_____"),
                                                                     ("1", "0", "running", "_____")]
        assert sorted(int(r[1]) for r in rows(first)) == sorted(c.pid for c in children)

        # it follows the server: a connection being read shows as one busy thread (R), requests are counted
        with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
            held.sendall(b"GET / HTTP/1.1\r\n")     # an unfinished request: its worker stays in R
            busy = term.frame(lambda s: summary(s)["busy"] == "1", what="the busy thread on screen")
            assert summary(busy)["idle"] == "9"
            assert sorted("".join(r[4] for r in rows(busy))) == sorted("R" + "_" * 9)
        before = int(summary(term.frame())["accesses"])
        for _ in range(3):
            assert get(port, "/")[0] == 200
        after = term.frame(lambda s: int(summary(s)["accesses"]) >= before + 3, what="the new accesses on screen")
        assert "GET / HTTP/1.1" in after

        # the server goes away while watched: the view says so and keeps trying, it does not crash
        assert httpdw("-f", conf, "-k", "stop").returncode == 0
        gone_screen = wait_until(lambda: (s := term.screen()) and "trying again every second" in s and s, 10,
                                 what="the view to report the stopped server")
        # the message is wrapped at the terminal's width wherever the (temporary) path puts the break
        assert "is the server running?" in " ".join(gone_screen.split()) and term.pane("#{pane_dead}") == "0"
        # ... and picks the server up again when it is back (new children, counters from zero)
        assert httpdw("-f", conf, "-k", "start").returncode == 0
        back = term.frame(lambda s: summary(s)["idle"] == "10" and summary(s)["accesses"] == "0",
                          what="the view of the restarted server")
        assert "trying again" not in back and len(rows(back)) == 2

        term.ctrl_c()
        # the shell around the view prints its exit status (tmux's own #{pane_dead_status} is not always set)
        ended = wait_until(lambda: (s := term.screen()) and "view exit status" in s and s, 10,
                           what="the view to exit on Ctrl-C")
        assert "view exit status 0\n" in ended      # 0: KeyboardInterrupt handled, not a death by SIGINT
        everything = term.tmux("capture-pane", "-p", "-t", "status", "-S", "-200")    # with scrolled-off lines
        assert "Traceback" not in everything and "KeyboardInterrupt" not in everything
        # redrawn in place: no earlier frame or message left behind on the terminal, only the last frame
        assert everything.count("httpdw scoreboard") == 1 and "trying again" not in everything
        assert everything.count("busy 0  idle 10") == 1 and len(rows(everything)) == 2
    finally:
        if term is not None:
            term.close()
        httpdw("-f", conf, "-k", "stop")
