"""Fixtures for tests/http; the shared helpers live in http_helpers.py.

(They are not imported from `conftest`: several test areas have a conftest.py, and `import conftest`
would get whichever was loaded first.)"""
import pytest

from http_helpers import Site


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.close()
    assert not (s.server and s.server.errors), s.server.errors
