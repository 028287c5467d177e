"""validate(): names, contexts, arity, status and values, with Apache's wording (spec 2, 2.1, 2.2).

Trees are built by hand here so these tests do not depend on the grammar or the loader."""
from __future__ import annotations

import pwd

import pytest

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.model import Listener
from httpdw.config.tree import ConfigTree, Node
from httpdw.config.validate import Scope, arity_ok, validate
from httpdw.config.registry import Syntax


class Lines:
    """Makes nodes with increasing line numbers, in the order the calls are written."""

    def __init__(self) -> None:
        self.line = 0

    def d(self, name: str, args: str = "") -> Node:
        self.line += 1
        return Node(name, args, Pos("t.conf", self.line))

    def s(self, name: str, args: str, *children_fns) -> Node:
        self.line += 1
        node = Node(name, args, Pos("t.conf", self.line), children=[])
        node.children = [fn() for fn in children_fns]
        return node


def run(*nodes: Node, server_root: str = "/tmp", loaded: tuple[str, ...] = ()) -> tuple[Diagnostics, object]:
    """Validate `nodes`; `loaded` names the modules LoadModule'd (httpdw's own are always loaded)."""
    diags = Diagnostics()
    modules = {m: Node("LoadModule", f"{m} x.so", Pos("t.conf", 1)) for m in loaded}
    result = validate(ConfigTree(nodes=list(nodes), server_root=server_root, loaded_modules=modules), diags)
    return diags, result


def messages(diags: Diagnostics) -> list[str]:
    return [d.message for d in diags.errors]


def one(name: str, args: str = "") -> Diagnostics:
    return run(Node(name, args, Pos("t.conf", 1)))[0]


# --------------------------------------------------------------------------- unknown names

def test_unknown_directive_uses_apaches_wording_and_suggests() -> None:
    diags = one("ThreadsPerChlid", "25")
    [err] = diags.errors
    assert err.code == "HDW0101"
    assert err.message == ("Invalid command 'ThreadsPerChlid', perhaps misspelled or defined by a module not "
                           "included in the server configuration")
    assert "ThreadsPerChild" in err.hint
    assert err.pos == Pos("t.conf", 1)


def test_name_with_equals_is_unknown_with_a_fix() -> None:
    [err] = one("ThreadsPerChild=25").errors
    assert err.message.startswith("Invalid command 'ThreadsPerChild=25'")
    assert "'ThreadsPerChild'" in err.hint and "first blank" in err.hint


def test_unknown_section_is_shown_with_its_bracket() -> None:
    diags, _ = run(Node("Directroy", "/", Pos("t.conf", 1), children=[]))
    [err] = diags.errors
    assert err.message.startswith("Invalid command '<Directroy'")
    assert "<Directory>" in err.hint


def test_names_are_case_insensitive() -> None:
    assert not one("threadsperchild", "5").items
    assert not one("THREADSPERCHILD", "5").items


def test_a_directive_name_used_as_a_section_is_unknown() -> None:
    diags, _ = run(Node("ThreadsPerChild", "5", Pos("t.conf", 1), children=[]))
    assert diags.errors[0].code == "HDW0101"


# --------------------------------------------------------------------------- contexts (spec 2.1)

def test_server_directive_inside_directory_types() -> None:
    for section in ("Directory", "Location", "Files", "DirectoryMatch", "LocationMatch", "FilesMatch", "If"):
        L = Lines()
        diags, _ = run(L.s(section, "/", lambda: L.d("ThreadsPerChild", "5")))
        assert messages(diags) == [f"ThreadsPerChild not allowed in <{section}> context"], section
        assert diags.errors[0].code == "HDW0102"


def test_innermost_directory_section_is_named() -> None:
    L = Lines()
    diags, _ = run(L.s("VirtualHost", "*:80", lambda: L.s("Directory", "/", lambda: L.s(
        "Limit", "GET", lambda: L.d("Listen", "80")))))
    assert messages(diags) == ["Listen not allowed in <Limit> context"]


def test_global_only_inside_virtualhost() -> None:
    L = Lines()
    diags, _ = run(L.s("VirtualHost", "*:80", lambda: L.d("ThreadsPerChild", "5"), lambda: L.d("User", "nobody"),
                       lambda: L.d("Listen", "80"), lambda: L.d("PidFile", "x")))
    assert messages(diags) == [f"{n} cannot occur within <VirtualHost> section"
                               for n in ("ThreadsPerChild", "User", "Listen", "PidFile")]


def test_virtualhost_inside_virtualhost() -> None:
    L = Lines()
    diags, _ = run(L.s("VirtualHost", "*:80", lambda: L.s("VirtualHost", "*:81")))
    assert messages(diags) == ["<VirtualHost> cannot occur within <VirtualHost> section"]


def test_context_check_comes_before_value_and_arity_checks() -> None:
    L = Lines()
    diags, _ = run(L.s("VirtualHost", "*:80", lambda: L.d("ListenBacklog", "0")),
                   L.s("Directory", "/", lambda: L.d("ThreadsPerChild", "")))
    assert messages(diags) == ["ListenBacklog cannot occur within <VirtualHost> section",
                               "ThreadsPerChild not allowed in <Directory> context"]


def test_limit_at_top_level_and_directory_only_directives() -> None:
    L = Lines()
    diags, _ = run(L.s("Limit", "GET"), L.d("AllowOverride", "None"),
                   L.s("VirtualHost", "*:80", lambda: L.d("AllowOverride", "None"), lambda: L.s("Limit", "GET")))
    assert messages(diags) == ["<Limit not allowed here", "AllowOverride not allowed here",
                               "AllowOverride not allowed in <VirtualHost> context",
                               "<Limit not allowed in <VirtualHost> context"]


def test_section_nesting_rules() -> None:
    L = Lines()
    diags, _ = run(L.s("Location", "/", lambda: L.s("Files", "x")),
                   L.s("Directory", "/", lambda: L.s("Limit", "GET", lambda: L.s("If", "true"))),
                   L.s("Location", "/", lambda: L.s("Location", "/x")),
                   L.s("Files", "x", lambda: L.s("Directory", "/")),
                   L.s("Directory", "/", lambda: L.s("Files", "x", lambda: L.s("Limit", "GET"))))
    assert messages(diags) == ["<Files> cannot occur within <Location> section",
                               "<If> cannot occur within <Limit> or <LimitExcept> section",
                               "<Location not allowed in <Location> context",
                               "<Directory not allowed in <Files> context"]


def test_conditional_wrappers_are_transparent() -> None:
    L = Lines()
    diags, result = run(L.s("IfModule", "worker.c", lambda: L.d("ThreadsPerChild", "30")),
                        L.s("VirtualHost", "*:80", lambda: L.s("IfModule", "x", lambda: L.d("StartServers", "2"))))
    assert messages(diags) == ["StartServers cannot occur within <VirtualHost> section"]
    assert [v for v, _ in result.server_values["ThreadsPerChild"]] == [30]


def test_else_needs_a_previous_if() -> None:
    L = Lines()
    diags, _ = run(L.s("Else", ""), L.s("If", "true"), L.s("ElseIf", "false"), L.s("Else", ""))
    assert messages(diags) == ["<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope"]
    assert diags.errors[0].pos.line == 1


# --------------------------------------------------------------------------- arity (spec 2, 2.2)

@pytest.mark.parametrize("args", ["", '""', "''", "5 6", "5 # comment"])
def test_take1_arity_wording(args: str) -> None:
    [err] = one("ThreadsPerChild", args).errors
    assert err.code == "HDW0103"
    assert err.message == "ThreadsPerChild takes one argument, Number of threads each child creates"


def test_flag_arity_wording() -> None:
    assert messages(one("KeepAlive", "maybe")) == ["KeepAlive must be On or Off"]


def test_section_requires_arguments() -> None:
    for name in ("Directory", "Location", "Files", "FilesMatch", "VirtualHost", "If", "ElseIf"):
        diags, _ = run(Node(name, "", Pos("t.conf", 1), children=[]), Node(name, "", Pos("t.conf", 2), children=[])) \
            if name == "ElseIf" else run(Node(name, "", Pos("t.conf", 1), children=[]))
        assert f"<{name}> directive requires additional arguments" in messages(diags), name
    assert not run(Node("Directory", '""', Pos("t.conf", 1), children=[]))[0].errors   # raw text is not empty


@pytest.mark.parametrize("syntax,words,ok", [
    (Syntax.TAKE1, ["a"], True), (Syntax.TAKE1, [""], False), (Syntax.TAKE1, ["a", "b"], False),
    (Syntax.TAKE2, ["a", "b"], True), (Syntax.TAKE2, ["a", ""], False), (Syntax.TAKE2, ["a"], False),
    (Syntax.TAKE12, ["a"], True), (Syntax.TAKE12, ["a", ""], True), (Syntax.TAKE12, ["a", "b", "c"], False),
    (Syntax.TAKE3, ["a", "b", "c"], True), (Syntax.TAKE3, ["a", "b"], False),
    (Syntax.TAKE23, ["a", "b"], True), (Syntax.TAKE23, ["a"], False),
    (Syntax.TAKE123, ["a", "b", "c"], True), (Syntax.TAKE123, [], False),
    (Syntax.TAKE13, ["a"], True), (Syntax.TAKE13, ["a", "b"], False), (Syntax.TAKE13, ["a", "b", "c"], True),
    (Syntax.NO_ARGS, [], True), (Syntax.NO_ARGS, [""], False),
    (Syntax.FLAG, ["ON"], True), (Syntax.FLAG, ["yes"], False),
    (Syntax.ITERATE, ["a", "b"], True), (Syntax.ITERATE, [""], False),
    (Syntax.ITERATE2, ["a", "b"], True), (Syntax.ITERATE2, ["a"], False),
    (Syntax.RAW_ARGS, [], True), (Syntax.TAKE_ARGV, [], True),
])
def test_arity_rules(syntax: Syntax, words: list[str], ok: bool) -> None:
    assert arity_ok(syntax, words) is ok


# --------------------------------------------------------------------------- status

def test_ignored_refused_not_applicable_removed() -> None:
    L = Lines()
    diags, result = run(L.d("php_value", "x 1"), L.d("RewriteEngine", "on"), L.d("MaxSpareServers", "5"),
                        L.d("AcceptMutex", "fcntl"), L.d("SSLEngine", "on"),
                        L.s("Proxy", "*", lambda: L.d("NoSuchThing", "x")), L.d("Header", "set X y"),
                        loaded=("php7_module", "rewrite_module", "mpm_prefork_module", "ssl_module", "proxy_module",
                                "headers_module"))
    codes = [(d.code, d.severity.value, d.pos.line) for d in diags]
    assert codes == [("HDW0105", "warning", 1), ("HDW0106", "error", 2), ("HDW0109", "warning", 3),
                     ("HDW0106", "error", 5), ("HDW0106", "error", 6), ("HDW0105", "warning", 8)]
    assert diags.items[0].message == "php_value is a directive of mod_php, which httpdw does not implement: ignored"
    assert "mod_rewrite" in diags.items[1].message and diags.items[1].hint
    assert "prefork" in diags.items[2].message
    assert result.server_values["AcceptMutex"][0][0] == "fcntl"      # REMOVED: accepted and parsed


def test_every_diagnostic_has_a_position_and_a_hint() -> None:
    L = Lines()
    diags, _ = run(L.d("Bogus"), L.d("ThreadsPerChild"), L.d("RewriteRule", "^ x"), L.d("Listen", "abc"),
                   L.s("VirtualHost", "*:80", lambda: L.d("ServerLimit", "3")), L.d("MaxSpareServers", "1"),
                   L.d("ThreadLimit", "12x"))
    assert len(diags) == 7
    for d in diags:
        assert d.pos is not None and d.hint, d


# --------------------------------------------------------------------------- values and results

def test_server_values_fold_aliases_in_file_order() -> None:
    L = Lines()
    diags, result = run(L.d("MaxClients", "150"), L.d("MaxRequestWorkers", "200"), L.d("MaxRequestsPerChild", "7"),
                        L.s("VirtualHost", "*:80", lambda: L.d("ServerName", "v")), L.d("ServerName", "main"))
    assert not diags.errors
    assert [(v, n.name) for v, n in result.server_values["MaxRequestWorkers"]] == [
        (150, "MaxClients"), (200, "MaxRequestWorkers")]
    assert result.last("MaxRequestWorkers") == 200
    assert result.last("MaxConnectionsPerChild") == 7
    assert [v for v, _ in result.server_values["ServerName"]] == ["main"]   # the vhost's is not server level


def test_value_of_any_node() -> None:
    vh_name = Node("ServerName", "v.example", Pos("t.conf", 2))
    tree = [Node("VirtualHost", "*:80", Pos("t.conf", 1), children=[vh_name]), Node("ThreadsPerChild", "9", Pos("t.conf", 3))]
    diags, result = run(*tree)
    assert result.value_of(vh_name) == "v.example"
    assert result.value_of(tree[1]) == 9
    assert result.value_of(Node("ThreadsPerChild", "9", Pos("t.conf", 3))) is None   # a node it never saw
    assert result.spec_of(tree[1]).name == "ThreadsPerChild"


def test_nodes_with_errors_are_not_server_values() -> None:
    L = Lines()
    diags, result = run(L.d("ListenBacklog", "0"), L.d("ListenBacklog", "100"))
    assert messages(diags) == ["ListenBacklog must be > 0"]
    assert [v for v, _ in result.server_values["ListenBacklog"]] == [100]


@pytest.mark.parametrize("args,message", [
    ("", "Listen requires 1 or 2 arguments."), ("80 http x", "Listen requires 1 or 2 arguments."),
    ("0", "Invalid address or port"), ("65536", "Invalid address or port"), (":80", "Invalid address or port"),
    ("[::1", "Invalid address or port"), ("abc", "Port must be specified"), ("127.0.0.1", "Port must be specified"),
    ("-1", "Port must be specified"), ("[::1]", "Port must be specified"),
])
def test_listen_errors(args: str, message: str) -> None:
    assert messages(one("Listen", args)) == [message]


def test_listen_values_and_duplicates() -> None:
    L = Lines()
    diags, result = run(L.d("Listen", "80"), L.d("Listen", "0.0.0.0:80"), L.d("Listen", "[::1]:8443 HTTPS"),
                        L.d("Listen", "443"), L.d("Listen", "*:8080"), L.d("Listen", "127.0.0.1:80"),
                        L.d("Listen", "127.0.0.1:80"))
    assert messages(diags) == ["Cannot define multiple Listeners on the same IP:port"]
    assert diags.errors[0].pos.line == 7 and diags.errors[0].related == (Pos("t.conf", 6),)
    got = [v for v, _ in result.server_values["Listen"]]
    assert [(x.host, x.port, x.proto) for x in got] == [
        (None, 80, "http"), ("0.0.0.0", 80, "http"), ("::1", 8443, "https"), (None, 443, "https"),
        (None, 8080, "http"), ("127.0.0.1", 80, "http")]
    assert all(isinstance(x, Listener) for x in got)


def test_user_and_group() -> None:
    some_user = next(p for p in pwd.getpwall() if p.pw_uid != 0)
    assert not one("User", some_user.pw_name).items
    assert not one("Group", "root").items        # root group is fine, as in Apache
    [err] = one("User", "no-such-user-xyz").errors
    assert (err.code, err.message) == ("AH00543", "httpdw: bad user name no-such-user-xyz")
    [err] = one("Group", "no-such-group-xyz").errors
    assert (err.code, err.message) == ("AH00544", "httpdw: bad group name no-such-group-xyz")
    for root in ("root", "#0", "#abc"):
        [err] = one("User", root).errors
        assert err.message.startswith("Error: Apache has not been designed to serve pages while running as root.")


def test_mutex(tmp_path) -> None:
    L = Lines()
    diags, result = run(L.d("Mutex", f"file:{tmp_path} mpm-accept"), L.d("Mutex", "default"),
                        L.d("Mutex", "sem OmitPID"), L.d("Mutex", "default watchdog-callback"),
                        server_root=str(tmp_path))
    assert not diags.items
    got = [v for v, _ in result.server_values["Mutex"]]
    assert (got[0].mechanism, got[0].directory, got[0].types) == ("fcntl", str(tmp_path), ("mpm-accept",))
    assert got[1].types == ("default",) and got[2].omit_pid and got[2].mechanism == "posixsem"
    mechs = ("(Mutex mechanisms are: 'none', 'default', 'flock:/path/to/file', 'fcntl:/path/to/file', "
             "'file:/path/to/file', 'pthread', 'sysvsem', 'posixsem', 'sem')")
    for args, message in [("", f"Mutex requires at least a mechanism argument {mechs}"),
                          ("bogus", f"Invalid Mutex argument bogus {mechs}"),
                          ("file:/no/such/dir", "Invalid Mutex directory in argument file:/no/such/dir"),
                          ("default nosuchtype", "Mutex type nosuchtype is not valid"),
                          ("none", "None is not allowed for mutex type default"),
                          ("none mpm-accept", "None is not allowed for mutex type mpm-accept")]:
        assert messages(one("Mutex", args)) == [message], args


def test_log_level() -> None:
    L = Lines()
    diags, result = run(L.d("LogLevel", "INFO mpm_worker:debug"), L.d("LogLevel", "bogus"),
                        L.d("LogLevel", "info ssl:warn"), L.d("LogLevel", "info core:bogus"))
    assert messages(diags) == [
        "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8",
        "Cannot find module ssl",
        "core:bogus: Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8"]
    assert result.server_values["LogLevel"][0][0] == ["info", "mpm_worker:debug"]


def test_server_name_port_range() -> None:
    assert not one("ServerName", "www.example.com:8080").items
    assert not one("ServerName", "[::1]").items
    assert messages(one("ServerName", "x:0")) == [
        'The port number "x:0" is outside the appropriate range (i.e., 1..65535).']


def test_a_parser_crash_is_a_diagnostic_not_a_traceback() -> None:
    from httpdw.config.registry import registry
    spec = registry().get("ThreadsPerChild")
    original = spec.parse

    def broken(words, node, diags):
        raise RuntimeError("boom")

    object.__setattr__(spec, "parse", broken)   # the spec is frozen: patch it for this test only
    try:
        [err] = one("ThreadsPerChild", "5").errors
        assert "boom" in err.message and err.hint
    finally:
        object.__setattr__(spec, "parse", original)


def test_name_virtual_host_warns_like_apache() -> None:
    diags = run(Node("NameVirtualHost", "*:80", Pos("/etc/x.conf", 12)))[0]
    [warning] = diags.items
    assert (warning.code, warning.severity.value) == ("AH00548", "warning")
    assert warning.message == "NameVirtualHost has no effect and will be removed in the next release /etc/x.conf:12"


@pytest.mark.parametrize("section", ["Files", "IfModule"])
def test_absurd_nesting_is_reported_not_a_crash(section: str) -> None:
    root = cur = Node("Directory", "/", Pos("t.conf", 1), children=[])
    for i in range(3000):
        child = Node(section, "x", Pos("t.conf", i + 2), children=[])
        cur.children.append(child)
        cur = child
    diags, _ = run(root)
    assert [d.code for d in diags.errors] == ["HDW0008"]


def test_many_unknown_lines_stay_fast() -> None:
    import time
    nodes = [Node(f"Junk{i}xq", "x", Pos("t.conf", i)) for i in range(5000)]
    started = time.monotonic()
    diags, _ = run(*nodes)
    assert len(diags.errors) == 5000 and all(d.code == "HDW0101" for d in diags.errors)
    assert time.monotonic() - started < 10


def test_arity_message_without_a_description() -> None:
    from httpdw.config.registry import Context, DirectiveSpec
    from httpdw.config.validate import _Validator, ValidationResult
    from httpdw.config.registry import Registry
    reg = Registry()
    reg.declare(DirectiveSpec("NoDesc", "x_module", Syntax.TAKE123, Context.all(), "doc"))
    diags = Diagnostics()
    _Validator(reg, diags, ValidationResult()).walk([Node("NoDesc", "", Pos("t.conf", 1))], Scope())
    assert messages(diags) == ["NoDesc takes one, two or three arguments"]


# --------------------------------------------------------------------------- robustness

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from httpdw.config.registry import registry  # noqa: E402

_NAMES = sorted({s.name.lstrip("<") for s in registry()})
_ARG = st.one_of(st.text(max_size=12), st.sampled_from(["0", "-1", "80", "[::1]:80", "file:/tmp", "none",
                                                         "On", '""', "#0", "root", "99999999999999999999",
                                                         "mpm-accept", "ssl:warn", "x:0", "١٢"]))


@st.composite
def _nodes(draw, depth: int = 0) -> Node:
    name = draw(st.one_of(st.sampled_from(_NAMES), st.text(min_size=1, max_size=10)))
    args = " ".join(draw(st.lists(_ARG, max_size=4)))
    line = draw(st.integers(min_value=1, max_value=10_000))
    if depth < 3 and draw(st.booleans()):
        children = draw(st.lists(_nodes(depth + 1), max_size=4))
        return Node(name, args, Pos("fuzz.conf", line), children=children)
    return Node(name, args, Pos("fuzz.conf", line))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_nodes(), max_size=8))
def test_any_tree_validates_without_raising(nodes) -> None:
    diags = Diagnostics()
    result = validate(ConfigTree(nodes=nodes, server_root="/tmp"), diags)
    for d in diags:
        assert d.pos is not None and d.hint and d.message
        assert "could not read the value" not in d.message, d   # no parser crashed
    for entries in result.server_values.values():
        assert all(isinstance(node, Node) for _, node in entries)


def test_an_ignored_directive_warns_once_with_its_other_lines() -> None:
    L = Lines()
    diags, _ = run(L.d("AddIcon", "/a.gif .a"), L.d("ThreadsPerChild", "x5"), L.d("AddIcon", "/b.gif .b"),
                   L.s("Directory", "/", lambda: L.d("AddIcon", "/c.gif .c")), L.d("MaxSpareServers", "3"),
                   loaded=("autoindex_module", "mpm_prefork_module"))
    assert [(d.code, d.pos.line) for d in diags] == [("HDW0105", 1), ("HDW0111", 2), ("HDW0109", 6)]
    warning = diags.items[0]
    assert warning.message.endswith("ignored (also on 2 other lines)")
    assert warning.related == (Pos("t.conf", 3), Pos("t.conf", 5))


def test_mutex_types_of_modules_need_the_module(tmp_path) -> None:
    node = Node("Mutex", "none ssl-cache", Pos("t.conf", 1))
    diags = Diagnostics()
    validate(ConfigTree(nodes=[node], server_root=str(tmp_path)), diags)
    assert messages(diags) == ["Mutex type ssl-cache is not valid"]
    diags = Diagnostics()
    validate(ConfigTree(nodes=[node], server_root=str(tmp_path),
                        loaded_modules={"ssl_module": Node("LoadModule", "ssl_module x", Pos("t.conf", 1))}), diags)
    assert not diags.items
    assert messages(one("Mutex", "default MPM-ACCEPT")) == ["Mutex type MPM-ACCEPT is not valid"]


def test_parsers_can_see_their_enclosing_sections(monkeypatch) -> None:
    from httpdw.config import values
    from httpdw.config.registry import registry
    seen = []
    spec = registry().get("ServerAdmin")
    original = spec.parse

    def spy(words, node, diags):
        seen.append((values.enclosing_sections(), values.in_virtual_host()))
        return original(words, node, diags)

    object.__setattr__(spec, "parse", spy)
    try:
        L = Lines()
        run(L.d("ServerAdmin", "a@b"), L.s("VirtualHost", "*:80", lambda: L.s("IfModule", "x", lambda: L.d(
            "ServerAdmin", "c@d"))))
    finally:
        object.__setattr__(spec, "parse", original)
    assert seen == [((), False), (("VirtualHost",), True)]


def test_section_messages_use_the_declared_spelling() -> None:
    diags, _ = run(Node("directory", "", Pos("t.conf", 1), children=[]))
    assert messages(diags) == ["<Directory> directive requires additional arguments"]


def test_a_directive_of_a_module_not_loaded_is_unknown_as_in_apache() -> None:
    L = Lines()
    diags, _ = run(L.d("ExpiresActive", "On"), L.d("RewriteEngine", "On"), L.d("MaxSpareServers", "5"),
                   L.d("php_value", "a b"))
    assert [(d.code, d.severity.value) for d in diags] == [("HDW0107", "error")] * 4
    assert messages(diags)[0] == ("Invalid command 'ExpiresActive', perhaps misspelled or defined by a module not "
                                  "included in the server configuration")
    assert "mod_expires" in diags.items[0].hint and "expires_module" in diags.items[0].hint
    diags, _ = run(L.d("ExpiresActive", "On"), L.d("php_value", "a b"), loaded=("expires_module", "php5_module"))
    assert [d.code for d in diags] == ["HDW0105", "HDW0105"]


def test_unimplemented_directive_of_a_module_httpdw_provides_says_so() -> None:
    diags, _ = run(Node("AccessFileName", ".acl", Pos("t.conf", 1)))
    assert messages(diags) == [] and diags.items[0].message == (
        "AccessFileName is a directive of Apache's core, which httpdw implements only in part: ignored")
