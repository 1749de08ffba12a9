"""Keeping the outbox within the provider's sending caps, answers first, paused when refused.

`open_window` is read once per delivery run: the recipients the outbox itself recorded as sent
in the last day (one indexed query, grouped by `sent_at`, so a restart keeps the count) and any
pause a throttling or quota refusal started (`send_pause`, kept across a restart); from them
`domain.send_caps.allowance` says how many recipients may go now. The run then takes due rows
in `domain.send_caps.order_key` order — answers to people (confirmations, command answers,
coordinator mail) before bulk mail (topics, nudges) — while the allowance lasts.

A refusal that is the provider limiting *us* (`domain.send_caps.throttled`: 4.7.x, 421,
451 4.3.2, Gmail's 5.4.5 daily quota, Exchange's SubmissionQuotaExceeded), at MAIL FROM, at
RCPT for any recipient or after DATA, is `throttle_of` here: the outbox puts the row back
as it was (no attempt counted, no bounce scored, no retry window used) for when the pause ends,
and `pause` stops all sending until then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from mailbot.domain.send_caps import DAY, Caps, Sent, admits, allowance, drained_at, throttled
from mailbot.edges.ports import SendResult
from mailbot.edges.tables import Outbox, SendPause

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.settings import Settings

log = logging.getLogger("mailbot.outbox")
PAUSE = "smtp"  # the send_pause row of the one sender

_OUTBOX = Outbox.metadata.tables[Outbox.__tablename__]
# Built once: one query per delivery run, on ix_outbox_sent_at.
_SENT_SINCE = (
    select(Outbox.sent_at, func.sum(Outbox.recipients))
    .where(Outbox.sent_at > bindparam("since", type_=Outbox.sent_at.type))
    .group_by(Outbox.sent_at)
)
_WAITING = select(func.count(), func.coalesce(func.sum(Outbox.recipients), 0)).where(
    Outbox.status == "pending", Outbox.next_attempt_at <= bindparam("now")
)


def caps_of(settings: Settings) -> Caps:
    s = settings.smtp
    return Caps(s.max_per_minute or None, s.max_per_hour or None, s.max_per_day or None)


def due_rows(now: datetime, batch: int) -> Select[Any]:
    """Due rows in `order_key` order (bulk false first, then outbox order)."""
    return (
        select(Outbox)
        .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.bulk, Outbox.id)
        .limit(batch)
    )


@dataclass
class Window:
    """What one delivery run may still send: `room` recipients (None: uncapped)."""

    caps: Caps
    now: datetime
    sent: list[Sent]  # the last day's sends, as read when the run began
    room: int | None
    paused_until: datetime | None
    reason: str = ""  # why the pause
    used: int = 0  # recipients taken by this run

    def take(self, recipients: int) -> bool:
        """Spend room on a row of `recipients`; False when it must wait for the window."""
        if not admits(self.caps, self.room, recipients):
            return False
        if self.room is not None:
            self.room = max(self.room - recipients, 0)
        self.used += recipients
        return True

    def opens_at(self) -> datetime:
        """When more may go, counting what this run took."""
        sent = [*self.sent, Sent(self.now, self.used)] if self.used else self.sent
        return allowance(self.caps, sent, self.now, self.paused_until).next_at or self.now


def sent_since(session: Session, since: datetime) -> list[Sent]:
    return [Sent(at, int(n)) for at, n in session.execute(_SENT_SINCE, {"since": since}) if at]


def _pause(session: Session) -> SendPause | None:
    return session.get(SendPause, PAUSE)


def open_window(deps: Deps, now: datetime) -> Window:
    """The caps and pause as they stand at `now` (read once per delivery run)."""
    caps = caps_of(deps.settings)
    with deps.db.transaction() as s:
        pause = _pause(s)
        until = pause.until if pause is not None and pause.until > now else None
        reason = pause.reason if until is not None and pause is not None else ""
        sent = sent_since(s, now - DAY) if caps.windows() and until is None else []
    got = allowance(caps, sent, now, until)
    return Window(caps, now, sent, got.recipients, until, reason)


def throttle_of(result: SendResult) -> tuple[timedelta, str] | None:
    """(how long to pause, the refusal) when the relay is limiting us rather than refusing
    the message or a recipient: the reply itself, or any recipient's refusal at RCPT."""
    replies = [(_code(r), r) for r in result.refused.values()]  # the plainest text first
    replies += [(result.code, result.detail)] if not result.ok else []
    found = [(span, text) for code, text in replies if (span := throttled(code, _bare(text)))]
    return max(found, key=lambda f: f[0]) if found else None


def _code(reply: str) -> int | None:
    head = reply[:3]
    return int(head) if head.isdigit() else None


def _bare(detail: str) -> str:
    """The reply text without the edge's own prefix ("451 MAIL FROM: 4.7.0 …")."""
    return detail[4:] if detail[:3].isdigit() else detail


def pause(session: Session, until: datetime, reason: str, now: datetime) -> None:
    """Stop sending until `until` (never shortening a pause already running)."""
    row = _pause(session)
    if row is None:
        session.add(SendPause(name=PAUSE, until=until, since=now, reason=reason[:2000]))
    elif row.until <= now or until > row.until:
        if row.until <= now:  # a new pause, not a longer one
            row.since = now
        row.until, row.reason = until, reason[:2000]


@dataclass(frozen=True)
class Backlog:
    """Mail due and not sent yet, and when it will all have gone at the caps' pace."""

    messages: int
    recipients: int
    gone_by: datetime


def backlog(session: Session, settings: Settings, now: datetime) -> Backlog:
    messages, recipients = session.execute(_WAITING, {"now": now}).one()
    caps = caps_of(settings)
    pause_row = _pause(session)
    until = pause_row.until if pause_row is not None and pause_row.until > now else None
    sent = sent_since(session, now - DAY) if messages and caps.windows() else []
    gone = drained_at(caps, sent, int(recipients), now, until) if messages else now
    return Backlog(int(messages), int(recipients), gone)


def held_recipients(refused: dict[str, str]) -> dict[str, str]:
    """The recipients refused at RCPT because the provider limits us, not for themselves."""
    return {a: e for a, e in refused.items() if throttled(_code(e), _bare(e)) is not None}


def hold_back(
    session: Session, row: Outbox, throttle: tuple[timedelta, str], now: datetime
) -> None:
    """The provider limits us: `row` (claimed `sending`) back as it was before the claim — no
    attempt counted, its retry window untouched, nobody scored — due when the pause ends."""
    span, reply = throttle
    pause(session, now + span, reply, now)
    session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id == row.id)
        .values(
            status="pending",
            attempts=row.attempts,
            first_attempt_at=row.first_attempt_at,
            next_attempt_at=now + span,
            last_error=f"throttled, not sent: {reply}"[:2000],
        )
    )


def digest_backlog(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """The digest's line on mail waiting for the caps (`contexts.SendingBacklog`), shown in
    the coordinators' time zone."""
    waiting = backlog(session, settings, now)
    row = _pause(session)
    paused = row.until if row is not None and row.until > now else None

    def shown(at: datetime) -> str:
        return at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")

    return {
        "waiting": waiting.messages,
        "gone_by": shown(waiting.gone_by) if waiting.messages else "",
        "paused": shown(paused) if paused is not None else "",
    }
