"""Contract of `data_export`: what the program holds about a person, as a letter in their
language (the same data, complete, is the JSON attachment in `_attachments`).

Written by `mailbot.flows.export`: to the person (EXPORT MY DATA) or, in English, to the
coordinator who asked with EXPORT <address> (`for_coordinator`).

Must not: do I/O.
"""

# No `from __future__ import annotations`, as in the other contract modules (real annotations
# for `__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import TypedDict

from mailbot.contexts.common import Base


class ExportProfile(TypedDict):
    name: str
    email: str
    country_name: str  # in the mail's language
    language: str  # en | fr | es
    timezone: str | None  # IANA name; None → not known
    status: str  # active | paused | withdrawn
    since: str  # ISO date the person was first recorded


class ExportField(TypedDict):
    name: str  # the stored field's key (name, country, interests, …)
    value: str  # lists joined with ", "


class ExportApplication(TypedDict):
    round: str  # "" → waiting for the next round
    status: str  # valid | deferred | matched | left
    submitted: str  # ISO date
    fields: list[ExportField]


class ExportPartner(TypedDict):
    name: str
    country_name: str


class ExportNote(TypedDict):
    on: str  # ISO date
    text: str  # the coordinator's words


class ExportPair(TypedDict):
    round: str
    state: str  # active | paused | ended | closed
    started: str  # ISO date
    ended: str | None
    round_ends: str | None  # the round's last day, when the round is known
    partners: list[ExportPartner]
    messages: int  # how many of their messages in the pair were counted
    last_wrote: str | None  # ISO date
    notes: list[ExportNote]  # what coordinators wrote about the pair


class ExportNudge(TypedDict):
    on: str  # ISO date
    kind: str  # the ladder step (nudge_quiet, nudge_one_sided, …)


class ExportSurvey(TypedDict):
    round: str
    satisfaction: int | None
    valuable: str
    choice: int | None


class DataExportMail(Base):
    """Everything held about one person (EXPORT MY DATA, or a coordinator's EXPORT)."""

    for_coordinator: bool  # True: to a coordinator who asked (English), not to the person
    profile: ExportProfile
    applications: list[ExportApplication]
    pairs: list[ExportPair]
    activity_dates: list[str]  # ISO dates the program received mail from them
    nudges: list[ExportNudge]
    survey_answers: list[ExportSurvey]
    mail_received: int  # messages from them the program recorded (metadata only)
    mail_sent: int  # messages the program wrote to them
    other_records: int  # other rows naming them (in the attachment, with what names them)
