"""The outbox: queue mail in the caller's transaction, deliver what is due, never a key twice.

A row moves pending → sending (committed before SMTP) → sent | failed. A transient failure
(4xx, the relay down) puts it back to pending with a doubling backoff capped at 6 hours, until
`smtp.give_up_after_days` after its first attempt (RFC 5321 §4.5.4.1: 4–5 days): a relay
outage of hours or a day delays mail, it does not lose it. When the relay refuses *us* (down,
login, sender or client host refused: `SendResult.blocked`), the pass stops at that row
instead of failing or deferring every row in the queue one by one. Recipients refused at
RCPT are settled by `flows.refusals`: 5xx is scored as a bounce, 4xx gets a row of its own.

A row found in `sending` when delivery starts belongs to a run that died mid-send: it becomes
`uncertain` and is resent once, with the same Message-ID (`flows.outbox_recovery`).

Each run keeps to the provider's sending caps, answers before bulk mail, and stops for a
throttling or quota refusal without blaming the recipient (`flows.send_window`).

The one extra copy per crash holds with `smtp.connections` sending at once because a send has
two phases (edges/ports.py): every connection prepares its transaction (MAIL FROM, RCPT TO)
on its own, but only one at a time finishes it — the data, the final dot, the relay's reply —
and records the row `sent`, under one gate. Rows killed while waiting for the gate sent no
final dot, so the relay discarded them (RFC 5321): a crash leaves at most one row that reached
the relay without being recorded.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Update, bindparam, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.model import Outgoing, Route
from mailbot.edges.ports import SendResult
from mailbot.edges.render import TemplateMissing
from mailbot.edges.tables import Outbox
from mailbot.flows import refusals, send_window
from mailbot.flows.outbox_recovery import (
    recover_interrupted,
    requeue_uncertain,
    resend,
    resend_at,
    uncertain,
)
from mailbot.mail.build import Envelope, build_message

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Sender

__all__ = [
    "DeliverReport",
    "deliver",
    "enqueue",
    "enqueue_rows",
    "outbox_row",
    "recover_interrupted",
    "render_row",
    "requeue_uncertain",
    "resend",
    "uncertain",
]

log = logging.getLogger("mailbot.outbox")
# Status updates go through the table (Core): the ORM's UPDATE path, which would also sync
# loaded objects, was a fifth of the time spent per message sent.
_OUTBOX = Outbox.metadata.tables[Outbox.__tablename__]
# Built once too (building and keying a statement cost more than running it), one per row sent:
_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.status == "pending")
    .values(
        status="sending",
        attempts=_OUTBOX.c.attempts + 1,
        first_attempt_at=bindparam("first", type_=_OUTBOX.c.first_attempt_at.type),
    )
)
_SET = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))  # SET: the values given


def enqueue(
    session: Session,
    deps: Deps,
    out: Outgoing,
    now: datetime,
    *,
    automatic_answer: bool = False,
) -> bool:
    """Add `out` to the outbox unless its key is already there. Returns True when added.

    One statement that both checks and inserts (INSERT ... ON CONFLICT (key) DO NOTHING), sent
    at once and outside the unit of work: no look-up before it, no ORM object to flush later
    (intake's answers made every next query flush the one before), and a savepoint rolled back
    takes the row with it like any other write. No one reads the row again in this transaction
    but by a query, which finds it in the database."""
    values = outbox_row(deps, out, now, automatic_answer=automatic_answer)
    conn = session.connection()
    # The new row's id, or none when the key was there (rowcount is not reliable across
    # drivers with ON CONFLICT: psycopg reports -1).
    return conn.execute(_INSERT_NEW[conn.dialect.name], values).scalar() is not None


def enqueue_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add these `outbox_row`s, each unless its key is there (the same rule as `enqueue`), in
    one executemany: intake's answers to a chunk, held by its buffer (flows.metadata_buffer)."""
    conn = session.connection()
    conn.execute(_INSERT_EACH[conn.dialect.name], rows)


def outbox_row(
    deps: Deps, out: Outgoing, now: datetime, *, automatic_answer: bool = False
) -> dict[str, Any]:
    """The outbox row that queues `out`: its key, the Message-ID derived from it, pending."""
    settings = deps.settings
    return {
        "key": out.key,
        "key_digest": tokens.key_digest(out.key),
        "message_id": tokens.message_id_for(
            out.key, settings.program_domain, settings.program.secret
        ),
        "primary_to": out.to[0].lower(),
        "to": [a.lower() for a in out.to],
        "cc": [a.lower() for a in out.cc],
        "template": out.template,
        "language": out.language,
        "context": out.context,
        "reply_to": out.reply_to,
        "in_reply_to": out.in_reply_to,
        "bulk": out.bulk,
        "recipients": len(out.to) + len(out.cc),
        "automatic_answer": automatic_answer,
        "status": "pending",
        "next_attempt_at": out.not_before or now,
        "created_at": now,
    }


# Built once per dialect (hot: every answer and letter); the two databases mailbot runs on
# spell "unless the key is there" alike.
_INSERT_EACH = {
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["key"]),
    "postgresql": postgresql_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["key"]),
}
_INSERT_NEW = {name: stmt.returning(_OUTBOX.c.id) for name, stmt in _INSERT_EACH.items()}


@dataclass
class DeliverReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    resent: int = 0  # uncertain rows queued again automatically (sent in this same pass)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""  # why the pass ended before the queue did ("" = it did not)
    throttled: int = 0  # rows put back untouched: the provider limited us (flows.send_window)
    held_until: datetime | None = None  # due mail left for the caps or a pause, until then


def _ids(row: Outbox) -> dict[str, Any]:
    """The structured fields of a delivery log line (`edges.logformat`)."""
    return {"fields": {"outbox_key": row.key, "message_id": row.message_id}}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


def gives_up(first_attempt_at: datetime | None, now: datetime, days: float) -> bool:
    """Whether a row first tried at `first_attempt_at` has been retried long enough."""
    return now - (first_attempt_at or now) >= timedelta(days=days)


def _names(context: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): str(v) for k, v in context.get("names", {}).items()}


def _attachment(a: dict[str, str]) -> tuple[str, str, str | bytes, str]:
    data: str | bytes = base64.b64decode(a["base64"]) if "base64" in a else a["text"]
    return a["filename"], a["content_type"], data, a.get("cid", "")


def render_row(deps: Deps, row: Outbox, now: datetime) -> tuple[Any, str]:
    """The EmailMessage for an outbox row and its envelope sender."""
    settings = deps.settings
    rendered = deps.renderer.render(row.template, row.language, dict(row.context))
    names = _names(row.context)
    program = settings.program.address
    env = Envelope(
        program_name=settings.program.name,
        program_address=program,
        to=tuple((names.get(a, ""), a) for a in row.to),
        cc=tuple((names.get(a, ""), a) for a in row.cc),
        reply_to=row.reply_to,
        message_id=row.message_id,
        in_reply_to=row.in_reply_to,
        key=row.key,
        unsubscribe=tokens.tag_address(
            program, Route.REPLY, f"u{row.context.get('person_id', 0)}", settings.program.secret
        )
        if row.bulk
        else "",
        attachments=tuple(_attachment(a) for a in row.context.get("_attachments", [])),
    )
    message = build_message(env, rendered.subject, rendered.text, rendered.html, now)
    bounce_to = tokens.tag_address(program, Route.BOUNCE, row.key_digest, settings.program.secret)
    return message, bounce_to


async def deliver(
    deps: Deps, now: datetime, *, limit: int | None = None, recover: bool = True
) -> DeliverReport:
    """Send every due outbox row once, over `smtp.connections` reused connections at once.

    Each row is claimed in its own transaction just before it is sent, and the connections
    finish their sends and record them one at a time (`gate`), so a crash leaves at most one
    row `uncertain` that the relay took (and one per connection that it did not). `recover`
    marks rows a dead run left in `sending` as uncertain; only a caller that holds the
    single-instance lock and has no delivery of its own in flight may ask for it.
    """
    report = DeliverReport(uncertain=recover_interrupted(deps, now) if recover else 0)
    report.resent = requeue_uncertain(deps, now)
    window = send_window.open_window(deps, now)  # the caps and any pause: read once
    if window.room == 0:
        report.held_until = window.opens_at()
        return report
    batch = limit or deps.settings.smtp.batch_size
    senders = [deps.sender() for _ in range(deps.settings.smtp.connections)]
    gate = asyncio.Lock()

    async def work(sender: Sender, rows: deque[Outbox], conn: Connection) -> None:
        while rows and not report.stopped and report.held_until is None:
            if not window.take(rows[0].recipients):  # the caps: the rest waits, in order
                report.held_until = window.opens_at()
                return
            await _deliver_one(deps, sender, conn, rows.popleft(), now, report, gate)

    # One connection for every row's claim and settlement, each still its own transaction
    # (no await inside one, so the connections' tasks never share one): a pool checkout and
    # return, and on PostgreSQL a pre-ping, per statement cost more than the statement.
    conn: Connection | None = None
    try:
        conn = deps.db.engine.connect()
        while True:
            with deps.db.transaction() as s:  # answers first: domain.send_caps.order_key
                due = deque(s.scalars(send_window.due_rows(now, batch)))
            if not due:
                break
            # The connections take the rows in outbox order; the SMTP round trips overlap.
            try:
                async with asyncio.TaskGroup() as group:  # one failing cancels the others
                    for sender in senders:
                        group.create_task(work(sender, due, conn))
            except ExceptionGroup as failed:
                raise failed.exceptions[0] from None
            if limit is not None or report.stopped or report.held_until is not None:
                break
    finally:
        for sender in senders:
            await sender.close()
        if conn is not None:
            conn.close()
    return report


async def _deliver_one(
    deps: Deps,
    sender: Sender,
    conn: Connection,
    row: Outbox,
    now: datetime,
    report: DeliverReport,
    gate: asyncio.Lock,
) -> None:
    try:
        message, bounce_to = render_row(deps, row, now)
    except (TemplateMissing, Exception) as exc:  # a template bug must not block the queue
        # Retried with backoff (a fixed template or config lets it go out), failed at the end.
        attempts = row.attempts + 1
        first = row.first_attempt_at or now
        final = gives_up(first, now, deps.settings.smtp.give_up_after_days)
        with deps.db.transaction() as s:
            s.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == row.id)
                .values(
                    status="failed" if final else "pending",
                    attempts=attempts,
                    first_attempt_at=first,
                    next_attempt_at=now + backoff(attempts),
                    last_error=f"render: {type(exc).__name__}: {exc}"[:2000],
                )
            )
        report.failed += final
        report.retried += not final
        report.errors.append(f"{row.key}: {exc}")
        log.error("outbox render failed key=%s error=%s", row.key, exc)
        return
    if not _write(conn, _CLAIM, {"row_id": row.id, "first": row.first_attempt_at or now}):
        return
    try:
        prepared = await sender.prepare(
            message, envelope_from=bounce_to, recipients=[*row.to, *row.cc]
        )
    except Exception as exc:  # a sender bug must not strand the row in `sending`
        _send_raised(deps, row, exc, report, now)
        return
    if isinstance(prepared, SendResult):  # settled before any data: the relay took nothing
        _settle(deps, conn, row, prepared, now, report)
        return
    try:
        async with gate:  # from the final dot to the row recorded, one connection at a time
            try:
                result = await prepared.finish()
            except Exception as exc:
                _send_raised(deps, row, exc, report, now)
                return
            _settle(deps, conn, row, result, now, report)
    finally:
        prepared.abort()  # a no-op once finished; cancelled at the gate: nothing was sent


def _write(conn: Connection, statement: Update, values: dict[str, Any]) -> int:
    """Run one UPDATE in a transaction of its own on the pass's connection; the rows it
    matched. A connection found dead (a server restart between two rows) is replaced and the
    statement run once more, as the pool's pre-ping did at each checkout: both statements
    can run twice (the claim matches only a pending row, the settlement sets fixed values)."""
    try:
        with conn.begin():
            return conn.execute(statement, values).rowcount
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with conn.begin():  # an invalidated connection reconnects on its next use
        return conn.execute(statement, values).rowcount


def _settle(
    deps: Deps,
    conn: Connection,
    row: Outbox,
    result: SendResult,
    now: datetime,
    report: DeliverReport,
) -> None:
    """Record what the relay said about `row` (claimed `sending`): sent, retried, failed."""
    throttle = send_window.throttle_of(result)
    if throttle is not None and not result.ok:  # put back untouched, due when the pause ends
        with deps.db.transaction() as s:
            send_window.hold_back(s, row, throttle, now)
        report.throttled += 1
        report.stopped = f"throttled: {throttle[1]}"
        log.warning("send throttled key=%s reply=%s", row.key, throttle[1], extra=_ids(row))
        return
    recipients = {*row.to, *row.cc}
    # Recipients refused because the provider limits us are nobody's fault: sent again later.
    held = send_window.held_recipients(result.refused)
    permanent, transient = refusals.split(
        {a: e for a, e in result.refused.items() if a not in held}
    )
    transient = {**transient, **held}
    # 4xx-refused recipients get a row of their own when the rest is settled: the others
    # took the mail, or were refused it for good.
    again = transient if result.ok or (permanent and recipients <= set(result.refused)) else {}
    retry_at = now + max(backoff(1), throttle[0] if throttle else timedelta(0))
    if not permanent and throttle is None and not again:
        # Only the row's status changes: a Core statement, no ORM session to build.
        _write(conn, _SET, {"row_id": row.id, **_outcome(deps, row, result, now, report)})
    else:
        with deps.db.transaction() as s:
            refusals.record_bounces(s, deps, row, permanent, now)
            if throttle is not None:
                send_window.pause(s, now + throttle[0], throttle[1], now)
            note = ""
            if again:
                out = refusals.retry(row, again, retry_at)
                while not enqueue(s, deps, out, now):  # taken before (a resend by hand)
                    out = dataclasses.replace(out, key=refusals.retry_key(out.key))
                note = f"; {', '.join(again)} again as {out.key}"
            values = _outcome(deps, row, result, now, report, bool(again), note)
            s.execute(_SET, {"row_id": row.id, **values})
    if result.blocked:  # the relay refuses us, not this mail: the next would fare alike
        report.stopped = result.detail or "the relay refused us"
    elif throttle is not None:
        report.stopped = f"throttled: {throttle[1]}"


def _outcome(
    deps: Deps,
    row: Outbox,
    result: SendResult,
    now: datetime,
    report: DeliverReport,
    split: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """The row's new status from the relay's answer, counted and logged; `split`: refused
    recipients were given a row of their own (`note` says which), so this one is settled."""
    attempts = row.attempts + 1
    if result.uncertain:  # as after a crash mid-send: once more after the grace
        report.uncertain += 1
        log.warning("send uncertain key=%s detail=%s", row.key, result.detail, extra=_ids(row))
        return {
            "status": "uncertain",
            "next_attempt_at": resend_at(deps, now),
            "last_error": result.detail[:2000],
        }
    if result.ok:
        report.sent += 1
        log.info(
            "sent key=%s to=%s template=%s", row.key, row.primary_to, row.template, extra=_ids(row)
        )
        error = f"refused: {result.refused}{note}"[:2000] if result.refused else ""
        return {"status": "sent", "sent_at": now, "last_error": error}
    if (
        result.permanent
        or split
        or gives_up(row.first_attempt_at, now, deps.settings.smtp.give_up_after_days)
    ):
        report.failed += 1
        log.warning("send failed key=%s detail=%s", row.key, result.detail, extra=_ids(row))
        return {"status": "failed", "last_error": f"{result.detail}{note}"[:2000]}
    report.retried += 1
    log.info("send deferred key=%s detail=%s", row.key, result.detail, extra=_ids(row))
    return {
        "status": "pending",
        "next_attempt_at": now + backoff(attempts),
        "last_error": result.detail[:2000],
    }


def _send_raised(
    deps: Deps, row: Outbox, exc: Exception, report: DeliverReport, now: datetime
) -> None:
    """A sender reports every failure before the message was handed over as a result (the
    SMTP edge catches anything raised while connecting, greeting, STARTTLS or AUTH). An
    exception means it may have gone, so the row is uncertain, as after a crash mid-send —
    not back to pending at once — and the pass stops rather than risk the next rows."""
    error = f"send raised {type(exc).__name__}: {exc}"
    with deps.db.transaction() as s:
        s.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == row.id)
            .values(
                status="uncertain", next_attempt_at=resend_at(deps, now), last_error=error[:2000]
            )
        )
    report.uncertain += 1
    report.errors.append(f"{row.key}: {error}")
    report.stopped = error
    log.error("send raised key=%s", row.key, exc_info=exc)
