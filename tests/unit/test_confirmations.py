"""Which participant commands wait for the person (domain.confirmations), what a reply to a
request says, and which words of a question are the person's and urgent (domain.questions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.domain.confirmations import (
    Mode,
    Settle,
    answered_requests,
    expired,
    mode,
    reply_word,
    settle,
    verified,
)
from mailbot.domain.model import CommandName as C
from mailbot.domain.model import Kind, Route, RouteHit, Verdict
from mailbot.domain.questions import is_urgent, own_words
from mailbot.mail.parse import parse_message


def mail(*results: str, sender: str = "ana@example.net") -> bytes:
    fields = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return (
        f"{fields}From: Ana <{sender}>\r\nTo: coordinator@example.org\r\n"
        "Subject: WITHDRAW\r\nMessage-ID: <a1@example.net>\r\n\r\nWITHDRAW\r\n"
    ).encode()


def verdict(*hits: RouteHit) -> Verdict:
    return Verdict(kind=Kind.COMMAND, reason="", hits=(), routes=hits)


def test_dmarc_failing_for_the_from_domain_is_not_verified() -> None:
    msg = parse_message(mail("mx.example.org; dmarc=fail header.from=example.net"))
    ok, why = verified(msg, verdict(), 7)
    assert not ok and "DMARC fail" in why


@pytest.mark.parametrize(
    "results",
    [(), ("mx.example.org; dmarc=pass header.from=example.net",), ("mx.example.org; dmarc=none",)],
)
def test_dmarc_not_failing_is_verified(results: tuple[str, ...]) -> None:
    assert verified(parse_message(mail(*results)), verdict(), 7)[0]


def test_a_signed_key_of_the_person_verifies_a_failing_message() -> None:
    msg = parse_message(mail("mx.example.org; dmarc=fail header.from=example.net"))
    own = RouteHit(Route.REPLY, "u7", "to")
    assert verified(msg, verdict(own), 7) == (True, "carries their signed reply key")
    assert not verified(msg, verdict(RouteHit(Route.REPLY, "u8", "to")), 7)[0]  # someone else's
    # A key only in a thread header is not proof: partners see the same Message-IDs.
    assert not verified(msg, verdict(RouteHit(Route.REPLY, "u7", "in_reply_to")), 7)[0]
    request = RouteHit(Route.REPLY, "k41", "to")
    assert verified(msg, verdict(request), 7, pending_ids=[41])[0]
    assert not verified(msg, verdict(request), 7, pending_ids=[40])[0]
    assert answered_requests(verdict(request, RouteHit(Route.REPLY, "k41", "cc"))) == [41]


@pytest.mark.parametrize(
    ("name", "sentence", "trusted", "expected"),
    [
        (C.WITHDRAW, False, True, Mode.YES),  # always
        (C.DELETE_MY_DATA, False, True, Mode.YES),
        (C.REMATCH, True, True, Mode.YES),  # "can I have a new partner?" read as REMATCH
        (C.REMATCH, False, True, None),
        (C.PAUSE, True, True, None),  # undone by RESUME
        (C.PAUSE, False, False, Mode.VERIFY),
        (C.CONTINUE, False, False, Mode.VERIFY),
        (C.RESUME, False, False, Mode.VERIFY),
        (C.WITHDRAW, False, False, Mode.VERIFY),
        (C.IN_TOUCH, False, False, None),  # a signal, not a change of state
        (C.STATUS, False, False, None),
    ],
)
def test_which_commands_wait(name: C, sentence: bool, trusted: bool, expected: Mode) -> None:
    assert mode(name, sentence=sentence, trusted=trusted) == expected


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("YES", "yes"),
        ("Yes please, go ahead.", "yes"),
        ("Oui, merci", "yes"),
        ("Sí", "yes"),
        ("I confirm", "yes"),
        ("Je confirme.", "yes"),
        ("no thanks", "no"),
        ("Non", "no"),
        ("Cancel that", "no"),
        ("I never asked for this!", "other"),
        ("Yesterday I wrote to my partner and she said many things about our project", "other"),
        ("\n\n> We received a request...\n", ""),
        ("On Tue, Ana wrote:\n> hello", ""),
    ],
)
def test_what_a_reply_says(text: str, word: str) -> None:
    assert reply_word(text) == word


def test_settling_a_reply() -> None:
    assert settle(Mode.YES, C.WITHDRAW, C.YES) is Settle.CONFIRM
    assert settle(Mode.YES, C.WITHDRAW, C.WITHDRAW) is Settle.CONFIRM  # the command again
    assert settle(Mode.YES, C.WITHDRAW, C.NO) is Settle.CANCEL
    assert settle(Mode.YES, C.WITHDRAW, C.STATUS) is Settle.NOTHING  # read as itself
    assert settle(Mode.YES, C.WITHDRAW, None, "> quoted only") is Settle.NOTHING
    assert settle(Mode.VERIFY, C.PAUSE, None, "> quoted only") is Settle.CONFIRM
    assert settle(Mode.VERIFY, C.PAUSE, None, "Yes it was me") is Settle.CONFIRM
    assert settle(Mode.VERIFY, C.PAUSE, None, "What? I never asked!") is Settle.NOTHING
    assert settle(Mode.VERIFY, C.PAUSE, None, "no") is Settle.CANCEL


def test_a_request_waits_two_weeks() -> None:
    asked = datetime(2027, 2, 1, tzinfo=UTC)
    assert not expired(asked, asked + timedelta(days=14))
    assert expired(asked, asked + timedelta(days=14, seconds=1))


def test_own_words_stop_at_quoted_text_and_signature() -> None:
    text = "Hello,\nWhere is the form?\n\nThanks\n-- \nAna\nLibrarian\n"
    assert own_words(text) == "Hello,\nWhere is the form?\n\nThanks"
    assert own_words("Question?\nOn Mon, X wrote:\n> old text") == "Question?"
    long = "word " * 1000
    cut = own_words(long, limit=100)
    assert len(cut) <= 100 and cut.endswith("…")


@pytest.mark.parametrize(
    ("subject", "text", "urgent"),
    [
        ("", "My partner keeps sending me inappropriate messages", True),
        ("URGENT", "please call me", True),
        ("", "Je me sens harcelée par mon binôme", True),
        ("", "Mi pareja me acosa", True),
        ("", "Where can I find the form?", False),
        ("", "Est-ce que je peux changer de sujet ?", False),
        ("", "The abuse of acronyms in our field", True),  # a false alarm costs one early mail
    ],
)
def test_urgent_words(subject: str, text: str, urgent: bool) -> None:
    assert is_urgent(subject, text) is urgent
