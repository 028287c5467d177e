"""The bits of core's `Options` directive (Apache's OPT_* in http_core.h).

Apart from the directive's parser (directives/http.py) so that the site model, and with it every
serving process, can test them without importing the directive registry: that is only needed while
a config is read (see httpdw.cli.isolated_load), and would otherwise stay resident in every child.
"""
from __future__ import annotations

OPTION_BITS = {"indexes": 1, "includes": 2, "includesnoexec": 4, "followsymlinks": 8, "execcgi": 16,
               "multiviews": 32, "symlinksifownermatch": 64}
#: Options All (everything but MultiViews), as Apache's OPT_ALL
OPTION_ALL = 1 | 2 | 8 | 16 | 64
