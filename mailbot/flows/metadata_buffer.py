"""Intake's throughput buffer: the inbound rows of metadata-only messages (nothing to do but
record them), held and written with one INSERT, instead of one ORM row each; the pair
activity counted for them, written with one UPDATE statement (executemany) instead of one
flushed ORM object each; the automatic answers to the chunk's messages, queued with one
INSERT statement (executemany, each row unless its key is there: `outbox.enqueue_rows`); and
the bounce events its reports record, with one INSERT.

Only the all-together pass over a fetch batch buffers. The buffer is written before any
message whose effects may read or delete inbound rows or read pair activity is handled
(`intake_dispatch.handle` says which) and at the end of the batch, inside the batch's
transaction: a failure rolls the buffered rows back with the rest. Nothing intake does to a
chunk reads the outbox but a command (which writes the buffer first), so answers held here are
queued in the order they were decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mailbot.edges.tables import BounceEvent, InboundRow, PairMember
from mailbot.flows.outbox import enqueue_rows

_INBOUND = cast(Table, InboundRow.__table__)  # the Core table: a plain multi-row INSERT
_MEMBERS = cast(Table, PairMember.__table__)
_BOUNCES = cast(Table, BounceEvent.__table__)
_INSERT_ROWS, _INSERT_BOUNCES = insert(_INBOUND), insert(_BOUNCES)  # built once: every batch
_SET_ACTIVITY = (
    update(_MEMBERS)
    .where(_MEMBERS.c.id == bindparam("m_id"))
    .values(last_wrote_at=bindparam("m_when"), messages=bindparam("m_count"))
)


@dataclass(slots=True)
class Membership:
    """A pair membership's activity as a buffered chunk counts it (`activity.count_activity`);
    the database has it once the buffer is written."""

    id: int
    last_wrote_at: datetime | None
    messages: int


class MetadataBuffer:
    """Inbound rows (as `inbound_rows.row_values`) waiting for one INSERT; memberships whose
    activity changed, waiting for one UPDATE."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._activity: dict[int, Membership] = {}
        self._outbox: list[dict[str, Any]] = []
        self._bounces: list[dict[str, Any]] = []

    def add(self, values: dict[str, Any]) -> None:
        self._rows.append(values)

    def add_activity(self, members: list[Membership]) -> None:
        """These memberships' activity changed (their values are written, not increments)."""
        for m in members:
            self._activity[m.id] = m

    def add_outbox(self, values: dict[str, Any]) -> None:
        """An answer to queue (`outbox.outbox_row`)."""
        self._outbox.append(values)

    def add_bounce(self, values: dict[str, Any]) -> None:
        """A bounce event's row (`bouncing.record_bounce`)."""
        self._bounces.append(values)

    @property
    def holds_activity(self) -> bool:
        return bool(self._activity)

    def write(self, session: Session) -> None:
        """Insert the rows held so far, update the memberships, queue the answers and insert
        the bounce events (before anything may read them)."""
        if self._rows:
            session.execute(_INSERT_ROWS, self._rows)
            self._rows.clear()
        if self._activity:
            members = list(self._activity.values())
            self._activity.clear()
            session.execute(
                _SET_ACTIVITY,
                [{"m_id": m.id, "m_when": m.last_wrote_at, "m_count": m.messages} for m in members],
            )
            _sync_loaded(session, members)
        if self._outbox:
            enqueue_rows(session, self._outbox)
            self._outbox = []
        if self._bounces:
            session.execute(_INSERT_BOUNCES, self._bounces)
            self._bounces = []


def _sync_loaded(session: Session, members: list[Membership]) -> None:
    """A membership an effect loaded as an ORM object in this session shows what was just
    written (a later query returns that object as it is, not as the database has it)."""
    identity = session.identity_map
    if not len(identity):
        return
    for m in members:
        obj = identity.get((PairMember, (m.id,), None))
        if obj is not None:
            set_committed_value(obj, "last_wrote_at", m.last_wrote_at)
            set_committed_value(obj, "messages", m.messages)
