"""outbox.first_attempt_at: transient failures are retried for days, not for 8 attempts

Eight attempts with doubling backoff gave up after about two hours, so a relay outage of a
few hours failed everything queued. Giving up is now decided by the time since the first
attempt (smtp.give_up_after_days); rows already waiting count from their next attempt.

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "first_attempt_at",
                mailbot.edges.tables.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("first_attempt_at")
