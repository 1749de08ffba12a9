"""Erasure in the mailbox: an erased person's messages removed from every program folder.

`flows.erasure.erase` cannot touch the mailbox inside its database transaction (I/O there
could not be rolled back, nor the transaction undo a removal), so it writes a
`MailboxErasure` row in that transaction (`request`). `erase_pending`, run after intake has
filed its mail (and after the retention pass), does the I/O: in the Processed and Quarantine
folders, and the partner-mail holding folder when partner mail is kept a while
(`privacy.partner_mail_days` > 0) or while a holding folder left from then still exists
(`lapsed_hold`: the retention pass empties and deletes it), it searches From/To/Cc for the address
(`Mailbox.find_address`, a substring match), reads the candidates' header blocks, keeps those
whose From, To or Cc is exactly the address (the person's messages and the answers to them
— in the holding folder, the conversation they had with their partner), expunges them, and
marks the row done with the address cleared. A crash or a mailbox failure leaves the row
pending: the next run does it again, and finding nothing left is as good as done.

The inbox is not searched: by then it holds only mail not yet read (partner mail was
expunged or held, the rest was filed), which intake must still see.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.domain.model import Inbound
from mailbot.edges.tables import MailboxErasure
from mailbot.mail.parse import parse_message

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Mailbox

log = logging.getLogger("mailbot.erasure")


def request(session: Session, address: str, now: datetime) -> None:
    """In the erasure's own transaction: this address's messages are to leave the mailbox."""
    session.add(MailboxErasure(address=address.lower(), created_at=now, removed=0))


async def erase_pending(deps: Deps, now: datetime) -> int:
    """Remove the messages of every pending erasure from the program folders; returns how
    many messages went. A failure is logged and the erasure stays pending."""
    with deps.db.transaction() as s:
        pending = [
            (e.id, e.address)
            for e in s.scalars(select(MailboxErasure).where(MailboxErasure.done_at.is_(None)))
        ]
    removed = 0
    for erasure_id, address in pending:
        try:
            count = await _remove_everywhere(deps, address)
        except Exception as exc:  # the mailbox is tried again on the next run
            log.warning("mailbox erasure %d failed, kept for the next run: %s", erasure_id, exc)
            continue
        with deps.db.transaction() as s:
            s.execute(
                update(MailboxErasure)
                .where(MailboxErasure.id == erasure_id)
                .values(done_at=now, address="", removed=count)
            )
        log.info("mailbox erasure %d: %d message(s) removed", erasure_id, count)
        removed += count
    return removed


async def lapsed_hold(deps: Deps) -> str:
    """`Settings.lapsed_hold` (a holding folder left from when partner mail was held) when the
    program mailbox still has that folder, else "" (asked of the server only with a name)."""
    name = deps.settings.lapsed_hold
    if not name:
        return ""
    box = deps.mailbox()
    await box.connect()
    try:
        return name if await box.has_folder(name) else ""
    finally:
        await box.close()


async def _remove_everywhere(deps: Deps, address: str) -> int:
    total = 0
    lapsed = await lapsed_hold(deps)
    for folder in (*deps.settings.program_folders, *([lapsed] if lapsed else [])):
        box = deps.mailbox(folder)
        await box.connect()
        try:
            total += await _remove_in(box, address)
        finally:
            await box.close()
    return total


async def _remove_in(box: Mailbox, address: str) -> int:
    candidates = await box.find_address(address)
    mine = [
        head.uid
        for head in await box.fetch_headers(candidates)
        if names(parse_message(head.raw), address)
    ]
    await box.expunge(mine)
    return len(mine)


def names(msg: Inbound, address: str) -> bool:
    """Whether the From, To or Cc of `msg` is exactly `address` (not merely contains it)."""
    want = address.lower()
    return msg.from_addr.lower() == want or any(a.lower() == want for a in (*msg.to, *msg.cc))


__all__ = ["erase_pending", "lapsed_hold", "names", "request"]
