"""The config is loaded in a forked loader process (httpdw.cli.isolated_load): the same result as in-process,
nothing of the config layer left in the serving process, errors reported exactly as before."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from httpdw.cli import CliOptions
from httpdw.cli import isolated_load
from httpdw.cli.isolated_load import IsolatedLoader
from httpdw.cli.server import load_with_check
from httpdw.mpm.parent import LoadedConfig

from cli_helpers import REPO, SAMPLES, minimal, run_process

#: a config with a bit of everything the site model holds: vhosts, sections with regexes, aliases, an
#: include, a worker adjustment warning and an ignored directive (messages to carry over)
RICH = """\
Include conf.d/*.conf
User nobody
ServerName main.example
ThreadsPerChild 30
MaxRequestWorkers 100
DocumentRoot {root}/htdocs
Alias /static {root}/htdocs
<Directory {root}/htdocs>
    Options Indexes FollowSymLinks
    Require all granted
</Directory>
<LocationMatch "^/(?<area>private|admin)/">
    Require ip 127.0.0.1
</LocationMatch>
<FilesMatch "\\.(bak|swp)$">
    Require all denied
</FilesMatch>
<VirtualHost 127.0.0.1:18080>
    ServerName other.example
    DocumentRoot {root}/htdocs
    ErrorDocument 404 /missing.html
</VirtualHost>
"""


def _rich(server_root: Path, write_conf) -> CliOptions:
    write_conf("AddType text/x-demo .demo\nLoadModule dav_module modules/mod_dav.so\n", "conf.d/extra.conf")
    return CliOptions(config_file=write_conf(minimal(server_root, RICH.format(root=server_root))))


def test_a_config_loaded_in_the_loader_process_equals_one_loaded_here(server_root, write_conf):
    opts = _rich(server_root, write_conf)
    here = load_with_check(opts, None)
    assert here.config is not None and here.config.site is not None
    assert any("ThreadsPerChild" in text or "MaxRequestWorkers" in text for _, text in here.messages)
    calls_here = []

    def counted(*args):
        calls_here.append(args)
        return load_with_check(*args)

    isolated = IsolatedLoader(counted)(opts, None)
    assert isolated == here
    assert calls_here == [], "the result did not pickle, so it was loaded in-process (keep ServerConfig picklable)"
    limits = (here.config.mpm.server_limit, here.config.mpm.thread_limit)
    assert IsolatedLoader(load_with_check)(opts, limits) == load_with_check(opts, limits)


@pytest.mark.parametrize("sample", ["httpd.conf", "worker-2.0.conf", "mistakes.conf"])
def test_the_samples_load_the_same_in_the_loader_process(sample):
    opts = CliOptions(config_file=str(SAMPLES / sample))
    assert IsolatedLoader(load_with_check)(opts, None) == load_with_check(opts, None)


def test_errors_come_back_with_their_file_and_line(server_root, write_conf):
    opts = CliOptions(config_file=write_conf(minimal(server_root, "NoSuchDirective here\n<Directory /x>\n")))
    loaded = IsolatedLoader(load_with_check)(opts, None)
    assert loaded == load_with_check(opts, None)
    assert loaded.config is None
    errors = [text for level, text in loaded.messages if level == "error"]
    assert any(f"of {opts.config_file})" in text and "(line " in text for text in errors), errors


def test_the_second_start_up_pass_is_computed_by_the_first_load_and_used_once(server_root, write_conf, monkeypatch):
    forks = []
    real = isolated_load.run_in_child
    monkeypatch.setattr(isolated_load, "run_in_child", lambda *a: forks.append(1) or real(*a))
    opts = _rich(server_root, write_conf)
    loader = IsolatedLoader(load_with_check)
    first = loader(opts, None)
    limits = (first.config.mpm.server_limit, first.config.mpm.thread_limit)
    second = loader(opts, limits)          # the parent's log_config_warnings at start
    assert len(forks) == 1
    assert second == load_with_check(opts, limits)
    assert loader(opts, limits) == second  # a restart later: read again
    assert len(forks) == 2
    loader(opts, None)
    assert loader(opts, (limits[0] + 1, limits[1])) is not None  # other limits: never the stored pass
    assert len(forks) == 4


def test_meanwhile_runs_here_once_while_the_first_load_runs(server_root, write_conf):
    opts = CliOptions(config_file=write_conf(minimal(server_root)))
    seen = []
    loader = IsolatedLoader(load_with_check, meanwhile=lambda: seen.append(os.getpid()))
    loader(opts, None)
    loader(opts, (16, 64))
    loader(opts, (16, 64))
    assert seen == [os.getpid()]


def test_a_failing_meanwhile_still_reaps_the_loader_process(monkeypatch):
    forked = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(pid := real_fork()) or pid)

    def meanwhile():
        raise ImportError("no HTTP layer")

    with pytest.raises(ImportError):
        IsolatedLoader(_loaded_ok, meanwhile=meanwhile)(None, None)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)     # already reaped: no zombie left behind


def _loaded_ok(opts, first_limits) -> LoadedConfig:
    return LoadedConfig(None, [("warn", f"loaded in {os.getpid()}")])


def test_the_load_runs_in_another_process():
    (loaded,) = isolated_load.run_in_child(lambda: [_loaded_ok(None, None)])
    assert loaded.messages[0][1] != f"loaded in {os.getpid()}"


def test_a_loader_process_that_dies_becomes_an_error_message():
    def killed(opts, first_limits):
        os.kill(os.getpid(), signal.SIGKILL)

    loaded = IsolatedLoader(killed)(None, None)
    assert loaded.config is None
    assert loaded.messages == [("error", "httpdw: reading the configuration failed: the config loader process "
                                         "was killed by signal 9")]


def test_an_exception_in_the_loader_process_becomes_an_error_message():
    def broken(opts, first_limits):
        raise RecursionError("too deep")

    loaded = IsolatedLoader(broken)(None, None)
    assert loaded == LoadedConfig(None, [("error", "httpdw: reading the configuration failed: "
                                                    "RecursionError: too deep")])


def test_a_result_that_cannot_be_pickled_is_loaded_here_instead(caplog):
    calls = []

    def unpicklable(opts, first_limits):
        calls.append(os.getpid())
        return LoadedConfig(None, [("warn", lambda: None)])    # a lambda does not pickle

    loaded = IsolatedLoader(unpicklable)(None, (1, 1))
    assert callable(loaded.messages[0][1])
    assert calls == [os.getpid()]      # the in-process call (the loader process's own call ran elsewhere)
    assert "could not hand over its result" in caplog.text and "lambda" in caplog.text


def test_the_serving_process_never_imports_the_config_layer(server_root, write_conf):
    """What the parent keeps: the finished config and the HTTP layer's handler factory; not lark, the loader,
    the validator, the worker rules or the directive registry (the site model is built in the loader)."""
    opts = _rich(server_root, write_conf)
    script = f"""
import json, sys
from httpdw.cli import CliOptions
from httpdw.cli.isolated_load import IsolatedLoader
from httpdw.cli.server import load_with_check
from httpdw.cli.server import http_handler_factory
loaded = IsolatedLoader(load_with_check)(CliOptions(config_file={opts.config_file!r}), None)
factory = http_handler_factory(loaded.config)
heavy = [m for m in ("lark", "regex", "httpdw.config.grammar", "httpdw.config.loader", "httpdw.config.check",
                     "httpdw.config.validate", "httpdw.config.worker_rules", "httpdw.config.registry",
                     "httpdw.config.directives") if m in sys.modules]
print(json.dumps({{"heavy": heavy, "vhosts": len(loaded.config.site.vhosts), "messages": len(loaded.messages)}}))
"""
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["heavy"] == []
    assert facts["vhosts"] >= 1 and facts["messages"] >= 1


def test_k_start_with_a_broken_config_prints_file_and_line(server_root, write_conf):
    body = "StartServers 2\nNoSuchDirective here\n"
    conf = write_conf(minimal(server_root, body, listen=f"127.0.0.1:{_free_port()}"))
    try:
        result = run_process("-f", conf, "-k", "start")
    finally:
        _stop_if_started(server_root / "logs" / "httpd.pid")
    assert result.code == 1
    assert f"(line {Path(conf).read_text().count(chr(10))} of {conf})" in result.stderr, result.stderr
    assert "Traceback" not in result.output


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_if_started(pid_file: Path) -> None:
    """Should the config ever start after all, the detached server must not outlive the test."""
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    _wait(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(),
          15, "the server to stop")


def _get(port: int) -> bytes:
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_graceful_restart_with_a_broken_config_logs_file_and_line_and_keeps_serving(server_root, write_conf):
    port = _free_port()
    (server_root / "htdocs" / "index.html").write_text("hello\n")
    body = (f"DocumentRoot {server_root}/htdocs\nStartServers 1\nThreadsPerChild 5\nMinSpareThreads 1\n"
            f"MaxSpareThreads 10\nMaxRequestWorkers 10\nServerLimit 2\n")
    conf = write_conf(minimal(server_root, body, listen=f"127.0.0.1:{port}"))
    proc = subprocess.Popen([sys.executable, "-m", "httpdw", "-f", conf, "-D", "FOREGROUND"],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=server_root)
    try:
        _wait(lambda: _get(port).endswith(b"hello\n"), 20, "the server")
        with open(conf, "a") as f:
            f.write("NoSuchDirective here\n")
        broken_line = Path(conf).read_text().count("\n")
        os.kill(proc.pid, signal.SIGUSR1)
        log = server_root / "logs" / "error_log"
        _wait(lambda: "restart aborted" in log.read_text(), 15, "the refusal in the error log")
        text = log.read_text()
        assert f"(line {broken_line} of {conf})" in text, text
        assert _get(port).endswith(b"hello\n")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0
    assert list(server_root.glob("*.lark-cache")) == []


def test_the_engine_is_imported_while_the_loader_works_not_before(server_root, write_conf):
    """`-k stop` needs neither the engine nor the HTTP layer; a start imports them while the loader process
    reads the config (the two overlap), and the loader process itself never imports the engine."""
    conf = write_conf(minimal(server_root))
    script = f"""
import json, sys
import httpdw.cli.server as server
from httpdw.cli import CliOptions
from httpdw.cli.isolated_load import IsolatedLoader
from httpdw.mpm.loaded_config import LoadedConfig
engine = ("httpdw.mpm.parent", "httpdw.mpm.child", "httpdw.http")
before = [m for m in engine if m in sys.modules]
def load(opts, first_limits):
    seen = [m for m in engine if m in sys.modules]
    return LoadedConfig(None, [("warn", json.dumps(seen))])
loaded = IsolatedLoader(load, meanwhile=server.import_serving_layers)(CliOptions(config_file={conf!r}), None)
print(json.dumps({{"before": before, "in_loader": json.loads(loaded.messages[0][1]),
                  "after": [m for m in engine if m in sys.modules]}}))
"""
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"before": [], "in_loader": [],
                                      "after": ["httpdw.mpm.parent", "httpdw.mpm.child", "httpdw.http"]}
