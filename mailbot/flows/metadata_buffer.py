"""Intake's throughput buffer: the inbound rows of metadata-only messages (nothing to do but
record them), held and written with one INSERT, instead of one ORM row each.

Only the all-together pass over a fetch batch buffers. The buffer is written before any
message whose effects may read or delete inbound rows is handled (`intake_dispatch.handle`
says which) and at the end of the batch, inside the batch's transaction: a failure rolls the
buffered rows back with the rest.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from mailbot.edges.tables import InboundRow

_INBOUND = cast(Table, InboundRow.__table__)  # the Core table: a plain multi-row INSERT


class MetadataBuffer:
    """Inbound rows (as `inbound_rows.row_values`) waiting for one INSERT."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._senders: set[str] = set()

    def add(self, values: dict[str, Any]) -> None:
        self._rows.append(values)
        self._senders.add(values["from_addr"])

    def holds_from(self, sender: str) -> bool:
        """Whether a row held so far is of mail from `sender`."""
        return sender in self._senders

    def write(self, session: Session) -> None:
        """Insert the rows held so far (before anything may read or delete them)."""
        if self._rows:
            session.execute(insert(_INBOUND), self._rows)
            self._rows.clear()
            self._senders.clear()
