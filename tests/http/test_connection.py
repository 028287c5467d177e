"""The connection handler over real sockets: keep-alive, scoreboard states, timeouts, limits,
fail-closed rules (.htaccess, symlinks), big files, error documents, logs and their lifecycle."""
from __future__ import annotations

import os
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from http_helpers import get, parse_responses, raw
from httpdw.http import quickcalls

BASIC = """
DocumentRoot {docroot}
MaxKeepAliveRequests 5
KeepAliveTimeout 1
Timeout 2
<Directory {docroot}>
    Options Indexes
    Require all granted
</Directory>
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
CustomLog {root}/logs/access.log combined
"""


def test_keepalive_scoreboard_states_and_log(site):
    site.write("a.txt", "a\n")
    site.start(BASIC)
    data = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    resps = parse_responses(raw(site.port, data))
    assert [r.status for r in resps] == [200, 200, 200]
    assert resps[-1].header("Connection") == "close"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(site.server.slots[-1].ended) < 3:
        time.sleep(0.01)
    slot = site.server.slots[-1]
    assert slot.states[:2] == ["R", "W"] and "K" in slot.states
    assert [r[0] for r in slot.requests] == ["GET /a.txt HTTP/1.1"] * 3
    assert len(slot.ended) == 3 and all(n > 0 for n in slot.ended)
    lines = (site.root / "logs" / "access.log").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("127.0.0.1 - - [") and '"GET /a.txt HTTP/1.1" 200 ' in lines[0]


def test_max_keepalive_requests_closes(site):
    site.write("a.txt", "a\n")
    site.start(BASIC)
    data = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 8
    resps = parse_responses(raw(site.port, data))
    assert len(resps) == 6                   # 5 kept alive, the 6th closes (MaxKeepAliveRequests 5)
    assert resps[-1].header("Connection") == "close"


def test_idle_keepalive_connection_is_closed_after_keepalive_timeout(site):
    site.write("a.txt", "a\n")
    site.start(BASIC)
    s = socket.create_connection(("127.0.0.1", site.port), timeout=5)
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    t0 = time.monotonic()
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    elapsed = time.monotonic() - t0
    s.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert 0.8 < elapsed < 3


def test_partial_request_times_out_with_408(site):
    site.start(BASIC)
    s = socket.create_connection(("127.0.0.1", site.port), timeout=6)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    data = s.recv(65536)
    s.close()
    assert data.startswith(b"HTTP/1.1 408 Request Timeout")
    assert 1.5 < time.monotonic() - t0 < 5


def test_stopping_ends_keepalive(site):
    site.write("a.txt", "a\n")
    site.start(BASIC)
    site.server.graceful = True              # as a child that is exiting gracefully
    resp = parse_responses(raw(site.port, b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", half_close=False))
    assert resp[0].status == 200 and resp[0].header("Connection") == "close"


def test_htaccess_with_allowoverride_fails_closed_and_logs_once(site, caplog):
    site.write("prot/secret.txt", "s\n")
    site.write("prot/.htaccess", "Require all denied\n")
    site.write("open/ok.txt", "ok\n")
    site.start(BASIC + "<Directory {docroot}/prot>\n AllowOverride All\n</Directory>\n"
               "<Directory {docroot}/open>\n AllowOverride All\n</Directory>\n")
    assert get(site.port, "/prot/secret.txt").status == 500
    assert get(site.port, "/prot/secret.txt").status == 500
    assert get(site.port, "/open/ok.txt").status == 200
    reported = [r for r in caplog.records if ".htaccess" in r.getMessage()]
    assert len(reported) == 1


def test_symlink_leaving_root_needs_followsymlinks(site, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("outside\n")
    site.write("nolinks/dummy", "")
    site.write("links/dummy", "")
    os.symlink(outside, site.docroot / "nolinks" / "out.txt")
    os.symlink(outside, site.docroot / "links" / "out.txt")
    site.start(BASIC + "<Directory {docroot}/nolinks>\n Options -FollowSymLinks\n</Directory>\n"
               "<Directory {docroot}/links>\n Options +FollowSymLinks\n</Directory>\n")
    assert get(site.port, "/nolinks/out.txt").status == 403
    assert get(site.port, "/links/out.txt").body == b"outside\n"


@pytest.mark.parametrize("path", ["/../outside.txt", "/%2e%2e/outside.txt", "/..%2foutside.txt", "/%00",
                                  "/..\\outside.txt", "/./../outside.txt"])
def test_nothing_outside_the_root(site, tmp_path, path):
    (tmp_path / "outside.txt").write_text("outside\n")
    site.start(BASIC)
    resp = get(site.port, path)
    assert resp.status in (400, 404) and b"outside" not in resp.body


@pytest.mark.parametrize("sendfile", ["On", "Off"])
def test_big_file_with_and_without_sendfile(site, sendfile):
    data = os.urandom(3 * 1024 * 1024 + 17)
    site.write("big.bin", data)
    site.start(BASIC + f"EnableSendfile {sendfile}\n")
    resp = get(site.port, "/big.bin")
    assert resp.status == 200 and resp.body == data
    resp = get(site.port, "/big.bin", {"Range": "bytes=1000000-1000099,-5"})
    assert resp.status == 206 and resp.header("Content-Type").startswith("multipart/byteranges; boundary=")
    assert data[1000000:1000100] in resp.body and data[-5:] in resp.body


def test_error_documents(site):
    site.write("errors/404.html", "<p>missing</p>\n")
    site.start(BASIC + 'ErrorDocument 404 /errors/404.html\nErrorDocument 403 "Go away"\n'
               "ErrorDocument 410 http://example.com/gone\nRedirect gone /old\n"
               "<Location /deny>\n Require all denied\n</Location>\n")
    resp = get(site.port, "/nope")
    assert (resp.status, resp.body) == (404, b"<p>missing</p>\n")
    resp = get(site.port, "/deny")
    assert (resp.status, resp.body) == (403, b"Go away")
    resp = get(site.port, "/old")
    assert resp.status == 302 and resp.header("Location") == "http://example.com/gone"


def test_error_document_that_fails_itself(site):
    site.start(BASIC + "ErrorDocument 404 /errors/none.html\n")
    resp = get(site.port, "/nope")
    assert resp.status == 404
    assert b"Additionally, a 404 Not Found\nerror was encountered while trying to use an ErrorDocument" in resp.body


def test_server_signature_and_tokens(site):
    site.start(BASIC + "ServerSignature On\nServerTokens Prod\n")
    resp = get(site.port, "/nope")
    assert resp.header("Server") == "httpdw"
    assert b"<hr>\n<address>httpdw Server at localhost Port " in resp.body


def test_trace_enable_off_is_405(site):
    site.start(BASIC + "TraceEnable Off\n")
    resp = get(site.port, "/", method="TRACE")
    assert resp.status == 405 and resp.header("Allow") == "GET,POST,OPTIONS,HEAD"


def test_expect_100_continue_gets_interim_response(site):
    site.write("a.txt", "a\n")
    site.start(BASIC)
    s = socket.create_connection(("127.0.0.1", site.port), timeout=3)
    s.sendall(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    s.sendall(b"body")
    assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
    s.close()


def test_unsupported_handler_fails_closed(site):
    site.write("script.php", "<?php secret(); ?>")
    site.start(BASIC + "AddHandler application/x-httpd-php .php\n")
    resp = get(site.port, "/script.php")
    assert resp.status == 500 and b"secret" not in resp.body


def test_new_handler_generation_reopens_logs(site):
    site.write("a.txt", "a\n")
    site.start(BASIC)
    assert get(site.port, "/a.txt").status == 200
    log = site.root / "logs" / "access.log"
    os.rename(log, site.root / "logs" / "access.log.1")       # logrotate moves the file away
    site.factory.close()                                       # the old generation retires
    handler = site.factory(None)                               # the next child opens its logs
    site.server.handler = handler
    assert get(site.port, "/a.txt").status == 200
    time.sleep(0.1)
    assert log.exists() and '"GET /a.txt HTTP/1.1" 200' in log.read_text()


def test_piped_log(site):
    site.write("a.txt", "a\n")
    out = site.root / "logs" / "piped.log"
    site.start(BASIC.replace('CustomLog {root}/logs/access.log combined',
                             f'CustomLog "|/bin/cat >> {out}" "%>s %U"'))
    assert get(site.port, "/a.txt").status == 200
    site.factory.close()                    # closing the pipe lets cat finish
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not (out.exists() and out.read_text()):
        time.sleep(0.05)
    assert out.read_text() == "200 /a.txt\n"


def test_conditional_log_env(site):
    site.write("a.txt", "a\n")
    site.start(BASIC.replace("CustomLog {root}/logs/access.log combined",
                             "CustomLog {root}/logs/never.log combined env=dontlog_me_never_set\n"
                             "CustomLog {root}/logs/always.log combined env=!dontlog"))
    assert get(site.port, "/a.txt").status == 200
    time.sleep(0.1)
    assert (site.root / "logs" / "always.log").read_text().count("\n") == 1
    assert (site.root / "logs" / "never.log").read_text() == ""


def test_directory_listing_plain(site):
    site.write("list/b.txt", "b")
    site.write("list/a b.txt", "a")
    site.write("list/sub/x", "x")
    site.start(BASIC)
    resp = get(site.port, "/list/")
    assert resp.header("Content-Type") == "text/html;charset=ISO-8859-1"
    assert (b'<ul><li><a href="/"> Parent Directory</a></li>\n<li><a href="a%20b.txt"> a b.txt</a></li>\n'
            b'<li><a href="b.txt"> b.txt</a></li>\n<li><a href="sub/"> sub/</a></li>\n</ul>') in resp.body


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_garbage_never_crashes_or_hangs(garbage):
    # one server for all examples (hypothesis and function fixtures do not mix)
    global _FUZZ_SITE
    if _FUZZ_SITE is None:
        import tempfile
        from pathlib import Path

        from http_helpers import Site
        _FUZZ_SITE = Site(Path(tempfile.mkdtemp()))
        _FUZZ_SITE.write("index.html", "hi")
        _FUZZ_SITE.start(BASIC)
    t0 = time.monotonic()
    out = raw(_FUZZ_SITE.port, garbage, timeout=4)
    assert time.monotonic() - t0 < 4
    assert out == b"" or out.startswith(b"HTTP/1.1 ")
    assert not _FUZZ_SITE.server.errors


_FUZZ_SITE = None


def teardown_module(module):
    if _FUZZ_SITE is not None:
        _FUZZ_SITE.close()


def test_server_status_handler(site):
    from httpdw.mpm.api import ChildInfo, ProcessScore, ScoreboardSnapshot, WorkerScore
    now = time.time()
    snap = ScoreboardSnapshot(server_limit=1, thread_limit=2, daemons_limit=1, threads_per_child=2,
                              running_generation=0, config_generation=1, restart_time=now - 10,
                              start_time=now - 10, server_built="test",
                              processes=(ProcessScore(pid=os.getpid()),),
                              workers=((WorkerScore(state="W", pid=os.getpid(), access_count=3),
                                        WorkerScore(state="_", pid=os.getpid())),))
    site.start(BASIC + "<Location /server-status>\n SetHandler server-status\n</Location>\n")
    child = ChildInfo(slot=0, generation=0, pid=os.getpid(), snapshot=lambda: snap)
    site.server.handler = site.factory(child)
    resp = get(site.port, "/server-status?auto")
    assert resp.status == 200 and resp.header("Content-Type") == "text/plain; charset=ISO-8859-1"
    assert resp.body.startswith(b"localhost\n") and b"Scoreboard: W_" in resp.body
    resp = get(site.port, "/server-status")
    assert resp.status == 200 and b"<html" in resp.body.lower()
    assert get(site.port, "/server-status", method="PUT").status == 405


def test_trickled_head_is_cut_at_timeout(site):
    site.start(BASIC)                                   # Timeout 2
    s = socket.create_connection(("127.0.0.1", site.port), timeout=8)
    t0 = time.monotonic()
    answer = b""
    try:
        for ch in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            s.sendall(bytes([ch]))
            time.sleep(0.1)
            if time.monotonic() - t0 > 6:
                break
    except OSError:
        pass
    try:
        answer = s.recv(65536)
    except OSError:
        pass
    s.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - t0 < 6


def test_hostname_lookups_log_names(site):
    site.write("a.txt", "a")
    site.start(BASIC + "HostnameLookups On\n")
    assert get(site.port, "/a.txt").status == 200
    time.sleep(0.1)
    line = (site.root / "logs" / "access.log").read_text().splitlines()[-1]
    name = socket.gethostbyaddr("127.0.0.1")[0]
    assert line.startswith(name + " ")


def test_if_sections_fail_closed(site):
    site.write("cond/x.txt", "secret")
    site.write("open/x.txt", "fine")
    site.start(BASIC + "<Directory {docroot}/cond>\n <If \"%{{REMOTE_ADDR}} != '10.0.0.1'\">\n"
               "  Require all denied\n </If>\n</Directory>\n")
    resp = get(site.port, "/cond/x.txt")
    assert resp.status == 500 and b"secret" not in resp.body
    assert get(site.port, "/open/x.txt").status == 200


def test_servername_with_https_scheme_gives_https_redirects(site):
    site.write("d/x", "x")
    site.start(BASIC + "ServerName https://secure.example\nUseCanonicalName On\n")
    resp = get(site.port, "/d")
    assert resp.status == 301 and resp.header("Location") == "https://secure.example/d/"


def test_a_file_served_before_is_looked_at_again_on_every_request(site, monkeypatch):
    """Repeated paths take the fast path (a GIL-keeping statx, the cached entry): a changed, replaced,
    or removed file must still be noticed at once, as Apache stats on every request."""
    path = site.write("page.txt", "first\n", mtime=1_600_000_000)
    site.start(BASIC.replace("Options Indexes", "Options Indexes FollowSymLinks"))   # (the fast path needs it)
    first = get(site.port, "/page.txt")
    assert first.status == 200 and first.body == b"first\n"
    looked = []
    real_file_key = quickcalls.file_key
    monkeypatch.setattr(quickcalls, "file_key", lambda p: looked.append(p) or real_file_key(p))
    assert get(site.port, "/page.txt").header("ETag") == first.header("ETag")
    assert looked == [os.fsencode(path)]                                          # a fast-path hit
    site.write("page.txt", "other\n", mtime=1_600_000_001)                        # same size, new mtime
    changed = get(site.port, "/page.txt")
    assert changed.body == b"other\n" and changed.header("ETag") != first.header("ETag")
    site.write("page.txt", "much longer now\n", mtime=1_600_000_001)              # new size, same mtime
    assert get(site.port, "/page.txt").body == b"much longer now\n"
    os.remove(path)
    assert get(site.port, "/page.txt").status == 404
    os.mkdir(path)
    moved = get(site.port, "/page.txt")
    assert moved.status == 301 and moved.header("Location").endswith("/page.txt/")
    os.rmdir(path)
    os.symlink(site.write("target.txt", "through a link\n"), path)                 # FollowSymLinks is on
    assert get(site.port, "/page.txt").body == b"through a link\n"


def test_the_fast_path_without_statx_asks_os_stat(site, monkeypatch):
    """Where the GIL-keeping statx is unavailable (not Linux, an old libc) the fast path takes os.stat."""
    site.write("page.txt", "first\n", mtime=1_600_000_000)
    site.start(BASIC.replace("Options Indexes", "Options Indexes FollowSymLinks"))
    assert get(site.port, "/page.txt").body == b"first\n"
    monkeypatch.setattr(quickcalls, "STATX_AVAILABLE", False)
    assert quickcalls.file_key(b"/") is None
    site.write("page.txt", "second\n", mtime=1_600_000_001)
    assert get(site.port, "/page.txt").body == b"second\n"
