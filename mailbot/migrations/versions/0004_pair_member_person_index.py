"""index pair_member.person_id: intake finds the senders' pairs by person

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pair_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pair_member_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pair_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pair_member_person_id"))
