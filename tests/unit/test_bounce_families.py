"""Bounce families read by their structure: one made-up message per family (example.org /
example.net addresses), classified through the real path, and scans linear in their input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mailbot.domain import bounce_text
from mailbot.domain.bounces import read_bounce
from mailbot.domain.classify import ClassifyContext, classify
from mailbot.domain.model import Kind
from mailbot.mail.parse import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"
PROGRAM = "coordinator@example.net"
CTX = ClassifyContext(
    program_address=PROGRAM, secret="test-secret", own_addresses=frozenset({PROGRAM})
)


@pytest.mark.parametrize(
    ("name", "recipients", "permanent"),
    [
        # "MAILER-DAEMON <>": a robot by its display name, no address
        ("dragonfly.eml", ("ana.lopez@example.org",), True),
        # X-Failed-Recipients under a Japanese text that names nobody
        ("google_groups_japanese.eml", ("mentors-list@groups.example.org",), True),
        # only the RCPT TO answered 5xx, not the accepted one
        ("v5_sendmail_transcript.eml", ("li.wei@example.org",), False),
        # a transcript that names nobody: the To of the unsent message
        ("v5_sendmail_no_address.eml", ("nadia.haddad@example.org",), False),
        # a delivery-status part inside multipart/mixed
        ("mixed_with_delivery_status.eml", ("omar.diallo@example.org",), True),
        # a multipart/report whose boundary never comes: the fields read as text
        ("no_mime_dsn.eml", ("eva.novak@example.org", "jon.berg@example.org"), True),
        ("returned_mail_japanese_carrier.eml", ("yuki.tanaka@mobile.example.net",), True),
        # a subject in Japanese, the transcript of a gateway
        ("gateway_non_english_subject.eml", ("kenji.sato@example.org",), True),
        # nothing but the header; the contact address below is not a recipient
        ("x_failed_recipients_only.eml", ("ines.costa@example.org",), True),
        # a robot address is the recipient when it is the only one named
        ("postmaster_is_the_recipient.eml", ("postmaster@lists.example.org",), True),
    ],
)
def test_family_is_a_bounce_for_the_right_address(
    name: str, recipients: tuple[str, ...], permanent: bool
) -> None:
    verdict = classify(parse_message((FIXTURES / name).read_bytes()), CTX)
    assert verdict.kind is Kind.BOUNCE, verdict.reason
    assert verdict.bounce is not None
    assert verdict.bounce.recipients == recipients
    if name.startswith("v5_sendmail"):
        return  # 421 "Deferred" and 550: the class is read from the transcript, not asserted
    assert verdict.bounce.permanent is permanent


def test_a_success_report_is_no_bounce() -> None:
    verdict = classify(parse_message((FIXTURES / "success_dsn_not_bounce.eml").read_bytes()), CTX)
    assert verdict.kind is not Kind.BOUNCE and verdict.automated


def test_a_complaint_feedback_report_is_never_answered() -> None:
    verdict = classify(
        parse_message((FIXTURES / "complaint_feedback_attached.eml").read_bytes()), CTX
    )
    assert verdict.kind is Kind.AUTO_REPLY and verdict.automated


def test_addresses_are_found_from_the_at_sign_outwards() -> None:
    found = [a for _s, _e, a in bounce_text.addresses("x <A.B@Mail.Example.ORG>, c@d, e@f.g.")]
    assert found == ["a.b@mail.example.org", "e@f.g"]
    assert bounce_text.transcript_failures(
        ">>> RCPT TO:<a@x.example>\n<<< 550 no\n>>> RCPT TO:<b@x.example>\n<<< 250 ok\n"
    ) == ["a@x.example"]


CRAFTED = [
    "a" * 1_000_000,  # a long run of address characters, no @
    "a" * 500_000 + "@" + "b" * 500_000,  # one @ in the middle of it
    "a." * 500_000,
    "@a" * 500_000,  # an @ every other character
    "a@b." * 250_000,
    ">>> RCPT TO:<" * 70_000,
    "Final-Recipient: rfc822; " * 40_000,
    "<" * 1_000_000,
    "Received: x\n" * 80_000,
]


@pytest.mark.parametrize("body", CRAFTED, ids=range(len(CRAFTED)))
def test_a_crafted_megabyte_is_read_in_well_under_a_second(body: str) -> None:
    raw = (
        "From: MAILER-DAEMON@mx.example.net\nTo: coordinator@example.net\n"
        "Subject: Undelivered Mail Returned to Sender\nX-Failed-Recipients: " + body[:5000] + "\n"
        "\nI'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n" + body
    ).encode()
    msg = parse_message(raw)
    start = time.perf_counter()
    read_bounce(msg, PROGRAM, "test-secret", own_addresses={PROGRAM})
    assert time.perf_counter() - start < 1.0
