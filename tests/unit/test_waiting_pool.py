"""The waiting pool's decisions: who pairs with whom (the matching rules, longest waiting first),
who waited too long, until when a round takes late applicants and new pairs, and what becomes
of an exhausted pair."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailbot.domain.ladder import PairState, State
from mailbot.domain.matching import Candidate, Exclusions, Weights
from mailbot.domain.waiting_pool import (
    Waiting,
    pair_up,
    pairs_possible,
    resolve_exhausted,
    takes_late,
    waited_too_long,
)

W = Weights()
T0 = datetime(2027, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rules:
    wait_days: int = 28
    min_days_left: int = 28
    late_join_share: float = 0.5


def cand(i: int, country: str, interests: tuple[str, ...] = ()) -> Candidate:
    return Candidate(
        id=i,
        country=country,
        utc_offset=0.0,
        languages=frozenset({"en"}),
        sector="academic",
        career_stage="mid-career",
        interests=frozenset(interests),
    )


def wait(c: Candidate, days_ago: float, asked: bool = False) -> Waiting:
    return Waiting(c, T0 - days_ago * DAY, asked)


def test_same_country_is_never_paired_and_the_longest_waiting_chooses_first() -> None:
    a, b, c = cand(1, "FR", ("spaces",)), cand(2, "FR", ("spaces",)), cand(3, "AU", ("spaces",))
    made = pair_up([wait(b, 1), wait(c, 2), wait(a, 5)], Exclusions(), W)
    assert [(x.id, y.id) for x, y in made] == [(1, 3)]  # a waited longest; b (FR) stays


def test_previous_partners_and_blocked_pairs_are_never_paired() -> None:
    a, b, c = cand(1, "FR"), cand(2, "AU"), cand(3, "CA")
    excl = Exclusions(
        previous_pairs=frozenset({frozenset((1, 2))}), blocked_pairs=frozenset({frozenset((1, 3))})
    )
    assert pair_up([wait(a, 3), wait(b, 2), wait(c, 1)], excl, W) == [(b, c)]


def test_wishes_are_scored() -> None:
    me = cand(1, "FR", ("advocacy", "spaces"))
    keen, plain = cand(2, "AU", ("advocacy", "spaces")), cand(3, "CA")
    assert pair_up([wait(me, 9), wait(plain, 2), wait(keen, 1)], Exclusions(), W) == [(me, keen)]


def test_time_rules() -> None:
    start, end = T0, T0 + 120 * DAY
    r = Rules()
    assert takes_late(start, end, start - DAY, r)  # matched, not started: yes
    assert takes_late(start, end, start + 59 * DAY, r)
    assert not takes_late(start, end, start + 60 * DAY, r)  # past the first half
    assert pairs_possible(end, end - 29 * DAY, r)
    assert not pairs_possible(end, end - 28 * DAY, r)  # too little left for a new pair
    assert not waited_too_long(T0, T0 + 27 * DAY, r)
    assert waited_too_long(T0, T0 + 28 * DAY, r)


def test_an_exhausted_one_sided_pair_lets_the_silent_go_and_pools_the_writer() -> None:
    one_sided = PairState(7, State.STALLED, 60, T0, silent=(2,), cause="one_sided", writers=(1,))
    plan = resolve_exhausted(one_sided)
    assert plan.acts and plan.let_go == (2,) and plan.to_pool == (1,)
    quiet = PairState(8, State.STALLED, 60, T0, silent=(1, 2), cause="quiet")
    assert not resolve_exhausted(quiet).acts  # nobody is waiting for anyone: left as it is
