"""A person's pairs as every flow reads them: which pair states are still going, a person's
running pair(s), a pair's members and the partners who have not withdrawn.

One place, so that STATUS, commands, bounces and activity agree on what "your pair" is.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.edges.tables import Pair, PairMember, Person

RUNNING = ("active", "paused")  # pair states that are still going ("ended", "closed" are not)

# Built once: these run for many inbound messages, and building a statement costs more than
# running it (SQLAlchemy caches the compiled form, not the Python objects).
_RUNNING_PAIRS = (
    select(Pair)
    .join(PairMember, PairMember.pair_id == Pair.id)
    .join(Person, Person.id == PairMember.person_id)
    .where(
        PairMember.person_id == bindparam("person_id"),
        Pair.state.in_(RUNNING),
        # Someone who withdrew has left their pair, even a trio that goes on without them.
        Person.status != "withdrawn",
    )
)
_RUNNING_IDS = _RUNNING_PAIRS.with_only_columns(Pair.id).order_by(Pair.id)
_NEWEST_RUNNING = _RUNNING_PAIRS.order_by(Pair.id.desc()).limit(1)
_MEMBERS = (
    select(PairMember, Person)
    .join(Person, Person.id == PairMember.person_id)
    .where(PairMember.pair_id == bindparam("pair_id"))
    .order_by(PairMember.id)
)


def running_pair_ids(session: Session, person_id: int) -> list[int]:
    """Every running pair the person is in (none once they withdrew), oldest first."""
    return list(session.scalars(_RUNNING_IDS, {"person_id": person_id}))


def running_pair(session: Session, person_id: int) -> Pair | None:
    """The person's current pair (active or paused), the newest if several; None once they
    withdrew."""
    return session.scalar(_NEWEST_RUNNING, {"person_id": person_id})


def members(session: Session, pair_id: int) -> list[tuple[PairMember, Person]]:
    """Everyone who was ever in the pair, withdrawn or not, in the order they joined."""
    rows = session.execute(_MEMBERS, {"pair_id": pair_id})
    return [(m, p) for m, p in rows]


def partners(session: Session, pair_id: int, person_id: int) -> list[Person]:
    """The other members of a pair who have not withdrawn."""
    return [
        p for _, p in members(session, pair_id) if p.id != person_id and p.status != "withdrawn"
    ]
