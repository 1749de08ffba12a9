"""The end-of-round survey's answers: one by reply is recorded (intake), and a round's
answers so far are summed up (the digest, the final report).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.domain import survey
from mailbot.edges.tables import Outbox, Pair, PairMember, Person, SurveyAnswerRow
from mailbot.flows.enrolment import enrol_next_round


def record_survey_answer(s: Session, person: Person, text: str, now: datetime) -> str:
    """Store a survey answer from `person` if one of their rounds has ended and awaits it."""
    if not person.id:
        return ""
    ended = [
        name
        for (name,) in s.execute(
            select(Pair.round_name)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(PairMember.person_id == person.id, Pair.state == "ended")
        )
    ]
    if not ended:
        return ""
    answer = survey.parse_survey_answer(text)
    if answer is None:
        return ""
    round_name = sorted(ended)[-1]
    row = s.scalar(
        select(SurveyAnswerRow).where(
            SurveyAnswerRow.person_id == person.id, SurveyAnswerRow.round_name == round_name
        )
    )
    if row is None:
        row = SurveyAnswerRow(person_id=person.id, round_name=round_name, at=now)
        s.add(row)
    # A follow-up reply adds what it answers and leaves the rest as it was.
    if answer.satisfaction is not None:
        row.satisfaction = answer.satisfaction
    if answer.valuable:
        row.valuable = answer.valuable[:2000]
    if answer.choice:
        row.choice = int(answer.choice)
    row.at = now
    if answer.choice is survey.Choice.NEW_PARTNER:
        target, _ = enrol_next_round(s, person, now)
        return f"survey answer for {round_name}; enrolled for {target.name if target else 'next'}"
    return f"survey answer for {round_name}"


def survey_summary(s: Session, round_name: str) -> dict[str, object] | None:
    """The answers to one round's end-of-round survey so far; None before the first."""
    rows = list(s.scalars(select(SurveyAnswerRow).where(SurveyAnswerRow.round_name == round_name)))
    if not rows:
        return None
    invited_q = select(func.count(Outbox.id)).where(Outbox.key.like(f"survey:{round_name}:%"))
    invited = int(s.scalar(invited_q) or 0)
    answers = [
        survey.SurveyAnswer(
            r.satisfaction, r.valuable, survey.Choice(r.choice) if r.choice else None
        )
        for r in rows
    ]
    return survey.survey_summary(answers, max(invited, len(answers)))
