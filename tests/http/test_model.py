"""The site model and the pure pieces built on it: mapping (normalisation, Alias/Redirect, section
merge order), access rules, MIME, ETag/conditional/range logic, LogFormat."""
from __future__ import annotations

import os
import time

import pytest

from http_helpers import config_from_file
from httpdw.config.site import (OPT_FOLLOW_SYMLINKS, OPT_INDEXES, ETAG_INODE, ETAG_MTIME, ETAG_SIZE,
                                build_site, describe_vhosts)
from httpdw.http import access
from httpdw.http.accesslog import LogRecord, compile_format, escape
from httpdw.http.mapping import MapError, Walker, decode_unreserved, normalize, translate, unescape
from httpdw.http.mime import file_meta, parse_mime_types, with_default_charset
from httpdw.http.static import make_etag_core, meets_conditions, multipart_parts, parse_ranges


def site_of(tmp_path, text: str):
    path = tmp_path / "httpd.conf"
    path.write_text(f"ServerRoot {tmp_path}\nServerName main.example\n" + text)
    return build_site(config_from_file(str(path), str(tmp_path)))


# --------------------------------------------------------------------------- normalisation

@pytest.mark.parametrize("raw,expected", [
    ("/a/b/../c", "/a/c"), ("/a/./b", "/a/b"), ("//a//b/", "/a/b/"), ("/a/..", "/"), ("/a/.", "/a/"),
    ("/a/%2e%2e/b", "/b"), ("/x%41", "/xA"), ("/%7euser", "/~user"),
])
def test_normalize(raw, expected):
    assert normalize(decode_unreserved(raw)) == expected


@pytest.mark.parametrize("raw", ["/..", "/../etc/passwd", "/%2e%2e/x", "/a/../../b", "/%2E%2E"])
def test_climbing_above_root_is_400(raw):
    with pytest.raises(MapError) as e:
        normalize(decode_unreserved(raw))
    assert e.value.status == 400


def test_unescape_refuses_nul_and_encoded_slash_and_bad_escapes():
    assert unescape("/a%20b") == "/a b"
    for raw, status in (("/a%00", 404), ("/a%2fb", 404), ("/a%2Fb", 404), ("/a%zz", 400), ("/a%2", 400)):
        with pytest.raises(MapError) as e:
            unescape(raw)
        assert e.value.status == status
    assert unescape("/a%2fb", "on") == "/a/b"
    assert unescape("/a%2fb", "nodecode") == "/a%2Fb"


# --------------------------------------------------------------------------- translate

def test_redirects_come_before_aliases_and_keep_the_query(tmp_path):
    site = site_of(tmp_path, """
DocumentRoot /srv/www
Alias /icons /usr/share/icons
Alias /both /tmp/both
Redirect /both http://example.com/both
RedirectMatch 301 ^/rm/(.*)$ http://example.com/r/$1
AliasMatch ^/am/(.*)$ /srv/am/$1
Redirect gone /old
""")
    s = site.main
    assert translate(s, "/icons/a.png", None) == ("file", "/usr/share/icons/a.png", "/usr/share/icons")
    assert translate(s, "/iconsX", None)[1] == "/srv/www/iconsX"          # segment boundary
    assert translate(s, "/both/x y", "q=1") == ("redirect", 302, "http://example.com/both/x%20y?q=1")
    assert translate(s, "/rm/abc", None) == ("redirect", 301, "http://example.com/r/abc")
    assert translate(s, "/am/x/y", None)[1] == "/srv/am/x/y"
    assert translate(s, "/old", None) == ("redirect", 410, "")
    assert translate(s, "/", None) == ("file", "/srv/www/", "/srv/www")


def test_vhost_rules_first_then_main(tmp_path):
    site = site_of(tmp_path, """
DocumentRoot /srv/www
Alias /x /main/x
<VirtualHost *:80>
  ServerName v.example
  DocumentRoot /srv/v
  Alias /x /vhost/x
</VirtualHost>
""")
    v = site.vhosts[0]
    assert translate(v, "/x/1", None)[1] == "/vhost/x/1"
    assert translate(v, "/y", None)[1] == "/srv/v/y"


# --------------------------------------------------------------------------- section merge

def test_directory_sections_merge_shortest_first_then_regex_files_location(tmp_path):
    root = tmp_path / "www"
    (root / "a" / "b").mkdir(parents=True)
    site = site_of(tmp_path, f"""
DocumentRoot {root}
<Location /a>
    ForceType text/location
</Location>
<Directory {root}/a/b>
    ForceType text/deep
    Options +Indexes
</Directory>
<Directory {root}/a>
    ForceType text/shallow
    Options None
</Directory>
<DirectoryMatch "/b/?$">
    AddDefaultCharset utf-8
</DirectoryMatch>
<Files "*.txt">
    DirectoryIndex files.html
</Files>
""")
    w = Walker(site.main)
    conf = w.dir_config(str(root / "a" / "b" / "f.txt"), False, "/a/b/f.txt")
    assert conf.force_type == "text/location"            # <Location> is merged last
    assert conf.options == OPT_INDEXES                    # None from /a, then +Indexes from /a/b
    assert conf.default_charset == "utf-8"
    assert conf.directory_index == ("files.html",)
    conf = w.dir_config(str(root / "a" / "x.html"), False, "/z/x.html")
    assert conf.force_type == "text/shallow" and conf.options == 0
    assert w.dir_config(str(root / "a" / "x.html"), False, "/z/x.html") is conf     # cached merge


def test_options_plus_minus_relative_to_inherited(tmp_path):
    root = tmp_path / "www"
    (root / "d").mkdir(parents=True)
    site = site_of(tmp_path, f"""
DocumentRoot {root}
<Directory {root}>
    Options Indexes FollowSymLinks
</Directory>
<Directory {root}/d>
    Options -FollowSymLinks
</Directory>
""")
    conf = Walker(site.main).dir_config(str(root / "d" / "x"), False, "/d/x")
    assert conf.options == OPT_INDEXES
    base = Walker(site.main).dir_config(str(root / "x"), False, "/x")
    assert base.options == OPT_INDEXES | OPT_FOLLOW_SYMLINKS


def test_vhost_selection_by_address_then_name(tmp_path):
    site = site_of(tmp_path, """
<VirtualHost 10.0.0.1:80>
  ServerName ip.example
</VirtualHost>
<VirtualHost *:80>
  ServerName a.example
  ServerAlias www.a.example *.wild.example
</VirtualHost>
<VirtualHost *:80>
  ServerName b.example
</VirtualHost>
""")
    ip, a, b = site.vhosts
    assert site.select("10.0.0.1", 80, "b.example") is ip           # IP-based wins for its address
    assert site.select("127.0.0.1", 80, "b.example") is b
    assert site.select("127.0.0.1", 80, "x.wild.example") is a
    assert site.select("127.0.0.1", 80, "www.a.example") is a
    assert site.select("127.0.0.1", 80, "nobody.example") is a      # first is the default
    assert site.select("127.0.0.1", 8080, "b.example") is site.main  # no vhost for that port


def test_describe_vhosts_as_apache_S(tmp_path):
    path = tmp_path / "httpd.conf"
    path.write_text(f"""ServerRoot {tmp_path}
ServerName main.example
DocumentRoot {tmp_path}
<VirtualHost 127.0.0.1:8080>
 ServerName ip.example
</VirtualHost>
<VirtualHost *:8081>
 ServerName a.example
 ServerAlias www.a.example *.a.example
</VirtualHost>
<VirtualHost *:8081>
 ServerName b.example
</VirtualHost>
""")
    text = describe_vhosts(config_from_file(str(path), str(tmp_path)))
    assert text.splitlines()[:8] == [
        "VirtualHost configuration:",
        f"127.0.0.1:8080         ip.example ({path}:4)",
        "*:8081                 is a NameVirtualHost",
        f"         default server a.example ({path}:7)",
        f"         port 8081 namevhost a.example ({path}:7)",
        "                 alias www.a.example",
        "                 wild alias *.a.example",
        f"         port 8081 namevhost b.example ({path}:11)",
    ]
    assert f'ServerRoot: "{tmp_path}"' in text and f'Main DocumentRoot: "{tmp_path}"' in text


# --------------------------------------------------------------------------- access

def client(ip="192.0.2.7", method="GET", local="192.0.2.1"):
    return access.Client(ip, local, method)


def conf_with(tmp_path, body: str):
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    site = site_of(tmp_path, f"DocumentRoot {root}\n<Directory {root}>\n{body}\n</Directory>\n")
    return Walker(site.main).dir_config(str(root / "f"), False, "/f")


@pytest.mark.parametrize("body,ip,ok", [
    ("Require all granted", "192.0.2.7", True),
    ("Require all denied", "192.0.2.7", False),
    ("Require ip 192.0.2", "192.0.2.7", True),
    ("Require ip 192.0.2.0/24 10.0.0.1", "10.0.0.1", True),
    ("Require ip 192.0.2.0/255.255.255.0", "198.51.100.1", False),
    ("Require local", "127.0.0.1", True),
    ("Require local", "192.0.2.7", False),
    ("Require ip 10.0.0.1\nRequire ip 192.0.2.7", "192.0.2.7", True),          # one implicit RequireAny
    ("<RequireAll>\nRequire all granted\nRequire not ip 192.0.2.7\n</RequireAll>", "192.0.2.7", False),
    ("<RequireAll>\nRequire all granted\nRequire not ip 192.0.2.7\n</RequireAll>", "192.0.2.8", True),
    ("<RequireAll>\nRequire all granted\n<RequireNone>\nRequire ip 192.0.2.7\n</RequireNone>\n</RequireAll>",
     "192.0.2.7", False),
    ("<RequireAll>\nRequire all granted\n<RequireNone>\nRequire ip 192.0.2.7\n</RequireNone>\n</RequireAll>",
     "192.0.2.8", True),
    ("Order deny,allow\nDeny from all\nAllow from 192.0.2.7", "192.0.2.7", True),
    ("Order deny,allow\nDeny from all\nAllow from 192.0.2.7", "192.0.2.8", False),
    ("Order allow,deny", "192.0.2.7", False),
    ("Order allow,deny\nAllow from all\nDeny from 192.0.2.7", "192.0.2.7", False),
    ("Order deny,allow", "192.0.2.7", True),
    ("Require all denied\nOrder allow,deny\nAllow from all\nSatisfy Any", "192.0.2.7", True),
    ("Require all denied\nOrder allow,deny\nAllow from all", "192.0.2.7", False),
])
def test_access_rules(tmp_path, body, ip, ok):
    assert access.allowed(conf_with(tmp_path, body), client(ip)) is ok


def test_limit_sections_restrict_rules_to_methods(tmp_path):
    conf = conf_with(tmp_path, "<Limit GET>\nRequire all granted\n</Limit>\n"
                               "<LimitExcept GET>\nRequire all denied\n</LimitExcept>")
    assert access.allowed(conf, client(method="GET"))
    assert not access.allowed(conf, client(method="POST"))


def test_open_to_all_fast_path(tmp_path):
    assert access.open_to_all(conf_with(tmp_path, "Require all granted"))
    assert not access.open_to_all(conf_with(tmp_path, "Require ip 10.0.0.1"))
    assert not access.open_to_all(conf_with(tmp_path, "Order allow,deny\nAllow from all"))


# --------------------------------------------------------------------------- MIME

def test_mime_types_per_extension_and_overrides(tmp_path):
    types = parse_mime_types("text/html html htm\n# comment\ntext/plain txt\napplication/gzip gz\n")
    conf = conf_with(tmp_path, "AddType text/x-custom .cst\nAddEncoding x-gzip .gz\nAddLanguage fr .fr\n"
                               "AddCharset UTF-8 .utf8")
    assert file_meta("a.html", conf, types)[0] == "text/html"
    assert file_meta("a.cst", conf, types)[0] == "text/x-custom"
    assert file_meta("page.html.fr", conf, types)[:3] == ("text/html", None, "fr")
    assert file_meta("data.txt.gz", conf, types)[:2] == ("application/gzip", "x-gzip")
    assert file_meta("a.txt.utf8", conf, types)[0] == "text/plain; charset=UTF-8"
    assert file_meta("noext", conf, types)[0] is None
    assert file_meta("a.HTML", conf, types)[0] == "text/html"
    forced = conf_with(tmp_path, "ForceType image/png")
    assert file_meta("a.html", forced, types)[0] == "image/png"


def test_default_charset_only_for_text_plain_and_html():
    assert with_default_charset("text/html", "utf-8") == "text/html; charset=utf-8"
    assert with_default_charset("text/plain; charset=x", "utf-8") == "text/plain; charset=x"
    assert with_default_charset("image/png", "utf-8") == "image/png"


# --------------------------------------------------------------------------- ETag, conditions, ranges

def test_etag_as_apache_formats_it(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 1024)
    os.utime(f, (1_600_000_000, 1_600_000_000))
    st = os.stat(f)
    assert make_etag_core(st, ETAG_MTIME | ETAG_SIZE) == '"400-5af3107a40000"'
    assert make_etag_core(st, ETAG_INODE | ETAG_MTIME | ETAG_SIZE) == f'"{st.st_ino:x}-400-5af3107a40000"'
    assert make_etag_core(st, 0) is None


LM = 1_600_000_000
ETAG = '"400-5af3107a40000"'


@pytest.mark.parametrize("fields,method,expected", [
    ({"if-none-match": ETAG}, "GET", 304),
    ({"if-none-match": 'W/' + ETAG}, "GET", 304),                 # weak comparison
    ({"if-none-match": '"a", ' + ETAG}, "HEAD", 304),
    ({"if-none-match": ETAG}, "POST", 412),
    ({"if-none-match": '"other"'}, "GET", 0),
    ({"if-none-match": "*"}, "GET", 304),
    ({"if-match": '"other"'}, "GET", 412),
    ({"if-match": "W/" + ETAG}, "GET", 412),                       # strong comparison
    ({"if-match": "*"}, "GET", 0),
    ({"if-modified-since": "Sun, 13 Sep 2020 12:26:40 GMT"}, "GET", 304),
    ({"if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}, "GET", 0),
    ({"if-modified-since": "Sun, 13 Sep 2020 12:26:40 GMT"}, "POST", 0),
    ({"if-modified-since": "garbage"}, "GET", 0),
    ({"if-unmodified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}, "GET", 412),
    ({"if-none-match": '"other"', "if-modified-since": "Sun, 13 Sep 2020 12:26:40 GMT"}, "GET", 0),
])
def test_conditions(fields, method, expected):
    assert meets_conditions(method, fields, ETAG, LM, time.time()) == expected


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-9", [(0, 9)]),
    ("bytes=-10", [(1014, 1023)]),
    ("bytes=1000-", [(1000, 1023)]),
    ("bytes=1000-5000", [(1000, 1023)]),
    ("bytes=5000-", 416),
    ("bytes=-0", 416),
    ("bytes=0-1,5-6", [(0, 1), (5, 6)]),
    ("bytes=0-5,3-10", [(0, 10)]),
    ("bytes=0-5,6-10", [(0, 10)]),                  # adjacent ranges merge too
    ("bytes=abc", None),
    ("bytes=10-5", None),
    ("items=0-5", None),
])
def test_ranges(header, expected):
    assert parse_ranges(header, 1024, 200) == expected


def test_max_ranges():
    assert parse_ranges("bytes=0-1,3-4,6-7", 100, 2) is None
    assert parse_ranges("bytes=0-1", 100, 0) is None


def test_multipart_framing():
    parts, tail, total = multipart_parts([(0, 1), (5, 6)], 10, "text/plain", "B")
    assert parts[0][0] == b"\r\n--B\r\nContent-type: text/plain\r\nContent-range: bytes 0-1/10\r\n\r\n"
    assert tail == b"\r\n--B--\r\n"
    assert total == sum(len(p[0]) + p[2] - p[1] + 1 for p in parts) + len(tail)


# --------------------------------------------------------------------------- LogFormat

def record(**kw) -> LogRecord:
    r = LogRecord()
    r.client_ip, r.local_ip, r.request_line, r.method, r.protocol = "192.0.2.7", "192.0.2.1", \
        "GET /a?b HTTP/1.1", "GET", "HTTP/1.1"
    r.uri, r.query, r.status, r.body_bytes, r.bytes_out, r.bytes_in = "/a", "b", 200, 1024, 1300, 80
    r.start, r.duration, r.server_name, r.host_name, r.canonical_port = 1_600_000_000.0, 0.0123, "s", "h", 80
    r.headers_in = {"user-agent": "UA", "referer": "http://r/"}
    r.headers_out = [("ETag", '"x"')]
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_debian_combined_line():
    fmt = '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'
    line = compile_format(fmt)(record())
    assert line.startswith('192.0.2.7 - - [')
    assert line.endswith('] "GET /a?b HTTP/1.1" 200 1300 "http://r/" "UA"')


@pytest.mark.parametrize("fmt,expected", [
    ("%a %A %m %U%q %H %>s %s %b %B %I %O", "192.0.2.7 192.0.2.1 GET /a?b HTTP/1.1 200 200 1024 1024 80 1300"),
    ("%D %T %{ms}T", "12300 0 12"),
    ("%v %V %p", "s h 80"),
    ("%{ETag}o %{X-None}i %{X}e", '\\"x\\" - -'),
    ("%400,501{User-agent}i %!200{User-agent}i", "- -"),
    ("%200{User-agent}i", "UA"),
    ("100%% \\t", "100% \t"),
    ("%{%Y}t", time.strftime("%Y", time.localtime(1_600_000_000))),
])
def test_log_items(fmt, expected):
    assert compile_format(fmt)(record()) == expected


def test_bytes_dash_and_escaping():
    assert compile_format("%b")(record(body_bytes=0)) == "-"
    assert escape('a"b\\c\nd\x01é') == 'a\\"b\\\\c\\nd\\x01\\xe9'


def test_server_tokens():
    import httpdw
    from httpdw.http.response import server_banner
    v = httpdw.__version__
    major, minor = v.split(".")[:2]
    assert [server_banner(t) for t in ("Prod", "Major", "Minor", "Minimal", "OS")] == [
        "httpdw", f"httpdw/{major}", f"httpdw/{major}.{minor}", f"httpdw/{v}", f"httpdw/{v} (Unix)"]
    assert server_banner("Full").startswith(f"httpdw/{v} (Unix) Python/")


def test_htaccess_risks_for_configtest(tmp_path):
    from httpdw.config.site import htaccess_risks
    root = tmp_path / "www"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / ".htaccess").write_text("Require all denied\n")
    (root / ".htaccess").write_text("x\n")
    site = site_of(tmp_path, f"DocumentRoot {root}\n<Directory {root}>\n AllowOverride None\n</Directory>\n"
                             f"<Directory {root}/a>\n AllowOverride All\n</Directory>\n")
    risks = htaccess_risks(site)
    assert [r[0] for r in risks] == [str(root / "a" / "b" / ".htaccess")]
    assert risks[0][1].line == 7          # the <Directory> that allows overrides


@pytest.mark.parametrize("body,ok", [
    ("Require env let_me_in", False),                                  # no SetEnvIf: never granted
    ("Require all granted\nRequire env let_me_in", True),              # RequireAny: granted anyway
    ("<RequireAll>\nRequire all granted\nRequire not env bad_bot\n</RequireAll>", False),
    ("Order allow,deny\nAllow from all\nDeny from env=bad_bot", False),  # assumed to match: denied
    ("Order deny,allow\nDeny from all\nAllow from env=let_me_in", False),
])
def test_env_rules_take_the_restrictive_outcome(tmp_path, body, ok):
    assert access.allowed(conf_with(tmp_path, body), client()) is ok


def test_order_allow_deny_inside_limit_only_for_those_methods(tmp_path):
    conf = conf_with(tmp_path, "<Limit POST PUT>\nOrder deny,allow\nDeny from all\n</Limit>")
    assert access.allowed(conf, client(method="GET"))
    assert not access.allowed(conf, client(method="POST"))


def test_a_section_httpdw_cannot_compile_stops_the_start(tmp_path):
    """The config layer refuses it (configtest shows it), and the handler factory still refuses a
    config that was built without that check."""
    import dataclasses

    from httpdw.config.check import load_config
    from httpdw.http.server import make_handler_factory
    path = tmp_path / "httpd.conf"
    path.write_text(f"ServerRoot {tmp_path}\nServerName x\nDocumentRoot {tmp_path}\n"
                    "<FilesMatch \"(?<secret\">\n Require all denied\n</FilesMatch>\n")
    result = load_config(str(path), server_root=str(tmp_path))
    assert result.config is None
    assert [d.code for d in result.diagnostics.errors] == ["HDW0104"]
    path.write_text(path.read_text().replace('"(?<secret"', '"secret"'))
    config = dataclasses.replace(config_from_file(str(path), str(tmp_path)), site=None)
    path.write_text(path.read_text().replace('"secret"', '"(?<secret"'))
    from httpdw.config.loader import load_tree
    from httpdw.config.diagnostics import Diagnostics
    config = dataclasses.replace(config, tree=load_tree(str(path), server_root=str(tmp_path), diags=Diagnostics()))
    with pytest.raises(ValueError, match="Regular expression could not be compiled"):
        make_handler_factory(config)
