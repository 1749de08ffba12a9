"""When the database itself fails (here: SQLite locked by another writer past the busy
timeout), no message is blamed: nothing is quarantined, the batch stays in the inbox, and the
next run handles it as if nothing had happened."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.edges.tables import Application, InboundRow
from mailbot.flows import effects
from mailbot.flows.intake import DatabaseUnavailable
from mailbot.flows.intake_known import Known
from tests.support.program import Program, application

BEFORE, NOW, LATER = "2027-01-12T08:00:00Z", "2027-01-12T09:00:00Z", "2027-01-12T09:05:00Z"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "outage.sqlite3"


@pytest.fixture
def prog(tmp_path: Path, db_file: Path) -> Iterator[Program]:
    # A short busy timeout, so that a held lock fails the run in a fraction of a second.
    p = Program.create(tmp_path / "prog", f"sqlite:///{db_file}?timeout=0.2")
    p.tick(BEFORE)  # rounds synced, mailbox state written: the next run only has mail to do
    yield p
    p.close()


def lock(db_file: Path) -> sqlite3.Connection:
    """Another writer holding the database's write lock until `.rollback()`."""
    other = sqlite3.connect(db_file, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def status(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "ana@example.net", "coordinator@example.org"
    msg["Subject"], msg["Message-ID"] = "STATUS", f"<status-{n}@example.net>"
    msg.set_content("STATUS")
    return bytes(msg)


def assert_left_for_the_next_run(prog: Program, waiting: int) -> None:
    assert prog.count("INBOX") == waiting
    assert prog.count("Quarantine") == 0 and prog.count("Processed") == 0
    assert prog.query(select(InboundRow)) == []
    assert prog.all_sent() == []


def test_a_locked_database_leaves_the_batch_in_the_inbox(prog: Program, db_file: Path) -> None:
    prog.put(application(), status(1))
    other = lock(db_file)
    try:
        with pytest.raises(DatabaseUnavailable, match="locked"):
            prog.tick(NOW)
    finally:
        other.rollback()
        other.close()
    assert_left_for_the_next_run(prog, waiting=2)

    report = prog.tick(LATER)
    assert report.intake.processed == 2 and report.intake.quarantined == 0
    assert prog.count("Processed") == 2 and prog.count("INBOX") == 0
    assert len(prog.query(select(Application))) == 1
    assert len(prog.sent_to("ana@example.net")) == 2  # the confirmation and the status


def test_a_lock_met_while_handling_one_by_one_quarantines_nothing(
    prog: Program, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message fails, so the batch is redone one message at a time; before the redo writes
    anything, another writer takes the lock. The redo stops there with DatabaseUnavailable
    instead of quarantining each message as its own failure."""
    real_answer, real_load = effects.answer, Known.load
    holder: list[sqlite3.Connection] = []
    loads: list[int] = []

    def failing_answer(*args: object, **kwargs: object) -> object:
        if getattr(args[3], "message_id", "") == "status-1@example.net":
            raise RuntimeError("injected failure")
        return real_answer(*args, **kwargs)  # type: ignore[arg-type]

    def load_then_lock(*args: object, **kwargs: object) -> Known:
        known = real_load(*args, **kwargs)  # type: ignore[arg-type]
        loads.append(1)
        if len(loads) == 2:  # the one-by-one redo: nothing written yet
            holder.append(lock(db_file))
        return known

    monkeypatch.setattr(effects, "answer", failing_answer)
    monkeypatch.setattr(Known, "load", load_then_lock)
    prog.put(application(), status(1), status(2))
    try:
        with pytest.raises(DatabaseUnavailable, match="locked"):
            prog.tick(NOW)
    finally:
        for other in holder:
            other.rollback()
            other.close()
    assert holder, "the redo ran"
    assert_left_for_the_next_run(prog, waiting=3)

    monkeypatch.undo()
    report = prog.tick(LATER)
    assert report.intake.processed == 3 and report.intake.quarantined == 0
    assert len(prog.sent_to("ana@example.net")) == 3


def tick_while_locked(prog: Program, db_file: Path) -> subprocess.CompletedProcess[str]:
    """`mailbot tick` while another writer holds the lock: it must say so and exit 3."""
    from tests.flows.test_cli import run

    other = lock(db_file)
    try:
        out = run(prog, "tick", "--now", NOW)
    finally:
        other.rollback()
        other.close()
    assert out.returncode == 3, out.stderr
    assert "database unavailable: OperationalError: database is locked" in out.stderr
    return out


def test_tick_says_the_database_is_unavailable_and_exits_3(prog: Program, db_file: Path) -> None:
    prog.put(application())
    out = tick_while_locked(prog, db_file)
    assert "stays in the inbox" in out.stderr and "INSERT" not in out.stderr
    assert_left_for_the_next_run(prog, waiting=1)


def test_a_lock_met_after_intake_is_reported_the_same_way(prog: Program, db_file: Path) -> None:
    """Intake done, answers queued; the lock meets the jobs or the delivery: the same clear
    message and exit 3, and the answer goes out with the next tick, once."""
    import asyncio

    from mailbot.edges.tables import Outbox
    from mailbot.flows.intake import run_once
    from tests.support.program import instant

    prog.put(application())
    asyncio.run(run_once(prog.deps, instant(NOW)))
    assert [o.status for o in prog.query(select(Outbox))] == ["pending"]
    out = tick_while_locked(prog, db_file)
    assert "Traceback" not in out.stderr
    assert [o.status for o in prog.query(select(Outbox))] == ["pending"]
    prog.tick(LATER)
    to_ana = select(Outbox).where(Outbox.primary_to == "ana@example.net")
    assert [o.status for o in prog.query(to_ana)] == ["sent"]
    assert len(prog.sent_to("ana@example.net")) == 1
