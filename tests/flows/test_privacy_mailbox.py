"""Privacy in the mailbox, end to end on a matched round (Maildir + SQLite and PostgreSQL):
partner mail is read from its headers only and not kept; a crash between commit and expunge
records nothing twice; DELETE MY DATA removes the person's messages from every program folder.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Sequence
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import maildir_paths
from mailbot.domain import tokens
from mailbot.domain.classify import ClassifyContext
from mailbot.domain.model import Route
from mailbot.domain.partner_mail import is_partner_mail
from mailbot.edges.maildir import MaildirMailbox
from mailbot.edges.ports import Fetched
from mailbot.edges.tables import InboundRow, MailboxErasure, PairMember
from mailbot.flows import mailbox_erasure
from mailbot.mail.parse import parse_message
from tests.flows.test_commands_flow import (
    DIRECTOR,
    LEA,
    PROGRAM,
    last,
    mail,
    partner_of,
    person,
    prog,  # noqa: F401  (the matched-round fixture)
    send,
)
from tests.support.program import SECRET, Program

CTX = ClassifyContext(program_address=PROGRAM, secret=SECRET, own_addresses=frozenset({PROGRAM}))


def _track(pair_id: int) -> str:
    return tokens.tag_address(PROGRAM, Route.PAIR, str(pair_id), SECRET)


def _folder_messages(program: Program, folder: str) -> list[email.message.Message]:
    inbox, _ = maildir_paths(program.deps.settings)
    root = inbox if folder == "INBOX" else inbox / f".{folder}"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for sub in ("new", "cur")
        for p in sorted((root / sub).glob("*"))
    ]


def _names(msg: email.message.Message, address: str) -> bool:
    fields = [str(v) for h in ("From", "To", "Cc") for v in msg.get_all(h, [])]
    return address in {a.lower() for _n, a in getaddresses(fields)}


@pytest.fixture
def bodies_read(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every whole message the Maildir transport hands out (`fetch`, not `fetch_headers`)."""
    read: list[bytes] = []
    real = MaildirMailbox.fetch

    async def fetch(
        self: MaildirMailbox, uids: Sequence[int], sizes: object = None
    ) -> list[Fetched]:
        got = await real(self, uids)
        read.extend(f.raw for f in got)
        return got

    monkeypatch.setattr(MaildirMailbox, "fetch", fetch)
    return read


def test_partner_mail_is_recorded_from_headers_and_not_kept(
    prog: Program,  # noqa: F811
    bodies_read: list[bytes],
) -> None:
    pair_id, partner = partner_of(prog, LEA)
    processed_before = len(_folder_messages(prog, "Processed"))
    talk = [
        mail(partner, f"Secret words number {i}", to=LEA, cc=_track(pair_id), subject="Hi")
        for i in range(3)
    ]
    command = mail(LEA, "STATUS")
    send(prog, "2027-02-04T10:00:00Z", *talk, command)
    rows = prog.query(select(InboundRow).where(InboundRow.hits.is_not(None)))
    partner_rows = [r for r in rows if r.pair_id == pair_id and r.kind == "reply"]
    assert len(partner_rows) == 3
    assert all(r.size == len(raw) for r, raw in zip(partner_rows, talk, strict=True))
    # the pair's activity counted from the headers
    members = prog.query(select(PairMember).where(PairMember.pair_id == pair_id))
    assert any(m.last_wrote_at is not None for m in members)
    # no body of partner mail was read; the command's was
    assert not any(b"Secret words" in raw for raw in bodies_read)
    assert any(b"STATUS" in raw for raw in bodies_read)
    # none of it kept: the inbox is empty and Processed gained the command only
    assert prog.count("INBOX") == 0
    processed = _folder_messages(prog, "Processed")
    assert len(processed) == processed_before + 1
    assert not any("Secret words" in str(m) for m in processed)


def test_a_crash_between_commit_and_expunge_records_nothing_twice(
    prog: Program,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair_id, partner = partner_of(prog, LEA)
    raw = mail(partner, "Hello again", to=LEA, cc=_track(pair_id))
    real = MaildirMailbox.expunge

    async def crash(self: MaildirMailbox, uids: Sequence[int]) -> None:
        raise RuntimeError("killed between commit and expunge")

    monkeypatch.setattr(MaildirMailbox, "expunge", crash)
    prog.put(raw)
    with pytest.raises(RuntimeError, match="killed"):
        prog.tick("2027-02-04T10:00:00Z")
    assert prog.count("INBOX") == 1  # committed, not yet expunged
    wrote = {m.person_id: m.last_wrote_at for m in prog.query(select(PairMember))}
    monkeypatch.setattr(MaildirMailbox, "expunge", real)
    prog.tick("2027-02-04T10:30:00Z")
    assert prog.count("INBOX") == 0
    mid = parse_message(raw).message_id
    assert len(prog.query(select(InboundRow).where(InboundRow.message_id == mid))) == 1
    assert {m.person_id: m.last_wrote_at for m in prog.query(select(PairMember))} == wrote


def test_delete_my_data_removes_their_messages_from_every_folder(
    prog: Program,  # noqa: F811
) -> None:
    # her mail in Processed (a command), in Quarantine (put there by hand, as a coordinator's
    # requeue would find it), someone else's mail that only contains her address as a substring
    send(prog, "2027-02-04T09:00:00Z", mail(LEA, "STATUS"), mail("dilea.dubois@example.net", "?"))

    async def quarantine() -> None:
        inbox, _ = maildir_paths(prog.deps.settings)
        box = MaildirMailbox(inbox)
        await box.connect()
        await box.append(mail(LEA, "odd mail"), "Quarantine")

    asyncio.run(quarantine())
    assert any(_names(m, LEA) for m in _folder_messages(prog, "Processed"))

    send(prog, "2027-02-05T09:00:00Z", mail(LEA, "SUPPRIMER MES DONNÉES"))
    token = person(prog, LEA).delete_token  # type: ignore[union-attr]
    send(prog, "2027-02-05T10:00:00Z", mail(LEA, f"SUPPRIMER MES DONNÉES {token}"))
    assert person(prog, LEA) is None
    for folder in ("INBOX", "Processed", "Quarantine"):
        assert not any(_names(m, LEA) for m in _folder_messages(prog, folder)), folder
    assert any(_names(m, "dilea.dubois@example.net") for m in _folder_messages(prog, "Processed"))
    [job] = prog.query(select(MailboxErasure))
    assert job.done_at is not None and job.address == "" and job.removed >= 4
    notice = last(prog, LEA)
    assert "boîte du programme" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The coordinators' next digest counts what left the mailbox.
    prog.tick("2027-02-08T09:00:00Z")
    digests = [m for m in prog.sent_to(DIRECTOR) if "digest" in str(m["Subject"]).lower()]
    body = digests[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"messages removed for DELETE MY DATA           {job.removed}" in body


def test_a_failed_mailbox_erasure_is_retried_on_the_next_tick(
    prog: Program,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    send(prog, "2027-02-05T09:00:00Z", mail(LEA, "SUPPRIMER MES DONNÉES"))
    token = person(prog, LEA).delete_token  # type: ignore[union-attr]
    real = MaildirMailbox.find_address

    async def down(self: MaildirMailbox, address: str) -> list[int]:
        raise OSError("mailbox unavailable")

    monkeypatch.setattr(MaildirMailbox, "find_address", down)
    send(prog, "2027-02-05T10:00:00Z", mail(LEA, f"SUPPRIMER MES DONNÉES {token}"))
    [job] = prog.query(select(MailboxErasure))
    assert job.done_at is None and job.address == LEA
    assert any(_names(m, LEA) for m in _folder_messages(prog, "Processed"))
    monkeypatch.setattr(MaildirMailbox, "find_address", real)
    prog.tick("2027-02-05T10:30:00Z")
    [job] = prog.query(select(MailboxErasure))
    assert job.done_at is not None and job.address == ""
    assert not any(_names(m, LEA) for m in _folder_messages(prog, "Processed"))


@pytest.mark.parametrize(
    ("headers", "partner"),
    [
        ({"To": "lea@example.net", "Cc": "TRACK"}, True),
        ({"To": "TRACK"}, False),  # to the program alone: may hold a command
        ({"To": "lea@example.net", "Cc": "TRACK", "From": "MAILER-DAEMON@mx.example"}, False),
        ({"To": "lea@example.net", "Cc": "TRACK", "Subject": "Undelivered Mail Returned"}, False),
        ({"To": "lea@example.net", "Cc": "TRACK", "X-Failed-Recipients": "x@y.z"}, False),
        (
            {
                "To": "lea@example.net",
                "Cc": "TRACK",
                "Content-Type": 'multipart/report; report-type=delivery-status; boundary="b"',
            },
            False,
        ),
        ({"To": "lea@example.net", "Cc": "TRACK", "Auto-Submitted": "auto-replied"}, False),
    ],
)
def test_partner_mail_is_told_from_headers(headers: dict[str, str], partner: bool) -> None:
    track = tokens.tag_address(PROGRAM, Route.PAIR, "7", SECRET)
    fields = {"From": "kofi@example.net", "Subject": "hello", "Message-ID": "<a@b>", **headers}
    head = "".join(f"{k}: {v.replace('TRACK', track)}\r\n" for k, v in fields.items()) + "\r\n"
    assert is_partner_mail(parse_message(head.encode()), CTX) is partner


def test_mailbox_erasure_names_whole_addresses_only() -> None:
    msg = parse_message(b"From: dilea@example.net\r\nTo: x@example.org, Lea@Example.net\r\n\r\n")
    assert mailbox_erasure.names(msg, "lea@example.net")
    assert not mailbox_erasure.names(msg, "ilea@example.net")


def test_maildir_headers_are_read_without_the_body(tmp_path: Path) -> None:
    async def run() -> list[Fetched]:
        box = MaildirMailbox(tmp_path / "m")
        await box.connect()
        await box.append(b"Subject: a\r\nTo: b@c.d\r\n\r\n" + b"body " * 10_000)
        return await box.fetch_headers(await box.new_uids(0))

    [head] = asyncio.run(run())
    assert head.raw == b"Subject: a\r\nTo: b@c.d\r\n\r\n" and head.headers_only
    assert head.size == len(b"Subject: a\r\nTo: b@c.d\r\n\r\n") + 50_000


def test_the_digest_counts_what_was_removed(prog: Program) -> None:  # noqa: F811
    from datetime import UTC, datetime

    from mailbot.edges.tables import RetentionRun
    from mailbot.flows.retention_job import removal_counts

    week = datetime(2027, 2, 1, tzinfo=UTC)
    with prog.deps.db.transaction() as s:
        s.add(
            RetentionRun(at=week, people=2, processed_mail=30, quarantined_mail=4, partner_mail=7)
        )
        s.add(RetentionRun(at=datetime(2027, 1, 1, tzinfo=UTC), people=9, processed_mail=9))
        s.add(MailboxErasure(address="", created_at=week, done_at=week, removed=5))
        s.add(MailboxErasure(address="x@example.net", created_at=week, removed=0))  # pending
    with prog.deps.db.transaction() as s:
        counts = removal_counts(s, datetime(2027, 1, 25, tzinfo=UTC))
    assert counts == {
        "erased_inactive": 2,
        "expired_mail": 34,
        "expired_partner_mail": 7,
        "erased_mail": 5,
    }
