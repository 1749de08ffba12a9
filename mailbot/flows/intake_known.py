"""What handling a chunk of inbound messages needs to know from the database, read at once
(four queries; the senders' pair memberships when activity is first counted, which of them
applied before when a confirmation first asks, and STATUS's facts when a STATUS first asks)
and kept up to date as the chunk's messages are handled.

A chunk handled all together (`buffer` set) reads the memberships as plain rows and leaves
their changed activity to the buffer (one UPDATE statement); one by one, they are ORM objects,
flushed with each message's savepoint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mailbot.domain.classify import Ahead
from mailbot.domain.model import Inbound
from mailbot.edges.db import core_rows
from mailbot.edges.tables import InboundRow, Outbox, PairMember, Person
from mailbot.flows.activity import count_activity, record_activity
from mailbot.flows.effects import person_by_email
from mailbot.flows.inbound_rows import PROCESSED, dedupe_id
from mailbot.flows.metadata_buffer import Membership, MetadataBuffer
from mailbot.flows.status_facts import StatusFacts, status_facts_of


@dataclass
class Known:
    """What handling a chunk of messages needs from the database, read with four queries;
    the memberships when first needed."""

    existing: dict[str, tuple[str, str]]  # source_key -> (state, kind) of a committed row
    seen: set[str]  # dedupe ids of processed messages
    persons: dict[str, Person]  # by email
    answers: Counter[str]  # automatic answers to an address in the last 24 h
    # (person id, pair id) of the senders' pairs: rows when buffered, else ORM objects
    members: dict[tuple[int, int], PairMember | Membership]
    senders: list[str] = field(default_factory=list)  # the chunk's From addresses
    looked_up: set[str] = field(default_factory=set)  # the addresses `persons` was read for
    # Inbound rows of metadata-only messages, inserted together (None: one by one, as ORM rows)
    buffer: MetadataBuffer | None = None
    members_stale: bool = True  # not read yet, or a command ran: pairs may have changed
    # source key -> its verdicts, classified ahead when read (flows.intake_fetch)
    verdicts: dict[str, Ahead] = field(default_factory=dict)
    _loaded: set[int] = field(default_factory=set)  # person ids `members` was read for
    # Senders with an application on record before the chunk (read when first asked), and
    # those whose application the chunk recorded: buffered rows are not in the database yet.
    _applied_before: set[str] | None = None
    applied_here: set[str] = field(default_factory=set)
    # STATUS's facts about the chunk's known senders (read when first asked)
    _status: dict[int, StatusFacts] | None = None

    @classmethod
    def load(
        cls,
        session: Session,
        keys: list[str],
        msgs: list[Inbound],
        now: datetime,
        also: Iterable[str] = (),
    ) -> Known:
        """What the chunk needs; `also`: more addresses whose persons to read with the
        senders' (those the chunk's bounce reports name)."""
        existing = {k: (st, kd) for k, st, kd in core_rows(session, _EXISTING, {"keys": keys})}
        ids = {dedupe_id(m)[:300] for m in msgs}
        seen = set(core_rows(session, _SEEN, {"ids": list(ids)}).scalars())
        senders = [*{m.from_addr for m in msgs if m.from_addr}]
        looked_up = {*senders, *also}
        persons = {p.email: p for p in session.scalars(_PERSONS, {"senders": [*looked_up]})}
        since = now - timedelta(days=1)
        answers: Counter[str] = Counter(
            {a: n for a, n in core_rows(session, _ANSWERS, {"senders": senders, "since": since})}
        )
        return cls(existing, seen, persons, answers, {}, senders=senders, looked_up=looked_up)

    def find_person(self, session: Session, address: str) -> Person | None:
        """The person with this address: as the chunk knows them when it read the address
        (added, changed or erased since), else from the database."""
        if address not in self.looked_up:
            return person_by_email(session, address)
        person = self.persons.get(address)
        return person if person is None or person in session else None  # erased since

    def applied_earlier(self, session: Session, sender: str) -> bool:
        """Whether `sender` has an application on record other than the one being handled
        (recorded in `applied_here` only once handled): for the whole chunk in one query."""
        if self._applied_before is None:
            applied = core_rows(session, _APPLIED, {"senders": self.senders})
            self._applied_before = set(applied.scalars())
        return sender in self.applied_here or sender in self._applied_before

    def status_of(self, session: Session, person: Person) -> StatusFacts | None:
        """STATUS's facts about `person`: for all the chunk's known senders in three queries
        when first asked; None for someone it did not know then, or whose application the
        chunk has changed (read on their own)."""
        if self._status is None:
            self._status = status_facts_of(session, self.member_ids)
        return self._status.get(person.id)

    def pairs_changed(self) -> None:
        """A command ran or a request was settled: pairs (and who is in them) may have changed."""
        self.members_stale = True
        self._status = None

    def application_changed(self, person_id: int) -> None:
        if self._status is not None:
            self._status.pop(person_id, None)

    @property
    def member_ids(self) -> set[int]:
        """The chunk's known people (its senders, and those its bounce reports name): whose
        memberships `members` holds, and whose STATUS facts are read together."""
        return {p.id for p in self.persons.values()}

    def count_activity(
        self, session: Session, person: Person, pair_ids: list[int], when: datetime
    ) -> int:
        """`person` wrote in these pairs at `when`: on the senders' memberships, read in one
        query when first needed and again once a command may have changed pairs."""
        buffer = self.buffer
        if self.members_stale:
            if buffer is not None and buffer.holds_activity:
                buffer.write(session)  # what is read again must include what was counted
            self._loaded = self.member_ids
            self.members = _members_of(session, self._loaded, plain=buffer is not None)
            self.members_stale = False
        if person.id not in self._loaded:  # a sender the chunk did not know when loading
            return record_activity(session, person, pair_ids, when)
        mine = [m for m in (self.members.get((person.id, p)) for p in pair_ids) if m is not None]
        counted = count_activity(mine, when)
        if buffer is not None:
            buffer.add_activity(cast(list[Membership], mine))
        return counted


# Built once (the chunk's keys, ids and senders are expanding parameters).
_EXISTING = select(InboundRow.source_key, InboundRow.state, InboundRow.kind).where(
    InboundRow.source_key.in_(bindparam("keys", expanding=True))
)
_SEEN = select(InboundRow.dedupe_id).where(
    InboundRow.dedupe_id.in_(bindparam("ids", expanding=True)), InboundRow.state == PROCESSED
)
_PERSONS = select(Person).where(Person.email.in_(bindparam("senders", expanding=True)))
_ANSWERS = (
    select(Outbox.primary_to, func.count(Outbox.id))
    .where(
        Outbox.primary_to.in_(bindparam("senders", expanding=True)),
        Outbox.automatic_answer.is_(True),
        Outbox.created_at >= bindparam("since"),
    )
    .group_by(Outbox.primary_to)
)
_APPLIED = (
    select(InboundRow.from_addr)
    .where(
        InboundRow.from_addr.in_(bindparam("senders", expanding=True)),
        InboundRow.kind == "application",
        InboundRow.state == PROCESSED,
    )
    .distinct()
)
_PLAIN = select(
    PairMember.person_id,
    PairMember.pair_id,
    PairMember.id,
    PairMember.last_wrote_at,
    PairMember.messages,
)

_PLAIN_OF = _PLAIN.where(PairMember.person_id.in_(bindparam("ids", expanding=True)))


def _members_of(
    session: Session, person_ids: set[int], plain: bool
) -> dict[tuple[int, int], PairMember | Membership]:
    """The memberships of these people: plain rows (`plain`: their activity written by the
    buffer), else ORM objects."""
    if plain:
        rows = core_rows(session, _PLAIN_OF, {"ids": list(person_ids)})
        return {(pid, pair): Membership(mid, when, n) for pid, pair, mid, when, n in rows}
    return {
        (m.person_id, m.pair_id): m
        for m in session.scalars(select(PairMember).where(PairMember.person_id.in_(person_ids)))
    }
