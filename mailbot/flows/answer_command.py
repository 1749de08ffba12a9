"""ANSWER <id> <text>: a coordinator's answer to a participant's open question, mailed to
them in one reply.

Decides whether the answer can go: the question must exist and still be open and the text
must not be empty, else it is refused (`Refused`, with the reason); when the person's address
is known to bounce nothing is sent and the question is closed as undeliverable (so it is not
listed again), and the confirmation says so. The coordinator's words
go in the body of `question_answer`, framed in the person's language and threaded to their
question (In-Reply-To); the question is closed, its words cleared (no bodies kept), and who
answered kept. Registered in `flows.coordinator_commands.HANDLERS`, which authenticates the
coordinator.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.edges.tables import CommandRow, Person, Question
from mailbot.flows.coordinator_replies import Refused
from mailbot.flows.letters import notify
from mailbot.flows.questions import ANSWERED, OPEN, UNDELIVERABLE

if TYPE_CHECKING:
    from mailbot.deps import Deps

MAX_ANSWER_CHARS = 10_000
_ID_RE = re.compile(r"^(?:q)?(\d{1,18})$", re.IGNORECASE)


def answer(session: Session, deps: Deps, cmd: CommandRow, now: datetime) -> str:
    """Mail the coordinator's answer to the person who asked; returns what was done."""
    raw = str(cmd.args.get("item") or "").strip().lstrip("#")
    m = _ID_RE.match(raw)
    question = session.get(Question, int(m.group(1))) if m else None
    shown = " ".join(raw.split())[:40]
    if question is None:
        raise Refused(f"there is no question {shown or '(no number given)'}")
    if question.state != OPEN:
        when = question.answered_at.date().isoformat() if question.answered_at else "earlier"
        by = f" by {question.answered_by}" if question.answered_by else ""
        raise Refused(f"question {question.id} was already answered ({when}{by})")
    text = str(cmd.args.get("text") or "").strip()[:MAX_ANSWER_CHARS]
    if not text:
        raise Refused(f"ANSWER {question.id} needs your answer after the number")
    person = session.get(Person, question.person_id)
    if person is None:  # the person row takes its questions with it; never here
        raise Refused(f"the person who asked question {question.id} is no longer known")
    question.answered_at, question.answered_by = now, cmd.sender
    if person.bouncing:  # never mail an address known to bounce; nor list the question again
        question.state, question.text = UNDELIVERABLE, ""
        return (
            f"ANSWER {question.id}: NOT sent — {person.email}'s address is known to bounce; "
            "the question is closed"
        )
    notify(
        session,
        deps,
        f"answer:{question.id}",
        person,
        "question_answer",
        {
            "question_id": question.id,
            "asked_on": question.asked_at.date().isoformat(),
            "subject": question.subject,
            "text": text,
        },
        now,
        in_reply_to=question.message_id,
    )
    question.state, question.text = ANSWERED, ""
    return f"ANSWER {question.id}: sent to {person.name or person.email} ({person.email})"
