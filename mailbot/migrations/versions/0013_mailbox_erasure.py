"""mailbox_erasure: an erased person's messages still to be removed from the program folders

DELETE MY DATA (and retention's erasure) writes one row in its own transaction; a later step
of the same tick (`flows.mailbox_erasure`) searches every program folder for the address,
expunges the person's messages, and marks the row done with the address cleared. A crash in
between leaves the row pending, and the step runs again.

Revision ID: 0013
Revises: 0012
Create Date: 2027-02-21 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("created_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mailbox_erasure_done_at", "mailbox_erasure", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_mailbox_erasure_done_at", table_name="mailbox_erasure")
    op.drop_table("mailbox_erasure")
