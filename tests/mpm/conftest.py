"""Fixtures for the engine tests (the helpers are in mpm_helpers.py).

tests/mpm is a package (it has an __init__.py) so that this file is imported as `mpm.conftest`, not as a
top-level `conftest` that would shadow another area's conftest when the whole suite runs."""
from __future__ import annotations

import pytest

from .mpm_helpers import Server


@pytest.fixture
def make_server(tmp_path):
    servers: list[Server] = []

    def make(**mpm) -> Server:
        s = Server(tmp_path / f"s{len(servers)}", **mpm)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop(5)
        s.kill_everything()
