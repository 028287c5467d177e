"""`httpdw -v | -V | -M | -L | -S`: what this build is and what it provides, in Apache's formats.

-L and -S print what the config layer knows (the directive registry, the virtual-host model); this
module only calls them, lazily, and says so plainly if that part is missing.
"""
from __future__ import annotations

import platform
import struct
import sys

from httpdw.cli import DEFAULT_CONFIG_FILE, DEFAULT_SERVER_ROOT, CliOptions
from httpdw.mpm import mutex
from httpdw.mpm.build import server_built, server_version


def show_version(opts: CliOptions) -> int:
    """-v, as `apache2 -v`."""
    print(f"Server version: {server_version()}")
    print(f"Server built:   {server_built()}")
    return 0


def build_settings() -> list[str]:
    """The lines of -V (Apache's layout; facts about this Python build instead of APR's)."""
    python = f"Python {platform.python_version()}"
    lines = [
        f"Server version: {server_version()}",
        f"Server built:   {server_built()}",
        "Server's Module Magic Number: n/a",
        f"Server loaded:  {python}",
        f"Compiled using: {python}",
        f"Architecture:   {struct.calcsize('P') * 8}-bit",
        "Server MPM:     worker",
        "  threaded:     yes (fixed thread count)",
        "    forked:     yes (variable process count)",
        "Server compiled with....",
        " -D APR_HAVE_IPV6 (IPv4-mapped addresses enabled)",
        " -D SINGLE_LISTEN_UNSERIALIZED_ACCEPT",
        f' -D HTTPD_ROOT="{DEFAULT_SERVER_ROOT}"',
        ' -D DEFAULT_PIDLOG="logs/httpd.pid"',
        ' -D DEFAULT_ERRORLOG="logs/error_log"',
        f' -D SERVER_CONFIG_FILE="{DEFAULT_CONFIG_FILE}"',
        f"Accept mutex mechanisms (AcceptMutex / Mutex mpm-accept; default: {mutex.DEFAULT}):",
    ]
    lines += ["  " + line for line in mutex.describe_mechanisms()]
    return lines


def show_build(opts: CliOptions) -> int:
    """-V."""
    print("\n".join(build_settings()))
    return 0


def list_modules(opts: CliOptions) -> int:
    """-M / -l: the modules httpdw provides, in Apache's `Loaded Modules:` format. They are all part of
    httpdw itself (nothing is loaded from a shared object), hence "(static)"."""
    try:
        from httpdw.config.modules import modules_provided
    except ImportError as e:
        print(f"httpdw: the module table is not available ({e})", file=sys.stderr)
        return 1
    print("Loaded Modules:")
    for module in modules_provided():
        print(f" {module.identifier} (static)")
    return 0


def list_directives(opts: CliOptions) -> int:
    """-L: every directive httpdw knows (the registry's text)."""
    try:
        from httpdw.config.manpage import list_directives_text
    except ImportError as e:
        print(f"httpdw: the directive list is not available in this build ({e})", file=sys.stderr)
        return 1
    sys.stdout.write(list_directives_text())
    return 0


def show_vhosts(opts: CliOptions) -> int:
    """-S: load the config as a start would, then print the virtual-host settings."""
    from httpdw.cli.server import load_with_check
    loaded = load_with_check(opts, None)
    for level, text in loaded.messages:
        if level == "error":
            print(text, file=sys.stderr)
    if loaded.config is None:
        return 1
    try:
        from httpdw.config.site import describe_vhosts
    except ImportError as e:
        print(f"httpdw: -S is not available in this build ({e})", file=sys.stderr)
        return 1
    text = describe_vhosts(loaded.config)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
