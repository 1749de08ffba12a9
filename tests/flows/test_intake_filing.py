"""Intake's filing in a thread of its own (`flows.intake_filing.FilingThread`, when reading in
child processes): a filing that fails stops the run as a failed filing in the run's own loop
would, the thread is stopped either way, and the next run files what was committed, once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.edges.tables import InboundRow, MailboxState, Outbox
from mailbot.flows import intake, intake_filing
from tests.flows.test_intake_reader import NOW, _inbox
from tests.support.program import Program


def _filing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mailbot-intake-filing"]


def test_a_failed_filing_stops_the_run_and_the_next_files_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prog = Program.create(tmp_path / "prog", db_url, "[imap]\nbatch_size = 3")
    prog.put(*_inbox())
    monkeypatch.setattr(intake, "PROCESS_FROM", 1)
    monkeypatch.setattr(intake, "FILE_EVERY", 3)  # a filing after every batch
    real, calls = intake_filing.file, [0]

    async def file(*args: Any) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError("connection reset by peer")
        await real(*args)

    with monkeypatch.context() as m:
        m.setattr(intake_filing, "file", file)
        with pytest.raises(OSError, match="reset"):
            asyncio.run(intake.run_once(prog.deps, NOW))
    assert calls[0] == 2 and not _filing_threads()
    committed = prog.query(select(InboundRow))
    assert len(committed) >= 6  # the first two batches at least
    assert 0 < prog.count("INBOX") < len(_inbox())  # the first filing went through
    [state] = prog.query(select(MailboxState))
    assert state.last_uid == len(committed)  # the highest UID committed, with its batch

    report = asyncio.run(intake.run_once(prog.deps, NOW))
    assert not _filing_threads()
    assert report.seen == prog.count("Processed") - 3 == len(_inbox()) - 3
    rows = prog.query(select(InboundRow))
    assert len(rows) == len(_inbox()) and {r.id for r in committed} <= {r.id for r in rows}
    keys = [o.key for o in prog.query(select(Outbox))]
    assert len(keys) == len(set(keys))  # nothing answered twice
    assert prog.count("INBOX") == 0
    [state] = prog.query(select(MailboxState))
    assert state.last_uid == len(_inbox())
    prog.close()
