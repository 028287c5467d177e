"""The `httpdw` command: Apache's command-line flags, plus `configtest` and `status` words.

    httpdw -f httpd.conf -k start|stop|restart|graceful|graceful-stop
    httpdw -f httpd.conf -D FOREGROUND        run in the foreground (containers, systemd)
    httpdw -t / httpdw configtest / httpdw -k configtest
    httpdw -V | -v | -M | -L | -S
    httpdw status [--once] [--format json]

This module only parses the command line into `CliOptions` and dispatches; the work is in
httpdw.cli.configtest, httpdw.cli.server, httpdw.cli.info and httpdw.cli.status.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import click

#: Where httpdw looks for its config when -f is not given (shown by -V as SERVER_CONFIG_FILE).
DEFAULT_CONFIG_FILE = "httpd.conf"

K_ACTIONS = ("start", "stop", "restart", "graceful", "graceful-stop", "configtest")
WORD_ACTIONS = ("configtest", "status") + K_ACTIONS

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def __getattr__(name: str):
    """DEFAULT_SERVER_ROOT (the compiled-in ServerRoot, -V's HTTPD_ROOT) lives in the config loader, which
    imports the lark grammar: loaded only when asked for, so `httpdw status` and -k stop start faster."""
    if name == "DEFAULT_SERVER_ROOT":
        from httpdw.config.loader import DEFAULT_SERVER_ROOT
        return DEFAULT_SERVER_ROOT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class CliOptions:
    """The parsed command line, handed to every sub-command runner."""

    config_file: str | None = None          #: -f (None: DEFAULT_CONFIG_FILE under the server root)
    server_root: str | None = None          #: -d
    defines: list[str] = field(default_factory=list)        #: -D
    directives_before: list[str] = field(default_factory=list)   #: -C (processed before the config)
    directives_after: list[str] = field(default_factory=list)    #: -c (processed after the config)
    envvars: str | None = None              #: --envvars FILE (Debian's /etc/apache2/envvars)
    log_level: str | None = None            #: -e
    startup_log: str | None = None          #: -E
    strict: bool = False
    output_format: str = "text"             #: --format text|json|github
    effective: bool = False
    once: bool = False
    single_process: bool = False            #: -X

    @property
    def foreground(self) -> bool:
        return "FOREGROUND" in self.defines or self.single_process

    def resolved_config_file(self) -> str:
        """-f as Apache resolves it: relative paths are relative to the server root (-d)."""
        root = self.server_root or __getattr__("DEFAULT_SERVER_ROOT")
        f = self.config_file or DEFAULT_CONFIG_FILE
        if self.config_file and not self.server_root:
            return os.path.abspath(f)
        return f if os.path.isabs(f) else os.path.join(root, f)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("action", required=False, type=click.Choice(WORD_ACTIONS), metavar="[configtest|status]")
@click.option("-f", "config_file", metavar="FILE", help="Config file (default: the compiled-in path, see -V).")
@click.option("-d", "server_root", metavar="DIR", help="ServerRoot to use before the config sets one.")
@click.option("-D", "defines", metavar="NAME", multiple=True, help="Define NAME for <IfDefine> (FOREGROUND: do not detach).")
@click.option("-C", "directives_before", metavar="DIRECTIVE", multiple=True, help="Process DIRECTIVE before reading the config.")
@click.option("-c", "directives_after", metavar="DIRECTIVE", multiple=True, help="Process DIRECTIVE after reading the config.")
@click.option("-e", "log_level", metavar="LEVEL", help="LogLevel for the start-up messages.")
@click.option("-E", "startup_log", metavar="FILE", help="Log start-up errors to FILE.")
@click.option("-k", "k_action", metavar="ACTION", help="start | stop | restart | graceful | graceful-stop | configtest")
@click.option("-t", "test_config", is_flag=True, help="Check the config and exit (same as `configtest`).")
@click.option("-S", "show_vhosts", is_flag=True, help="Show the parsed virtual-host settings.")
@click.option("-L", "list_directives", is_flag=True, help="List every directive httpdw knows.")
@click.option("-M", "list_modules", is_flag=True, help="List the modules httpdw provides.")
@click.option("-l", "list_static", is_flag=True, help="List the compiled-in modules (same as -M).")
@click.option("-V", "show_build", is_flag=True, help="Show the build settings.")
@click.option("-v", "show_version", is_flag=True, help="Show the version.")
@click.option("-X", "single_process", is_flag=True, help="Debug mode: one child, in the foreground.")
@click.option("--envvars", metavar="FILE", help="Read `export NAME=value` lines (Debian's envvars) into the environment.")
@click.option("--strict", is_flag=True, help="configtest: warnings fail too.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default="text",
              help="configtest/status output format.")
@click.option("--effective", is_flag=True, help="configtest: print the effective MPM values and the rules that changed them.")
@click.option("--once", is_flag=True, help="status: print one snapshot and exit.")
def command(action, k_action, test_config, show_vhosts, list_directives, list_modules, list_static,
            show_build, show_version, **kw):
    """httpdw: Apache's worker MPM in Python. Run with -f FILE -k start, or -D FOREGROUND."""
    opts = CliOptions(
        config_file=kw["config_file"], server_root=kw["server_root"], defines=list(kw["defines"]),
        directives_before=list(kw["directives_before"]), directives_after=list(kw["directives_after"]),
        envvars=kw["envvars"], log_level=kw["log_level"], startup_log=kw["startup_log"],
        strict=kw["strict"], output_format=kw["output_format"], effective=kw["effective"],
        once=kw["once"], single_process=kw["single_process"],
    )
    if k_action is not None and k_action not in K_ACTIONS:
        click.echo(f"httpdw: illegal option -- k {k_action}", err=True)
        click.echo(command.get_usage(click.get_current_context()), err=True)
        sys.exit(EXIT_USAGE)
    if action and k_action and action != k_action:
        raise click.UsageError(f"both '{action}' and '-k {k_action}' given")
    what = action or k_action
    sys.exit(dispatch(opts, what, test_config, show_vhosts, list_directives, list_modules or list_static,
                      show_build, show_version))


def dispatch(opts: CliOptions, what: str | None, test_config: bool, show_vhosts: bool, list_directives: bool,
             list_modules: bool, show_build: bool, show_version: bool) -> int:
    """Run the one thing the command line asked for; return the exit status."""
    if show_version or show_build or list_directives or list_modules or show_vhosts:
        # imported only when needed, so configtest and the server do not depend on it
        from httpdw.cli import info

    if show_version:
        return info.show_version(opts)
    if show_build:
        return info.show_build(opts)
    if list_directives:
        return info.list_directives(opts)
    if list_modules:
        return info.list_modules(opts)
    if show_vhosts:
        return info.show_vhosts(opts)
    if test_config or what == "configtest":
        from httpdw.cli import configtest
        return configtest.run(opts)
    if what == "status":
        from httpdw.cli import status
        return status.run(opts)
    from httpdw.cli import server
    return server.run(opts, what)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    command.main(args=argv, prog_name="httpdw")
