"""`classify_ahead`: the verdicts intake's reader works out before the database says who the
sender is must be the ones `classify` gives once it knows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailbot.domain.classify import classify, classify_ahead
from mailbot.domain.model import Inbound, Kind
from mailbot.mail.parse import parse_message
from tests.unit.test_classify import CTX as CLASSIFY_CTX
from tests.unit.test_classify import FIXTURES, PROGRAM

# The classifier tests' context (their fixtures' tags are signed with its secret), with a
# coordinator.
CTX = replace(CLASSIFY_CTX, coordinators=frozenset({"director@example.org"}))


def _mail(body: str, subject: str = "Hello", frm: str = "alice@example.net") -> Inbound:
    raw = (
        f"From: Alice <{frm}>\nTo: {PROGRAM}\nSubject: {subject}\n"
        "Date: Mon, 1 Mar 2027 10:00:00 +0000\nMessage-ID: <q@example.net>\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}"
    )
    return parse_message(raw.encode())


def _messages() -> list[tuple[str, Inbound]]:
    found = [(p.name, parse_message(p.read_bytes())) for p in sorted(FIXTURES.glob("*.eml"))]
    found += [
        ("question", _mail("Could my partner and I meet in person next month?\n")),
        ("faq", _mail("When does the next round start?\n")),
        ("thanks", _mail("Thank you!\n", subject="Re: your introduction")),
        ("status", _mail("STATUS\n", subject="Re: STATUS")),
    ]
    return found


@pytest.mark.parametrize(("name", "msg"), _messages(), ids=[n for n, _ in _messages()])
def test_each_verdict_read_ahead_is_the_one_classify_gives_knowing_the_sender(
    name: str, msg: Inbound
) -> None:
    ahead = classify_ahead(msg, CTX)
    for known in (False, True):
        assert ahead.verdict(known) == classify(msg, replace(CTX, sender_known=known)), name


def test_a_question_is_for_a_person_from_a_participant_and_held_from_a_stranger() -> None:
    ahead = classify_ahead(_mail("Could my partner and I meet in person next month?\n"), CTX)
    assert (ahead.stranger.kind, ahead.known.kind) == (Kind.UNKNOWN, Kind.QUESTION)


def test_a_verdict_no_sender_changes_is_worked_out_once() -> None:
    ahead = classify_ahead(_mail("STATUS\n", subject="Re: STATUS"), CTX)
    assert ahead.stranger.kind is Kind.COMMAND
    assert ahead.known is ahead.stranger
