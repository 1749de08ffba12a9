"""SQLAlchemy 2.x table models: what mailbot keeps, and nothing more.

No message bodies are stored: inbound rows hold metadata, verdicts and rule hits only. The
schema is created and upgraded by Alembic (`mailbot/migrations`); these models are its source.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class MailboxState(Base):
    """Where inbound reading stands for one folder of one mailbox."""

    __tablename__ = "mailbox_state"
    folder: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(Integer, default=0)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)


class InboundRow(Base):
    """One inbound message: its metadata and verdict. Never its body."""

    __tablename__ = "inbound"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(300), unique=True)  # folder:uidvalidity:uid
    dedupe_id: Mapped[str] = mapped_column(String(300), index=True)  # mid:/sha256: hash
    message_id: Mapped[str] = mapped_column(String(300), default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="", index=True)
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)  # To + Cc addresses
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)  # Date header
    received_at: Mapped[datetime]
    size: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    hits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20))  # processed | quarantined | requeued
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pair.id", ondelete="SET NULL"))


class Person(Base):
    """A participant, known by the address they write from."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    country: Mapped[str] = mapped_column(String(2), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|paused|withdrawn
    paused_until: Mapped[datetime | None] = mapped_column(nullable=True)
    away_until: Mapped[datetime | None] = mapped_column(nullable=True)
    bounce_score: Mapped[float] = mapped_column(Float, default=0.0)
    bounce_scored_on: Mapped[datetime | None] = mapped_column(nullable=True)
    bouncing: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_next_round: Mapped[bool] = mapped_column(Boolean, default=False)
    silent_cycles: Mapped[int] = mapped_column(Integer, default=0)
    delete_token: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoundRow(Base):
    __tablename__ = "round"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    applications_open: Mapped[datetime]
    applications_close: Mapped[datetime]
    matching_at: Mapped[datetime]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    topic_every_days: Mapped[int] = mapped_column(Integer, default=14)
    state: Mapped[str] = mapped_column(String(20), default="planned")


class Application(Base):
    """A person's application for a round (None: waiting for the next round to open)."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("person_id", "round_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    round_name: Mapped[str] = mapped_column(String(100))  # "" = next round to open
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="valid")  # valid|deferred|matched|left
    status_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CommandRow(Base):
    """A command someone sent, as understood, and whether it has been acted on."""

    __tablename__ = "command"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    sender: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="recorded")  # recorded|done|refused
    created_at: Mapped[datetime]


class BounceEvent(Base):
    __tablename__ = "bounce_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    permanent: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), default="")
    outbox_key: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime]


class Pair(Base):
    __tablename__ = "pair"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_name: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    flagged_at: Mapped[datetime | None] = mapped_column(nullable=True)  # sent to coordinators
    last_checkin_answer_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PairMember(Base):
    """A person in a pair, with the activity metadata the program may keep about them."""

    __tablename__ = "pair_member"
    __table_args__ = (UniqueConstraint("pair_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"), index=True)
    # Intake looks up the senders' pairs by person for every chunk of mail.
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    last_wrote_at: Mapped[datetime | None] = mapped_column(nullable=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)


class Outbox(Base):
    """One mail to send, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_rcpt_day", "primary_to", "created_at"),
        Index("ix_outbox_sent_at", "sent_at"),  # the sending caps count the last day's sends
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    key_digest: Mapped[str] = mapped_column(String(32), index=True)
    message_id: Mapped[str] = mapped_column(String(300))
    primary_to: Mapped[str] = mapped_column(String(320))
    to: Mapped[list[Any]] = mapped_column(JSON)
    cc: Mapped[list[Any]] = mapped_column(JSON, default=list)
    template: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(5))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    in_reply_to: Mapped[str] = mapped_column(String(300), default="")
    bulk: Mapped[bool] = mapped_column(Boolean, default=False)
    recipients: Mapped[int] = mapped_column(Integer, default=1)  # To + Cc: what the caps count
    automatic_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending → sending → sent | failed | uncertain (crash while sending: sent once more, with
    # the same Message-ID, after smtp.resend_uncertain_after_minutes — next_attempt_at says when)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # Whether the row was already queued again automatically after being uncertain: at most once.
    auto_resent: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the first attempt was made: transient failures are retried until
    # smtp.give_up_after_days after it (None: not tried yet, or queued again by hand).
    first_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SendPause(Base):
    """Sending stopped until `until` because the provider throttled us or its quota ran out
    (`flows.send_window`): kept here so a restart honours it."""

    __tablename__ = "send_pause"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)  # "smtp": the one sender
    until: Mapped[datetime]
    since: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


class Proposal(Base):
    """A matching proposal for a round, waiting for a coordinator's APPROVE or REDO."""

    __tablename__ = "proposal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_name: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), default="proposed")  # proposed|approved|redone
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # pairs, left, stats
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str] = mapped_column(String(320), default="")


class BlockedPair(Base):
    """Two people a coordinator never wants paired (lower id first)."""

    __tablename__ = "blocked_pair"
    __table_args__ = (UniqueConstraint("person_a", "person_b"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_a: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    person_b: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class NudgeRow(Base):
    """A ladder step taken (a nudge, a notice, a coordinator flag): what was already tried."""

    __tablename__ = "nudge"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), nullable=True
    )  # None: the coordinators
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]


class PairNote(Base):
    """A coordinator's NOTE on a pair."""

    __tablename__ = "pair_note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class DigestRow(Base):
    """A coordinators' digest that was sent, with the week's point for the activity chart."""

    __tablename__ = "digest"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime]
    week_start: Mapped[str] = mapped_column(String(10), unique=True)  # ISO date
    active: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)


class SurveyAnswerRow(Base):
    __tablename__ = "survey_answer"
    __table_args__ = (UniqueConstraint("person_id", "round_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), nullable=True
    )
    round_name: Mapped[str] = mapped_column(String(100), index=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valuable: Mapped[str] = mapped_column(Text, default="")
    choice: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime]


class DeletionEvent(Base):
    """That a deletion happened, and when: all coordinators are told."""

    __tablename__ = "deletion_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]


class RetentionRun(Base):
    """One daily retention pass (`flows.retention_job`): what it removed, as counts only."""

    __tablename__ = "retention_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    people: Mapped[int] = mapped_column(Integer, default=0)  # erased after retain_months
    processed_mail: Mapped[int] = mapped_column(Integer, default=0)  # expunged from Processed
    quarantined_mail: Mapped[int] = mapped_column(Integer, default=0)  # expunged from Quarantine
    # partners' mail emptied from imap.partner_hold_folder after privacy.partner_mail_days
    partner_mail: Mapped[int] = mapped_column(Integer, default=0)


class MailboxErasure(Base):
    """Messages of an erased person still to be removed from the program's folders
    (`flows.mailbox_erasure`): written in the erasure's transaction, done by a later step of
    the same tick, retried until done. The address is cleared once done."""

    __tablename__ = "mailbox_erasure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    removed: Mapped[int] = mapped_column(Integer, default=0)  # messages expunged


class OAuthRefreshToken(Base):
    """The newest refresh token of one OAuth2 login: providers rotate them (Microsoft does),
    so the one given last must survive a restart. Encrypted with a key derived from the
    program secret; `seed` is a digest of the environment's MAILBOT_OAUTH_REFRESH_TOKEN it
    descends from, so a token newly put in the environment is told from the stored one."""

    __tablename__ = "oauth_refresh_token"
    username: Mapped[str] = mapped_column(String(320), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    seed: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]


class Question(Base):
    """A participant's question for a person: open until a coordinator's ANSWER. Their words
    are kept only while it is open (cleared once answered); the person row takes it with it."""

    __tablename__ = "question"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound.id", ondelete="SET NULL"), nullable=True
    )
    sender: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5), default="en")
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open|answered
    asked_at: Mapped[datetime]
    forwarded_at: Mapped[datetime | None] = mapped_column(nullable=True)  # mailed at once
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    answered_by: Mapped[str] = mapped_column(String(320), default="")


class DigestItem(Base):
    """An item a digest listed and what it said then: listed again only when that changes,
    forgotten once the item is no longer open. Keys name ids or hashes, never addresses."""

    __tablename__ = "digest_item"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # "pair:12", "question:3"
    news: Mapped[str] = mapped_column(String(300))
    listed_at: Mapped[datetime]
