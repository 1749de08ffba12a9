"""Delivery over several connections finishes one send at a time: what a crash can leave.

A send is prepared (MAIL FROM, RCPT TO) on every connection at once, but its data and final dot
go out, and its row is recorded `sent`, under one gate: at any instant at most one message may
have reached the relay without its row saying so, which is what bounds a crash to one extra
copy (tests/integration/test_crash_safety.py kills the daemon to check it end to end).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mailbot.edges.ports import SendResult
from mailbot.edges.tables import Outbox
from mailbot.flows import outbox
from tests.support.program import Program, with_answers

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
ROWS = 12


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = with_answers(tmp_path / "prog", db_url, ROWS, NOW)
    yield p
    p.close()


@dataclass
class Trace:
    prog: Program
    open: int = 0  # transactions prepared and not yet finished, over all connections
    most_open: int = 0
    finishing: int = 0
    overlapped: bool = False
    sent_before: list[int] = field(default_factory=list)  # rows `sent` as each finish began
    finish_raises: bool = False

    def sent_rows(self) -> int:
        [count] = self.prog.query(
            select(func.count()).select_from(Outbox).where(Outbox.status == "sent")
        )
        return int(count)


class FakePrepared:
    def __init__(self, trace: Trace) -> None:
        self.trace, self.over = trace, False

    async def finish(self) -> SendResult:
        t = self.trace
        self.over = True
        t.finishing += 1
        t.overlapped |= t.finishing > 1
        t.sent_before.append(t.sent_rows())
        await asyncio.sleep(0.002)  # the data and the relay's reply: other connections run
        t.finishing -= 1
        t.open -= 1
        if t.finish_raises:
            raise RuntimeError("a bug once the data went")
        return SendResult(True, False, 250, "2.0.0 queued")

    def abort(self) -> None:
        if not self.over:
            self.over = True
            self.trace.open -= 1


class FakeSender:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    async def prepare(
        self, message: Any, *, envelope_from: str, recipients: Sequence[str]
    ) -> FakePrepared:
        await asyncio.sleep(0.002)  # MAIL FROM and RCPT TO round trips
        self.trace.open += 1
        self.trace.most_open = max(self.trace.most_open, self.trace.open)
        return FakePrepared(self.trace)

    async def close(self) -> None:
        return None


def _statuses(prog: Program) -> list[str]:
    return [r.status for r in prog.query(select(Outbox).order_by(Outbox.id))]


def test_connections_prepare_at_once_but_finish_and_record_one_at_a_time(prog: Program) -> None:
    trace = Trace(prog)
    prog.deps = replace(prog.deps, sender=lambda: FakeSender(trace))
    report = asyncio.run(outbox.deliver(prog.deps, NOW))
    assert report.sent == ROWS and _statuses(prog) == ["sent"] * ROWS
    assert trace.most_open > 1, "the connections no longer prepare in parallel"
    assert not trace.overlapped, "two connections sent their data at once"
    # Each finish began only once every earlier one was recorded: never two rows at once that
    # may have reached the relay while the database still says `sending`.
    assert trace.sent_before == list(range(ROWS))


def test_a_finish_that_raises_leaves_its_row_uncertain_and_nothing_sending(
    prog: Program,
) -> None:
    trace = Trace(prog, finish_raises=True)
    prog.deps = replace(prog.deps, sender=lambda: FakeSender(trace))
    report = asyncio.run(outbox.deliver(prog.deps, NOW))
    statuses = _statuses(prog)
    assert "RuntimeError" in report.stopped and report.uncertain == statuses.count("uncertain") >= 1
    assert "sending" not in statuses and "sent" not in statuses
    assert trace.open == 0  # every transaction prepared was finished or aborted
