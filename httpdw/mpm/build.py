"""Build facts the engine reports (AH00292, AH00293, -V, mod_status's ServerVersion / Server Built)."""
from __future__ import annotations

import os
import time

import httpdw


def server_version() -> str:
    """``httpdw/0.1.0 (Apache 2.4.71 compatible)``: the product string of -v, -V and AH00292."""
    return f"{httpdw.PRODUCT}/{httpdw.__version__} (Apache {httpdw.APACHE_COMPAT} compatible)"


def server_built() -> str:
    """When this copy of httpdw was installed, in Apache's ``%Y-%m-%dT%H:%M:%S`` form (UTC).

    Python has no compile step; the modification time of the installed package is the closest fact."""
    path = os.path.dirname(httpdw.__file__)
    try:
        mtime = max(os.path.getmtime(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".py"))
    except (OSError, ValueError):
        mtime = 0.0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mtime))
