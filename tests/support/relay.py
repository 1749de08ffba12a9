"""aiosmtpd handlers for tests that talk SMTP to a relay in their own event loop: one that
records what it accepted, and one that enforces a provider's sending limits by a simulated
clock (throttling per minute, a daily quota)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from aiosmtpd.smtp import SMTP as AiosmtpdServer
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


class Clock:
    """A simulated clock shared by a test (or benchmark), the relay and mailbot's `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CappedRelay(Recorder):
    """A relay that enforces a provider's limits by `clock`, as Exchange or Gmail do.

    At most `per_minute` recipients in any 60 seconds and `per_day` in any 24 hours (sliding
    windows of what it accepted); over a limit it answers `minute_reply` or `day_reply` at
    `stage` ("mail", "rcpt" or "data"), and records each refusal in `refusals`. `sent` holds
    (when, recipients) of every accepted message, by the relay's own clock.
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        per_minute: int | None = None,
        per_day: int | None = None,
        stage: str = "rcpt",
        minute_reply: str = "450 4.7.0 Too many messages in a minute, rate limited",
        day_reply: str = "550 5.4.5 Daily user sending quota exceeded.",
    ) -> None:
        super().__init__()
        if stage not in ("mail", "rcpt", "data"):
            raise ValueError(f"stage {stage!r}")
        self.clock, self.per_minute, self.per_day, self.stage = clock, per_minute, per_day, stage
        self.minute_reply, self.day_reply = minute_reply, day_reply
        self.sent: list[tuple[datetime, int]] = []
        self.refusals: list[tuple[datetime, str]] = []

    def _over(self, more: int) -> str:
        """The refusal due if `more` recipients went now, else ""."""
        now = self.clock()
        for span, cap, reply in (
            (timedelta(days=1), self.per_day, self.day_reply),
            (timedelta(minutes=1), self.per_minute, self.minute_reply),
        ):
            if cap is not None and sum(n for t, n in self.sent if now - span < t) + more > cap:
                self.refusals.append((now, reply))
                return reply
        return ""

    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.stage == "mail" and (refusal := self._over(1)):
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.stage == "rcpt" and (refusal := self._over(len(envelope.rcpt_tos) + 1)):
            return refusal
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.stage == "data" and (refusal := self._over(len(envelope.rcpt_tos))):
            return refusal
        self.sent.append((self.clock(), len(envelope.rcpt_tos)))
        return await super().handle_DATA(server, session, envelope)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(handler: Any) -> AsyncIterator[int]:
    """An aiosmtpd relay with `handler` on a free loopback port, in the running event loop."""
    port = free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: AiosmtpdServer(handler, hostname="relay.test"), "127.0.0.1", port
    )
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()
