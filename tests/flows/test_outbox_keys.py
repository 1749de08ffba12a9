"""An outbox key is written once: within a transaction before any flush, across transactions,
and again after a rollback lost the first row (nothing twice, nothing lost)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from mailbot.domain.model import Outgoing
from mailbot.edges.tables import Outbox
from mailbot.flows import outbox
from tests.support.program import Program

NOW = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)


def _out(key: str) -> Outgoing:
    return Outgoing(key=key, to=("ana@example.net",), template="help", language="en", context={})


def _count(prog: Program) -> int:
    with prog.deps.db.transaction() as s:
        return int(s.scalar(select(func.count(Outbox.id))) or 0)


def test_a_key_is_added_once_in_a_transaction_and_once_for_ever(tmp_path: Path) -> None:
    prog = Program.create(tmp_path, f"sqlite:///{tmp_path}/db.sqlite")
    with prog.deps.db.transaction() as s:
        assert outbox.enqueue(s, prog.deps, _out("k:1"), NOW)
        assert not outbox.enqueue(s, prog.deps, _out("k:1"), NOW)  # pending, not yet flushed
        assert outbox.enqueue(s, prog.deps, _out("k:2"), NOW)
    with prog.deps.db.transaction() as s:
        assert not outbox.enqueue(s, prog.deps, _out("k:1"), NOW)  # committed earlier
    assert _count(prog) == 2


def test_a_row_lost_to_a_rollback_is_added_again(tmp_path: Path) -> None:
    prog = Program.create(tmp_path, f"sqlite:///{tmp_path}/db.sqlite")
    with prog.deps.db.transaction() as s:
        savepoint = s.begin_nested()
        assert outbox.enqueue(s, prog.deps, _out("k:1"), NOW)
        savepoint.rollback()
        assert outbox.enqueue(s, prog.deps, _out("k:1"), NOW)  # the first is gone: add it
    assert _count(prog) == 1
