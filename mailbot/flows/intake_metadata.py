"""Intake's metadata-only path: whether a message has nothing to do but be recorded (and a
pair's activity counted), and that record, held in the chunk's buffer for one INSERT.

Partner mail, read from its headers only (`flows.intake_fetch`), normally takes this path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.domain.answers import Decision
from mailbot.domain.model import Inbound, Kind, Verdict
from mailbot.edges.tables import Person
from mailbot.flows.activity import activity_at, pair_ids
from mailbot.flows.inbound_rows import PROCESSED, row_values
from mailbot.flows.intake_known import Known
from mailbot.flows.metadata_buffer import MetadataBuffer


def metadata_only(decision: Decision, verdict: Verdict, person: Person | None) -> bool:
    """Nothing to do but record the message (and a pair's activity): no answer, no effects."""
    if (
        decision.answer
        or decision.store_application
        or decision.record_command
        or decision.record_bounce
    ):
        return False
    return (
        person is None
        or verdict.kind not in (Kind.REPLY, Kind.UNKNOWN, Kind.QUESTION)
        or bool(pair_ids(verdict))
    )


def record_metadata(
    session: Session,
    msg: Inbound,
    verdict: Verdict,
    decision: Decision,
    person: Person | None,
    source_key: str,
    known: Known,
    buffer: MetadataBuffer,
    now: datetime,
) -> None:
    """The same record as `handle`'s, held in the chunk's buffer: one INSERT for many."""
    reason = f"{verdict.reason} — {decision.note}"
    pair_id = None
    mark_away_of(person, decision, now)
    if person is not None and verdict.kind in (Kind.REPLY, Kind.UNKNOWN):
        ids = pair_ids(verdict)  # not empty: see metadata_only
        pair_id = ids[0]
        reason += activity_note(session, msg, person, ids, known, now)
    buffer.add(
        row_values(
            msg,
            source_key,
            now,
            verdict.kind.value,
            reason,
            list(verdict.hits),
            PROCESSED,
            person.id if person else None,
            pair_id,
        )
    )


def mark_away_of(person: Person | None, decision: Decision, now: datetime) -> None:
    """An automatic reply says until when its (known) sender is away."""
    if decision.mark_away is not None and person is not None:
        person.away_until = decision.mark_away
        person.updated_at = now


def activity_note(
    session: Session, msg: Inbound, person: Person, ids: list[int], known: Known, now: datetime
) -> str:
    counted = known.count_activity(session, person, ids, activity_at(msg, now))
    return f" — activity in {counted} pair(s)" if counted else ""


__all__ = ["activity_note", "mark_away_of", "metadata_only", "record_metadata"]
