"""Privacy in the real program mailbox (Dovecot): a round's worth of partner mail is recorded
from its headers and none of it stays in any folder, its bodies never asked for (the UID FETCH
commands the edge issued are read back); DELETE MY DATA leaves none of the person's messages
in any folder, and someone else's stay."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from mailbot import settings as settings_mod
from mailbot.app import build
from mailbot.deps import Deps
from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import InboundRow, MailboxErasure, Pair, PairMember, Person
from mailbot.flows import intake
from tests.support import mailbox as mbx

pytestmark = pytest.mark.integration

Stack = dict[str, Any]
SECRET = "privacy-imap-secret"
NOW = datetime(2027, 2, 10, 9, tzinfo=UTC)
PEOPLE = 8  # four running pairs
FOLDERS = ("INBOX", "Processed", "Quarantine")


def _person(k: int) -> str:
    return f"p{k}@partners.example.com"


def _deps(stack: Stack, program: str, db_url: str, root: Path, extra: str = "") -> Deps:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "mailbot.toml"
    config.write_text(
        f'[program]\naddress = "{program}"\ncoordinators = ["director@example.org"]\n'
        f'max_auto_replies_per_day = 50\n[imap]\nhost = "{stack["MAILSTACK_HOST"]}"\n'
        f'port = {stack["MAILSTACK_IMAP_PORT"]}\nusername = "{program}"\ntls = "none"\n'
        f'batch_size = 7\n[database]\nurl = "{db_url}"\n{extra}'
    )
    env = {
        "MAILBOT_PROGRAM_SECRET": SECRET,
        "MAILBOT_IMAP_PASSWORD": mbx.password_for(stack, program),
    }
    deps = build(settings_mod.load(config, env))
    deps.db.upgrade()
    with deps.db.engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "email": _person(k),
                    "name": f"Person {k}",
                    "country": ("KE", "FR")[k % 2],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for k in range(PEOPLE)
            ],
        )
        conn.execute(
            insert(Pair), [{"round_name": "bench", "state": "active", "created_at": NOW}] * 4
        )
        conn.execute(
            insert(PairMember), [{"pair_id": k // 2 + 1, "person_id": k + 1} for k in range(PEOPLE)]
        )
    return deps


def _mail(sender: str, to: str, subject: str, body: str, cc: str = "", n: int = 0) -> bytes:
    cc_line = f"Cc: {cc}\r\n" if cc else ""
    return (
        f"From: {sender}\r\nTo: {to}\r\n{cc_line}Subject: {subject}\r\n"
        f"Date: Wed, 10 Feb 2027 08:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <priv-{n}-{abs(hash((sender, subject, body))) % 10**9}@mua.example>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def _uid_map(stack: Stack, user: str) -> dict[str, int]:
    """Message-ID -> UID of the program's INBOX."""
    with mbx.imap_login(stack, user) as im:
        im.select("INBOX", readonly=True)
        typ, data = im.uid("fetch", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert typ == "OK"
    out = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))  # type: ignore[union-attr]
            mid = re.search(rb"<[^>]+>", item[1])
            assert mid
            out[mid.group(0).decode()] = uid
    return out


def _body_fetches(records: list[logging.LogRecord]) -> set[int]:
    """Every UID the edge asked for with BODY.PEEK[] (its debug line per UID FETCH)."""
    uids: set[int] = set()
    for r in records:
        text = r.getMessage()
        if not text.startswith("imap cmd=UID FETCH") or "BODY.PEEK[]" not in text:
            continue
        for part in text.split()[3].split(","):
            lo, _, hi = part.partition(":")
            uids.update(range(int(lo), int(hi or lo) + 1))
    return uids


def _everything(stack: Stack, user: str) -> list[email.message.Message]:
    return [
        email.message_from_bytes(raw, policy=email.policy.default)
        for folder in FOLDERS
        for raw in mbx.fetch_all(stack, user, folder)
    ]


def _names(msg: email.message.Message, address: str) -> bool:
    fields = [str(v) for h in ("From", "To", "Cc") for v in msg.get_all(h, [])]
    return address in {a.lower() for _n, a in getaddresses(fields)}


def test_partner_mail_is_read_as_headers_and_not_kept_and_erasure_reaches_every_folder(
    mailstack: Stack, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    program = mbx.new_user(mailstack, "privacy", "example.net")
    deps = _deps(mailstack, program, db_url, tmp_path / "prog")
    # A round's worth of partner mail: every pair writes back and forth, the tracking address in
    # Cc, some with a large attachment; and a few messages to the program itself.
    partner: list[bytes] = []
    for n in range(40):
        k = n % PEOPLE
        track = tokens.tag_address(program, Route.PAIR, str(k // 2 + 1), SECRET)
        body = f"private words {n}" + ("\r\n" + "A" * 76) * (3000 if n % 10 == 0 else 1)
        partner.append(_mail(_person(k), _person(k ^ 1), "Re: our libraries", body, track, n))
    to_program = [
        _mail(_person(0), program, "STATUS", "STATUS", n=100),
        _mail(_person(3), program, "question", "What is the next topic about?", n=101),
        _mail("stranger@else.example", program, "hello", "Who are you?", n=102),
    ]
    for raw in partner + to_program:
        mbx.append(mailstack, program, raw)
    uids = _uid_map(mailstack, program)
    partner_uids = {uids[re.search(rb"<[^>]+>", r).group(0).decode()] for r in partner}  # type: ignore[union-attr]
    assert len(partner_uids) == 40

    with caplog.at_level(logging.DEBUG, logger="mailbot.edges.imap"):
        report = asyncio.run(intake.run_once(deps, NOW))
    assert report.seen == 43 and report.partner_removed == 40 and report.quarantined == 0
    body_uids = _body_fetches(caplog.records)
    assert len(body_uids) == 3 and not body_uids & partner_uids  # bodies of the 3 to us only
    with deps.db.transaction() as s:
        rows = list(s.scalars(select(InboundRow).where(InboundRow.pair_id.is_not(None))))
        assert len(rows) == 40
        wrote = list(s.scalars(select(PairMember.last_wrote_at)))
        assert all(w is not None for w in wrote)
    kept = _everything(mailstack, program)
    assert len(kept) == 3 and not any("private words" in str(m) for m in kept)

    # DELETE MY DATA from p0: asked, confirmed with the code; their STATUS and their request
    # leave every folder; p3's question stays.
    mbx.append(mailstack, program, _mail(_person(0), program, "DELETE MY DATA", "", n=103))
    asyncio.run(intake.run_once(deps, NOW + timedelta(minutes=5)))
    with deps.db.transaction() as s:
        token = s.scalar(select(Person.delete_token).where(Person.email == _person(0)))
    assert token
    mbx.append(mailstack, program, _mail(_person(0), program, f"DELETE MY DATA {token}", "", n=104))
    asyncio.run(intake.run_once(deps, NOW + timedelta(minutes=10)))
    with deps.db.transaction() as s:
        assert s.scalar(select(Person).where(Person.email == _person(0))) is None
        [job] = s.scalars(select(MailboxErasure))
        assert job.done_at is not None and job.address == "" and job.removed == 3
    kept = _everything(mailstack, program)
    assert not any(_names(m, _person(0)) for m in kept)
    assert sum(_names(m, _person(3)) for m in kept) == 1
    deps.db.dispose()


async def test_the_edge_reads_header_blocks_expunges_and_finds_by_address(mailstack: Stack) -> None:
    from mailbot.edges.imap import MAX_HEADER_BYTES, ImapMailbox, ImapSettings

    user = mbx.new_user(mailstack, "privedge", "example.net")
    raws = [
        _mail("ana@example.net", user, "one", "body one " * 500, n=1),
        _mail("diana@example.net", user, "two", "body two", cc="bo@example.org", n=2),
        # a hostile header block of 2 MB: read up to the cap only
        b"From: x@example.org\r\nX-Big: " + b"a" * (2 * MAX_HEADER_BYTES) + b"\r\n\r\nbody\r\n",
    ]
    for raw in raws:
        mbx.append(mailstack, user, raw)
    settings = ImapSettings(
        host=mailstack["MAILSTACK_HOST"],
        port=int(mailstack["MAILSTACK_IMAP_PORT"]),
        username=user,
        password=mbx.password_for(mailstack, user),
        tls="none",
        timeout=10.0,
    )
    async with ImapMailbox(settings) as box:
        uids = await box.new_uids(0)
        heads = await box.fetch_headers(uids)
        assert [h.size for h in heads] == [len(r) for r in raws]
        assert all(h.headers_only and not h.truncated for h in heads)
        assert heads[0].raw == raws[0].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        assert len(heads[2].raw) == MAX_HEADER_BYTES
        # IMAP SEARCH matches substrings: both ana@ and diana@ come back; the flow checks
        assert await box.find_address("ana@example.net") == uids[:2]
        assert await box.find_address("bo@example.org") == [uids[1]]
        await box.expunge([uids[0], uids[2]])
        assert await box.new_uids(0) == [uids[1]]
    assert mbx.fetch_all(mailstack, user, "INBOX") == [raws[1]]
