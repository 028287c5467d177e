"""`httpdw configtest` (also `httpdw -t` and `httpdw -k configtest`): check a config, report, exit.

Exit status: 0 no errors (warnings allowed), 1 errors (or warnings with --strict), 2 usage (click).
Like `apache2 -t`, the diagnostics and the verdict (`Syntax OK`) go to stderr; `--format json` and
`--format github` write their document to stdout; `--effective` writes its table to stdout.
"""
from __future__ import annotations

import sys
from typing import TextIO

from httpdw.cli import EXIT_ERRORS, EXIT_OK, CliOptions
from httpdw.config import render
from httpdw.config.check import ConfigResult, load_config


def run(opts: CliOptions, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Check the config named by the options and print the outcome in the chosen format."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    config_file = opts.resolved_config_file()
    result = _check(opts, config_file, err)
    if result is None:
        return EXIT_ERRORS
    _report(result, opts, out, err)
    return EXIT_ERRORS if render.fails(result.diagnostics, opts.strict) else EXIT_OK


def _check(opts: CliOptions, config_file: str, err: TextIO) -> ConfigResult | None:
    """load_config, with a last line of defence: a bug below must not show the user a traceback."""
    try:
        return load_config(config_file, server_root=opts.server_root, defines=opts.defines,
                           directives_before=opts.directives_before, directives_after=opts.directives_after,
                           envvars=opts.envvars)
    except RecursionError:
        err.write(f"httpdw: internal error: {config_file}: nesting too deep to check\n")
    except Exception as exc:   # noqa: BLE001 - the one place that turns any bug into a message and exit 1
        err.write(f"httpdw: internal error while checking {config_file}: {type(exc).__name__}: {exc} "
                  "(this is a bug in httpdw; please report it with the config)\n")
    return None


def _report(result: ConfigResult, opts: CliOptions, out: TextIO, err: TextIO) -> None:
    if opts.output_format == "json":
        out.write(render.render_json(result, strict=opts.strict) + "\n")
        return
    if opts.output_format == "github":
        out.write(render.render_github(result))
        if not result.diagnostics.has_errors():
            err.write("Syntax OK\n")
    else:
        render.render_text(result, err, strict=opts.strict)
    if opts.effective:
        render.render_effective(result, out)
