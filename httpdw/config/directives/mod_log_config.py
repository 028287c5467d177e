"""mod_log_config: access logs (LogFormat, CustomLog, TransferLog)."""
from __future__ import annotations

from httpdw.config import values
from httpdw.config.directives.http import decl
from httpdw.config.registry import Syntax

decl("LogFormat", Syntax.TAKE12, "Define a log format, optionally under a nickname (combined, common, ...).")
decl("CustomLog", Syntax.TAKE23, "Write an access log to a file or `|program` in a format, optionally only "
     "when env=[!]VAR.")
decl("TransferLog", Syntax.TAKE1, "Write an access log in the last LogFormat without a nickname (default CLF).")
decl("BufferedLogs", Syntax.FLAG, "Buffer access log lines (httpdw writes each line at once).",
     parse=values.flag, default=False)
