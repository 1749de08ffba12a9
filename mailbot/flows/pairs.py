"""A person's pairs as every flow reads them: which pair states are still going, a person's
running pair(s), a pair's members and the partners who have not withdrawn, the round of their
newest pair, and who may never be their partner again.

One place, so that STATUS, commands, bounces and activity agree on what "your pair" is, and
a round's matching and a REMATCH on who was a partner before.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from mailbot.domain.matching import Exclusions
from mailbot.edges.db import core_rows
from mailbot.edges.tables import BlockedPair, Pair, PairMember, Person

RUNNING = ("active", "paused")  # pair states that are still going ("ended", "closed" are not)
ENDED = "ended"  # the pair stopped because members left (or a coordinator rematched it)

# Built once: these run for many inbound messages, and building a statement costs more than
# running it (SQLAlchemy caches the compiled form, not the Python objects).
# A member's pair is running for them: the pair goes on, and they have not withdrawn (someone
# who withdrew has left their pair, even a trio that goes on without them). With Pair,
# PairMember and Person joined.
RUNNING_FOR_MEMBER = (Pair.state.in_(RUNNING), Person.status != "withdrawn")
_RUNNING_PAIRS = (
    select(Pair)
    .join(PairMember, PairMember.pair_id == Pair.id)
    .join(Person, Person.id == PairMember.person_id)
    .where(PairMember.person_id == bindparam("person_id"), *RUNNING_FOR_MEMBER)
)
_RUNNING_IDS = _RUNNING_PAIRS.with_only_columns(Pair.id).order_by(Pair.id)
_NEWEST_RUNNING = _RUNNING_PAIRS.order_by(Pair.id.desc()).limit(1)
# The others in the person's current pair (`running_pair`), in the order they joined: STATUS
# reads its partner with one query.
_OF_CURRENT_PAIR = (
    select(Person.name, Person.country)
    .join(PairMember, PairMember.person_id == Person.id)
    .where(
        PairMember.pair_id
        == _NEWEST_RUNNING.with_only_columns(Pair.id).correlate(None).scalar_subquery(),
        Person.id != bindparam("person_id"),
        Person.status != "withdrawn",
    )
    .order_by(PairMember.id)
)
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


class Partner(NamedTuple):
    name: str
    country: str


def current_partners(session: Session, person_id: int) -> list[Partner]:
    """The names and countries of `partners` in the person's `running_pair` (none when they
    have none): one plain read, for STATUS."""
    rows = core_rows(session, _OF_CURRENT_PAIR, {"person_id": person_id})
    return [Partner(name, country) for name, country in rows]


def latest_round(session: Session, person_id: int) -> str | None:
    """The round of the person's newest pair (running or not); None if they never had one."""
    return session.scalar(
        select(Pair.round_name)
        .join(PairMember, PairMember.pair_id == Pair.id)
        .where(PairMember.person_id == person_id)
        .order_by(Pair.id.desc())
        .limit(1)
    )


def exclusions(session: Session, person_id: int | None = None) -> Exclusions:
    """The pairs never to be formed: everyone who ever shared a pair (in any state, withdrawn
    or not) and the pairs the coordinators blocked. With `person_id`, only the pairs that
    include that person (a REMATCH); without, everyone's (a round's matching)."""
    shared = select(PairMember.pair_id, PairMember.person_id)
    blocks = select(BlockedPair.person_a, BlockedPair.person_b)
    if person_id is not None:
        mine = select(PairMember.pair_id).where(PairMember.person_id == person_id)
        shared = shared.where(PairMember.pair_id.in_(mine))
        blocks = blocks.where(
            or_(BlockedPair.person_a == person_id, BlockedPair.person_b == person_id)
        )
    by_pair: dict[int, list[int]] = {}
    for pair_id, member_id in session.execute(shared):
        by_pair.setdefault(pair_id, []).append(member_id)
    previous = {frozenset((a, b)) for ids in by_pair.values() for a in ids for b in ids if a < b}
    if person_id is not None:  # a trio's other two were partners, but not of this person
        previous = {p for p in previous if person_id in p}
    blocked = {frozenset((a, b)) for a, b in session.execute(blocks)}
    return Exclusions(frozenset(previous), frozenset(blocked))
