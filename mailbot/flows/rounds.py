"""Rounds in the database: declared in the config (synced on every tick) or created by CLI.

A round's dates are days in the program's time zone: applications open at 00:00 on the open
day and close at the end of the close day; matching runs at `schedule.digest_hour` on the
matching day; the round starts at 00:00 on its start day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.edges.tables import RoundRow
from mailbot.settings import RoundSettings

if TYPE_CHECKING:
    from mailbot.deps import Deps


def _at(deps: Deps, d: date, hour: int = 0) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=deps.settings.zone)


def round_row(deps: Deps, r: RoundSettings) -> dict[str, object]:
    closes = _at(deps, r.applications_close + timedelta(days=1)) - timedelta(seconds=1)
    matching = _at(deps, r.matching_date, deps.settings.schedule.digest_hour)
    return {
        "name": r.name,
        "applications_open": _at(deps, r.applications_open),
        "applications_close": closes,
        # Matching on the closing day (the default) waits for its end: a form sent that
        # afternoon is in time, so it must be in the pool.
        "matching_at": max(matching, closes),
        "starts_at": _at(deps, r.start),
        "ends_at": _at(deps, r.end),
        "topic_every_days": r.topic_every_days,
    }


_CACHE = "mailbot.rounds"  # session.info key of `rounds`' copy


def sync_rounds(session: Session, deps: Deps) -> None:
    """Create or update the configured rounds (a round's state is never reset)."""
    existing = {r.name: r for r in session.scalars(select(RoundRow))}
    for r in deps.settings.rounds:
        values = round_row(deps, r)
        row = existing.get(r.name)
        if row is None:
            session.add(RoundRow(**values, state="planned"))
        else:
            for k, v in values.items():
                setattr(row, k, v)
    session.flush()
    session.info.pop(_CACHE, None)


def rounds(session: Session) -> list[RoundRow]:
    """Every round, by opening date. Read once per transaction: intake asks for every
    application, and rounds are only added by `sync_rounds` (which forgets the copy) and by
    the CLI in transactions of their own."""
    cached: list[RoundRow] | None = session.info.get(_CACHE)
    if cached is None:
        cached = list(session.scalars(select(RoundRow).order_by(RoundRow.applications_open)))
        session.info[_CACHE] = cached
    return list(cached)


def open_round(session: Session, now: datetime) -> RoundRow | None:
    """The round taking applications at `now`: open by its dates and not yet matched (once
    its pairs are proposed, a form, a CONTINUE or a waiting application waits for the next)."""
    for r in rounds(session):
        if r.state == "planned" and r.applications_open <= now <= r.applications_close:
            return r
    return None


def next_round(session: Session, now: datetime) -> RoundRow | None:
    later = [r for r in rounds(session) if r.applications_open > now]
    return later[0] if later else None


def round_context(deps: Deps, r: RoundRow | None) -> dict[str, str] | None:
    if r is None:
        return None
    zone = deps.settings.zone

    def day(t: datetime) -> str:
        return t.astimezone(zone).date().isoformat()

    return {
        "name": r.name,
        "opens": day(r.applications_open),
        "closes": day(r.applications_close),
        "matching": day(r.matching_at),
        "start": day(r.starts_at),
        "end": day(r.ends_at),
    }


def round_context_named(deps: Deps, session: Session, name: str) -> dict[str, str]:
    """`round_context` of the round called `name`; only its name (and no end) if it is gone."""
    ctx = round_context(deps, session.scalar(select(RoundRow).where(RoundRow.name == name)))
    return ctx if ctx is not None else {"name": name, "end": ""}
