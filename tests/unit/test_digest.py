"""The coordinators' digest: counts, weekly series, the pairs a person must decide about with
their actions, items listed once (again only with news), when due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mailbot.domain.commands import parse_command
from mailbot.domain.digest import (
    DigestInputs,
    Item,
    WeekPoint,
    build_digest,
    digest_due,
    pair_item,
    select_news,
    week_start,
)
from mailbot.domain.ladder import MemberView, NudgeRecord, PairView, State
from mailbot.domain.model import CommandName
from mailbot.settings import LadderSection
from tests.support import views
from tests.support.views import START, member

# The thresholds these pairs were written for (explicit: the defaults follow the round's rhythm).
LADDER = LadderSection(
    quiet_days=14, one_sided_days=10, second_nudge_days=21, stalled_days=28, auto_resolve=False
)
AUTO = LadderSection(
    quiet_days=14, one_sided_days=10, second_nudge_days=21, stalled_days=28, auto_resolve=True
)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def pair(pid: int, *members: MemberView, **kw: object) -> PairView:
    members = members or (member(pid * 10 + 1), member(pid * 10 + 2))
    return views.pair(*members, pair_id=pid, **kw)


NOW = day(35)  # a Monday
PAIRS = [
    pair(1, member(11, last_wrote_at=day(34)), member(12, last_wrote_at=day(33))),  # active
    pair(2, member(21, last_wrote_at=day(30)), member(22, last_wrote_at=day(31))),  # active
    pair(  # one-sided for 15 days
        3,
        member(31, last_wrote_at=day(34)),
        member(32, last_wrote_at=day(20)),
        nudges=(NudgeRecord("one_sided", 32, day(30)), NudgeRecord("quiet", 32, day(14))),
    ),
    pair(  # stalled: nobody since the start, both nudged twice (the ladder's every step)
        4,
        nudges=(
            NudgeRecord("quiet", 41, day(14)),
            NudgeRecord("quiet", 42, day(14)),
            NudgeRecord("second", 41, day(21)),
            NudgeRecord("second", 42, day(21)),
            NudgeRecord("stalled", None, day(28)),
        ),
        flagged_at=day(28),
    ),
    pair(5, state="paused"),
    pair(6, state="closed"),
    pair(7, member(71, last_wrote_at=day(15)), member(72, last_wrote_at=day(15))),  # quiet 20
]


def test_counts_and_share() -> None:
    d = build_digest(PAIRS, NOW, LADDER)
    assert d.counts == {
        "active": 2,
        "quiet": 1,
        "one_sided": 1,
        "stalled": 1,
        "paused": 1,
        "ended": 1,
    }
    assert (d.total, d.running) == (7, 5)
    assert d.share_active == pytest.approx(2 / 5)
    assert build_digest([], NOW, LADDER).share_active == 0.0


def test_flagged_pairs_say_how_long_what_was_tried_and_how_to_act() -> None:
    """Only an exhausted (stalled) pair the program does not resolve itself needs a person;
    the one-sided pair is the ladder's business (issue 12: no longer listed)."""
    d = build_digest(PAIRS, NOW, LADDER)
    (stalled,) = d.flagged
    assert (stalled.pair_id, stalled.state, stalled.cause, stalled.silent_days) == (
        4,
        State.STALLED,
        "quiet",
        35,
    )
    assert [(r.kind, r.person_id) for r in stalled.tried] == [
        ("quiet", 41),
        ("quiet", 42),
        ("second", 41),
        ("second", 42),
        ("stalled", None),
    ]
    assert stalled.flagged_at == day(28)
    for item in (stalled,):
        commands = [parse_command(a, "") for a in item.actions]
        assert [(c.name, c.args["pair"]) for c in commands if c] == [
            (CommandName.LIAISE, str(item.pair_id)),
            (CommandName.REMATCH, str(item.pair_id)),
            (CommandName.CLOSE, str(item.pair_id)),
        ]
        assert commands[0] is not None and commands[0].args["text"]
    assert d.needs_attention


def test_with_automatic_resolution_no_pair_is_listed() -> None:
    """The waiting pool rematches an exhausted pair's writer: the coordinators see a count."""
    d = build_digest(PAIRS, NOW, AUTO)
    assert d.flagged == () and d.counts["stalled"] == 1
    assert not d.needs_attention


def test_an_item_is_listed_once_and_again_only_with_news() -> None:
    items = [Item("pair:4", "stalled|a"), Item("question:3"), Item("rematch:7", "12")]
    first = select_news(items, {})
    assert first.listed == {"pair:4", "question:3", "rematch:7"} and first.unchanged == 0
    remembered = {i.key: i.news for i in items}
    # nothing changed: nothing listed, three still open
    again = select_news(items, remembered)
    assert again.listed == frozenset() and again.unchanged == 3 and again.resolved == frozenset()
    # news on the pair (another nudge tried), the question answered (no longer open)
    later = [Item("pair:4", "stalled|b"), Item("rematch:7", "12")]
    third = select_news(later, remembered)
    assert third.listed == {"pair:4"} and third.unchanged == 1
    assert third.resolved == {"question:3"}


def test_a_pairs_news_is_its_episode_and_what_was_tried_not_its_days() -> None:
    (today,) = build_digest(PAIRS, NOW, LADDER).flagged
    (tomorrow,) = build_digest(PAIRS, NOW + timedelta(days=1), LADDER).flagged
    assert tomorrow.silent_days == today.silent_days + 1
    assert pair_item(today) == pair_item(tomorrow)


def test_weekly_series_appends_this_week_and_replaces_a_rerun() -> None:
    history = (
        WeekPoint(date(2024, 3, 18), 5, 5),
        WeekPoint(date(2024, 3, 25), 4, 5),
        WeekPoint(date(2024, 4, 8), 9, 9),  # a stale point for this very week: replaced
    )
    d = build_digest(PAIRS, NOW, LADDER, DigestInputs(history=history))
    assert d.week_start == date(2024, 4, 8)
    assert d.weekly == (
        WeekPoint(date(2024, 3, 18), 5, 5),
        WeekPoint(date(2024, 3, 25), 4, 5),
        WeekPoint(date(2024, 4, 8), 2, 5),
    )


def test_week_starts_in_the_coordinators_zone() -> None:
    sunday_night_utc = datetime(2024, 4, 7, 22, tzinfo=UTC)  # Monday 08:00 in Sydney
    assert week_start(sunday_night_utc, "UTC") == date(2024, 4, 1)
    assert week_start(sunday_night_utc, "Australia/Sydney") == date(2024, 4, 8)


def test_pass_through() -> None:
    extra = DigestInputs(
        bounces=({"address": "b@example.org", "score": 3.0},),
        withdrawals=({"person": 5},),
        deletions=2,
        applications=({"name": "Ana"},),
        held=({"from": "stranger@example.com"},),
        uncertain=({"key": "intro:1"},),
        survey={"responses": 3},
        questions=({"id": 3},),
        automatic={"nudges": 4},
    )
    d = build_digest([], NOW, LADDER, extra)
    assert d.extra is extra and d.extra.deletions == 2 and d.extra.automatic == {"nudges": 4}
    assert d.needs_attention
    assert not build_digest(PAIRS[:2], NOW, LADDER).needs_attention


SYDNEY = "Australia/Sydney"


@pytest.mark.parametrize(
    ("now", "zone", "last", "due"),
    [
        # Monday 08:00 UTC slots
        (
            datetime(2024, 4, 8, 7, 59, tzinfo=UTC),
            "UTC",
            datetime(2024, 4, 1, 8, tzinfo=UTC),
            False,
        ),
        (datetime(2024, 4, 8, 8, 0, tzinfo=UTC), "UTC", datetime(2024, 4, 1, 8, tzinfo=UTC), True),
        (datetime(2024, 4, 8, 8, 1, tzinfo=UTC), "UTC", datetime(2024, 4, 8, 8, tzinfo=UTC), False),
        (datetime(2024, 4, 10, tzinfo=UTC), "UTC", datetime(2024, 4, 1, 9, tzinfo=UTC), True),
        (datetime(2024, 4, 10, tzinfo=UTC), "UTC", None, True),
        # Monday 08:00 in Sydney (AEST, UTC+10 from 7 April) is Sunday 22:00 UTC
        (
            datetime(2024, 4, 14, 21, 59, tzinfo=UTC),
            SYDNEY,
            datetime(2024, 4, 7, 22, tzinfo=UTC),
            False,
        ),
        (
            datetime(2024, 4, 14, 22, 0, tzinfo=UTC),
            SYDNEY,
            datetime(2024, 4, 7, 22, tzinfo=UTC),
            True,
        ),
    ],
)
def test_digest_due(now: datetime, zone: str, last: datetime | None, due: bool) -> None:
    assert digest_due(now, 0, 8, zone, last) is due
