"""mail.header_block: a plain header block (and a plain whole message: `read_plain_message`)
read without the email package gives the same `Inbound` as `parse_message`; anything not
plain is left to `parse_message` (None)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.mail.header_block import (
    MAX_BODY_BYTES,
    MAX_FIELDS,
    read_header_block,
    read_plain_message,
)
from mailbot.mail.parse import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"
_BLANK = re.compile(rb"\r?\n\r?\n")


def head_of(raw: bytes) -> bytes:
    m = _BLANK.search(raw)
    return raw if m is None else raw[: m.end()]


def same_as_parse(head: bytes) -> bool:
    """True when read here; either way, never different from parse_message."""
    fast = read_header_block(head)
    if fast is not None:
        assert fast == parse_message(head), head
    return fast is not None


PARTNER = (
    b"From: Person 0 <p0@partners.example.com>\r\nDate: Tue, 12 Jan 2027 08:00:00 +0000\r\n"
    b"Message-ID: <bench-0@partners.example.com>\r\nTo: p1@partners.example.com\r\n"
    b"Cc: coordinator+p-1-t6khawb7le@example.org\r\nSubject: Re: our libraries\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_fixture_header_blocks_read_as_parse_message_reads_them(path: Path) -> None:
    same_as_parse(head_of(path.read_bytes()))


@pytest.mark.parametrize(
    "head",
    [
        PARTNER,
        PARTNER.replace(b"\r\n", b"\n"),
        PARTNER.replace(b"charset=utf-8", b'charset="ISO-8859-1"; format=flowed'),
        PARTNER.replace(b"charset=utf-8", b"charset=no-such-charset"),  # a defect, as there
        PARTNER.replace(b"Content-Type: text/plain; charset=utf-8\r\n", b""),
        PARTNER.replace(b"Subject: Re: our libraries", b"Subject: =?utf-8?q?Re=3A_caf=C3=A9?="),
        PARTNER.replace(b"Subject: Re: our", b"Subject: Re: our\r\n\t folded"),
        PARTNER.replace(b"From: Person 0 <p0@partners.example.com>\r\n", b""),
        PARTNER.replace(b"Tue, 12 Jan 2027", b"not a date"),
        PARTNER.replace(b"Message-ID: <bench-0@partners.example.com>", b"Message-ID: junk"),
        PARTNER.replace(b"Subject:", b"In-Reply-To: <mb.x@example.org>\r\nSubject:"),
        PARTNER.replace(b"To: p1", b'To: "Doe, J" <j@x.example>, p1'),
        PARTNER.replace(b"Subject: Re: our libraries", b"Subject:"),
    ],
)
def test_plain_variants_are_read_here_and_equal(head: bytes) -> None:
    assert same_as_parse(head)


@pytest.mark.parametrize(
    "head",
    [
        PARTNER.replace(b"Person 0", "Pérson".encode()),  # 8-bit
        PARTNER.replace(b"text/plain; charset=utf-8", b"multipart/report; boundary=x"),
        PARTNER.replace(b"charset=utf-8", b"charset*=utf-8''x"),  # RFC 2231
        PARTNER.replace(b"Subject:", b"Bad line\r\nSubject:"),
        PARTNER.replace(b"Subject:", b"From p@x Sat Jan  3 01:05:34 1996\r\nSubject:"),
        b" folded first\r\n" + PARTNER,
        PARTNER + b"a body\r\n",
        PARTNER[:-2],  # no blank line ends it
        PARTNER.replace(b"\r\nTo:", b"\nTo:"),  # mixed line endings
        PARTNER.replace(b"Subject: Re", b"Subject: R\re"),  # a bare CR
        b"".join([b"X-A: b\r\n"] * MAX_FIELDS) + PARTNER,
        b"\r\n",
    ],
)
def test_anything_not_plain_is_left_to_parse_message(head: bytes) -> None:
    assert read_header_block(head) is None


_FIELD_NAMES = ("From", "To", "Cc", "Delivered-To", "Subject", "Date", "Message-ID")
_MORE_NAMES = ("In-Reply-To", "References", "Return-Path", "Content-Type", "Auto-Submitted")
_NAMES = st.sampled_from([*_FIELD_NAMES, *_MORE_NAMES, "X-Loop", "List-Id", "x-a"])
_VALUES = st.lists(
    st.sampled_from(
        [*"ab@.<>\"(),;:=?_-+ \t/*'", "=?utf-8?q?", "?=", "\r\n ", "text/plain", "charset="]
    ),
    max_size=20,
).map("".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_NAMES, _VALUES), min_size=1, max_size=8), st.booleans())
def test_generated_blocks_never_differ(fields: list[tuple[str, str]], lf: bool) -> None:
    head = "".join(f"{n}: {v}\r\n" for n, v in fields) + "\r\n"
    if lf:
        head = head.replace("\r\n", "\n")
    same_as_parse(head.encode())


def same_whole(raw: bytes) -> bool:
    """True when read whole here; either way, never different from parse_message."""
    fast = read_plain_message(raw)
    if fast is not None:
        assert fast == parse_message(raw), raw
    return fast is not None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_fixture_messages_read_whole_as_parse_message_reads_them(path: Path) -> None:
    same_whole(path.read_bytes())


FORM = b"Name: Ana\r\nCountry: Chile\r\n\r\nthanks\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        PARTNER + FORM,
        PARTNER + b"STATUS",  # no line ending at the end
        PARTNER,  # no body
        (PARTNER + FORM).replace(b"\r\n", b"\n"),
        PARTNER + "Café, niño: 10 €\r\n".encode(),
        PARTNER.replace(b"utf-8", b"iso-8859-1") + "Café\r\n".encode("latin-1"),
        PARTNER + b"not utf-8: \xe9\xff\r\n",  # falls back as there
        PARTNER.replace(b"utf-8", b"no-such-charset") + b"words\r\n",
        PARTNER.replace(b"Content-Type:", b"Content-Transfer-Encoding: 8BIT\r\nContent-Type:")
        + "é\r\n".encode(),
        PARTNER.replace(b"Content-Type:", b"Content-Transfer-Encoding: 7bit\r\nContent-Type:")
        + FORM,
        PARTNER + b"a\rb\x00c\r\n\r\n\r\nd",  # bare CR, NUL, blank lines
        PARTNER.replace(b"Content-Type: text/plain; charset=utf-8\r\n", b"") + FORM,
    ],
)
def test_plain_messages_are_read_whole_here_and_equal(raw: bytes) -> None:
    assert same_whole(raw)


@pytest.mark.parametrize(
    "raw",
    [
        PARTNER.replace(b"Content-Type:", b"Content-Transfer-Encoding: base64\r\nContent-Type:")
        + b"U1RBVFVT\r\n",
        PARTNER.replace(
            b"Content-Type:", b"Content-Transfer-Encoding: quoted-printable\r\nContent-Type:"
        )
        + b"caf=C3=A9\r\n",
        PARTNER.replace(b"Content-Type:", b"Content-Disposition: attachment\r\nContent-Type:")
        + FORM,
        PARTNER.replace(b"text/plain; charset=utf-8", b"text/html") + b"<p>hi</p>",
        PARTNER + b"x" * (MAX_BODY_BYTES + 1),
        PARTNER[:-2] + b"no blank line",
        PARTNER.replace(b"Person 0", "Pérson".encode()) + FORM,  # an 8-bit header block
    ],
)
def test_anything_else_is_left_to_parse_message_whole(raw: bytes) -> None:
    assert read_plain_message(raw) is None
    assert parse_message(raw).from_addr  # parse_message reads them all the same


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_NAMES, _VALUES), min_size=1, max_size=6),
    st.binary(max_size=200),
    st.booleans(),
)
def test_generated_messages_never_differ(
    fields: list[tuple[str, str]], body: bytes, lf: bool
) -> None:
    head = "".join(f"{n}: {v}\r\n" for n, v in fields) + "\r\n"
    if lf:
        head = head.replace("\r\n", "\n")
    same_whole(head.encode() + body)
