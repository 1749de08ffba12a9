"""Retention: who and what is due for removal at `now`.

Decides, from plain facts, three things:
- whether the daily retention pass is due (`retention_due`: once per day of the program's
  time zone);
- which people's personal data is erased (`due_for_erasure`): those in no running or future
  round — no application for a round that has not ended (nor one waiting for the next round
  to open), no running pair — whose last activity is at least `retain_months` calendar months
  before `now`. A wish to take part again (an application, CONTINUE) counts through the
  application it files, not through `Person.wants_next_round`, which an application that was
  never matched leaves set for ever;
- before which day handled and quarantined program mail, and partners' mail held in the
  holding folder, is removed from the mailbox (`mail_cutoff`: IMAP `SEARCH BEFORE` takes a
  day, so the cutoff is the first day kept).
`RemovalCounts` is what a pass removed; `total` sums passes (the digest's "removed this week").

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What retention needs to know about one person."""

    person_id: int
    last_active: datetime  # the newest of everything dated that they did or took part in
    # The end of every round they applied for or were paired in; None for an application
    # waiting for the next round to open (a round in the future by definition).
    round_ends: tuple[datetime | None, ...] = ()
    in_running_pair: bool = False


@dataclass(frozen=True, slots=True)
class RemovalCounts:
    """What retention removed: people erased, handled and quarantined messages expunged,
    partners' messages emptied from the holding folder."""

    people: int = 0
    processed_mail: int = 0
    quarantined_mail: int = 0
    partner_mail: int = 0

    def __add__(self, other: RemovalCounts) -> RemovalCounts:
        return RemovalCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def any(self) -> bool:
        return any(astuple(self))


def total(counts: Iterable[RemovalCounts]) -> RemovalCounts:
    out = RemovalCounts()
    for c in counts:
        out = out + c
    return out


def months_before(now: datetime, months: int) -> datetime:
    """`now` moved back `months` calendar months (the 31st becomes the month's last day)."""
    if months < 0:
        raise ValueError(f"months must not be negative, got {months}")
    index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def in_running_or_future_round(facts: PersonFacts, now: datetime) -> bool:
    """Whether the person still takes part: a round not yet ended (or not yet planned), or a
    running pair."""
    return facts.in_running_pair or any(end is None or end > now for end in facts.round_ends)


def due_for_erasure(people: Iterable[PersonFacts], now: datetime, retain_months: int) -> list[int]:
    """The ids of the people whose personal data is due for erasure at `now`, ascending."""
    cutoff = months_before(now, retain_months)
    return sorted(
        f.person_id
        for f in people
        if f.last_active <= cutoff and not in_running_or_future_round(f, now)
    )


def mail_cutoff(now: datetime, keep_days: int, zone: str = "UTC") -> date:
    """The first day (in `zone`) whose mail is kept: mail received before it is removed."""
    if keep_days < 0:
        raise ValueError(f"keep_days must not be negative, got {keep_days}")
    return (now.astimezone(ZoneInfo(zone)) - timedelta(days=keep_days)).date()


def retention_due(now: datetime, last_run: datetime | None, zone: str = "UTC") -> bool:
    """Once per day of the program's time zone: due when no pass ran yet on `now`'s day."""
    if last_run is None:
        return True
    tz = ZoneInfo(zone)
    return last_run.astimezone(tz).date() < now.astimezone(tz).date()
