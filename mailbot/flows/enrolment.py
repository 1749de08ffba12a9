"""Enrolling a past participant for the next round (CONTINUE, or the survey's "a new partner"
choice): the person is marked as wanting it and their latest application is copied into it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.edges.tables import Application, Person, RoundRow
from mailbot.flows import rounds
from mailbot.flows.pairs import latest_round


def enrol_next_round(
    session: Session, person: Person, now: datetime
) -> tuple[RoundRow | None, bool]:
    """Mark `person` for the next round and copy their latest application into it (once).

    The target is the round open now if they are not in it, else the next planned one ("" when
    none is planned yet). Returns (that round, whether an application is there for it)."""
    # Someone who withdrew stays withdrawn for this round (their old partner may be waiting
    # for a new one); the next round's matching takes them back, and APPROVE makes them active.
    person.wants_next_round, person.updated_at = True, now
    current = rounds.open_round(session, now)
    mine = latest_round(session, person.id)
    target = current if current is not None and current.name != mine else None
    target = target or rounds.next_round(session, now)
    name = target.name if target else ""
    latest = session.scalar(
        select(Application)
        .where(Application.person_id == person.id)
        .order_by(Application.submitted_at.desc())
        .limit(1)
    )
    if latest is None:
        return target, False
    exists = session.scalar(
        select(Application.id).where(
            Application.person_id == person.id, Application.round_name == name
        )
    )
    if exists is None:
        session.add(
            Application(
                person_id=person.id,
                round_name=name,
                fields=dict(latest.fields),
                status="valid",
                status_reason="CONTINUE",
                submitted_at=now,
                updated_at=now,
            )
        )
    return target, True
