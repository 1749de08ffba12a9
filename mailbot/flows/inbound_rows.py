"""What an inbound row records about a message: where it was read (the source key), what
recognises another copy of it (the dedupe id), its metadata and verdict, and its state.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from mailbot.domain.model import Inbound
from mailbot.edges.tables import InboundRow

PROCESSED = "processed"
QUARANTINED = "quarantined"


def source_key(folder: str, uidvalidity: int, uid: int) -> str:
    return f"{folder}:{uidvalidity}:{uid}"


def dedupe_id(msg: Inbound) -> str:
    """What recognises another copy of a message: its Message-ID, hashed (a Message-ID can
    carry the sender's address, which DELETE MY DATA must not have to erase from it), or the
    hash of its bytes when it has none."""
    if msg.message_id:
        return "mid:" + hashlib.sha256(msg.message_id.lower().encode()).hexdigest()
    return f"sha256:{msg.raw_sha256}"


def row_values(
    msg: Inbound,
    source_key: str,
    now: datetime,
    kind: str,
    reason: str,
    hits: list[str],
    state: str,
    person_id: int | None = None,
    pair_id: int | None = None,
) -> dict[str, Any]:
    return {
        "source_key": source_key,
        "dedupe_id": dedupe_id(msg)[:300],
        "message_id": msg.message_id[:300],
        "from_addr": msg.from_addr[:320],
        "recipients": [*msg.to, *msg.cc][:50],  # addresses are metadata, always kept
        "sent_at": msg.date,
        "received_at": now,
        "size": msg.size,
        "kind": kind,
        "reason": reason[:4000],
        "hits": hits,
        "state": state,
        "person_id": person_id,
        "pair_id": pair_id,
    }


def row(*args: Any, **kwargs: Any) -> InboundRow:
    return InboundRow(**row_values(*args, **kwargs))


class _IdColumn:
    """A `PendingRow` column holding a row id or None, read and set in its values."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, row: PendingRow, owner: type | None = None) -> int | None:
        value = row.values[self.name]
        return None if value is None else int(value)

    def __set__(self, row: PendingRow, value: int | None) -> None:
        row.values[self.name] = value


class PendingRow:
    """An inbound row its chunk's buffer writes after the message's effects, with one INSERT
    for many: what those effects read and change of it. It has no id yet, so it serves only
    messages whose effects refer to no inbound row by id (`intake_dispatch._row_waits`)."""

    id: int | None = None

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    @property
    def dedupe_id(self) -> str:
        return str(self.values["dedupe_id"])

    @property
    def reason(self) -> str:
        return str(self.values["reason"])

    @reason.setter
    def reason(self, text: str) -> None:
        self.values["reason"] = text

    person_id = _IdColumn()
    pair_id = _IdColumn()
