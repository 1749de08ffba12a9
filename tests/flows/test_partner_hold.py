"""Partner mail kept a while (`privacy.partner_mail_days`, issue 14), end to end on a matched
round (Maildir + SQLite and PostgreSQL, `tick` at fixed instants): with 0 days it is expunged
at intake; with 7 it waits in the holding folder, is still there on day 6 and emptied by the
retention pass of day 8, counted apart in the pass's row and the digest; a crash between commit
and the move records nothing twice; DELETE MY DATA removes the person's held messages. When the
days go back to 0, the folder left behind is searched by DELETE MY DATA until the next retention
pass empties it of every message (whatever its date) and deletes it; without one, nothing is
done and nothing logged.

A Maildir message's delivery time is its file's time (as Dovecot's internal date), so each
message is dated the instant it is put in the inbox; moving keeps it, as IMAP's MOVE does.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot import settings as settings_mod
from mailbot.app import build, maildir_paths
from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.maildir import MaildirMailbox
from mailbot.edges.tables import InboundRow, MailboxErasure, Pair, PairMember, RetentionRun
from mailbot.mail.parse import parse_message
from tests.flows.test_commands_flow import (
    DIRECTOR,
    LEA,
    NEXT_ROUND,
    PEOPLE,
    _form,
    mail,
    pairs,
    partner_of,
    person,
)
from tests.support.program import SECRET, Program, application, instant

HOLD = "Partner-mail"
DAY0 = "2027-02-04T10:00:00Z"
PROGRAM = "coordinator@example.org"


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[privacy]\npartner_mail_days = -1", "privacy.partner_mail_days"),
        ("[privacy]\npartner_mail_days = 3651", "privacy.partner_mail_days"),
        ('[imap]\npartner_hold_folder = "inbox"\n[privacy]\npartner_mail_days = 7', "own"),
        ('[imap]\npartner_hold_folder = "Processed"\n[privacy]\npartner_mail_days = 7', "own"),
        ('[imap]\npartner_hold_folder = " "\n[privacy]\npartner_mail_days = 7', "empty"),
    ],
)
def test_the_hold_settings_are_checked(tmp_path: Path, toml: str, problem: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[program]\ncoordinators = ["{DIRECTOR}"]\n{toml}\n')
    with pytest.raises(settings_mod.ConfigError, match=problem):
        settings_mod.load(config, {"MAILBOT_PROGRAM_SECRET": SECRET})


def test_the_hold_is_used_only_with_days(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[program]\ncoordinators = ["{DIRECTOR}"]\n')
    env = {"MAILBOT_PROGRAM_SECRET": SECRET}
    assert settings_mod.load(config, env).partner_hold == ""  # the default: expunged at once
    env["MAILBOT_PRIVACY_PARTNER_MAIL_DAYS"] = "7"
    assert settings_mod.load(config, env).partner_hold == HOLD


def _track(pair_id: int) -> str:
    return tokens.tag_address(PROGRAM, Route.PAIR, str(pair_id), SECRET)


@pytest.fixture
def matched(tmp_path: Path, db_url: str) -> Iterator[Callable[[int], Program]]:
    """A round matched and approved, with `privacy.partner_mail_days` = the argument."""
    made: list[Program] = []

    def make(days: int) -> Program:
        extra = f"[privacy]\npartner_mail_days = {days}\n" + NEXT_ROUND
        p = Program.create(tmp_path / f"prog{days}", db_url, extra=extra)
        made.append(p)
        for i, who in enumerate(PEOPLE):
            p.put(application(who[0], who[1], _form(*who), message_id=f"<app{i}@mua.example>"))
        p.tick("2027-01-12T09:00:00Z")
        p.tick("2027-02-03T09:00:00Z")
        [proposal] = [m for m in p.sent_to(DIRECTOR) if "proposal" in m["Subject"].lower()]
        put_at(p, "2027-02-03T12:00:00Z", mail(DIRECTOR, "APPROVE", to=proposal["Reply-To"]))
        p.tick("2027-02-03T12:00:00Z")
        assert len(p.query(select(Pair))) == 3
        return p

    yield make
    for p in made:
        assert p.query(select(InboundRow.reason).where(InboundRow.state == "quarantined")) == []
        p.close()


def _dir(prog: Program, folder: str) -> Path:
    inbox, _ = maildir_paths(prog.deps.settings)
    return inbox if folder == "INBOX" else inbox / f".{folder}"


def put_at(prog: Program, when: str, *raws: bytes) -> None:
    """Deliver `raws` to the inbox at `when` (the files' time: the messages' internal date)."""
    prog.put(*raws)
    stamp = instant(when).timestamp()
    for f in _dir(prog, "INBOX").glob("*/*"):
        if f.is_file():
            os.utime(f, (stamp, stamp))


def held(prog: Program) -> list[email.message.Message]:
    root = _dir(prog, HOLD)
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for sub in ("new", "cur")
        for p in sorted((root / sub).glob("*"))
    ]


def _talk(prog: Program, who: str, n: int, words: str = "Secret words") -> list[bytes]:
    pair_id, partner = partner_of(prog, who)
    return [
        mail(partner, f"{words} {i}", to=who, cc=_track(pair_id), subject="Hi") for i in range(n)
    ]


def _digest(prog: Program) -> str:
    digests = [m for m in prog.sent_to(DIRECTOR) if "digest" in str(m["Subject"]).lower()]
    return str(digests[-1].get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _run(prog: Program, when: str) -> RetentionRun:
    [run] = prog.query(select(RetentionRun).where(RetentionRun.at == instant(when)))
    return run


def _lapse(prog: Program) -> None:
    """The operator sets `partner_mail_days` back to 0 (from 3) and restarts."""
    prog.config.write_text(
        prog.config.read_text().replace("partner_mail_days = 3", "partner_mail_days = 0")
    )
    prog.deps.db.dispose()
    prog.deps = build(settings_mod.load(prog.config, {"MAILBOT_PROGRAM_SECRET": SECRET}))
    assert (prog.deps.settings.partner_hold, prog.deps.settings.lapsed_hold) == ("", HOLD)


def _delete_my_data(prog: Program, asked: str, confirmed: str) -> None:
    """Lea asks, in French, to have her data deleted, and confirms with the code sent."""
    put_at(prog, asked, mail(LEA, "SUPPRIMER MES DONNÉES"))
    prog.tick(asked)
    token = person(prog, LEA).delete_token  # type: ignore[union-attr]
    put_at(prog, confirmed, mail(LEA, f"SUPPRIMER MES DONNÉES {token}"))
    prog.tick(confirmed)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_with_0_days_partner_mail_is_gone_after_intake(
    matched: Callable[[int], Program], caplog: pytest.LogCaptureFixture
) -> None:
    prog = matched(0)
    put_at(prog, DAY0, *_talk(prog, LEA, 3))
    with caplog.at_level(logging.INFO, logger="mailbot"):
        report = prog.tick(DAY0)
    assert _warnings(caplog) == []  # no holding folder ever: nothing to empty, nothing failed
    assert report.intake.partner_removed == 3
    assert prog.count("INBOX") == 0
    assert not _dir(prog, HOLD).exists()  # no holding folder is made
    everywhere = [p for p in _dir(prog, "INBOX").rglob("*") if p.is_file()]
    assert not any(b"Secret words" in p.read_bytes() for p in everywhere)
    assert _run(prog, DAY0).partner_mail == 0


def test_with_7_days_partner_mail_is_held_then_emptied_and_counted(
    matched: Callable[[int], Program],
) -> None:
    prog = matched(7)
    pair_id, _ = partner_of(prog, LEA)
    processed = prog.count("Processed")
    put_at(prog, DAY0, *_talk(prog, LEA, 3), mail(LEA, "STATUS"))
    prog.tick(DAY0)
    # recorded from its headers, then moved to the holding folder, not Processed
    rows = prog.query(select(InboundRow).where(InboundRow.pair_id == pair_id))
    assert len([r for r in rows if r.kind == "reply"]) == 3
    assert prog.count("INBOX") == 0 and prog.count("Processed") == processed + 1
    assert sorted(str(m.get_content()).strip() for m in held(prog)) == [  # type: ignore[attr-defined]
        f"Secret words {i}" for i in range(3)
    ]

    # Day 6 (and day 7: SEARCH BEFORE keeps the cutoff's day): still held.
    prog.tick("2027-02-10T09:00:00Z")
    prog.tick("2027-02-11T09:00:00Z")
    assert len(held(prog)) == 3
    assert _run(prog, "2027-02-10T09:00:00Z").partner_mail == 0
    assert "partners' mail removed" not in _digest(prog)  # the 02-08 digest: nothing yet

    # Day 8: the retention pass empties the holding folder and counts it apart.
    report = prog.tick("2027-02-12T09:00:00Z")
    assert held(prog) == [] and _dir(prog, HOLD).is_dir()
    run = _run(prog, "2027-02-12T09:00:00Z")
    assert (run.partner_mail, run.processed_mail, run.quarantined_mail) == (3, 0, 0)
    assert "3 held partner messages removed" in report.jobs["retention"]
    assert prog.count("Processed") == processed + 1  # the program's own mail keeps its 90 days

    prog.tick("2027-02-15T09:00:00Z")  # the next weekly digest says so
    assert "partners' mail removed from holding folder    3" in _digest(prog)


def test_a_crash_between_commit_and_the_move_to_hold_records_nothing_twice(
    matched: Callable[[int], Program],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prog = matched(7)
    [raw] = _talk(prog, LEA, 1)
    real = MaildirMailbox.move

    async def crash(self: MaildirMailbox, uids: Sequence[int], folder: str) -> None:
        if folder == HOLD:
            raise RuntimeError("killed between commit and move")
        await real(self, uids, folder)

    monkeypatch.setattr(MaildirMailbox, "move", crash)
    put_at(prog, DAY0, raw)
    with pytest.raises(RuntimeError, match="killed"):
        prog.tick(DAY0)
    assert prog.count("INBOX") == 1 and held(prog) == []  # committed, not yet moved
    wrote = {m.person_id: m.last_wrote_at for m in prog.query(select(PairMember))}
    monkeypatch.setattr(MaildirMailbox, "move", real)
    prog.tick("2027-02-04T10:30:00Z")
    assert prog.count("INBOX") == 0 and len(held(prog)) == 1
    mid = parse_message(raw).message_id
    assert len(prog.query(select(InboundRow).where(InboundRow.message_id == mid))) == 1
    assert {m.person_id: m.last_wrote_at for m in prog.query(select(PairMember))} == wrote


def test_delete_my_data_removes_their_held_messages(
    matched: Callable[[int], Program],
) -> None:
    prog = matched(7)
    _, partner = partner_of(prog, LEA)
    pair_id, _ = partner_of(prog, partner)
    to_lea = _talk(prog, LEA, 2)
    from_lea = mail(LEA, "Bonjour", to=partner, cc=_track(pair_id), subject="Re: Hi")
    someone = next(m[0] for m in pairs(prog).values() if LEA not in m)
    others = _talk(prog, someone, 2, words="Not Lea's")
    put_at(prog, DAY0, *to_lea, from_lea, *others)
    prog.tick(DAY0)
    assert len(held(prog)) == 5

    _delete_my_data(prog, "2027-02-05T09:00:00Z", "2027-02-05T10:00:00Z")
    assert person(prog, LEA) is None
    left = held(prog)
    assert len(left) == 2 and all("Not Lea's" in str(m) for m in left)
    [job] = prog.query(select(MailboxErasure))
    assert job.done_at is not None and job.address == "" and job.removed >= 3


def test_a_holding_folder_left_with_0_days_is_emptied_whole_and_deleted(
    matched: Callable[[int], Program], caplog: pytest.LogCaptureFixture
) -> None:
    prog = matched(3)
    put_at(prog, DAY0, *_talk(prog, LEA, 3))
    prog.tick(DAY0)
    put_at(prog, "2027-02-05T09:00:00Z", *_talk(prog, LEA, 1, words="Later words"))
    prog.tick("2027-02-05T09:00:00Z")
    assert len(held(prog)) == 4
    # One dated after the pass (a skewed clock): with 0 days nothing of the folder is kept.
    future = instant("2027-03-01T00:00:00Z").timestamp()
    os.utime(next((_dir(prog, HOLD) / "new").iterdir()), (future, future))

    _lapse(prog)
    with caplog.at_level(logging.INFO, logger="mailbot"):
        report = prog.tick("2027-02-06T09:00:00Z")
    assert not _dir(prog, HOLD).exists()  # its messages gone, and the folder with them
    run = _run(prog, "2027-02-06T09:00:00Z")
    assert (run.partner_mail, run.processed_mail, run.quarantined_mail) == (4, 0, 0)
    assert "4 held partner messages removed" in report.jobs["retention"]
    assert _warnings(caplog) == []
    everywhere = [p for p in _dir(prog, "INBOX").rglob("*") if p.is_file()]
    assert not any(b"Secret words" in p.read_bytes() for p in everywhere)

    caplog.clear()  # the next day there is no folder to look at: nothing done, nothing logged
    with caplog.at_level(logging.INFO, logger="mailbot"):
        prog.tick("2027-02-07T09:00:00Z")
    assert _warnings(caplog) == [] and _run(prog, "2027-02-07T09:00:00Z").partner_mail == 0
    prog.tick("2027-02-08T09:00:00Z")  # the weekly digest counts what went
    assert "partners' mail removed from holding folder    4" in _digest(prog)


def test_delete_my_data_searches_a_lapsed_holding_folder(
    matched: Callable[[int], Program],
) -> None:
    prog = matched(3)
    _, partner = partner_of(prog, LEA)
    pair_id, _ = partner_of(prog, partner)
    from_lea = mail(LEA, "Bonjour", to=partner, cc=_track(pair_id), subject="Re: Hi")
    someone = next(m[0] for m in pairs(prog).values() if LEA not in m)
    put_at(prog, DAY0, *_talk(prog, LEA, 2), from_lea, *_talk(prog, someone, 2, "Not Lea's"))
    prog.tick(DAY0)  # the day's retention pass is done: the folder stays until tomorrow's
    assert len(held(prog)) == 5

    _lapse(prog)
    _delete_my_data(prog, "2027-02-04T11:00:00Z", "2027-02-04T12:00:00Z")
    assert person(prog, LEA) is None
    left = held(prog)
    assert len(left) == 2 and all("Not Lea's" in str(m) for m in left)
    [job] = prog.query(select(MailboxErasure))
    assert job.done_at is not None and job.removed >= 3


def test_the_maildir_edge_knows_and_deletes_folders(tmp_path: Path) -> None:
    box = MaildirMailbox(tmp_path / "box", folders=("Processed", HOLD))

    async def run() -> None:
        await box.connect()
        await box.append(b"Subject: x\r\n\r\nbody\r\n", HOLD)
        assert await box.has_folder(HOLD) and await box.has_folder("INBOX")
        await box.delete_folder(HOLD)
        assert not await box.has_folder(HOLD) and await box.has_folder("Processed")
        await box.delete_folder(HOLD)  # already gone: nothing
        for name in ("INBOX", "", "..", "a/b"):
            with pytest.raises(ValueError):
                await box.delete_folder(name)

    asyncio.run(run())
