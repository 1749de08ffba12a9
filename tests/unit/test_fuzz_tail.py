"""The shortcuts and caps that took the fuzz benchmark's p99 under 20 ms (issue 11) keep what
they replace: a single-part body set without the parser is the parser's own, a header line
past the cap keeps what its readers read, `fold` without its per-character generator folds
alike, and the address scan of a bounce stops at `MAX_ATS` "@" signs."""

from __future__ import annotations

import random
import re
import unicodedata
from email.feedparser import FeedParser

import pytest

from mailbot.domain import autoreply, bounce_text
from mailbot.domain.textutil import fold
from mailbot.mail import mime
from mailbot.mail.decode import (
    MAX_ENCODED_WORDS,
    decode_header_value,
    decode_words,
    one_line,
    unfold,
)
from mailbot.mail.parse import parse_message

_BODIES = [
    b"From: a@example.net\r\nSubject: hi\r\n\r\nHello\r\nthere\r\n",
    b"From: a@example.net\nSubject: hi\n\nHello\n",
    b"From: a@example.net\rSubject: hi\r\rHello\rthere",  # bare CRs end lines too
    b"From: a@example.net\r\nSubject: hi\r\nnot a header line\r\nBcc: x\r\n\r\nbody\r\n",
    b"From a@example.net Mon Jan 1 00:00:00 2027\nSubject: hi\n\nmbox body\n",
    b"Subject: no body\r\n",
    b"Subject: only\r\n\r\n",
    b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nAction: failed\n",
    b"Content-Type: text/plain; charset=latin-1\n\ncaf\xe9\n",
    b"Subject: \xff\xfe\n\xc3\xa9\n\n\xff body\n",
    b"\n\nbody after an empty header block\n",
]


def _stdlib_payload(raw: bytes) -> object:
    parser = FeedParser(mime.Part, policy=mime._POLICY)
    parser.feed(raw.decode("ascii", "surrogateescape"))
    return parser.close().get_payload()


@pytest.mark.parametrize("raw", _BODIES)
def test_a_single_part_body_is_the_one_the_parser_reads(raw: bytes) -> None:
    defects: list[str] = []
    root = mime.parse_bytes(raw, defects)
    assert root.get_payload() == _stdlib_payload(raw)
    assert not any("not read" in d for d in defects)


def test_a_long_single_part_body_is_cut_at_the_lines_cap_and_says_so() -> None:
    raw = b"Subject: x\n\n" + b"line\n" * (mime.PARSE_LINES + 10)
    defects: list[str] = []
    payload = mime.parse_bytes(raw, defects).get_payload()
    assert payload == "line\n" * mime.PARSE_LINES
    assert f"more than {mime.PARSE_LINES} lines: the rest of the message is not read" in defects


def test_a_header_line_past_the_cap_keeps_its_head_and_its_tail() -> None:
    ids = " ".join(f"<id{i}@x.example>" for i in range(20_000))
    words = " ".join(["=?utf-8?q?caf=C3=A9?="] * 10_000)
    raw = f"From: a@example.net\nCc: {words} <cafe@example.net>\nReferences: {ids}\n\nHi\n"
    msg = parse_message(raw.encode())
    assert msg.references[0] == "id0@x.example" and msg.references[-1] == "id19999@x.example"
    assert msg.headers["cc"][0].startswith("café")
    assert msg.text == "Hi\n"
    assert any("header line longer than" in d for d in msg.defects)


def _fold_reference(text: str) -> str:
    """`fold` as it was written first, one character at a time."""
    if text.isascii():
        return re.sub(r"\s+", " ", text.replace("`", "'").lower()).strip()
    text = text.translate({ord(quote): "'" for quote in "’‘ʼ`´"})
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", stripped.casefold()).strip()


def test_fold_folds_as_the_character_by_character_version() -> None:
    rng = random.Random(11)
    ranges = [(0x20, 0x7F), (0x80, 0x3000), (0x300, 0x370), (0xD800, 0xE000), (0x10000, 0x30000)]
    samples = ["Bibliothèque", "Ñandú’s  café", "Ｆｕｌｌ", "ǅ", "a\u0301\U0001d165b", "´`ʼ‘’"]
    for _ in range(3_000):
        lo, hi = rng.choice(ranges)
        samples.append("".join(chr(rng.randrange(lo, hi)) for _ in range(rng.randrange(1, 30))))
    for text in samples:
        assert fold(text) == _fold_reference(text), repr(text)


def test_the_address_scan_stops_at_max_ats() -> None:
    text = "a@" * bounce_text.MAX_ATS + " bob@example.org"
    assert list(bounce_text.addresses(text)) == []
    assert [a for _s, _e, a in bounce_text.addresses("x " + text[-40:])] == ["bob@example.org"]


@pytest.mark.parametrize(
    "value",
    ["", "  plain  ", "Tue, 12 Jan 2027 09:00:00 +0000", "a" * 20_000, "x =? y", "tab\there"],
)
def test_a_plain_header_value_decodes_as_through_every_pass(value: str) -> None:
    assert decode_header_value(value) == one_line(decode_words(unfold(value))).strip()


def test_month_names_grouped_by_letter_match_as_the_flat_alternation() -> None:
    flat = "|".join(sorted((re.escape(m) for m in autoreply._MONTHS), key=len, reverse=True))
    text = (
        "Back on May 3rd, 2027; de retour le 4 juin 2026, hasta el 12 de marzo. Mar. 5 "
        "até 7 de março; bis 1. März; a mi a mi mayo 9 septembre 10 sept 11 dec. 1 "
    ) * 3
    for kind, pattern in autoreply._DATE_PATTERNS:
        reference = re.compile(pattern.pattern.replace(autoreply._MONTH_RE, flat), pattern.flags)
        got = [(m.span(), m.groups()) for m in pattern.finditer(text)]
        assert got == [(m.span(), m.groups()) for m in reference.finditer(text)], kind


def test_a_value_decodes_its_first_max_encoded_words() -> None:
    decoded = decode_words(" ".join(["=?utf-8?q?caf=C3=A9?="] * (MAX_ENCODED_WORDS + 5)))
    assert decoded.startswith("café" * MAX_ENCODED_WORDS)
    assert decoded.count("=?utf-8?q?caf=C3=A9?=") == 5


def test_a_part_header_block_is_parsed_up_to_part_fields_lines() -> None:
    part_head = "".join(f"X-{i}: v\n" for i in range(5_000))
    raw = (
        "From: a@example.net\nContent-Type: multipart/mixed; boundary=b\n\n"
        f"--b\n{part_head}Content-Type: text/plain\n\nHi\n--b--\n"
    ).encode()
    defects: list[str] = []
    root = mime.parse_bytes(raw, defects)
    parts = root.get_payload()
    assert isinstance(parts, list) and len(parts) == 1
    assert len(parts[0]) == mime.PART_FIELDS
    assert f"a part with more than {mime.PART_FIELDS} header fields; the rest ignored" in defects
