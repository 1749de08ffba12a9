"""Contracts of the answers to a person's own mail: welcome, help, status, confirmation, a form
with problems, a command's acknowledgement, and the two steps of DELETE MY DATA.

Written by `mailbot.flows.effects` (answers to inbound mail) and the participant command flows.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] only from real
# annotations (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import NotRequired, TypedDict

from mailbot.contexts.common import Base, RoundDates, RoundOpening


class WelcomeMail(Base):
    """To an unknown sender: what the program is, and the blank form."""


class HelpMail(Base):
    """The commands one can send, and the blank form."""


class ApplicationShown(TypedDict):
    """An application as the confirmation shows it (`ApplicationFields.as_json` and names)."""

    name: str
    email: str
    country: str  # ISO 3166 alpha-2
    country_name: str  # in the mail's language
    timezone: str | None  # IANA name; None → "not known"
    language: str  # en | fr | es
    language_name: str  # the language as a name ("español")
    institution: str
    sector: str  # form value: academic|public|school|special|government|archives|museum|…
    career_stage: str  # student|new professional|mid-career|senior
    interests: list[str]
    partner_sector: str | None  # None → "any"
    partner_career_stage: str | None  # None → "any"
    partner_interests: list[str]  # [] → "any"
    about: str  # free text, several lines allowed; "" → left out


class ConfirmationMail(Base):
    """A valid form was received (or replaced an earlier one: `updated`)."""

    fields: ApplicationShown
    round: RoundDates | None  # the round it is filed in; None → kept for the next one
    next_round: RoundOpening | None  # when `round` is None: the next round, if one is planned
    updated: bool  # True: it replaced an earlier form of theirs


class Problem(TypedDict):
    field: str  # a form field (domain.model.Field value)
    code: str  # missing | unknown_value | too_long | invalid
    value: str  # what they wrote ("" when nothing)


class ApplicationInvalidMail(Base):
    """A form with problems: each named in the reader's language, and the form again."""

    problems: list[Problem]


class StatusApplication(TypedDict):
    submitted: str  # ISO date
    round: str | None  # the round's name; None → the next round
    status: str  # the application's state


class StatusPartner(TypedDict):
    partner_name: str
    partner_country: str  # in the reader's language


class StatusMail(Base):
    """STATUS: what the program knows about the sender."""

    known: bool  # False: no person with this address (only `address` follows)
    address: str
    status: NotRequired[str]  # the person's state; only when known
    paused_until: NotRequired[str | None]  # ISO date of a running pause's end
    application: NotRequired[StatusApplication | None]  # their latest application
    pair: NotRequired[StatusPartner | None]  # their running partnership


class CommandAckMail(Base):
    """The answer to a participant's command, in their language."""

    # the command's code: pause|resume|withdraw|rematch|continue|in_touch|silent|yes|no (the
    # template names it in the reader's language)
    command: str
    # codes, each one sentence, in order (command_handlers.OUTCOME_CODES): paused_until_date resumed
    # not_paused withdrawn already_withdrawn partner_told rematched rematch_waiting
    # rematch_requested continue_noted application_kept in_touch_noted silent_flagged
    # not_in_a_pair not_allowed (anything else: "recorded")
    outcomes: list[str]
    days: int | None  # PAUSE: the length asked for
    paused_until: str | None  # ISO date the pause ends (paused_until_date)
    partner_names: list[str]  # who was told (partner_told); [] → "your partner"
    new_partner_names: list[str]  # rematched
    next_round: RoundOpening | None  # continue_noted
    by_coordinators: bool  # True: a coordinator's PAUSE <address>, not the reader's command


class DeleteConfirmMail(Base):
    """The first step of DELETE MY DATA."""

    token: str  # 8 hex characters, read back by domain.commands as DELETE MY DATA <token>
    token_wrong: bool  # a wrong code was given: a new one replaces it


class DataDeletedMail(Base):
    """The last mail to someone whose data is gone: their name is not kept (recipient_name is
    "", names {}), only the address in the outbox row."""
