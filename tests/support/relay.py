"""An aiosmtpd handler for tests that talk SMTP to a relay in their own event loop."""

from __future__ import annotations

from typing import Any

from aiosmtpd.smtp import Envelope, Session


class Recorder:
    """aiosmtpd handler: scripted replies per recipient / for DATA, records what it accepted."""

    def __init__(self, rcpt_replies: dict[str, str] | None = None, data_reply: str = "") -> None:
        self.rcpt_replies = rcpt_replies or {}
        self.data_reply = data_reply
        self.accepted: list[Envelope] = []
        self.peers: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.peers.append(session.peer)
        self.accepted.append(envelope)
        return "250 2.0.0 queued"
