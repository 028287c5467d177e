"""Access control: mod_authz_core's Require trees, mod_authz_host's providers, and mod_access_compat's
Order/Allow/Deny, combined per Satisfy as Apache 2.4 does.

Results follow authz_core: a rule gives GRANTED, DENIED or NEUTRAL; `Require not X` gives DENIED when
X would grant and NEUTRAL otherwise; <RequireAny> grants if any child grants, <RequireAll> grants if
some child grants and none denies, <RequireNone> denies if any child grants. Anything but GRANTED at
the top is 403.
"""
from __future__ import annotations

import functools
import ipaddress
import socket

from httpdw.config.site import AccessCompat, DirConf, Rule, RuleGroup, ip_network

GRANTED, DENIED, NEUTRAL = 1, 0, 2


class Client:
    """What access rules look at: the client and local addresses, the method, request env."""

    __slots__ = ("ip", "local_ip", "method", "env", "_addr")

    def __init__(self, ip: str, local_ip: str, method: str, env: dict | None = None):
        self.ip = ip
        self.local_ip = local_ip
        self.method = method
        self.env = env or {}
        self._addr = None

    @property
    def addr(self):
        if self._addr is None:
            try:
                a = ipaddress.ip_address(self.ip.split("%", 1)[0])
                if a.version == 6 and a.ipv4_mapped is not None:
                    a = a.ipv4_mapped
                self._addr = a
            except ValueError:
                self._addr = False
        return self._addr


@functools.lru_cache(maxsize=1024)
def _network(spec: str):
    return ip_network(spec)


def ip_matches(client: Client, specs) -> bool:
    addr = client.addr
    if not addr:
        return False
    for spec in specs:
        net = _network(spec)
        if net is not None and addr.version == net.version and addr in net:
            return True
    return False


@functools.lru_cache(maxsize=1024)
def double_reverse(ip: str) -> str | None:
    """The client's host name if its forward lookup gives the address back (Apache's double-reverse)."""
    try:
        name = socket.gethostbyaddr(ip)[0]
        if ip in socket.gethostbyname_ex(name)[2]:
            return name.lower()
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1024)
def remote_name(ip: str, double: bool = False) -> str | None:
    """HostnameLookups On|Double: the client's name for %h (None: log the address)."""
    if double:
        return double_reverse(ip)
    try:
        return socket.gethostbyaddr(ip)[0].lower()
    except OSError:
        return None


def host_matches(client: Client, specs) -> bool:
    name = double_reverse(client.ip)
    if not name:
        return False
    for spec in specs:
        s = spec.lower().lstrip(".")
        if name == s or name.endswith("." + s):
            return True
    return False


@functools.lru_cache(maxsize=1024)
def forward_addresses(name: str) -> frozenset[str]:
    """The addresses a host name resolves to (empty when it does not resolve)."""
    try:
        return frozenset(info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP))
    except (OSError, UnicodeError):
        return frozenset()


def forward_dns_matches(client: Client, names) -> bool:
    """Require forward-dns: the client's address is one the named host resolves to (a forward lookup
    only, no reverse one and no partial domain names, unlike Require host)."""
    return any(client.ip in forward_addresses(name) for name in names)


def is_local(client: Client) -> bool:
    """Require local: loopback addresses, or the client connecting from the server's own address."""
    addr = client.addr
    return bool(addr) and (addr.is_loopback or client.ip == client.local_ip)


def rule_result(rule: Rule, client: Client) -> int:
    if rule.methods is not None and ((client.method in rule.methods) == rule.except_methods):
        return NEUTRAL                      # a <Limit>/<LimitExcept> for other methods
    p = rule.provider
    if p == "all":
        ok = bool(rule.args) and rule.args[0].lower() == "granted"
        if rule.negate:
            return DENIED if ok else NEUTRAL
        return GRANTED if ok else DENIED
    if p == "ip":
        hit = ip_matches(client, rule.args)
    elif p == "host":
        hit = host_matches(client, rule.args)
    elif p == "forward-dns":
        hit = forward_dns_matches(client, rule.args)
    elif p == "local":
        hit = is_local(client)
    elif p == "env":
        # httpdw sets no environment variables (SetEnvIf/BrowserMatch are not implemented), so an
        # env rule's real outcome is unknown: take the restrictive one either way
        return DENIED
    elif p == "method":
        hit = client.method in {a.upper() for a in rule.args}
    else:
        return DENIED                       # unknown provider: fail closed
    if rule.negate:
        return DENIED if hit else NEUTRAL
    return GRANTED if hit else DENIED


def group_result(group: RuleGroup, client: Client) -> int:
    results = [group_result(i, client) if isinstance(i, RuleGroup) else rule_result(i, client) for i in group.items]
    if group.kind == "any":
        if GRANTED in results:
            return GRANTED
        return DENIED if DENIED in results else NEUTRAL
    if group.kind == "all":
        if DENIED in results:
            return DENIED
        return GRANTED if GRANTED in results else NEUTRAL
    # none
    return DENIED if GRANTED in results else NEUTRAL


def compat_allows(access: AccessCompat, client: Client) -> bool:
    """mod_access_compat check_dir_access."""
    def matches(specs, restrictive_env: bool) -> bool:
        for spec in specs:
            if spec.__class__ is tuple:           # from <Limit>/<LimitExcept>: only for those methods
                spec, methods, except_methods = spec
                if (client.method in methods) == except_methods:
                    continue
            low = spec.lower()
            if low == "all":
                return True
            if low.startswith("env="):
                # no SetEnvIf in httpdw: an env= rule is assumed to match in Deny and not in Allow
                if restrictive_env:
                    return True
            elif _network(spec) is not None:
                if ip_matches(client, (spec,)):
                    return True
            elif host_matches(client, (spec,)):
                return True
        return False

    allow = matches(access.allow, False)
    deny = matches(access.deny, True)
    if access.order in ("allow,deny", "mutual-failure"):
        return allow and not deny
    # deny,allow: denied by a Deny unless an Allow matches too
    return not deny or allow


def allowed(conf: DirConf, client: Client) -> bool:
    """May this client reach a resource with this per-directory config?"""
    authz_ok = conf.authz is None or group_result(conf.authz, client) == GRANTED
    if conf.access is None:
        return authz_ok
    compat_ok = compat_allows(conf.access, client)
    if conf.satisfy == "any":
        return compat_ok or authz_ok
    return compat_ok and authz_ok


def _grants_everyone(item) -> bool:
    return (isinstance(item, Rule) and item.provider == "all" and not item.negate and item.methods is None
            and item.args[:1] and item.args[0].lower() == "granted")


def open_to_all(conf: DirConf) -> bool:
    """True when no rule can deny anyone (a fast path: no per-request evaluation needed)."""
    if conf.access is not None:
        return False
    if conf.authz is None:
        return True
    return conf.authz.kind == "any" and any(_grants_everyone(i) for i in conf.authz.items)
