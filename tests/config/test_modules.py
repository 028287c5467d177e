"""The module table and Apache's <IfModule> matching."""
from __future__ import annotations

import os
import shutil

import pytest

from httpdw.config import modules
from httpdw.config.modules import ModuleStatus, is_loaded, lookup

LOADED = modules.always_loaded()
DEBIAN_MODULES = "/usr/lib/apache2/modules"


def test_lookup_by_identifier_source_file_and_so_file():
    mime = lookup("mime_module")
    assert (mime.identifier, mime.source, mime.so_file) == ("mime_module", "mod_mime.c", "mod_mime.so")
    assert lookup("mod_mime.c") is mime
    assert lookup("mod_mime.so") is mime
    assert lookup("/usr/lib/apache2/modules/mod_mime.so") is mime
    assert lookup("worker.c").identifier == "mpm_worker_module"
    assert lookup("Mime_Module") is None and lookup("nonsense") is None


def test_statuses():
    assert lookup("core_module").status is ModuleStatus.BUILTIN
    assert lookup("mpm_worker_module").status is ModuleStatus.BUILTIN
    assert lookup("log_config_module").status is ModuleStatus.BUILTIN
    for name in ("mime_module", "dir_module", "alias_module", "autoindex_module", "status_module",
                 "authz_core_module", "authz_host_module", "access_compat_module"):
        assert lookup(name).status is ModuleStatus.PROVIDED, name
    assert lookup("mpm_event_module").status is ModuleStatus.OTHER_MPM
    assert lookup("mpm_prefork_module").status is ModuleStatus.OTHER_MPM
    assert lookup("ssl_module").status is ModuleStatus.KNOWN
    assert lookup("php7_module").status is ModuleStatus.KNOWN and lookup("php7_module").third_party
    assert lookup("ldap_module").source == "util_ldap.c"


def test_always_loaded_is_builtin_plus_provided():
    assert "mime_module" in LOADED and "core_module" in LOADED and "mpm_worker_module" in LOADED
    assert "ssl_module" not in LOADED and "mpm_event_module" not in LOADED
    assert {m.identifier for m in modules.modules_provided()} == LOADED
    assert modules.builtin_modules() == LOADED


@pytest.mark.skipif(not os.path.isdir(DEBIAN_MODULES), reason="Debian's apache2 modules not installed")
def test_every_debian_shared_module_is_in_the_table():
    for so_file in os.listdir(DEBIAN_MODULES):
        if so_file.endswith(".so"):
            module = lookup(so_file)
            assert module is not None, so_file
            assert module.identifier == "mpm_" * so_file.startswith("mod_mpm_") + \
                so_file.removeprefix("mod_").removeprefix("mpm_").removesuffix(".so") + "_module"


@pytest.mark.parametrize("arg, expected", [
    ("mpm_worker_module", True),
    ("worker.c", True),
    ("mod_mpm_worker.c", False),
    ("mpm_worker", False),
    ("worker", False),
    ("WORKER.C", False),
    ("mod_mime.c", True),
    ("mime_module", True),
    ("!mod_mime.c", False),
    ("! mpm_worker_module", False),
    ("!mod_ssl.c", True),
    ("mod_ssl.c", False),
    ('"mod_mime.c"', True),
    ("mod_mime.c extra words", True),
    ("mod_ssl.c mod_mime.c", False),          # only the first word counts
    ("", False),
    ("!", True),                              # no name: never found (the loader reports it)
])
def test_ifmodule_matching(arg, expected):
    assert is_loaded(arg, LOADED) is expected


def test_loaded_by_loadmodule_matches_by_identifier_and_source():
    loaded = LOADED | {"ssl_module", "php7_module", "foo_module"}
    assert is_loaded("mod_ssl.c", loaded) and is_loaded("ssl_module", loaded)
    assert is_loaded("mod_php7.c", loaded)
    assert is_loaded("mod_foo.c", loaded)     # a module the table does not know: mod_<name>.c
    assert not is_loaded("mod_ssl.C", loaded)


def test_parse_ifmodule_arg():
    assert modules.parse_ifmodule_arg("  !  'mod_x.c' y") == (True, "mod_x.c")
    assert modules.parse_ifmodule_arg("mod_x.c") == (False, "mod_x.c")
    assert modules.parse_ifmodule_arg("!") == (True, "")


@pytest.mark.apache
@pytest.mark.skipif(shutil.which("apache2") is None, reason="apache2 not installed")
def test_debian_compiled_in_modules_are_builtin():
    import subprocess
    out = subprocess.run(["apache2", "-l"], capture_output=True, text=True, timeout=30).stdout
    sources = [line.strip() for line in out.splitlines()[1:] if line.strip()]
    assert sources
    for source in sources:
        assert lookup(source).status is ModuleStatus.BUILTIN, source
