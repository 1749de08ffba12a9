"""Contracts of the FAQ's answers (`faq_<topic>`, one template a topic of
`domain.model.FaqTopic`), written by `mailbot.flows.faq_answers` in the person's language.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] only from real
# annotations (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import TypedDict

from mailbot.contexts.common import Base, RoundDates, RoundOpening
from mailbot.contexts.round_mail import TopicText


class FaqChangePartnerMail(Base):
    """How to ask for a new partner (REMATCH), and what happens then."""

    in_pair: bool  # the asker is in a running pair now


class FaqPauseMail(Base):
    """How to pause (PAUSE 3 weeks, PAUSE until 15 March) and resume."""


class FaqLeaveMail(Base):
    """How to leave (WITHDRAW, confirmed by a reply), pause instead, or delete one's data."""


class FaqApplyMail(Base):
    """How to apply: the form, and the round it would be filed in."""

    round: RoundDates | None  # the round open for applications now, if any
    next_round: RoundOpening | None  # else the next one planned, if any


class FaqPartner(TypedDict):
    name: str
    country: str  # in the reader's language


class FaqWhoIsMyPartnerMail(Base):
    """Who the asker's partner is (1, or 2 in a trio), and the pair's tracking address."""

    partners: list[FaqPartner]  # [] → not in a running pair
    tracking_address: str  # "" when not in a running pair


class FaqTopicMail(Base):
    """The pair's current topic sent again, and when the next one comes."""

    topic: TopicText | None  # None → no topic is due yet (or the last one is past)
    next_topic_on: str | None  # ISO date of the next topic; None → no more this round
    tracking_address: str  # "" when not in a running pair
    in_pair: bool


class FaqHowOftenMail(Base):
    """How often partners are asked to write: the program's rhythm."""

    topic_every_days: int
