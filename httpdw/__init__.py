"""httpdw: Apache httpd's worker MPM rebuilt in Python.

Layers (lower never imports higher):
    httpdw.config  grammar -> tree -> loader -> registry/validation -> model -> worker rules -> diagnostics
    httpdw.http    connection handling and handlers (no processes)
    httpdw.mpm     parent, children, threads, scoreboard (handed a connection handler; knows no HTTP)
    httpdw.cli     the command line, wiring the three together
"""

__version__ = "0.1.0"

#: The Apache release whose behaviour httpdw reproduces (answers <IfVersion>, shown by -V).
APACHE_COMPAT_VERSION = (2, 4, 71)
APACHE_COMPAT = "2.4.71"

#: Server banner product token, as Apache's "Apache/2.4.71".
PRODUCT = "httpdw"
