"""Intake reading a large inbox in a second process (`flows.intake_reader`): the same rows,
answers and filing as reading in process; a child that fails or dies stops the run as a
failed read would, and the next run finishes the work once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.edges.tables import InboundRow, Outbox, PairMember
from mailbot.flows import intake, intake_fetch, intake_reader
from tests.flows.test_round_flow import at, pair_of, partner_mail, round_  # noqa: F401
from tests.support.program import Program, application, instant

NOW = datetime(2027, 1, 12, 9, tzinfo=UTC)
PROGRAM = "coordinator@example.org"


def _mail(sender: str, subject: str, body: str, n: int, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, PROGRAM, subject
    msg["Date"] = "Tue, 12 Jan 2027 08:00:00 +0000"
    msg["Message-ID"] = f"<mix-{n}@example.net>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return bytes(msg)


def _inbox() -> list[bytes]:
    """A mix: applications (one invalid, one sent twice), a command, an out-of-office, a
    stranger's question, a bounce report."""
    people = [("ana@example.net", "Ana"), ("bo@example.net", "Bo"), ("cy@example.net", "Cy")]
    mails = [application(a, n, message_id=f"<app-{a}>") for a, n in people]
    mails += [
        application(
            "dee@example.net",
            "Dee",
            body="Name: Dee\nCountry: Atlantis\nInstitution: City Library\nSector: public\n"
            "Career stage: senior\nInterests: maps\n",
        ),
        application("ana@example.net", "Ana", message_id="<app-ana@example.net>"),  # again
        _mail("eve@example.net", "Re: STATUS", "STATUS\n", 1),
        _mail("fay@example.net", "Automatic reply", "Away.\n", 2, Auto_Submitted="auto-replied"),
        _mail("gus@example.net", "A question", "Could my library host a meeting?\n", 3),
        _mail(
            "MAILER-DAEMON@mx.example.net",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mx.example.net.\n\n<hal@example.net>: host "
            "mx.example.net said: 550 5.1.1 <hal@example.net>: Recipient address rejected: "
            "User unknown\n",
            4,
        ),
    ]
    return mails + [application(f"n{i}@example.net", f"N{i}") for i in range(5)]


@pytest.fixture
def pair_of_programs(tmp_path: Path, db_url: str) -> Iterator[tuple[Program, Program]]:
    if db_url.startswith("postgresql"):  # one database per test: the second program's own
        pytest.skip("two programs need two databases: the SQLite half compares them")
    made = [
        Program.create(
            tmp_path / name, f"sqlite:///{tmp_path / name}.sqlite3", "[imap]\nbatch_size = 3"
        )
        for name in ("process", "in-process")
    ]
    yield made[0], made[1]
    for p in made:
        p.close()


class _Counting(intake_reader.ReaderProcess):
    started = 0

    def __init__(self, *args: Any) -> None:
        type(self).started += 1
        super().__init__(*args)


def _outcome(prog: Program) -> tuple[list[Any], list[Any], tuple[int, int, int]]:
    rows = sorted(
        (r.message_id, r.kind, r.state, tuple(r.hits), r.reason)
        for r in prog.query(select(InboundRow))
    )
    out = sorted((o.primary_to, o.template, o.key) for o in prog.query(select(Outbox)))
    return rows, out, (prog.count("INBOX"), prog.count("Processed"), prog.count("Quarantine"))


def test_read_in_a_child_the_inbox_is_handled_as_read_in_process(
    pair_of_programs: tuple[Program, Program], monkeypatch: pytest.MonkeyPatch
) -> None:
    child, alone = pair_of_programs
    monkeypatch.setattr(intake, "ReaderProcess", _Counting)
    monkeypatch.setattr(_Counting, "started", 0)
    for prog in (child, alone):
        prog.put(*_inbox())
    reports = []
    for prog, process_from in ((child, 1), (alone, 10**6)):
        monkeypatch.setattr(intake, "PROCESS_FROM", process_from)
        reports.append(asyncio.run(intake.run_once(prog.deps, NOW)))
    assert _Counting.started == 1  # the first program's run read in a child; the other not
    assert reports[0] == reports[1]
    assert reports[0].seen == len(_inbox())
    rows, out, folders = _outcome(child)
    assert (rows, out, folders) == _outcome(alone)
    assert folders == (0, len(_inbox()), 0)
    kinds = {kind for _mid, kind, *_ in rows}
    assert kinds >= {"application", "command", "auto_reply", "unknown", "bounce", "duplicate"}
    assert {template for _to, template, _key in out} >= {"confirmation", "application_invalid"}


def test_partner_mail_read_in_a_child_is_recorded_and_expunged(
    round_: Program,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake, "PROCESS_FROM", 1)
    pair_id, people, track = pair_of(round_, "ana@example.net")
    ana, other = sorted(people, key=lambda p: p.email != "ana@example.net")
    filed_before = round_.count("Processed")
    round_.put(*(partner_mail(ana.email, other.email, track, n) for n in range(3)))
    report = asyncio.run(intake.run_once(round_.deps, instant(at(2))))
    assert (report.seen, report.partner_removed) == (3, 3)
    assert (round_.count("INBOX"), round_.count("Processed")) == (0, filed_before)
    [mine] = round_.query(
        select(PairMember).where(PairMember.pair_id == pair_id, PairMember.person_id == ana.id)
    )
    assert mine.messages == 3


def _failing_on_second_batch(fail: Any) -> Any:
    real, calls = intake_reader.read_batch, [0]

    async def read_batch(*args: Any) -> Any:
        calls[0] += 1  # counted in the child, which has its own copy
        if calls[0] == 2:
            fail()
        return await real(*args)

    return read_batch


def _raise() -> None:
    raise ValueError("the server said something unexpected")


@pytest.mark.parametrize(
    ("fail", "error", "words"),
    [
        (_raise, ValueError, "unexpected"),
        (lambda: os._exit(3), RuntimeError, "exit code 3"),
    ],
    ids=["fails", "dies"],
)
def test_a_child_that_fails_stops_the_run_and_the_next_finishes_it_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, fail: Any, error: Any, words: str
) -> None:
    prog = Program.create(tmp_path / "prog", db_url, "[imap]\nbatch_size = 3")
    prog.put(*_inbox())
    monkeypatch.setattr(intake, "PROCESS_FROM", 1)
    with monkeypatch.context() as m:
        m.setattr(intake_reader, "read_batch", _failing_on_second_batch(fail))
        with pytest.raises(error, match=words):
            asyncio.run(intake.run_once(prog.deps, NOW))
    first = prog.query(select(InboundRow))
    # each child failed at its second batch: the batches before were handled and committed
    assert 0 < len(first) < len(_inbox())
    report = asyncio.run(intake.run_once(prog.deps, NOW))
    assert report.seen == len(_inbox())  # the first batch only filed this time
    rows = prog.query(select(InboundRow))
    assert len(rows) == len(_inbox())
    assert {r.id for r in first} <= {r.id for r in rows}
    keys = [o.key for o in prog.query(select(Outbox))]
    assert len(keys) == len(set(keys))  # nothing answered twice
    assert (prog.count("INBOX"), prog.count("Processed")) == (0, len(_inbox()))
    prog.close()


def test_a_slow_message_in_the_child_is_quarantined_and_the_rest_handled(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget's alarm works in the child, and what ran past it reaches the parent."""
    prog = Program.create(
        tmp_path / "prog", db_url, "[imap]\nbatch_size = 2\nmessage_budget_seconds = 0.3"
    )

    def slow(real: Any) -> Any:
        def read(raw: bytes) -> Any:
            if b"slow application" in raw:
                while True:  # interrupted by the budget's alarm, in the child
                    pass
            return real(raw)

        return read

    for reader in ("parse_message", "read_plain_message"):  # whichever reads it whole
        monkeypatch.setattr(intake_fetch, reader, slow(getattr(intake_fetch, reader)))
    monkeypatch.setattr(intake, "PROCESS_FROM", 1)
    prog.put(
        application("a@example.net", "A", message_id="<a@x>"),
        application("slow@example.net", "S", subject="slow application", message_id="<s@x>"),
        application("b@example.net", "B", message_id="<b@x>"),
    )
    report = asyncio.run(intake.run_once(prog.deps, NOW))
    assert (report.processed, report.quarantined) == (2, 1)
    [slow] = prog.query(select(InboundRow).where(InboundRow.state == "quarantined"))
    assert (slow.state, slow.hits) == ("quarantined", ["over_budget"])
    assert "parsing" in slow.reason
    prog.close()


def _pipes_read_in(pid: int) -> set[str]:
    """The pipes process `pid` holds open for reading (a pipe's two ends share its name)."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        name = os.readlink(fd)
        info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        flags = int(
            next(
                v for k, _, v in (ln.partition(":") for ln in info.splitlines()) if k == "flags"
            ).strip(),
            8,
        )
        if name.startswith("pipe:") and flags & os.O_ACCMODE == os.O_RDONLY:
            held.add(name)
    return held


def test_no_child_holds_a_reading_end_of_a_pipe(tmp_path: Path) -> None:
    """Each child closes its own pipe's reading end and its elder siblings' it inherited: when
    the parent is gone, nothing reads the pipes, and a child ends on the broken pipe instead of
    waiting for ever."""
    prog = Program.create(
        tmp_path / "prog", f"sqlite:///{tmp_path}/db.sqlite3", "[imap]\nbatch_size = 40"
    )
    prog.put(*(application(f"a{i}@example.net", f"A{i}") for i in range(160)))

    async def look() -> list[set[str]]:
        box = prog.deps.mailbox()
        await box.connect()
        uids = await box.new_uids(0)
        batches = [uids[i : i + 40] for i in range(0, len(uids), 40)]
        reader = intake_reader.ReaderProcess(prog.deps, batches, "INBOX", 1)
        try:
            # A batch of 40 forms is more than a pipe holds: each child waits on its first.
            reading = [f"pipe:[{os.fstat(c.conn.fileno()).st_ino}]" for c in reader._children]
            await asyncio.sleep(0.5)
            held = [_pipes_read_in(c._proc.pid or 0) & set(reading) for c in reader._children]
            batch = await reader.next()
            assert len(batch.msgs) == 40
            return held
        finally:
            await reader.drain()
            await box.close()

    assert asyncio.run(look()) == [set(), set()]
    prog.close()
