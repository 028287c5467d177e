"""The HTTP layer's entry point for the engine: `make_handler_factory(config)`.

Lifecycle (one call per config generation, normally in the parent before the children fork):
- make_handler_factory() builds the site model, reads TypesConfig and starts piped loggers
  (`CustomLog "|rotatelogs ..."`): one logger process per generation, inherited by every child, as
  Apache's parent does;
- the factory is called once in each child (after fork and privilege drop) and opens that child's
  file logs (O_APPEND) - a new generation after a graceful restart therefore reopens every log;
- factory.close() (parent, when the generation is retired) closes the pipes to the piped loggers,
  which then finish and exit.
"""
from __future__ import annotations

import logging
from typing import Any

from httpdw.config.site import Site, build_site
from httpdw.http.accesslog import AccessLog
from httpdw.http.connection import Handler
from httpdw.http.mime import load_types

log = logging.getLogger("httpdw.http.server")


class HttpHandlerFactory:
    """HandlerFactory: ChildInfo -> ConnectionHandler, plus close() for the generation's piped logs."""

    def __init__(self, config: Any, site: Site | None = None):
        self.config = config
        # load_config built the site once already (configtest reports its problems); build it here
        # only for a config made some other way (tests)
        self.site = site or getattr(config, "site", None) or build_site(config)
        errors = self.site.problems.errors
        if errors:
            # e.g. a <FilesMatch> regex Python cannot compile: serving without that section could
            # publish what it protects, so the server does not start
            raise ValueError("; ".join(f"{d.message} ({d.pos})" for d in errors))
        self.types = load_types(self.site.types_config)
        self._pipes: dict[tuple[str, str, str | None], AccessLog] = {}
        for spec in self._log_specs():
            if spec.target.startswith("|"):
                key = (spec.target, spec.fmt, spec.env)
                if key not in self._pipes:
                    alog = AccessLog(spec.target, spec.fmt, spec.env)
                    alog.open()
                    self._pipes[key] = alog
        self.handlers: list[Handler] = []

    def _log_specs(self):
        seen = set()
        for server in (self.site.main, *self.site.vhosts):
            for spec in server.logs:
                if id(spec) not in seen:
                    seen.add(id(spec))
                    yield spec

    def __call__(self, child: Any = None) -> Handler:
        """Open this child's logs and return its connection handler."""
        opened: dict[int, AccessLog] = {}
        logs_for: dict[int, list[AccessLog]] = {}
        for server in (self.site.main, *self.site.vhosts):
            out = []
            for spec in server.logs:
                alog = opened.get(id(spec))
                if alog is None:
                    if spec.target.startswith("|"):
                        alog = self._pipes[(spec.target, spec.fmt, spec.env)]
                    else:
                        alog = AccessLog(spec.target, spec.fmt, spec.env)
                        alog.open()
                    opened[id(spec)] = alog
                out.append(alog)
            logs_for[id(server)] = out
        snapshot = getattr(child, "snapshot", None) if child is not None else None
        handler = Handler(self.site, self.types, logs_for, status_source=snapshot)
        handler.opened_logs = [a for a in opened.values() if not a.target.startswith("|")]
        self.handlers.append(handler)
        return handler

    def close(self) -> None:
        """Close every log this factory opened (file logs of handlers made in this process, pipes)."""
        for handler in self.handlers:
            for alog in getattr(handler, "opened_logs", ()):
                alog.close()
        self.handlers.clear()
        for alog in self._pipes.values():
            alog.close()
        self._pipes.clear()


def make_handler_factory(config: Any) -> HttpHandlerFactory:
    """The HandlerFactory the engine calls in each child (see the module docstring)."""
    return HttpHandlerFactory(config)
