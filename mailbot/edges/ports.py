"""The shapes the flows need from a mailbox and a sender, met by IMAP/SMTP and by Maildir.

The flows depend on these protocols (and the two value types they pass) only, so the demo
can run on a local Maildir and the daemon on real servers with the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from mailbot.domain.model import WireMessage

__all__ = ["Fetched", "Mailbox", "SendResult", "Sender"]


@dataclass(frozen=True)
class Fetched:
    uid: int
    size: int
    raw: bytes
    truncated: bool  # size > max_message_bytes: raw holds only the header block


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
    # it. Never to be sent again automatically (the flows mark the row uncertain).
    uncertain: bool = False


class Mailbox(Protocol):
    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def uidvalidity(self) -> int: ...
    async def new_uids(self, after_uid: int) -> list[int]: ...
    async def fetch(self, uids: Sequence[int]) -> list[Fetched]: ...
    async def move(self, uids: Sequence[int], folder: str) -> None: ...
    async def wait_for_new(self, timeout: float) -> bool: ...


class Sender(Protocol):
    async def send(
        self, message: EmailMessage | WireMessage, *, envelope_from: str, recipients: Sequence[str]
    ) -> SendResult: ...
    async def close(self) -> None: ...
