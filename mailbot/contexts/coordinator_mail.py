"""Contracts of the mail to the coordinators: the matching proposal, a command carried out (or
refused), the weekly digest and the final report. Written in English only: the program has no
coordinator language.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] only from real
# annotations (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import NotRequired, TypedDict

from mailbot.contexts.common import Base, RoundFull
from mailbot.contexts.question_mail import QuestionItem

CountryCount = list[str | int]  # [country code, applicants]
WeekShare = list[str | int]  # [week start (ISO date), active pairs, running pairs]


class ProposalStats(TypedDict):
    applicants: int
    pairs: int
    trios: int
    left: int  # left out, with a reason each (`ProposalMail.left`)
    excluded: int  # not in the pool: paused, withdrawn, bouncing or silent last round
    countries: int
    by_country: list[CountryCount]  # most applicants first
    score_total: float
    score_mean: float
    score_min: float
    score_max: float


class LeftOut(TypedDict):
    name: str
    email: str
    code: str  # the reason's code (domain.ladder exclusion codes)
    detail: str  # the reason, in words


class ProposalMail(Base):
    """A matching proposal waiting for APPROVE or REDO (the CSV is attached by the flow)."""

    round: RoundFull
    proposal_id: int
    stats: ProposalStats
    left: list[LeftOut]


class ReplyOutcome(TypedDict):
    """One line of a coordinator's reply and what became of it."""

    line: str  # the line as they wrote it
    action: str  # the command as understood ("CLOSE pair 12"); "" when not a command
    detail: str  # what happened, or why nothing did
    done: bool


class CoordinatorActionDoneMail(Base):
    """To the coordinator whose reply was carried out, or refused: ONE mail per reply."""

    action: str  # the (first) command as understood, e.g. "REMATCH pair 12"
    detail: str  # what happened, one or more lines; may be ""
    refused: NotRequired[bool]  # True: nothing changed (default False)
    outcomes: NotRequired[list[ReplyOutcome]]  # a reply of several lines: each line's outcome


class DigestCounts(TypedDict):
    active: int
    quiet: int
    one_sided: int
    stalled: int
    paused: int
    ended: int


class FlaggedPair(TypedDict):
    """A pair that needs the coordinators, with the lines they may reply with."""

    pair_id: int
    round: str  # the round's name
    cause: str  # quiet | one_sided | …
    state: str  # the pair's state ("stalled")
    silent_days: int
    silent: list[str]  # "Name <address>" of the silent member(s)
    tried: list[str]  # what was tried already ("quiet on 2027-02-22")
    actions: list[str]  # command lines to reply with ("REMATCH 7")


class SilentReport(TypedDict):
    """Someone who said their partner does not answer (SILENT / NO)."""

    name: str
    email: str
    pair_id: int


class RematchRequest(TypedDict):
    name: str
    email: str
    pair_id: int | None  # None: alone, nobody was free to pair them with yet


class SurveySummary(TypedDict):
    """`domain.survey.survey_summary`."""

    invited: int
    responses: int
    response_rate: float  # responses / invited, 0.0 when none invited
    satisfaction_answers: int
    satisfaction_mean: float | None  # None when nobody rated
    satisfied_share: float | None  # 4 or 5, of those who rated; None when nobody rated
    satisfaction_distribution: dict[str, int]  # "1".."5" → answers
    choices: dict[str, int]  # new_partner | continue_independently | stop | none → answers
    valuable: list[str]  # the free texts, in the order given


class AutomaticCounts(TypedDict):
    """What the program did by itself since the last digest (`flows.digest_job`)."""

    nudges: int  # nudges sent to partners who went quiet
    rematched: int  # new pairs made from the waiting pool
    ended_silent: int  # pairs ended: a partner stayed silent through every nudge
    ended_withdrew: int  # pairs ended: a partner withdrew
    ended_bouncing: int  # pairs ended: a partner's address bounces
    carried: int  # people who waited too long, carried to the next round
    waiting: int  # people waiting for a partner now
    faq_answers: int  # questions answered automatically
    resent: int  # mail resent once by itself after an interrupted send
    silent_reports: int  # "my partner does not answer", left to the ladder and the pool
    erased_inactive: int  # people erased by retention (inactive privacy.retain_months)
    expired_mail: int  # handled and quarantined messages removed by age (retention)
    # partners' mail emptied from the holding folder by age (privacy.partner_mail_days > 0)
    expired_partner_mail: int
    erased_mail: int  # messages removed from the program folders by DELETE MY DATA


class SendingBacklog(TypedDict):
    waiting: int  # messages due and not sent yet: the sending caps or a pause hold them
    gone_by: str  # when they will all have gone at the caps' pace ("" when none waits)
    paused: str  # until when the provider's throttle or quota stopped sending ("" = not)


class DigestMail(Base):
    """The coordinators' weekly digest (the chart is attached by the flow)."""

    week_start: str  # ISO date
    counts: DigestCounts
    total: int  # pairs of the round
    running: int  # pairs running this week
    share_active: int  # per cent of the running pairs
    weekly: list[WeekShare]  # every week of the round so far
    flagged: list[FlaggedPair]
    bounces: list[str]  # addresses
    withdrawals: list[str]  # addresses
    silent_reports: list[SilentReport]
    rematch_requests: list[RematchRequest]
    deletions: int  # data deletions carried out
    applications: int  # new or updated applications
    held: list[str]  # senders we do not know, held in the mailbox
    uncertain: int  # sends still uncertain after their one automatic resend
    sending: SendingBacklog  # mail waiting for the sending caps, and when it will have gone
    survey: SurveySummary | None  # the survey so far, once it was sent
    questions: list[QuestionItem]  # open questions listed for the first time (or with news)
    automatic: AutomaticCounts
    unchanged: int  # items listed in earlier digests, still open, no news: not listed again
    needs_you: int  # items listed with an action: pairs, questions, requests


class FinalReportMail(Base):
    """The round's final report, some time after its end."""

    round: RoundFull
    pairs: int
    survey: SurveySummary | None  # None: no survey answers
    weekly: list[WeekShare]
    share_active: list[int]  # per cent, one per week of `weekly`
