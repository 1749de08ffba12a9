"""What to do about one classified inbound message: store, record, answer — or stay silent.

Decides, from a verdict and plain facts about the sender, which effects apply and which
template (if any) answers. Robots are never answered; nobody gets more than a few automatic
answers a day. Must not: do I/O or read the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mailbot.domain.model import (
    PARTICIPANT_COMMANDS,
    CommandName,
    FaqTopic,
    Kind,
    Route,
    Verdict,
)

COORDINATOR_COMMANDS = frozenset(
    {
        CommandName.APPROVE,
        CommandName.REDO,
        CommandName.LIAISE,
        CommandName.CLOSE,
        CommandName.NOTE,
        CommandName.ANSWER,
        CommandName.CLEAR_BOUNCE,
    }
)
SIGNAL_COMMANDS = frozenset(
    {CommandName.IN_TOUCH, CommandName.SILENT, CommandName.YES, CommandName.NO}
)


@dataclass(frozen=True)
class SenderFacts:
    address: str  # "" when the From header was missing or unparseable
    known: bool  # a participant we have a record of
    is_coordinator: bool
    auto_answers_today: int


@dataclass(frozen=True)
class Decision:
    answer: str | None = None  # template name
    note: str = ""  # why answered or not, for the record
    store_application: bool = False
    record_command: bool = False
    record_bounce: bool = False
    mark_away: datetime | None = None
    hold_for_coordinators: bool = False


def _answer(
    template: str,
    facts: SenderFacts,
    limit: int,
    *,
    store_application: bool = False,
    hold_for_coordinators: bool = False,
) -> Decision:
    """Answer with `template` unless there is nobody to answer or the day's limit is reached;
    the effects (store_application, hold_for_coordinators) apply either way."""
    base = Decision(
        store_application=store_application, hold_for_coordinators=hold_for_coordinators
    )
    if not facts.address:
        return replace(base, note="no usable From address: not answered")
    if facts.auto_answers_today >= limit:
        return replace(base, note=f"rate limit: {facts.auto_answers_today} automatic answers today")
    return replace(base, answer=template, note=f"answered with {template}")


def answers_coordinator_mail(verdict: Verdict) -> bool:
    """A reply to a matching proposal or a digest (reply keys m<id>, d<id>), where only
    commands act: a coordinator's reply there with none is answered, not filed as chat."""
    return any(
        h.route is Route.REPLY and h.token[:1] in ("m", "d") and h.token[1:].isdigit()
        for h in verdict.routes
    )


def faq_template(topic: FaqTopic) -> str:
    """The template that answers a question about `topic`."""
    return f"faq_{topic.value}"


def decide(verdict: Verdict, facts: SenderFacts, max_answers_per_day: int) -> Decision:
    kind = verdict.kind
    if kind in (Kind.DUPLICATE, Kind.LOOP):
        return Decision(note=f"{kind.value}: recorded only")
    if kind is Kind.BOUNCE:
        return Decision(note="bounce: scored, never answered", record_bounce=True)
    if kind is Kind.AUTO_REPLY or verdict.automated:
        return Decision(
            note="automated: never answered",
            mark_away=verdict.away_until if facts.known else None,
        )
    if kind is Kind.APPLICATION and verdict.application is not None:
        if verdict.application.valid:
            return _answer("confirmation", facts, max_answers_per_day, store_application=True)
        return _answer("application_invalid", facts, max_answers_per_day)
    if kind is Kind.COMMAND and verdict.command is not None:
        name = verdict.command.name
        args = verdict.command.args
        if name in COORDINATOR_COMMANDS or args.get("pair") is not None or "address" in args:
            if facts.is_coordinator:
                return Decision(note="coordinator command recorded", record_command=True)
            return _answer("help", facts, max_answers_per_day, hold_for_coordinators=True)
        if name is CommandName.HELP:
            return _answer("help", facts, max_answers_per_day)
        if name is CommandName.STATUS:
            return _answer("status", facts, max_answers_per_day)
        if name in PARTICIPANT_COMMANDS or name in SIGNAL_COMMANDS:
            if not facts.known:
                return _answer("status", facts, max_answers_per_day)
            # flows.participant_commands acts on it and answers with what it did (rate-limited)
            return Decision(note="participant command", record_command=True)
    if kind is Kind.FAQ and verdict.faq is not None:
        # the FAQ answers in the person's language (templates faq_<topic>, domain.intents)
        return _answer(faq_template(verdict.faq), facts, max_answers_per_day)
    if kind is Kind.QUESTION:
        # a person answers it: flows.questions holds it for the coordinators and tells the sender
        return Decision(note="a question for a person", hold_for_coordinators=True)
    if kind is Kind.REPLY:
        if facts.is_coordinator and answers_coordinator_mail(verdict):
            # "Approved, thanks!" to a proposal must not pass for an APPROVE nor go unheard.
            return _answer("coordinator_action_done", facts, max_answers_per_day)
        return Decision(note="reply: metadata recorded")
    if facts.known or facts.is_coordinator:
        return Decision(note="held for the coordinators", hold_for_coordinators=True)
    return _answer("welcome", facts, max_answers_per_day, hold_for_coordinators=True)


def bounce_cleared(last_bounce: datetime | None, now: datetime, clear_days: int) -> bool:
    """Whether an address marked bouncing has gone `clear_days` without a new bounce.

    With no date of a last bounce (marked by hand, or before bounces were dated) time alone
    never clears it: its person writing, or a coordinator's CLEAR BOUNCE, does."""
    return last_bounce is not None and now - last_bounce >= timedelta(days=clear_days)


def bounce_score(
    score: float,
    scored_on: datetime | None,
    permanent: bool,
    now: datetime,
    forget_days: int,
) -> tuple[float, datetime | None]:
    """Mailman-style: at most one increment per address per day; old scores are forgotten."""
    if scored_on is not None and (now - scored_on).days >= forget_days:
        score, scored_on = 0.0, None
    if scored_on is not None and scored_on.date() == now.date():
        return score, scored_on
    return score + (1.0 if permanent else 0.5), now
