"""The click command built from httpdw.cli.options.OPTIONS: help, usage errors, and every command line the
lean parser there leaves to click (imported only then, so a serving process never holds click)."""
from __future__ import annotations

import sys

import click

from httpdw.cli import EXIT_USAGE, run_params
from httpdw.cli.options import K_ACTIONS, OPTIONS, WORD_ACTIONS, Option


def _click_option(option: Option):
    """The click.option decorator for one entry of OPTIONS."""
    if option.is_flag:
        return click.option(option.flag, option.dest, is_flag=True, help=option.help)
    if option.choices:
        return click.option(option.flag, option.dest, type=click.Choice(list(option.choices)), default=option.default,
                            help=option.help)
    return click.option(option.flag, option.dest, metavar=option.metavar, multiple=option.multiple, help=option.help)


def _with_options(f):
    for option in reversed(OPTIONS):    # decorators apply bottom-up; help lists them in table order
        f = _click_option(option)(f)
    return f


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("action", required=False, type=click.Choice(WORD_ACTIONS), metavar="[configtest|status]")
@_with_options
def command(**params):
    """httpdw: Apache's worker MPM in Python. Run with -f FILE -k start, or -D FOREGROUND."""
    k_action, action = params["k_action"], params["action"]
    if k_action is not None and k_action not in K_ACTIONS:
        click.echo(f"httpdw: illegal option -- k {k_action}", err=True)
        click.echo(command.get_usage(click.get_current_context()), err=True)
        sys.exit(EXIT_USAGE)
    if action and k_action and action != k_action:
        raise click.UsageError(f"both '{action}' and '-k {k_action}' given")
    sys.exit(run_params(params))
