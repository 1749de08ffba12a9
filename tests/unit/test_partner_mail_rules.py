"""`partner_mail.CLEARED_RULES` (the bounce row skipped for mail with no sign of a report)
classifies every header block `_may_be_machine_mail` clears exactly as `classify.RULES` does —
a `+b-` tag beside a pair's tracking address is still a bounce."""

from __future__ import annotations

import pytest

from mailbot.domain import tokens
from mailbot.domain.classify import ClassifyContext, classify
from mailbot.domain.model import Kind, Route
from mailbot.domain.partner_mail import CLEARED_RULES, _may_be_machine_mail, partner_verdict
from mailbot.mail.header_block import read_header_block
from mailbot.mail.parse import parse_message

PROGRAM = "coordinator@example.org"
SECRET = "s3cret"
CTX = ClassifyContext(program_address=PROGRAM, secret=SECRET, own_addresses=frozenset({PROGRAM}))
TRACK = tokens.tag_address(PROGRAM, Route.PAIR, "7", SECRET)
BOUNCE_TAG = tokens.tag_address(PROGRAM, Route.BOUNCE, "abc123", SECRET)
BAD_TAG = TRACK[:-3] + "zzz@example.org"

CASES = [
    {"To": "lea@example.net", "Cc": TRACK},
    {"To": f"lea@example.net, {BOUNCE_TAG}", "Cc": TRACK},  # our bounce tag: a bounce
    {"To": BOUNCE_TAG, "Cc": TRACK},
    {"To": "lea@example.net", "Cc": TRACK, "Delivered-To": BOUNCE_TAG},
    {"To": "lea@example.net", "Cc": BAD_TAG},
    {"To": TRACK},
    {"To": "lea@example.net", "Cc": TRACK, "Subject": "Out of office: back Monday"},
    {"To": "lea@example.net", "Cc": f"{TRACK}, {BOUNCE_TAG}", "Subject": "Automatic reply"},
    {"To": "lea@example.net", "Cc": TRACK, "Auto-Submitted": "auto-replied"},
    {"To": "lea@example.net", "Cc": TRACK, "X-Loop": PROGRAM},
    {"To": "lea@example.net", "Cc": TRACK, "From": PROGRAM},
    {"To": "lea@example.net", "Cc": TRACK, "List-Id": "<talk.example.net>"},
    {"To": PROGRAM, "Cc": TRACK, "Subject": "STATUS"},
    {"To": "lea@example.net", "Cc": TRACK, "In-Reply-To": "<x@y>"},
]


def _head(fields: dict[str, str]) -> bytes:
    base = {"From": "kofi@example.net", "Subject": "hello", "Message-ID": "<a@b>"}
    return ("".join(f"{k}: {v}\r\n" for k, v in (base | fields).items()) + "\r\n").encode()


@pytest.mark.parametrize("fields", CASES)
def test_the_cleared_rules_classify_as_the_rule_table(fields: dict[str, str]) -> None:
    raw = _head(fields)
    for msg in (parse_message(raw), read_header_block(raw)):
        assert msg is not None and not _may_be_machine_mail(msg)
        full = classify(msg, CTX)
        assert classify(msg, CTX, CLEARED_RULES) == full
        partner = partner_verdict(msg, CTX)
        assert partner is None or partner == full


def test_a_bounce_tag_beside_a_tracking_address_is_no_partner_mail() -> None:
    msg = parse_message(_head({"To": f"lea@example.net, {BOUNCE_TAG}", "Cc": TRACK}))
    assert classify(msg, CTX, CLEARED_RULES).kind is Kind.BOUNCE
    assert partner_verdict(msg, CTX) is None
    assert partner_verdict(parse_message(_head({"To": "lea@example.net", "Cc": TRACK})), CTX)
