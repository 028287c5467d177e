"""The packaging facts that a wheel depends on (a wheel must work when the repository is gone)."""
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_is_listed_in_pyproject():
    """Packages are listed by hand (httpdw.grammar is mapped from ./grammar): a new one must be added."""
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "httpdw").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert "httpdw.grammar" in listed


def test_grammar_and_data_ship_as_package_data():
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"]["httpdw.grammar"] == "grammar"
    assert "*.lark" in setuptools["package-data"]["httpdw.grammar"]
    assert (ROOT / "grammar" / "httpd.lark").is_file()
    data = {p.name for p in (ROOT / "httpdw" / "data").iterdir()}
    assert {"apache_directives.tsv", "mime.types"} <= data


def test_grammar_is_loaded_from_the_installed_package():
    import importlib.util
    from importlib.resources import files

    import pytest

    if importlib.util.find_spec("httpdw.grammar") is None:
        pytest.skip("httpdw is imported from the checkout, not installed (the README's command installs it)")

    assert "start:" in files("httpdw.grammar").joinpath("httpd.lark").read_text()
