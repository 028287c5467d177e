"""The sans-IO request parser: bytes in, a Head or a ParseError out; bodies framed by llhttp."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpdw.http.errors import NOTE_FIELD_COUNT, NOTE_FIELD_SIZE
from httpdw.http.parser import (BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BodyReader, ParseError, RequestParser,
                                check_limits, find_head_end, parse_head, skip_blank_lines)


def status_of(data: bytes, **limits) -> int:
    try:
        parse_head(data, **limits)
    except ParseError as e:
        return e.status
    return 200


def test_simple_get():
    head = parse_head(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert (head.method, head.target, head.version) == ("GET", "/a?b=1", "1.1")
    assert head.request_line == "GET /a?b=1 HTTP/1.1"
    assert head.fields["x-a"] == "1, 2"          # repeated fields are joined, as Apache merges them
    assert head.body_kind == BODY_NONE


@pytest.mark.parametrize("data,status", [
    (b"GET / HTTP/1.1\nHost: a\n\n", 400),                                        # bare LF
    (b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", 400),                      # obs-fold
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),                                                        # HTTP/0.9
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nXYZ\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
])
def test_malformed_heads_are_400(data, status):
    assert status_of(data) == status


def test_unknown_and_lower_case_methods_parse_for_a_501():
    assert parse_head(b"FOO /x HTTP/1.1\r\nHost: a\r\n\r\n").method == "FOO"
    assert parse_head(b"get /x HTTP/1.1\r\nHost: a\r\n\r\n").method == "get"


def test_limits_allow_one_byte_more_than_the_directive_as_apache():
    line = b"GET /" + b"a" * (8191 - 14) + b" HTTP/1.1"
    assert status_of(line + b"\r\nHost: a\r\n\r\n") == 200
    assert status_of(line + b"a\r\nHost: a\r\n\r\n") == 414
    field = b"X: " + b"a" * (8191 - 3)
    assert status_of(b"GET / HTTP/1.1\r\n" + field + b"\r\n\r\n") == 200
    with pytest.raises(ParseError) as e:
        parse_head(b"GET / HTTP/1.1\r\n" + field + b"a\r\n\r\n")
    assert (e.value.status, e.value.note) == (400, NOTE_FIELD_SIZE)


def test_field_count_limit():
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"X%d: y\r\n" % i for i in range(5)) + b"\r\n"
    assert status_of(head, fields_limit=5) == 200
    with pytest.raises(ParseError) as e:
        parse_head(head, fields_limit=4)
    assert e.value.note == NOTE_FIELD_COUNT


def test_limits_apply_to_partial_heads_before_the_end_arrives():
    with pytest.raises(ParseError) as e:
        check_limits(b"GET /" + b"a" * 9000, -1, 8190, 8190, 100)
    assert e.value.status == 414
    with pytest.raises(ParseError) as e:
        check_limits(b"GET / HTTP/1.1\r\nX: " + b"a" * 9000, -1, 8190, 8190, 100)
    assert e.value.status == 400
    check_limits(b"GET / HTTP/1.1\r\nX: short", -1, 8190, 8190, 100)   # fine so far


def test_head_end_and_blank_lines():
    buf = bytearray(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nrest")
    skip_blank_lines(buf)
    assert buf.startswith(b"GET")
    assert buf[find_head_end(buf):] == b"rest"
    assert find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n") == -1
    assert find_head_end(b"GET / HTTP/1.1\nHost: a\n\nX") == len(b"GET / HTTP/1.1\nHost: a\n\n")


def test_content_length_body_is_fed_exactly():
    head = parse_head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
    assert head.body_kind == BODY_LENGTH
    body = BodyReader(head)
    pieces, used = body.feed(b"hel")
    assert (b"".join(pieces), used, body.done) == (b"hel", 3, False)
    pieces, used = body.feed(b"loGET / HTTP/1.1\r\n")
    assert (b"".join(pieces), used, body.done, body.overran) == (b"lo", 2, True, False)


def test_chunked_body_and_overrun_flag():
    head = parse_head(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert head.body_kind == BODY_CHUNKED
    body = BodyReader(head)
    pieces, _ = body.feed(b"3\r\nabc\r\n0\r\n\r\n")
    assert b"".join(pieces) == b"abc" and body.done and not body.overran
    head = parse_head(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
    body = BodyReader(head)
    body.feed(b"1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n")
    assert body.done and body.overran       # what followed was consumed: the connection must close


def test_bad_chunk_is_400():
    head = parse_head(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(ParseError) as e:
        BodyReader(head).feed(b"zz\r\nabc\r\n")
    assert e.value.status == 400


def test_one_parser_serves_consecutive_requests():
    p = RequestParser()
    first = p.parse(b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
    BodyReader(first).feed(b"ok")
    second = p.parse(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (second.method, second.target) == ("GET", "/b")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_head_or_a_parse_error(data):
    data = data + b"\r\n\r\n"
    try:
        parse_head(data)
    except ParseError as e:
        assert e.status in (400, 414)
