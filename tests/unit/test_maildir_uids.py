"""The Maildir adapter's UIDs: only a listing for new mail gives and writes them; fetching,
moving and expunging on another connection (intake's reader children) read the list as it is."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailbot.edges.maildir import MaildirMailbox


def _mail(n: int) -> bytes:
    return f"From: a@example.com\r\nMessage-ID: <m{n}@example.com>\r\n\r\nbody {n}\r\n".encode()


def test_a_second_connection_reads_by_uid_without_rewriting_the_list(tmp_path: Path) -> None:
    async def go() -> None:
        lister = MaildirMailbox(tmp_path / "md")
        await lister.connect()
        for n in range(3):
            await lister.append(_mail(n))
        uids = await lister.new_uids(0)
        assert uids == [1, 2, 3]
        await lister.expunge([1])  # the list still names it until the next listing
        uidlist = tmp_path / "md" / ".uidlist.json"
        before = (uidlist.read_bytes(), uidlist.stat().st_mtime_ns, uidlist.stat().st_ino)

        reader = MaildirMailbox(tmp_path / "md")
        await reader.connect()
        await reader.append(_mail(9))  # arrived after the listing: no UID yet
        fetched = await reader.fetch_headers([1, 2, 3, 4])
        assert [f.uid for f in fetched] == [2, 3]
        assert b"<m1@example.com>" in fetched[0].raw
        await reader.expunge([3])
        assert (uidlist.read_bytes(), uidlist.stat().st_mtime_ns, uidlist.stat().st_ino) == before

        kept, new = await lister.new_uids(0)  # the next listing prunes, and gives a new UID
        assert kept == 2 and new > 3
        assert not list((tmp_path / "md").glob(".uidlist*.tmp"))

    asyncio.run(go())
