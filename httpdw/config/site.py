"""The site model: virtual hosts, their mapping sections and per-directory settings, built from
`ServerConfig.tree` once per config generation.

Everything the HTTP layer needs per request is decided here, at load time: directive arguments are
parsed once, sections are sorted the way Apache walks them, and the effective per-directory config
is a merge of pre-parsed patches (cached by the HTTP layer per combination of matching sections).

Apache's merge order (server/request.c): the server's own per-directory defaults, then
<Directory> sections (non-regex, shortest path first, then config order), then <DirectoryMatch> /
<Directory ~> in config order, then <Files>/<FilesMatch> (top-level first, then those nested in
matched <Directory> sections), then <Location>/<LocationMatch> in config order. A virtual host's
sections come after the main server's in each group.
"""
from __future__ import annotations

import fnmatch
import functools
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.tree import Node

from httpdw.config.option_bits import OPTION_BITS

OPT_INDEXES = OPTION_BITS["indexes"]
OPT_FOLLOW_SYMLINKS = OPTION_BITS["followsymlinks"]
OPT_SYMLINKS_IF_OWNER = OPTION_BITS["symlinksifownermatch"]
OPT_EXECCGI = OPTION_BITS["execcgi"]

ETAG_INODE, ETAG_MTIME, ETAG_SIZE = 1, 2, 4

#: Apache's built-in log format nicknames are not built in; Debian defines them in apache2.conf.
#: TransferLog without a preceding plain LogFormat uses the Common Log Format.
DEFAULT_LOG_FORMAT = '%h %l %u %t "%r" %>s %b'


# --------------------------------------------------------------------------- access rules

@dataclass(frozen=True)
class Rule:
    """One `Require [not] provider args` line, optionally limited to some methods (<Limit>)."""

    negate: bool
    provider: str
    args: tuple[str, ...]
    methods: frozenset[str] | None = None     #: None = every method
    except_methods: bool = False              #: True for <LimitExcept>


@dataclass(frozen=True)
class RuleGroup:
    """<RequireAny> (also the implicit group of a section's Require lines), <RequireAll>, <RequireNone>."""

    kind: str                                  #: "any" | "all" | "none"
    items: tuple["Rule | RuleGroup", ...]


@dataclass(frozen=True)
class AccessCompat:
    """mod_access_compat's per-section config (replaced as a whole by a section that sets any of it)."""

    order: str = "deny,allow"
    #: host specs; inside <Limit>/<LimitExcept> a spec is (spec, methods, except_methods)
    allow: tuple = ()
    deny: tuple = ()


# --------------------------------------------------------------------------- per-directory config

class DirConf:
    """Effective per-directory settings (Apache's core_dir_config + mod_mime + mod_dir + authz ...).

    A section's directives are kept as a list of (key, value) patches and applied in order to a copy
    of the enclosing config: `merged = conf.copy(); merged.apply(patch)`."""

    __slots__ = ("options", "options_add", "options_remove", "allow_override", "directory_index",
                 "directory_slash", "force_type", "handler", "default_charset", "default_language",
                 "types", "charsets", "encodings", "languages", "handlers", "etag_bits", "sendfile", "mmap",
                 "error_documents", "signature", "limit_body", "max_ranges", "satisfy", "auth_merging",
                 "authz", "access", "canonical", "hostname_lookups", "location_alias", "unsupported", "index_ignore", "redirects")

    def __init__(self) -> None:
        self.options = OPT_FOLLOW_SYMLINKS       # 2.4 default: FollowSymLinks
        self.options_add = 0
        self.options_remove = 0
        self.allow_override = False              # 2.3.9+: AllowOverride None
        self.directory_index: tuple[str, ...] = ("index.html",)
        self.directory_slash = True
        self.force_type: str | None = None
        self.handler: str | None = None
        self.default_charset: str | None = None
        self.default_language: str | None = None
        self.types: dict[str, str] = {}
        self.charsets: dict[str, str] = {}
        self.encodings: dict[str, str] = {}
        self.languages: dict[str, str] = {}
        self.handlers: dict[str, str] = {}
        self.etag_bits = ETAG_MTIME | ETAG_SIZE  # 2.3.14+: FileETag MTime Size
        self.sendfile: bool | None = None        # EnableSendfile unset: sendfile on local filesystems
        self.mmap = True                         # EnableMMAP On: files are sent from a memory map
        self.error_documents: dict[int, str] = {}
        self.signature = "off"
        self.limit_body = 1 << 30                # 2.4.54+: 1 GiB
        self.max_ranges = 200
        self.satisfy = "all"
        self.auth_merging = "off"
        self.authz: RuleGroup | None = None
        self.access: AccessCompat | None = None
        self.canonical: str | None = None        # None: the server's UseCanonicalName
        self.hostname_lookups: str | None = None
        self.location_alias: str | None = None   # one-argument Alias inside <Location>
        #: why httpdw cannot honour this config (e.g. an <If> expression): requests answer 500
        self.unsupported: str | None = None
        self.index_ignore: tuple[str, ...] = ()
        self.redirects: tuple = ()            # Redirect* inside sections (mod_alias's fixup phase)

    def copy(self) -> "DirConf":
        c = DirConf.__new__(DirConf)
        for name in DirConf.__slots__:
            setattr(c, name, getattr(self, name))
        return c

    def apply(self, patch: list[tuple[str, Any]]) -> None:
        """Apply a section's parsed directives, in order."""
        for key, value in patch:
            APPLY[key](self, value)


def _set(attr: str) -> Callable[[DirConf, Any], None]:
    def apply(conf: DirConf, value: Any) -> None:
        setattr(conf, attr, value)
    return apply


def _add_map(attr: str) -> Callable[[DirConf, Any], None]:
    def apply(conf: DirConf, value: tuple[str, tuple[str, ...]]) -> None:
        new = dict(getattr(conf, attr))
        for ext in value[1]:
            new[ext] = value[0]
        setattr(conf, attr, new)
    return apply


def _remove_map(attr: str) -> Callable[[DirConf, Any], None]:
    def apply(conf: DirConf, exts: tuple[str, ...]) -> None:
        new = dict(getattr(conf, attr))
        for ext in exts:
            new[ext] = ""          # "" masks the TypesConfig entry too (mod_mime's remove_items)
        setattr(conf, attr, new)
    return apply


def _apply_options(conf: DirConf, value: tuple[int | None, int, int]) -> None:
    absolute, add, remove = value
    if absolute is not None:
        conf.options, conf.options_add, conf.options_remove = absolute, 0, 0
        return
    # core.c merge_core_dir_configs for a section with only +/- options
    conf.options_add = (conf.options_add & ~remove) | add
    conf.options_remove = (conf.options_remove & ~add) | remove
    conf.options = (conf.options & ~remove) | add


def _apply_etag(conf: DirConf, value: tuple[int | None, int, int]) -> None:
    absolute, add, remove = value
    conf.etag_bits = ((absolute if absolute is not None else conf.etag_bits) | add) & ~remove


def _apply_error_document(conf: DirConf, value: tuple[int, str | None]) -> None:
    code, target = value
    docs = dict(conf.error_documents)
    if target is None:
        docs.pop(code, None)
    else:
        docs[code] = target
    conf.error_documents = docs


def _apply_authz(conf: DirConf, group: RuleGroup) -> None:
    # AuthMerging Off (default): a section's rules replace the enclosing ones; And/Or combine.
    if conf.authz is not None and conf.auth_merging in ("and", "or"):
        conf.authz = RuleGroup("all" if conf.auth_merging == "and" else "any", (conf.authz, group))
    else:
        conf.authz = group


def _apply_handler(conf: DirConf, value: str) -> None:
    conf.handler = None if value.lower() == "none" else value.lower()


APPLY: dict[str, Callable[[DirConf, Any], None]] = {
    "options": _apply_options,
    "allowoverride": _set("allow_override"),
    "allowoverridelist": lambda c, v: setattr(c, "allow_override", c.allow_override or (
        bool(v) and [w.lower() for w in v] != ["none"])),
    "directoryindex": lambda c, v: setattr(c, "directory_index",
                                           () if [w.lower() for w in v] == ["disabled"] else tuple(v)),
    "directoryslash": _set("directory_slash"),
    "forcetype": lambda c, v: setattr(c, "force_type", None if v.lower() == "none" else v),
    "sethandler": _apply_handler,
    "adddefaultcharset": _set("default_charset"),
    "defaultlanguage": _set("default_language"),
    "addtype": _add_map("types"),
    "removetype": _remove_map("types"),
    "addcharset": _add_map("charsets"),
    "removecharset": _remove_map("charsets"),
    "addencoding": _add_map("encodings"),
    "removeencoding": _remove_map("encodings"),
    "addlanguage": _add_map("languages"),
    "removelanguage": _remove_map("languages"),
    "addhandler": lambda c, v: _add_map("handlers")(c, (v[0].lower(), v[1])),
    "removehandler": _remove_map("handlers"),
    "fileetag": _apply_etag,
    "enablesendfile": _set("sendfile"),
    "errordocument": _apply_error_document,
    "serversignature": _set("signature"),
    "limitrequestbody": _set("limit_body"),
    "maxranges": _set("max_ranges"),
    "satisfy": _set("satisfy"),
    "authmerging": _set("auth_merging"),
    "authz": _apply_authz,
    "access": _set("access"),
    "usecanonicalname": _set("canonical"),
    "hostnamelookups": _set("hostname_lookups"),
    "location_alias": _set("location_alias"),
    "unsupported": _set("unsupported"),
    "dir_redirect": lambda c, v: setattr(c, "redirects", c.redirects + (v,)),
    "indexignore": lambda c, v: setattr(c, "index_ignore", c.index_ignore + tuple(v)),
    "indexignorereset": lambda c, v: setattr(c, "index_ignore", ()) if v else None,
    "enablemmap": _set("mmap"),
    "defaulttype": lambda c, v: None,
}


# --------------------------------------------------------------------------- sections

@dataclass
class Section:
    """One <Directory>/<DirectoryMatch>/<Files>/<FilesMatch>/<Location>/<LocationMatch>."""

    kind: str                       #: "directory" | "files" | "location"
    pattern: str
    regex: re.Pattern | None
    patch: list[tuple[str, Any]]
    index: int                      #: config order (unique: also the cache key of merges)
    pos: Pos | None = None
    files: list["Section"] = field(default_factory=list)   #: <Files> nested in a <Directory>
    wildcard: bool = False
    components: int = 0             #: path components, for sorting <Directory> sections

    def matches_dir(self, dirpath: str) -> bool:
        """Does this non-regex <Directory> apply to `dirpath` (an absolute path ending in '/')?"""
        pat = self.pattern
        if not self.wildcard:
            return dirpath.startswith(pat)
        # wildcards match per component (APR_FNM_PATHNAME): compare the first N components
        n = pat.count("/")
        prefix = "/".join(dirpath.split("/")[:n]) + "/"
        return fnmatch.fnmatchcase(prefix, pat)

    def matches_file(self, name: str) -> bool:
        if self.regex is not None:
            return self.regex.search(name) is not None
        return fnmatch.fnmatchcase(name, self.pattern) if self.wildcard else name == self.pattern

    def matches_location(self, uri: str) -> bool:
        if self.regex is not None:
            return self.regex.search(uri) is not None
        pat = self.pattern
        if self.wildcard:
            return fnmatch.fnmatchcase(uri, pat) or fnmatch.fnmatchcase(uri, pat.rstrip("/") + "/*")
        # request.c location_walk: a prefix that ends at a segment boundary (or ends with '/')
        if not uri.startswith(pat):
            return False
        n = len(pat)
        return n == 0 or pat[-1] == "/" or len(uri) == n or uri[n] == "/"


@dataclass(frozen=True)
class AliasRule:
    """Alias/AliasMatch/Redirect/RedirectMatch, in mod_alias's terms."""

    fake: str
    real: str | None                #: file path (alias) or URL (redirect); None for 410 without URL
    regex: re.Pattern | None
    redirect: bool
    status: int = 0
    pos: Pos | None = None


@dataclass(frozen=True)
class LogSpec:
    """One CustomLog/TransferLog line."""

    target: str                     #: absolute file path or "|command"
    fmt: str                        #: the format string (nickname resolved)
    env: str | None = None          #: "VAR" or "!VAR" from env=
    pos: Pos | None = None


@dataclass
class Server:
    """A (virtual) server: the main server or one <VirtualHost>, with the main server's values inherited."""

    is_main: bool
    addrs: tuple[tuple[str, int | None], ...] = ()   #: ("*"|"_default_"|ip, port or None for *)
    server_name: str | None = None
    port: int = 0                   #: from ServerName host:port, 0 = the connection's port
    aliases: tuple[str, ...] = ()   #: ServerAlias (exact names and wildcards, lower-cased)
    server_admin: str = "[no address given]"
    document_root: str = "/var/www/html"
    keep_alive: bool = True
    keep_alive_max: int = 100
    keep_alive_timeout: float = 5.0
    timeout: float = 60.0
    trace: str = "on"
    limit_line: int = 8190
    limit_field_size: int = 8190
    limit_fields: int = 100
    merge_slashes: bool = True
    encoded_slashes: str = "off"
    canonical: str = "off"
    hostname_lookups: str = "off"
    alias_rules: tuple[AliasRule, ...] = ()
    logs: tuple[LogSpec, ...] = ()
    log_formats: dict[str, str] = field(default_factory=dict)
    base: DirConf = field(default_factory=DirConf)
    dir_sections: tuple[Section, ...] = ()       #: non-regex <Directory>, in walk order
    dirmatch_sections: tuple[Section, ...] = ()  #: regex <Directory ~>/<DirectoryMatch>, config order
    files_sections: tuple[Section, ...] = ()     #: top-level <Files>/<FilesMatch>
    location_sections: tuple[Section, ...] = ()
    pos: Pos | None = None

    @functools.cached_property
    def name(self) -> str:
        return self.server_name_only or "localhost"

    @functools.cached_property
    def server_name_only(self) -> str:
        """ServerName without scheme and port."""
        name = self.server_name or ""
        if "://" in name:
            name = name.split("://", 1)[1]
        if name.startswith("["):
            return name[: name.find("]") + 1]
        return name.rsplit(":", 1)[0] if ":" in name else name

    def answers_to(self, host: str) -> bool:
        """Name-based matching: ServerName, then ServerAlias (with * and ? wildcards), case-insensitive."""
        if host == self.server_name_only.lower():
            return True
        for alias in self.aliases:
            if alias == host or (("*" in alias or "?" in alias) and fnmatch.fnmatchcase(host, alias)):
                return True
        return False


@dataclass
class Site:
    """Everything the HTTP layer serves: the main server and the virtual hosts."""

    main: Server
    vhosts: tuple[Server, ...]
    types_config: str | None = None
    server_tokens: str = "Full"
    extended_status: bool = True
    problems: Diagnostics = field(default_factory=Diagnostics)

    def select(self, local_ip: str, local_port: int, host: str | None) -> Server:
        """Pick the server for a request, as Apache's vhost.c does.

        The connection's local address picks the candidate vhosts (exact ip:port first, then
        *:port / _default_); the Host name then picks among them, the first candidate being the
        default. No candidate: the main server."""
        candidates = self._candidates(local_ip, local_port)
        if not candidates:
            return self.main
        if host and len(candidates) > 1:
            name = host.lower()
            for server in candidates:
                if server.answers_to(name):
                    return server
        return candidates[0]

    def _candidates(self, ip: str, port: int) -> list[Server]:
        key = (ip, port)
        cached = self._cache.get(key)
        if cached is None:
            exact = [v for v in self.vhosts if any(a == ip and p in (None, port) for a, p in v.addrs)]
            wild = [v for v in self.vhosts if any(a in ("*", "_default_") and p in (None, port) for a, p in v.addrs)]
            cached = exact or wild
            self._cache[key] = cached
        return cached

    def __post_init__(self) -> None:
        self._cache: dict[tuple[str, int], list[Server]] = {}


# --------------------------------------------------------------------------- building

class _Builder:
    """Walks the tree once and builds the Site; problems go to `diags` (never raises)."""

    DIR_KINDS = {"directory", "directorymatch"}
    FILES_KINDS = {"files", "filesmatch"}
    LOCATION_KINDS = {"location", "locationmatch"}

    def __init__(self, server_root: str, diags: Diagnostics):
        self.server_root = server_root
        self.diags = diags
        self.counter = 0
        # Only the builder needs the registry (and mod_alias): imported here, the serving processes, which
        # receive a built Site, never load the directive tables.
        from httpdw.config.registry import registry
        self.reg = registry()

    # -- values
    def value(self, node: Node) -> Any:
        """The parsed value of a directive node (the registry's parser, or the words)."""
        spec = self.reg.get(node.name)
        words = node.words()
        if spec is None or spec.parse is None:
            if spec is not None and spec.syntax.max == 1:
                return words[0] if words else ""
            return words
        sink = Diagnostics()
        from httpdw.config.values import using_context
        with using_context(self.server_root):
            return spec.parse(words, node, sink)

    def path(self, p: str) -> str:
        return p if os.path.isabs(p) else os.path.normpath(os.path.join(self.server_root, p))

    # -- sections
    def section(self, node: Node, inherited_kind: str | None = None) -> Section | None:
        key = node.key
        words = node.words()
        regex = None
        if key.endswith("match"):
            pattern = words[0] if words else ""
            regex = self.compile(pattern, node)
        elif words and words[0] == "~":
            pattern = words[1] if len(words) > 1 else ""
            regex = self.compile(pattern, node)
        else:
            pattern = words[0] if words else ""
        kind = key[:-5] if key.endswith("match") else key
        if regex is None and key.endswith("match") or (words and words[0] == "~" and regex is None):
            return None
        self.counter += 1
        sec = Section(kind=kind, pattern=pattern, regex=regex, patch=[], index=self.counter, pos=node.pos)
        if regex is None:
            sec.wildcard = any(c in pattern for c in "*?[")
            if kind == "directory":
                p = self.path(pattern) if pattern != "/" else "/"
                sec.pattern = p if p.endswith("/") else p + "/"
                sec.components = 0 if sec.pattern == "/" else sec.pattern.rstrip("/").count("/")
        for child in node.children or ():
            self.per_dir(child, sec.patch, sec, methods=None)
        return sec

    def compile(self, pattern: str, node: Node) -> re.Pattern | None:
        try:
            return re.compile(pcre_to_python(pattern))
        except re.error as e:
            self.diags.error("HDW0104", f"Regular expression could not be compiled: {e}", node.pos,
                             hint="httpdw uses Python's re; PCRE-only syntax may need rewriting")
            return None

    def per_dir(self, node: Node, patch: list, sec: Section | None, methods: tuple | None) -> bool:
        """Add a per-directory directive (or nested access container) to `patch`; False if not one."""
        key = node.key
        if node.is_section:
            if key in ("files", "filesmatch") and sec is not None and sec.kind == "directory":
                nested = self.section(node)
                if nested is not None:
                    sec.files.append(nested)
                return True
            if key in ("requireall", "requireany", "requirenone"):
                group = self.rule_group(node, methods)     # its own lines first, as Apache reads them
                self.check_authz_child(node, "any")       # a section's Require lines form a <RequireAny>
                patch.append(("authz_item", group))
                return True
            if key in ("if", "elseif", "else") and node.children:
                # httpdw does not evaluate ap_expr: whatever the block holds (often access rules)
                # could change who may see what, so requests it might apply to fail closed
                patch.append(("unsupported", f"<{node.name} {node.args}> at {node.pos} (expressions are "
                                             "not implemented)"))
                self.diags.warning("HDW0114", f"<{node.name}> expressions are not evaluated by httpdw: requests "
                                   "its block could apply to answer 500", node.pos,
                                   hint="express the condition with <Directory>/<Files>/<Location> sections or "
                                        "Require rules, or keep this config for Apache")
                return True
            if key in ("limit", "limitexcept"):
                limit = (frozenset(w.upper() for w in node.words()), key == "limitexcept")
                for child in node.children or ():
                    self.per_dir(child, patch, sec, limit)
                return True
            return False
        if key == "require":
            self.check_authz_child(node, "any")
            patch.append(("authz_item", self.rule(node, methods)))
            return True
        if key in ("order", "allow", "deny"):
            patch.append(("access_part", (key, self.value(node), methods)))
            return True
        if key in ("redirect", "redirectmatch", "redirectpermanent", "redirecttemp") and sec is not None:
            rule = self.section_redirect(node, sec)
            if rule is not None:
                patch.append(("dir_redirect", rule))
            return True
        if key == "alias" and sec is not None and sec.kind == "location":
            words = node.words()
            if len(words) == 1:
                patch.append(("location_alias", self.path(words[0])))
                return True
        if key in APPLY:
            patch.append((key, self.value(node)))
            return True
        return False

    def section_redirect(self, node: Node, sec: Section) -> AliasRule | None:
        """Redirect inside a section; the one-argument form `Redirect [status] URL` in a <Location>
        redirects that location itself."""
        words = node.words()
        status_words = ("permanent", "temp", "seeother", "gone")
        rest = words[1:] if words and (words[0].lower() in status_words or words[0].isdigit()) else words
        if len(rest) == 1 and sec.kind == "location" and node.key == "redirect" and "://" in rest[0]:
            from httpdw.config.directives import mod_alias
            status = mod_alias.redirect(words[:-1] + ["/", rest[0]], node, Diagnostics())[0]
            # the section already chose the URLs: every one of them goes to exactly this URL
            return AliasRule(sec.pattern, rest[0], re.compile(""), True, status, node.pos)
        status, fake, url = self.value(node)
        regex = self.compile(fake, node) if node.key == "redirectmatch" else None
        if node.key == "redirectmatch" and regex is None:
            return None
        return AliasRule(fake, url, regex, True, status, node.pos)

    def rule(self, node: Node, methods: tuple | None) -> Rule:
        negate, provider, args = self.value(node)
        ms, exc = methods if methods else (None, False)
        return Rule(negate, provider, args, ms, exc)

    def rule_group(self, node: Node, methods: tuple | None) -> RuleGroup:
        kind = node.key[len("require"):]
        items: list = []
        for child in node.children or ():
            if child.key == "require":
                self.check_authz_child(child, kind)
                items.append(self.rule(child, methods))
            elif child.key in ("requireall", "requireany", "requirenone"):
                items.append(self.rule_group(child, methods))
                self.check_authz_child(child, kind)
        if kind == "all" and items and all(_negative(item) for item in items):
            self.diags.error("AH01624", "<RequireAll> directive contains only negative authorization directives",
                             node.pos, hint="add a positive Require (e.g. Require all granted) to the group")
        return RuleGroup(kind, tuple(items))

    def check_authz_child(self, node: Node, parent_kind: str) -> None:
        """mod_authz_core refuses a negation where it can never matter: `Require not ...` or
        <RequireNone> directly in a <RequireAny> (or a <RequireNone>), whose outcome it cannot change."""
        if parent_kind == "all":
            return
        if node.key == "require":
            words = node.words()
            if not (words and words[0].lower() == "not"):
                return
            what = "negative Require directive"
        elif node.key == "requirenone":
            what = "<RequireNone> directive"
        else:
            return
        parent = {"any": "<RequireAny>", "none": "<RequireNone>"}[parent_kind]
        self.diags.error("HDW0104", f"{what} has no effect in {parent} directive", node.pos,
                         hint="put negations in a <RequireAll> with a positive Require")

    # -- servers
    def server(self, nodes: list[Node], server: Server, sections: dict[str, list[Section]]) -> None:
        """Read one server's top level (main config or a <VirtualHost> body)."""
        patch: list = []
        rules: list[AliasRule] = []
        logs: list[LogSpec] = []
        last_plain_format = DEFAULT_LOG_FORMAT
        for node in nodes:
            key = node.key
            if node.is_section:
                if key in self.DIR_KINDS | self.FILES_KINDS | self.LOCATION_KINDS:
                    sec = self.section(node)
                    if sec is not None:
                        group = "dirmatch" if sec.kind == "directory" and sec.regex is not None else sec.kind
                        sections[group].append(sec)
                elif key == "virtualhost":
                    continue            # handled by the caller
                else:
                    self.per_dir(node, patch, None, None)
                continue
            words = node.words()
            if key == "documentroot" and words:
                server.document_root = self.path(words[0]).rstrip("/") or "/"
            elif key == "servername" and words:
                server.server_name = words[0]
                host = words[0].split("://", 1)[-1]
                if ":" in host and not host.endswith("]"):
                    try:
                        server.port = int(host.rsplit(":", 1)[1])
                    except ValueError:
                        pass
            elif key == "serveralias":
                server.aliases += tuple(w.lower() for w in words)
            elif key == "serveradmin" and words:
                server.server_admin = words[0]
            elif key == "keepalive":
                server.keep_alive = bool(self.value(node))
            elif key == "maxkeepaliverequests":
                server.keep_alive_max = int(self.value(node))
            elif key == "keepalivetimeout":
                server.keep_alive_timeout = float(self.value(node))
            elif key == "timeout":
                server.timeout = float(self.value(node)) or 60.0
            elif key == "traceenable":
                server.trace = self.value(node)
            elif key == "limitrequestline":
                server.limit_line = int(self.value(node))
            elif key == "limitrequestfieldsize":
                server.limit_field_size = int(self.value(node))
            elif key == "limitrequestfields":
                server.limit_fields = int(self.value(node))
            elif key == "mergeslashes":
                server.merge_slashes = bool(self.value(node))
            elif key == "allowencodedslashes":
                server.encoded_slashes = self.value(node)
            elif key == "usecanonicalname":
                server.canonical = self.value(node)
            elif key == "hostnamelookups":
                server.hostname_lookups = self.value(node)
            elif key in ("alias", "aliasmatch") and len(words) == 2:
                regex = self.compile(words[0], node) if key == "aliasmatch" else None
                if key == "alias" or regex is not None:
                    real = words[1] if key == "aliasmatch" else self.path(words[1])
                    rules.append(AliasRule(words[0], real, regex, False, 0, node.pos))
            elif key in ("redirect", "redirectmatch", "redirectpermanent", "redirecttemp"):
                status, fake, url = self.value(node)
                regex = self.compile(fake, node) if key == "redirectmatch" else None
                if key != "redirectmatch" or regex is not None:
                    rules.append(AliasRule(fake, url, regex, True, status, node.pos))
            elif key == "logformat" and words:
                if len(words) >= 2:
                    server.log_formats[words[1]] = words[0]
                else:
                    last_plain_format = words[0]
            elif key == "customlog" and len(words) >= 2:
                fmt = server.log_formats.get(words[1], words[1])
                env = words[2][4:] if len(words) > 2 and words[2].startswith("env=") else None
                if len(words) > 2 and not words[2].startswith("env="):
                    self.diags.warning("HDW0105", f"CustomLog condition {words[2]} is not implemented: "
                                       "every request is logged", node.pos)
                logs.append(LogSpec(self.log_target(words[0]), fmt, env, node.pos))
            elif key == "transferlog" and words:
                logs.append(LogSpec(self.log_target(words[0]), last_plain_format, None, node.pos))
            elif key == "servertokens":
                self.site_values["servertokens"] = self.value(node)
            elif key == "extendedstatus":
                self.site_values["extendedstatus"] = bool(self.value(node))
            elif key == "typesconfig" and words:
                self.site_values["typesconfig"] = self.path(words[0])
            else:
                self.per_dir(node, patch, None, None)
        server.base = server.base.copy()
        server.base.apply(finish_patch(patch))
        for group in sections.values():
            for sec in group:
                sec.patch = finish_patch(sec.patch)
                for nested in sec.files:
                    nested.patch = finish_patch(nested.patch)
        # mod_alias merge: a vhost's own rules first, then the main server's
        server.alias_rules = tuple(rules) + server.alias_rules
        if logs:
            server.logs = tuple(logs)

    def log_target(self, target: str) -> str:
        return target if target.startswith("|") else self.path(target)


def finish_patch(patch: list) -> list:
    """Fold a section's Require lines into its one implicit <RequireAny>, and its Order/Allow/Deny
    lines into a single AccessCompat value (that module's config for a section replaces the
    enclosing one as a whole). Both go last, after AuthMerging/Satisfy of the same section."""
    items = tuple(v for k, v in patch if k == "authz_item")
    if items:
        patch = [(k, v) for k, v in patch if k != "authz_item"] + [("authz", RuleGroup("any", items))]
    parts = [v for k, v in patch if k == "access_part"]
    if not parts:
        return patch
    order, allow, deny = "deny,allow", [], []
    for key, value, methods in parts:
        if key == "order":
            order = value
            continue
        specs = value if methods is None else tuple((v, methods[0], methods[1]) for v in value)
        (allow if key == "allow" else deny).extend(specs)
    out = [(k, v) for k, v in patch if k != "access_part"]
    out.append(("access", AccessCompat(order, tuple(allow), tuple(deny))))
    return out


@functools.lru_cache(maxsize=1)
def local_host_name() -> str:
    """ap_get_local_host: the host's fully qualified name, else its address (Apache then logs
    AH00558 "Could not reliably determine the server's fully qualified domain name")."""
    import socket
    try:
        host = socket.gethostname()
        fqdn = socket.getfqdn(host)
        if "." in fqdn and not fqdn.startswith("localhost"):
            return fqdn
        return socket.gethostbyname(host)
    except OSError:
        return "127.0.0.1"


def parse_vhost_addrs(words: list[str]) -> tuple[tuple[str, int | None], ...]:
    """`<VirtualHost 1.2.3.4:80 *:8080 [::1]:80 _default_>` -> ((host, port or None), ...)."""
    out = []
    for w in words:
        host, port = w, None
        if w.startswith("["):
            end = w.find("]")
            host = w[1:end]
            rest = w[end + 1:]
            if rest.startswith(":") and rest[1:] != "*":
                port = int(rest[1:]) if rest[1:].isdigit() else None
        elif ":" in w:
            host, p = w.rsplit(":", 1)
            port = int(p) if p.isdigit() else None
        out.append((host.lower(), port))
    return tuple(out)


def _sort_dirs(sections: list[Section]) -> tuple[Section, ...]:
    # request.c: by number of components, then config order (the main server's before a vhost's)
    return tuple(sorted(sections, key=lambda s: (s.components, s.index)))


def build_site(config: Any, diags: Diagnostics | None = None) -> Site:
    """Build the site model from a ServerConfig (its processed tree)."""
    diags = diags if diags is not None else Diagnostics()
    tree = config.tree
    builder = _Builder(tree.server_root or config.server_root, diags)
    builder.site_values = {}
    main = Server(is_main=True, server_name=config.server_name or local_host_name())
    sections: dict[str, list[Section]] = {"directory": [], "dirmatch": [], "files": [], "location": []}
    builder.server(tree.nodes, main, sections)
    main.dir_sections = _sort_dirs(sections["directory"])
    main.dirmatch_sections = tuple(sections["dirmatch"])
    main.files_sections = tuple(sections["files"])
    main.location_sections = tuple(sections["location"])
    vhosts = []
    for node in tree.nodes:
        if node.is_section and node.key == "virtualhost":
            vhosts.append(build_vhost(builder, node, main))
    site = Site(main=main, vhosts=tuple(vhosts),
                types_config=builder.site_values.get("typesconfig"),
                server_tokens=builder.site_values.get("servertokens", "Full"),
                extended_status=builder.site_values.get("extendedstatus", True),
                problems=diags)
    return site


def build_vhost(builder: _Builder, node: Node, main: Server) -> Server:
    """A <VirtualHost>: starts as a copy of the main server's values, then its own directives."""
    v = Server(is_main=False, addrs=parse_vhost_addrs(node.words()), server_name=None, port=0,
               server_admin=main.server_admin, document_root=main.document_root, keep_alive=main.keep_alive,
               keep_alive_max=main.keep_alive_max, keep_alive_timeout=main.keep_alive_timeout,
               timeout=main.timeout, trace=main.trace, limit_line=main.limit_line,
               limit_field_size=main.limit_field_size, limit_fields=main.limit_fields,
               merge_slashes=main.merge_slashes, encoded_slashes=main.encoded_slashes,
               canonical=main.canonical, hostname_lookups=main.hostname_lookups,
               alias_rules=main.alias_rules, logs=main.logs, log_formats=dict(main.log_formats),
               base=main.base, pos=node.pos)
    sections: dict[str, list[Section]] = {"directory": [], "dirmatch": [], "files": [], "location": []}
    builder.server(node.children or [], v, sections)
    if v.server_name is None:
        # vhost.c: a vhost without ServerName takes the main server's name
        v.server_name = main.server_name
    v.dir_sections = _sort_dirs(list(main.dir_sections) + sections["directory"])
    v.dirmatch_sections = main.dirmatch_sections + tuple(sections["dirmatch"])
    v.files_sections = main.files_sections + tuple(sections["files"])
    v.location_sections = main.location_sections + tuple(sections["location"])
    return v


# --------------------------------------------------------------------------- .htaccess

def htaccess_risks(site: Site, max_dirs: int = 20000) -> list[tuple[str, Pos | None]]:
    """.htaccess files under <Directory> sections that allow overrides: httpdw answers 500 for
    everything below them (it reads no .htaccess). For configtest's warnings: (file, section position).

    The walk is bounded (max_dirs directories in all) so a huge tree cannot stall a config check."""
    found: list[tuple[str, Pos | None]] = []
    seen: set[str] = set()
    budget = max_dirs
    for server in (site.main, *site.vhosts):
        for sec in server.dir_sections:
            if sec.wildcard or sec.pattern in seen or not any(k == "allowoverride" and v for k, v in sec.patch):
                continue
            seen.add(sec.pattern)
            for dirpath, dirs, files in os.walk(sec.pattern):
                budget -= 1
                if budget < 0:
                    return found
                if ".htaccess" in files:
                    found.append((os.path.join(dirpath, ".htaccess"), sec.pos))
    return found


# --------------------------------------------------------------------------- httpdw -S

def describe_vhosts(config: Any) -> str:
    """The virtual-host table as `apache2 -S` prints it (the "VirtualHost configuration:" part
    and the run-time summary lines that follow it)."""
    site = build_site(config)
    lines = ["VirtualHost configuration:"]
    groups: dict[tuple[str, int | None], list[Server]] = {}
    for v in site.vhosts:
        for host, port in v.addrs:
            groups.setdefault((host, port), []).append(v)
    for (host, port), servers in groups.items():
        addr = f"{'[' + host + ']' if ':' in host else host}:{port if port is not None else '*'}"
        if len(servers) == 1:
            v = servers[0]
            lines.append(f"{addr:<22} {v.name} ({_where(v)})")
            continue
        lines.append(f"{addr:<22} is a NameVirtualHost")
        lines.append(f"         default server {servers[0].name} ({_where(servers[0])})")
        for v in servers:
            lines.append(f"         port {port if port is not None else '*'} namevhost {v.name} ({_where(v)})")
            for alias in v.aliases:
                wild = "wild " if any(c in alias for c in "*?") else ""
                lines.append(f"                 {wild}alias {alias}")
    lines.append(f'ServerRoot: "{config.server_root}"')
    lines.append(f'Main DocumentRoot: "{site.main.document_root}"')
    lines.append(f'Main ErrorLog: "{config.error_log}"')
    mpm = getattr(config, "mpm", None)
    if mpm is not None:
        runtime = [n.words()[0] for n in config.tree.nodes if n.key == "defaultruntimedir" and n.words()]
        lock_dir = (os.path.dirname(mpm.lock_file) if mpm.lock_file else
                    _abspath(runtime[-1], config.server_root) if runtime else os.path.join(config.server_root, "logs"))
        lines.append(f'Mutex default: dir="{lock_dir.rstrip("/")}/" mechanism={mpm.accept_mutex} ')
        lines.append("Mutex mpm-accept: using_defaults")
        lines.append("Mutex watchdog-callback: using_defaults")
        lines.append(f'PidFile: "{mpm.pid_file}"')
    defines = dict(getattr(config.tree, "defines", {}) or {})
    for name in ("DUMP_VHOSTS", "DUMP_RUN_CFG"):     # what -S itself defines in Apache
        defines.setdefault(name, "")
    for name, value in defines.items():
        lines.append(f"Define: {name}" + (f"={value}" if value else ""))
    if mpm is not None:
        lines.extend(_user_group_lines(mpm))
    return "\n".join(lines) + "\n"


def _abspath(path: str, root: str) -> str:
    return path if os.path.isabs(path) else os.path.join(root, path)


def _where(v: Server) -> str:
    return f"{v.pos.file}:{v.pos.line}" if v.pos else "?"


def _user_group_lines(mpm: Any) -> list[str]:
    import grp
    import pwd
    out = []
    for label, name, lookup, attr in (("User", mpm.user, pwd.getpwnam, "pw_uid"),
                                      ("Group", mpm.group, grp.getgrnam, "gr_gid")):
        if not name:
            out.append(f'{label}: name="#-1" id=4294967295')   # Apache's unset unixd user/group
            continue
        try:
            ident = int(name[1:]) if name.startswith("#") else getattr(lookup(name), attr)
        except (KeyError, ValueError):
            ident = -1
        out.append(f'{label}: name="{name}" id={ident}')
    return out


def ip_network(spec: str) -> ipaddress._BaseNetwork | None:
    """An Allow/Require ip argument as a network: full or partial addresses (10.1), CIDR, netmask."""
    try:
        if "/" in spec:
            return ipaddress.ip_network(spec, strict=False)
        if ":" in spec:
            return ipaddress.ip_network(spec)
        parts = [p for p in spec.split(".") if p != ""]
        if 1 <= len(parts) <= 4 and all(p.isdigit() and int(p) < 256 for p in parts):
            return ipaddress.ip_network(".".join(parts + ["0"] * (4 - len(parts))) + f"/{8 * len(parts)}")
    except ValueError:
        return None
    return None


def _negative(item: "Rule | RuleGroup") -> bool:
    """A `Require not ...` line or a <RequireNone> group (mod_authz_core's negated entries)."""
    return item.negate if isinstance(item, Rule) else item.kind == "none"


def pcre_to_python(pattern: str) -> str:
    """PCRE's named groups `(?<name>...)` and `(?'name'...)` (Apache 2.4.8+ documents them for
    <LocationMatch> and friends) spelled as Python's `(?P<name>...)`; escapes, character classes and
    lookbehinds `(?<=`, `(?<!` are left alone."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("]", i + 1) or pattern.startswith("^]", i + 1):   # a leading ']' is literal
                skip = 2 if pattern[i + 1] == "]" else 3
                out.append(pattern[i:i + skip])
                i += skip
                continue
        elif pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        elif pattern.startswith("(?'", i):
            end = pattern.find("'", i + 3)
            if end > i + 3:
                out.append("(?P<" + pattern[i + 3:end] + ">")
                i = end + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)
