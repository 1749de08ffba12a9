"""Inbound: fetch new mail, classify it, apply its effects, then file it — in that order.

A message is moved to Processed only after the transaction holding its inbound row, its
effects and its outbox rows has committed; a crash before the move means the next run finds
the row by (folder, UIDVALIDITY, UID) and only finishes the move. Anything that fails is
recorded as quarantined with the reason and moved to Quarantine: never dropped.

A fetch batch is handled in one transaction, all together; only when something in it fails
is it rolled back and handled again one message at a time, so that only the failing message
is quarantined (`_handle_chunk`). A failure of the database itself (locked, gone) is no
message's fault: the transaction is rolled back, nothing is quarantined, and
`DatabaseUnavailable` stops the run with the batch still in the inbox for the next one.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from mailbot.domain.answers import Decision, SenderFacts, decide
from mailbot.domain.classify import ClassifyContext, classify
from mailbot.domain.model import Inbound, Kind, Route, Verdict
from mailbot.edges.db import describe, unavailable
from mailbot.edges.tables import (
    InboundRow,
    MailboxState,
    Outbox,
    PairMember,
    Person,
)
from mailbot.flows import coordination, effects, pairs, participants, round_jobs, rounds
from mailbot.flows.bouncing import record_bounce
from mailbot.flows.outbox import enqueue
from mailbot.mail.parse import parse_message

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Fetched, Mailbox

log = logging.getLogger("mailbot.intake")

_OUTBOX_BY_DIGEST = select(Outbox).where(Outbox.key_digest == bindparam("digest"))  # built once

PROCESSED = "processed"
QUARANTINED = "quarantined"


class DatabaseUnavailable(RuntimeError):
    """The database failed, not a message: the batch in hand stays in the inbox."""


def database_failure(error: BaseException) -> str | None:
    """What went wrong when `error` is the database's own failure (met by intake, a job or
    delivery), in the driver's words; None for any other error."""
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    return describe(error) if unavailable(error) else None


@dataclass
class IntakeReport:
    seen: int = 0
    processed: int = 0
    quarantined: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


# Committed messages moved out of the inbox per MOVE command (edges.imap moves at most 500 UIDs
# per command, which keeps a response's EXPUNGE lines under aioimaplib's limit).
FILE_EVERY = 500


def _source_key(folder: str, uidvalidity: int, uid: int) -> str:
    return f"{folder}:{uidvalidity}:{uid}"


def _dedupe_id(msg: Inbound) -> str:
    """What recognises another copy of a message: its Message-ID, hashed (a Message-ID can
    carry the sender's address, which DELETE MY DATA must not have to erase from it), or the
    hash of its bytes when it has none."""
    if msg.message_id:
        return "mid:" + hashlib.sha256(msg.message_id.lower().encode()).hexdigest()
    return f"sha256:{msg.raw_sha256}"


def _row_values(
    msg: Inbound,
    source_key: str,
    now: datetime,
    kind: str,
    reason: str,
    hits: list[str],
    state: str,
    person_id: int | None = None,
    pair_id: int | None = None,
) -> dict[str, Any]:
    return {
        "source_key": source_key,
        "dedupe_id": _dedupe_id(msg)[:300],
        "message_id": msg.message_id[:300],
        "from_addr": msg.from_addr[:320],
        "recipients": [*msg.to, *msg.cc][:50],  # addresses are metadata, always kept
        "sent_at": msg.date,
        "received_at": now,
        "size": msg.size,
        "kind": kind,
        "reason": reason[:4000],
        "hits": hits,
        "state": state,
        "person_id": person_id,
        "pair_id": pair_id,
    }


def _row(*args: Any, **kwargs: Any) -> InboundRow:
    return InboundRow(**_row_values(*args, **kwargs))


@dataclass
class Known:
    """What handling a chunk of messages needs from the database, read with five queries."""

    existing: dict[str, tuple[str, str]]  # source_key -> (state, kind) of a committed row
    seen: set[str]  # dedupe ids of processed messages
    persons: dict[str, Person]  # by email
    answers: Counter[str]  # automatic answers to an address in the last 24 h
    members: dict[tuple[int, int], PairMember]  # (person id, pair id) of the senders' pairs
    # Inbound rows of metadata-only messages, inserted together (None: one by one, as ORM rows)
    rows: list[dict[str, Any]] | None = None
    members_stale: bool = False  # a command ran: pairs may have changed since the load

    @classmethod
    def load(cls, session: Session, keys: list[str], msgs: list[Inbound], now: datetime) -> Known:
        existing = {
            k: (st, kd)
            for k, st, kd in session.execute(
                select(InboundRow.source_key, InboundRow.state, InboundRow.kind).where(
                    InboundRow.source_key.in_(keys)
                )
            )
        }
        ids = {_dedupe_id(m)[:300] for m in msgs}
        seen = set(
            session.scalars(
                select(InboundRow.dedupe_id).where(
                    InboundRow.dedupe_id.in_(ids), InboundRow.state == PROCESSED
                )
            )
        )
        senders = {m.from_addr for m in msgs if m.from_addr}
        persons = {
            p.email: p for p in session.scalars(select(Person).where(Person.email.in_(senders)))
        }
        answers: Counter[str] = Counter(
            {
                addr: n
                for addr, n in session.execute(
                    select(Outbox.primary_to, func.count(Outbox.id))
                    .where(
                        Outbox.primary_to.in_(senders),
                        Outbox.automatic_answer.is_(True),
                        Outbox.created_at >= now - timedelta(days=1),
                    )
                    .group_by(Outbox.primary_to)
                )
            }
        )
        ids_of = [p.id for p in persons.values()]
        members = {
            (m.person_id, m.pair_id): m
            for m in session.scalars(select(PairMember).where(PairMember.person_id.in_(ids_of)))
        }
        return cls(existing, seen, persons, answers, members)

    def count_activity(
        self, session: Session, person: Person, pair_ids: list[int], when: datetime
    ) -> int:
        """`person` wrote in these pairs at `when`: on the memberships loaded with the chunk,
        or, once a command may have changed pairs, on what the database says now."""
        if self.members_stale:
            return round_jobs.record_activity(session, person, pair_ids, when)
        mine = (self.members.get((person.id, p)) for p in pair_ids)
        return round_jobs.count_activity((m for m in mine if m is not None), when)

    def insert_rows(self, session: Session) -> None:
        """Write the buffered metadata-only rows (before anything may read or delete them)."""
        if self.rows:
            session.execute(insert(InboundRow.__table__), self.rows)
            self.rows.clear()


def handle(
    session: Session,
    deps: Deps,
    fetched: Fetched,
    source_key: str,
    now: datetime,
    msg: Inbound | None = None,
    known: Known | None = None,
) -> tuple[str, str]:
    """Record and act on one message inside `session`. Returns (state, kind)."""
    msg = msg or parse_message(fetched.raw)
    known = known or Known.load(session, [source_key], [msg], now)
    if source_key in known.existing:
        return known.existing[source_key]
    settings = deps.settings
    if fetched.truncated:
        reason = (
            f"message of {fetched.size} bytes exceeds program.max_message_bytes "
            f"({settings.program.max_message_bytes}); only its headers were read"
        )
        session.add(
            _row(msg, source_key, now, Kind.UNKNOWN.value, reason, ["oversized"], QUARANTINED)
        )
        return QUARANTINED, Kind.UNKNOWN.value
    dedupe = _dedupe_id(msg)[:300]
    person = known.persons.get(msg.from_addr) if msg.from_addr else None
    coordinators = frozenset(settings.program.coordinators)
    ctx = ClassifyContext(
        program_address=settings.program.address,
        secret=settings.program.secret,
        own_addresses=frozenset({settings.program.address}),
        coordinators=coordinators,
        already_seen=dedupe in known.seen,
        sender_known=person is not None or msg.from_addr in coordinators,
    )
    verdict = classify(msg, ctx)
    facts = SenderFacts(
        address=msg.from_addr,
        known=person is not None,
        is_coordinator=msg.from_addr in coordinators,
        auto_answers_today=known.answers[msg.from_addr],
    )
    decision = decide(verdict, facts, settings.program.max_auto_replies_per_day)
    if known.rows is not None and _metadata_only(decision, verdict, person):
        _record_metadata(session, msg, verdict, decision, person, source_key, known, now)
        return _done(msg, verdict, decision, source_key, dedupe, known, person)
    known.insert_rows(session)  # what follows may read or delete inbound rows
    row = _row(
        msg,
        source_key,
        now,
        verdict.kind.value,
        f"{verdict.reason} — {decision.note}",
        list(verdict.hits),
        PROCESSED,
        person.id if person else None,
    )
    session.add(row)
    session.flush()
    if decision.record_bounce:
        _record_bounces(session, deps, verdict, now)
    _mark_away(person, decision, now)
    filed_in = ""
    if decision.store_application and verdict.application and verdict.application.fields:
        person, filed_in = effects.store_application(session, deps, verdict.application.fields, now)
        row.person_id = person.id
    if decision.record_command and verdict.command is not None:
        known.members_stale = True
        cmd = effects.record_command(session, row, person, msg.from_addr, verdict.command, now)
        session.flush()
        if facts.is_coordinator:
            row.reason += " — " + coordination.act(session, deps, msg, verdict, cmd, now)
        elif person is not None:
            may_answer = facts.auto_answers_today < settings.program.max_auto_replies_per_day
            outcome = participants.act(session, deps, msg, verdict, cmd, person, now, may_answer)
            row.reason += " — " + outcome
            if person not in session:  # DELETE MY DATA removed them: forget them in this chunk
                known.persons.pop(msg.from_addr, None)
                person = None
            if may_answer:
                known.answers[msg.from_addr] += 1
    if decision.answer:
        out = effects.answer(
            session, deps, decision.answer, msg, verdict, person, row, now, filed_in
        )
        enqueue(session, deps, out, now, automatic_answer=True)
    if person is not None and verdict.kind in (Kind.REPLY, Kind.UNKNOWN):
        row.reason += _signals(session, msg, verdict, person, row, known, now)
    if known.rows is None:  # one by one: fail here, so `known` only learns what is kept
        session.flush()
    return _done(msg, verdict, decision, source_key, dedupe, known, person)


def _done(
    msg: Inbound,
    verdict: Verdict,
    decision: Decision,
    source_key: str,
    dedupe: str,
    known: Known,
    person: Person | None,
) -> tuple[str, str]:
    """What the rest of the chunk must know about a handled message; the log line."""
    known.seen.add(dedupe)
    known.existing[source_key] = (PROCESSED, verdict.kind.value)
    if person is not None:
        known.persons[person.email] = person
    if decision.answer:
        known.answers[msg.from_addr] += 1
    log.info(
        "inbound uid=%s kind=%s from=%s hits=%s note=%s",
        source_key,
        verdict.kind.value,
        msg.from_addr,
        ",".join(verdict.hits),
        decision.note,
    )
    return PROCESSED, verdict.kind.value


def _pair_ids(verdict: Verdict) -> list[int]:
    return [int(r.token) for r in verdict.routes if r.route is Route.PAIR and r.token.isdigit()]


def _activity_at(msg: Inbound, now: datetime) -> datetime:
    """The Date header when it is plausible (the last 30 days), else the time we read it."""
    sane = msg.date is not None and now - timedelta(days=30) <= msg.date <= now
    return msg.date if sane and msg.date is not None else now


def _metadata_only(decision: Decision, verdict: Verdict, person: Person | None) -> bool:
    """Nothing to do but record the message (and a pair's activity): no answer, no effects."""
    if (
        decision.answer
        or decision.store_application
        or decision.record_command
        or decision.record_bounce
    ):
        return False
    return (
        person is None or verdict.kind not in (Kind.REPLY, Kind.UNKNOWN) or bool(_pair_ids(verdict))
    )


def _record_metadata(
    session: Session,
    msg: Inbound,
    verdict: Verdict,
    decision: Decision,
    person: Person | None,
    source_key: str,
    known: Known,
    now: datetime,
) -> None:
    """The same record as `handle`'s, buffered in `known.rows`: one INSERT for many messages."""
    assert known.rows is not None
    reason = f"{verdict.reason} — {decision.note}"
    pair_id = None
    _mark_away(person, decision, now)
    if person is not None and verdict.kind in (Kind.REPLY, Kind.UNKNOWN):
        pair_ids = _pair_ids(verdict)  # not empty: see _metadata_only
        pair_id = pair_ids[0]
        reason += _activity_note(session, msg, person, pair_ids, known, now)
    known.rows.append(
        _row_values(
            msg,
            source_key,
            now,
            verdict.kind.value,
            reason,
            list(verdict.hits),
            PROCESSED,
            person.id if person else None,
            pair_id,
        )
    )


def _mark_away(person: Person | None, decision: Decision, now: datetime) -> None:
    if decision.mark_away is not None and person is not None:
        person.away_until = decision.mark_away
        person.updated_at = now


def _activity_note(
    session: Session,
    msg: Inbound,
    person: Person,
    pair_ids: list[int],
    known: Known,
    now: datetime,
) -> str:
    counted = known.count_activity(session, person, pair_ids, _activity_at(msg, now))
    return f" — activity in {counted} pair(s)" if counted else ""


def _signals(
    session: Session,
    msg: Inbound,
    verdict: Verdict,
    person: Person,
    row: InboundRow,
    known: Known,
    now: datetime,
) -> str:
    """Metadata only: who wrote in which pair, and when; or a survey answer by reply."""
    pair_ids = _pair_ids(verdict)
    if pair_ids:
        row.pair_id = pair_ids[0]
    else:
        note = round_jobs.record_survey_answer(session, person, msg.text, now)
        if note:
            return " — " + note
        if any(r.route is Route.REPLY for r in verdict.routes):
            pair_ids = pairs.running_pair_ids(session, person.id)
    return _activity_note(session, msg, person, pair_ids, known, now) if pair_ids else ""


def _record_bounces(session: Session, deps: Deps, verdict: Verdict, now: datetime) -> None:
    info = verdict.bounce
    if info is None:
        return
    recipients = list(info.recipients)
    key = ""
    tag = getattr(info, "token", "") or next(
        (r.token for r in verdict.routes if r.route is Route.BOUNCE), ""
    )
    if tag:
        out = session.scalar(_OUTBOX_BY_DIGEST, {"digest": tag})
        if out is not None:
            key = out.key
            if not recipients:
                recipients = list(out.to)
    for address in recipients:
        # The partners hear it from the ladder (domain.ladder.bounce_notices) in this same tick.
        record_bounce(
            session,
            deps,
            address,
            permanent=info.permanent,
            status=info.status,
            outbox_key=key,
            now=now,
        )


async def run_once(
    deps: Deps, now: datetime, *, mailbox: Mailbox | None = None, stop: Any = None
) -> IntakeReport:
    """Fetch and handle every new message once; `stop()` true → file the batch in hand, return."""
    settings = deps.settings
    folder = settings.imap.folder
    report = IntakeReport()
    own = mailbox is None
    box = mailbox or deps.mailbox()
    if own:
        await box.connect()
    try:
        uidvalidity = await box.uidvalidity()
        with deps.db.transaction() as s:
            rounds.sync_rounds(s, deps)
            state = s.get(MailboxState, folder)
            if state is None or state.uidvalidity != uidvalidity:
                # New or changed UIDVALIDITY: rescan; Message-ID dedupe keeps it safe.
                state = state or MailboxState(folder=folder)
                state.uidvalidity, state.last_uid = uidvalidity, 0
                s.merge(state)
        # Everything still in the folder is unfinished work: processed mail was moved out.
        uids = await box.new_uids(0)
        done: dict[str, list[int]] = {PROCESSED: [], QUARANTINED: []}
        for start in range(0, len(uids), settings.imap.batch_size):
            # One fetch batch is one transaction. Committed messages are filed FILE_EVERY at a
            # time: a MOVE costs the server about as much for 500 messages as for 100, and a
            # restart only repeats that many look-ups of committed rows before filing them.
            chunk = await box.fetch(uids[start : start + settings.imap.batch_size])
            for state_name, filed in _handle_chunk(
                deps, chunk, folder, uidvalidity, now, report
            ).items():
                done[state_name] += filed
            stopping = stop is not None and stop()
            if stopping or len(done[PROCESSED]) + len(done[QUARANTINED]) >= FILE_EVERY:
                await _file(deps, box, folder, done)
            if stopping:
                return report
        await _file(deps, box, folder, done)
    finally:
        if own:
            await box.close()
    return report


def _handle_chunk(
    deps: Deps,
    chunk: list[Fetched],
    folder: str,
    uidvalidity: int,
    now: datetime,
    report: IntakeReport,
) -> dict[str, list[int]]:
    """Handle a chunk of messages in one transaction; commit once.

    First all together (metadata-only messages buffered into one INSERT); if anything fails,
    that transaction is rolled back and the chunk is handled again one message at a time, each
    in its own savepoint, so that only the failing message is quarantined.
    """
    keys = [_source_key(folder, uidvalidity, f.uid) for f in chunk]
    msgs = [parse_message(f.raw) for f in chunk]
    try:
        with deps.db.transaction() as s:
            known = Known.load(s, keys, msgs, now)
            known.rows = []
            outcomes = [
                handle(s, deps, fetched, key, now, msg, known)
                for fetched, key, msg in zip(chunk, keys, msgs, strict=True)
            ]
            known.insert_rows(s)
    except Exception as exc:
        _blame_the_database(exc)
        log.warning("chunk of %d failed together: handling one by one", len(chunk), exc_info=True)
        try:
            outcomes = _handle_one_by_one(deps, chunk, keys, msgs, now)
        except Exception as again:
            _blame_the_database(again)
            raise
    done: dict[str, list[int]] = {PROCESSED: [], QUARANTINED: []}
    for fetched, (state_name, kind) in zip(chunk, outcomes, strict=True):
        done[state_name].append(fetched.uid)
        report.seen += 1
        report.kinds[kind] += 1
        if state_name == PROCESSED:
            report.processed += 1
        else:
            report.quarantined += 1
    return done


def _handle_one_by_one(
    deps: Deps, chunk: list[Fetched], keys: list[str], msgs: list[Inbound], now: datetime
) -> list[tuple[str, str]]:
    outcomes: list[tuple[str, str]] = []
    with deps.db.transaction() as s:
        known = Known.load(s, keys, msgs, now)
        for fetched, key, msg in zip(chunk, keys, msgs, strict=True):
            try:
                with s.begin_nested():
                    outcomes.append(handle(s, deps, fetched, key, now, msg, known))
            except Exception as exc:
                if unavailable(exc):  # not this message's fault: roll the batch back
                    raise
                log.exception("inbound uid=%s failed: quarantined", key)
                s.add(
                    _row(
                        msg,
                        key,
                        now,
                        Kind.UNKNOWN.value,
                        _failure(exc),
                        ["handling_failed"],
                        QUARANTINED,
                    )
                )
                outcomes.append((QUARANTINED, Kind.UNKNOWN.value))
    return outcomes


def _blame_the_database(error: BaseException) -> None:
    """Raise DatabaseUnavailable when `error` is the database's own failure, not a message's."""
    if unavailable(error):
        raise DatabaseUnavailable(describe(error)) from error


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}\n" + "".join(traceback.format_exception(error)[-3:])


async def _file(deps: Deps, box: Mailbox, folder: str, done: dict[str, list[int]]) -> None:
    """Move committed messages out of the inbox and remember the highest UID filed."""
    imap = deps.settings.imap
    filed = done[PROCESSED] + done[QUARANTINED]
    if done[PROCESSED]:
        await box.move(done[PROCESSED], imap.processed_folder)
    if done[QUARANTINED]:
        await box.move(done[QUARANTINED], imap.quarantine_folder)
    if filed:
        with deps.db.transaction() as s:
            st = s.get(MailboxState, folder)
            if st is not None:
                st.last_uid = max(st.last_uid, max(filed))
    done[PROCESSED], done[QUARANTINED] = [], []


__all__ = [
    "DatabaseUnavailable",
    "IntakeReport",
    "Known",
    "database_failure",
    "handle",
    "run_once",
]
