"""Decide the waiting pool of a running round: who pairs with whom now, who has waited too long,
until when a round still takes late applicants and makes new pairs, and what becomes of a pair
whose every automatic step failed.

The pool is everyone of a round who wants a partner and has none: the odd one left out at
approval, late applicants, people whose partner withdrew, stayed silent through the ladder or
whose address died, and people who asked for a new partner. They are paired by the matching
engine's own rules (`matching.allowed`: another country, never a previous partner, never a
blocked pair; `rematch.choose_partner`: those who asked first, then the score with wishes),
the longest waiting choosing first.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from mailbot.domain.ladder import PairState
from mailbot.domain.matching import Candidate, Exclusions, Weights
from mailbot.domain.rematch import choose_partner

DAY = timedelta(days=1)

# Why someone is in the pool: the code the `pool_waiting` letter explains.
REASONS = (
    "left_out",  # the odd one at approval
    "late",  # applied after the round's applications closed
    "partner_silent",  # their partner stayed silent through the ladder
    "partner_withdrew",  # their partner withdrew or asked to be forgotten
    "partner_bouncing",  # mail to their partner no longer arrives
    "pair_ended",  # their partner asked for someone else, or the coordinators rematched them
    "asked",  # they asked for a new partner themselves
)


class PoolRules(Protocol):
    """The settings the pool reads; `mailbot.settings.PoolSection` satisfies it."""

    @property
    def wait_days(self) -> int: ...
    @property
    def min_days_left(self) -> int: ...
    @property
    def late_join_share(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Waiting:
    """Someone in the pool: as the matching engine sees them, since when, and whether they
    asked for a partner themselves (REMATCH)."""

    candidate: Candidate
    since: datetime
    asked: bool = False


def pairs_possible(ends_at: datetime, now: datetime, rules: PoolRules) -> bool:
    """A new pair still has time in a round ending at `ends_at`: `min_days_left` days or more."""
    return now < ends_at - rules.min_days_left * DAY


def takes_late(starts_at: datetime, ends_at: datetime, now: datetime, rules: PoolRules) -> bool:
    """A matched round takes a late applicant into its pool in its first `late_join_share` of
    the round (and before it starts), while a new pair still has time."""
    cut = starts_at + (ends_at - starts_at) * rules.late_join_share
    return now < cut and pairs_possible(ends_at, now, rules)


def waited_too_long(since: datetime, now: datetime, rules: PoolRules) -> bool:
    """Nobody waits forever: after `wait_days` in the pool they are carried to the next round."""
    return now - since >= rules.wait_days * DAY


def pair_up(
    waiting: Sequence[Waiting], excl: Exclusions, w: Weights
) -> list[tuple[Candidate, Candidate]]:
    """Pairs to make now among `waiting`: the longest waiting (then the lowest id) first, each
    with their best allowed partner still free (`rematch.choose_partner`)."""
    asked = {x.candidate.id for x in waiting if x.asked}
    order = sorted(waiting, key=lambda x: (x.since, x.candidate.id))
    free = {x.candidate.id: x.candidate for x in order}
    made: list[tuple[Candidate, Candidate]] = []
    for x in order:
        me = x.candidate
        if me.id not in free:
            continue
        others = [c for i, c in free.items() if i != me.id]
        other = choose_partner(me, others, excl, asked, w)
        if other is None:
            continue
        del free[me.id], free[other.id]
        made.append((me, other))
    return made


@dataclass(frozen=True, slots=True)
class Resolution:
    """What becomes of a pair whose every automatic step failed: who is let go (told kindly,
    out of the round's active list) and who waits for a new partner."""

    let_go: tuple[int, ...]
    to_pool: tuple[int, ...]

    @property
    def acts(self) -> bool:
        return bool(self.let_go and self.to_pool)


def resolve_exhausted(st: PairState) -> Resolution:
    """One-sided to the end: the silent go, the writers get a new partner. A pair where nobody
    writes is left as it is: nobody in it is waiting for anyone (and people who talk without
    the tracking address look the same)."""
    if st.cause != "one_sided" or not st.silent or not st.writers:
        return Resolution((), ())
    return Resolution(tuple(st.silent), tuple(st.writers))
