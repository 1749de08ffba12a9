"""mail.parse: bytes → Inbound, decoded and defensive."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.domain.model import Inbound
from mailbot.mail.addresses import parsed_addresses, plain_addresses
from mailbot.mail.decode import decode_header_value
from mailbot.mail.html_text import html_to_text
from mailbot.mail.parse import MAX_HTML, parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"


def fixture(name: str) -> Inbound:
    return parse_message((FIXTURES / name).read_bytes())


def raw(headers: str, body: str = "hi\n") -> Inbound:
    return parse_message((headers.strip("\n") + "\n\n" + body).encode())


# --------------------------------------------------------------------------- headers


def test_addresses_lower_case_with_rfc2047_display_names() -> None:
    m = raw(
        "From: =?utf-8?q?Jos=C3=A9_P=C3=A9rez?= <Jose.Perez@Example.COM>\n"
        'To: "Doe, John" <John@X.example>, bob@y.example\n'
        "Cc: =?iso-8859-1?q?Ren=E9e?= <RENEE@z.example>\n"
        "Delivered-To: One@example.org\nDelivered-To: two@example.org\n"
        "Return-Path: <Bounce@Example.org>\n"
    )
    assert (m.from_name, m.from_addr) == ("José Pérez", "jose.perez@example.com")
    assert m.to == ("john@x.example", "bob@y.example")
    assert m.cc == ("renee@z.example",)
    assert m.delivered_to == ("one@example.org", "two@example.org")
    assert m.return_path == "bounce@example.org"


def test_encoded_display_name_with_a_comma_stays_one_address() -> None:
    m = raw("From: =?utf-8?q?Doe,_John?= <john@example.net>\nTo: a@b.example\n")
    assert (m.from_name, m.from_addr) == ("Doe, John", "john@example.net")


def test_headers_are_lower_case_names_with_all_values_decoded() -> None:
    m = raw(
        "Received: one\nReceived: two\nSubject: =?utf-8?b?w4lsw6h2ZQ==?=\n"
        " =?utf-8?q?_suite?=\nX-Custom: plain\n"
    )
    assert m.headers["received"] == ("one", "two")
    assert m.subject == "Élève suite"
    assert m.header("X-CUSTOM") == "plain" and m.header("missing") == ""


def test_header_decoding_survives_unknown_charsets_and_bad_encoded_words() -> None:
    assert decode_header_value("=?x-unknown?q?caf=C3=A9?=") == "café"
    assert isinstance(decode_header_value("=?utf-8?b?!!!?=\udcff"), str)
    assert decode_header_value("=?utf-8?q?a?=   =?utf-8?q?b?=") == "ab"  # RFC 2047 §6.2
    assert decode_header_value("plain\r\n folded") == "plain folded"


def test_message_ids_and_threading_headers() -> None:
    m = raw(
        "Message-ID: <ABC@host.example>\nIn-Reply-To: <p1@x> (comment)\n"
        "References: <r1@x>\n <r2@x> <r1@x>\n"
    )
    assert m.message_id == "ABC@host.example"
    assert m.in_reply_to == ("p1@x",)
    assert m.references == ("r1@x", "r2@x")


def test_missing_message_id_and_broken_date() -> None:
    m = fixture("missing_message_id.eml")
    assert m.message_id == "" and m.date is None
    assert "missing Message-ID" in m.defects and "unreadable Date" in m.defects


def test_date_becomes_aware_utc() -> None:
    assert raw("Date: Tue, 2 Mar 2027 10:00:00 +0100\n").date == datetime(2027, 3, 2, 9, tzinfo=UTC)
    naive = raw("Date: Tue, 2 Mar 2027 10:00:00 -0000\n").date
    assert naive is not None and naive.tzinfo is not None
    assert raw("Date: Tue, 99 Foo 20270 99:99:99\n").date is None


def test_raw_hash_and_size() -> None:
    data = (FIXTURES / "missing_from.eml").read_bytes()
    m = parse_message(data)
    assert m.raw_sha256 == hashlib.sha256(data).hexdigest() and m.size == len(data)
    assert m.from_addr == "" and m.from_name == ""


# --------------------------------------------------------------------------- body


def test_first_text_plain_wins_over_html() -> None:
    m = fixture("application_outlook_html_qp.eml")
    assert m.content_type == "multipart/alternative"
    assert m.text.startswith("Hello,\n\nName: Zoë Ó Briain")
    assert "children’s services" in m.text  # windows-1252 curly quote via QP
    assert "<html" in m.html


def test_base64_parts_are_decoded() -> None:
    m = fixture("application_gmail_base64.eml")
    assert "Name: Amara Okafor" in m.text and "<div>" in m.html


def test_latin1_and_cp1252_bodies() -> None:
    assert "Nom : Élodie Lefèvre" in fixture("application_french_latin1.eml").text
    es = fixture("application_spanish_cp1252_qp.eml")
    assert "País: México" in es.text and "“bibliotecas públicas”" in es.text
    assert es.from_name == "Lucía Fernández"


def test_html_only_becomes_text() -> None:
    m = fixture("application_html_only_table.eml")
    assert "Name: Priya Raman" in m.text
    assert "Partner career stage: senior" in m.text
    assert "children's reading club & a local history project" in m.text
    assert "trackOpen" not in m.text and "padding" not in m.text


@pytest.mark.parametrize("blank", ["", "\n", " \r\n\t\r\n"])
def test_blank_text_alternative_does_not_hide_the_html(blank: str) -> None:
    # Some clients send an empty text/plain part: "STATUS" in the HTML went unread.
    body = (
        f"--B\nContent-Type: text/plain; charset=utf-8\n\n{blank}\n"
        "--B\nContent-Type: text/html; charset=utf-8\n\n<p>STATUS</p>\n--B--\n"
    )
    m = raw('Content-Type: multipart/alternative; boundary="B"\n', body)
    assert m.text == "STATUS"


def test_text_inside_an_attached_message_is_not_the_text() -> None:
    body = (
        "--B\nContent-Type: message/rfc822\n\nFrom: x@y\nSubject: inner\n\ninner text\n"
        "--B\nContent-Type: text/html\n\n<p>outer <b>html</b></p>\n--B--\n"
    )
    m = raw('Content-Type: multipart/mixed; boundary="B"\n', body)
    assert m.text == "outer html"


def test_text_attachment_is_not_the_body() -> None:
    body = (
        "--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=cv.txt\n\ncv\n"
        "--B\nContent-Type: text/plain\n\nthe body\n--B--\n"
    )
    assert raw('Content-Type: multipart/mixed; boundary="B"\n', body).text.strip() == "the body"


def test_html_is_truncated() -> None:
    big = "<p>" + "x" * (MAX_HTML + 5000) + "</p>"
    m = raw("Content-Type: text/html\n", big)
    assert len(m.html) == MAX_HTML and m.text.startswith("xxx")


def test_html_to_text() -> None:
    markup = (
        "<html><head><style>p{color:red}</style><title>t</title></head><body>"
        "<p>Dear&nbsp;all,<br>line two</p><div>div &amp; <b>bold</b></div>"
        "<table><tr><th>Col A</th><th>Col B</th></tr><tr><td>1</td><td>2</td></tr>"
        "<tr><td>Country:</td><td>Chile</td></tr></table>"
        "<script>alert('x')</script>&eacute;t&#233; &lt;ok&gt;</body></html>"
    )
    assert html_to_text(markup) == (
        "Dear all,\nline two\n\ndiv & bold\nCol A | Col B\n1 | 2\nCountry: Chile\nété <ok>"
    )
    assert html_to_text("<p unclosed <b") == "" or isinstance(html_to_text("<p unclosed <b"), str)


def test_unknown_charset_falls_back_to_utf8_then_latin1() -> None:
    m = fixture("malformed_unknown_charset.eml")
    assert "Knjižnica v Ljubljani" in m.text
    assert any("x-unknown" in d for d in m.defects)
    latin = parse_message(b"Content-Type: text/plain; charset=x-nope\n\ncaf\xe9 cr\xe8me\n")
    assert latin.text.strip() == "café crème"


def test_broken_base64_is_recorded_not_raised() -> None:
    m = fixture("malformed_broken_base64.eml")
    assert any("Base64" in d for d in m.defects)
    assert m.text.startswith("Is the spring round still open")


def test_missing_boundary_and_no_headers() -> None:
    assert any("Boundary" in d for d in fixture("malformed_missing_boundary.eml").defects)
    m = fixture("malformed_no_headers.eml")
    assert m.headers == {} and "no headers" in m.defects and m.from_addr == ""


# --------------------------------------------------------------------------- reports


def test_dsn_fields_and_returned_headers() -> None:
    m = fixture("bounce_postfix_dsn.eml")
    assert m.content_type == "multipart/report"
    assert m.dsn_message["reporting-mta"] == "mx.example.org"
    assert len(m.dsn) == 1
    block = m.dsn[0]
    assert block["final-recipient"] == "bob.smith@example.net"
    assert block["original-recipient"] == "bob.smith@example.net"
    assert (block["action"], block["status"]) == ("failed", "5.1.1")
    assert block["diagnostic-code"].startswith("550 5.1.1 <bob.smith@example.net>: Recipient")
    assert m.returned_headers["x-mailbot-key"] == ("intro:12:bob",)
    assert m.returned_headers["message-id"] == (
        "<mb.542f05f2237ffd0193f51c2a.563glfoao3@example.org>",
    )
    assert m.text.startswith("This is the mail system")


def test_text_rfc822_headers_are_returned_headers() -> None:
    m = fixture("bounce_office365_dsn.eml")
    assert m.returned_headers["x-mailbot-key"] == ("intro:12:hanna",)
    assert m.dsn[0]["original-recipient"] == "hanna.virtanen@contoso.example.com"
    assert "Your message to Hanna.Virtanen" in m.text


def test_dsn_in_base64_is_read_too() -> None:
    status = (
        "Reporting-MTA: dns; a.example\n\n"
        "Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.0.0\n"
    )
    encoded = base64.encodebytes(status.encode()).decode()
    body = (
        "--B\nContent-Type: text/plain\n\nfailed\n"
        "--B\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        f"{encoded}--B--\n"
    )
    m = raw('Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n', body)
    assert m.dsn and m.dsn[-1]["final-recipient"] == "x@y.example"


# --------------------------------------------------------------------------- never raises

_RAW_FIXTURES = sorted(p.read_bytes() for p in FIXTURES.glob("*.eml"))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    m = parse_message(data)
    assert m.size == len(data) and m.raw_sha256 == hashlib.sha256(data).hexdigest()


HEADERISH = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "From",
                "To",
                "Cc",
                "Subject",
                "Date",
                "Message-ID",
                "References",
                "Content-Type",
                "Content-Transfer-Encoding",
                "Delivered-To",
                "Return-Path",
                "X-Loop",
            ]
        ),
        st.text(max_size=80),
    ),
    max_size=10,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HEADERISH, st.text(max_size=500))
def test_never_raises_on_arbitrary_headers(headers: list[tuple[str, str]], body: str) -> None:
    data = "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n" + body
    m = parse_message(data.encode("utf-8", errors="surrogatepass"))
    assert isinstance(m.text, str) and all(isinstance(v, tuple) for v in m.headers.values())
    m.text.encode("utf-8")  # no lone surrogates leak out
    m.subject.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_RAW_FIXTURES),
    st.lists(st.tuples(st.integers(0, 20000), st.binary(max_size=12)), max_size=8),
    st.integers(0, 20000),
)
def test_never_raises_on_mutated_fixtures(
    data: bytes, edits: list[tuple[int, bytes]], cut: int
) -> None:
    buf = bytearray(data[: max(cut, len(data) // 3)])
    for pos, junk in edits:
        pos %= len(buf) + 1
        buf[pos : pos + len(junk)] = junk
    m = parse_message(bytes(buf))
    assert isinstance(m, Inbound)
    m.text.encode("utf-8")
    for values in m.headers.values():
        for v in values:
            v.encode("utf-8")


def test_deep_nesting_is_cut_not_fatal() -> None:
    depth = 200
    head = "".join(
        f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(depth)
    )
    body = head + "--b200\nContent-Type: text/plain\n\ndeep\n"
    m = raw('Content-Type: multipart/mixed; boundary="b0"\n', body)
    assert isinstance(m, Inbound)


# --- the everyday-address shortcut gives exactly what getaddresses gives --------------------

_atom = st.text("abcXYZ019_%+=-", min_size=1, max_size=6)
_local = st.lists(_atom, min_size=1, max_size=3).map(".".join)
_domain = st.lists(st.text("abz09-", min_size=1, max_size=5), min_size=1, max_size=3).map(".".join)
_addr = st.builds(lambda lo, d: f"{lo}@{d}", _local, _domain)
_word = st.text("aZ09", min_size=1, max_size=5)
_name = st.lists(_word, min_size=1, max_size=3).map(" ".join)
_quoted = st.text("aZ 09,.'()-", max_size=12).map(lambda t: f'"{t}"')
_space = st.sampled_from(["", " ", "  ", "\t"])
_mailbox = st.one_of(
    st.builds(lambda s1, a, s2: f"{s1}{a}{s2}", _space, _addr, _space),
    st.builds(
        lambda s1, n, s2, a, s3: f"{s1}{n}{s2}<{a}>{s3}", _space, _name, _space, _addr, _space
    ),
    st.builds(
        lambda s1, n, s2, a, s3: f"{s1}{n}{s2}<{a}>{s3}", _space, _quoted, _space, _addr, _space
    ),
)
# Near misses too: stray characters the shortcut must refuse rather than misread.
_noise = st.text('<>"@,.;:()[]\\ aZ=?', max_size=4)
_value = st.one_of(
    st.lists(_mailbox, min_size=1, max_size=3).map(",".join),
    st.builds(lambda a, n, b: a + n + b, _mailbox, _noise, _mailbox),
    st.builds(lambda n, a: n + a, _noise, _mailbox),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_value)
def test_everyday_addresses_read_as_getaddresses_reads_them(value: str) -> None:
    plain = plain_addresses(value)
    if plain is not None:
        assert plain == parsed_addresses(value)


def test_the_address_shortcut_takes_the_everyday_shapes() -> None:
    assert plain_addresses("Ana Ruiz <Ana@Example.NET>, b@x.org") == [
        ("Ana Ruiz", "ana@example.net"),
        ("", "b@x.org"),
    ]
    assert plain_addresses('"Ruiz, Ana" <ana@example.net>') == [("Ruiz, Ana", "ana@example.net")]
    for odd in ("=?utf-8?q?Ana?= <a@x.org>", "a@x.org (Ana)", "Ana <a@[1.2.3.4]>", ""):
        assert plain_addresses(odd) is None
