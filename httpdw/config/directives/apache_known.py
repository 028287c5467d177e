"""Every Apache 2.4 directive httpdw knows of but does not implement, and what to do with each.

The facts (name, module, source file, where Apache allows it, its command-table description) are
data: `httpdw/data/apache_directives.tsv`, generated from a real Apache by
`tools/gen_apache_known.py`, plus `httpdw/data/third_party_directives.tsv` for common modules
that do not ship with Apache (mod_php, mod_wsgi, mod_perl, mod_security2, ...). The *policy* is
here, in one table per decision:

* a directive httpdw declares itself (directives/core.py, mpm.py, http*.py, mod_*.py) is left alone;
* a directive only another MPM defines (prefork's MaxSpareServers, event's
  AsyncRequestWorkerFactor) is NOT_APPLICABLE: a warning, since httpdw always runs worker;
* a directive of a module in REFUSED_MODULES, or named in REFUSED_DIRECTIVES, is REFUSED: an error,
  because starting without it would serve what Apache would refuse (access control,
  authentication, TLS, rewriting, proxying, URL-to-application mappings whose files would
  otherwise be served as source);
* everything else is IGNORED: a warning that says which module it belongs to.

`register_unimplemented()` is called once, after every declaration module has been imported.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

from httpdw.config.registry import Context, Status, Syntax, declare, registry

#: modules whose directives decide who may reach what, or how: ignoring them would open access.
REFUSED_MODULES: dict[str, str] = {
    "ssl_module": "TLS: without it httpdw would serve this site over plain HTTP",
    "md_module": "certificate management and https redirects for mod_ssl",
    "rewrite_module": "URL rewriting can deny, redirect or remap requests",
    "proxy_module": "proxying sends requests to another server instead of serving files",
    "proxy_ajp_module": "proxying", "proxy_balancer_module": "proxying", "proxy_connect_module": "proxying",
    "proxy_express_module": "proxying", "proxy_fcgi_module": "proxying", "proxy_fdpass_module": "proxying",
    "proxy_ftp_module": "proxying", "proxy_hcheck_module": "proxying", "proxy_html_module": "proxying",
    "proxy_http_module": "proxying", "proxy_http2_module": "proxying", "proxy_scgi_module": "proxying",
    "proxy_uwsgi_module": "proxying", "proxy_wstunnel_module": "proxying",
    "auth_basic_module": "authentication", "auth_digest_module": "authentication",
    "auth_form_module": "authentication", "authn_anon_module": "authentication",
    "authn_core_module": "authentication", "authn_dbd_module": "authentication",
    "authn_dbm_module": "authentication", "authn_file_module": "authentication",
    "authn_socache_module": "authentication", "authnz_fcgi_module": "authentication and authorization",
    "authnz_ldap_module": "authentication and authorization", "authz_core_module": "authorization",
    "authz_dbd_module": "authorization", "authz_dbm_module": "authorization",
    "authz_groupfile_module": "authorization", "authz_host_module": "authorization",
    "authz_owner_module": "authorization", "authz_user_module": "authorization",
    "access_compat_module": "access control",
    "allowmethods_module": "it refuses HTTP methods",
    "remoteip_module": "it changes the client address that `Require ip` and `Allow from` test",
    "vhost_alias_module": "it maps host names to document roots",
    "lua_module": "Lua hooks can map URLs and decide access",
    "actions_module": "it runs a CGI program for a handler or method; without it the files would be "
                      "served as source",
    "security2_module": "a web application firewall that blocks requests",
    "rpaf_module": "it changes the client address that `Require ip` and `Allow from` test",
    "auth_tkt_module": "authentication",
    "jk_module": "it forwards URLs to an application server",
}

#: single directives refused although the rest of their module is only ignored.
REFUSED_DIRECTIVES: dict[str, str] = {
    "StrictHostCheck": "with On, Apache refuses requests for host names no virtual host serves",
    "Use": "it expands a macro that may contain access rules (httpdw does not implement mod_macro)",
    "WSGIScriptAlias": "it maps URLs to a Python application; without it the .py source would be served",
    "WSGIScriptAliasMatch": "it maps URLs to a Python application; without it the .py source would be served",
    "WSGIAccessScript": "access control", "WSGIAuthUserScript": "authentication",
    "WSGIAuthGroupScript": "authorization",
    "<Perl": "embedded Perl code that may generate any configuration",
    "PerlAccessHandler": "access control", "PerlAuthenHandler": "authentication",
    "PerlAuthzHandler": "authorization", "PerlTransHandler": "it maps URLs",
    "PerlMapToStorageHandler": "it maps URLs", "PerlResponseHandler": "it produces the responses",
    "PerlHandler": "it produces the responses", "PerlFixupHandler": "it changes requests",
    "PerlHeaderParserHandler": "it changes requests", "PerlPostReadRequestHandler": "it changes requests",
    "FcgidWrapper": "it runs scripts through an interpreter; without it the source would be served",
    "FcgidAccessChecker": "access control", "FcgidAuthenticator": "authentication",
    "FcgidAuthorizer": "authorization",
}

#: modules known under several identifiers over the years: a LoadModule of any of them loads it
MODULE_ALIASES: dict[str, tuple[str, ...]] = {
    "php_module": ("php_module", "php8_module", "php7_module", "php5_module", "php4_module"),
    "evasive20_module": ("evasive20_module", "evasive_module"),
    "security2_module": ("security2_module", "security_module"),
}

#: the MPM httpdw runs; other MPMs' own directives are not applicable
WORKER = "mpm_worker_module"
OTHER_MPMS = {"mpm_event_module": "event", "mpm_prefork_module": "prefork", "mpm_itk_module": "itk",
              "mpm_netware_module": "NetWare", "mpm_winnt_module": "Windows"}


@dataclass(frozen=True)
class KnownDirective:
    """One row of the data files."""

    name: str          #: as Apache spells it; sections with their '<'
    module: str        #: module identifier, e.g. "rewrite_module"
    source: str        #: source file, e.g. "mod_rewrite.c"
    allowed: str       #: Apache -L's "Allowed in *.conf ..." text ("anywhere", "only outside <Directory>, ...")
    override: str      #: Apache -L's "when AllowOverride ..." text, may be empty
    desc: str          #: the command-table description

    @property
    def key(self) -> str:
        return self.name.lower().lstrip("<")


def _read_tsv(filename: str) -> list[KnownDirective]:
    text = resources.files("httpdw").joinpath("data", filename).read_text(encoding="utf-8")
    rows = []
    for fields in csv.reader((ln for ln in text.splitlines() if ln and not ln.startswith("#")),
                             delimiter="\t", quoting=csv.QUOTE_NONE):
        fields += [""] * (6 - len(fields))
        rows.append(KnownDirective(*fields[:6]))
    return rows


@functools.cache
def known_directives() -> tuple[KnownDirective, ...]:
    """Every row of both data files (a name may have several rows: one per MPM that defines it)."""
    return tuple(_read_tsv("apache_directives.tsv") + _read_tsv("third_party_directives.tsv"))


@functools.cache
def _by_key() -> dict[str, list[KnownDirective]]:
    out: dict[str, list[KnownDirective]] = {}
    for row in known_directives():
        out.setdefault(row.key, []).append(row)
    return out


def apache_facts(name: str) -> KnownDirective | None:
    """Apache's facts about a directive (the worker MPM's row where several MPMs define it)."""
    rows = _by_key().get(name.lower().lstrip("<"), [])
    for row in rows:
        if row.module == WORKER:
            return row
    return rows[0] if rows else None


def apache_desc(name: str) -> str:
    """Apache's command-table description of `name`: the text its arity errors end with."""
    facts = apache_facts(name)
    if facts is None:
        raise KeyError(f"{name} is not in httpdw/data/apache_directives.tsv: give its desc explicitly")
    return facts.desc


def contexts_from_allowed(allowed: str, override: str) -> Context:
    """Apache -L's context text -> httpdw Context flags."""
    if allowed.startswith("anywhere"):
        ctx = Context.SERVER | Context.VHOST | Context.DIRECTORY
    elif allowed.startswith("only inside"):
        ctx = Context.DIRECTORY
    else:
        ctx = Context.SERVER | Context.VHOST
    if override or "in .htaccess" in allowed:
        ctx |= Context.HTACCESS
    return ctx


def classify(rows: list[KnownDirective]) -> tuple[Status, str, str]:
    """(status, module, reason) for a directive httpdw does not declare itself."""
    name = rows[0].name
    modules = [r.module for r in rows]
    if WORKER not in modules and all(m in OTHER_MPMS for m in modules):
        mpm = OTHER_MPMS[modules[0]]
        return Status.NOT_APPLICABLE, modules[0], f"it belongs to the {mpm} MPM; httpdw always runs worker"
    module = next((m for m in modules if m not in OTHER_MPMS), modules[0])
    for key in (name, name.lstrip("<")):
        if key in REFUSED_DIRECTIVES:
            return Status.REFUSED, module, REFUSED_DIRECTIVES[key]
    if module in REFUSED_MODULES:
        return Status.REFUSED, module, REFUSED_MODULES[module]
    return Status.IGNORED, module, "httpdw does not implement this module"


def register_unimplemented() -> int:
    """Declare every known directive that no declaration module claimed; returns how many."""
    reg = registry()   # already marked loaded: returns the table being filled, no re-import
    count = 0
    for key, rows in _by_key().items():
        if reg.get(key) is not None:
            continue
        status, module, reason = classify(rows)
        first = next((r for r in rows if r.module == module), rows[0])
        declare(first.name, "core" if module == "core_module" else module, Syntax.RAW_ARGS,
                contexts_from_allowed(first.allowed, first.override),
                doc=first.desc or f"a directive of {module}",
                desc=first.desc, status=status, note=reason)
        count += 1
    return count


def module_identifiers(module: str) -> tuple[str, ...]:
    """The LoadModule identifiers that load `module` (itself, plus older names such as php7_module)."""
    return MODULE_ALIASES.get(module, (module,))
