"""Delivery claims and records every row on one database connection held for the pass: a
connection that dies between two rows (a database restart) is replaced, as the pool's
checkout did when each statement took a connection of its own, so a message that went is
still recorded `sent` — not left `sending` to be resent as uncertain."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Connection, event, select

from mailbot.edges.ports import Sender, SendResult
from mailbot.edges.tables import Outbox
from mailbot.flows import outbox
from tests.support.program import Program, with_answers

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
ROWS = 6


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = with_answers(tmp_path / "prog", db_url, ROWS, NOW)
    yield p
    p.close()


class Sent:
    """A relay that takes every message; after the `kill_at`th it closes the connection the
    pass claims rows on, under it, before the row is recorded."""

    def __init__(self, kill_at: int) -> None:
        self.kill_at, self.finished = kill_at, 0
        self.claims_on: list[Connection] = []

    def watch(self, conn: Connection, clause: Any, *_args: Any) -> None:
        if clause is outbox._CLAIM:
            self.claims_on.append(conn)

    async def finish(self) -> SendResult:
        self.finished += 1
        if self.finished == self.kill_at:
            self.claims_on[-1].connection.dbapi_connection.close()  # type: ignore[union-attr]
        return SendResult(True, False, 250, "2.0.0 queued")

    def abort(self) -> None:
        return None

    async def prepare(self, message: Any, *, envelope_from: str, recipients: Sequence[str]) -> Any:
        await asyncio.sleep(0)
        return self

    async def capabilities(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("kill_at", [1, 3, ROWS])
def test_a_connection_lost_between_rows_is_replaced_and_every_row_recorded(
    prog: Program, kill_at: int
) -> None:
    relay = Sent(kill_at)
    event.listen(prog.deps.db.engine, "before_execute", relay.watch)
    prog.deps = replace(prog.deps, sender=lambda: cast("Sender", relay))
    report = asyncio.run(outbox.deliver(prog.deps, NOW))
    statuses = [r.status for r in prog.query(select(Outbox))]
    assert report.sent == ROWS and statuses == ["sent"] * ROWS, statuses
    assert len({id(c) for c in relay.claims_on}) == 1  # one connection for the whole pass
