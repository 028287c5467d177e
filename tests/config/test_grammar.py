"""The grammar: Apache 2.4's lexical rules, one by one (spec section 2.2, real-configs.md (e))."""
from __future__ import annotations

import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpdw.config.diagnostics import Diagnostics
from httpdw.config.grammar import (MAX_DEPTH, decode_config_bytes, grammar_source, join_continuations,
                                   parse_document, parse_text)
from httpdw.config.tree import Node


def parse(text: str) -> tuple[list[Node], Diagnostics]:
    diags = Diagnostics()
    return parse_text(text, "t.conf", diags), diags


def messages(diags: Diagnostics) -> list[str]:
    return [d.message for d in diags]


def flat(nodes: list[Node]) -> list[tuple[str, str]]:
    return [(n.name, n.args) for top in nodes for n in top.walk()]


# --------------------------------------------------------------------------- the grammar file


def test_the_grammar_file_is_a_real_lark_grammar():
    source = grammar_source()
    assert "DIRECTIVE_LINE" in source and "%ignore COMMENT_LINE" in source
    from lark import Lark
    lark = Lark(source, parser="lalr", lexer="basic")
    kinds = [t.type for t in lark.lex("<Directory />\n  Options None\n</Directory>\n# c\n\n")]
    assert kinds == ["OPEN_LINE", "DIRECTIVE_LINE", "CLOSE_LINE"]


# --------------------------------------------------------------------------- directives and names


def test_directive_name_then_raw_args_to_end_of_line():
    nodes, diags = parse('LogFormat "%h %l \\"%r\\"" combined\n')
    assert flat(nodes) == [("LogFormat", '"%h %l \\"%r\\"" combined')]
    assert nodes[0].words() == ['%h %l "%r"', "combined"]
    assert not diags.items


def test_names_keep_their_spelling_and_key_is_lower_case():
    nodes, _ = parse("threadsPERchild 25\n")
    assert nodes[0].name == "threadsPERchild" and nodes[0].key == "threadsperchild"


def test_the_whole_first_word_is_the_name():
    nodes, _ = parse("ThreadsPerChild=25\nThreadsPerChild: 5\n")
    assert [n.name for n in nodes] == ["ThreadsPerChild=25", "ThreadsPerChild:"]


def test_a_quoted_name_is_unquoted_like_ap_getword_conf():
    nodes, _ = parse('"ServerName" www.example.com\n')
    assert flat(nodes) == [("ServerName", "www.example.com")]


def test_one_trailing_gt_is_cut_from_any_name_like_apache():
    nodes, _ = parse("ServerAdmin> a@b\nServerAdmin>> a@b\n")
    assert [n.name for n in nodes] == ["ServerAdmin", "ServerAdmin>"]


def test_a_quoted_section_tag_still_opens_and_closes_a_section():
    nodes, diags = parse('"<IfModule" mod_so.c>\nServerAdmin a@b\n</IfModule>\n')
    assert flat(nodes) == [("IfModule", "mod_so.c"), ("ServerAdmin", "a@b")] and not diags.items
    nodes, diags = parse('<Directory /x>\n"</Directory>"\n')
    assert nodes[0].end_pos.line == 2 and not diags.items


# --------------------------------------------------------------------------- comments


def test_comment_only_where_hash_is_first_non_blank():
    nodes, diags = parse("# comment\n   \t# indented comment\nThreadsPerChild 5 # not a comment\nGroup #-1\n")
    assert flat(nodes) == [("ThreadsPerChild", "5 # not a comment"), ("Group", "#-1")]
    assert nodes[0].words() == ["5", "#", "not", "a", "comment"]   # a TAKE1 error later, as in Apache
    assert not diags.items


def test_hash_directly_after_a_value_is_data():
    nodes, _ = parse("ThreadsPerChild 100#x\n")
    assert nodes[0].args == "100#x"


# --------------------------------------------------------------------------- continuation lines


def test_backslash_newline_joins_lines_without_inserting_anything():
    nodes, _ = parse("Threads\\\nPerChild 100\n")
    assert flat(nodes) == [("ThreadsPerChild", "100")]


def test_continuation_position_is_the_last_physical_line():
    nodes, _ = parse("# one\nServ\\\nerNam\\\ne a b\nListen 80\n")
    assert flat(nodes)[0] == ("ServerName", "a b")
    assert nodes[0].pos.line == 4 and nodes[1].pos.line == 5


def test_column_is_in_the_last_physical_line_when_the_name_starts_there():
    nodes, _ = parse("\\\n   Listen 80\n")
    assert (nodes[0].pos.line, nodes[0].pos.col) == (2, 4)
    nodes, _ = parse("  AddCharset UTF-8 \\\n    .utf8\n")
    assert (nodes[0].pos.line, nodes[0].pos.col) == (2, 1)   # the name is on line 1


def test_comment_ending_in_backslash_swallows_the_next_line():
    nodes, _ = parse("#SecAction \\\n  ThreadsPerChild 5\nListen 80\n")
    assert flat(nodes) == [("Listen", "80")]


def test_final_backslash_at_end_of_file_counts_one_past_the_end():
    nodes, _ = parse("Listen 80\nServerName a b\\\n")
    assert flat(nodes)[-1] == ("ServerName", "a b")
    assert nodes[-1].pos.line == 3     # Apache: "line 8" for a 7-line file


def test_backslash_without_newline_at_eof_stays():
    nodes, _ = parse("ServerName a\\")
    assert nodes[0].args == "a\\"


def test_only_a_backslash_right_before_the_newline_continues():
    nodes, _ = parse("ServerName a \\ \nListen 80\n")
    assert flat(nodes) == [("ServerName", "a \\"), ("Listen", "80")]


def test_double_backslash_still_continues_like_apache():
    nodes, _ = parse("ServerName a\\\\\nfoo\n")
    assert flat(nodes) == [("ServerName", "a\\foo")]


def test_continuation_with_crlf():
    nodes, _ = parse("AddCharset UTF-8 \\\r\n  .utf8\r\nListen 80\r\n")
    assert flat(nodes) == [("AddCharset", "UTF-8   .utf8"), ("Listen", "80")]
    assert nodes[1].pos.line == 3


def test_continued_section_opener_with_an_empty_continued_line():
    nodes, diags = parse("<VirtualHost \\\n\t0.0.0.0:7080 \\\n\t\t \\\n>\n</VirtualHost>\n")
    assert flat(nodes) == [("VirtualHost", "0.0.0.0:7080")]
    assert nodes[0].pos.line == 4 and not diags.items


def test_join_continuations_line_map():
    logical, line_map = join_continuations("a\\\nb\nc\n")
    assert logical == ["ab", "c"] and line_map.last_line == [2, 3]


# --------------------------------------------------------------------------- quotes, blanks, encodings


def test_quotes_are_kept_raw_and_split_by_split_words():
    nodes, _ = parse("A \"100\"\nB '100'\nC \"10 0\"\nD \"100\nE \"\"\n")
    assert [n.words() for n in nodes] == [["100"], ["100"], ["10 0"], ["100"], [""]]


def test_crlf_line_ends():
    nodes, diags = parse("Listen 80\r\n<IfModule x>\r\n  ServerName a\r\n</IfModule>\r\n")
    assert flat(nodes) == [("Listen", "80"), ("IfModule", "x"), ("ServerName", "a")]
    assert not diags.items


def test_tabs_and_trailing_blanks():
    nodes, _ = parse("\tListen\t80 \t\n\t<Directory\t/srv>\t\n\t</Directory>  \n")
    assert flat(nodes) == [("Listen", "80"), ("Directory", "/srv")]
    assert nodes[0].pos.col == 2


def test_unicode_spaces_are_not_blanks():
    nodes, _ = parse("Listen\u00a080\n")       # Apache's isspace() is ASCII only
    assert flat(nodes) == [("Listen\u00a080", "")]


def test_latin1_bytes_decode_without_error():
    text = decode_config_bytes(b"ServerAdmin caf\xe9@example.com\n")
    nodes, _ = parse(text)
    assert nodes[0].args == "caf\u00e9@example.com"
    assert decode_config_bytes("caf\u00e9".encode()) == "caf\u00e9"


def test_a_nul_byte_ends_its_line_like_a_c_string():
    nodes, _ = parse("ServerName a\x00b c\nListen \x0b80\x0c\nAddCharset x \x00\\\nServerAdmin y\n")
    assert flat(nodes) == [("ServerName", "a"), ("Listen", "80"), ("AddCharset", "x"), ("ServerAdmin", "y")]


def test_last_line_without_newline():
    nodes, _ = parse("Listen 80\nOptions -MultiViews")
    assert flat(nodes)[-1] == ("Options", "-MultiViews")


def test_empty_and_blank_input():
    assert parse("")[0] == [] and parse("\n\n  \t\n# x\n")[0] == []


# --------------------------------------------------------------------------- sections


def test_sections_nest_and_carry_positions():
    nodes, diags = parse("<VirtualHost *:80>\n  <Directory /srv>\n    Options None\n  </Directory>\n"
                         "</VirtualHost>\n")
    vhost = nodes[0]
    assert vhost.is_section and vhost.name == "VirtualHost" and vhost.args == "*:80"
    directory = vhost.children[0]
    assert (directory.pos.line, directory.pos.col) == (2, 3)
    assert directory.end_pos.line == 4 and vhost.end_pos.line == 5
    assert directory.children[0].name == "Options"
    assert not diags.items


def test_section_args_are_cut_at_the_last_gt_and_the_rest_ignored():
    nodes, diags = parse("<IfModule !mod_authz_core.c> # Apache 2.2\n</IfModule>\n"
                         "<If \"%{HTTP_HOST} -strmatch 'a>b'\">\n</If>\n")
    assert nodes[0].args == "!mod_authz_core.c"
    assert nodes[1].args == "\"%{HTTP_HOST} -strmatch 'a>b'\""
    assert not diags.items


def test_section_without_arguments():
    nodes, diags = parse("<Else>\n</Else>\n")
    assert flat(nodes) == [("Else", "")] and not diags.items


def test_closers_are_case_insensitive():
    nodes, diags = parse("<Directory /x>\n</DIRECTORY>\n")
    assert not diags.items and nodes[0].end_pos.line == 2


def test_two_closers_on_one_line_are_accepted():
    nodes, diags = parse("<IfModule mod_ssl.c>\n<VirtualHost *:443>\nServerName a\n</VirtualHost> </IfModule>\n")
    assert not diags.items
    assert nodes[0].children[0].name == "VirtualHost"


def test_text_after_a_closer_is_ignored():
    nodes, diags = parse("<Directory /x>\n</Directory> trailing words\nListen 80\n")
    assert not diags.items and flat(nodes)[-1] == ("Listen", "80")


def test_unclosed_section_is_reported_at_its_opening_line():
    _, diags = parse("Listen 80\n<Directory /srv>\nOptions None\n")
    assert messages(diags) == ["<Directory> was not closed."]
    assert diags.items[0].pos.line == 2 and diags.items[0].code == "HDW0002"


def test_every_unclosed_section_is_reported():
    _, diags = parse("<VirtualHost *:80>\n<Location />\n")
    assert messages(diags) == ["<Location> was not closed.", "<VirtualHost> was not closed."]


def test_stray_closer():
    _, diags = parse("Listen 80\n</IfModule>\n")
    assert messages(diags) == ["</IfModule> without matching <IfModule> section"]
    assert diags.items[0].pos.line == 2


def test_crossed_closer():
    nodes, diags = parse("<Directory /x>\n</IfModule>\n</Directory>\n")
    assert messages(diags) == ["Expected </Directory> but saw </IfModule>"]
    assert diags.items[0].pos.line == 2 and nodes[0].end_pos.line == 3


def test_crossed_closer_of_an_outer_section_recovers():
    nodes, diags = parse("<VirtualHost *:80>\n<Directory /x>\n</VirtualHost>\nListen 80\n")
    assert messages(diags) == ["Expected </Directory> but saw </VirtualHost>"]
    assert [n.name for n in nodes] == ["VirtualHost", "Listen"]


def test_closer_with_arguments():
    _, diags = parse("</IfModule junk>\n")
    assert messages(diags) == ["</IfModule without matching <IfModule section"]
    _, diags = parse("<Directory /tmp>\n</Directory junk>\n")
    assert messages(diags) == ["</Directory> directive missing closing '>'"]


def test_opener_missing_gt():
    nodes, diags = parse("<IfModule mod_so.c\nServerName a\n</IfModule>\n")
    assert messages(diags) == ["<IfModule> directive missing closing '>'"]
    assert diags.items[0].code == "HDW0003"
    assert nodes[0].children[0].name == "ServerName"     # parsing went on


def test_unclosed_conditionals_are_left_to_the_loader():
    parsed = parse_document("<IfModule x>\n<Directory /srv>\nListen 80\n", "t.conf", Diagnostics())
    ifmodule = parsed.nodes[0]
    assert ifmodule.end_pos is None
    assert id(ifmodule.children[0]) in parsed.deferred_unclosed


def test_conditional_closer_quirks_are_left_to_the_loader():
    diags = Diagnostics()
    parsed = parse_document("<IfModule x>\n</IfModule> # end\n<IfDefine Y>\n</IfDefine >\n", "t.conf", diags)
    assert not diags.items
    quirks = [parsed.closing_quirks[id(n)].message for n in parsed.nodes]
    assert quirks == ["</IfModule> without matching <IfModule> section",
                      "</IfDefine without matching <IfDefine section"]


def test_every_problem_is_reported_not_only_the_first():
    _, diags = parse("</A>\n<B x\n</B>\n</C>\n<D x>\n")
    assert len(diags.errors) == 4


# --------------------------------------------------------------------------- limits


def test_very_long_line():
    nodes, diags = parse("ServerName " + "a" * 1_000_000 + "\n")
    assert len(nodes[0].args) == 1_000_000 and not diags.items


def test_deep_nesting_is_cut_with_hdw0008_not_recursion_error():
    depth = 5000
    text = "<Directory /x>\n" * depth + "Listen 80\n" + "</Directory>\n" * depth + "ServerName after\n"
    nodes, diags = parse(text)
    assert [d.code for d in diags] == ["HDW0008"]
    assert nodes[-1].name == "ServerName"          # the closers were matched up again
    level, node = 0, nodes[0]
    while node.children:
        node, level = node.children[0], level + 1
    assert level == MAX_DEPTH - 1
    assert len(list(nodes[0].walk())) == MAX_DEPTH   # later stages can walk it recursively
    assert sys.getrecursionlimit() > MAX_DEPTH * 2


def test_huge_file_parses_in_a_few_seconds():
    lines = []
    for i in range(20_000):
        lines += [f"<VirtualHost *:{8000 + i % 1000}>", f"  ServerName h{i}.example", "  # comment",
                  f'  DocumentRoot "/srv/{i}"', "</VirtualHost>"]
    started = time.monotonic()
    nodes, diags = parse("\n".join(lines) + "\n")
    elapsed = time.monotonic() - started
    assert len(nodes) == 20_000 and not diags.items
    assert nodes[-1].children[1].pos.line == 100_000 - 1
    # ~2 s on an idle 2-core machine; the bound only guards against quadratic behaviour, with
    # room for a machine busy with other test processes
    assert elapsed < 20, elapsed


# --------------------------------------------------------------------------- never raises


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("<>/#\\\"' \t\r\n\x00\x0bab:IfModule${}é")), max_size=300))
def test_random_text_never_raises(text):
    diags = Diagnostics()
    nodes = parse_text(text, "r.conf", diags)
    for top in nodes:
        for node in top.walk():
            assert node.pos.line >= 1 and node.pos.col >= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    parse_text(decode_config_bytes(data), "r.conf", Diagnostics())
