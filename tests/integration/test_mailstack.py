"""Smoke test of the test harness itself: real SMTP -> IMAP delivery, and working databases.

If these fail, every other integration test would fail for reasons that are not mailbot's.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import mailbox

pytestmark = pytest.mark.integration


def test_smtp_delivers_to_imap_including_plus_addresses(mailstack: dict[str, Any]) -> None:
    """Mail to coordinator@ and to alice+tag@ arrives in the right INBOXes over real SMTP."""
    # counts instead of clear(): other tests may share these well-known mailboxes
    before = {
        user: mailbox.folder_count(mailstack, user)
        for user in ("coordinator@example.org", "alice@example.org")
    }
    to_coordinator = mailbox.make_message("bob@example.org", "coordinator@example.org")
    to_alice = mailbox.make_message("bob@example.org", "alice+tag@example.org")
    refused = mailbox.send(mailstack, to_coordinator, "bob@example.org", "coordinator@example.org")
    assert refused == {}
    assert mailbox.send(mailstack, to_alice, "bob@example.org", "alice+tag@example.org") == {}

    got_coordinator = mailbox.wait_for(
        mailstack, "coordinator@example.org", before["coordinator@example.org"] + 1
    )
    got_alice = mailbox.wait_for(mailstack, "alice@example.org", before["alice@example.org"] + 1)
    assert any(to_coordinator["Message-ID"].encode() in raw for raw in got_coordinator)
    (ours,) = [raw for raw in got_alice if to_alice["Message-ID"].encode() in raw]
    # the +tag survives in the envelope recipient Dovecot records (Delivered-To)
    assert b"alice+tag@example.org" in ours


def test_append_count_and_clear(mailstack: dict[str, Any]) -> None:
    """IMAP APPEND into a new folder, count it, then clear() empties every folder."""
    user = mailbox.new_user(mailstack, prefix="harness")
    msg = mailbox.make_message("x@example.net", user)
    mailbox.append(mailstack, user, msg, folder="Rules/Done")
    mailbox.append(mailstack, user, mailbox.make_message("x@example.net", user))
    assert mailbox.folder_count(mailstack, user, "Rules/Done") == 1
    assert len(mailbox.fetch_all(mailstack, user)) == 1

    mailbox.clear(mailstack, user)
    assert mailbox.folder_count(mailstack, user, "Rules/Done") == 0
    assert mailbox.folder_count(mailstack, user) == 0


def test_db_url_is_an_empty_working_database(db_url: str) -> None:
    """db_url gives a fresh database (SQLite file or new PostgreSQL database) we can write to."""
    engine = sa.create_engine(db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        meta = sa.MetaData()
        things = sa.Table(
            "things",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
        )
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), [{"name": "one"}, {"name": "two"}])
        with engine.connect() as conn:
            names = conn.execute(sa.select(things.c.name).order_by(things.c.id)).scalars().all()
        assert names == ["one", "two"]
    finally:
        engine.dispose()
