"""The `httpdw` command: Apache's command-line flags, plus `configtest` and `status` words.

    httpdw -f httpd.conf -k start|stop|restart|graceful|graceful-stop
    httpdw -f httpd.conf -D FOREGROUND        run in the foreground (containers, systemd)
    httpdw -t / httpdw configtest / httpdw -k configtest
    httpdw -V | -v | -M | -L | -S
    httpdw status [--once] [--format json]

This module only turns the parsed command line into `CliOptions` and dispatches; the work is in
httpdw.cli.configtest, httpdw.cli.server, httpdw.cli.info and httpdw.cli.status. The options are declared
in httpdw.cli.options; the click command built from them is in httpdw.cli.click_command.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from httpdw.cli.options import K_ACTIONS, WORD_ACTIONS, parse_serving_argv  # noqa: F401 - K_/WORD_ re-exported

#: Where httpdw looks for its config when -f is not given (shown by -V as SERVER_CONFIG_FILE).
DEFAULT_CONFIG_FILE = "httpd.conf"

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def __getattr__(name: str):
    """DEFAULT_SERVER_ROOT (the compiled-in ServerRoot, -V's HTTPD_ROOT) lives in the config loader, which
    imports the lark grammar: loaded only when asked for, so `httpdw status` and -k stop start faster.
    `command` (the click command) is loaded only when asked for too: see main()."""
    if name == "DEFAULT_SERVER_ROOT":
        from httpdw.config.loader import DEFAULT_SERVER_ROOT
        return DEFAULT_SERVER_ROOT
    if name == "command":
        from httpdw.cli.click_command import command
        return command
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


def run_params(params: dict) -> int:
    """Run what a parsed command line (click's parameters, or httpdw.cli.options' same ones) asks for."""
    opts = CliOptions(
        config_file=params["config_file"], server_root=params["server_root"], defines=list(params["defines"]),
        directives_before=list(params["directives_before"]), directives_after=list(params["directives_after"]),
        envvars=params["envvars"], log_level=params["log_level"], startup_log=params["startup_log"],
        strict=params["strict"], output_format=params["output_format"], effective=params["effective"],
        once=params["once"], single_process=params["single_process"],
    )
    return dispatch(opts, params["action"] or params["k_action"], params["test_config"], params["show_vhosts"],
                    params["list_directives"], params["list_modules"] or params["list_static"],
                    params["show_build"], params["show_version"])


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
    """Console-script entry point.

    A command line that starts or signals a server is parsed without click (httpdw.cli.options says why:
    the serving parent and its children would otherwise all hold click); every other one goes to click."""
    args = sys.argv[1:] if argv is None else list(argv)
    params = parse_serving_argv(args)
    if params is None:
        __getattr__("command").main(args=args, prog_name="httpdw")
        return
    try:
        code = run_params(params)
    except (EOFError, KeyboardInterrupt):   # as click's main() does, so both paths end alike
        print("\nAborted!", file=sys.stderr)
        code = 1
    except BrokenPipeError:   # stdout closed by the reader (`httpdw -k stop | head -0`): quietly, as click
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at exit's flush
        code = 1
    sys.exit(code)
