"""retention_run.partner_mail: partners' mail emptied from the holding folder, as a count

With `privacy.partner_mail_days` above 0 intake moves recorded partner mail to
`imap.partner_hold_folder` instead of expunging it; the daily retention pass empties that
folder of what is older and counts it here, apart from the program's own mail, so the digest
can say which was which.

Revision ID: 0014
Revises: 0013
Create Date: 2027-02-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retention_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("partner_mail", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("retention_run", schema=None) as batch_op:
        batch_op.drop_column("partner_mail")
