"""question: participants' questions held for a coordinator's ANSWER

A message from a participant that is neither a command nor an FAQ is one open question, with
the person's words, until a coordinator answers it (`ANSWER <id> <text>`); the words are
cleared once it is answered.

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("asked_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("forwarded_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_question_person_id", "question", ["person_id"])
    op.create_index("ix_question_state", "question", ["state"])


def downgrade() -> None:
    op.drop_index("ix_question_state", table_name="question")
    op.drop_index("ix_question_person_id", table_name="question")
    op.drop_table("question")
