import argparse

import pytest

import run


def test_comma_list_dedups_and_rejects_unknown_names():
    parse = run.comma_list(("W1", "W2", "W3"))
    assert parse("W3, W1,W3") == ["W3", "W1"]
    with pytest.raises(argparse.ArgumentTypeError):
        parse("W1,W9")
    with pytest.raises(argparse.ArgumentTypeError):
        parse(" , ")


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--quick", "--duration", "0"],
                                  ["--profile", "W1", "--profile-duration", "0"]])
def test_out_of_range_values_exit_2_before_anything_starts(argv, capsys):
    assert run.main(argv) == 2
    assert "must be between" in capsys.readouterr().out


def test_missing_tools_follow_the_workloads(monkeypatch):
    monkeypatch.setattr(run.shutil, "which", lambda tool: None)
    assert run.missing_tools(["W6"]) == []
    assert run.missing_tools(["W2"]) == ["ab"]
    assert run.missing_tools(["W1", "W2"]) == ["ab", "wrk"]


@pytest.mark.parametrize("content", [None, "not json", '{"cells": []}', "[1, 2]"])
def test_rerender_of_a_missing_or_foreign_results_file_exits_2_with_a_line(tmp_path, capsys, content):
    if content is not None:
        (tmp_path / "results.json").write_text(content)
    assert run.main(["--rerender", str(tmp_path)]) == 2
    assert "--rerender:" in capsys.readouterr().out
