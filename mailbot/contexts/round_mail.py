"""Contracts of the round's mail to participants: the introduction, topics, nudges, notices about
a partner, the check-in, the survey, a coordinator's LIAISE or CLOSE, and the mail about rounds
(applications open, left without a partner this round).

Per-recipient mail (everything but the introduction) carries, where it mentions the partnership,
`pair` = `common.PairRef`. Written by the round's jobs and the participant/coordinator command
flows.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] only from real
# annotations (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import NotRequired, TypedDict

from mailbot.contexts.common import (
    Base,
    PairRef,
    RoundEnd,
    RoundFull,
    RoundName,
    RoundOpening,
    RoundSpan,
)


class IntroducedMember(TypedDict):
    name: str
    email: str
    country_name: str  # in the mail's language if known ("Espagne")
    institution: str
    # form value: academic|public|school|special|government|archives|museum|student|other
    # (localised by fr/es)
    sector: str
    career_stage: str  # student|new professional|mid-career|senior
    interests: list[str]  # as the applicant wrote them
    about: str | None  # free text, several lines allowed; ""/None → left out
    timezone: str | None  # IANA name; ""/None → unknown
    # "HH:MM": this member's clock at ONE instant common to all members; ""/None → unknown
    # (then no time lines)
    local_time: str | None
    language_name: str  # the language they wrote in, as a name ("español")


class IntroductionReasons(TypedDict):
    shared_interests: list[str]  # interests both (all) members gave
    # "kind: value", kind in sector | career stage | interest ("sector: academic"); fr/es
    # translate the kind and sector/stage values; other strings verbatim
    wishes_met: list[str]
    # waking hours in common; shown only if every clock is known (so 0 for "unknown" is harmless)
    overlap_hours: float | None
    common_languages: list[str]  # codes ("en") or names; [] → none in common


class IntroducedPair(TypedDict):
    """The pair being introduced (more keys, e.g. "id", are fine)."""

    members: list[IntroducedMember]  # every member, in the order to present them; 2 or 3
    # largest gap between members' UTC offsets, in hours (sign ignored); shown only if every
    # clock is known
    zone_difference_hours: float | None
    reasons: IntroductionReasons
    round: RoundSpan  # more keys are fine
    tracking_address: str


class IntroductionMail(Base):
    """One mail To: every member of the pair (2, or 3 for a trio), Cc: the tracking address, in
    a language they share; or, when they share none, one copy each in its recipient's language.

    `recipient_name` is the names of THIS mail's recipients, joined ("Amaia Etxeberria & Kofi
    Mensah"); the greeting uses it as it is.
    """

    pair: IntroducedPair


class TopicText(TypedDict):
    number: int  # 1..count
    count: int  # topics in the round (9 by default)
    slug: str  # config/topics.toml slug (not shown; for logs and the caller)
    title: str  # in the recipient's language (topics.toml [topics.<lang>].title)
    # idem .prompt: paragraphs split by a blank line; lines starting with "- " are questions
    # (a list in HTML)
    prompt: str


class TopicMail(Base):
    """One mail per member, at their local morning, in their language."""

    topic: TopicText
    pair: PairRef
    round: RoundEnd


class TopicRef(TypedDict):
    number: int
    count: int
    title: str


class NudgeQuietMail(Base):
    """To each member separately (day 14 without any pair signal)."""

    pair: PairRef
    days: int  # days since the last signal
    topic: TopicRef | None  # the current one


class NudgeOneSidedMail(Base):
    """To the silent member."""

    pair: PairRef
    writer_name: str  # the partner who wrote
    days: int  # days since that partner's last message with no answer


class NudgeSecondMail(Base):
    """To each member separately (day 21)."""

    pair: PairRef
    days: int
    cause: str  # "quiet" (nobody wrote) | "one_sided" (to the silent one; writer_name wrote)
    writer_name: str


class PartnerBouncingMail(Base):
    """To the member(s) whose partner's address fails."""

    partner_name: str  # the one whose address bounces


class PartnerPausedMail(Base):
    partner_name: str
    paused_until: str | None  # ISO date


class PartnerResumedMail(Base):
    """To the partner(s) of someone who ended a pause early."""

    partner_name: str


class PartnerWithdrewMail(Base):
    partner_name: str  # who left
    still_with: list[str]  # in a trio, the partner(s) the recipient still has; [] in a pair
    round: RoundEnd


class PartnerLeftMail(Base):
    """To the partner(s) of someone who asked to be forgotten: names nobody."""

    still_with: list[str]  # a trio's remaining partner; [] in a pair
    round: RoundEnd


class PairClosedMail(Base):
    """To each member when a coordinator CLOSEs their pair."""

    partner_names: list[str]
    round: RoundEnd


class LiaiseMail(Base):
    """A coordinator's LIAISE <pair> <text>, To the silent member, Cc the others and the
    tracking address."""

    text: str  # the coordinator's own words, verbatim
    partner_names: list[str]  # the members in copy


class CheckinMail(Base):
    """Mid-round, to each member. Answers: YES / NO / PAUSE (OUI/NON, SÍ/NO, PAUSA) on the
    first line."""

    pair: PairRef
    round: RoundEnd


class SurveyMail(Base):
    """End of round, to each member.

    The mail shows three blank lines to fill in, read back by domain.survey.parse_survey_answer
    (tested in test_round_templates): en "Satisfaction:" / "Most valuable:" / "Choice:"; fr
    "Satisfaction :" / "Le plus précieux :" / "Choix :"; es "Satisfacción:" / "Lo más valioso:" /
    "Opción:"; choice 1 a new partner next round, 2 continue independently, 3 stop. The mail
    pasted back unquoted answers nothing.
    """

    pair: PairRef
    round: RoundEnd
    reply_by: str | None  # ISO date


class RoundDeferredMail(Base):
    """An applicant left without a partner this round."""

    reason_code: str  # country_cap | odd_one_out | no_eligible_partner | paused | silent
    round: RoundName  # the round they applied to
    next_round: RoundOpening | None  # their application is kept for it
    country_name: NotRequired[str | None]  # their country, named for country_cap if given


class RoundOpenedMail(Base):
    """Applications are open."""

    round: RoundFull
    # default True: an application of theirs is already registered for this round
    # (deferred/waiting applicants: nothing to do); False for past participants, who are
    # invited to reply CONTINUE or to send the form again
    application_kept: NotRequired[bool]
