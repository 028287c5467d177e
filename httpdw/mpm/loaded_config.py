"""`LoadedConfig`: what a (re)load of the config hands the parent (httpdw.mpm.parent re-exports it).

A module of its own, importing nothing of the engine, because the config is loaded in a separate,
short-lived process (httpdw.cli.isolated_load) that builds these objects: it must not have to import
the parent, its children and the scoreboard just for this class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from httpdw.config.model import ServerConfig


@dataclass
class LoadedConfig:
    """What a (re)load of the config produced: the config (None on errors) and what to log."""

    config: ServerConfig | None
    messages: list[tuple[str, str]] = field(default_factory=list)   #: (level, text)
