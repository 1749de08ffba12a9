"""`check-config --connect --self-test`: what the servers offer, and whether a signed
plus-address of the program really reaches the watched folder.

Every reply route of mailbot is a plus-address of the program (`program+p-…@`, `+r-`, `+b-`,
`domain.tokens`). Some providers drop such mail, bounce it, or deliver it elsewhere; then pairs'
activity, replies and bounces would vanish without a word. So the self-test sends one mail, From
the program To a signed `+r-selftest…` address of it, waits for it in the watched folder (found
by its Message-ID among the UIDs new since the send) and expunges it. A daemon running at the
same time reads it as our own mail and answers nothing.

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
        caps = getattr(box, "capabilities", None)
        if caps is not None:
            out.lines.append(describe_caps(f"imap {s.imap.host}:{s.imap.port}", caps(), IMAP_CAPS))
        before = await box.new_uids(0)
        start = max(before, default=0)
        login = getattr(sender, "capabilities", None)
        if login is not None:
            offered = await login()
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
