"""`check-config --connect --self-test`: what the servers offer, and whether a signed
plus-address of the program really reaches the watched folder.

Every reply route of mailbot is a plus-address of the program (`program+p-…@`, `+r-`, `+b-`,
`domain.tokens`). Some providers drop such mail, bounce it, or deliver it elsewhere; then pairs'
activity, replies and bounces would vanish without a word. So the self-test sends one mail, From
the program To a signed `+r-selftest…` address of it, waits for it in the watched folder (found
by its Message-ID among the UIDs new since the send) and expunges it. A daemon running at the
same time reads it as our own mail and answers nothing.

Then it looks for the expunged mail in every folder of the account: a server that keeps what is
expunged (Gmail archives it to All Mail by default; Dovecot's lazy_expunge; a "move deleted
mail to Trash" setting) would keep partner mail too, which the program promises not to keep.
A copy in a Sent folder is the provider's copy of what was sent, not a kept expunged message.

Reports lines for a person (capabilities, timings) and problems, each with what to do.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING

from mailbot.domain.model import Route
from mailbot.domain.tokens import message_id_for, split_address, tag_address
from mailbot.edges.ports import SendResult
from mailbot.mail.build import Envelope, build_message

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Mailbox

IMAP_CAPS = ("IDLE", "MOVE", "UIDPLUS", "QRESYNC", "CONDSTORE")
SMTP_CAPS = ("STARTTLS", "SMTPUTF8", "8BITMIME", "PIPELINING", "SIZE")

# What to do when the tagged mail never arrives, by provider preset.
PLUS_ADVICE = {
    "microsoft365": (
        "Exchange Online: plus addressing must be on for the organisation "
        "(Set-OrganizationConfig -DisablePlusAddressInRecipients $false); check the Junk "
        "folder and any transport rule that rewrites recipients."
    ),
    "google": (
        "Google Workspace delivers plus-addresses to the mailbox: check Spam, and Gmail "
        "filters that skip the inbox or move mail to a label the daemon does not watch."
    ),
    "gmail": (
        "Gmail delivers plus-addresses to the mailbox: check Spam, and filters that skip the "
        "inbox or move mail to a label the daemon does not watch."
    ),
    "generic": (
        "The mail server must deliver local+anything@domain to local@domain's mailbox "
        "(Postfix: recipient_delimiter = +; Dovecot LMTP: lmtp_save_to_detail_mailbox = no; "
        "hosted mail: look for 'subaddressing' or 'plus addressing'), and into the folder "
        "imap.folder names."
    ),
}


# What to change when expunged mail lives on, by provider preset.
KEEP_ADVICE = {
    "microsoft365": (
        "Exchange Online: a retention tag that empties that folder after a day; and it keeps "
        "expunged mail in Recoverable Items as well (out of IMAP's sight; 14 days by default): "
        "Set-Mailbox -RetainDeletedItemsFor to the shortest your policy allows, no holds."
    ),
    "google": (
        "Gmail settings → Forwarding and POP/IMAP: 'When a message is marked as deleted and "
        "expunged from the last visible IMAP folder' → 'Immediately delete the message "
        "forever'; and Settings → Labels: untick 'Show in IMAP' for All Mail, else the inbox "
        "is never the last visible folder (an admin can set it: Gmail API ImapSettings, "
        "expungeBehavior = deleteForever)."
    ),
    "generic": (
        "The server keeps expunged mail (Dovecot: the lazy_expunge plugin; other servers: "
        "'move deleted messages to Trash'): turn that off for this mailbox, or have that "
        "folder emptied at least as often as privacy.partner_mail_days."
    ),
}
KEEP_ADVICE["gmail"] = KEEP_ADVICE["google"]


def kept_after_expunge(
    holding: dict[str, frozenset[str]], filed_by_us: frozenset[str] = frozenset()
) -> list[str]:
    """The folders still holding an expunged message, but for a Sent folder's copy and the
    program's own folders (a daemon running meanwhile may have filed it there first)."""
    return sorted(
        name for name, uses in holding.items() if "\\sent" not in uses and name not in filed_by_us
    )


@dataclass
class SelfTest:
    """What the self-test saw: `lines` for the person, `problems` (empty: all good)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def describe_caps(kind: str, offered: Iterable[str], wanted: Iterable[str]) -> str:
    """One line: which of the capabilities mailbot uses the server offers, and its SASL list."""
    caps = {c.upper() for c in offered}
    have = [c for c in wanted if c in caps]
    missing = [c for c in wanted if c not in caps]
    sasl = sorted(c.split("=", 1)[1] for c in caps if c.startswith("AUTH="))
    text = f"{kind}: {' '.join(have) or 'none of ' + ' '.join(wanted)}"
    if missing:
        text += f" (not offered: {' '.join(missing)})"
    if sasl:
        text += f"; SASL: {' '.join(sasl)}"
    return text


def is_test_mail(raw_headers: bytes, message_id: str) -> bool:
    """The header block is our test mail's (its Message-ID)."""
    head = BytesHeaderParser().parsebytes(raw_headers)
    return (head.get("Message-ID") or "").strip().strip("<>") == message_id


async def self_test(
    deps: Deps,
    now: datetime,
    *,
    wait_seconds: float = 60.0,
    poll_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SelfTest:
    """Log in to both servers, report their capabilities, send the tagged test mail and find
    it in the watched folder within `wait_seconds`, then remove it."""
    s = deps.settings
    out = SelfTest()
    if s.program.transport != "imap":
        out.lines.append("self-test: transport is not imap; nothing to send or watch")
        return out
    nonce = secrets.token_hex(6)
    address = tag_address(s.program.address, Route.REPLY, f"selftest{nonce}", s.program.secret)
    _, domain = split_address(s.program.address)
    message_id = message_id_for(f"selftest:{nonce}", domain, s.program.secret)
    box = deps.mailbox()
    sender = deps.sender()
    try:
        await box.connect()
        imap_caps = box.capabilities()
        out.lines.append(describe_caps(f"imap {s.imap.host}:{s.imap.port}", imap_caps, IMAP_CAPS))
        before = await box.new_uids(0)
        start = max(before, default=0)
        offered = await sender.capabilities()
        out.lines.append(describe_caps(f"smtp {s.smtp.host}:{s.smtp.port}", offered, SMTP_CAPS))
        env = Envelope(
            program_name=s.program.name,
            program_address=s.program.address,
            to=(("", address),),
            cc=(),
            reply_to="",
            message_id=message_id,
            key=f"selftest:{nonce}",
        )
        text = "mailbot check-config --self-test: this message is removed when it arrives.\n"
        msg = build_message(env, f"mailbot self-test {nonce}", text, None, now)
        t0 = clock()
        sent = await sender.prepare(msg, envelope_from=s.program.address, recipients=[address])
        result = sent if isinstance(sent, SendResult) else await sent.finish()
        if not result.ok:
            out.problems.append(f"self-test mail to {address} refused: {result.detail}")
            return out
        deadline = t0 + wait_seconds
        uid = await _wait_for(box, start, message_id, clock, sleep, deadline, poll_seconds)
        if uid is None:
            advice = PLUS_ADVICE.get(s.provider, PLUS_ADVICE["generic"])
            out.problems.append(
                f"the self-test mail to {address} did not arrive in {s.imap.folder} within "
                f"{wait_seconds:.0f} s: replies, pair activity and bounces would be lost. {advice}"
            )
            return out
        await box.expunge([uid])
        out.lines.append(
            f"self-test: mail to {address} arrived in {s.imap.folder} after "
            f"{clock() - t0:.1f} s; removed"
        )
        own = frozenset(s.program_folders)
        holding = await box.folders_holding(message_id)
        kept = kept_after_expunge(holding, own)
        filed = sorted(own & holding.keys())
        if filed:
            out.lines.append(
                f"self-test: a running daemon filed it in {', '.join(filed)} first (removed "
                "there by the retention pass)"
            )
        if kept:
            advice = KEEP_ADVICE.get(s.provider, KEEP_ADVICE["generic"])
            out.problems.append(
                f"the self-test mail, expunged from {s.imap.folder}, is still in "
                f"{', '.join(kept)}: this account keeps expunged mail, so partners' mail the "
                f"program removes would be kept there too. {advice}"
            )
        else:
            out.lines.append("self-test: once expunged, no folder of the account holds it")
        if s.provider == "microsoft365":  # what IMAP cannot see: said every time
            out.lines.append(
                "self-test: Exchange Online keeps expunged mail in Recoverable Items, which "
                "IMAP cannot see (14 days by default; Set-Mailbox -RetainDeletedItemsFor)"
            )
        return out
    finally:
        await sender.close()
        await box.close()


async def _wait_for(
    box: Mailbox,
    start: int,
    message_id: str,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    deadline: float,
    poll_seconds: float,
) -> int | None:
    """The test mail's UID once it is in the folder; None by the deadline."""
    seen = start
    while True:
        uids = await box.new_uids(seen)
        for head in await box.fetch_headers(uids):
            if is_test_mail(head.raw, message_id):
                return head.uid
        seen = max(uids, default=seen)
        if clock() >= deadline:
            return None
        await sleep(poll_seconds)
