"""Retention's mailbox side on a real Dovecot: `ImapMailbox.delete_older_than` expunges the
messages of its folder received before a day (IMAP internal date), and nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from mailbot.edges.imap import ImapMailbox, ImapSettings
from tests.support import mailbox as mbx

pytestmark = pytest.mark.integration

Stack = dict[str, Any]


def _raw(i: int) -> bytes:
    return (
        f"From: Ana <ana@example.net>\r\nTo: program@example.net\r\nSubject: kept? {i}\r\n"
        f"Message-ID: <ret-{i}@test.mailbot>\r\n\r\nbody {i}\r\n"
    ).encode()


def _ids(raws: list[bytes]) -> list[str]:
    out = []
    for raw in raws:
        m = re.search(rb"^Message-ID: (<[^>\r\n]+>)", raw, re.MULTILINE)
        assert m
        out.append(m.group(1).decode())
    return sorted(out)


@pytest.fixture
def user(mailstack: Stack) -> str:
    return mbx.new_user(mailstack, prefix="retention", domain="example.net")


@pytest.fixture
def settings_for(mailstack: Stack) -> Callable[..., ImapSettings]:
    def make(user: str, **kw: Any) -> ImapSettings:
        return ImapSettings(
            host=mailstack["MAILSTACK_HOST"],
            port=int(mailstack["MAILSTACK_IMAP_PORT"]),
            username=user,
            password=mbx.password_for(mailstack, user),
            tls="none",
            timeout=10.0,
            **kw,
        )

    return make


def _append(stack: Stack, user: str, folder: str, items: list[tuple[int, datetime]]) -> None:
    with mbx.imap_login(stack, user) as im:
        im.create(folder)
        for i, when in items:
            typ, data = im.append(folder, None, when, _raw(i))
            assert typ == "OK", data


@pytest.mark.parametrize("uidplus", [True, False])
async def test_delete_older_than_expunges_only_that_folders_old_messages(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings], uidplus: bool
) -> None:
    old, recent = datetime(2026, 1, 10, 12, tzinfo=UTC), datetime.now(UTC)
    _append(mailstack, user, "Processed", [(1, old), (2, old), (3, recent), (4, old)])
    _append(mailstack, user, "INBOX", [(5, old)])  # another folder: never touched
    async with ImapMailbox(settings_for(user, folder="Processed")) as mb:
        if not uidplus:
            assert mb._conn is not None
            mb._conn.caps = mb._conn.caps - {"UIDPLUS"}  # white-box: the plain EXPUNGE path
        assert await mb.delete_older_than(date(2026, 1, 11)) == 3
        assert await mb.delete_older_than(date(2026, 1, 11)) == 0  # idempotent
        assert await mb.delete_older_than(date(2026, 1, 10)) == 0  # BEFORE: the day itself stays
    assert _ids(mbx.fetch_all(mailstack, user, "Processed")) == ["<ret-3@test.mailbot>"]
    assert _ids(mbx.fetch_all(mailstack, user, "INBOX")) == ["<ret-5@test.mailbot>"]
