"""Test launcher: run the engine through httpdw.cli.server.run with a JSON config and short timers.

    python serve.py CONFIG.json [start|stop|graceful|restart|graceful-stop] [--foreground]

CONFIG.json holds {"mpm": {MpmSettings fields}, "listen": [[host, port], ...], "error_log", "log_level",
"server_root"}. It is re-read on each restart, so a test can break it to check that a bad config keeps the
old generation serving. This file and testhandler.py exist for tests only.
"""
from __future__ import annotations

import json
import os
import signal
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_here, os.path.dirname(os.path.dirname(_here))]   # the test handler, and this checkout's httpdw

from httpdw.cli import CliOptions  # noqa: E402
from httpdw.cli.server import run  # noqa: E402
from httpdw.config.model import Listener, MpmSettings, ServerConfig  # noqa: E402
from httpdw.mpm.parent import LoadedConfig, Timing  # noqa: E402

import testhandler  # noqa: E402

TEST_TIMING = Timing(maintenance_interval=float(os.environ.get("HDW_TEST_TICK", "0.25")),
                     reclaim_schedule=((0.0, signal.SIGTERM), (0.5, signal.SIGTERM), (1.0, signal.SIGKILL)),
                     reclaim_give_up=2.0)


def load(opts: CliOptions, first_limits) -> LoadedConfig:
    try:
        with open(opts.config_file, encoding="utf-8") as f:
            raw = json.load(f)
        listeners = tuple(Listener(h, p) for h, p in raw.pop("listen"))
        mpm = MpmSettings(listeners=listeners, **raw.pop("mpm"))
        config = ServerConfig(config_file=opts.config_file, mpm=mpm, **raw)
    except (OSError, ValueError, TypeError, KeyError) as e:
        return LoadedConfig(None, [("error", f"AH00526: Syntax error in {opts.config_file}: {e}")])
    return LoadedConfig(config, [])


if __name__ == "__main__":
    conf = sys.argv[1]
    action = sys.argv[2] if len(sys.argv) > 2 else "start"
    defines = ["FOREGROUND"] if "--foreground" in sys.argv else []
    opts = CliOptions(config_file=conf, defines=defines, single_process="-X" in sys.argv)
    sys.exit(run(opts, action, _load=load, _factory_for=testhandler.factory_for, _timing=TEST_TIMING))
