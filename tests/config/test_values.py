"""The value parsers: C atoi/strtol exactly as glibc, and the messages of each parser."""
from __future__ import annotations

import os

import pytest
from hypothesis import given, strategies as st

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.tree import Node
from httpdw.config import values


def node(name: str, args: str = "") -> Node:
    return Node(name, args, Pos("test.conf", 7, 1))


# --------------------------------------------------------------------------- atoi (spec 1.2)

@pytest.mark.parametrize("text,expected", [
    ("25", 25), ("  25", 25), ("\t25", 25), ("+25", 25), ("-25", -25), ("007", 7),
    ("abc", 0), ("0x10", 0), ("", 0), ("2.5", 2), ("1e3", 1), ("5abc", 5), ("100#x", 100),
    ("10 0", 10), ("٣", 0), ("- 5", 0), ("--5", 0),
    ("2147483647", 2147483647), ("2147483648", -2147483648), ("4294967296", 0),
    ("99999999999", 1215752191), ("99999999999999999999", -1), ("-2147483649", 2147483647),
    ("-99999999999999999999", 0),
])
def test_atoi_matches_glibc(text: str, expected: int) -> None:
    assert values.c_atoi(text) == expected


@given(st.integers(min_value=-(2 ** 70), max_value=2 ** 70))
def test_atoi_of_any_integer_is_saturated_then_truncated(n: int) -> None:
    saturated = max(values.LONG_MIN, min(values.LONG_MAX, n))
    low = saturated & 0xFFFFFFFF
    assert values.c_atoi(str(n)) == (low - 2 ** 32 if low >= 2 ** 31 else low)


@given(st.text(max_size=40))
def test_atoi_never_raises_and_stays_in_int_range(text: str) -> None:
    assert values.INT_MIN <= values.c_atoi(text) <= values.INT_MAX


def test_strtol_reports_overflow() -> None:
    assert values.c_strtol("99999999999999999999") == (values.LONG_MAX, True)
    assert values.c_strtol("-99999999999999999999") == (values.LONG_MIN, True)
    assert values.c_strtol("12kb") == (12, False)


# --------------------------------------------------------------------------- HDW0111

@pytest.mark.parametrize("text,warns", [("25", False), (" 25 ", False), ("+3", False), ("-3", False),
                                        ("25x", True), ("2.5", True), ("abc", True), ("", True),
                                        ("2147483648", True), ("2147483647", False)])
def test_atoi_value_warns_when_not_a_plain_integer(text: str, warns: bool) -> None:
    diags = Diagnostics()
    result = values.atoi_value([text], node("ThreadsPerChild", text), diags)
    assert result == values.c_atoi(text)
    assert [d.code for d in diags] == (["HDW0111"] if warns else [])
    if warns:
        assert f"as {result}" in diags.items[0].message
        assert diags.items[0].pos == Pos("test.conf", 7, 1)
        assert not diags.has_errors()


# --------------------------------------------------------------------------- minimum checks

def test_atoi_min_uses_apaches_message() -> None:
    parse = values.atoi_min(1, "ListenBacklog must be > 0")
    diags = Diagnostics()
    assert parse(["0"], node("ListenBacklog"), diags) == 0
    assert [d.message for d in diags.errors] == ["ListenBacklog must be > 0"]
    diags = Diagnostics()
    assert parse(["abc"], node("ListenBacklog"), diags) == 0
    assert [d.message for d in diags.errors] == ["ListenBacklog must be > 0"]   # so `abc` is an error


@pytest.mark.parametrize("text,error", [("0", False), ("512", False), ("511", True), ("-1", True),
                                        ("abc", False), ("100000", False)])
def test_buffer_size_allows_zero(text: str, error: bool) -> None:
    parse = values.atoi_min(512, "{name} must be >= 512 bytes, or 0 for system default.", allow_zero=True)
    diags = Diagnostics()
    parse([text], node("SendBufferSize"), diags)
    assert [d.message for d in diags.errors] == (
        ["SendBufferSize must be >= 512 bytes, or 0 for system default."] if error else [])


@pytest.mark.parametrize("text,value,error", [("2048", 2048, False), ("abc", 0, False), ("-1", 0, True),
                                              (" -5", 0, True), ("-0x1", 0, False),
                                              ("99999999999999999999", 0, True)])
def test_strtol_nonneg(text: str, value: int, error: bool) -> None:
    diags = Diagnostics()
    assert values.strtol_nonneg([text], node("MaxMemFree"), diags) == value
    assert [d.message for d in diags.errors] == ([f"Invalid MaxMemFree value: {text}"] if error else [])


# --------------------------------------------------------------------------- other parsers

def test_flag_and_on_off_word() -> None:
    diags = Diagnostics()
    assert values.flag(["ON"], node("KeepAlive"), diags) is True
    assert values.flag(["off"], node("KeepAlive"), diags) is False
    assert values.on_off_word(["On"], node("EnableExceptionHook"), diags) is True
    assert not diags.items
    assert values.on_off_word(["maybe"], node("EnableExceptionHook"), diags) is False
    assert [d.message for d in diags.errors] == ["parameter must be 'on' or 'off'"]


def test_paths_are_server_root_relative(tmp_path) -> None:
    with values.using_context(str(tmp_path)):
        assert values.path_value(["logs/x.pid"], node("PidFile"), Diagnostics()) == str(tmp_path / "logs/x.pid")
        assert values.path_value(["/abs/x.pid"], node("PidFile"), Diagnostics()) == "/abs/x.pid"
    assert values.server_root() == "/etc/httpdw"   # restored after the block


def test_existing_directory_messages(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    os.mkdir(tmp_path / "dir")
    with values.using_context(str(tmp_path)):
        for arg, message in [("dir", None), ("nope", f"CoreDumpDirectory {tmp_path}/nope does not exist"),
                             ("file", f"CoreDumpDirectory {tmp_path}/file is not a directory")]:
            diags = Diagnostics()
            values.existing_directory([arg], node("CoreDumpDirectory"), diags)
            assert [d.message for d in diags.errors] == ([message] if message else [])


def test_size_value() -> None:
    diags = Diagnostics()
    assert values.size_value(["1024"], node("LimitRequestBody"), diags) == 1024
    assert not diags.items
    assert values.size_value(["1k"], node("LimitRequestBody"), diags) == 0
    assert diags.errors and "1k" in diags.errors[0].message


def test_choice_canonicalises_and_reports() -> None:
    parse = values.choice("default", "fcntl", message="{arg} is an invalid mutex mechanism")
    diags = Diagnostics()
    assert parse(["FCNTL"], node("AcceptMutex"), diags) == "fcntl"
    parse(["bogus"], node("AcceptMutex"), diags)
    assert [d.message for d in diags.errors] == ["bogus is an invalid mutex mechanism"]


def test_module_loaded_accepts_apache_spellings() -> None:
    with values.using_context("/", {"ssl_module"}):
        assert values.module_loaded("ssl") and values.module_loaded("mod_ssl.c")
        assert values.module_loaded("ssl_module") and values.module_loaded("core")
        assert values.module_loaded("mpm_worker")
        assert not values.module_loaded("rewrite")


def test_apaches_constant_names_whatever_the_case_in_the_file() -> None:
    diags = Diagnostics()
    values.atoi_min(512, "{name} must be >= 512 bytes, or 0 for system default.", allow_zero=True)(
        ["5"], node("sendbuffersize"), diags)
    values.strtol_nonneg(["-1"], node("MAXMEMFREE"), diags)
    values.existing_directory(["/no/such"], node("coredumpdirectory"), diags)
    assert [d.message for d in diags.errors] == ["SendBufferSize must be >= 512 bytes, or 0 for system default.",
                                                 "Invalid MaxMemFree value: -1",
                                                 "CoreDumpDirectory /no/such does not exist"]
