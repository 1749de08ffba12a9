"""A message that takes too long to parse or classify is quarantined; its batch goes on.

The slow steps are injected (a classifier or a parser that spins for as long as it is let);
the budget is made small so the test stays quick.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.edges.tables import InboundRow, Outbox
from mailbot.flows import intake, intake_fetch
from mailbot.flows.time_budget import OverBudget, budget
from tests.support.program import Program, application

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
BUDGET = 0.3
GIVE_UP = 20.0  # a spin that outlives this means the budget never stopped it: fail, not hang


def _spin() -> None:
    """Busy pure Python, as a runaway loop in a parser or a rule would be."""
    end = time.monotonic() + GIVE_UP
    while time.monotonic() < end:
        pass
    raise AssertionError("the time budget did not interrupt a slow step")


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = Program.create(
        tmp_path / "prog", db_url, extra=f"[imap]\nmessage_budget_seconds = {BUDGET}"
    )
    yield p
    p.close()


def _batch(prog: Program) -> None:
    prog.put(
        application("a@example.net", "A", message_id="<a@x>"),
        application("slow@example.net", "Slow", subject="slow application", message_id="<s@x>"),
        application("b@example.net", "B", message_id="<b@x>"),
        application("c@example.net", "C", message_id="<c@x>"),
    )


def _inbound(prog: Program) -> dict[str, InboundRow]:
    return {r.message_id: r for r in prog.query(select(InboundRow))}


def test_a_slow_classifier_quarantines_its_message_and_the_batch_goes_on(
    prog: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages are classified as they are read (flows.intake_fetch), before the database.
    real = intake_fetch.classify_ahead
    slow_calls = 0

    def classify_ahead(msg: Any, ctx: Any) -> Any:
        nonlocal slow_calls
        if "slow" in msg.subject:
            slow_calls += 1
            _spin()
        return real(msg, ctx)

    monkeypatch.setattr(intake_fetch, "classify_ahead", classify_ahead)
    _batch(prog)
    started = time.monotonic()
    report = asyncio.run(intake.run_once(prog.deps, NOW))
    assert time.monotonic() - started < GIVE_UP / 2
    assert (report.processed, report.quarantined) == (3, 1)
    assert slow_calls == 1  # the one-by-one pass did not run it again
    rows = _inbound(prog)
    slow = rows["s@x"]
    assert (slow.state, slow.hits) == ("quarantined", ["over_budget"])
    assert "classifying" in slow.reason and "message_budget_seconds" in slow.reason
    assert {rows[m].state for m in ("a@x", "b@x", "c@x")} == {"processed"}
    answered = {r.primary_to for r in prog.query(select(Outbox))}
    assert answered == {"a@example.net", "b@example.net", "c@example.net"}
    assert (prog.count("INBOX"), prog.count("Processed"), prog.count("Quarantine")) == (0, 3, 1)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no alarm left armed


def test_a_slow_parse_quarantines_its_message_and_the_batch_goes_on(
    prog: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(real: Any) -> Any:
        def read(raw: bytes) -> Any:
            if b"slow application" in raw:
                _spin()
            return real(raw)

        return read

    for reader in ("parse_message", "read_plain_message"):  # whichever reads it whole
        monkeypatch.setattr(intake_fetch, reader, slow(getattr(intake_fetch, reader)))
    _batch(prog)
    report = asyncio.run(intake.run_once(prog.deps, NOW))
    assert (report.processed, report.quarantined) == (3, 1)
    [slow] = [r for r in prog.query(select(InboundRow)) if r.state == "quarantined"]
    assert slow.hits == ["over_budget"] and "parsing" in slow.reason
    assert slow.size > 0  # what is known of it without reading it: its size and digest
    assert (prog.count("Processed"), prog.count("Quarantine")) == (3, 1)


def test_the_budget_restores_the_previous_alarm_handler() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with budget(5.0, "quick"):
        pass
    with pytest.raises(OverBudget, match="spinning"), budget(0.05, "spinning"):
        end = time.monotonic() + GIVE_UP
        while time.monotonic() < end:
            pass
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outside_the_main_thread_the_budget_is_checked_when_the_step_returns() -> None:
    caught: list[BaseException] = []

    def work() -> None:
        try:
            with budget(0.01, "threaded"):
                time.sleep(0.05)
        except OverBudget as exc:
            caught.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert len(caught) == 1 and "threaded" in str(caught[0])
