"""Retention at fixed instants through `tick` (Maildir + SQLite and PostgreSQL): people in no
running or future round and inactive `privacy.retain_months` are erased as DELETE MY DATA
erases; handled and quarantined mail older than `privacy.processed_mail_days` leaves the
mailbox; the pass runs once a day and its counts are there for the digest."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import maildir_paths
from mailbot.edges.maildir import MaildirMailbox
from mailbot.edges.tables import (
    Application,
    DeletionEvent,
    InboundRow,
    Person,
    Proposal,
    RetentionRun,
)
from mailbot.flows.retention_job import removed_since
from tests.support.program import Program, application, instant

NEXT_ROUND = """
[[rounds]]
name = "2027B"
applications_open = 2027-06-01
applications_close = 2027-08-30
matching_date = 2027-09-03
start = 2027-09-08
"""
PRIVACY = """
[privacy]
retain_months = 2
processed_mail_days = 365
"""
# Maildir's delivery time is the file's time, which the real clock sets; the test dates files
# explicitly, and a year's keeping leaves undated files (written now) kept at every instant.
OLD = "2026-01-01T09:00:00Z"


def _form(name: str, country: str) -> str:
    return (
        f"Name: {name}\nCountry: {country}\nInstitution: Library of {name}\n"
        "Sector: public\nCareer stage: mid-career\nInterests: outreach\n"
    )


def _status(sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "coordinator@example.org", "STATUS"
    msg["Message-ID"] = f"<status-{sender}>"
    msg.set_content("STATUS")
    return bytes(msg)


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = Program.create(tmp_path / "prog", db_url, extra=PRIVACY + NEXT_ROUND)
    yield p
    p.close()


def _date_files(prog: Program, folder: str, when: str) -> int:
    """Give every message in `folder` the delivery time `when` (Maildir: the file's time)."""
    inbox, _ = maildir_paths(prog.deps.settings)
    stamp = instant(when).timestamp()
    files = [f for f in (inbox / f".{folder}").glob("*/*") if f.is_file()]
    for f in files:
        os.utime(f, (stamp, stamp))
    return len(files)


def _quarantine(prog: Program, raw: bytes) -> None:
    inbox, _ = maildir_paths(prog.deps.settings)

    async def put() -> None:
        box = MaildirMailbox(inbox)
        await box.connect()
        await box.append(raw, "Quarantine")

    asyncio.run(put())


def emails(prog: Program) -> set[str]:
    return set(prog.query(select(Person.email)))


def test_people_inactive_too_long_are_erased_and_old_mail_leaves_the_mailbox(
    prog: Program,
) -> None:
    ana, kofi, lea = "ana@example.net", "kofi@example.net", "lea@example.net"
    prog.put(application(ana, "Ana García", _form("Ana García", "Spain")))
    prog.put(application(kofi, "Kofi Mensah", _form("Kofi Mensah", "Ghana")))
    prog.tick("2027-01-12T09:00:00Z")  # both apply for 2027A (it ends 2027-06-08)
    prog.tick("2027-02-03T09:00:00Z")  # a proposal waits; nobody approves it
    assert emails(prog) == {ana, kofi}
    assert _date_files(prog, "Processed", OLD) == 2

    # While 2027A runs nobody is due, however quiet; the old mail goes already.
    prog.tick("2027-04-20T09:00:00Z")
    assert emails(prog) == {ana, kofi}
    [run] = prog.query(select(RetentionRun).where(RetentionRun.at == instant("2027-04-20T09:00Z")))
    assert (run.people, run.processed_mail, run.quarantined_mail) == (0, 2, 0)
    assert prog.count("Processed") == 0

    # The round's last day: still nobody.
    prog.tick("2027-06-07T09:00:00Z")
    assert emails(prog) == {ana, kofi}

    # 2027A has ended. Kofi writes that day (intake runs before the jobs); Ana has been quiet
    # since February, more than 2 months: she is erased as DELETE MY DATA erases.
    prog.put(_status(kofi))
    report = prog.tick("2027-06-20T09:00:00Z")
    assert emails(prog) == {kofi}
    assert "1 people erased" in report.jobs["retention"]
    assert len(prog.query(select(DeletionEvent))) == 1
    kofi_id = prog.query(select(Person.id).where(Person.email == kofi))[0]
    assert prog.query(select(Application.person_id)) == [kofi_id]
    assert len(prog.query(select(Proposal))) == 1  # the round's record stays
    for row in prog.query(select(InboundRow)):  # her mail's metadata stays, anonymous
        assert ana not in row.from_addr and ana not in " ".join(row.recipients)

    # Léa applies for 2027B (a future round), then is quiet; old quarantined mail goes.
    prog.put(application(lea, "Léa Dubois", _form("Léa Dubois", "France")))
    prog.tick("2027-06-21T09:00:00Z")
    _quarantine(prog, _status("stranger@example.com"))
    _date_files(prog, "Quarantine", OLD)
    _quarantine(prog, _status("another@example.com"))  # delivered now: kept
    report = prog.tick("2027-08-25T09:00:00Z")  # Kofi: quiet since June 20, over 2 months
    assert emails(prog) == {lea}
    # Kofi's STATUS left Processed with him (flows.mailbox_erasure); Léa's form stays.
    assert prog.count("Processed") == 1 and prog.count("Quarantine") == 1
    [run] = prog.query(select(RetentionRun).where(RetentionRun.at == instant("2027-08-25T09:00Z")))
    assert (run.people, run.processed_mail, run.quarantined_mail) == (1, 0, 1)

    # Once a day: a second tick the same day does nothing.
    assert prog.tick("2027-08-25T15:00:00Z").jobs["retention"] == ""
    assert len(prog.query(select(RetentionRun))) == 7  # one a day a tick ran
    with prog.deps.db.transaction() as s:
        week = removed_since(s, datetime(2027, 6, 14, tzinfo=UTC))
    assert (week.people, week.quarantined_mail) == (2, 1)
