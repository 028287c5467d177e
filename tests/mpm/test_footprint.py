"""The serving processes import only what serving needs (benchmark W6: the idle footprint).

Every module the serving parent imports is resident in it and, since children are forked from it, in
every child too. These tests run the real start path (the lean command-line parser, the isolated config
loader, the engine, the real HTTP handler) and check by module *name* that what only the command line,
configtest, piped logs, rare mutexes or error paths need never reaches the parent or a child that has
served requests. Memory numbers are the benchmark's business (bench/), not the tests'.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .mpm_helpers import free_port

REPO = Path(__file__).resolve().parents[2]

#: modules the serving processes must not hold, and who would have brought them
NOT_IN_SERVING = {
    "click": "the command line (parsed by httpdw.cli.options when it starts a server)",
    "uuid": "click",
    "platform": "click (through uuid)",
    "gettext": "click",
    "html": "html.escape in the error pages (httpdw.http.errors.esc replaces it)",
    "html.entities": "html",
    "subprocess": "piped logs only (imported where one is started)",
    "shlex": "piped access logs only",
    "multiprocessing": "the posixsem accept mutex only",
    "ctypes.util": "libc lookup fallback only",
    "shutil": "ctypes.util",
    "tempfile": "ctypes.util",
    "bz2": "ctypes.util (through shutil)",
    "lzma": "ctypes.util (through shutil)",
    "importlib.resources": "the shipped mime.types, only when no TypesConfig is readable",
    "encodings.idna": "getaddrinfo on a str host name (listeners pass ASCII names as bytes)",
    "stringprep": "encodings.idna",
    "email": "HTTP dates (httpdw.http.response formats and parses them itself)",
    "datetime": "email.utils",
    "calendar": "email.utils",
    "locale": "email.utils (through calendar)",
    "lark": "the config grammar (the config is read in a short-lived loader process)",
    "httpdw.config.loader": "the config loader process",
    "httpdw.config.registry": "the config loader process",
    "httpdw.config.check": "the config loader process",
}

#: runs the real server in the foreground; the handler factory and the handlers are the real ones,
#: wrapped (through cli.server.run's test parameter) to write the child's module list when it starts
#: and after each connection; the parent writes its own once the server has stopped
SERVE = r"""
import itertools, os, sys
conf, out = sys.argv[1], sys.argv[2]
from httpdw.cli import CliOptions, parse_serving_argv
from httpdw.cli import server

def dump(name):
    with open(os.path.join(out, name + ".tmp"), "w") as f:
        f.write("\n".join(sorted(sys.modules)))
    os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))

class Handler:
    counter = itertools.count(1)
    def __init__(self, inner):
        self.inner = inner
    def __call__(self, ctx):
        try:
            self.inner(ctx)
        finally:
            dump(f"child.{next(self.counter)}")
    def __getattr__(self, name):
        return getattr(self.inner, name)

class Factory:
    def __init__(self, inner):
        self.inner = inner
    def __call__(self, info):
        dump("child.start")   # after fork and privilege drop, before any request
        return Handler(self.inner(info))
    def __getattr__(self, name):
        return getattr(self.inner, name)

params = parse_serving_argv(["-f", conf, "-D", "FOREGROUND"])
assert params is not None, "a foreground start must not need click"
opts = CliOptions(config_file=params["config_file"], defines=list(params["defines"]))
code = server.run(opts, None, _factory_for=lambda config: Factory(server.http_handler_factory(config)))
dump("parent")
sys.exit(code)
"""


#: what the child serves before its modules are compared: a file, a 404, a conditional GET, mod_status
REQUESTS = [("/a.txt", "", b"200"), ("/missing.txt", "", b"404"),
            ("/a.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", b"200"),
            ("/a.txt", "If-Modified-Since: Sat, 01 Jan 2005 00:00:00 GMT\r\n", b"304"),
            ("/server-status", "", b"200"), ("/server-status?auto", "", b"200")]


def _get(port: int, path: str, headers: str = "") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


def _wait_file(path: Path, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{path.name} was not written; server stderr: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)


def _config(root: Path, port: int) -> Path:
    (root / "logs").mkdir()
    (root / "htdocs").mkdir()
    (root / "htdocs" / "a.txt").write_text("a\n")
    os.utime(root / "htdocs" / "a.txt", (946684800, 946684800))    # 2000-01-01: older than REQUESTS' dates
    (root / "mime.types").write_text("text/plain\ttxt\n")
    conf = root / "httpd.conf"
    conf.write_text(f"""ServerRoot {root}
LoadModule mpm_worker_module /usr/lib/apache2/modules/mod_mpm_worker.so
LoadModule status_module /usr/lib/apache2/modules/mod_status.so
Listen 127.0.0.1:{port}
PidFile {root}/logs/httpd.pid
ErrorLog {root}/logs/error_log
ServerName localhost
ServerLimit 1
StartServers 1
ThreadsPerChild 4
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 4
TypesConfig {root}/mime.types
DocumentRoot {root}/htdocs
ExtendedStatus On
<Location "/server-status">
    SetHandler server-status
</Location>
""")
    return conf


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture(scope="module")
def interpreter_modules() -> set[str]:
    """What this interpreter has loaded before any httpdw code runs (site and its .pth files may import
    some of NOT_IN_SERVING themselves: those are not httpdw's doing)."""
    done = subprocess.run([sys.executable, "-c", "import sys; print(*sys.modules)"], env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.fixture(scope="module")
def serving_modules(tmp_path_factory) -> dict[str, set[str]]:
    """{"parent": modules, "child.start": modules, "child": modules} of a real server that answered REQUESTS."""
    root = tmp_path_factory.mktemp("footprint")
    out = root / "modules"
    out.mkdir()
    out.chmod(0o1777)   # a child that dropped privileges writes here too
    port = free_port()
    conf = _config(root, port)
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(conf), str(out)], env=_env(), cwd=str(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                first = _get(port, "/a.txt")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.05)
        assert first.startswith(b"HTTP/1.1 200 ")
        for path, headers, status in REQUESTS[1:]:
            answer = _get(port, path, headers)
            assert answer.startswith(b"HTTP/1.1 " + status + b" "), (path, headers, answer[:300])
        _wait_file(out / f"child.{len(REQUESTS)}", proc)
        proc.send_signal(signal.SIGTERM)
        _wait_file(out / "parent", proc)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    names = {"parent": "parent", "child.start": "child.start", "child": f"child.{len(REQUESTS)}"}
    return {who: set((out / name).read_text().split()) for who, name in names.items()}


@pytest.mark.parametrize("who", ["parent", "child"])
def test_serving_process_holds_none_of_the_rare_path_modules(serving_modules, interpreter_modules, who):
    modules = serving_modules[who]
    assert "httpdw.http.connection" in modules and "httpdw.mpm.parent" in modules   # it really served
    imported = modules - interpreter_modules
    held = {name: why for name, why in NOT_IN_SERVING.items() if name in imported}
    assert not held, f"the serving {who} imported: {held}"


def test_rare_path_modules_still_load_where_they_are_needed():
    """The lazy imports are real: the command line still has click, and configtest still reads configs."""
    code = ("import sys; from httpdw.cli import command; from httpdw.http.errors import esc; "
            "from httpdw.http.accesslog import spawn_piped_logger; "
            "assert 'click' in sys.modules; assert esc('<a href=\"x\">&</a>') == "
            "'&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;'; "
            "p = spawn_piped_logger('||/bin/true'); p.stdin.close(); p.wait(5); assert p.returncode == 0")
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_child_imports_no_library_module_while_serving(serving_modules):
    """A child may have dropped privileges (User), and the interpreter's own library may be readable by root
    only (a pyenv under /root): a standard-library module first imported in a child would then fail, so
    every request path must find its modules loaded before the fork. (httpdw's own modules are readable.)"""
    late = serving_modules["child"] - serving_modules["child.start"]
    assert {name for name in late if name.split(".")[0] != "httpdw"} == set()
