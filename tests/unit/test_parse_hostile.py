"""mail.parse against an attacker and a careless mail server (issue 11, items 2, 4, 5).

The sender is the one addr-spec of the one From header, read by a strict RFC 5322 parser;
every scan is linear (each crafted input below took seconds to minutes, or never finished,
before); a bad charset or an absurd structure spoils only itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mailbot.domain.model import Inbound
from mailbot.mail.html_text import html_to_text
from mailbot.mail.parse import parse_message


def raw(headers: str, body: str = "hi\n") -> Inbound:
    return parse_message((headers.strip("\n") + "\n\n" + body).encode())


# --------------------------------------------------------------------------- the sender


@pytest.mark.parametrize(
    "value",
    [
        # an address only in the (encoded or plain) display name, none or a bad one in <>
        "=?utf-8?q?director=40example.org?= <eve>",
        "=?utf-8?b?ZGlyZWN0b3JAZXhhbXBsZS5vcmc=?=",
        "director@example.org <eve@evil.example>",
        "director@example.org) <eve@evil.example>",
        "<eve@evil.example> director@example.org",
        # two mailboxes, a group, nothing, junk
        "director@example.org, eve@evil.example",
        '"Director" <director@example.org>, <eve@evil.example>',
        "Friends: director@example.org;",
        "",
        "undisclosed-recipients:;",
        "eve",
        "(" * 2000 + "eve@evil.example",
        "eve@evil.example\x00",
    ],
)
def test_no_sender_unless_from_holds_exactly_one_valid_mailbox(value: str) -> None:
    m = raw(f"From: {value}\nTo: coordinator@example.org\n")
    assert m.from_addr == ""
    assert "director@example.org" not in (m.from_addr, m.return_path)


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?director=40example.org?= <eve@evil.example>",
        '"director@example.org" <eve@evil.example>',
        "=?utf-8?q?director=40example.org_=3Cdirector=40example.org=3E?= <eve@evil.example>",
        '"director@example.org, x" <eve@evil.example>',
        "Eve (director@example.org) <eve@evil.example>",
        "eve@evil.example (director@example.org)",
        "<@director.example.org:eve@evil.example>",
    ],
)
def test_the_sender_is_the_addr_spec_never_the_display_name(value: str) -> None:
    m = raw(f"From: {value}\nTo: coordinator@example.org\n")
    assert m.from_addr == "eve@evil.example"


def test_two_from_headers_or_only_a_sender_header_give_no_sender() -> None:
    assert raw("From: eve@evil.example\nFrom: director@example.org\n").from_addr == ""
    assert raw("Sender: director@example.org\n").from_addr == ""
    assert any("From" in d for d in raw("From: a@x.org, b@y.org\n").defects)


@pytest.mark.parametrize(
    ("value", "addr", "name"),
    [
        ("J. Doe <J.Doe@X.example>", "j.doe@x.example", "J. Doe"),
        ('"Doe, Jane" <jane@x.example>', "jane@x.example", "Doe, Jane"),
        ("jane@x.example (Jane)", "jane@x.example", "Jane"),
        ("=?utf-8?q?Zo=C3=AB?= <zoe@x.example>", "zoe@x.example", "Zoë"),
        ("Zoë Ó Briain <zoe@x.example>", "zoe@x.example", "Zoë Ó Briain"),
        ("<jane@x.example>", "jane@x.example", ""),
        ("Jane <jane@x.example>,", "jane@x.example", "Jane"),
    ],
)
def test_everyday_senders_are_read(value: str, addr: str, name: str) -> None:
    m = raw(f"From: {value}\n")
    assert (m.from_addr, m.from_name) == (addr, name)


def test_a_display_name_cannot_carry_a_line_break() -> None:
    m = raw("From: =?utf-8?q?Eve=0D=0ABcc:_x@evil.example?= <eve@evil.example>\n")
    assert m.from_addr == "eve@evil.example"
    assert "\n" not in m.from_name and "\r" not in m.from_name
    assert "\n" not in raw("Subject: =?utf-8?q?a=0Ab=E2=80=A8c?=\n").subject


# --------------------------------------------------------------------------- one bad part


def _application(charset: str) -> bytes:
    body = (
        "Name: Ana P\xe9rez\nCountry: Peru\nInstitution: Biblioteca Nacional\n"
        "Sector: public\nCareer stage: mid-career\nLanguage: es\nInterests: maps\n"
    ).encode("latin-1")
    head = (
        "From: Ana <ana@example.net>\nTo: coordinator@example.org\nSubject: Application\n"
        "Message-ID: <a1@example.net>\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("charset", ["undefined", "x-no-such-charset", '"utf-8"', "utf-7", "idna"])
def test_a_bad_charset_spoils_only_its_own_text(charset: str) -> None:
    m = parse_message(_application(charset))
    assert (m.from_addr, m.subject, m.message_id) == (
        "ana@example.net",
        "Application",
        "a1@example.net",
    )
    assert "Country: Peru" in m.text and "Sector: public" in m.text
    assert not any(d.startswith("unparseable") for d in m.defects)


def test_an_undecodable_part_does_not_hide_its_sibling() -> None:
    body = (
        "--B\nContent-Type: text/plain; charset=undefined\nContent-Transfer-Encoding: 8bit\n\n"
        "Name: Ana \xe9\n--B\nContent-Type: text/html; charset=undefined\n\n<p>x\xe9</p>\n--B--\n"
    )
    m = parse_message(
        ('From: a@x.example\nContent-Type: multipart/alternative; boundary="B"\n\n' + body).encode(
            "latin-1"
        )
    )
    assert "Name: Ana" in m.text and "<p>" in m.html


def _nested(depth: int, before: str = "") -> bytes:
    head = "".join(
        f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n{before if i == 0 else ""}'
        for i in range(depth)
    )
    body = head + f"--b{depth}\nContent-Type: text/plain\n\ndeep\n"
    return (
        'From: a@x.example\nSubject: deep\nContent-Type: multipart/mixed; boundary="b0"\n\n' + body
    ).encode()


def test_mime_nested_a_thousand_deep_is_cut_and_the_rest_read() -> None:
    for depth in (1_000, 5_000):
        m = parse_message(_nested(depth))
        assert (m.from_addr, m.subject) == ("a@x.example", "deep")
        assert not any("Recursion" in d or d.startswith("unparseable") for d in m.defects)
        assert any("nesting" in d for d in m.defects)


def test_a_text_part_before_a_deep_nest_is_still_the_text() -> None:
    first = "--b1\nContent-Type: text/plain\n\nSTATUS\n"
    body = (
        'From: a@x.example\nContent-Type: multipart/mixed; boundary="b0"\n\n--b0\n'
        'Content-Type: multipart/mixed; boundary="b1"\n\n' + first
    )
    body += "".join(
        f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(1, 1500)
    )
    m = parse_message(body.encode())
    assert m.text.strip() == "STATUS"


# --------------------------------------------------------------------------- linear time

BOUND = 0.5  # seconds, generous: each of these took from 0.6 s to forever before


def _timed(make: Callable[[], bytes]) -> tuple[float, Inbound]:
    data = make()
    best = float("inf")
    m: Inbound | None = None
    for _ in range(2):  # the better of two, so a busy machine does not fail the test
        t0 = time.perf_counter()
        m = parse_message(data)
        best = min(best, time.perf_counter() - t0)
        if best < BOUND:
            break
    assert m is not None
    return best, m


def _mail(headers: str, body: str = "hi\n") -> bytes:
    return ("From: a@x.example\n" + headers.strip("\n") + "\n\n" + body).encode()


CRAFTED: dict[str, Callable[[], bytes]] = {
    "address header with no @, 40 kB": lambda: _mail("To: " + "a" * 40_000),
    "address header with no @, 1 MB": lambda: _mail("To: " + "a" * 1_000_000),
    "address header of only @, 1 MB": lambda: _mail("Cc: " + "@" * 1_000_000),
    "address header of dots, commas and brackets": lambda: _mail("To: " + ".,<[(" * 100_000),
    "From of 100,000 dots": lambda: _mail("Reply-To: x@y.example").replace(
        b"From: a@x.example", b"From: " + b"." * 100_000
    ),
    "10,000 message ids": lambda: _mail(
        "References: " + " ".join(f"<id{i}@x.example>" for i in range(10_000))
    ),
    "100,000 message ids without <>": lambda: _mail(
        "References: " + " ".join(f"id{i}@x.example" for i in range(100_000))
    ),
    "50,000 encoded words in an address header": lambda: _mail(
        "To: " + " ".join(['=?utf-8?q?caf=C3=A9_"?='] * 50_000) + " <cafe@x.example>"
    ),
    "50,000 encoded words in a subject": lambda: _mail(
        "Subject: " + " ".join(["=?utf-8?q?caf=C3=A9?="] * 50_000)
    ),
    "unclosed HTML comment, 200 kB": lambda: _mail(
        "Content-Type: text/html", "<p>Name: Ana</p><!--" + "<a " * 66_000
    ),
    "HTML of 100,000 '<a'": lambda: _mail("Content-Type: text/html", "<a" * 100_000),
    "HTML of 100,000 '</'": lambda: _mail("Content-Type: text/html", "</" * 100_000),
    "HTML of 100,000 '<?'": lambda: _mail("Content-Type: text/html", "<?" * 100_000),
    "HTML of 50,000 '<!--'": lambda: _mail("Content-Type: text/html", "<!--" * 50_000),
    "HTML of unclosed quotes": lambda: _mail("Content-Type: text/html", '<a title="' * 50_000),
    "HTML of 20,000 '<![CDATA['": lambda: _mail("Content-Type: text/html", "<![CDATA[" * 20_000),
    "HTML of an unclosed script": lambda: _mail(
        "Content-Type: text/html", "<script>" + "</scrip" * 30_000
    ),
    "Content-Type of 100,000 parameters": lambda: _mail(
        "Content-Type: text/plain; " + "a=b; " * 100_000
    ),
    "Content-Type with an unclosed quote and 100,000 ';'": lambda: _mail(
        'Content-Type: text/plain; a="' + ";" * 100_000
    ),
    "100,000 header lines": lambda: _mail("X-H: v\n" * 100_000),
    "a part with 100,000 header lines": lambda: _mail(
        'Content-Type: multipart/mixed; boundary="B"', "--B\n" + "X: y\n" * 100_000 + "\nx\n"
    ),
    "100,000 MIME parts": lambda: _mail(
        'Content-Type: multipart/mixed; boundary="B"', "--B\n\nx\n" * 100_000
    ),
    "2,000,000 short lines": lambda: _mail("", "x\n" * 2_000_000),
    "100,000 delivery-status blocks": lambda: _mail(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        "--B\nContent-Type: message/delivery-status\n\n" + "a: b\n\n" * 100_000,
    ),
    "text/rfc822-headers of 100,000 folded lines": lambda: _mail(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        "--B\nContent-Type: text/rfc822-headers\n\nSubject: x\n" + " y\n" * 100_000,
    ),
    "MIME nested 1,000 deep": lambda: _nested(1_000),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_input_is_read_in_linear_time(name: str) -> None:
    seconds, m = _timed(CRAFTED[name])
    assert seconds < BOUND, f"{name}: {seconds:.2f} s"
    assert not any(d.startswith("unparseable") for d in m.defects), m.defects


def test_cut_inputs_say_so() -> None:
    assert any("parts" in d for d in parse_message(CRAFTED["100,000 MIME parts"]()).defects)
    ids = parse_message(CRAFTED["10,000 message ids"]()).references
    assert 0 < len(ids) <= 1_000 and ids[0] == "id0@x.example" and ids[-1] == "id9999@x.example"


@pytest.mark.parametrize(
    "markup",
    ["<!--" * 50_000, "<a" * 100_000, "</" * 100_000, "<?" * 100_000, '<a b="' * 50_000],
)
def test_html_to_text_is_linear(markup: str) -> None:
    t0 = time.perf_counter()
    html_to_text(markup)
    assert time.perf_counter() - t0 < BOUND


def test_html_to_text_reads_what_it_can_of_broken_markup() -> None:
    assert html_to_text("<p>Name: Ana</p><!-- unclosed <p>hidden") == "Name: Ana"
    assert html_to_text("<p>a < b</p><p>c <3 d") == "a < b\n\nc <3 d"
    assert html_to_text('<a title="x > y">link</a> &amp; more') == "link & more"
    assert html_to_text("<div>one<script>if (a < b) {}</script>two</div>") == "onetwo"
    assert html_to_text("<STYLE>p{}</STYLE><P>Hi<BR>there") == "Hi\nthere"
