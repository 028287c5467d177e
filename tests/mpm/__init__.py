"""Engine tests (a package: see conftest.py)."""
