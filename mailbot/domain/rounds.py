"""Which round takes applications on a given day, and which opens next.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, TypeVar


class RoundDates(Protocol):
    name: str
    applications_open: date
    applications_close: date


R = TypeVar("R", bound=RoundDates)


def open_round(rounds: Sequence[R], today: date) -> R | None:
    """The round whose application window contains `today` (the earliest, if several)."""
    for r in sorted(rounds, key=lambda r: r.applications_open):
        if r.applications_open <= today <= r.applications_close:
            return r
    return None


def next_round(rounds: Sequence[R], today: date) -> R | None:
    """The first round whose applications open after `today`."""
    later = [r for r in rounds if r.applications_open > today]
    return min(later, key=lambda r: r.applications_open) if later else None
