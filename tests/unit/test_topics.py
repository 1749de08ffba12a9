"""Topics and check-ins at each recipient's local morning, at fixed instants."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.domain.ladder import MemberView, PairView, RoundView
from mailbot.domain.topics import (
    checkin_at,
    checkin_due,
    due_topics,
    morning_after,
    topic_now,
    waking_after,
)
from tests.support import views
from tests.support.views import START

ROUND = RoundView("2024A", START, START + timedelta(days=120), 14, 9)


def at(day: float, hour: float = 0) -> datetime:
    return START + timedelta(days=day, hours=hour)


def member(pid: int, zone: str | None = "UTC", **kw: object) -> MemberView:
    return views.member(pid, timezone=zone, **kw)


def pair(*members: MemberView, **kw: object) -> PairView:
    return views.pair(*members, pair_id=3, **kw)


TOKYO_LIMA = pair(member(1, "Asia/Tokyo", language="en"), member(2, "America/Lima", language="es"))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(0, -1), []),  # before the pair starts
        (at(0, 0), [(1, 0, at(0, 0))]),  # 09:00 in Tokyo is midnight UTC
        (at(0, 13.9), [(1, 0, at(0, 0))]),
        (at(0, 14), [(1, 0, at(0, 0)), (2, 0, at(0, 14))]),  # 09:00 in Lima is 14:00 UTC
        (at(14, 1), [(1, 1, at(14, 0)), (2, 0, at(0, 14))]),  # Lima still on topic 0
        (at(14, 14), [(1, 1, at(14, 0)), (2, 1, at(14, 14))]),
    ],
)
def test_topics_at_nine_local_in_tokyo_and_lima(
    now: datetime, expected: list[tuple[int, int, datetime]]
) -> None:
    got = due_topics([TOKYO_LIMA], ROUND, now)
    assert [(t.person_id, t.topic, t.not_before) for t in got] == expected
    assert all(t.not_before.tzinfo is UTC for t in got)


def test_keys_and_languages() -> None:
    got = due_topics([TOKYO_LIMA], ROUND, at(15))
    assert [(t.key, t.language) for t in got] == [
        ("topic:2024A:3:1:1", "en"),
        ("topic:2024A:3:1:2", "es"),
    ]
    assert due_topics([TOKYO_LIMA], ROUND, at(15), sent={"topic:2024A:3:1:1"})[0].person_id == 2


def test_never_before_the_pair_started_in_local_time() -> None:
    """Lima's 09:00 on the start date's eve (local) would precede the start: the next morning."""
    p = pair(member(1, "America/Lima"), member(2, "Pacific/Auckland"))
    nb = {t.person_id: t.not_before for t in due_topics([p], ROUND, at(1))}
    assert nb[1] == at(0, 14)
    assert nb[2] == at(0, 20)  # 09:00 NZDT on March 5 is 20:00 UTC March 4
    assert all(v >= START for v in nb.values())


def test_unknown_or_invalid_zone_is_utc() -> None:
    p = pair(member(1, None), member(2, "Mars/Olympus_Mons"))
    assert {t.not_before for t in due_topics([p], ROUND, at(1))} == {at(0, 9)}


def test_dst_change_follows_local_clock() -> None:
    """Europe/London moves to BST on 31 March 2024: 09:00 local is then 08:00 UTC."""
    assert morning_after(datetime(2024, 3, 18, tzinfo=UTC), "Europe/London", 9) == datetime(
        2024, 3, 18, 9, tzinfo=UTC
    )
    assert morning_after(datetime(2024, 4, 1, tzinfo=UTC), "Europe/London", 9) == datetime(
        2024, 4, 1, 8, tzinfo=UTC
    )


def test_no_burst_after_an_outage_only_the_latest() -> None:
    p = pair(member(1), member(2))
    got = due_topics([p], ROUND, at(45))  # topics 0..3 have all come and gone or are due
    assert {t.topic for t in got} == {3}


def test_stale_topic_not_sent_late() -> None:
    short = dataclasses.replace(ROUND, topic_count=2)
    p = pair(member(1), member(2))
    assert {t.topic for t in due_topics([p], short, at(20))} == {1}
    assert due_topics([p], short, at(29)) == []  # topic 1 is a cadence old: never sent late


def test_paused_withdrawn_bouncing_get_none_and_resume_gets_current() -> None:
    p = pair(
        member(1, status="paused", paused_until=at(20)),
        member(2),
        member(4, status="withdrawn"),
        member(5, bouncing=True),
    )
    assert [t.person_id for t in due_topics([p], ROUND, at(15))] == [2]
    assert [(t.person_id, t.topic) for t in due_topics([p], ROUND, at(21))] == [(1, 1), (2, 1)]
    assert due_topics([dataclasses.replace(p, state="paused")], ROUND, at(15)) == []
    assert due_topics([dataclasses.replace(p, state="closed")], ROUND, at(15)) == []


def test_nothing_after_the_round_ends() -> None:
    late = pair(member(1), member(2), started_at=at(110))
    assert due_topics([late], ROUND, at(119))[0].topic == 7  # the round's topic on day 110
    assert due_topics([late], ROUND, at(120)) == []
    assert due_topics([late], ROUND, at(200)) == []
    # a slot falling after the end is never offered
    assert {t.topic for t in due_topics([pair(member(1), member(2))], ROUND, at(119.9))} == {8}
    nine = dataclasses.replace(ROUND, topic_count=12)
    assert {t.topic for t in due_topics([pair(member(1), member(2))], nine, at(119.9))} == {8}


def test_other_rounds_pairs_ignored() -> None:
    assert due_topics([pair(member(1), member(2), round_name="2023B")], ROUND, at(1)) == []


def test_checkin_once_at_mid_round_local_morning() -> None:
    p = TOKYO_LIMA
    assert checkin_at(p, ROUND) == at(60)
    assert checkin_due([p], ROUND, at(59.9)) == []
    got = checkin_due([p], ROUND, at(60, 1))
    assert [(c.person_id, c.key, c.not_before) for c in got] == [
        (1, "checkin:2024A:3:1", at(60, 0)),  # midpoint 00:00 UTC is 09:00 in Tokyo
    ]
    got = checkin_due([p], ROUND, at(60, 14))  # 09:00 in Lima
    assert [(c.person_id, c.key) for c in got] == [
        (1, "checkin:2024A:3:1"),
        (2, "checkin:2024A:3:2"),
    ]
    assert checkin_due([p], ROUND, at(60, 14), sent={c.key for c in got}) == []
    assert checkin_due([p], ROUND, at(120)) == []


def test_checkin_late_pair_midpoint_of_its_own_time() -> None:
    late = pair(member(1), member(2), started_at=at(100))
    assert checkin_at(late, ROUND) == at(110)
    assert [c.person_id for c in checkin_due([late], ROUND, at(111))] == [1, 2]


@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        ("2027-03-01T10:00", "Europe/Madrid", "2027-03-01T10:00"),  # 11:00 there: now
        ("2027-03-01T00:05", "Europe/Madrid", "2027-03-01T08:00"),  # 01:05: wait for 09:00
        ("2027-03-01T10:00", "Australia/Sydney", "2027-03-01T22:00"),  # 21:00: next morning
        ("2027-03-01T22:00", "Australia/Sydney", "2027-03-01T22:00"),  # 09:00 sharp: now
        ("2027-03-01T18:59", None, "2027-03-01T18:59"),  # no zone: UTC, still evening
        ("2027-03-01T20:00", None, "2027-03-02T09:00"),
    ],
)
def test_waking_after_holds_mail_due_at_night_until_the_morning(
    utc: str, zone: str | None, expected: str
) -> None:
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert waking_after(at, zone, 9) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-1, None), (0, 2), (13.9, 2), (14, 3), (28, 4), (7 * 14 - 0.1, 8), (7 * 14, None)],
)
def test_topic_now_continues_from_the_rounds_topic(days: float, expected: int | None) -> None:
    """A pair rematched 30 days in starts on the round's topic then (3rd, index 2), not on
    topic 1 again, and moves on at its own rhythm, as due_topics numbers it."""
    rv = RoundView("2024A", START, START + timedelta(days=200), 14, 9)
    started = START + timedelta(days=30)
    assert topic_now(started, rv, started + timedelta(days=days)) == expected


def test_a_pair_made_mid_round_continues_from_the_rounds_topic() -> None:
    """Issue 12: rematched people got topics from 1 again. A pair made on day 40 (the round is
    on topic index 2 since day 28) gets index 2 at once, index 3 a rhythm later."""
    late = pair(member(1), member(2), started_at=at(40))
    assert {t.topic for t in due_topics([late], ROUND, at(40, 10))} == {2}  # 09:00 UTC passed
    assert {t.topic for t in due_topics([late], ROUND, at(54, 10))} == {3}
    assert topic_now(at(40), ROUND, at(60)) == 3
    early = pair(member(1), member(2), started_at=at(3))  # approved a little late: from topic 1
    assert {t.topic for t in due_topics([early], ROUND, at(3, 10))} == {0}
