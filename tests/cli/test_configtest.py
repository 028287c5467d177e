"""`httpdw configtest` / `-t` / `-k configtest`: every exit code, every format, the samples, the man page."""
from __future__ import annotations

import json
import os
import re

import pytest

from httpdw.cli import command
from httpdw.config.diagnostics import CODES

from cli_helpers import REPO, SAMPLES, minimal, run_inprocess, run_process


def codes_in(text: str) -> list[str]:
    return re.findall(r"\[((?:AH|HDW)\d{4,5})\]", text)


# --------------------------------------------------------------------------- verdicts and exit codes

def test_clean_config_says_syntax_ok(server_root, write_conf):
    conf = write_conf(minimal(server_root, "ThreadsPerChild 25\nMaxRequestWorkers 150\n"))
    run = run_inprocess("-f", conf, "configtest")
    assert run.code == 0, run.output
    assert run.stderr.splitlines()[-1] == "Syntax OK"
    assert run.stdout == ""


@pytest.mark.parametrize("args", [["configtest"], ["-t"], ["-k", "configtest"]])
def test_three_spellings_are_the_same_command(server_root, write_conf, args):
    conf = write_conf(minimal(server_root, "MaxRequestWorkers 160\n"))
    run = run_inprocess("-f", conf, *args)
    assert run.code == 0
    assert codes_in(run.stderr) == ["AH00316"]
    assert run.stderr.rstrip().endswith("Syntax OK")


def test_warnings_pass_but_fail_with_strict(server_root, write_conf):
    conf = write_conf(minimal(server_root, "StartServers 0\n"))
    assert run_inprocess("-f", conf, "-t").code == 0
    strict = run_inprocess("-f", conf, "-t", "--strict")
    assert strict.code == 1
    assert "(--strict: warnings fail)" in strict.stderr
    # Apache's meaning of Syntax OK (no error) is kept even when --strict fails the run
    assert strict.stderr.rstrip().endswith("Syntax OK")


def test_errors_exit_1_and_every_error_is_reported(server_root, write_conf):
    conf = write_conf(minimal(server_root, "ThreadsPerChlid 25\nStartServers 1 2\n<VirtualHost *:80>\n"
                                           "ThreadLimit 10\n</VirtualHost>\n"))
    run = run_inprocess("-f", conf, "configtest")
    assert run.code == 1
    assert codes_in(run.stderr) == ["HDW0101", "HDW0103", "HDW0102"]
    assert "did you mean 'ThreadsPerChild'?" in run.stderr
    assert "StartServers takes one argument" in run.stderr
    assert "ThreadLimit cannot occur within <VirtualHost> section" in run.stderr
    assert "Syntax OK" not in run.stderr


def test_usage_errors_exit_2():
    assert run_inprocess("-t", "--format", "xml").code == 2
    assert run_inprocess("-k", "bogus").code == 2
    assert run_inprocess("--no-such-option").code == 2


def test_positions_caret_and_hint(server_root, write_conf):
    conf = write_conf(minimal(server_root, "  ThreadsPerChild 25x\n"))
    run = run_inprocess("-f", conf, "-t")
    assert run.code == 0
    assert f"{conf}:6:3: warning: [HDW0111]" in run.stderr
    assert "    6 |   ThreadsPerChild 25x\n      |   ^\n" in run.stderr
    assert "hint:" in run.stderr


def test_no_listen_is_shown_but_does_not_fail(server_root, write_conf):
    conf = write_conf(f"ServerRoot {server_root}\nErrorLog logs/error_log\nServerName localhost\n")
    run = run_inprocess("-f", conf, "-t")
    assert run.code == 0
    assert "note: [AH00015] a start would fail: no listening sockets available" in run.stderr
    assert run.stderr.rstrip().endswith("Syntax OK")


# --------------------------------------------------------------------------- options that feed the loader

def test_define_and_directives_before_after(server_root, write_conf):
    conf = write_conf(minimal(server_root, "MaxRequestWorkers 800\n<IfDefine BIG>\nThreadsPerChild 50\n</IfDefine>\n"))
    assert codes_in(run_inprocess("-f", conf, "-t", "-D", "BIG").stderr) == []
    # -c comes after the config: it wins over the file's value
    run = run_inprocess("-f", conf, "-t", "-D", "BIG", "-c", "MaxRequestWorkers 120")
    # 100 threads = 2 children of 50: the default StartServers 3 is then capped at start too
    assert codes_in(run.stderr) == ["AH00316", "HDW0202"]
    assert "MaxRequestWorkers of 120 is not an integer multiple of ThreadsPerChild of 50" in run.stderr
    # -C comes first: the file's ThreadsPerChild 50 wins over it
    run = run_inprocess("-f", conf, "-t", "-D", "BIG", "-C", "ThreadsPerChild 30", "--format", "json")
    assert json.loads(run.stdout)["effective"]["ThreadsPerChild"] == 50
    # ...and Apache 2.0 would have checked MaxRequestWorkers 800 against that first ThreadsPerChild 30
    assert [d["code"] for d in json.loads(run.stdout)["diagnostics"]] == ["HDW0201"]


def test_server_root_option_resolves_relative_config(server_root, write_conf):
    write_conf(minimal(server_root), name="conf/site.conf")
    run = run_inprocess("-d", str(server_root), "-f", "conf/site.conf", "-t")
    assert run.code == 0, run.output


def test_envvars_file_feeds_variables(server_root, write_conf):
    env_file = server_root / "envvars"
    env_file.write_text(f"# Debian style\nexport HDW_TEST_LOG_DIR={server_root}/logs\nexport HDW_TEST_TPC=50\n")
    conf = write_conf(minimal(server_root, "MaxRequestWorkers 400\nThreadsPerChild ${HDW_TEST_TPC}\n"
                                           "CustomLog ${HDW_TEST_LOG_DIR}/access_log common\n"))
    run = run_inprocess("-f", conf, "-t", "--envvars", str(env_file))
    assert run.code == 0, run.output
    assert "HDW_TEST_TPC" not in run.stderr          # defined: no AH00111/HDW0006 warning
    assert "HDW_TEST_TPC" not in os.environ          # and the process environment is untouched
    run = run_inprocess("-f", conf, "-t")
    assert "HDW_TEST_TPC" in run.stderr              # without the file it is undefined


def test_missing_envvars_file_is_an_error(server_root, write_conf):
    conf = write_conf(minimal(server_root))
    run = run_inprocess("-f", conf, "-t", "--envvars", str(server_root / "nope"))
    assert run.code == 1 and "envvars" in run.stderr and "Traceback" not in run.output


# --------------------------------------------------------------------------- formats

def test_json_document_on_stdout_only(server_root, write_conf):
    conf = write_conf(minimal(server_root, "ThreadsPerChild 30\nMaxRequestWorkers 1000\n"))
    run = run_inprocess("-f", conf, "-t", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    doc = json.loads(run.stdout)
    assert doc["verdict"] == "ok" and doc["syntax_ok"] is True
    assert [d["code"] for d in doc["diagnostics"]] == ["AH00316", "AH00318"]
    assert doc["diagnostics"][0]["file"] == conf and doc["diagnostics"][0]["line"] == 7
    assert doc["effective"]["MaxRequestWorkers"] == 990 and doc["effective"]["daemons_limit"] == 16
    assert doc["effective"]["max_threads"] == 480
    assert doc["effective"]["Listen"] == [{"host": "127.0.0.1", "port": 18080, "proto": "http"}]
    assert [a["code"] for a in doc["adjustments"]] == ["AH00316", "AH00318"]
    assert doc["files"] == [conf]


def test_json_with_errors(server_root, write_conf):
    conf = write_conf(minimal(server_root, "Bogus 1\n"))
    run = run_inprocess("-f", conf, "-t", "--format", "json")
    doc = json.loads(run.stdout)
    assert run.code == 1 and doc["verdict"] == "errors" and doc["effective"] is None
    assert doc["diagnostics"][0]["code"] == "HDW0101"


def test_json_strict_verdict_matches_exit_code(server_root, write_conf):
    conf = write_conf(minimal(server_root, "StartServers 0\n"))
    run = run_inprocess("-f", conf, "-t", "--format", "json", "--strict")
    doc = json.loads(run.stdout)
    assert run.code == 1 and doc["verdict"] == "errors" and doc["syntax_ok"] is True and doc["strict"] is True


def test_github_annotations(server_root, write_conf):
    conf = write_conf(minimal(server_root, "Bogus 1\nMaxRequestWorkers 160\n"))
    run = run_inprocess("-f", conf, "-t", "--format", "github")
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"::error file={conf},line=6,col=1,title=HDW0101::Invalid command 'Bogus'")
    assert lines[1].startswith(f"::warning file={conf},line=7,col=1,title=AH00316::")


def test_effective_table_on_stdout(server_root, write_conf):
    conf = write_conf(minimal(server_root, "ServerLimit 4\nMaxRequestWorkers 160\nMaxSpareThreads 10\n"
                                           "MinSpareThreads 0\n"))
    run = run_inprocess("-f", conf, "-t", "--effective")
    assert run.code == 0
    rows = {ln.split("  ")[0]: ln for ln in run.stdout.splitlines()}
    assert "AH00316 rule 8" in rows["MaxRequestWorkers"] and "150" in rows["MaxRequestWorkers"]
    children = next(ln for ln in run.stdout.splitlines() if ln.startswith("children limit"))
    assert "AH00318 rule 9" in children
    assert "HDW0202 rule S4" in rows["MaxSpareThreads"] and " 27 " in rows["MaxSpareThreads"]
    assert "AH00322 rule 11" in rows["MinSpareThreads"]
    assert "127.0.0.1:18080" in run.stdout


def test_colour_on_a_terminal_only(server_root, write_conf):
    conf = write_conf(minimal(server_root, "StartServers 0\n"))
    assert "\x1b[" not in run_inprocess("-f", conf, "-t").stderr
    forced = run_process("-f", conf, "-t", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stderr
    assert "\x1b[" not in run_process("-f", conf, "-t", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stderr


# --------------------------------------------------------------------------- the samples

def test_sample_quick_start_config_is_clean():
    run = run_inprocess("-d", str(SAMPLES), "-f", "httpd.conf", "-t", "--strict", "--format", "json")
    doc = json.loads(run.stdout)
    assert run.code == 0, doc["diagnostics"]
    assert doc["diagnostics"] == [] and doc["start_errors"] == []
    eff = doc["effective"]
    assert (eff["ServerLimit"], eff["StartServers"], eff["MaxRequestWorkers"], eff["MinSpareThreads"],
            eff["MaxSpareThreads"], eff["ThreadsPerChild"]) == (16, 2, 150, 25, 75, 25)
    assert eff["Listen"] == [{"host": "127.0.0.1", "port": 8080, "proto": "http"}]
    assert eff["PidFile"] == str(SAMPLES / "logs" / "httpd.pid")


def test_sample_2_0_config_loads_and_explains_the_order():
    run = run_inprocess("-d", str(SAMPLES), "-f", "worker-2.0.conf", "-t", "--format", "json")
    doc = json.loads(run.stdout)
    assert run.code == 0, doc["diagnostics"]
    assert [d["code"] for d in doc["diagnostics"] if d["code"] == "HDW0201"] == ["HDW0201", "HDW0201"]
    for d in (d for d in doc["diagnostics"] if d["code"] == "HDW0201"):
        assert d["related"], "an ordering warning names both lines"
    eff = doc["effective"]
    assert (eff["ThreadsPerChild"], eff["MaxRequestWorkers"], eff["daemons_limit"]) == (100, 2000, 20)
    assert eff["AcceptMutex"] == "fcntl" and eff["LockFile"] == str(SAMPLES / "logs" / "accept.lock")
    assert eff["MaxConnectionsPerChild"] == 10000


def test_sample_mistakes_config_shows_each_kind():
    run = run_inprocess("-d", str(SAMPLES), "-f", "mistakes.conf", "-t")
    assert run.code == 1
    found = set(codes_in(run.stderr))
    assert {"HDW0101", "HDW0111", "AH00316", "AH00318", "AH00322", "HDW0202", "HDW0103", "HDW0102",
            "HDW0104"} <= found
    assert "Syntax OK" not in run.stderr


# --------------------------------------------------------------------------- as a real process

def test_real_process_exit_codes_and_streams(server_root, write_conf):
    good = write_conf(minimal(server_root))
    bad = write_conf(minimal(server_root, "Nonsense here\n"), name="bad.conf")
    ok = run_process("-f", good, "configtest")
    assert ok.code == 0 and ok.stderr.strip() == "Syntax OK" and ok.stdout == ""
    fail = run_process("-f", bad, "-t")
    assert fail.code == 1 and "[HDW0101]" in fail.stderr and "Traceback" not in fail.output
    usage = run_process("-t", "--format", "yaml")
    assert usage.code == 2


# --------------------------------------------------------------------------- the man page

def test_man_page_describes_every_option_and_code():
    page = (REPO / "man" / "httpdw.1").read_text()
    text = page.replace("\\-", "-")
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("-"):
                assert re.search(rf"\.(?:B|BI|BR|TP)[^\n]*{re.escape(opt)}\b", text) or opt in text, opt
    for code in CODES:
        assert f".B {code}" in page, f"{code} missing from man/httpdw.1"
    for action in ("start", "stop", "restart", "graceful", "graceful-stop", "configtest"):
        assert f".B {action}".replace("-", "\\-") in page
