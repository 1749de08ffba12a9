"""Decide who someone left alone in a round is paired with next (REMATCH).

The standby pool is the people of a round whose pair ended because everyone else left; the
flow finds them. Here: who in that pool may still take a partner (`available`), and which of
them a person gets (`choose_partner`): the matching engine's hard rules (`matching.allowed`:
another person, another country, never paired with them before nor blocked), then those who
asked REMATCH themselves first, then the higher pair score, then the lower id.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from mailbot.domain.ladder import paused_at
from mailbot.domain.matching import Candidate, Exclusions, Weights, allowed, score


def available(status: str, paused_until: datetime | None, bouncing: bool, now: datetime) -> bool:
    """May take a new partner at `now`: not withdrawn, not bouncing, not paused."""
    if status == "withdrawn" or bouncing:
        return False
    return not paused_at(status, paused_until, now)


def choose_partner(
    me: Candidate,
    standby: Iterable[Candidate],
    excl: Exclusions,
    asked: Collection[int],
    w: Weights,
) -> Candidate | None:
    """The partner for `me` among `standby` (those `available` and alone), or None.

    `excl` holds the pairs `me` may never be in again; `asked` the ids of those who sent
    REMATCH themselves and are still waiting, who come first whatever their score."""
    best: tuple[tuple[bool, float, int], Candidate] | None = None
    for other in standby:
        if not allowed(me, other, excl):
            continue
        rank = (other.id not in asked, -score(me, other, w), other.id)
        if best is None or rank < best[0]:
            best = (rank, other)
    return best[1] if best else None
