#!/usr/bin/env python3
"""Regenerate httpdw/data/apache_directives.tsv from a real Apache 2.4 (run once per Apache upgrade).

Usage (needs Debian's apache2 package):

    python3 tools/gen_apache_known.py > httpdw/data/apache_directives.tsv

How it works: `apache2 -L` lists every directive of the loaded modules with the module's source
file, its command-table description (the text Apache puts in arity errors) and where it is
allowed. For each module in /usr/lib/apache2/modules the script writes a tiny config that loads
the worker MPM, the module's dependencies and the module, runs `apache2 -L`, and attributes to the
module every directive that the same config without the module does not list. Modules that fail
to load alone are retried with everything that loaded before (dependencies such as mod_proxy).
The prefork and event MPMs are run the same way instead of worker, so MPM-specific names are
attributed to their own MPM (a name several MPMs define gets one row per MPM).

Columns (tab-separated, one directive per row, sorted by module then name):
    name  module  source  allowed  override  desc
`allowed` is the text after "Allowed in *.conf " in -L output ("anywhere", "only outside <Directory>,
<Files>, <Location>, or <If>", ...), `override` the "when AllowOverride ..." continuation (may be
empty), `desc` the command-table description. Tabs and newlines never occur in Apache's texts.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

MODULE_DIR = "/usr/lib/apache2/modules"
MPMS = ("worker", "event", "prefork")
#: modules compiled into Debian's apache2 binary: their source file -> identifier
BUILTIN = {"core.c": "core_module", "http_core.c": "http_module", "mod_so.c": "so_module",
           "mod_watchdog.c": "watchdog_module", "mod_log_config.c": "log_config_module",
           "mod_logio.c": "logio_module", "mod_version.c": "version_module", "mod_unixd.c": "unixd_module",
           "worker.c": "mpm_worker_module", "event.c": "mpm_event_module", "prefork.c": "mpm_prefork_module"}


def identifier(so_name: str) -> str:
    """mod_proxy_http.so -> proxy_http_module (Debian's naming holds for every module it ships)."""
    return so_name[len("mod_"):-len(".so")] + "_module"


def run_listing(workdir: str, mpm: str, modules: list[str]) -> dict[str, tuple[str, str, str, str]] | None:
    """`apache2 -L` for a config loading `mpm` and `modules` (.so names); None if it does not load.

    Returns name -> (source, allowed, override, desc)."""
    lines = [f"ServerRoot {workdir}", "ServerName localhost", "ErrorLog /dev/null",
             f"LoadModule mpm_{mpm}_module {MODULE_DIR}/mod_mpm_{mpm}.so"]
    lines += [f"LoadModule {identifier(m)} {MODULE_DIR}/{m}" for m in modules]
    conf = os.path.join(workdir, "gen.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    proc = subprocess.run(["apache2", "-f", conf, "-L"], capture_output=True, text=True,
                          errors="replace", timeout=30)
    if proc.returncode != 0:
        return None
    return parse_listing(proc.stdout)


def parse_listing(text: str) -> dict[str, tuple[str, str, str, str]]:
    """Parse -L output: `Name (source.c)` then tab-indented desc / Allowed / when-AllowOverride lines."""
    out: dict[str, tuple[str, str, str, str]] = {}
    current: list | None = None
    for line in text.splitlines():
        m = re.match(r"^(\S+) \((\S+)\)$", line)
        if m:
            current = [m.group(2), "", "", ""]
            out[m.group(1)] = current  # type: ignore[assignment]
            continue
        if current is None or not line.startswith("\t"):
            continue
        body = line[1:]
        if body.startswith("Allowed in *.conf "):
            current[1] = body[len("Allowed in *.conf "):]
        elif body.startswith("when AllowOverride"):
            current[2] = body
        else:
            current[3] = body
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def debian_depends(short: str) -> list[str]:
    """Dependencies from Debian's mods-available/<short>.load `# Depends:` line, when present."""
    path = f"/etc/apache2/mods-available/{short}.load"
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("# Depends:"):
                    return [f"mod_{d}.so" for d in line.split(":", 1)[1].split()]
    except OSError:
        pass
    return []


def collect(workdir: str) -> list[tuple[str, str, str, str, str, str]]:
    """Every directive of every MPM and loadable module: (name, module, source, allowed, override, desc)."""
    rows: dict[tuple[str, str], tuple[str, str, str, str, str, str]] = {}

    def add(listing, names, module_of):
        for name in names:
            source, allowed, override, desc = listing[name]
            module = module_of(source)
            rows[(name, module)] = (name, module, source, allowed, override, desc)

    for mpm in MPMS:
        base = run_listing(workdir, mpm, [])
        if base is None:
            sys.exit(f"apache2 -L fails with only mpm_{mpm}: is apache2 installed?")
        add(base, base, lambda src: BUILTIN.get(src, "core_module"))

    all_mods = sorted(m for m in os.listdir(MODULE_DIR)
                      if m.startswith("mod_") and m.endswith(".so") and not m.startswith("mod_mpm_"))
    loaded: list[str] = []
    pending = list(all_mods)
    for _ in range(3):  # a few passes so dependencies that sort later get loaded first
        failed = []
        for mod in pending:
            deps = [d for d in debian_depends(mod[4:-3]) if d in all_mods]
            attempt = None
            for pre in (deps, loaded):
                without = run_listing(workdir, "worker", pre)
                with_mod = run_listing(workdir, "worker", pre + [mod]) if without is not None else None
                if with_mod is not None:
                    attempt = (without, with_mod)
                    break
            if attempt is None:
                failed.append(mod)
                continue
            without, with_mod = attempt
            new = [n for n in with_mod if n not in without]
            add(with_mod, new, lambda src, mod=mod: identifier(mod))
            loaded.append(mod)
        pending = failed
        if not pending:
            break
    for mod in pending:
        print(f"gen_apache_known: could not load {mod}, skipped", file=sys.stderr)
    return sorted(rows.values(), key=lambda r: (r[1], r[0].lower()))


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        rows = collect(workdir)
    out = sys.stdout
    out.write("# name\tmodule\tsource\tallowed\toverride\tdesc\n")
    out.write("# generated by tools/gen_apache_known.py from `apache2 -L` of "
              + subprocess.run(["apache2", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
              .split(":", 1)[1].strip() + "\n")
    for row in rows:
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
