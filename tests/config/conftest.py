"""Shared fixtures for the config tests: the public corpus trees, ready to load."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CORPUS = Path("/work/shared/corpus")
FIXTURES = Path(__file__).parent / "fixtures"


def _restore_symlinks(tree: Path) -> int:
    """The corpus stores Debian's `*-enabled` symlinks as small files holding the link target
    (`../mods-available/mime.load`); turn them back into symlinks, as on a real install."""
    restored = 0
    for enabled in tree.rglob("*-enabled"):
        for entry in enabled.iterdir():
            if entry.is_symlink() or not entry.is_file() or entry.stat().st_size > 200:
                continue
            target = entry.read_text(encoding="utf-8", errors="replace").strip()
            if target.startswith("../") and "\n" not in target and (enabled / target).is_file():
                entry.unlink()
                entry.symlink_to(target)
                restored += 1
    return restored


@pytest.fixture(scope="session")
def debian_etc(tmp_path_factory) -> Path:
    """A writable copy of Debian's /etc/apache2 from the corpus, with its symlinks restored."""
    source = CORPUS / "debian-apache2" / "etc" / "apache2"
    if not source.is_dir():
        pytest.skip("corpus not available")
    copy = tmp_path_factory.mktemp("debian") / "apache2"
    shutil.copytree(source, copy, symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert _restore_symlinks(copy) > 30
    return copy


@pytest.fixture(scope="session")
def h5bp_root() -> Path:
    root = CORPUS / "github-h5bp-server-configs-apache"
    if not root.is_dir():
        pytest.skip("corpus not available")
    return root


@pytest.fixture(scope="session")
def upstream_sample() -> Path:
    conf = CORPUS / "debian-apache2-doc" / "usr" / "share" / "doc" / "apache2" / "examples" / "apache2" / "apache2.conf"
    if not conf.is_file():
        pytest.skip("corpus not available")
    return conf
