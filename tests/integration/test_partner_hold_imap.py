"""Partner mail kept a while on a real Dovecot (`privacy.partner_mail_days` = 7): intake moves
it, headers read and bodies never asked for, to the holding folder it creates (the program's
own mail to Processed); DELETE MY DATA finds the person's held messages there; the retention
pass keeps the rest on day 6 and empties the folder on day 8 by the messages' internal date,
which the MOVE kept, counting them apart. Set back to 0 days, the folder left behind is searched
by DELETE MY DATA and then emptied whole and deleted by the next pass; with no folder, the pass
does nothing and logs no warning."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot import settings as settings_mod
from mailbot.app import build
from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import InboundRow, MailboxErasure, RetentionRun
from mailbot.flows import intake, mailbox_erasure
from mailbot.flows.retention_job import retention_job
from tests.integration.test_privacy_imap import (
    PEOPLE,
    SECRET,
    _body_fetches,
    _deps,
    _mail,
    _person,
    _uid_map,
)
from tests.support import mailbox as mbx

pytestmark = pytest.mark.integration

Stack = dict[str, Any]
HOLD = "Partner-mail"
# Dovecot gives an APPEND dated in the future the present as its internal date, so the mail is
# delivered yesterday at noon (real time) and the passes run at that instant plus N days.
NOW = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


def _append_at(stack: Stack, user: str, raws: list[bytes], when: datetime) -> None:
    """APPEND to the INBOX with `when` as the internal date (as delivery on that day gives)."""
    with mbx.imap_login(stack, user) as im:
        for raw in raws:
            typ, data = im.append("INBOX", None, when, raw)
            assert typ == "OK", data


def _held(stack: Stack, user: str) -> list[bytes]:
    return mbx.fetch_all(stack, user, HOLD)


def test_partner_mail_waits_in_the_holding_folder_and_is_emptied_after_its_days(
    mailstack: Stack, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    program = mbx.new_user(mailstack, "hold", "example.net")
    extra = "[privacy]\npartner_mail_days = 7\n"
    deps = _deps(mailstack, program, db_url, tmp_path / "prog", extra)
    assert HOLD not in mbx.list_folders(mailstack, program)
    partner = []
    for n in range(12):
        k = n % PEOPLE
        track = tokens.tag_address(program, Route.PAIR, str(k // 2 + 1), SECRET)
        body = f"private words {n}" + ("\r\n" + "A" * 76) * (2000 if n % 5 == 0 else 1)
        partner.append(_mail(_person(k), _person(k ^ 1), "Re: our work", body, track, n))
    status = _mail(_person(5), program, "STATUS", "STATUS", n=100)
    _append_at(mailstack, program, [*partner, status], NOW)
    uids = _uid_map(mailstack, program)
    partner_uids = {uids[re.search(rb"<[^>]+>", r).group(0).decode()] for r in partner}  # type: ignore[union-attr]

    with caplog.at_level(logging.DEBUG, logger="mailbot.edges.imap"):
        report = asyncio.run(intake.run_once(deps, NOW))
    assert report.seen == 13 and report.quarantined == 0
    assert not _body_fetches(caplog.records) & partner_uids  # headers only, even when held
    assert mbx.fetch_all(mailstack, program, "INBOX") == []
    assert sorted(_held(mailstack, program)) == sorted(partner)  # whole, as delivered
    assert mbx.fetch_all(mailstack, program, "Processed") == [status]
    with deps.db.transaction() as s:
        assert len(list(s.scalars(select(InboundRow).where(InboundRow.pair_id.is_not(None))))) == 12

    # Day 6: the retention pass keeps them (received NOW; kept 7 days).
    assert asyncio.run(retention_job(deps, NOW + timedelta(days=6))) == ""
    assert len(_held(mailstack, program)) == 12

    # DELETE MY DATA for p0 (as flows.erasure requests it): the held mail from or to p0 goes.
    with deps.db.transaction() as s:
        mailbox_erasure.request(s, _person(0), NOW + timedelta(days=6))
    removed = asyncio.run(mailbox_erasure.erase_pending(deps, NOW + timedelta(days=6)))
    mine = [r for r in partner if _person(0).encode() in r.split(b"\r\n\r\n", 1)[0]]
    assert removed == len(mine) == 4  # p0 wrote 2, p1 wrote 2 to p0
    left = _held(mailstack, program)
    assert len(left) == 8 and not any(_person(0).encode() in r for r in left)
    with deps.db.transaction() as s:
        [job] = s.scalars(select(MailboxErasure))
        assert job.done_at is not None and job.removed == 4

    # Day 8: emptied by their internal date (the MOVE kept it), counted apart.
    done = asyncio.run(retention_job(deps, NOW + timedelta(days=8)))
    assert "8 held partner messages removed" in done
    assert _held(mailstack, program) == []
    assert mbx.fetch_all(mailstack, program, "Processed") == [status]  # its own 90 days
    with deps.db.transaction() as s:
        runs = list(s.scalars(select(RetentionRun).order_by(RetentionRun.at)))
    assert [(r.partner_mail, r.processed_mail) for r in runs] == [(0, 0), (8, 0)]
    deps.db.dispose()


def test_a_holding_folder_left_when_the_days_go_back_to_0_is_searched_emptied_and_deleted(
    mailstack: Stack, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    program = mbx.new_user(mailstack, "lapsed", "example.net")
    root = tmp_path / "prog"
    held = _deps(mailstack, program, db_url, root, "[privacy]\npartner_mail_days = 3\n")
    partner = []
    for n in range(6):  # p0 and p1 write to each other, p2..p5 likewise in their pairs
        track = tokens.tag_address(program, Route.PAIR, str(n // 2 + 1), SECRET)
        partner.append(_mail(_person(n), _person(n ^ 1), "Re: our work", f"words {n}", track, n))
    _append_at(mailstack, program, partner, NOW)
    assert asyncio.run(intake.run_once(held, NOW)).seen == 6
    assert len(_held(mailstack, program)) == 6
    held.db.dispose()

    # The operator sets partner_mail_days back to 0 and restarts.
    config = root / "mailbot.toml"
    config.write_text(config.read_text().replace("partner_mail_days = 3", "partner_mail_days = 0"))
    env = {
        "MAILBOT_PROGRAM_SECRET": SECRET,
        "MAILBOT_IMAP_PASSWORD": mbx.password_for(mailstack, program),
    }
    deps = build(settings_mod.load(config, env))
    assert (deps.settings.partner_hold, deps.settings.lapsed_hold) == ("", HOLD)

    # DELETE MY DATA still searches the folder while it exists.
    with deps.db.transaction() as s:
        mailbox_erasure.request(s, _person(0), NOW)
    assert asyncio.run(mailbox_erasure.erase_pending(deps, NOW)) == 2
    left = _held(mailstack, program)
    assert len(left) == 4 and not any(_person(0).encode() in r for r in left)

    # The pass empties it whole (its messages arrived today: no age spares them) and deletes it.
    with caplog.at_level(logging.INFO, logger="mailbot"):
        done = asyncio.run(retention_job(deps, NOW))
    assert "4 held partner messages removed" in done
    assert HOLD not in mbx.list_folders(mailstack, program)
    with mbx.imap_login(mailstack, program) as im:
        typ, data = im.list('""', HOLD)
        assert typ == "OK" and data == [None]  # gone, not merely unselectable

    # The next day there is no folder: nothing done, no warning.
    with caplog.at_level(logging.INFO, logger="mailbot"):
        assert asyncio.run(retention_job(deps, NOW + timedelta(days=1))) == ""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    with deps.db.transaction() as s:
        runs = list(s.scalars(select(RetentionRun).order_by(RetentionRun.at)))
    assert [r.partner_mail for r in runs] == [4, 0]
    assert HOLD not in mbx.list_folders(mailstack, program)  # not made again by any connection
    deps.db.dispose()
