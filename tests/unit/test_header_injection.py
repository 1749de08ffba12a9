"""No user text adds a header line or a recipient to an outgoing message, on either writer.

The attacks of issue 11 item 1 and item 8 (second half): a form's Name that is a literal RFC 2047
encoded word holding CR LF (the `email` package decodes it while writing), line breaks or NUL in
an address or an inbound Message-ID. Each is tried on the direct writer (`WireMessage`: plain
text) and on the `email` package's (`EmailMessage`: HTML), then read back as a receiver would.
"""

from __future__ import annotations

import base64
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, default

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.domain.model import WireMessage
from mailbot.mail.build import Envelope, build_message
from mailbot.mail.headers import addr_spec, msg_id, one_line

NOW = datetime(2027, 2, 8, 9, 0, tzinfo=UTC)
PROGRAM = "coordinator@example.org"
EVIL = "x@evil.example"
EVIL_Q = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?="
EVIL_B = "=?utf-8?b?" + base64.b64encode(b"Eve\r\nBcc: x@evil.example").decode() + "?="
# Decoded once it is still an encoded word: a writer that decodes what it is handed finds it.
EVIL_TWICE = "=?utf-8?b?" + base64.b64encode(EVIL_Q.encode()).decode() + "?="
EVIL_NAMES = [EVIL_Q, EVIL_B, EVIL_Q.upper(), f"Ana {EVIL_B} Lopez", EVIL_TWICE]
PATHS = {"direct": None, "email package": "<p>Hello</p>"}
BASE_HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "X-Auto-Response-Suppress",
    "X-Loop", "MIME-Version", "Content-Type",
]  # fmt: skip


def wire(msg: EmailMessage | WireMessage) -> bytes:
    """The bytes a relay receives (as `edges.smtp` writes them)."""
    if isinstance(msg, WireMessage):
        return msg.data
    return msg.as_bytes(policy=SMTPUTF8 if not msg.as_string().isascii() else SMTP)


def header_names(raw: bytes) -> list[str]:
    """The field names of the header block, one per header line (continuations excluded)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [
        line.split(b":", 1)[0].decode("utf-8", "replace")
        for line in head.split(b"\r\n")
        if line and line[:1] not in (b" ", b"\t")
    ]


def addresses(raw: bytes | EmailMessage, name: str) -> list[str]:
    """The addr-specs of header `name` (UTF-8 ones, which the parser reads with surrogate
    escapes, as written)."""
    msg = message_from_bytes(raw, policy=default) if isinstance(raw, bytes) else raw
    specs = [a.addr_spec for value in msg.get_all(name, []) for a in value.addresses]
    return [a.encode("utf-8", "surrogateescape").decode("utf-8") for a in specs]


def expected_names(html: str | None, *extra: str) -> Counter[str]:
    single_part = ["Content-Transfer-Encoding"] if html is None else []
    return Counter([*BASE_HEADERS, *single_part, *extra])


def envelope(**changes: object) -> Envelope:
    fields: dict[str, object] = {
        "program_name": "International Librarians Network",
        "program_address": PROGRAM,
        "to": (("Ana García", "ana@example.net"),),
        "cc": (),
        "reply_to": "",
        "message_id": "mb.3f2a9c.77e1@example.org",
    }
    fields.update(changes)
    return Envelope(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("html", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize("evil", EVIL_NAMES)
def test_an_encoded_word_in_a_name_adds_no_header_and_no_recipient(
    evil: str, html: str | None
) -> None:
    """The applicant's confirmation and the partners' introduction: the name is in To, Cc and
    the subject."""
    env = envelope(
        to=((evil, "ana@example.net"),),
        cc=((evil, "kofi@example.org"),),
        reply_to="coordinator+r-1a2b@example.org, kofi@example.org",
        in_reply_to="their-id@mua.example",
    )
    subject = f"Meet your partner for round 2027A: {evil} and Kofi — ILN"
    raw = wire(build_message(env, subject, "Hello\n", html, NOW))
    got = message_from_bytes(raw, policy=default)
    assert Counter(header_names(raw)) == expected_names(
        html, "Cc", "Reply-To", "In-Reply-To", "References"
    )
    assert addresses(raw, "To") == ["ana@example.net"]
    assert addresses(raw, "Cc") == ["kofi@example.org"]
    assert addresses(raw, "Bcc") == []
    [to] = got["To"].addresses
    assert "\r" not in to.display_name and "\n" not in to.display_name
    assert "\n" not in str(got["Subject"]) and "\r" not in str(got["Subject"])


@pytest.mark.parametrize("html", PATHS.values(), ids=PATHS.keys())
def test_a_name_that_was_an_encoded_word_reads_as_its_text_on_one_line(html: str | None) -> None:
    env = envelope(to=((EVIL_Q, "ana@example.net"),))
    raw = wire(build_message(env, f"Welcome, {EVIL_B}", "Hello\n", html, NOW))
    got = message_from_bytes(raw, policy=default)
    assert [a.display_name for a in got["To"].addresses] == ["Eve Bcc: x@evil.example"]
    assert str(got["Subject"]) == "Welcome, Eve Bcc: x@evil.example"


@pytest.mark.parametrize("html", PATHS.values(), ids=PATHS.keys())
def test_an_encoded_word_that_survives_decoding_is_written_so_it_cannot_be_decoded(
    html: str | None,
) -> None:
    env = envelope(to=((EVIL_TWICE, "ana@example.net"),))
    raw = wire(build_message(env, EVIL_TWICE, "Hello\n", html, NOW))
    got = message_from_bytes(raw, policy=default)
    [to] = got["To"].addresses
    # Decoded once, as any reader would; "=?" is broken by a zero-width space, so no reader
    # decodes it a second time into the line break it holds.
    once = "=\u200b?utf-8?q?Eve=0D=0ABcc:_x@evil.example?="
    assert to.display_name == str(got["Subject"]) == once
    assert addresses(raw, "Bcc") == [] and Counter(header_names(raw)) == expected_names(html)


BAD_IDS = [
    "abc\x00def@mua.example",  # NUL
    "abc@mua.example\x00",
    "abc\x7f@mua.example",  # DEL
    "abc\x1b[31m@mua.example",  # ESC
    "abc\x85def@mua.example",  # NEL
    "abc\u2028def@mua.example",
    "abc def@mua.example",
    "abc@mua.example\r\nBcc: x@evil.example",
    "abc@mua.example>\r\nBcc: <x@evil.example",
    "=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.org",
    "no-at-sign",
    "a@b@c",
    "",
]


@pytest.mark.parametrize("html", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_inbound_message_id_with_controls_is_not_echoed(bad: str, html: str | None) -> None:
    """In-Reply-To and References carry only an id of the strict `<left@right>` shape."""
    raw = wire(build_message(envelope(in_reply_to=bad), "Hi", "Hello\n", html, NOW))
    assert Counter(header_names(raw)) == expected_names(html)
    assert b"\x00" not in raw and b"\x7f" not in raw and b"\x1b" not in raw
    assert addresses(raw, "Bcc") == []


@pytest.mark.parametrize("html", PATHS.values(), ids=PATHS.keys())
def test_a_well_formed_inbound_message_id_is_echoed(html: str | None) -> None:
    mid = "CAF=x+Y_z.1a2b$c@mail.gmail.com"
    raw = wire(build_message(envelope(in_reply_to=mid), "Hi", "Hello\n", html, NOW))
    got = message_from_bytes(raw, policy=default)
    assert str(got["In-Reply-To"]) == str(got["References"]) == f"<{mid}>"


BAD_ADDRESSES = [
    "ana@example.net\r\nBcc: x@evil.example",
    "ana@example.net\nBcc: x@evil.example",
    "ana@example.net\x00",
    "ana@example.net, x@evil.example",
    "Eve <x@evil.example>",
    "=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.org",
    "ana@example.net\u2028Bcc: x@evil.example",
    '"a b"@example.net',
    "no-at-sign",
]


@pytest.mark.parametrize("html", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize("bad", BAD_ADDRESSES)
def test_only_a_valid_addr_spec_goes_into_an_address_header(bad: str, html: str | None) -> None:
    env = envelope(
        to=(("Ana", "ana@example.net"), ("Eve", bad)),
        cc=(("Eve", bad),),
        # Reply-To is a comma-separated list: a comma is a separator there, not an attack.
        reply_to="coordinator+r-1a2b@example.org" + ("" if "," in bad else f", {bad}"),
    )
    raw = wire(build_message(env, "Hi", "Hello\n", html, NOW))
    assert Counter(header_names(raw)) == expected_names(html, "Reply-To")
    assert addresses(raw, "To") == ["ana@example.net"]
    assert addresses(raw, "Cc") == addresses(raw, "Bcc") == []
    assert addresses(raw, "Reply-To") == ["coordinator+r-1a2b@example.org"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EVIL_Q, "Eve Bcc: x@evil.example"),
        (EVIL_B, "Eve Bcc: x@evil.example"),
        ("=?utf-8?q?Ana?= =?utf-8?q?_Garc=C3=ADa?=", "Ana García"),  # the space between: not text
        ("=?utf-8?b?w6nD?= =?utf-8?b?qQ==?=", "éé"),  # a character split between two words
        ("=?iso-8859-1?q?Jos=E9?= =?utf-8?q?_L=C3=B3pez?=", "José López"),
        ("=?x-unknown?q?Zo=C3=AB?=", "Zoë"),  # an unknown charset is read as UTF-8
        ("=?rot13?q?Ana?=", "Ana"),  # not a text codec either
        ("=?utf-8?q?a=00b?=", "a b"),  # NUL decoded, then dropped
        ("=?utf-8?q?a=C2=85b=E2=80=A8c?=", "a b c"),  # NEL, U+2028
        ("=?utf-8?b?not base64?=", "=\u200b?utf-8?b?not base64?="),  # not a word: broken
        ("What is 2+2=?", "What is 2+2=\u200b?"),
        ("Ana\r\n\x00 García", "Ana García"),
    ],
)
def test_one_line_decodes_then_strips_then_breaks_what_still_looks_encoded(
    text: str, expected: str
) -> None:
    assert one_line(text) == expected
    assert one_line(expected) == expected  # cleaning twice changes nothing


def test_addr_spec_keeps_only_a_plain_address() -> None:
    for good in ["ana@example.net", "o'brien+x@mx.example.org", "zoë@example.net", "a@localhost"]:
        assert addr_spec(good) == good
    too_long = "a" * 65 + "@example.net"
    for bad in [*BAD_ADDRESSES, too_long, "a..b@example.net", ".a@example.net", "a@-x.org", ""]:
        assert addr_spec(bad) == "", bad


def test_msg_id_keeps_only_the_strict_shape() -> None:
    for good in ["their-id@mua.example", "CAF=x+Y_z.1a2b$c@mail.gmail.com", "1.2@[192.0.2.1]"]:
        assert msg_id(good) == good
    for bad in [*BAD_IDS, "<a@b>", "a@b" + "c" * 300, "a@[<x@evil.example>]"]:
        assert msg_id(bad) == "", bad


# ------------------------------------------------------------------ any text, either writer

GOOD_ADDRESSES = [
    "ana@example.net", "p.o-b+tag@mx.example.org", "o'brien@example.ie", "tag=x?y@example.org",
    "kofi@localhost", "zoë@example.net", "用户@例子.广告",
]  # fmt: skip
GOOD_IDS = ["their-id@mua.example", "CAF=x+Y_z.1a2b$c@mail.gmail.com", "1.2@[192.0.2.1]"]
# Each holds a character no addr-spec or msg-id may hold, other than white space (which
# Reply-To's `strip()` could take off the end): whatever it is put into is dropped.
BREAKERS = [
    "\r\nBcc: x@evil.example", "\nBcc:x@evil.example", "\rCc: x@evil.example", "\x00",
    "\x85To: <x@evil.example>", "\u2028Cc: x@evil.example", "\u2029Bcc:x@evil.example",
    "<x@evil.example>", "=?utf-8?q?=0D=0ABcc:_x@evil.example?=", '"', "\\", "(x@evil.example)",
    "\x1b", "\u202e", "\x7f", "; x@evil.example", "\ud800", ":",  # ':' last: IPv6 has it
]  # fmt: skip
PIECES = [
    "\r\n", "\r", "\n", "\x00", "\x85", "\u2028", "\u2029", "\t", "\x0b", "\x0c", "\x1b", "\x7f",
    "\u202e", "\u200c", "\ud800", "\r\nBcc: x@evil.example", "Bcc: x@evil.example", ",", ";",
    ":", "<", ">", '"', "\\", "(", ")", "@", "=?", "?=", " ", "x" * 300, "é" * 120, "李" * 50,
    "x@evil.example", EVIL_Q, EVIL_B, EVIL_TWICE,
]  # fmt: skip


def _encoded_word(text: str, encoding: str, charset: str) -> str:
    try:
        data = text.encode(charset.partition("*")[0], "replace")
    except LookupError:
        data = text.encode("utf-8", "surrogatepass")
    if encoding in "bB":
        payload = base64.b64encode(data).decode()
    else:
        payload = "".join("_" if b == 0x20 else f"={b:02X}" for b in data)
    return f"=?{charset}?{encoding}?{payload}?="


_small = st.text(st.characters(exclude_categories=()), max_size=12)
_words = st.builds(
    _encoded_word,
    st.lists(_small | st.sampled_from(PIECES), max_size=3).map("".join),
    st.sampled_from("bBqQ"),
    st.sampled_from(["utf-8", "UTF-8", "iso-8859-1", "utf-8*en", "x-unknown", "rot13"]),
)
_hostile = st.lists(_small | st.sampled_from(PIECES) | _words, max_size=6).map("".join)
_good = st.sampled_from(GOOD_ADDRESSES)


def _broken(core: str, breaker: str, at: int) -> str:
    at %= len(core) + 1
    return core[:at] + breaker + core[at:]


_bad = st.builds(_broken, _good | _small, st.sampled_from([*BREAKERS, ", x@evil.example"]),
                 st.integers(0, 60))  # fmt: skip
_bad_reply = st.builds(_broken, _good, st.sampled_from(BREAKERS), st.integers(0, 60))
_bad_id = st.builds(_broken, st.sampled_from(GOOD_IDS), st.sampled_from(BREAKERS[:-1]),
                    st.integers(0, 40))  # fmt: skip
_SUBJECTS = [
    "Meet your partner for round 2027A: {name} and {other} — {program}",
    "Your partner {name} is taking a break — {program}",
    "We received your application ({institution}) — {program}",
    "{name}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_hostile,
    other=_hostile,
    institution=_hostile,
    template=st.sampled_from(_SUBJECTS),
    to=st.lists(_good | _bad, min_size=1, max_size=3),
    cc=st.lists(_good | _bad, max_size=2),
    reply=st.lists(_good | _bad_reply, max_size=2),
    in_reply_to=st.sampled_from(["", *GOOD_IDS]) | _bad_id,
    bulk=st.booleans(),
)
def test_no_text_adds_a_header_line_or_a_recipient(
    name: str,
    other: str,
    institution: str,
    template: str,
    to: list[str],
    cc: list[str],
    reply: list[str],
    in_reply_to: str,
    bulk: bool,
) -> None:
    """As `flows.outbox.render_row` calls it: names from the participants' forms, in To, Cc
    and the subject; partners in Cc and Reply-To; the inbound id in In-Reply-To."""
    env = envelope(
        program_name="Réseau — ILN",
        to=tuple((name, a) for a in to),
        cc=tuple((other, a) for a in cc),
        reply_to=", ".join(["coordinator+r-1a2b@example.org", *reply]),
        in_reply_to=in_reply_to,
        key="topic:2027A:12:3",
        unsubscribe="coordinator+r-u9@example.org" if bulk else "",
    )
    subject = template.format(name=name, other=other, institution=institution, program="ILN")
    want_to = [a for a in to if a in GOOD_ADDRESSES]
    want_cc = [a for a in cc if a in GOOD_ADDRESSES]
    want_reply = ["coordinator+r-1a2b@example.org", *(a for a in reply if a in GOOD_ADDRESSES)]
    optional = {
        "To": bool(want_to),
        "Cc": bool(want_cc),
        "Reply-To": True,
        "In-Reply-To": in_reply_to in GOOD_IDS,
        "References": in_reply_to in GOOD_IDS,
        "X-Mailbot-Key": True,
        "List-Unsubscribe": bulk,
        "Precedence": bulk,
    }
    extra = [h for h, present in optional.items() if present and h != "To"]
    for html in PATHS.values():
        msg = build_message(env, subject, "Hello\n", html, NOW)
        if html is None and all(a.isascii() for a in [*want_to, *want_cc, *want_reply]):
            assert isinstance(msg, WireMessage)
        raw = wire(msg)
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 998 for line in head.split(b"\r\n"))
        assert b"\x00" not in head and b"\r" not in head.replace(b"\r\n", b"")
        names = expected_names(html, *extra)
        if not want_to:
            del names["To"]
        assert Counter(header_names(raw)) == names
        got = message_from_bytes(raw, policy=default)
        assert isinstance(got, EmailMessage)
        assert addresses(got, "To") == want_to
        assert addresses(got, "Cc") == want_cc
        assert addresses(got, "Reply-To") == want_reply
        for field in ("Subject", "To", "Cc", "Reply-To", "In-Reply-To", "References"):
            value = str(got.get(field, ""))
            assert "\n" not in value and "\r" not in value and "\x00" not in value
