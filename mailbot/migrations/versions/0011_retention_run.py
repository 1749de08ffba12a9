"""retention_run: the daily retention passes and what each removed, as counts

`flows.retention_job` erases people inactive for `privacy.retain_months` and expunges handled
and quarantined mail older than `privacy.processed_mail_days`; each pass is one row, so the
pass runs once a day and the digest can say what was removed.

Revision ID: 0011
Revises: 0010
Create Date: 2027-02-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("processed_mail", sa.Integer(), nullable=False),
        sa.Column("quarantined_mail", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_run_at", "retention_run", ["at"])


def downgrade() -> None:
    op.drop_index("ix_retention_run_at", table_name="retention_run")
    op.drop_table("retention_run")
