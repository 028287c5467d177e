"""No input makes `httpdw configtest` print a traceback or hang (issue 2).

Generated configs and junk bytes go through the command in-process (hypothesis, many cases); the
pathological files (missing, a directory, cycles, deep nesting, long lines, huge files, devices) go
through a real `python -m httpdw` process with a time limit.
"""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cli_helpers import run_inprocess, run_process

#: the time a pathological case may take (seconds); well above what a healthy run needs
SLOW_LIMIT = 45


def assert_clean(run, allowed=(0, 1)) -> None:
    assert run.code in allowed, run.output[-2000:]
    assert "Traceback" not in run.output, run.output[-4000:]
    assert "internal error" not in run.output, run.output[-2000:]


# --------------------------------------------------------------------------- generated configs

WORKER_NAMES = ["ServerLimit", "ThreadLimit", "ThreadsPerChild", "MaxRequestWorkers", "MaxClients",
                "StartServers", "MinSpareThreads", "MaxSpareThreads", "MaxConnectionsPerChild",
                "ListenBacklog", "Listen", "Mutex", "AcceptMutex", "LockFile", "PidFile", "User", "Group",
                "ErrorLog", "LogLevel", "Include", "IncludeOptional", "Define", "UnDefine", "ServerRoot",
                "LoadModule", "Options", "Require", "DocumentRoot", "Timeout", "KeepAlive", "Bogus"]
SECTIONS = ["IfModule", "IfDefine", "Directory", "VirtualHost", "Location", "Files", "If", "IfVersion",
            "IfFile", "IfDirective", "IfSection", "Limit", "RequireAll", "Proxy"]

words = st.one_of(
    st.integers(-(2 ** 40), 2 ** 40).map(str),
    st.sampled_from(["25x", "abc", "2.5", "\"\"", "''", "\"10 0\"", "${UNDEF}", "${SERVER_ROOT}", "On", "Off",
                     "*", "*:80", "127.0.0.1:0", "[::1]:8080", "!", "mpm_worker_module", "worker.c", "#", "\\",
                     "\"unterminated", "*.conf", "/dev/null", "default", "none", "mpm-accept"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)


@st.composite
def directive_line(draw) -> str:
    name = draw(st.sampled_from(WORKER_NAMES))
    args = draw(st.lists(words, max_size=3))
    return " ".join([name, *args])


@st.composite
def config_text(draw, depth: int = 0) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["directive", "directive", "section", "junk", "comment", "continuation"]))
        if kind == "directive":
            lines.append(draw(directive_line()))
        elif kind == "section" and depth < 3:
            name = draw(st.sampled_from(SECTIONS))
            arg = draw(words)
            inner = draw(config_text(depth + 1))
            closer = draw(st.sampled_from([f"</{name}>", f"</{name}>", "", "</Directory>", f"</{name} x>"]))
            lines += [f"<{name} {arg}>", inner, closer]
        elif kind == "junk":
            lines.append(draw(st.text(max_size=40)))
        elif kind == "comment":
            lines.append("# " + draw(st.text(max_size=20)) + draw(st.sampled_from(["", "\\"])))
        else:
            lines.append(draw(directive_line()) + " \\")
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(config_text(), st.sampled_from(["text", "json", "github"]), st.booleans())
def test_generated_configs_never_crash(server_root, text, fmt, effective):
    conf = server_root / "gen.conf"
    conf.write_text(f"ServerRoot {server_root}\n" + text, encoding="utf-8", errors="surrogatepass")
    args = ["-f", str(conf), "-t", "--format", fmt] + (["--effective"] if effective else [])
    assert_clean(run_inprocess(*args))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_junk_bytes_never_crash(server_root, junk):
    conf = server_root / "junk.conf"
    conf.write_bytes(junk)
    assert_clean(run_inprocess("-f", str(conf), "-t"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500))
def test_junk_envvars_never_crash(server_root, junk):
    env_file = server_root / "envvars"
    env_file.write_bytes(junk)
    conf = server_root / "httpd.conf"
    conf.write_text(f"ServerRoot {server_root}\nListen 8080\n")
    assert_clean(run_inprocess("-f", str(conf), "-t", "--envvars", str(env_file)))


# --------------------------------------------------------------------------- pathological files

def timed(*args: str):
    started = time.monotonic()
    run = run_process(*args, timeout=SLOW_LIMIT + 30)
    return run, time.monotonic() - started


def test_missing_file(server_root):
    run, _ = timed("-f", str(server_root / "nope.conf"), "-t")
    assert_clean(run)
    assert run.code == 1 and "nope.conf" in run.stderr


def test_directory_as_config(server_root):
    run, _ = timed("-f", str(server_root), "-t")
    assert_clean(run)
    assert run.code == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(server_root):
    conf = server_root / "secret.conf"
    conf.write_text("Listen 8080\n")
    conf.chmod(0)
    run, _ = timed("-f", str(conf), "-t")
    assert_clean(run)
    assert run.code == 1


def test_include_cycle(server_root):
    (server_root / "a.conf").write_text(f"ServerRoot {server_root}\nListen 8080\nInclude b.conf\n")
    (server_root / "b.conf").write_text("Include a.conf\n")
    run, _ = timed("-f", str(server_root / "a.conf"), "-t")
    assert_clean(run)
    assert run.code == 1


def test_self_include_by_glob(server_root):
    (server_root / "conf.d").mkdir()
    (server_root / "conf.d" / "x.conf").write_text("Include conf.d/*.conf\n")
    (server_root / "httpd.conf").write_text(f"ServerRoot {server_root}\nListen 8080\nInclude conf.d/*.conf\n")
    run, _ = timed("-f", str(server_root / "httpd.conf"), "-t")
    assert_clean(run)
    assert run.code == 1


def test_symlink_loop(server_root):
    os.symlink(server_root / "loop.conf", server_root / "loop.conf")
    run, _ = timed("-f", str(server_root / "loop.conf"), "-t")
    assert_clean(run)
    assert run.code == 1


@pytest.mark.parametrize("section", ["IfModule mpm_worker_module", "Directory /", "IfDefine !NOPE"])
def test_very_deep_nesting(server_root, section):
    depth = 5000
    name = section.split()[0]
    text = f"ServerRoot {server_root}\nListen 8080\n" + f"<{section}>\n" * depth + "ThreadsPerChild 25\n" \
        + f"</{name}>\n" * depth
    (server_root / "deep.conf").write_text(text)
    run, took = timed("-f", str(server_root / "deep.conf"), "-t")
    assert_clean(run)
    assert took < SLOW_LIMIT


def test_very_deep_unclosed_nesting(server_root):
    (server_root / "deep.conf").write_text(f"ServerRoot {server_root}\n" + "<Directory />\n" * 20000)
    run, took = timed("-f", str(server_root / "deep.conf"), "-t")
    assert_clean(run)
    assert run.code == 1 and took < SLOW_LIMIT


def test_deep_include_chain(server_root):
    depth = 300
    for i in range(depth):
        (server_root / f"inc{i}.conf").write_text(f"Include inc{i + 1}.conf\n" if i + 1 < depth else "Listen 8080\n")
    (server_root / "httpd.conf").write_text(f"ServerRoot {server_root}\nInclude inc0.conf\n")
    run, took = timed("-f", str(server_root / "httpd.conf"), "-t")
    assert_clean(run)
    assert took < SLOW_LIMIT


def test_very_long_line(server_root):
    conf = server_root / "long.conf"
    conf.write_text(f"ServerRoot {server_root}\nListen 8080\nThreadsPerChild " + "9" * 2_000_000 + "\n"
                    "Bogus " + "x" * 2_000_000 + "\n")
    run, took = timed("-f", str(conf), "-t")
    assert_clean(run)
    assert run.code == 1 and took < SLOW_LIMIT
    assert len(run.stderr) < 20_000, "a long line is shown cut, not in full"


def test_long_continued_line(server_root):
    conf = server_root / "cont.conf"
    conf.write_text(f"ServerRoot {server_root}\nListen 8080\nLogLevel warn" + " \\\n warn" * 50_000 + "\n")
    run, took = timed("-f", str(conf), "-t")
    assert_clean(run)
    assert took < SLOW_LIMIT


def test_huge_file(server_root):
    conf = server_root / "huge.conf"
    block = "".join(f"# comment {i}\nMaxRequestWorkers {i % 500}\n" for i in range(1000))
    conf.write_text(f"ServerRoot {server_root}\nListen 8080\n" + block * 100)   # 200k lines, ~5 MB
    run, took = timed("-f", str(conf), "-t")
    assert_clean(run)
    assert took < SLOW_LIMIT


def test_many_errors_are_reported_without_drowning(server_root):
    conf = server_root / "errors.conf"
    conf.write_text(f"ServerRoot {server_root}\nListen 8080\n" + "Bogus line\n" * 20_000)
    run, took = timed("-f", str(conf), "-t", "--format", "json")
    assert_clean(run)
    assert run.code == 1 and took < SLOW_LIMIT


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_devices_as_config(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} not present")
    run, took = timed("-f", device, "-t")
    assert_clean(run)
    assert took < SLOW_LIMIT


def test_nul_bytes_and_invalid_utf8(server_root):
    conf = server_root / "nul.conf"
    conf.write_bytes(f"ServerRoot {server_root}\nListen 8080\n".encode() +
                     b"ThreadsPerChild 2\x005\nServerName \xff\xfe\xfd\n<Directory \x00>\n</Directory>\n")
    run, _ = timed("-f", str(conf), "-t")
    assert_clean(run)


def test_envvars_is_a_directory(server_root):
    (server_root / "httpd.conf").write_text(f"ServerRoot {server_root}\nListen 8080\n")
    run, _ = timed("-f", str(server_root / "httpd.conf"), "-t", "--envvars", str(server_root))
    assert_clean(run)
    assert run.code == 1
