"""Outgoing messages: the direct writer reads exactly like the `email` package's message."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import getaddresses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.domain.model import WireMessage
from mailbot.mail.build import Envelope, _composed, build_message, one_line

NOW = datetime(2027, 2, 8, 9, 0, tzinfo=UTC)
HEADERS = (
    "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Auto-Submitted", "X-Auto-Response-Suppress", "X-Loop", "X-Mailbot-Key", "List-Unsubscribe",
    "Precedence", "Content-Type",
)  # fmt: skip


def read(raw: bytes) -> dict[str, object]:
    msg = message_from_bytes(raw, policy=default)
    out: dict[str, object] = {}
    for name in HEADERS:
        value = msg.get(name)
        if value is not None and hasattr(value, "addresses"):
            value = [(a.display_name, a.addr_spec) for a in value.addresses]
        out[name] = None if value is None else value if isinstance(value, list) else str(value)
    assert isinstance(msg, EmailMessage)
    # Line breaks are CRLF on the wire; how the parser hands them back depends on the
    # transfer encoding, so they are compared as text lines.
    out["body"] = msg.get_content().replace("\r\n", "\n")
    return out


def mailboxes(raw: bytes, name: str) -> list[tuple[str, str]]:
    """The (name, address) pairs of one address header, names decoded as RFC 2047 says:
    whitespace between two encoded words is not part of the name. (Python's address parser
    keeps it, for the email package's own long names as much as for ours.)"""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n ", " ")
    values = [h[len(name) + 2 :] for h in head.split("\r\n") if h.startswith(f"{name}: ")]
    return [
        (str(make_header(decode_header(n))) if "=?" in n else n, a) for n, a in getaddresses(values)
    ]


_name = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
) | st.sampled_from(["Ana García", 'O\'Brien, "Pat"', "Zoë (Paris)", "Łukasz", "李雷", ""])
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400) | st.builds(
    lambda a, n: (a + "\n") * n, st.sampled_from(["Sector: public", "é" * 90, "x" * 120]),
    st.integers(1, 30),
)  # fmt: skip
_addr = st.sampled_from(["ana@example.net", "p.o-b+tag@mx.example.org", "x@y.io"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    to_name=_name,
    cc=st.lists(st.tuples(_name, _addr), max_size=2),
    subject=_name | st.text(max_size=300),
    text=_text,
    bulk=st.booleans(),
    reply=st.booleans(),
)
def test_the_direct_writer_reads_like_the_email_package(
    to_name: str,
    cc: list[tuple[str, str]],
    subject: str,
    text: str,
    bulk: bool,
    reply: bool,
) -> None:
    env = Envelope(
        program_name="Réseau — ILN",
        program_address="coordinator@example.org",
        to=((to_name, "ana@example.net"),),
        cc=tuple(cc),
        reply_to="coordinator+r-1a2b@example.org, partner@example.net" if reply else "",
        message_id="k-abc@example.org",
        in_reply_to="their-id@mua.example" if reply else "",
        key="topic:2027A:12:3",
        unsubscribe="coordinator+r-u9@example.org" if bulk else "",
    )
    fast = build_message(env, subject, text, None, NOW)
    if not isinstance(fast, WireMessage):  # e.g. "=?" in a name: the package writes it
        return
    assert fast.data.isascii() and b"\n" not in fast.data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in fast.data.split(b"\r\n"))
    assert _too_long(fast.data) == []
    got = read(fast.data)
    # Names, subject and text read back exactly as given (after one_line for headers) ...
    assert mailboxes(fast.data, "To") == [(one_line(to_name, 100), "ana@example.net")]
    assert mailboxes(fast.data, "Cc") == [(one_line(n, 100), a) for n, a in cc]
    assert got["Subject"] == one_line(subject, 250)
    assert got["body"] == b"\n".join(text.encode().splitlines()).decode() + "\n"
    # ... and everything reads as the email package's own message reads. (Its names are not
    # the reference: folding encoded words, it can add a space inside a name.)
    slow = read(_composed(env, subject, text, None, NOW).as_bytes(policy=SMTP))
    for name in ("To", "Cc"):
        got.pop(name), slow.pop(name)
    assert got == slow


def _alternatives(raw: bytes) -> list[tuple[str, str, str]]:
    """(content type, transfer encoding, text) of each part, the text as lines."""
    msg = message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage) and msg.get_content_type() == "multipart/alternative"
    return [
        (p.get_content_type(), str(p["Content-Transfer-Encoding"]) != "8bit",
         p.get_content().replace("\r\n", "\n"))
        for p in msg.iter_parts()
    ]  # fmt: skip


# 100 (Hypothesis' default), not 200: each example builds and parses two messages (~75 ms);
# the line limits and the boundary case are the plain-text test's (300 above) and the one below
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_name | st.text(max_size=120), text=_text, html=_text | st.just("--=_mb\n"))
def test_text_and_html_read_like_the_email_package(subject: str, text: str, html: str) -> None:
    """Topics and introductions: multipart/alternative written directly, read back as the
    package's own message reads, every line within the limits, the boundary in no part."""
    env = Envelope(
        "Réseau — ILN", "coordinator@example.org", (("Zoë Ålund", "z@example.net"),), (),
        "partner@example.net, coordinator+p-1@example.org", "k-abc@example.org",
        key="topic:2027A:12:3", unsubscribe="coordinator+r-u9@example.org",
    )  # fmt: skip
    html = html or "<p>x</p>"
    fast = build_message(env, subject, text, html, NOW)
    assert isinstance(fast, WireMessage)
    assert fast.data.isascii() and b"\n" not in fast.data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in fast.data.split(b"\r\n"))
    assert _too_long(fast.data) == []
    slow = _composed(env, subject, text, html, NOW).as_bytes(policy=SMTP)
    head = [h for h in HEADERS if h != "Content-Type"]
    assert {h: read_header(fast.data, h) for h in head} == {h: read_header(slow, h) for h in head}
    ours, theirs = _alternatives(fast.data), _alternatives(slow)
    assert [(t, body) for t, _, body in ours] == [(t, body) for t, _, body in theirs]
    assert all(encoded for _, encoded, _ in ours)  # 7-bit clean, whatever the text


def test_a_part_that_holds_the_boundary_gets_another() -> None:
    env = Envelope("ILN", "coordinator@example.org", (("", "ana@example.net"),), (), "", "m@x")
    first = build_message(env, "Hi", "text", "<p>html</p>", NOW)
    assert isinstance(first, WireMessage)
    boundary = first.data.split(b'boundary="', 1)[1].split(b'"', 1)[0].decode()
    text = f"quoted:\n--{boundary}\n--{boundary}--\n"
    again = build_message(env, "Hi", text, "<p>html</p>", NOW)
    assert isinstance(again, WireMessage) and f'boundary="{boundary}"'.encode() not in again.data
    assert [body for _, _, body in _alternatives(again.data)] == [text, "<p>html</p>\n"]


def read_header(raw: bytes, name: str) -> object:
    value = message_from_bytes(raw, policy=default).get(name)
    if value is not None and hasattr(value, "addresses"):
        return [(a.display_name, a.addr_spec) for a in value.addresses]
    return None if value is None else str(value)


def _too_long(raw: bytes) -> list[bytes]:
    """Header lines with an encoded word over 76 characters (RFC 2047 §2), and lines of a
    quoted-printable body over 76 (RFC 2045 §6.7)."""
    head, body = raw.split(b"\r\n\r\n", 1)
    long = [line for line in head.split(b"\r\n") if b"=?" in line and len(line) > 76]
    if b"quoted-printable" in head:
        long += [line for line in body.split(b"\r\n") if len(line) > 76]
    return long


def test_lines_stay_within_76_characters_where_the_rfcs_say_so() -> None:
    """'Subject: ' and a 72-character encoded word made 81; quoted-printable lines were 78."""
    env = Envelope(
        "Réseau international des bibliothécaires", "coordinator@example.org",
        (("Amaia Etxeberria Goikoetxea-Zuloaga", "amaia.etxeberria@example.net"),
         ("Zoë Ålund", "z@example.org")),
        (), "", "mb.x.y@example.org",
    )  # fmt: skip
    subject = "Nous avons bien reçu votre candidature — International Librarians Network"
    text = ("Voici le sujet numéro 3 pour la ronde « 2027A », à discuter avec Kofi, " * 3) + "\n"
    raw = build_message(env, subject, text, None, NOW)
    assert isinstance(raw, WireMessage) and b"quoted-printable" in raw.data
    assert _too_long(raw.data) == []
    got = read(raw.data)
    assert got["Subject"] == subject and got["body"] == text
    assert mailboxes(raw.data, "To") == [(n, a) for n, a in env.to]


def test_attachments_and_international_addresses_use_the_email_package() -> None:
    env = Envelope("ILN", "coordinator@example.org", (("", "ana@example.net"),), (), "", "m@x")
    assert isinstance(build_message(env, "Hi", "text", None, NOW), WireMessage)
    assert isinstance(build_message(env, "Hi", "text", "<p>html</p>", NOW), WireMessage)
    chart = replace(env, attachments=(("chart.png", "image/png", b"\x89PNG", "chart@mailbot"),))
    assert isinstance(build_message(chart, "Hi", "text", "<p>html</p>", NOW), EmailMessage)
    intl = Envelope("ILN", "coordinator@example.org", (("", "zoë@example.net"),), (), "", "m@x")
    assert isinstance(build_message(intl, "Hi", "text", None, NOW), EmailMessage)
    # Text shaped like an encoded word is decoded before either writer sees it (and any
    # "=?" left is broken: tests/unit/test_header_injection.py), so the direct writer can take it.
    tricky = build_message(env, "=?utf-8?q?not_encoded?=", "text", None, NOW)
    assert isinstance(tricky, WireMessage) and tricky.subject == "not encoded"


def test_names_keep_zwnj_and_zwj_but_lose_controls_and_bidi_overrides() -> None:
    """ZWNJ (U+200C) and ZWJ (U+200D) are part of Persian and Indic spellings; CR/LF and
    bidi overrides (which can make a name display as other text) are not."""
    persian = "علی\u200cرضا محمدی"
    assert one_line(persian) == persian
    assert one_line("क्\u200dष") == "क्\u200dष"
    assert one_line("Eve\r\nBcc: x@y\u2028z") == "Eve Bcc: x@y z"
    assert one_line("\u202eevil\u202c gnp.exe\u2066x\u2069") == "evil gnp.exe x"
    for html in (None, "<p>html</p>"):  # the direct writer and the email package
        env = Envelope(
            "ILN", "coordinator@example.org", ((persian, "ali@example.net"),), (), "", "m@x"
        )
        msg = build_message(env, "Hi", "text\n", html, NOW)
        raw = msg.data if isinstance(msg, WireMessage) else msg.as_bytes(policy=SMTP)
        [addr] = message_from_bytes(raw, policy=default)["To"].addresses
        assert addr.display_name == persian
