"""A participant's question for a person: held as ONE open item for the coordinators, with the
person's place in the program, until a coordinator's `ANSWER <id> <text>`.

Decides nothing the domain has not (`domain.questions`: their own words, urgency); does:
- `hold`: a message from a known participant that nothing automatic can answer (a question,
  a reply to program mail that is not understood) becomes a `question` row — or is added to
  the question of theirs still open, so the coordinators answer a person once — and the
  person is told at once, in their language, that a coordinator will reply
  (`question_received`, threaded to their message);
- where it reaches the coordinators: an URGENT question (safety or haste words) is mailed to
  each at once (`question_forwarded`, with the coordinators' reply key, so `ANSWER <id> …`
  works from it); every other waits for the weekly digest, which lists `open_questions` —
  questions are not urgent by default because the FAQ answers the common ones at once and
  one digest item a question keeps the coordinators' mail to one letter a week;
- `open_questions`, `question_counts`: what the digest shows.
The person's words are kept only while the question is open (`flows.answer_command` clears
them); DELETE MY DATA takes the row with the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.commands import strip_subject_prefixes
from mailbot.domain.model import Inbound, Route
from mailbot.domain.questions import (
    MAX_QUESTION_CHARS,
    MAX_SUBJECT_CHARS,
    is_urgent,
    own_words,
)
from mailbot.edges.tables import Application, InboundRow, Outbox, Person, Question
from mailbot.flows.effects import country_name
from mailbot.flows.letters import language, notify, notify_coordinators
from mailbot.flows.pairs import latest_round, partners, running_pair

if TYPE_CHECKING:
    from mailbot.deps import Deps

OPEN = "open"
ANSWERED = "answered"
UNDELIVERABLE = "undeliverable"  # closed by an ANSWER that could not be sent (address bouncing)
COORDINATORS_KEY = "c0"  # the coordinators' standing reply key (coordinator_commands' too)
RECENT_MAILS = 3


def coordinators_reply_address(deps: Deps) -> str:
    s = deps.settings.program
    return tokens.tag_address(s.address, Route.REPLY, COORDINATORS_KEY, s.secret)


def hold(
    session: Session,
    deps: Deps,
    msg: Inbound,
    person: Person,
    row: InboundRow,
    now: datetime,
    may_answer: bool,
) -> str:
    """Hold `msg` as (part of) the person's open question; tell them a coordinator will reply.
    Returns the note for the inbound row."""
    words = own_words(msg.text)
    subject = strip_subject_prefixes(msg.subject)[:MAX_SUBJECT_CHARS]
    urgent = is_urgent(subject, words)
    question = session.scalar(
        select(Question)
        .where(Question.person_id == person.id, Question.state == OPEN)
        .order_by(Question.id)
        .limit(1)
    )
    if question is None:
        question = Question(
            person_id=person.id,
            inbound_id=row.id,
            sender=person.email,
            language=language(deps, person),
            subject=subject,
            text=words[:MAX_QUESTION_CHARS],
            message_id=msg.message_id[:300],
            urgent=urgent,
            state=OPEN,
            asked_at=now,
            answered_by="",
        )
        session.add(question)
        session.flush()
        note = f"question {question.id} held for the coordinators"
    else:
        later = f"{question.text}\n\n[{now.date().isoformat()}] {words}".strip()
        question.text = later[-MAX_QUESTION_CHARS:]
        question.subject = question.subject or subject
        note = f"added to open question {question.id}"
        urgent = urgent and not question.urgent
        question.urgent = question.urgent or urgent
    if urgent:
        notify_coordinators(
            session,
            deps,
            f"question:{question.id}:{row.id}",
            "question_forwarded",
            {"question": item(session, question, person)},
            now,
            reply_to=coordinators_reply_address(deps),
        )
        question.forwarded_at = now
        note += "; urgent: mailed to the coordinators now"
    else:
        note += "; for the next digest"
    if may_answer:
        notify(
            session,
            deps,
            f"question:{question.id}:received:{row.id}",
            person,
            "question_received",
            {"question_id": question.id},
            now,
            automatic_answer=True,
            in_reply_to=msg.message_id,
        )
        note += "; they were told a coordinator will reply"
    return note


def _context(session: Session, person: Person) -> dict[str, Any]:
    pair = running_pair(session, person.id)
    partner = next(iter(partners(session, pair.id, person.id)), None) if pair else None
    round_name = latest_round(session, person.id)
    if round_name is None:
        round_name = session.scalar(
            select(Application.round_name)
            .where(Application.person_id == person.id)
            .order_by(Application.submitted_at.desc())
            .limit(1)
        )
    recent = session.execute(
        select(Outbox.template, Outbox.created_at)
        .where(Outbox.primary_to == person.email)
        .order_by(Outbox.created_at.desc(), Outbox.id.desc())
        .limit(RECENT_MAILS + 2)
    ).all()
    mails = [
        {"template": t, "on": at.date().isoformat()}
        for t, at in recent
        if t not in ("question_received", "question_answer")
    ][:RECENT_MAILS]
    return {
        "status": person.status,
        "round": round_name,
        "pair_id": pair.id if pair else None,
        "pair_state": pair.state if pair else None,
        "partner_name": partner.name if partner else None,
        "partner_country": country_name(partner.country, "en") if partner else None,
        "recent_mail": mails,
    }


def item(session: Session, question: Question, person: Person) -> dict[str, Any]:
    """The question as the coordinators see it (contract: `contexts.question_mail.QuestionItem`)."""
    return {
        "id": question.id,
        "asked_on": question.asked_at.date().isoformat(),
        "sender": question.sender,
        "name": person.name,
        "language": question.language,
        "subject": question.subject,
        "text": question.text,
        "urgent": question.urgent,
        "forwarded": question.forwarded_at is not None,
        "action": f"ANSWER {question.id} <your answer>",
        "context": _context(session, person),
    }


def open_questions(session: Session, deps: Deps, now: datetime) -> list[dict[str, Any]]:
    """Every open question, oldest first, as `QuestionItem`s (for the digest)."""
    del deps, now
    rows = session.execute(
        select(Question, Person)
        .join(Person, Person.id == Question.person_id)
        .where(Question.state == OPEN)
        .order_by(Question.id)
    ).all()
    return [item(session, q, p) for q, p in rows]


def question_counts(session: Session, since: datetime) -> dict[str, int]:
    """Questions asked and answered since `since`, and open now (for the digest's counts)."""

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count(Question.id)).where(*where)) or 0)

    return {
        "asked": count(Question.asked_at >= since),
        "answered": count(Question.answered_at >= since, Question.state == ANSWERED),
        "open": count(Question.state == OPEN),
    }
