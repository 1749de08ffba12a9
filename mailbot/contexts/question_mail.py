"""Contracts of the mail about a participant's question and a request waiting for their
confirmation: `question_received` (a coordinator will reply), `question_answer` (the
coordinator's ANSWER, framed), `confirm_request` (reply YES / reply to confirm), and to the
coordinators `question_forwarded` (an urgent question, at once). `QuestionItem` is also the
shape the digest lists open questions in.

Written by `mailbot.flows.questions`, `mailbot.flows.answer_command` and
`mailbot.flows.confirmations`.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] only from real
# annotations (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import TypedDict

from mailbot.contexts.common import Base


class RecentMail(TypedDict):
    template: str  # the program mail's template name (introduction, topic, nudge_quiet, …)
    on: str  # ISO date it was queued


class QuestionContext(TypedDict):
    """What the coordinators need to answer: the person's place in the program."""

    status: str  # active | paused | withdrawn
    round: str | None  # their newest pair's round, else their latest application's ("" = next)
    pair_id: int | None  # their running pair
    pair_state: str | None
    partner_name: str | None  # a partner in the running pair (the first, in a trio)
    partner_country: str | None  # in English
    recent_mail: list[RecentMail]  # the last program mails to them, newest first (≤ 3)


class QuestionItem(TypedDict):
    """One open question, as the coordinators see it (here and in the digest)."""

    id: int
    asked_on: str  # ISO date
    sender: str  # the person's address
    name: str
    language: str  # en | fr | es: the language the answer will be framed in
    subject: str  # their subject, without Re:/Fwd: prefixes
    text: str  # their own words (quoted text and signature dropped), ≤ 2000 characters
    urgent: bool  # safety or haste words: mailed at once
    forwarded: bool  # already mailed to the coordinators at once
    action: str  # the one-reply answer, "ANSWER <id> <your answer>"
    context: QuestionContext


class QuestionReceivedMail(Base):
    """To the person: their question reached the coordinators, who will reply."""

    question_id: int


class QuestionAnswerMail(Base):
    """To the person: a coordinator's answer (their own words, in `text`), framed in the
    person's language."""

    question_id: int
    asked_on: str  # ISO date of the question
    subject: str  # the question's subject ("" when it had none)
    text: str  # the coordinator's answer, as written


class ConfirmRequestMail(Base):
    """To the person's real address: a command waits for their confirmation."""

    command: str  # pause|resume|withdraw|rematch|continue (the template names it)
    mode: str  # "yes": cannot be undone, reply YES; "verify": sender not verified, reply to confirm
    days: int | None  # PAUSE: the length asked for


class QuestionForwardedMail(Base):
    """To the coordinators, at once: an urgent question with its one-reply answer."""

    question: QuestionItem
