"""Decides, from a message's header block alone, whether it is partner conversation: mail the
program only records (that and when a pair wrote) and never needs the body of.

It is partner conversation when the classifier, given the headers only, stops at the
`pair_conversation` row (a pair's signed tracking address in To, Cc or Delivered-To, and
another recipient) and nothing a body could add would have stopped it earlier: no robot
sender, no bounce subject, no `X-Failed-Recipients`, no machine report (`multipart/report`),
nothing to our bounce tag. Every rule above `pair_conversation` that reads the body (bounces,
machine reports) is gated by one of those header signs; a message showing any of them is
fetched whole and classified as before. Everything else (applications, commands, questions,
replies to the program) needs its body.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from dataclasses import replace

from mailbot.domain import bounces
from mailbot.domain.classify import RULES, ClassifyContext, Match, Rule, State, classify
from mailbot.domain.model import Inbound, Kind, Route, Verdict

_PAIR_TAG = ("+" + Route.PAIR.value + "-").encode()


def may_be_partner_mail(head: bytes) -> bool:
    """False when a raw header block cannot hold a pair's tracking address (it carries
    "+p-" in its local part): such mail needs its body and is not worth parsing twice."""
    return _PAIR_TAG in head.lower()


def _may_be_machine_mail(head: Inbound) -> bool:
    """A header sign that the body could make this a bounce or a machine report."""
    subject = head.subject.lower().strip()
    return (
        bounces.is_robot(head)
        or bool(head.headers.get("x-failed-recipients"))
        or "report" in head.header("content-type").lower()
        or subject.startswith(bounces.FAILURE_SUBJECTS)
        or any(w in subject for w in bounces.SUBJECT_WORDS)
    )


def _cleared(rule: Rule) -> Rule:
    """The bounce row for mail `_may_be_machine_mail` cleared: with no DSN, no robot sender,
    no bounce subject and no X-Failed-Recipients, `bounces.read_bounce` finds a bounce only
    by our `+b-` tag, so without one the row cannot fire and the report is not read."""
    check = rule.check

    def cheaper(s: State) -> Match | None:
        if not s.msg.dsn and not bounces.bounce_token(s.msg, s.ctx.program_address, s.ctx.secret):
            return None
        return check(s)

    return replace(rule, check=cheaper)


# `classify.RULES`, the bounce row cheaper for cleared mail: the same verdicts (a unit test).
CLEARED_RULES = tuple(_cleared(r) if r.name == "bounce" else r for r in RULES)


def partner_verdict(head: Inbound, ctx: ClassifyContext) -> Verdict | None:
    """The verdict of `head` (a message parsed from its header block only) when it is partner
    conversation whatever its body says — it is recorded from these headers and its body never
    read —, else None."""
    if _may_be_machine_mail(head):
        return None
    verdict = classify(head, ctx, CLEARED_RULES)
    if (
        verdict.kind is Kind.REPLY
        and verdict.hits[-1:] == ("pair_conversation",)
        and all(h.route is not Route.BOUNCE for h in verdict.routes)
    ):
        return verdict
    return None


def is_partner_mail(head: Inbound, ctx: ClassifyContext) -> bool:
    return partner_verdict(head, ctx) is not None


__all__ = ["is_partner_mail", "may_be_partner_mail", "partner_verdict"]
