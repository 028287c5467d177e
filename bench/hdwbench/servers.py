"""The servers under test: how each is configured and started in a fresh root, how we know it is ready, and
how it is stopped (by its own process group, which we created; never by name)."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BENCH_DIR.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
APPS = Path(__file__).resolve().parent / "apps"

SMALL_FILE = "/1k.html"
LARGE_FILE = "/10m.bin"
SMALL_SIZE = 1024
LARGE_SIZE = 10 * 2**20

# The seed's worker block, shared verbatim by Apache and httpdw.
WORKER_BLOCK = """\
ServerLimit 16
StartServers 2
MaxClients 150
MinSpareThreads 25
MaxSpareThreads 75
ThreadsPerChild 25
MaxConnectionsPerChild 0"""

# --profile: one child that never multiplies, so one py-spy attaches to all the work.
ONE_CHILD_WORKER_BLOCK = """\
ServerLimit 1
StartServers 1
MaxClients 25
MinSpareThreads 1
MaxSpareThreads 50
ThreadsPerChild 25
MaxConnectionsPerChild 0"""

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class ServerStartError(RuntimeError):
    """The server exited or never answered 200 for the small file; the message holds its stderr tail,
    .command the command line that was run."""

    def __init__(self, message: str, command: str = ""):
        super().__init__(message)
        self.command = command


def render_template(text: str, **values: str) -> str:
    """Replace @NAME@ markers (chosen because nginx and Apache configs use both braces and ${})."""
    for name, value in values.items():
        text = text.replace(f"@{name.upper()}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"template markers without a value: {sorted(set(left))}")
    return text


def free_port() -> int:
    """A port the kernel has just handed out on loopback (the small race until the server binds is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_root() -> Path:
    """A fresh ServerRoot with the documents. World-readable because Apache's and nginx's children drop to
    www-data / nobody when started as root."""
    root = Path(tempfile.mkdtemp(prefix="hdwbench-"))
    for sub in ("www", "logs", "run", "tmp"):
        (root / sub).mkdir()
    (root / "www" / SMALL_FILE.lstrip("/")).write_bytes(small_document())
    (root / "www" / "index.html").write_bytes(b"<html><body>httpdw bench</body></html>\n")
    with open(root / "www" / LARGE_FILE.lstrip("/"), "wb") as out:
        block = bytes(range(256)) * 4096           # 1 MiB
        for _ in range(LARGE_SIZE // len(block)):
            out.write(block)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (root / "logs").chmod(0o777)                   # children may write their logs after dropping root
    return root


def small_document() -> bytes:
    """Exactly 1 KiB of HTML."""
    head, tail = b"<html><head><title>bench</title></head><body><p>", b"</p></body></html>\n"
    return head + b"x" * (SMALL_SIZE - len(head) - len(tail)) + tail


@dataclass
class ServerKind:
    """One server under test. Subclasses say how to configure and start it."""

    name: str = ""
    #: the workloads this server takes part in (None: all of them)
    workloads: tuple[str, ...] | None = None

    def takes(self, workload: str) -> bool:
        return self.workloads is None or workload in self.workloads

    def missing(self) -> str | None:
        """Why this server cannot run here (None when it can)."""
        raise NotImplementedError

    def prepare(self, root: Path, port: int, profile: bool = False) -> tuple[list[str], dict[str, str]]:
        """Write the config into root; return the command line and extra environment."""
        raise NotImplementedError


def apache_config(root: Path, port: int, profile: bool) -> Path:
    conf = root / "httpd.conf"
    text = (TEMPLATES / "httpd.conf.tmpl").read_text()
    conf.write_text(render_template(text, root=root, port=port,
                                    worker_block=ONE_CHILD_WORKER_BLOCK if profile else WORKER_BLOCK))
    return conf


class Httpdw(ServerKind):
    def __init__(self):
        super().__init__("httpdw")

    def missing(self):
        if not (PROJECT_DIR / "httpdw" / "__main__.py").exists():
            return f"no httpdw package in {PROJECT_DIR}"
        return None

    def prepare(self, root, port, profile=False):
        conf = apache_config(root, port, profile)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")]))}
        return [sys.executable, "-m", "httpdw", "-f", str(conf), "-D", "FOREGROUND"], env


class ApacheWorker(ServerKind):
    def __init__(self):
        super().__init__("apache-worker")

    def missing(self):
        if not shutil.which("apache2") and not Path("/usr/sbin/apache2").exists():
            return "apache2 is not installed (bash bench/setup.sh installs it)"
        if not Path("/usr/lib/apache2/modules/mod_mpm_worker.so").exists():
            return "mod_mpm_worker.so is missing"
        return None

    def prepare(self, root, port, profile=False):
        conf = apache_config(root, port, profile)
        binary = shutil.which("apache2") or "/usr/sbin/apache2"
        return [binary, "-f", str(conf), "-D", "FOREGROUND"], {}


class Nginx(ServerKind):
    def __init__(self):
        super().__init__("nginx")

    def binary(self) -> str | None:
        return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

    def missing(self):
        return None if self.binary() else "nginx is not installed (bash bench/setup.sh installs it)"

    def prepare(self, root, port, profile=False):
        conf = root / "nginx.conf"
        conf.write_text(render_template((TEMPLATES / "nginx.conf.tmpl").read_text(), root=root, port=port))
        # -e: the startup error log goes to the run's root, not /var/log/nginx.
        return [self.binary(), "-p", str(root), "-c", str(conf), "-e", str(root / "logs" / "error.log"),
                "-g", "daemon off;"], {}


class Gunicorn(ServerKind):
    def __init__(self):
        super().__init__("gunicorn")

    def missing(self):
        try:
            import gunicorn  # noqa: F401  (only probing that it is installed)
        except ImportError:
            return "gunicorn is not installed in this Python (bash bench/setup.sh installs it)"
        return None

    def prepare(self, root, port, profile=False):
        argv = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "2",
                "--threads", "25", "--bind", f"127.0.0.1:{port}", "--chdir", str(APPS),
                "--graceful-timeout", "3", "--log-level", "warning", "static:application"]
        return argv, {"BENCH_DOCROOT": str(root / "www")}


class PythonFloor(ServerKind):
    """W6 only: a stdlib-only server of httpdw's shape (apps/floor.py), the footprint under which no
    CPython server built as a parent and forked, threaded children can go."""

    def __init__(self):
        super().__init__("python-floor", workloads=("W6",))

    def missing(self):
        return None

    def prepare(self, root, port, profile=False):
        return [sys.executable, str(APPS / "floor.py"), str(port), str(root / "www")], {}


KINDS: dict[str, ServerKind] = {k.name: k for k in (Httpdw(), ApacheWorker(), Nginx(), Gunicorn(), PythonFloor())}


@dataclass
class RunningServer:
    """A started server. Always stop() it (it is a context manager)."""

    kind: ServerKind
    root: Path
    port: int
    proc: subprocess.Popen
    startup_s: float = 0.0
    keep_root: bool = False
    _known: list[psutil.Process] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self, lines: int = 15) -> str:
        """The last lines of the server's stderr and error log: what a failure is reported with."""
        parts = []
        for path in (self.root / "logs" / "stderr.txt", self.root / "logs" / "error.log"):
            try:
                text = path.read_text(errors="replace").strip()
            except OSError:
                continue
            # Traceback marker lines (^^^^) say nothing once the lines are joined into one.
            kept = [line for line in text.splitlines() if line.strip(" ^~")]
            if kept:
                parts.append(f"{path.name}: " + "\n".join(kept[-lines:]))
        return "\n".join(parts) or "(no output)"

    def remember_tree(self) -> None:
        """Add the current descendants to those already noted, so that stop() can also end children left
        behind by a parent that died (they are reparented and no longer show up as its children)."""
        try:
            current = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return
        known = {proc.pid for proc in self._known}
        self._known += [proc for proc in current if proc.pid not in known]

    def stop(self) -> None:
        """SIGTERM to the process group we created, SIGKILL after STOP_TIMEOUT_S. The group is signalled only
        while its leader is unreaped (so the id cannot have been reused); orphans are ended by their own pid."""
        self.remember_tree()
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=5)
        for child in self._known:
            try:
                if child.is_running():          # also checks the create time: not a reused pid
                    child.kill()
            except psutil.Error:
                pass
        if not self.keep_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(kind: ServerKind, profile: bool = False, keep_root: bool = False) -> RunningServer:
    """Start `kind` in a fresh root on a free loopback port and wait until it serves the 1 KiB file.
    Raises ServerStartError (with the stderr tail) when it exits or is not ready in READY_TIMEOUT_S."""
    root = make_root()
    port = free_port()
    argv, extra_env = kind.prepare(root, port, profile)
    stderr = open(root / "logs" / "stderr.txt", "wb")
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=root, env={**os.environ, **extra_env}, stdin=subprocess.DEVNULL,
                            stdout=stderr, stderr=stderr, start_new_session=True)
    stderr.close()
    server = RunningServer(kind, root, port, proc, keep_root=keep_root)
    try:
        wait_ready(server)
    except ServerStartError as exc:
        tail = server.stderr_tail()
        server.stop()
        raise ServerStartError(f"{kind.name} did not start: {exc}\n{tail}", " ".join(argv)) from None
    except BaseException:           # Ctrl-C while waiting: never leave the server behind
        server.stop()
        raise
    server.startup_s = time.monotonic() - started
    server.remember_tree()
    return server


def wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if not server.alive():
            raise ServerStartError(f"exited with status {server.proc.returncode}")
        status, body_len = probe(server.port, SMALL_FILE)
        if status == 200 and body_len == SMALL_SIZE:
            return
        last = f"status {status}, {body_len} bytes" if status else "connection failed"
        time.sleep(0.02)
    raise ServerStartError(f"not ready after {READY_TIMEOUT_S:.0f} s ({last})")


def probe(port: int, path: str, timeout: float = 1.0) -> tuple[int | None, int]:
    """(status, body length) of one GET, or (None, 0) when the connection fails."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, len(resp.read())
    except (OSError, http.client.HTTPException):
        return None, 0
    finally:
        conn.close()
