"""A person's pairs as every flow reads them: which pair states are still going, a person's
running pair(s), a pair's members and the partners who have not withdrawn.

One place, so that STATUS, commands, bounces and activity agree on what "your pair" is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.edges.tables import Pair, PairMember, Person

RUNNING = ("active", "paused")  # pair states that are still going ("ended", "closed" are not)


def running_pair_ids(session: Session, person_id: int) -> list[int]:
    """Every running pair the person is in, oldest first."""
    return list(
        session.scalars(
            select(Pair.id)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(PairMember.person_id == person_id, Pair.state.in_(RUNNING))
            .order_by(Pair.id)
        )
    )


def running_pair(session: Session, person_id: int) -> Pair | None:
    """The person's current pair (active or paused), the newest if several."""
    return session.scalar(
        select(Pair)
        .join(PairMember, PairMember.pair_id == Pair.id)
        .where(PairMember.person_id == person_id, Pair.state.in_(RUNNING))
        .order_by(Pair.id.desc())
        .limit(1)
    )


def members(session: Session, pair_id: int) -> list[tuple[PairMember, Person]]:
    """Everyone who was ever in the pair, withdrawn or not, in the order they joined."""
    rows = session.execute(
        select(PairMember, Person)
        .join(Person, Person.id == PairMember.person_id)
        .where(PairMember.pair_id == pair_id)
        .order_by(PairMember.id)
    )
    return [(m, p) for m, p in rows]


def partners(session: Session, pair_id: int, person_id: int) -> list[Person]:
    """The other members of a pair who have not withdrawn."""
    return [
        p for _, p in members(session, pair_id) if p.id != person_id and p.status != "withdrawn"
    ]
