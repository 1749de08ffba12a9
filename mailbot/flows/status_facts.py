"""What STATUS tells a participant besides their own row: their latest application and the
partners of their current pair. Read for one person (two queries), or for the people of an
intake chunk at once (three queries), with the same answers: `pairs.current_partners` and the
newest application (by submission, then by id).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.edges.db import core_rows
from mailbot.edges.tables import Application, Pair, PairMember, Person
from mailbot.flows.pairs import RUNNING_FOR_MEMBER, Partner, current_partners


class LatestApplication(NamedTuple):
    submitted_at: datetime
    round_name: str
    status: str


class StatusFacts(NamedTuple):
    application: LatestApplication | None
    partners: list[Partner]


def status_facts(session: Session, person_id: int) -> StatusFacts:
    """One person's facts."""
    app = core_rows(session, _LATEST_APPLICATION, {"person_id": person_id}).first()
    latest = LatestApplication(*app) if app is not None else None
    return StatusFacts(latest, current_partners(session, person_id))


def status_facts_of(session: Session, person_ids: Iterable[int]) -> dict[int, StatusFacts]:
    """Every one of these people's facts, as `status_facts` gives them."""
    ids = list(person_ids)
    latest: dict[int, LatestApplication] = {}
    for pid, submitted_at, round_name, status in core_rows(
        session, _APPLICATIONS_NEWEST_FIRST, {"ids": ids}
    ):
        latest.setdefault(pid, LatestApplication(submitted_at, round_name, status))
    newest: dict[int, int] = {}  # person -> their newest running pair
    for pid, pair_id in core_rows(session, _RUNNING_OF, {"ids": ids}):
        newest[pid] = max(pair_id, newest.get(pid, pair_id))
    members: dict[int, list[tuple[int, Partner]]] = {}
    if newest:
        rows = core_rows(session, _STAYING_MEMBERS, {"pairs": sorted(set(newest.values()))})
        for pair_id, pid, name, country in rows:
            members.setdefault(pair_id, []).append((pid, Partner(name, country)))
    return {
        pid: StatusFacts(
            latest.get(pid),
            [p for other, p in members.get(newest.get(pid, -1), []) if other != pid],
        )
        for pid in ids
    }


# Built once (hot: every STATUS).
_LATEST_APPLICATION = (
    select(Application.submitted_at, Application.round_name, Application.status)
    .where(Application.person_id == bindparam("person_id"))
    .order_by(Application.submitted_at.desc(), Application.id.desc())
    .limit(1)
)
_APPLICATIONS_NEWEST_FIRST = (
    select(
        Application.person_id, Application.submitted_at, Application.round_name, Application.status
    )
    .where(Application.person_id.in_(bindparam("ids", expanding=True)))
    .order_by(Application.person_id, Application.submitted_at.desc(), Application.id.desc())
)
_RUNNING_OF = (  # as pairs.running_pair
    select(PairMember.person_id, Pair.id)
    .join(Pair, Pair.id == PairMember.pair_id)
    .join(Person, Person.id == PairMember.person_id)
    .where(PairMember.person_id.in_(bindparam("ids", expanding=True)), *RUNNING_FOR_MEMBER)
)
_STAYING_MEMBERS = (  # as pairs.current_partners: in the order they joined
    select(PairMember.pair_id, Person.id, Person.name, Person.country)
    .join(Person, Person.id == PairMember.person_id)
    .where(
        PairMember.pair_id.in_(bindparam("pairs", expanding=True)),
        Person.status != "withdrawn",
    )
    .order_by(PairMember.id)
)


__all__ = ["LatestApplication", "StatusFacts", "status_facts", "status_facts_of"]
