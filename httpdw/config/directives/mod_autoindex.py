"""mod_autoindex directives httpdw implements (the plain listing's IndexIgnore); the fancy-index
directives (IndexOptions, AddIcon, ...) are known to the registry as ignored."""
from __future__ import annotations

from httpdw.config import values
from httpdw.config.directives.http import decl
from httpdw.config.registry import Syntax

decl("IndexIgnore", Syntax.ITERATE, "Hide files matching these wildcards from directory listings "
     "(added to the enclosing sections' list).", parse=values.words_value)
decl("IndexIgnoreReset", Syntax.FLAG, "Do not inherit the enclosing sections' IndexIgnore list.",
     parse=values.flag, default=False)
