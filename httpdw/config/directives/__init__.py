"""Directive declarations, one module per area; importing this package registers them all.

Each directive is declared in exactly one module (`declare(...)` at import time):

* core.py        the config language, the loader's directives and every core section;
* mpm.py         the worker MPM and the process-level directives (Listen, User, PidFile, Mutex, ...);
* http*.py, mod_*.py   the HTTP-serving directives (core HTTP, mod_mime, mod_dir, mod_alias, ...);
* apache_known.py      last: every other Apache 2.4 (and common third-party) directive, from the data
                       files, as IGNORED / REFUSED / NOT_APPLICABLE so that a directive httpdw does not
                       implement is told apart from a misspelling.

Every module of this package is imported (in name order), so a new area only needs a new file.
"""
from __future__ import annotations

import importlib
import pkgutil

from httpdw.config.directives import apache_known


def _import_declaration_modules() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "apache_known":
            continue
        importlib.import_module(f"{__name__}.{info.name}")
    apache_known.register_unimplemented()


_import_declaration_modules()
