"""The registry: one declaration per directive, Apache's descriptions, the known-directive data and policy.

The tests marked `apache` run the real apache2 as the oracle: for each declaration the same wrong
line is given to `apache2 -t` and to validate(), and the error texts must be identical."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from httpdw.config.diagnostics import Diagnostics, Pos
from httpdw.config.directives import apache_known
from httpdw.config.registry import Context, Status, Syntax, registry
from httpdw.config.tree import ConfigTree, Node
from httpdw.config.validate import validate

WORKER_DIRECTIVES = ("AcceptMutex CoreDumpDirectory EnableExceptionHook Group Listen ListenBacklog LockFile "
                     "MaxClients MaxMemFree MaxRequestsPerChild MaxSpareThreads MinSpareThreads PidFile "
                     "ReceiveBufferSize ScoreBoardFile SendBufferSize ServerLimit StartServers ThreadLimit "
                     "ThreadsPerChild User MaxRequestWorkers MaxConnectionsPerChild Mutex GracefulShutdownTimeout "
                     "ThreadStackSize ListenCoresBucketsRatio").split()
CORE_SECTIONS = ("Directory DirectoryMatch Files FilesMatch Location LocationMatch VirtualHost If ElseIf Else "
                 "Limit LimitExcept IfModule IfDefine IfVersion IfDirective IfSection IfFile").split()


def test_every_worker_directive_is_declared_with_both_vocabularies() -> None:
    reg = registry()
    for name in WORKER_DIRECTIVES:
        spec = reg.get(name)
        assert spec is not None and spec.status in (Status.IMPLEMENTED, Status.REMOVED), name
        assert spec.global_only and spec.contexts == Context.SERVER | Context.VHOST, name
        assert spec.doc and spec.desc, name
    assert reg.get("MaxClients").alias_of == "MaxRequestWorkers"
    assert reg.get("MaxRequestsPerChild").alias_of == "MaxConnectionsPerChild"
    for removed in ("AcceptMutex", "LockFile", "EnableExceptionHook"):
        assert reg.get(removed).status is Status.REMOVED and "2.4" in reg.get(removed).note


def test_core_sections_are_sections() -> None:
    for name in CORE_SECTIONS:
        spec = registry().get(name)
        assert spec is not None and spec.section and spec.name == f"<{name}", name


CORE_DIRECTIVES = ("ServerRoot Include IncludeOptional Define UnDefine Error LoadModule LoadFile ErrorLog LogLevel "
                   "ServerName ServerAdmin DefaultRuntimeDir").split()


def test_descriptions_are_apaches_own() -> None:
    """The declarations of core.py and mpm.py carry Apache's command-table descriptions; so do the
    directives registered from the data files."""
    checked = 0
    for spec in registry():
        facts = apache_known.apache_facts(spec.name)
        mine = spec.name in WORKER_DIRECTIVES + CORE_DIRECTIVES or spec.name.lstrip("<") in CORE_SECTIONS
        if facts is None or spec.status is Status.REMOVED or not (mine or spec.status is not Status.IMPLEMENTED):
            continue
        assert spec.desc == facts.desc, spec.name
        checked += 1
    assert checked > 500


def test_known_data_is_complete_and_well_formed() -> None:
    rows = apache_known.known_directives()
    names = {r.name for r in rows}
    assert {"RewriteRule", "SSLEngine", "<Proxy", "ProxyPass", "Header", "MaxSpareServers",
            "AsyncRequestWorkerFactor", "php_value", "WSGIScriptAlias"} <= names
    for r in rows:
        assert r.name and r.module.endswith("_module") and r.source.endswith(".c"), r
        assert r.allowed.startswith(("anywhere", "only outside", "only inside")), r


@pytest.mark.parametrize("name,status,module", [
    ("RewriteRule", Status.REFUSED, "rewrite_module"), ("SSLCertificateFile", Status.REFUSED, "ssl_module"),
    ("ProxyPass", Status.REFUSED, "proxy_module"), ("<Proxy", Status.REFUSED, "proxy_module"),
    ("AuthType", Status.REFUSED, "authn_core_module"), ("AuthUserFile", Status.REFUSED, "authn_file_module"),
    ("RemoteIPHeader", Status.REFUSED, "remoteip_module"), ("SecRuleEngine", Status.REFUSED, "security2_module"),
    ("WSGIScriptAlias", Status.REFUSED, "wsgi_module"), ("WSGIDaemonProcess", Status.IGNORED, "wsgi_module"),
    ("php_value", Status.IGNORED, "php_module"), ("php_admin_flag", Status.IGNORED, "php_module"),
    ("ExpiresActive", Status.IGNORED, "expires_module"), ("AddOutputFilterByType", Status.IGNORED, "filter_module"),
    ("Use", Status.REFUSED, "macro_module"), ("<Macro", Status.IGNORED, "macro_module"),
    ("<Perl", Status.REFUSED, "perl_module"), ("PerlSetVar", Status.IGNORED, "perl_module"),
    ("TKTAuthSecret", Status.REFUSED, "auth_tkt_module"), ("RPAF_Enable", Status.REFUSED, "rpaf_module"),
    ("FcgidWrapper", Status.REFUSED, "fcgid_module"), ("FcgidIOTimeout", Status.IGNORED, "fcgid_module"),
    ("MaxSpareServers", Status.NOT_APPLICABLE, "mpm_prefork_module"),
    ("MinSpareServers", Status.NOT_APPLICABLE, "mpm_prefork_module"),
    ("AsyncRequestWorkerFactor", Status.NOT_APPLICABLE, "mpm_event_module"),
    ("ListenTCPDeferAccept", Status.IMPLEMENTED, "mpm_worker_module"),
    ("AcceptFilter", Status.IMPLEMENTED, "core"),
    ("MaxThreads", Status.NOT_APPLICABLE, "mpm_netware_module"),
    ("StrictHostCheck", Status.REFUSED, "core"), ("AccessFileName", Status.IGNORED, "core"),
    ("AssignUserID", Status.NOT_APPLICABLE, "mpm_itk_module"),
])
def test_classification(name: str, status: Status, module: str) -> None:
    spec = registry().get(name)
    assert spec is not None, name
    assert (spec.status, spec.module) == (status, module)
    if status is not Status.IMPLEMENTED:
        assert spec.note, name      # the reason is shown to the user


def test_every_known_name_is_registered_once() -> None:
    reg = registry()
    for row in apache_known.known_directives():
        assert reg.get(row.name) is not None, row.name
    assert len({s.key for s in reg}) == len(reg)


def test_contexts_from_allowed() -> None:
    f = apache_known.contexts_from_allowed
    assert f("only outside <Directory>, <Files>, <Location>, or <If>", "") == Context.SERVER | Context.VHOST
    assert f("anywhere", "") == Context.SERVER | Context.VHOST | Context.DIRECTORY
    assert f("anywhere and in .htaccess", "when AllowOverride isn't None") == Context.all()
    assert f("only inside <Directory>, <Files>, <Location>, or <If>", "") == Context.DIRECTORY


# --------------------------------------------------------------------------- real Apache as the oracle

APACHE = shutil.which("apache2")
MODULE_DIR = "/usr/lib/apache2/modules"
BUILT_IN = {"core", "core_module", "so_module", "http_module", "log_config_module", "logio_module",
            "version_module", "unixd_module", "watchdog_module", "mpm_worker_module"}
needs_apache = pytest.mark.skipif(APACHE is None, reason="apache2 is not installed")


def apache_error(tmp_path, lines: list[str], modules: set[str] = frozenset()) -> str:
    """The first error `apache2 -t` reports for a config of `lines` (worker MPM), message only."""
    conf = tmp_path / "t.conf"
    head = [f"ServerRoot {tmp_path}", f"LoadModule mpm_worker_module {MODULE_DIR}/mod_mpm_worker.so"]
    head += [f"LoadModule {m} {MODULE_DIR}/mod_{m[:-len('_module')]}.so" for m in sorted(modules)]
    (tmp_path / "logs").mkdir(exist_ok=True)
    conf.write_text("\n".join(head + lines + ["ServerName localhost", "ErrorLog /dev/null"]) + "\n")
    proc = subprocess.run([APACHE, "-t", "-f", str(conf)], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "LANG": "C"})
    out = [ln for ln in proc.stderr.splitlines() if not ln.startswith("AH00558")]
    if proc.returncode == 0:
        return ""
    text = out[-1] if out and not out[-1].startswith("AH00526") else ""
    joined = "\n".join(out)
    m = re.search(r"Syntax error on line \d+ of [^:]+:\s*\n?(.*)", joined)
    return (m.group(1).strip() if m else text).strip()


def httpdw_error(lines: list[Node], server_root: str) -> str:
    diags = Diagnostics()
    validate(ConfigTree(nodes=lines, server_root=server_root), diags)
    return diags.errors[0].message if diags.errors else ""


def wrong_arity_args(syntax: Syntax) -> str | None:
    """An argument text that breaks the syntax's count (None: the handler counts, not the table)."""
    return {Syntax.TAKE1: "", Syntax.TAKE2: "a", Syntax.TAKE3: "a b", Syntax.TAKE12: "",
            Syntax.TAKE23: "a", Syntax.TAKE123: "", Syntax.TAKE13: "a b", Syntax.NO_ARGS: "x",
            Syntax.FLAG: "maybe", Syntax.ITERATE: "", Syntax.ITERATE2: "a"}.get(syntax)


def arity_cases() -> list[tuple[str, str]]:
    """Every implemented declaration whose module apache2 can load alone, with a wrong argument text."""
    cases = []
    for spec in registry():
        if spec.section or spec.status is not Status.IMPLEMENTED:
            continue
        args = wrong_arity_args(spec.syntax)
        module = spec.module if spec.module != "core" else "core_module"
        if args is None:
            continue
        if module not in BUILT_IN and not os.path.exists(f"{MODULE_DIR}/mod_{module[:-len('_module')]}.so"):
            continue
        cases.append((spec.name, args))
    return cases


#: declarations whose Syntax differs from Apache's command table, to be fixed by their owners
#: (strict: the test starts failing once the declaration is fixed, so this list stays honest)
ARITY_KNOWN_WRONG = {
}


def arity_params() -> list:
    return [pytest.param(name, args, marks=pytest.mark.xfail(reason=ARITY_KNOWN_WRONG[name], strict=True))
            if name in ARITY_KNOWN_WRONG else (name, args) for name, args in arity_cases()]


@pytest.mark.apache
@needs_apache
@pytest.mark.parametrize("name,args", arity_params())
def test_arity_message_matches_apache(tmp_path, name: str, args: str) -> None:
    spec = registry().get(name)
    module = spec.module if spec.module != "core" else "core_module"
    modules = set() if module in BUILT_IN else {module}
    in_dir = not spec.contexts & Context.SERVER
    lines = [f"{name} {args}"] if not in_dir else ["<Directory />", f"{name} {args}", "</Directory>"]
    expected = apache_error(tmp_path, lines, modules)
    node = Node(name, args, Pos("t.conf", 3))
    tree = [node] if not in_dir else [Node("Directory", "/", Pos("t.conf", 3), children=[node])]
    assert httpdw_error(tree, str(tmp_path)) == expected


#: (config lines, as nodes for validate()) -> the first error must be the same text as Apache's
def _d(name: str, args: str = "") -> Node:
    return Node(name, args, Pos("t.conf", 3))


def _s(name: str, args: str, *children: Node) -> Node:
    return Node(name, args, Pos("t.conf", 3), children=list(children))


VALUE_CASES = [
    (["ListenBacklog 0"], [_d("ListenBacklog", "0")]),
    (["ListenBacklog abc"], [_d("ListenBacklog", "abc")]),
    (["ListenCoresBucketsRatio 0"], [_d("ListenCoresBucketsRatio", "0")]),
    (["SendBufferSize 100"], [_d("SendBufferSize", "100")]),
    (["ReceiveBufferSize 511"], [_d("ReceiveBufferSize", "511")]),
    (["SendBufferSize abc"], [_d("SendBufferSize", "abc")]),
    (["MaxMemFree -1"], [_d("MaxMemFree", "-1")]),
    (["ThreadStackSize 99999999999999999999"], [_d("ThreadStackSize", "99999999999999999999")]),
    (["ThreadStackSize abc"], [_d("ThreadStackSize", "abc")]),
    (["Listen"], [_d("Listen")]),
    (["Listen 80 http x"], [_d("Listen", "80 http x")]),
    (["Listen 0"], [_d("Listen", "0")]),
    (["Listen 65536"], [_d("Listen", "65536")]),
    (["Listen abc"], [_d("Listen", "abc")]),
    (["Listen 127.0.0.1"], [_d("Listen", "127.0.0.1")]),
    (["Listen -1"], [_d("Listen", "-1")]),
    (["Listen [::1]"], [_d("Listen", "[::1]")]),
    (["Listen 127.0.0.1:8080", "Listen 127.0.0.1:8080"], [_d("Listen", "127.0.0.1:8080"), _d("Listen", "127.0.0.1:8080")]),
    (["Listen 8080", "Listen 0.0.0.0:8080"], [_d("Listen", "8080"), _d("Listen", "0.0.0.0:8080")]),
    (["Listen *:8080", "Listen 8080"], [_d("Listen", "*:8080"), _d("Listen", "8080")]),
    (["Listen 8080 http", "Listen 8080 https"], [_d("Listen", "8080 http"), _d("Listen", "8080 https")]),
    (["Listen [::1]:8080", "Listen [0:0::1]:8080"], [_d("Listen", "[::1]:8080"), _d("Listen", "[0:0::1]:8080")]),
    (["Listen 127.0.0.1:8080", "Listen 127.000.0.1:8080"],
     [_d("Listen", "127.0.0.1:8080"), _d("Listen", "127.000.0.1:8080")]),
    (["Mutex"], [_d("Mutex")]),
    (["Mutex bogus"], [_d("Mutex", "bogus")]),
    (["Mutex file:/no/such/dir"], [_d("Mutex", "file:/no/such/dir")]),
    (["Mutex default bogus-type"], [_d("Mutex", "default bogus-type")]),
    (["Mutex none mpm-accept"], [_d("Mutex", "none mpm-accept")]),
    (["Mutex none"], [_d("Mutex", "none")]),
    (["Mutex sysvsem mpm-accept OmitPID"], [_d("Mutex", "sysvsem mpm-accept OmitPID")]),
    (["Mutex default MPM-ACCEPT"], [_d("Mutex", "default MPM-ACCEPT")]),
    (["Mutex default ssl-cache"], [_d("Mutex", "default ssl-cache")]),
    (["Mutex default watchdog-callback"], [_d("Mutex", "default watchdog-callback")]),
    (["Mutex posixsem:/no/such/dir"], [_d("Mutex", "posixsem:/no/such/dir")]),
    (["Mutex none:/no/such/dir mpm-accept"], [_d("Mutex", "none:/no/such/dir mpm-accept")]),
    (["Mutex file:relative-missing"], [_d("Mutex", "file:relative-missing")]),
    (["User no-such-user-xyz"], [_d("User", "no-such-user-xyz")]),
    (["Group no-such-group-xyz"], [_d("Group", "no-such-group-xyz")]),
    (["User root"], [_d("User", "root")]),
    (["User #0"], [_d("User", "#0")]),
    (["Group root"], [_d("Group", "root")]),
    (["CoreDumpDirectory /no/such/dir"], [_d("CoreDumpDirectory", "/no/such/dir")]),
    (["CoreDumpDirectory /etc/passwd"], [_d("CoreDumpDirectory", "/etc/passwd")]),
    (["LogLevel bogus"], [_d("LogLevel", "bogus")]),
    (["LogLevel info nomod:warn"], [_d("LogLevel", "info nomod:warn")]),
    (["LogLevel info core:bogus"], [_d("LogLevel", "info core:bogus")]),
    (["ServerName x:0"], [_d("ServerName", "x:0")]),
    (["ServerName http://x:99999"], [_d("ServerName", "http://x:99999")]),
    (["ThreadsPerChild 5 # c"], [_d("ThreadsPerChild", "5 # c")]),
    (['ThreadsPerChild ""'], [_d("ThreadsPerChild", '""')]),
    (["ThreadsPerChild=25"], [_d("ThreadsPerChild=25")]),
    (["ThreadsPerChlid 25"], [_d("ThreadsPerChlid", "25")]),
    (["AcceptMutex fcntl"], [_d("AcceptMutex", "fcntl")]),  # httpdw accepts it: listed in DIFFERENCES
    (["ExpiresActive On"], [_d("ExpiresActive", "On")]),      # module not loaded: unknown in both
    (["MaxSpareServers 5"], [_d("MaxSpareServers", "5")]),    # prefork's, with worker loaded
    (["<Proxy *>", "</Proxy>"], [_s("Proxy", "*")]),
    (["<Directory />", "ThreadsPerChild 5", "</Directory>"], [_s("Directory", "/", _d("ThreadsPerChild", "5"))]),
    (["<Location />", "Listen 80", "</Location>"], [_s("Location", "/", _d("Listen", "80"))]),
    (["<VirtualHost *:80>", "ListenBacklog 0", "</VirtualHost>"], [_s("VirtualHost", "*:80", _d("ListenBacklog", "0"))]),
    (["<VirtualHost *:80>", "ThreadsPerChild", "</VirtualHost>"], [_s("VirtualHost", "*:80", _d("ThreadsPerChild"))]),
    (["<VirtualHost *:80>", "<VirtualHost *:81>", "</VirtualHost>", "</VirtualHost>"],
     [_s("VirtualHost", "*:80", _s("VirtualHost", "*:81"))]),
    (["<Limit GET>", "</Limit>"], [_s("Limit", "GET")]),
    (["AllowOverride None"], [_d("AllowOverride", "None")]),
    (["<VirtualHost *:80>", "AllowOverride None", "</VirtualHost>"], [_s("VirtualHost", "*:80", _d("AllowOverride", "None"))]),
    (["<Location />", "<Files x>", "</Files>", "</Location>"], [_s("Location", "/", _s("Files", "x"))]),
    (["<Directory />", "<Limit GET>", "<If true>", "</If>", "</Limit>", "</Directory>"],
     [_s("Directory", "/", _s("Limit", "GET", _s("If", "true")))]),
    (["<Else>", "</Else>"], [_s("Else", "")]),
    (["<Directory>", "</Directory>"], [_s("Directory", "")]),
    (["<VirtualHost>", "</VirtualHost>"], [_s("VirtualHost", "")]),
]

#: where httpdw deliberately answers differently from Apache 2.4.71, and why
DIFFERENCES = {
    "AcceptMutex fcntl": "2.4 removed AcceptMutex; httpdw accepts it for 2.0-era configs (issue 2)",
    "User root": "Apache's message spans several lines with tabs; httpdw keeps the words on one line",
    "User #0": "Apache's message spans several lines with tabs; httpdw keeps the words on one line",
    "User no-such-user-xyz": "Apache prints its argv[0] (apache2) in AH00543; httpdw prints httpdw",
    "Group no-such-group-xyz": "Apache prints its argv[0] (apache2) in AH00544; httpdw prints httpdw",
}


@pytest.mark.apache
@needs_apache
@pytest.mark.parametrize("lines,nodes", VALUE_CASES, ids=[" / ".join(c[0]) for c in VALUE_CASES])
def test_first_error_matches_apache(tmp_path, lines: list[str], nodes: list[Node]) -> None:
    expected = apache_error(tmp_path, lines)
    got = httpdw_error(nodes, str(tmp_path))
    key = " / ".join(lines)
    if key in DIFFERENCES:
        if lines[0].startswith("AcceptMutex"):
            assert expected.startswith("Invalid command 'AcceptMutex'") and got == ""
        elif lines[0].startswith("User root") or lines[0].startswith("User #0"):
            assert " ".join(expected.replace("\\t", " ").replace("\\n", " ").split()) == got
        else:
            assert re.sub(r"^AH\d{5}: ", "", expected).replace("apache2:", "httpdw:") == got
        return
    assert got == expected


def loadable(spec) -> set[str] | None:
    """The modules to load for `spec` in apache2 (None: its module is not installed)."""
    module = spec.module if spec.module != "core" else "core_module"
    if module in BUILT_IN:
        return set()
    if os.path.exists(f"{MODULE_DIR}/mod_{module[:-len('_module')]}.so"):
        return {module}
    return None


def context_cases() -> list[str]:
    """Implemented declarations that may not appear in <Directory> (server config only).

    EXEC_ON_READ ones are left out: Apache runs them while reading, with no context check, and the
    loader (not validation) acts on them; test_exec_on_read_directives_have_no_context_check covers them."""
    return [spec.name for spec in registry()
            if spec.status is Status.IMPLEMENTED and not spec.contexts & Context.DIRECTORY
            and not spec.exec_on_read and loadable(spec) is not None]


@pytest.mark.apache
@needs_apache
@pytest.mark.parametrize("name", context_cases())
def test_directory_context_message_matches_apache(tmp_path, name: str) -> None:
    """`X not allowed in <Directory> context` comes before arity and values, for every such declaration."""
    spec = registry().get(name)
    shown = name if not spec.section else name
    line = f"{shown} x" if not spec.section else f"{shown} x>"
    lines = ["<Directory />", line] + ([f"</{name.lstrip('<')}>"] if spec.section else []) + ["</Directory>"]
    expected = apache_error(tmp_path, lines, loadable(spec))
    inner = Node(name.lstrip("<"), "x", Pos("t.conf", 4), children=[] if spec.section else None)
    got = httpdw_error([Node("Directory", "/", Pos("t.conf", 3), children=[inner])], str(tmp_path))
    assert got == expected


@pytest.mark.apache
@needs_apache
def test_exec_on_read_directives_have_no_context_check(tmp_path) -> None:
    """ServerRoot, LoadModule, LoadFile, DefaultRuntimeDir are accepted inside sections, as in Apache."""
    mime = f"{MODULE_DIR}/mod_mime.so"
    lines = [("ServerRoot", str(tmp_path)), ("DefaultRuntimeDir", str(tmp_path)),
             ("LoadModule", f"mime_module {mime}"), ("LoadFile", mime)]
    for section in ("Directory", "VirtualHost"):
        arg = "/" if section == "Directory" else "*:80"
        conf = [f"<{section} {arg}>"] + [f"{n} {a}" for n, a in lines] + [f"</{section}>"]
        assert apache_error(tmp_path, conf) == ""
        nodes = [Node(n, a, Pos("t.conf", 4)) for n, a in lines]
        assert httpdw_error([Node(section, arg, Pos("t.conf", 3), children=nodes)], str(tmp_path)) == ""


def filler(syntax: Syntax) -> str:
    """Arguments that satisfy the syntax's count, so the handler's own checks are reached."""
    return {Syntax.TAKE2: "x y", Syntax.TAKE3: "x y z", Syntax.TAKE23: "x y", Syntax.FLAG: "On",
            Syntax.NO_ARGS: "", Syntax.ITERATE2: "x y"}.get(syntax, "x")


def global_only_cases() -> list[str]:
    return [spec.name for spec in registry()
            if spec.status is Status.IMPLEMENTED and spec.global_only and loadable(spec) is not None]


@pytest.mark.apache
@needs_apache
@pytest.mark.parametrize("name", global_only_cases())
def test_virtualhost_message_matches_apache(tmp_path, name: str) -> None:
    """`X cannot occur within <VirtualHost> section` for every GLOBAL_ONLY declaration."""
    spec = registry().get(name)
    args = filler(spec.syntax)
    if spec.section:
        lines = ["<VirtualHost *:80>", f"{name} {args}>", f"</{name.lstrip('<')}>", "</VirtualHost>"]
        inner = Node(name.lstrip("<"), args, Pos("t.conf", 4), children=[])
    else:
        lines = ["<VirtualHost *:80>", f"{name} {args}", "</VirtualHost>"]
        inner = Node(name, args, Pos("t.conf", 4))
    expected = apache_error(tmp_path, lines, loadable(spec))
    got = httpdw_error([Node("VirtualHost", "*:80", Pos("t.conf", 3), children=[inner])], str(tmp_path))
    assert got == expected


# --------------------------------------------------------------------------- the generator of the data file

def load_generator():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "tools" / "gen_apache_known.py"
    spec = importlib.util.spec_from_file_location("gen_apache_known", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_parses_apache_listing() -> None:
    sample = ("<Directory (core.c)\n\tContainer for directives affecting resources\n"
              "\tAllowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>\n"
              "Options (core.c)\n\tSet a number of attributes for a given directory\n"
              "\tAllowed in *.conf anywhere and in .htaccess\n\twhen AllowOverride includes Options\n"
              "NoDesc (mod_x.c)\n\tAllowed in *.conf anywhere\n")
    parsed = load_generator().parse_listing(sample)
    assert parsed["<Directory"] == ("core.c", "only outside <Directory>, <Files>, <Location>, or <If>", "",
                                    "Container for directives affecting resources")
    assert parsed["Options"][2] == "when AllowOverride includes Options"
    assert parsed["NoDesc"] == ("mod_x.c", "anywhere", "", "")


@pytest.mark.apache
@needs_apache
def test_data_file_matches_the_installed_apache(tmp_path) -> None:
    """Regenerating httpdw/data/apache_directives.tsv from this machine's Apache gives the committed rows."""
    from importlib import resources
    text = resources.files("httpdw").joinpath("data", "apache_directives.tsv").read_text(encoding="utf-8")
    made_by = text.splitlines()[1]
    installed = subprocess.run([APACHE, "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    if installed.split(":", 1)[1].strip() not in made_by:
        pytest.skip(f"data generated from another Apache ({made_by}); installed: {installed}")
    rows = load_generator().collect(str(tmp_path))
    committed = [tuple(line.split("\t")) for line in text.splitlines() if line and not line.startswith("#")]
    assert [tuple(r) for r in rows] == committed
