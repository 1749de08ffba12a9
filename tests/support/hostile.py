"""Hostile inbound mail, crafted here (not copied from anywhere), and the path it must survive.

`CRAFTED` names each input whose cost once grew with the square of its size, or which emptied
a whole message, as issue 11 measured them; `pipeline` runs one raw message through what
intake runs before touching the database: parse → classify → decide. The fuzz test
(tests/unit/test_fuzz.py) and `benchmarks/fuzz.py` share both. `growth` is how the unit tests
of each scan (tests/unit/test_linear_scans.py) tell linear from quadratic without a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mailbot.domain.answers import Decision, SenderFacts, decide
from mailbot.domain.classify import ClassifyContext, classify
from mailbot.mail.header_block import read_plain_message
from mailbot.mail.parse import parse_message

PROGRAM = "coordinator@example.org"
CONTEXT = ClassifyContext(
    program_address=PROGRAM,
    secret="fuzz-secret",
    own_addresses=frozenset({PROGRAM}),
    coordinators=frozenset({"director@example.org"}),
)


def pipeline(raw: bytes) -> Decision:
    """What intake decides about `raw` before any database work. Must never raise. Read as
    intake reads a body it fetched: a plain message without the email package, else parsed."""
    message = read_plain_message(raw) or parse_message(raw)
    verdict = classify(message, CONTEXT)
    facts = SenderFacts(
        address=message.from_addr,
        known=False,
        is_coordinator=False,
        auto_answers_today=0,
    )
    return decide(verdict, facts, 3)


def growth(run: Callable[[int], object], n: int, repeat: int = 5) -> float:
    """How much longer `run(4 * n)` takes than `run(n)`, best of `repeat` each: about 4 for a
    linear scan (less when a cap bounds it), about 16 for a quadratic one. A ratio, not a
    deadline, so a loaded machine slows both sides alike."""

    def best(size: int) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            run(size)
            times.append(time.perf_counter() - started)
        return min(times)

    best(n)  # warm caches and lazily built tables
    return best(4 * n) / max(best(n), 1e-9)


def _mail(headers: str, body: bytes | str = "Hello\n") -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return headers.replace("\n", "\r\n").encode("utf-8", "surrogateescape") + b"\r\n" + data


def _base(extra: str = "", subject: str = "Hello", sender: str = "ana@example.net") -> str:
    return (
        f"From: {sender}\nTo: {PROGRAM}\nSubject: {subject}\n"
        "Message-ID: <hostile@example.net>\nDate: Tue, 12 Jan 2027 09:00:00 +0000\n"
        f"{extra}"
    )


def address_without_at(size: int) -> bytes:
    return _mail(_base(f"Cc: {'a' * size}\n"))


def bounce_text_with_address_run(size: int) -> bytes:
    body = "Delivery to the following recipients failed.\n\n" + "a." * (size // 2) + "\n"
    return _mail(
        "From: MAILER-DAEMON@mx.example.net\nTo: coordinator@example.org\n"
        "Subject: Undeliverable: Hello\nMessage-ID: <b@mx.example.net>\n",
        body,
    )


def many_ids(count: int) -> bytes:
    ids = " ".join(f"<id{i % 97}.{i}@example.net>" for i in range(count))
    return _mail(_base(f"References: {ids}\nIn-Reply-To: {ids[:200]}\n"))


def many_encoded_words(count: int) -> bytes:
    words = " ".join(['=?utf-8?q?caf=C3=A9_"?='] * count)
    return _mail(_base(f"Cc: {words} <cafe@example.net>\n"))


def unclosed_html_comment(size: int) -> bytes:
    html = "<html><body><p>Name: Ana</p><!--" + "<a " * (size // 3)
    return _mail(_base("MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"), html)


def undefined_charset_application() -> bytes:
    body = (
        "Name: Ana Pérez\nEmail: ana@example.net\nCountry: Peru\nInstitution: Biblioteca\n"
        "Sector: public\nCareer stage: mid-career\nLanguage: es\nInterests: maps\n"
    ).encode("latin-1")
    return _mail(
        _base(
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=undefined\n"
            "Content-Transfer-Encoding: 8bit\n",
            subject="Application",
        ),
        body,
    )


def deep_mime(depth: int) -> bytes:
    parts = [f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(depth)]
    inner = f"--b{depth}\nContent-Type: text/plain\n\nhello\n"
    closing = "".join(f"--b{i}--\n" for i in reversed(range(depth + 1)))
    body = "".join(parts) + inner + closing
    return _mail(_base("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n"), body)


def encoded_display_name_sender() -> bytes:
    return _mail(_base(sender="=?utf-8?q?director=40example.org?= <eve@evil.example>"))


CRAFTED: dict[str, Callable[[], bytes]] = {
    "address header without @ (40 kB)": lambda: address_without_at(40_000),
    "bounce text with a run of address characters": lambda: bounce_text_with_address_run(20_000),
    "10,000 message ids": lambda: many_ids(10_000),
    "50,000 encoded words in an address header": lambda: many_encoded_words(50_000),
    "unclosed HTML comment before tags (20 kB)": lambda: unclosed_html_comment(20_000),
    "charset=undefined with an 8-bit byte": undefined_charset_application,
    "MIME nested 1,000 deep": lambda: deep_mime(1_000),
    "an address inside an encoded display name": encoded_display_name_sender,
}
