"""Plain data shared by every part of mailbot: enums and frozen dataclasses.

Must not: do I/O, read the clock, import asyncio, sqlalchemy or jinja2.
Enum values double as template folder names, log keys and JSON values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar


class Kind(enum.StrEnum):
    """What an inbound message is, decided by `domain.classify`."""

    APPLICATION = "application"
    COMMAND = "command"
    REPLY = "reply"  # a partner's or participant's mail we record as metadata only
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LOOP = "loop"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"
    FAQ = "faq"  # a question the FAQ answers (`Verdict.faq`)
    QUESTION = "question"  # a person's words no rule understands: for a coordinator


class CommandName(enum.StrEnum):
    HELP = "help"
    STATUS = "status"
    WITHDRAW = "withdraw"
    PAUSE = "pause"
    RESUME = "resume"
    REMATCH = "rematch"
    CONTINUE = "continue"
    DELETE_MY_DATA = "delete_my_data"
    EXPORT_MY_DATA = "export_my_data"  # a coordinator's form: EXPORT <address>
    # one-word answers to nudges and check-ins
    IN_TOUCH = "in_touch"
    SILENT = "silent"
    YES = "yes"
    NO = "no"
    # coordinators only
    APPROVE = "approve"
    REDO = "redo"
    LIAISE = "liaise"
    CLOSE = "close"
    NOTE = "note"
    ANSWER = "answer"  # ANSWER <question id> <text>: a person's question answered
    CLEAR_BOUNCE = "clear_bounce"  # CLEAR BOUNCE <address>: try mailing it again


class FaqTopic(enum.StrEnum):
    """What a participant's question is about, when the FAQ answers it (`domain.intents`)."""

    CHANGE_PARTNER = "change_partner"
    PAUSE = "pause"
    LEAVE = "leave"
    APPLY = "apply"
    WHO_IS_MY_PARTNER = "who_is_my_partner"
    TOPIC = "topic"
    HOW_OFTEN = "how_often"


PARTICIPANT_COMMANDS = frozenset(
    {
        CommandName.HELP,
        CommandName.STATUS,
        CommandName.WITHDRAW,
        CommandName.PAUSE,
        CommandName.RESUME,
        CommandName.REMATCH,
        CommandName.CONTINUE,
        CommandName.DELETE_MY_DATA,
        CommandName.EXPORT_MY_DATA,
    }
)


class Sector(enum.StrEnum):
    ACADEMIC = "academic"
    PUBLIC = "public"
    SCHOOL = "school"
    SPECIAL = "special"
    GOVERNMENT = "government"
    ARCHIVES = "archives"
    MUSEUM = "museum"
    STUDENT = "student"
    OTHER = "other"


class CareerStage(enum.StrEnum):
    STUDENT = "student"
    NEW_PROFESSIONAL = "new professional"
    MID_CAREER = "mid-career"
    SENIOR = "senior"


LANGUAGES = ("en", "fr", "es")


class Field(enum.StrEnum):
    """Application form fields; the values are the JSON keys and error names."""

    NAME = "name"
    EMAIL = "email"
    COUNTRY = "country"
    TIMEZONE = "timezone"
    LANGUAGE = "language"
    INSTITUTION = "institution"
    SECTOR = "sector"
    CAREER_STAGE = "career_stage"
    INTERESTS = "interests"
    PARTNER_SECTOR = "partner_sector"
    PARTNER_CAREER_STAGE = "partner_career_stage"
    PARTNER_INTERESTS = "partner_interests"
    ABOUT = "about"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an application: which field, and a code saying how to fix it.

    `code` is one of: missing, unknown_value, invalid, too_long. `value` is what was given.
    Templates turn (field, code) into a sentence in the applicant's language.
    """

    field: Field
    code: str
    value: str = ""


class StoredFieldsError(ValueError):
    """Stored application fields that are not what `ApplicationFields.as_json` writes."""

    def __init__(self, field: Field | None, problem: str) -> None:
        where = f"application field {field.value!r}" if field else "application fields"
        super().__init__(f"{where}: {problem}")
        self.field = field


_ABSENT = object()
_Choice = TypeVar("_Choice", Sector, CareerStage)


def _stored(data: Mapping[str, object], key: Field, default: object = _ABSENT) -> object:
    if key.value in data:
        return data[key.value]
    if default is _ABSENT:
        raise StoredFieldsError(key, "missing")
    return default


def _wrong(key: Field, expected: str, value: object) -> StoredFieldsError:
    return StoredFieldsError(key, f"expected {expected}, got {type(value).__name__} {value!r}")


def _text(data: Mapping[str, object], key: Field, default: object = _ABSENT) -> str:
    value = _stored(data, key, default)
    if not isinstance(value, str):
        raise _wrong(key, "text", value)
    return value


def _text_or_none(data: Mapping[str, object], key: Field) -> str | None:
    value = _stored(data, key)
    return None if value is None else _text(data, key)


def _choice(data: Mapping[str, object], key: Field, kind: type[_Choice]) -> _Choice:
    value = _text(data, key)
    try:
        return kind(value)
    except ValueError:
        raise _wrong(key, f"one of {', '.join(kind)}", value) from None


def _wish(data: Mapping[str, object], key: Field, kind: type[_Choice]) -> _Choice | None:
    return None if _stored(data, key, None) is None else _choice(data, key, kind)


def _words(data: Mapping[str, object], key: Field, default: object = _ABSENT) -> tuple[str, ...]:
    value = _stored(data, key, default)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _wrong(key, "a list of text", value)
    return tuple(value)


@dataclass(frozen=True)
class ApplicationFields:
    name: str
    email: str
    country: str  # ISO 3166 alpha-2
    timezone: str | None  # IANA name, or None when it cannot be known
    language: str  # en | fr | es
    institution: str
    sector: Sector
    career_stage: CareerStage
    interests: tuple[str, ...]
    partner_sector: Sector | None = None  # None means "any"
    partner_career_stage: CareerStage | None = None
    partner_interests: tuple[str, ...] = ()
    about: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "email": self.email,
            "country": self.country,
            "timezone": self.timezone,
            "language": self.language,
            "institution": self.institution,
            "sector": self.sector.value,
            "career_stage": self.career_stage.value,
            "interests": list(self.interests),
            "partner_sector": self.partner_sector.value if self.partner_sector else None,
            "partner_career_stage": (
                self.partner_career_stage.value if self.partner_career_stage else None
            ),
            "partner_interests": list(self.partner_interests),
            "about": self.about,
        }

    @classmethod
    def from_json(cls, data: object) -> ApplicationFields:
        """Read back what `as_json` wrote. A missing key (one without a default here) or a value
        of the wrong type raises `StoredFieldsError` naming the field: a bad stored row is a
        fault to see, not a form to guess at."""
        if not isinstance(data, Mapping):
            raise StoredFieldsError(None, f"expected an object, got {type(data).__name__}")
        return cls(
            name=_text(data, Field.NAME),
            email=_text(data, Field.EMAIL),
            country=_text(data, Field.COUNTRY),
            timezone=_text_or_none(data, Field.TIMEZONE),
            language=_text(data, Field.LANGUAGE),
            institution=_text(data, Field.INSTITUTION),
            sector=_choice(data, Field.SECTOR, Sector),
            career_stage=_choice(data, Field.CAREER_STAGE, CareerStage),
            interests=_words(data, Field.INTERESTS),
            partner_sector=_wish(data, Field.PARTNER_SECTOR, Sector),
            partner_career_stage=_wish(data, Field.PARTNER_CAREER_STAGE, CareerStage),
            partner_interests=_words(data, Field.PARTNER_INTERESTS, ()),
            about=_text(data, Field.ABOUT, ""),
        )


@dataclass(frozen=True)
class ApplicationResult:
    """A parsed form: `fields` when valid, else `problems` (never both empty)."""

    language: str  # the language to answer in (form language or stated language)
    fields: ApplicationFields | None
    problems: tuple[Problem, ...] = ()
    raw: dict[str, str] = field(default_factory=dict)  # label -> value as found

    @property
    def valid(self) -> bool:
        return self.fields is not None and not self.problems


@dataclass(frozen=True)
class Command:
    name: CommandName
    args: dict[str, object] = field(default_factory=dict)
    source: str = "subject"  # subject | body
    text: str = ""  # the line the command was read from
    sentence: bool = False  # read from a sentence ("I have to leave the program"), not a keyword


@dataclass(frozen=True)
class BounceInfo:
    recipients: tuple[str, ...]  # addresses that failed, lower-case, as we sent to them
    permanent: bool
    status: str = ""  # e.g. "5.1.1"
    diagnostic: str = ""
    token: str = ""  # payload of our +b- tag the bounce was sent to (identifies the outbox row)
    message_id: str = ""  # Message-ID (without <>) of the mail that bounced, when returned


@dataclass(frozen=True)
class Inbound:
    """An inbound message reduced to what mailbot may look at.

    Built by `mail.parse` from raw bytes; everything is already decoded to str.
    `text` is the first text part (or the HTML converted to text); it is used only
    to read forms and commands addressed to the program, never stored for replies.
    """

    message_id: str  # without <>, or "" when missing
    raw_sha256: str
    size: int
    from_addr: str  # lower-case addr-spec, "" when missing/unparseable
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]
    return_path: str
    subject: str
    date: datetime | None  # aware UTC
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, tuple[str, ...]]  # lower-case name -> values, in order
    content_type: str  # of the top level, lower-case, e.g. "multipart/report"
    text: str
    html: str = ""
    dsn: tuple[dict[str, str], ...] = ()  # per-recipient fields of a delivery-status part
    dsn_message: dict[str, str] = field(default_factory=dict)  # per-message DSN fields
    returned_headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defects: tuple[str, ...] = ()  # parse problems worth recording

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower(), ())
        return values[0] if values else ""


class Route(enum.StrEnum):
    """Where an address or thread reference points."""

    PAIR = "p"  # a pair's tracking address
    REPLY = "r"  # a reply key for a person (participant or coordinator) or a proposal
    BOUNCE = "b"  # our envelope sender for bounces


@dataclass(frozen=True)
class RouteHit:
    route: Route
    token: str  # the verified payload (e.g. pair id, reply key, outbox key hash)
    via: str  # "to" | "cc" | "delivered_to" | "in_reply_to" | "references"


@dataclass(frozen=True)
class Verdict:
    """The classifier's decision about one inbound message."""

    kind: Kind
    reason: str
    hits: tuple[str, ...]  # rule names that fired, in order
    application: ApplicationResult | None = None
    command: Command | None = None
    bounce: BounceInfo | None = None
    routes: tuple[RouteHit, ...] = ()
    away_until: datetime | None = None  # from an out-of-office reply, when it says
    automated: bool = False  # never answer when true
    faq: FaqTopic | None = None  # Kind.FAQ: what the question is about
    language: str | None = None  # the language the person's words are in, when they tell


@dataclass(frozen=True)
class Outgoing:
    """One mail to send: decided by a flow, written to the outbox, rendered later."""

    key: str  # idempotency key, unique forever
    to: tuple[str, ...]
    template: str  # e.g. "confirmation"; folder under templates/<lang>/
    language: str
    context: dict[str, object]
    cc: tuple[str, ...] = ()
    reply_to: str = ""
    in_reply_to: str = ""  # Message-ID (without <>) this continues
    bulk: bool = False  # adds List-Unsubscribe
    not_before: datetime | None = None


@dataclass(frozen=True)
class WireMessage:
    """An outgoing message already written out (7-bit clean, CRLF, ASCII addresses only): a
    sender passes `data` on as it is. `subject` is its subject, decoded."""

    data: bytes
    subject: str
