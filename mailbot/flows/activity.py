"""What intake records of a participant's mail: contact in which of their pairs, and when.

Metadata only — one more message and the latest time written, per pair membership — which
the nudge ladder and the digest read. Mail to a pair's tracking address counts; a reply to the
program's own mail counts only when `domain.contact` says it is about the pair (never a
question, never a reply to mail that is not about the pair).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.contact import reply_is_contact
from mailbot.domain.model import Inbound, Route, Verdict
from mailbot.edges.tables import Outbox, PairMember, Person


def pair_ids(verdict: Verdict) -> list[int]:
    """The pairs a message names by its pair (tracking) addresses."""
    return [int(r.token) for r in verdict.routes if r.route is Route.PAIR and r.token.isdigit()]


def replied_templates(s: Session, verdict: Verdict) -> set[str]:
    """The templates of our mail this message answers (its In-Reply-To/References)."""
    digests = [r.token for r in verdict.routes if r.route is Route.REPLY]
    if not digests:
        return set()
    return set(s.scalars(select(Outbox.template).where(Outbox.key_digest.in_(digests))))


def reply_counts_as_contact(s: Session, verdict: Verdict, msg: Inbound) -> bool:
    """A reply to program mail about the pair that is not a question (`domain.contact`)."""
    return reply_is_contact(replied_templates(s, verdict), msg.text)


def activity_at(msg: Inbound, now: datetime) -> datetime:
    """The Date header when it is plausible (the last 30 days), else the time we read it."""
    sane = msg.date is not None and now - timedelta(days=30) <= msg.date <= now
    return msg.date if sane and msg.date is not None else now


def record_activity(s: Session, person: Person | None, pair_ids: list[int], when: datetime) -> int:
    """A real message from `person` counts as contact in each of these pairs they belong to."""
    if person is None or not pair_ids:
        return 0
    return count_activity(
        s.scalars(
            select(PairMember).where(
                PairMember.person_id == person.id, PairMember.pair_id.in_(pair_ids)
            )
        ),
        when,
    )


class Activity(Protocol):
    """A membership's activity: a `PairMember`, or the plain row a buffered chunk counts on
    (`flows.metadata_buffer.Membership`)."""

    last_wrote_at: datetime | None
    messages: int


def count_activity(members: Iterable[Activity], when: datetime) -> int:
    """Each membership gets one more message, written at `when` (the latest one is kept)."""
    n = 0
    for m in members:
        if m.last_wrote_at is None or m.last_wrote_at < when:
            m.last_wrote_at = when
        m.messages += 1
        n += 1
    return n
