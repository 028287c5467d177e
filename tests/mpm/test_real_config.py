"""The whole stack from a real httpd.conf: `python -m httpdw -f httpd.conf`, the config layer, the HTTP layer's
handler and this engine; `?auto` compared with a live Apache running the very same file."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from .mpm_helpers import free_port, wait_until
from httpdw.mpm.status_text import parse_auto

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APACHE_MODULES = "/usr/lib/apache2/modules"

CONF = """\
ServerRoot {root}
{load_modules}
Listen 127.0.0.1:{port}
ServerName localhost
PidFile {root}/logs/httpd.pid
ErrorLog {root}/logs/error_log
LogLevel info
DocumentRoot {root}/htdocs
StartServers 2
ThreadsPerChild 5
MaxRequestWorkers 20
ServerLimit 4
MinSpareThreads 1
MaxSpareThreads 20
ExtendedStatus On
ScoreBoardFile {root}/logs/scoreboard
<Location /server-status>
    SetHandler server-status
</Location>
"""
LOAD_MODULES = "\n".join(f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so"
                         for name in ("mpm_worker", "authz_core", "status"))


def write_site(root, port: int, with_load_modules: bool = False, extra: str = "", scoreboard: bool = True) -> str:
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    os.makedirs(os.path.join(root, "htdocs"), exist_ok=True)
    with open(os.path.join(root, "htdocs", "index.html"), "w") as f:
        f.write("hello\n")
    conf = os.path.join(root, "httpd.conf")
    with open(conf, "w") as f:
        text = CONF.format(root=root, port=port, load_modules=LOAD_MODULES if with_load_modules else "")
        if not scoreboard:
            text = "\n".join(line for line in text.splitlines() if not line.startswith("ScoreBoardFile"))
        f.write(text + "\n" + extra)
    return conf


def get(port: int, path: str, host: str = "localhost") -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"chunked" in head.lower():
        body = _unchunk(body)
    return status, body.decode("latin-1")


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def httpdw(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": REPO}
    return subprocess.run([sys.executable, "-m", "httpdw", *args], capture_output=True, text=True, timeout=60,
                          env=env, **kw)


@pytest.fixture
def site(tmp_path):
    """A site directory; whatever server the test starts from it is stopped by pid at the end."""
    root = str(tmp_path)
    yield root
    pid_file = os.path.join(root, "logs", "httpd.pid")
    try:
        pid = int(open(pid_file).read())
    except (OSError, ValueError):
        return
    try:
        parent = psutil.Process(pid)
        for p in parent.children(recursive=True) + [parent]:
            if p.cmdline() and (p.cmdline()[0].startswith("httpdw:") or "apache2" in p.cmdline()[0]):
                p.kill()
    except psutil.NoSuchProcess:
        pass


def gone(pids) -> bool:
    def dead(pid):
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True
    return all(dead(p) for p in pids)


def test_real_cli_start_serve_status_stop(site):
    port = free_port()
    conf = write_site(site, port)
    started = httpdw("-f", conf, "-k", "start")
    assert started.returncode == 0, started.stderr
    pid = int(open(os.path.join(site, "logs", "httpd.pid")).read())
    parent = psutil.Process(pid)
    assert parent.cmdline()[0] == f"httpdw: parent -f {conf}"
    children = wait_until(lambda: len(c := parent.children()) == 2 and c, 10, what="2 children")
    assert get(port, "/")[1] == "hello\n"
    status, text = get(port, "/server-status?auto")
    assert status == 200
    _, fields = parse_auto(text)
    values = dict(fields)
    assert values["ServerMPM"] == "worker" and len(values["Scoreboard"]) == 20
    assert int(values["BusyWorkers"]) + int(values["IdleWorkers"]) == 10
    stopped = httpdw("-f", conf, "-k", "stop")
    assert stopped.returncode == 0 and stopped.stdout == ""
    wait_until(lambda: gone([pid, *(c.pid for c in children)]), 10, what="all processes gone")
    assert not os.path.exists(os.path.join(site, "logs", "httpd.pid"))
    assert not os.path.exists(os.path.join(site, "logs", "scoreboard"))
    assert httpdw("-f", conf, "-k", "stop").stdout.strip() == "httpdw (no pid file) not running"


def test_real_config_broken_on_graceful_keeps_serving(site):
    port = free_port()
    conf = write_site(site, port)
    proc = subprocess.Popen([sys.executable, "-m", "httpdw", "-f", conf, "-D", "FOREGROUND"],
                            env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: accepting(port) and get(port, "/")[0] == 200, 15, what="server")
        before = {c.pid for c in psutil.Process(proc.pid).children()}
        with open(conf, "a") as f:
            f.write("ThreadsPerChild lots\n<Directory /x>\n")
        # `-k graceful` would refuse the broken file itself (as Apache's does); the signal goes straight in
        os.kill(proc.pid, signal.SIGUSR1)
        log = os.path.join(site, "logs", "error_log")
        wait_until(lambda: "restart aborted" in open(log).read(), 10, what="the refusal in the error log")
        assert get(port, "/")[1] == "hello\n"
        assert {c.pid for c in psutil.Process(proc.pid).children()} == before
        write_site(site, port)   # fixed: the next graceful restart goes through
        os.kill(proc.pid, signal.SIGUSR1)
        wait_until(lambda: not before & {c.pid for c in psutil.Process(proc.pid).children()}, 10,
                   what="new generation")
        assert get(port, "/")[1] == "hello\n"
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0


@pytest.mark.apache
@pytest.mark.skipif(shutil.which("apache2") is None or not os.path.exists(f"{APACHE_MODULES}/mod_status.so"),
                    reason="needs Debian's apache2 with mod_status")
def test_status_auto_matches_apache_field_by_field(tmp_path):
    """The same httpd.conf run by Apache and by httpdw: ?auto has the same fields in the same order,
    and the HTML page the same header lines and table columns."""
    results, pages = {}, {}
    for name in ("apache", "httpdw"):
        root = str(tmp_path / name)
        port = free_port()
        conf = write_site(root, port, with_load_modules=True)
        if name == "apache":
            start = subprocess.run(["apache2", "-f", conf, "-k", "start"], capture_output=True, text=True, timeout=30)
        else:
            start = httpdw("-f", conf, "-k", "start")
        assert start.returncode == 0, start.stderr
        try:
            wait_until(lambda: accepting(port), 10, what=f"{name} listening")
            time.sleep(1.2)   # every child up
            for _ in range(3):
                get(port, "/")
            results[name] = get(port, "/server-status?auto")
            pages[name] = get(port, "/server-status")[1]
        finally:
            pid = int(open(os.path.join(root, "logs", "httpd.pid")).read())
            if name == "apache":
                subprocess.run(["apache2", "-f", conf, "-k", "stop"], capture_output=True, timeout=30)
            else:
                httpdw("-f", conf, "-k", "stop")
            wait_until(lambda: gone([pid]), 15, what=f"{name} stopped")
    (a_status, a_text), (h_status, h_text) = results["apache"], results["httpdw"]
    assert a_status == h_status == 200
    a_host, a_fields = parse_auto(a_text)
    h_host, h_fields = parse_auto(h_text)
    optional = {"CPULoad"}   # present only when the CPU counters are non-zero
    assert [k for k, _ in h_fields if k not in optional] == [k for k, _ in a_fields if k not in optional]
    a, h = dict(a_fields), dict(h_fields)
    for same in ("ServerMPM", "ParentServerConfigGeneration", "ParentServerMPMGeneration"):
        assert h[same] == a[same], same
    assert len(h["Scoreboard"]) == len(a["Scoreboard"]) == 20
    assert int(h["BusyWorkers"]) + int(h["IdleWorkers"]) == int(a["BusyWorkers"]) + int(a["IdleWorkers"]) == 10
    assert int(h["Total Accesses"]) >= 3 and int(a["Total Accesses"]) >= 3
    for key in ("Load1", "Load5", "Load15"):
        assert h[key].count(".") == 1 and len(h[key].split(".")[1]) == 2 == len(a[key].split(".")[1])

    def dt_labels(page):   # "Server Version", "Current Time", ... up to the first digit or colon
        return [re.match(r"[^:0-9]*", m).group(0).strip() for m in re.findall(r"<dt>(.*?)(?:</dt>|$)", page, re.M)]
    assert dt_labels(pages["httpdw"])[:2] == ["Server Version", "Server MPM"]
    assert dt_labels(pages["httpdw"]) == dt_labels(pages["apache"])
    columns = lambda page: re.findall(r"<th>([^<]*)", page.split("<table", 1)[1].split("</tr>", 1)[0])
    assert columns(pages["httpdw"]) == columns(pages["apache"])
    assert "<pre>" in pages["httpdw"] and "Scoreboard Key:" in pages["httpdw"]


def test_status_command_reads_the_scoreboard_file(site):
    port = free_port()
    conf = write_site(site, port)
    assert httpdw("-f", conf, "-k", "start").returncode == 0
    try:
        get(port, "/")
        shown = wait_until(lambda: (r := httpdw("-f", conf, "status", "--format", "json")).returncode == 0
                           and len((d := __import__("json").loads(r.stdout))["processes"]) == 2 and d, 10,
                           what="two children in the status")
        assert shown["source"] == "scoreboard" and shown["threads_per_child"] == 5
        assert all(len(p["threads"]) == 5 for p in shown["processes"])
        assert shown["idle"] + shown["busy"] == 10 and len(shown["scoreboard"]) == 20
        once = httpdw("-f", conf, "status", "--once")
        assert once.returncode == 0 and "httpdw scoreboard" in once.stdout
    finally:
        assert httpdw("-f", conf, "-k", "stop").returncode == 0
    pid_file = os.path.join(site, "logs", "httpd.pid")
    wait_until(lambda: not os.path.exists(pid_file), 10, what="stopped")
    after = httpdw("-f", conf, "status", "--once")
    assert after.returncode == 1 and "is the server running?" in after.stderr


def test_status_command_without_scoreboard_file_asks_server_status(site):
    port = free_port()
    conf = write_site(site, port, scoreboard=False)
    assert httpdw("-f", conf, "-k", "start").returncode == 0
    try:
        shown = httpdw("-f", conf, "status", "--format", "json")
        assert shown.returncode == 0, shown.stderr
        data = __import__("json").loads(shown.stdout)
        assert data["source"] == "server-status" and data["fields"]["ServerMPM"] == "worker"
        assert len(data["fields"]["Scoreboard"]) == 20
    finally:
        httpdw("-f", conf, "-k", "stop")


def test_info_flags():
    v = httpdw("-v")
    assert v.returncode == 0 and v.stdout.startswith("Server version: httpdw/0.1.0 (Apache 2.4.71 compatible)\n")
    big_v = httpdw("-V").stdout
    for line in ("Server MPM:     worker", "  threaded:     yes (fixed thread count)",
                 "    forked:     yes (variable process count)", ' -D SERVER_CONFIG_FILE="httpd.conf"',
                 "Accept mutex mechanisms (AcceptMutex / Mutex mpm-accept; default: fcntl):", "  sysvsem   -> fcntl"):
        assert line in big_v.splitlines(), line
    modules = httpdw("-M").stdout.splitlines()
    assert modules[0] == "Loaded Modules:" and " mpm_worker_module (static)" in modules


def test_piped_error_log_started_by_the_parent_and_gone_after_stop(site):
    port = free_port()
    piped = os.path.join(site, "logs", "piped_error_log")
    conf = write_site(site, port, extra=f'ErrorLog "|exec cat >> {piped}"\n')
    assert httpdw("-f", conf, "-k", "start").returncode == 0
    pid = int(open(os.path.join(site, "logs", "httpd.pid")).read())

    seen: set[int] = set()

    def loggers():
        found = [c for c in psutil.Process(pid).children() if c.name() == "cat"]
        seen.update(c.pid for c in found)
        return found

    try:
        assert len(loggers()) == 1                             # one logger, started by the parent
        wait_until(lambda: "AH00292" in open(piped).read(), 5, what="lines through the pipe")
        os.kill(pid, signal.SIGUSR1)                           # reopen: a new logger for the new generation
        wait_until(lambda: open(piped).read().count("AH00292") == 2, 10, what="the second generation's lines")
        wait_until(lambda: loggers() is not None and len(seen) == 2, 5, what="the new generation's logger")
    finally:
        httpdw("-f", conf, "-k", "stop")
    wait_until(lambda: gone([pid, *seen]), 10, what="the server and its loggers gone")
    assert "AH00295: caught SIGTERM, shutting down" in open(piped).read()



def test_start_reports_worker_adjustments_twice_as_apache(site):
    """Apache's two passes: the console gets AH00316 (first pass), the error log AH00317 (second)."""
    port = free_port()
    conf = write_site(site, port, extra="ThreadsPerChild 10\nMaxRequestWorkers 25\nServerLimit 16\n")
    started = httpdw("-f", conf, "-k", "start")
    try:
        assert started.returncode == 0, started.stderr
        assert "AH00316: WARNING: MaxRequestWorkers of 25 is not an integer multiple of ThreadsPerChild of 10" \
            in started.stderr
        log = open(os.path.join(site, "logs", "error_log")).read()
        assert "[mpm_worker:warn]" in log and "AH00317: MaxRequestWorkers of 25 is not an integer multiple" in log
        assert "AH00316" not in log
    finally:
        httpdw("-f", conf, "-k", "stop")


def test_per_module_log_level(site):
    port = free_port()
    conf = write_site(site, port, extra="LogLevel error mpm_worker:debug\n")
    assert httpdw("-f", conf, "-k", "start").returncode == 0
    try:
        log_path = os.path.join(site, "logs", "error_log")
        wait_until(lambda: "[mpm_worker:debug]" in open(log_path).read(), 5, what="mpm debug lines")
        text = open(log_path).read()
        assert re.search(r"\[mpm_worker:debug\] \[pid \d+:tid \d+\] child process \d+ started: slot 0", text)
        assert "[mpm_worker:info]" in text                           # AH00293 Server built (info)
        assert "[mpm_worker:notice]" in text and "AH00292" in text    # notice: always
        assert not re.search(r"\[core:(warn|info|debug)\]", text)    # core stays at error
    finally:
        httpdw("-f", conf, "-k", "stop")
