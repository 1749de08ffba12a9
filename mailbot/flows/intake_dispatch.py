"""One inbound message, handled inside the caller's transaction: classified, decided,
recorded, and then the effects its kind can have, in order.

`EFFECTS` is the table `Kind → effects`, one row per kind (as Mailman's chains and Salmon's
routes read). `domain.answers.decide` says whether an effect applies to this message (it only
ever asks for the effects in its kind's row); the row says which may, and in what order.
A message with nothing to do but be recorded goes into the chunk's MetadataBuffer instead,
when the chunk buffers (`flows.intake_metadata`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.domain.answers import Decision, SenderFacts, decide
from mailbot.domain.classify import Ahead, ClassifyContext, classify
from mailbot.domain.model import BounceInfo, Inbound, Kind, Route, Verdict
from mailbot.edges.tables import InboundRow, Outbox, Person
from mailbot.flows import coordination, effects, pairs, participant_commands, questions
from mailbot.flows.activity import pair_ids, reply_counts_as_contact
from mailbot.flows.bouncing import heard_from, record_bounce
from mailbot.flows.faq_answers import faq_context
from mailbot.flows.inbound_rows import (
    PROCESSED,
    QUARANTINED,
    PendingRow,
    dedupe_id,
    row,
    row_values,
)
from mailbot.flows.intake_known import Known
from mailbot.flows.intake_metadata import (
    activity_note,
    mark_away_of,
    metadata_only,
    record_metadata,
)
from mailbot.flows.outbox import enqueue, outbox_row
from mailbot.flows.status_facts import StatusFacts
from mailbot.flows.survey_answers import record_survey_answer
from mailbot.flows.time_budget import budget
from mailbot.mail.parse import parse_message

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Fetched

log = logging.getLogger("mailbot.intake")

_OUTBOX_BY_DIGEST = select(Outbox).where(Outbox.key_digest == bindparam("digest"))  # built once


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
    if fetched.truncated:
        reason = (
            f"message of {fetched.size} bytes exceeds program.max_message_bytes "
            f"({deps.settings.program.max_message_bytes}); only its headers were read"
        )
        session.add(
            row(msg, source_key, now, Kind.UNKNOWN.value, reason, ["oversized"], QUARANTINED)
        )
        return QUARANTINED, Kind.UNKNOWN.value
    dedupe = dedupe_id(msg)[:300]
    person = known.persons.get(msg.from_addr) if msg.from_addr else None
    with budget(deps.settings.imap.message_budget_seconds, "classifying"):  # pure: no database
        verdict, facts, decision = _judge(
            deps, msg, person, dedupe in known.seen, known, known.verdicts.get(source_key)
        )
    heard_from(person, verdict, now)  # they wrote themselves: their address works again
    buffer = known.buffer  # None: handled one by one, each row written as it comes
    if buffer is not None and metadata_only(decision, verdict, person):
        record_metadata(session, msg, verdict, decision, person, source_key, known, buffer, now)
        return _done(msg, verdict, decision, source_key, dedupe, known, person)
    waits = buffer is not None and _row_waits(verdict, decision)
    if buffer is not None and not waits:
        # What follows may read or delete inbound rows. The buffered kinds' effects read none:
        # a confirmation asks `known` whether the sender applied before.
        buffer.write(session)
    values = row_values(
        msg,
        source_key,
        now,
        verdict.kind.value,
        f"{verdict.reason} — {decision.note}",
        list(verdict.hits),
        PROCESSED,
        person.id if person else None,
    )
    record: InboundRow | PendingRow
    if waits:
        record = PendingRow(values)  # no flush for it: inserted with the buffer's next rows
    else:
        record = InboundRow(**values)
        session.add(record)
        session.flush()
    h = Handling(session, deps, msg, verdict, decision, facts, known, record, now, person)
    for effect in EFFECTS[verdict.kind]:
        effect(h)
    if isinstance(record, PendingRow) and buffer is not None:
        buffer.add(record.values)
    if buffer is None:  # one by one: fail here, so `known` only learns what is kept
        session.flush()
    return _done(msg, verdict, decision, source_key, dedupe, known, h.person)


def _judge(
    deps: Deps,
    msg: Inbound,
    person: Person | None,
    already_seen: bool,
    known: Known,
    ahead: Ahead | None = None,
) -> tuple[Verdict, SenderFacts, Decision]:
    """What the message is (`domain.classify`; the verdict read ahead, unless it is a
    duplicate) and what to do about it (`domain.answers`)."""
    program = deps.settings.program
    coordinators = frozenset(program.coordinators)
    sender_known = person is not None or msg.from_addr in coordinators
    if ahead is not None and not already_seen:
        verdict = ahead.verdict(sender_known)
    else:
        ctx = ClassifyContext(
            program_address=program.address,
            secret=program.secret,
            own_addresses=frozenset({program.address}),
            coordinators=coordinators,
            already_seen=already_seen,
            sender_known=sender_known,
        )
        verdict = classify(msg, ctx)
    facts = SenderFacts(
        address=msg.from_addr,
        known=person is not None,
        is_coordinator=msg.from_addr in coordinators,
        auto_answers_today=known.answers[msg.from_addr],
    )
    return verdict, facts, decide(verdict, facts, program.max_auto_replies_per_day)


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
    if verdict.kind is Kind.APPLICATION:
        known.applied_here.add(msg.from_addr)
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
        extra={"fields": {"message_id": msg.message_id, "source": source_key}},
    )
    return PROCESSED, verdict.kind.value


# ---------------------------------------------------------------- the effects


@dataclass
class Handling:
    """One message being handled: what the effects read, and what they change (the sender,
    once an application is stored or DELETE MY DATA has run; the row's reason)."""

    session: Session
    deps: Deps
    msg: Inbound
    verdict: Verdict
    decision: Decision
    facts: SenderFacts
    known: Known
    row: InboundRow | PendingRow
    now: datetime
    person: Person | None
    filed_in: str = ""  # the round an application was filed in, for the confirmation
    settled: bool = False  # a reply that confirmed or cancelled a request: nothing more to read


Effect = Callable[[Handling], None]


def _inserted(h: Handling) -> InboundRow:
    """The message's row, for an effect that refers to it by id (never a ROW_BUFFERED kind)."""
    if not isinstance(h.row, InboundRow):
        raise TypeError(f"{h.verdict.kind.value}: its row is not inserted yet")
    return h.row


def _record_bounces(h: Handling) -> None:
    """Score each bounced address (found in the report, else in the outbox row it answers)."""
    info = h.verdict.bounce
    if not h.decision.record_bounce or info is None:
        return
    # Nothing this chunk added is needed for these reads (the outbox row a bounce answers was
    # sent, so committed, before; a person is flushed when stored): no flush before each.
    with h.session.no_autoflush:
        _score(h, info)


def _score(h: Handling, info: BounceInfo) -> None:
    recipients = list(info.recipients)
    key = ""
    tag = getattr(info, "token", "") or next(
        (r.token for r in h.verdict.routes if r.route is Route.BOUNCE), ""
    )
    if tag:
        out = h.session.scalar(_OUTBOX_BY_DIGEST, {"digest": tag})
        if out is not None:
            key = out.key
            if not recipients:
                recipients = list(out.to)
    known, buffer = h.known, h.known.buffer
    for address in recipients:
        # The partners hear it from the ladder (domain.ladder.bounce_notices) in this same tick.
        record_bounce(
            h.session,
            h.deps,
            address,
            permanent=info.permanent,
            status=info.status,
            outbox_key=key,
            now=h.now,
            find=functools.partial(known.find_person, h.session),
            add_event=None if buffer is None else buffer.add_bounce,
        )


def _mark_away(h: Handling) -> None:
    """An automatic reply says until when its (known) sender is away."""
    mark_away_of(h.person, h.decision, h.now)


def _store_application(h: Handling) -> None:
    """A valid form: the applicant stored (or updated) and filed in a round."""
    application = h.verdict.application
    if h.decision.store_application and application and application.fields:
        # The chunk knows who its senders are (read with it, kept up to date as it goes): a
        # form with the sender's own address needs no look-up.
        theirs = application.fields.email == h.msg.from_addr
        person, h.filed_in = effects.store_application(
            h.session, h.deps, application.fields, h.now, person=h.person, looked_up=theirs
        )
        h.person = person
        h.row.person_id = person.id
        h.known.application_changed(person.id)


def _act_on_command(h: Handling) -> None:
    """Record the command and carry it out: a coordinator's, or a participant's."""
    session, msg, verdict, person = h.session, h.msg, h.verdict, h.person
    if not h.decision.record_command or verdict.command is None:
        return
    h.known.pairs_changed()
    cmd = effects.record_command(
        session, _inserted(h), person, msg.from_addr, verdict.command, h.now
    )
    session.flush()
    if h.facts.is_coordinator:
        h.row.reason += " — " + coordination.act(session, h.deps, msg, verdict, cmd, h.now)
    elif person is not None:
        limit = h.deps.settings.program.max_auto_replies_per_day
        may_answer = h.facts.auto_answers_today < limit
        outcome = participant_commands.act(
            session, h.deps, msg, verdict, cmd, person, h.now, may_answer
        )
        h.row.reason += " — " + outcome
        if person not in session:  # DELETE MY DATA removed them: forget them in this chunk
            h.known.persons.pop(msg.from_addr, None)
            h.person = None
        if may_answer:
            h.known.answers[msg.from_addr] += 1


def _answer(h: Handling) -> None:
    """The automatic answer `decide` chose, if any."""
    if h.decision.answer:
        out = effects.answer(
            h.session,
            h.deps,
            h.decision.answer,
            h.msg,
            h.verdict,
            h.person,
            h.row,
            h.now,
            h.filed_in,
            earlier=_applied_earlier(h),
            status=_status_facts(h),
        )
        if h.known.buffer is not None:  # queued with the chunk's other answers
            h.known.buffer.add_outbox(outbox_row(h.deps, out, h.now, automatic_answer=True))
        else:
            enqueue(h.session, h.deps, out, h.now, automatic_answer=True)


def _applied_earlier(h: Handling) -> bool | None:
    """For a confirmation in a chunk handled together: whether the sender applied before,
    as the chunk knows it (its buffered rows are not in the database yet). None: one by one,
    the row is there and the answer reads the others."""
    if h.decision.answer != "confirmation" or h.known.buffer is None:
        return None
    return h.known.applied_earlier(h.session, h.msg.from_addr)


def _status_facts(h: Handling) -> StatusFacts | None:
    """For a STATUS answer in a chunk handled together: what it tells, as the chunk read it
    for all its senders. None: read by the answer."""
    if h.decision.answer != "status" or h.known.buffer is None or h.person is None:
        return None
    return h.known.status_of(h.session, h.person)


def _may_answer(h: Handling) -> bool:
    return h.facts.auto_answers_today < h.deps.settings.program.max_auto_replies_per_day


def _settle_request(h: Handling) -> None:
    """A participant's reply to a request waiting for their confirmation: YES confirms it, NO
    cancels it (`participant_commands.settle_reply`); other words are read on."""
    if h.person is None or h.facts.is_coordinator:
        return
    may_answer = _may_answer(h)
    note = participant_commands.settle_reply(
        h.session, h.deps, h.msg, h.verdict, h.person, h.now, may_answer
    )
    if not note:
        return
    h.settled = True
    h.row.reason += " — " + note
    if h.person not in h.session:  # a confirmed DELETE MY DATA: forget them in this chunk
        h.known.persons.pop(h.msg.from_addr, None)
        h.person = None
    h.known.pairs_changed()
    if may_answer:
        h.known.answers[h.msg.from_addr] += 1


def _hold_question(h: Handling) -> None:
    """A participant's words nothing automatic answers: one open question for the
    coordinators, and the person told a coordinator will reply (`flows.questions`)."""
    if h.settled or h.person is None or h.facts.is_coordinator:
        return
    may_answer = _may_answer(h)
    h.row.reason += " — " + questions.hold(
        h.session, h.deps, h.msg, h.person, _inserted(h), h.now, may_answer
    )
    if may_answer:
        h.known.answers[h.msg.from_addr] += 1


def _answer_faq(h: Handling) -> None:
    """The FAQ's answer `decide` chose, with what its topic tells (flows.faq_answers)."""
    if not h.decision.answer:
        return
    out = effects.answer(
        h.session, h.deps, h.decision.answer, h.msg, h.verdict, h.person, h.row, h.now
    )
    extra = faq_context(h.session, h.deps, out.template, h.person, out.language, h.now)
    enqueue(
        h.session, h.deps, replace(out, context=out.context | extra), h.now, automatic_answer=True
    )


def _signals(h: Handling) -> None:
    """Metadata only: who wrote in which pair, and when; or a survey answer by reply."""
    person = h.person
    if person is None or h.settled:
        return
    ids = pair_ids(h.verdict)
    note = ""
    if ids:
        h.row.pair_id = ids[0]
    else:
        note = record_survey_answer(h.session, person, h.msg.text, h.now)
        if not note and reply_counts_as_contact(h.session, h.verdict, h.msg):
            ids = pairs.running_pair_ids(h.session, person.id)  # never a question: see contact
    if note:
        h.row.reason += " — " + note
    elif ids:
        h.row.reason += activity_note(h.session, h.msg, person, ids, h.known, h.now)


# Kinds whose effects refer to no inbound row by id (no command, question or FAQ row points
# at it): when the chunk buffers, their row is inserted with the buffer, not flushed alone.
ROW_BUFFERED = frozenset({Kind.APPLICATION, Kind.BOUNCE, Kind.AUTO_REPLY})


def _row_waits(verdict: Verdict, decision: Decision) -> bool:
    """Whether the message's inbound row may wait for the buffer's next INSERT: no effect of
    it refers to the row by id (a ROW_BUFFERED kind, or a command only answered — HELP,
    STATUS — not recorded)."""
    if verdict.kind is Kind.COMMAND:
        return not decision.record_command
    return verdict.kind in ROW_BUFFERED


# Which effects each kind of message can have, in the order they apply.
EFFECTS: dict[Kind, tuple[Effect, ...]] = {
    # a form: the applicant stored and filed, then confirmed (or told what is wrong)
    Kind.APPLICATION: (_mark_away, _store_application, _answer),
    # recorded and carried out (it answers itself); HELP, STATUS and refusals answered
    Kind.COMMAND: (_mark_away, _act_on_command, _answer),
    # a partner's mail: activity in the pair, or a survey answer; a coordinator's thanks answered
    Kind.REPLY: (_mark_away, _settle_request, _answer, _signals),
    # held for the coordinators; a stranger welcomed; a participant's counts as activity
    Kind.UNKNOWN: (_mark_away, _answer, _signals),
    # a participant's words no rule understands: a confirmation they owe settled, or one
    # question held for the coordinators (never partner contact)
    Kind.QUESTION: (_mark_away, _settle_request, _hold_question),
    # a question the FAQ answers (domain.intents): answered in the person's language
    Kind.FAQ: (_mark_away, _answer_faq),
    # an out-of-office: its known sender is away until the date it gives
    Kind.AUTO_REPLY: (_mark_away,),
    # scored against the address that bounced
    Kind.BOUNCE: (_record_bounces,),
    Kind.LOOP: (),  # recorded only
    Kind.DUPLICATE: (),  # recorded only
}
