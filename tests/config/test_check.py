"""load_config: a config file all the way to the validated, immutable model."""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
from pathlib import Path

import pytest

from httpdw.config.check import ConfigResult, load_config
from httpdw.config.model import Listener

MODULES = "/usr/lib/apache2/modules"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


def write(root: Path, text: str, name: str = "httpd.conf") -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def load(root: Path, body: str, **kw) -> ConfigResult:
    return load_config(write(root, f"ServerRoot {root}\nListen 127.0.0.1:18080\n" + body), **kw)


def codes(result: ConfigResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def test_model_of_a_plain_config(root):
    result = load(root, "ServerLimit 8\nThreadsPerChild 20\nMaxRequestWorkers 160\nStartServers 2\n"
                        "MinSpareThreads 20\nMaxSpareThreads 60\nMaxConnectionsPerChild 1000\n"
                        "GracefulShutdownTimeout 7\nListenBacklog 128\nPidFile run/httpd.pid\n"
                        "ErrorLog logs/err.log\nLogLevel info core:debug\nServerName www.example.test\n")
    assert result.ok and result.can_start and codes(result) == []
    config = result.config
    mpm = config.mpm
    assert (mpm.server_limit, mpm.threads_per_child, mpm.max_request_workers, mpm.daemons_limit) == (8, 20, 160, 8)
    assert (mpm.start_servers, mpm.min_spare_threads, mpm.max_spare_threads) == (2, 20, 60)
    assert (mpm.max_connections_per_child, mpm.graceful_shutdown_timeout, mpm.listen_backlog) == (1000, 7, 128)
    assert mpm.listeners == (Listener("127.0.0.1", 18080, "http", mpm.listeners[0].pos),)
    assert mpm.pid_file == str(root / "run" / "httpd.pid")
    assert mpm.core_dump_directory == str(root)
    assert config.error_log == str(root / "logs" / "err.log")
    assert config.log_level == "info core:debug"      # main level, then the per-module ones
    assert config.server_name == "www.example.test"
    assert config.server_root == str(root)
    assert result.files == [str(root / "httpd.conf")]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mpm.server_limit = 1   # the model is immutable


def test_defaults(root):
    result = load(root, "")
    mpm = result.config.mpm
    assert (mpm.server_limit, mpm.thread_limit, mpm.threads_per_child, mpm.max_request_workers,
            mpm.daemons_limit, mpm.start_servers, mpm.min_spare_threads, mpm.max_spare_threads) == \
           (16, 64, 25, 400, 16, 3, 75, 250)
    assert mpm.pid_file == str(root / "logs" / "httpd.pid")
    assert result.config.error_log == str(root / "logs" / "error_log")
    assert result.config.log_level == "warn"
    assert mpm.accept_mutex == "default" and mpm.lock_file is None


def test_worker_rules_are_applied_and_reported_at_the_lines(root):
    result = load(root, "ThreadsPerChild 30\nMaxRequestWorkers 1000\n")
    assert codes(result) == ["AH00316", "AH00318"]
    assert result.diagnostics.items[0].pos.line == 4
    assert result.config.mpm.max_request_workers == 990 and result.config.mpm.daemons_limit == 16
    assert [a.code for a in result.config.mpm.adjustments] == ["AH00316", "AH00318"]


def test_restart_variant_and_first_limits(root):
    result = load(root, "ServerLimit 6\nThreadLimit 40\nThreadsPerChild 10\nMaxRequestWorkers 60\n",
                  startup=False, first_limits=(4, 32))
    assert codes(result) == ["AH00304", "AH00309", "AH00319"]
    assert (result.config.mpm.server_limit, result.config.mpm.thread_limit) == (4, 32)


def test_directive_order_never_changes_the_model(root):
    lines = ["ThreadsPerChild 100", "MaxRequestWorkers 1000", "ThreadLimit 128", "ServerLimit 40"]
    seen = set()
    for perm in itertools.permutations(lines):
        mpm = load(root, "\n".join(perm) + "\n").config.mpm
        seen.add((mpm.threads_per_child, mpm.max_request_workers, mpm.daemons_limit, mpm.thread_limit))
    assert seen == {(100, 1000, 10, 128)}


def test_2_0_order_warning_names_lines_in_two_files(root):
    write(root, "ThreadsPerChild 100\n", name="conf.d/mpm.conf")
    result = load(root, "Include conf.d/mpm.conf\nThreadLimit 128\nMaxRequestWorkers 1600\n")
    [d] = [d for d in result.diagnostics if d.code == "HDW0201"]
    assert d.pos.file == str(root / "conf.d" / "mpm.conf") and d.pos.line == 1
    assert d.related[0].file == str(root / "httpd.conf") and d.related[0].line == 4
    assert result.ok


def test_errors_leave_no_model(root):
    result = load(root, "ThreadsPerChild 1 2\n")
    assert not result.ok and result.config is None and not result.can_start
    assert codes(result) == ["HDW0103"]


def test_no_listen_is_a_start_error_only(root):
    result = load_config(write(root, f"ServerRoot {root}\n"))
    assert result.ok and result.config is not None
    assert not result.can_start
    assert [d.code for d in result.start_errors] == ["AH00015"]


def test_accept_mutex_2_0_and_2_4(root):
    result = load(root, "AcceptMutex flock\nLockFile logs/accept.lock\n")
    assert result.ok
    assert (result.config.mpm.accept_mutex, result.config.mpm.lock_file) == ("flock", str(root / "logs/accept.lock"))
    (root / "locks").mkdir()
    result = load(root, f"AcceptMutex flock\nMutex fcntl:{root}/locks mpm-accept\n")
    assert (result.config.mpm.accept_mutex, result.config.mpm.lock_file) == ("fcntl", str(root / "locks"))
    result = load(root, "Mutex sysvsem\n")
    assert result.config.mpm.accept_mutex == "sysvsem"


def test_user_group_scoreboard_coredump(root):
    (root / "cores").mkdir()
    result = load(root, "User nobody\nGroup nogroup\nScoreBoardFile logs/sb\nCoreDumpDirectory cores\n")
    assert result.ok, [d.message for d in result.diagnostics]
    mpm = result.config.mpm
    assert (mpm.user, mpm.group) == ("nobody", "nogroup")
    assert mpm.scoreboard_file == str(root / "logs" / "sb")
    assert mpm.core_dump_directory == str(root / "cores")


def test_loglevel_lines_accumulate(root):
    result = load(root, "LogLevel info mpm_worker:debug\nLogLevel error core:info mpm_worker:warn\n")
    assert result.config.log_level == "error mpm_worker:warn core:info"


def test_piped_error_log_is_kept_as_written(root):
    assert load(root, "ErrorLog \"|/usr/bin/logger -t httpdw\"\n").config.error_log == "|/usr/bin/logger -t httpdw"


def test_other_mpm_is_reported_once(root):
    result = load(root, f"LoadModule mpm_event_module {MODULES}/mod_mpm_event.so\n")
    assert codes(result).count("HDW0110") == 1
    assert result.ok


def test_buckets_raise_the_floors(root):
    cpus = os.cpu_count() or 1
    result = load(root, "ListenCoresBucketsRatio 1\nStartServers 1\nThreadsPerChild 10\nMaxRequestWorkers 10\n")
    if cpus == 1:
        assert result.config.mpm.start_servers == 1
    else:
        assert result.config.mpm.daemons_limit == cpus and result.config.mpm.start_servers == cpus
        assert "HDW0202" in codes(result)


def test_virtualhost_values_do_not_feed_the_worker_rules(root):
    result = load(root, "<VirtualHost *:80>\nServerName a.test\n</VirtualHost>\nThreadsPerChild 50\n")
    assert result.ok and result.config.mpm.threads_per_child == 50


def test_envvars_values_reach_variables_without_touching_the_environment(root):
    env_file = root / "envvars"
    env_file.write_text("export HDW_CHECK_TPC=50\nexport HDW_CHECK_DIR=logs\n")
    result = load(root, "MaxRequestWorkers 400\nThreadsPerChild ${HDW_CHECK_TPC}\nPidFile ${HDW_CHECK_DIR}/x.pid\n", envvars=str(env_file))
    assert result.ok and codes(result) == []
    assert result.config.mpm.threads_per_child == 50
    assert result.config.mpm.pid_file == str(root / "logs" / "x.pid")
    assert "HDW_CHECK_TPC" not in os.environ


def test_missing_envvars_file(root):
    result = load(root, "", envvars=str(root / "nope"))
    assert not result.ok and "HDW0001" in codes(result)


def test_defines_and_extra_directives(root):
    conf = write(root, f"ServerRoot {root}\nListen 8080\n<IfDefine TUNED>\nThreadsPerChild 50\n</IfDefine>\n")
    assert load_config(conf, defines=["TUNED"]).config.mpm.threads_per_child == 50
    assert load_config(conf).config.mpm.threads_per_child == 25
    assert load_config(conf, directives_after=["ThreadsPerChild 10", "MaxRequestWorkers 100"]).config.mpm.daemons_limit == 10
    assert load_config(conf, defines=["TUNED"], directives_before=["ThreadsPerChild 10"]).config.mpm.threads_per_child == 50


def test_site_problems_are_configtest_errors(tmp_path):
    """A section regex Python cannot compile stops the server at start, so configtest must say so."""
    conf = tmp_path / "site.conf"
    conf.write_text(f'Listen 127.0.0.1:8080\nDocumentRoot "{tmp_path}"\n'
                    '<FilesMatch "(?<=x">\n    Require all denied\n</FilesMatch>\n')
    result = load_config(str(conf), server_root=str(tmp_path))
    assert result.config is None
    [err] = result.diagnostics.errors
    assert err.code == "HDW0104" and err.pos.line == 3
    assert "could not be compiled" in err.message


def test_htaccess_under_allowoverride_warns_and_site_is_built_once(tmp_path):
    www = tmp_path / "www"
    (www / "priv").mkdir(parents=True)
    (www / "priv" / ".htaccess").write_text("Require all denied\n")
    conf = tmp_path / "h.conf"
    conf.write_text(f'Listen 127.0.0.1:8080\nDocumentRoot "{www}"\n'
                    f'<Directory "{www}">\n    AllowOverride All\n    Require all granted\n</Directory>\n')
    result = load_config(str(conf), server_root=str(tmp_path))
    assert result.config is not None and result.config.site is not None
    [warn] = [d for d in result.diagnostics.warnings if d.code == "HDW0113"]
    assert warn.pos.line == 3
    assert str(www / "priv" / ".htaccess") in warn.message and f"below {www / 'priv'} will answer 500" in warn.message
    # no .htaccess, or AllowOverride None: no warning
    conf.write_text(conf.read_text().replace("AllowOverride All", "AllowOverride None"))
    assert not [d for d in load_config(str(conf), server_root=str(tmp_path)).diagnostics if d.code == "HDW0113"]


def test_accept_filters_become_tcp_defer_accept_per_protocol(root):
    # Apache on Linux: http and https get the 'data' filter (TCP_DEFER_ACCEPT, ListenTCPDeferAccept s)
    assert load(root, "").config.mpm.defer_accept == (("http", 30), ("https", 30))
    mpm = load(root, "ListenTCPDeferAccept 5\nAcceptFilter https none\nAcceptFilter ftp data\n").config.mpm
    assert (mpm.defer_accept_for("http"), mpm.defer_accept_for("https"), mpm.defer_accept_for("ftp")) == (5, 0, 5)
    assert mpm.defer_accept_for("gopher") == 0          # a protocol without a filter: accepted at once
    assert load(root, "AcceptFilter http none\n").config.mpm.defer_accept_for("http") == 0
    bad = load(root, "ListenTCPDeferAccept 0\n")
    assert not bad.ok and [d.message for d in bad.diagnostics if d.is_error] == ["ListenTCPDeferAccept must be > 0"]


def test_if_blocks_are_warned_as_failing_closed(root):
    result = load(root, f'DocumentRoot "{root}"\n<If "%{{HTTP_HOST}} == \'a\'">\n    Require all denied\n</If>\n'
                        '<Else>\n    Require all granted\n</Else>\n')
    assert result.ok and result.config is not None      # a warning: the server starts, these requests get 500
    warns = [d for d in result.diagnostics.warnings if d.code == "HDW0114"]
    assert [w.pos.line for w in warns] == [4, 7] and "answer 500" in warns[0].message


@pytest.mark.parametrize("text, seconds, warned", [
    ("30", 30.0, False),
    ("100ms", 100.0, True),          # no units for Timeout: atoi reads 100 (KeepAliveTimeout takes units)
    ("5s", 5.0, True),
    ("abc", 60.0, True),             # atoi: 0, which leaves the main server at the default
    ("-5", math.inf, False),         # negative: APR waits without limit
])
def test_timeout_is_read_as_apache_reads_it(root, text, seconds, warned):
    result = load(root, f"Timeout {text}\nKeepAliveTimeout 1500ms\n")
    assert result.config is not None, result.diagnostics
    assert result.config.site.main.timeout == seconds
    assert result.config.site.main.keep_alive_timeout == 1.5
    assert ("HDW0111" in codes(result)) == warned


@pytest.mark.parametrize("text, seconds", [("5", 5.0), ("1500ms", 1.5), ("5sec", 5.0), ("2min", 120.0),
                                           ("1h", 3600.0), ("+7", 7.0), (" 3", 3.0)])
def test_keepalive_timeout_takes_apache_units(root, text, seconds):
    result = load(root, f'KeepAliveTimeout "{text}"\n')
    assert result.config is not None, result.diagnostics
    assert result.config.site.main.keep_alive_timeout == seconds


@pytest.mark.parametrize("text", ["-5", "5S", "5m", "abc", "9223372036855", "2562047789h"])
def test_keepalive_timeout_refused_as_apache_refuses_it(root, text):
    result = load(root, f"KeepAliveTimeout {text}\n")
    assert result.config is None
    assert any(d.message == "KeepAliveTimeout has wrong format" for d in result.diagnostics)
