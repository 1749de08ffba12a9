"""The shapes the flows need from a mailbox and a sender, met by IMAP/SMTP and by Maildir.

The flows depend on these protocols only, so the demo can run on a local Maildir and the
daemon on real servers with the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol

from mailbot.domain.model import WireMessage
from mailbot.edges.imap import Fetched
from mailbot.edges.smtp import SendResult

__all__ = ["Fetched", "Mailbox", "SendResult", "Sender"]


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
