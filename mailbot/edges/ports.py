"""The shapes the flows need from a mailbox and a sender, met by IMAP/SMTP and by Maildir.

The flows depend on these protocols (and the value types they pass) only, so the demo
can run on a local Maildir and the daemon on real servers with the same code.

A send has two phases so that the flows can bound what a crash leaves unknown: `prepare`
hands nothing of the message over (connect, MAIL FROM, RCPT TO: the refusals are known), and
`Prepared.finish` sends the data and its final dot, after which the relay may have taken it.
A connection lost between the two costs nothing: RFC 5321 (§3.3, §4.1.1.4) has the relay
discard a transaction whose data did not end with the final dot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from typing import Protocol

from mailbot.domain.model import WireMessage

__all__ = ["Fetched", "Mailbox", "Prepared", "SendResult", "Sender"]


@dataclass(frozen=True)
class Fetched:
    uid: int
    size: int
    raw: bytes
    truncated: bool  # size > max_message_bytes: raw holds only the header block
    # Only the header block was asked for (`Mailbox.fetch_headers`): the body was never read.
    headers_only: bool = False


@dataclass(frozen=True)
class SendResult:
    ok: bool  # the relay accepted the message for at least one recipient
    permanent: bool  # meaningful when not ok: retrying the same message will not help
    code: int | None  # the SMTP reply code that decided it (None: no reply, e.g. connection)
    detail: str
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> "550 5.1.1 ..."
    # The relay refused us (unreachable, TLS, login, sender, relaying), not this message:
    # transient, and the next message would fare no better now.
    blocked: bool = False
    # The connection failed after the message data began to go out: the relay may have taken
    # it. Not to be sent again as if it had not (the flows mark the row uncertain).
    uncertain: bool = False


class Mailbox(Protocol):
    async def connect(self) -> None: ...
    def capabilities(self) -> frozenset[str]:
        """What the server said it can do after login (empty before `connect`, or without a
        server)."""
        ...

    async def close(self) -> None: ...
    async def uidvalidity(self) -> int: ...
    async def new_uids(self, after_uid: int) -> list[int]: ...
    async def fetch_headers(self, uids: Sequence[int]) -> list[Fetched]:
        """The header blocks (and whole sizes) of these UIDs, bodies never read; missing UIDs
        are skipped. IMAP: `UID FETCH (UID RFC822.SIZE BODY.PEEK[HEADER])`."""
        ...

    async def fetch(
        self, uids: Sequence[int], sizes: Mapping[int, int] | None = None
    ) -> list[Fetched]:
        """The whole messages (truncated to their headers above the size limit); `sizes`, when
        `fetch_headers` already gave them, saves asking again."""
        ...

    async def move(self, uids: Sequence[int], folder: str) -> None: ...
    async def expunge(self, uids: Sequence[int]) -> None:
        """Remove these UIDs from this mailbox's folder for good (UIDs already gone: ignored)."""
        ...

    async def find_address(self, address: str) -> list[int]:
        """UIDs in this mailbox's folder whose From, To or Cc may name `address` (IMAP SEARCH
        matches substrings: the caller checks the header fields before removing anything)."""
        ...

    async def folders_holding(self, message_id: str) -> dict[str, frozenset[str]]:
        """Every folder of the account (not only this mailbox's) holding a message with this
        Message-ID (without <>), with its special-use attributes in lower case ("\\trash",
        "\\all", "\\sent"): where mail this mailbox expunged may live on."""
        ...

    async def has_folder(self, name: str) -> bool:
        """Whether the account has a folder `name` that can hold messages (IMAP: `LIST ""
        <name>`, answered without \\Noselect)."""
        ...

    async def delete_folder(self, name: str) -> None:
        """Delete the folder `name` of the account with whatever it holds (IMAP DELETE; not
        this mailbox's own folder, nor INBOX); a folder already gone is no error."""
        ...

    async def wait_for_new(self, timeout: float) -> bool: ...
    async def delete_older_than(self, before: date) -> int:
        """Expunge the messages of this mailbox's folder received (IMAP internal date) before
        the day `before`; returns how many were removed."""
        ...


class Prepared(Protocol):
    """A transaction the relay has agreed to (at least one recipient accepted); no data sent."""

    async def finish(self) -> SendResult:
        """Send the message and its final dot, and wait for the relay's verdict. Never raises
        for what the server or the network does (a connection lost from here on: `uncertain`)."""
        ...

    def abort(self) -> None:
        """Give the transaction up without sending anything (a no-op once finished)."""
        ...


class Sender(Protocol):
    async def prepare(
        self, message: EmailMessage | WireMessage, *, envelope_from: str, recipients: Sequence[str]
    ) -> SendResult | Prepared:
        """Open a transaction for `message`: a `SendResult` when it is settled before any data
        (refused, blocked, failed: nothing handed over), else the `Prepared` transaction."""
        ...

    async def capabilities(self) -> list[str]:
        """Log in now; the EHLO keywords the server offers, `AUTH=<mech>` for each SASL
        mechanism (empty without a server)."""
        ...

    async def close(self) -> None: ...
