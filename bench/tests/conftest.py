"""bench/tests: the benchmark's own pure logic. Not part of the project's pytest run (testpaths = tests);
run with `python -m pytest bench/tests`. The outputs in data/ were captured from real wrk 4.1 and ab 2.3 runs."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def data():
    return lambda name: (DATA / name).read_text()
