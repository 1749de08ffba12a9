"""What handling a chunk of inbound messages needs to know from the database, read at once
(five queries) and kept up to date as the chunk's messages are handled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.domain.model import Inbound, Verdict
from mailbot.edges.tables import InboundRow, Outbox, PairMember, Person
from mailbot.flows.activity import count_activity, record_activity
from mailbot.flows.inbound_rows import PROCESSED, dedupe_id
from mailbot.flows.metadata_buffer import MetadataBuffer


@dataclass
class Known:
    """What handling a chunk of messages needs from the database, read with five queries."""

    existing: dict[str, tuple[str, str]]  # source_key -> (state, kind) of a committed row
    seen: set[str]  # dedupe ids of processed messages
    persons: dict[str, Person]  # by email
    answers: Counter[str]  # automatic answers to an address in the last 24 h
    members: dict[tuple[int, int], PairMember]  # (person id, pair id) of the senders' pairs
    # Inbound rows of metadata-only messages, inserted together (None: one by one, as ORM rows)
    buffer: MetadataBuffer | None = None
    members_stale: bool = False  # a command ran: pairs may have changed since the load
    # source key -> the verdict partner mail got from its headers (flows.intake_fetch)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    _loaded: set[int] = field(default_factory=set)  # person ids `members` was read for

    @classmethod
    def load(cls, session: Session, keys: list[str], msgs: list[Inbound], now: datetime) -> Known:
        existing = {
            k: (st, kd)
            for k, st, kd in session.execute(
                select(InboundRow.source_key, InboundRow.state, InboundRow.kind).where(
                    InboundRow.source_key.in_(keys)
                )
            )
        }
        ids = {dedupe_id(m)[:300] for m in msgs}
        seen = set(
            session.scalars(
                select(InboundRow.dedupe_id).where(
                    InboundRow.dedupe_id.in_(ids), InboundRow.state == PROCESSED
                )
            )
        )
        senders = {m.from_addr for m in msgs if m.from_addr}
        persons = {
            p.email: p for p in session.scalars(select(Person).where(Person.email.in_(senders)))
        }
        answers: Counter[str] = Counter(
            {
                addr: n
                for addr, n in session.execute(
                    select(Outbox.primary_to, func.count(Outbox.id))
                    .where(
                        Outbox.primary_to.in_(senders),
                        Outbox.automatic_answer.is_(True),
                        Outbox.created_at >= now - timedelta(days=1),
                    )
                    .group_by(Outbox.primary_to)
                )
            }
        )
        known = cls(existing, seen, persons, answers, {})
        known._loaded = known.member_ids
        known.members = _members_of(session, known._loaded)
        return known

    @property
    def member_ids(self) -> set[int]:
        """The people whose pair memberships `members` holds: the chunk's known senders."""
        return {p.id for p in self.persons.values()}

    def count_activity(
        self, session: Session, person: Person, pair_ids: list[int], when: datetime
    ) -> int:
        """`person` wrote in these pairs at `when`: on the memberships loaded with the chunk —
        read again, in one query, once a command may have changed pairs."""
        if self.members_stale:
            self._loaded = self.member_ids
            self.members = _members_of(session, self._loaded)
            self.members_stale = False
        if person.id not in self._loaded:  # a sender the chunk did not know when loading
            return record_activity(session, person, pair_ids, when)
        mine = (self.members.get((person.id, p)) for p in pair_ids)
        return count_activity((m for m in mine if m is not None), when)


def _members_of(session: Session, person_ids: set[int]) -> dict[tuple[int, int], PairMember]:
    return {
        (m.person_id, m.pair_id): m
        for m in session.scalars(select(PairMember).where(PairMember.person_id.in_(person_ids)))
    }
