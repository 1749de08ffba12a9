"""Who someone left alone gets on REMATCH: the engine's hard rules, those who asked first, the
score, the id; and who may stand by at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.domain.matching import Candidate, Exclusions, Weights
from mailbot.domain.rematch import available, choose_partner

W = Weights()
NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def person(i: int, country: str = "FR", interests: tuple[str, ...] = ()) -> Candidate:
    return Candidate(
        id=i,
        country=country,
        utc_offset=0.0,
        languages=frozenset({"en"}),
        sector="academic",
        career_stage="mid-career",
        interests=frozenset(interests),
    )


ME = person(1, "AU", ("advocacy", "spaces"))
KEEN = person(7, "FR", ("advocacy", "spaces"))  # scores higher with ME than PLAIN
PLAIN = person(5, "FR")
PREVIOUS = Exclusions(previous_pairs=frozenset({frozenset((1, 7))}))
BLOCKED = Exclusions(blocked_pairs=frozenset({frozenset((7, 1))}))

CASES = [
    # (name, standby pool, exclusions, asked, expected partner id or None)
    ("nobody on standby", [], Exclusions(), set(), None),
    ("the only one", [PLAIN], Exclusions(), set(), 5),
    ("same country is never a partner", [person(3, "AU")], Exclusions(), set(), None),
    ("oneself is never a partner", [ME], Exclusions(), set(), None),
    ("the higher score first", [PLAIN, KEEN], Exclusions(), set(), 7),
    ("whatever the order given", [KEEN, PLAIN], Exclusions(), set(), 7),
    ("who asked REMATCH beats a higher score", [KEEN, PLAIN], Exclusions(), {5}, 5),
    ("among those who asked, the score", [KEEN, PLAIN], Exclusions(), {5, 7}, 7),
    ("a previous partner is never again", [KEEN, PLAIN], PREVIOUS, set(), 5),
    ("a blocked pair is never formed", [KEEN], BLOCKED, {7}, None),
    ("equal scores: the lower id", [person(9), person(4), person(6)], Exclusions(), set(), 4),
    ("a same-country one skipped", [person(2, "AU"), person(8, "US")], Exclusions(), set(), 8),
]


@pytest.mark.parametrize(
    ("standby", "excl", "asked", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_choose_partner(
    standby: list[Candidate], excl: Exclusions, asked: set[int], expected: int | None
) -> None:
    chosen = choose_partner(ME, standby, excl, asked, W)
    assert (chosen.id if chosen else None) == expected


@pytest.mark.parametrize(
    ("status", "paused_until", "bouncing", "expected"),
    [
        ("active", None, False, True),
        ("withdrawn", None, False, False),
        ("active", None, True, False),
        ("paused", NOW + timedelta(days=3), False, False),
        ("paused", None, False, False),  # a pause without an end runs until RESUME
        ("paused", NOW - timedelta(days=1), False, True),  # a pause that ran out by itself
    ],
)
def test_available(
    status: str, paused_until: datetime | None, bouncing: bool, expected: bool
) -> None:
    assert available(status, paused_until, bouncing, NOW) is expected
