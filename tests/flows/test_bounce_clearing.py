"""An address marked bouncing is not marked for ever: it is cleared when its person writes to
us again, when `ladder.bounce_forget_days` pass without a new bounce, or by CLEAR BOUNCE."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from mailbot.edges.tables import BounceEvent, Person
from mailbot.flows import bouncing
from tests.flows.test_round_flow import at, pair_of, partner_mail, round_  # noqa: F401
from tests.support.program import Program, instant


def _dsn(day: int, address: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: coordinator@example.org\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{day}@mx>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
        "report-type=delivery-status; boundary=XX\r\n\r\n--XX\r\n"
        "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n\r\n--XX--\r\n"
    ).encode()


def _bounce_three_times(prog: Program, address: str) -> Person:
    for day in (2, 3, 4):  # three permanent failures on separate days: the address bounces
        prog.put(_dsn(day, address))
        prog.tick(at(day))
    [person] = prog.query(select(Person).where(Person.email == address))
    assert person.bouncing
    return person


def _person(prog: Program, address: str) -> Person:
    return prog.query(select(Person).where(Person.email == address))[0]


def test_a_bouncing_address_is_tried_again_after_the_forget_days(round_: Program) -> None:  # noqa: F811
    _bounce_three_times(round_, "raj@example.net")
    round_.tick(at(20))
    assert _person(round_, "raj@example.net").bouncing  # 16 days: still too recent
    report = round_.tick(at(35))  # 31 days after the last bounce (ladder.bounce_forget_days)
    raj = _person(round_, "raj@example.net")
    assert not raj.bouncing and raj.bounce_score == 0
    assert "1 bouncing addresses cleared" in report.summary()


def test_a_bouncing_person_who_writes_again_is_reachable_again(round_: Program) -> None:  # noqa: F811
    _, people, track = pair_of(round_, "raj@example.net")
    other = next(p.email for p in people if p.email != "raj@example.net")
    _bounce_three_times(round_, "raj@example.net")
    round_.put(partner_mail("raj@example.net", other, track, 1))
    round_.tick(at(6))
    assert not _person(round_, "raj@example.net").bouncing


def test_an_auto_reply_from_a_bouncing_address_clears_nothing(round_: Program) -> None:  # noqa: F811
    _, people, track = pair_of(round_, "raj@example.net")
    other = next(p.email for p in people if p.email != "raj@example.net")
    _bounce_three_times(round_, "raj@example.net")
    round_.put(partner_mail("raj@example.net", other, track, 1, Auto_Submitted="auto-replied"))
    round_.tick(at(6))
    assert _person(round_, "raj@example.net").bouncing


def test_clear_bounce_clears_a_marked_address_only(round_: Program) -> None:  # noqa: F811
    _bounce_three_times(round_, "raj@example.net")
    now = instant(at(5))
    with round_.deps.db.transaction() as s:
        assert bouncing.clear_bounce(s, " RAJ@example.net ", now)
        assert not bouncing.clear_bounce(s, "raj@example.net", now)  # already clear
        assert not bouncing.clear_bounce(s, "nobody@example.net", now)
    assert not _person(round_, "raj@example.net").bouncing
    later = instant(at(40)) + timedelta(days=1)
    assert asyncio.run(bouncing.bounces_job(round_.deps, later)) == ""  # nothing left to clear


def test_a_chunks_bounce_reports_score_the_people_they_name(
    round_: Program,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Handled together, a chunk reads the persons its reports name with its senders', and
    inserts their events with its other rows: the same scores and events as one by one."""
    round_.put(_dsn(2, "raj@example.net"), _dsn(3, "nobody@example.net"))
    with caplog.at_level(logging.WARNING, logger="mailbot.intake"):
        round_.tick(at(2))
    assert "one by one" not in caplog.text
    raj = _person(round_, "raj@example.net")
    assert raj.bounce_score > 0 and raj.bounce_scored_on is not None and not raj.bouncing
    events = round_.query(select(BounceEvent))
    assert sorted((e.address, e.permanent, e.status) for e in events) == [
        ("nobody@example.net", True, "5.1.1"),
        ("raj@example.net", True, "5.1.1"),
    ]
