"""Outgoing mail is byte-for-byte what it was: every template, language and sample context,
rendered and built as delivery does it, against digests of the bytes an earlier version wrote.

The digests (tests/fixtures/build/golden.json) were written by the code before delivery's
per-message work was made cheaper (caches, encoded words cut from the UTF-8 bytes); a change
that alters a single byte of any message fails here. A change that means to alter the mail
rewrites the file: `python tests/unit/test_build_golden.py --write`.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.policy import SMTP
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mailbot.contexts.samples import SAMPLES  # noqa: E402
from mailbot.domain.model import WireMessage  # noqa: E402
from mailbot.edges.render import Renderer  # noqa: E402
from mailbot.mail.build import Envelope, _encoded_words, _room, build_message  # noqa: E402

GOLDEN = ROOT / "tests/fixtures/build/golden.json"
NOW = datetime(2027, 2, 8, 9, 0, tzinfo=UTC)
LANGS = ("en", "fr", "es")
# Addressing variants: plain, non-ASCII and long names with Cc and a reply-to, and bulk mail
# with an unsubscribe address and a key too long for a header line.
ENVELOPES = {
    "plain": Envelope(
        program_name="Mentoring Programme",
        program_address="coordinator@example.org",
        to=(("", "ana@example.net"),),
        cc=(),
        reply_to="",
        message_id="mb.0123456789abcdef01234567.abcdefghij@example.org",
        key="answer:mid:x:confirmation",
    ),
    "names": Envelope(
        program_name="Programme de mentorat — Île-de-France",
        program_address="coordinator@example.org",
        to=(("Zoë Łukasz-García (Paris)", "zoe@example.net"), ('O\'Brien, "Pat"', "pat@x.io")),
        cc=(("李雷 " * 12, "li@example.cn"),),
        reply_to="pair+p-12-abcdefghij@example.org, ana@example.net",
        message_id="mb.0123456789abcdef01234567.abcdefghij@example.org",
        in_reply_to="CAF=x.y@mail.example.com",
        key="answer:mid:" + "0123456789abcdef" * 4 + ":confirmation",
    ),
    "bulk": Envelope(
        program_name="Mentoring",
        program_address="coordinator@example.org",
        to=(("Person 7", "person7@example.net"),),
        cc=(),
        reply_to="pair+p-3-abcdefghij@example.org",
        message_id="mb.0123456789abcdef01234567.abcdefghij@example.org",
        key="topic:round-2027:pair-3:week-4:" + "k" * 90,
        unsubscribe="coordinator+r-u7-abcdefghij@example.org",
    ),
    "attachment": Envelope(
        program_name="Mentoring",
        program_address="coordinator@example.org",
        to=(("Dir", "director@example.org"),),
        cc=(),
        reply_to="",
        message_id="mb.0123456789abcdef01234567.abcdefghij@example.org",
        key="digest:2027-02-08",
        attachments=(("chart.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "c1"),),
    ),
}


def written(message: object) -> bytes:
    """The bytes sent; the `email` package's random multipart boundaries numbered instead."""
    if isinstance(message, WireMessage):
        return message.data
    data: bytes = message.as_bytes(policy=SMTP)  # type: ignore[attr-defined]
    for n, boundary in enumerate(dict.fromkeys(re.findall(rb'boundary="([^"]+)"', data))):
        data = data.replace(boundary, b"BOUNDARY-%d" % n)
    return data


def cases() -> Iterator[tuple[str, bytes]]:
    """(case id, the message's bytes) for every template, language, sample and envelope."""
    renderer = Renderer()
    for name in renderer.names():
        for lang in LANGS:
            for i, ctx in enumerate(SAMPLES.get(name, [{}])):
                rendered = renderer.render(name, lang, dict(ctx))
                for label, env in ENVELOPES.items():
                    html = rendered.html if label != "attachment" else (rendered.html or "<p/>")
                    message = build_message(env, rendered.subject, rendered.text, html, NOW)
                    yield f"{name}/{lang}/{i}/{label}", written(message)
    # Subjects and names at the edges of the encoded-word splitting.
    for j, subject in enumerate(["", "é", "x" * 77, "é" * 40, "a€" * 30, "𝄞" * 19 + "x" * 60]):
        env = ENVELOPES["names"]
        yield f"subject/{j}", written(build_message(env, subject, "text\n", None, NOW))


def digests() -> dict[str, str]:
    return {case: hashlib.sha256(data).hexdigest() for case, data in cases()}


@pytest.fixture(scope="module")
def golden() -> dict[str, str]:
    golden: dict[str, str] = json.loads(GOLDEN.read_text())
    return golden


def _encoded_words_as_before(text: str, used: int) -> str:
    """`mail.build._encoded_words` as it was written first: one character at a time."""
    words: list[bytes] = []
    chunk = bytearray()
    room = _room(76 - used)
    for ch in text:
        data = ch.encode("utf-8")
        if chunk and len(chunk) + len(data) > room:
            words.append(bytes(chunk))
            chunk, room = bytearray(), _room(75)
        chunk += data
    words.append(bytes(chunk))
    return "\r\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode('ascii')}?=" for w in words
    )


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
    | st.text(st.sampled_from("aé€𝄞"), max_size=120),
    used=st.integers(0, 90),
)
def test_encoded_words_split_where_they_did(text: str, used: int) -> None:
    assert _encoded_words(text, used) == _encoded_words_as_before(text, used)


def test_every_message_is_byte_for_byte_what_it_was(golden: dict[str, str]) -> None:
    now = digests()
    assert set(now) == set(golden)
    changed = [case for case in golden if now[case] != golden[case]]
    assert not changed, f"{len(changed)} messages differ, e.g. {changed[:5]}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(digests(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
