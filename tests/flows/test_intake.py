"""Intake end to end on a local Maildir and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.domain.model import Kind
from mailbot.edges.tables import Application, BounceEvent, InboundRow, Outbox, Person
from mailbot.flows import intake, outbox, rounds
from mailbot.flows.intake_dispatch import EFFECTS, handle
from tests.support.program import Program, application, instant

NOW = "2027-01-12T09:00:00Z"


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Program:
    p = Program.create(tmp_path / "prog", db_url)
    yield p
    p.close()


def test_valid_application_is_stored_confirmed_and_filed(prog: Program) -> None:
    prog.put(application())
    report = prog.tick(NOW)
    assert report.intake.kinds["application"] == 1
    [confirmation] = prog.sent_to("ana@example.net")
    body = (
        confirmation.get_content()
        if not confirmation.is_multipart()
        else confirmation.get_body(("plain",)).get_content()
    )
    assert "Biblioteca de Sevilla" in body and "2027A" in body
    assert confirmation["Auto-Submitted"] == "auto-generated"
    assert confirmation["In-Reply-To"].strip("<>") in {
        r.message_id for r in prog.query(select(InboundRow))
    }
    [app] = prog.query(select(Application))
    assert app.round_name == "2027A" and app.fields["country"] == "ES"
    assert prog.count("INBOX") == 0 and prog.count("Processed") == 1


def test_invalid_application_names_the_fields_and_stores_nothing(prog: Program) -> None:
    body = (
        "Name: Tom\nCountry: Atlantis\nInstitution: Leeds Library\nSector: libraries\n"
        "Interests: maps\n"
    )
    prog.put(application("tom@example.org", "Tom", body))
    prog.tick(NOW)
    [reply] = prog.sent_to("tom@example.org")
    text = reply.get_body(("plain",)).get_content()
    assert "Atlantis" in text and "Sector" in text and "Career stage" in text
    assert prog.query(select(Application)) == []
    assert prog.query(select(Person)) == []


def test_a_second_form_updates_the_application(prog: Program) -> None:
    prog.put(application(message_id="<first@example.net>"))
    prog.tick(NOW)
    second = application(
        message_id="<second@example.net>",
        body="Name: Ana García\nCountry: Chile\nInstitution: Biblioteca Nacional\nSector: public\n"
        "Career stage: senior\nInterests: outreach\n",
    )
    prog.put(second)
    prog.tick(NOW)
    [app] = prog.query(select(Application))
    assert app.fields["country"] == "CL" and app.fields["career_stage"] == "senior"
    first, again = prog.sent_to("ana@example.net")
    assert "updated" in again["Subject"].lower() and "updated" not in first["Subject"].lower()


def test_duplicate_message_id_is_answered_once(prog: Program) -> None:
    raw = application(message_id="<same@example.net>")
    prog.put(raw, raw)
    report = prog.tick(NOW)
    assert report.intake.kinds == {"application": 1, "duplicate": 1}
    assert len(prog.sent_to("ana@example.net")) == 1
    assert prog.count("Processed") == 2


def test_robots_are_never_answered(prog: Program) -> None:
    ooo = application(
        subject="Automatic reply: Application",
        body="I am out of the office.",
        Auto_Submitted="auto-replied",
        message_id="<ooo@example.net>",
    )
    listmail = application(
        subject="help",
        body="help",
        List_Id="<lib.lists.example.net>",
        message_id="<list@example.net>",
    )
    prog.put(ooo, listmail)
    report = prog.tick(NOW)
    assert report.intake.processed == 2
    assert prog.all_sent() == []


def test_bounce_is_scored_and_not_answered(prog: Program) -> None:
    prog.put(application())
    prog.tick(NOW)
    [row] = prog.query(select(Outbox).where(Outbox.template == "confirmation"))
    bounce = (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: " + row.reply_to + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=XX\r\n\r\n"
        "--XX\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--XX\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; ana@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--XX--\r\n"
    ).encode()
    prog.put(bounce)
    report = prog.tick("2027-01-12T10:00:00Z")
    assert report.intake.kinds["bounce"] == 1
    [event] = prog.query(select(BounceEvent))
    assert event.address == "ana@example.net" and event.permanent
    [person] = prog.query(select(Person))
    assert person.bounce_score == 1.0
    assert len(prog.sent_to("ana@example.net")) == 1  # only the confirmation


def test_at_most_a_few_automatic_answers_a_day(prog: Program) -> None:
    raws = [
        application("sam@example.com", "Sam", "HELP", subject="help", message_id=f"<h{i}@x>")
        for i in range(8)
    ]
    prog.put(*raws)
    prog.tick(NOW)
    limit = prog.deps.settings.program.max_auto_replies_per_day
    assert len(prog.sent_to("sam@example.com")) == limit
    prog.put(
        application("sam@example.com", "Sam", "HELP", subject="help", message_id="<next-day@x>")
    )
    prog.tick("2027-01-13T09:30:00Z")
    assert len(prog.sent_to("sam@example.com")) == limit + 1


def test_bad_input_is_processed_or_quarantined_never_dropped(prog: Program) -> None:
    junk = [
        b"",
        b"\x00\xff\xfe binary junk \x80\x81",
        b"From: x@example.com\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"From: =?x-unknown?B?w6k=?= <y@example.com>\r\nSubject: hi\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\n\xe9\xe9",
        b"Subject: no from, no message-id\r\n\r\nName: x\r\nCountry: y\r\nSector: z\r\n",
        b"From: a@example.com\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
    ]
    prog.put(*junk)
    report = prog.tick(NOW)
    assert report.intake.seen == len(junk)
    assert prog.count("INBOX") == 0
    assert prog.count("Processed") + prog.count("Quarantine") == len(junk)
    rows = prog.query(select(InboundRow))
    assert len(rows) == len(junk) and all(r.reason for r in rows)


def test_oversized_message_is_quarantined_with_a_reason(tmp_path: Path, db_url: str) -> None:
    small = Program.create(
        tmp_path / "small", db_url, env={"MAILBOT_PROGRAM_MAX_MESSAGE_BYTES": "2000"}
    )
    big = application(body="Name: A\n" + "x" * 5000)
    small.put(big)
    report = small.tick(NOW)
    assert report.intake.quarantined == 1 and small.count("Quarantine") == 1
    [row] = small.query(select(InboundRow))
    assert row.state == "quarantined" and "exceeds" in row.reason
    assert small.all_sent() == []
    small.close()


def test_crash_after_commit_before_move_finishes_without_repeating(prog: Program) -> None:
    """The transaction committed, the process died before MOVE: the next run only files it."""
    prog.put(application())
    deps = prog.deps

    async def commit_without_move() -> None:
        box = deps.mailbox()
        await box.connect()
        [uid] = await box.new_uids(0)
        [fetched] = await box.fetch([uid])
        with deps.db.transaction() as s:
            rounds.sync_rounds(s, deps)  # as run_once does before handling anything
            handle(s, deps, fetched, f"INBOX:{await box.uidvalidity()}:{uid}", instant(NOW))
        await box.close()

    asyncio.run(commit_without_move())
    assert prog.count("INBOX") == 1
    prog.tick(NOW)
    assert prog.count("INBOX") == 0 and prog.count("Processed") == 1
    assert len(prog.query(select(InboundRow))) == 1
    assert len(prog.sent_to("ana@example.net")) == 1


def test_a_send_interrupted_by_a_crash_is_repeated_once_after_the_grace(prog: Program) -> None:
    prog.put(application())
    asyncio.run(intake.run_once(prog.deps, instant(NOW)))
    with prog.deps.db.transaction() as s:
        row = s.scalar(select(Outbox))
        row.status = "sending"  # what a run killed between claim and 250 leaves behind
    report = asyncio.run(outbox.deliver(prog.deps, instant(NOW)))
    assert report.uncertain == 1 and report.sent == 0
    assert prog.all_sent() == []
    [row] = prog.query(select(Outbox))
    assert row.status == "uncertain" and not row.auto_resent
    later = instant(NOW) + timedelta(minutes=15)
    report = asyncio.run(outbox.deliver(prog.deps, later))
    assert report.resent == 1 and report.sent == 1
    [sent] = prog.sent_to("ana@example.net")
    assert sent["Message-ID"] == f"<{row.message_id}>"
    [row] = prog.query(select(Outbox))
    assert row.status == "sent" and row.auto_resent


def test_header_injection_from_a_display_name_is_harmless(prog: Program) -> None:
    raw = application(
        "eve@example.net",
        "Eve",
        body="Name: Eve\r\nBcc: victim@example.com\nCountry: Kenya\nInstitution: KU\n"
        "Sector: academic\n"
        "Career stage: senior\nInterests: maps\n",
    )
    prog.put(raw)
    prog.tick(NOW)
    [reply] = prog.sent_to("eve@example.net")
    assert reply["Bcc"] is None
    assert [p.name for p in prog.all_sent()] and all(
        "victim" not in str(p) for p in prog.all_sent()
    )


def test_an_applicant_from_kosovo_is_understood(prog: Program) -> None:
    """Kosovo has no ISO 3166-1 code; it is XK (EU, CLDR) with Belgrade's time."""
    body = (
        "Name: Arta Krasniqi\nCountry: Kosovë\nInstitution: National Library of Kosovo\n"
        "Sector: public\nCareer stage: new professional\nInterests: digitisation\n"
    )
    prog.put(application("arta@example.net", "Arta Krasniqi", body))
    prog.tick(NOW)
    [confirmation] = prog.sent_to("arta@example.net")
    text = confirmation.get_body(("plain",)).get_content()
    assert "Kosovo" in text and "XK" not in text
    [person] = prog.query(select(Person))
    assert person.country == "XK" and person.timezone == "Europe/Belgrade"


def test_a_copy_of_a_deleted_persons_mail_is_still_a_duplicate(prog: Program) -> None:
    """Their Message-ID carried their address; after DELETE MY DATA a redelivered copy of
    their application is recognised (by a hash of the id) and signs nobody up again."""
    from email.message import EmailMessage

    original = application(message_id="<1768204800.ana@example.net>")
    prog.put(original)
    prog.tick(NOW)

    def command(body: str, to: str = "coordinator@example.org") -> bytes:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "ana@example.net", to, "Re: your program"
        msg["Message-ID"] = f"<{abs(hash(body))}@mua.example>"
        msg.set_content(body)
        return bytes(msg)

    prog.put(command("DELETE MY DATA"))
    prog.tick("2027-01-13T09:00:00Z")
    ask = prog.sent_to("ana@example.net")[-1]
    [token] = prog.query(select(Person.delete_token))
    prog.put(command(f"DELETE MY DATA {token}", to=ask["Reply-To"].addresses[0].addr_spec))
    prog.tick("2027-01-13T10:00:00Z")
    assert prog.query(select(Person)) == []
    sent = len(prog.sent_to("ana@example.net"))
    kept = [str(v) for r in prog.query(select(InboundRow)) for v in (r.dedupe_id, r.message_id)]
    assert not any("ana@example.net" in t for t in kept)

    prog.put(original)
    prog.tick("2027-01-14T09:00:00Z")
    assert prog.query(select(Person)) == [] and prog.query(select(Application)) == []
    assert len(prog.sent_to("ana@example.net")) == sent
    last = prog.query(select(InboundRow).order_by(InboundRow.id.desc()))[0]
    assert last.kind == "duplicate"


def test_every_kind_of_message_has_a_row_in_the_effects_table() -> None:
    assert set(EFFECTS) == set(Kind)


def test_a_run_freezes_the_heap_it_found_and_thaws_it_after(
    prog: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector skips the heap from before the run while it runs, and is as the run
    found it afterwards, whether nothing or something else had frozen objects before."""
    seen: list[int] = []
    real = intake._handle_chunk

    def handle_chunk(*args: Any) -> Any:
        seen.append(gc.get_freeze_count())
        return real(*args)

    monkeypatch.setattr(intake, "_handle_chunk", handle_chunk)
    assert gc.get_freeze_count() == 0
    prog.put(application(message_id="<f1@example.net>"))
    asyncio.run(intake.run_once(prog.deps, instant(NOW)))
    assert seen and seen[0] > 0 and gc.get_freeze_count() == 0

    gc.freeze()  # someone else's: left to them
    try:
        prog.put(application(message_id="<f2@example.net>"))
        asyncio.run(intake.run_once(prog.deps, instant(NOW)))
        assert gc.get_freeze_count() > 0  # not thawed by the run
    finally:
        gc.unfreeze()
