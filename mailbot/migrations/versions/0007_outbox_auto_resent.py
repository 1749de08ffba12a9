"""outbox.auto_resent: a row a crash left uncertain is sent once more by itself

Mail a crash left mid-send was never resent without a person; now it is queued again once,
with the same Message-ID, after smtp.resend_uncertain_after_minutes. Rows already uncertain
were left under the old promise (a person decides), so they count as resent already.

Revision ID: 0007
Revises: 0006
Create Date: 2027-02-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_resent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE outbox SET auto_resent = true WHERE status = 'uncertain'")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("auto_resent")
