"""Requeue: move quarantined messages back to the inbox so the next run handles them again.

The quarantined rows are marked `requeued`, which frees their Message-IDs for dedupe; the
messages get new UIDs in the inbox, so they are new work, not duplicates of themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from mailbot.edges.tables import InboundRow

if TYPE_CHECKING:
    from mailbot.deps import Deps


async def requeue_all(deps: Deps) -> int:
    settings = deps.settings
    box = deps.mailbox(settings.imap.quarantine_folder)
    await box.connect()
    try:
        uids = await box.new_uids(0)
        if uids:
            await box.move(uids, settings.imap.folder)
    finally:
        await box.close()
    with deps.db.transaction() as s:
        s.execute(
            update(InboundRow).where(InboundRow.state == "quarantined").values(state="requeued")
        )
    return len(uids)
