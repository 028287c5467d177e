"""Fixtures for the CLI tests: a temporary ServerRoot and a config writer (helpers: cli_helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def server_root(tmp_path: Path) -> Path:
    """A ServerRoot with the logs/ directory Apache-style configs expect."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "htdocs").mkdir()
    return tmp_path


@pytest.fixture
def write_conf(server_root: Path):
    """write_conf(text, name="httpd.conf") -> absolute path of the written file under the ServerRoot."""

    def write(text: str, name: str = "httpd.conf") -> str:
        path = server_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    return write
