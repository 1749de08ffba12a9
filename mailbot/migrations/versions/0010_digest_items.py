"""digest_item: what the coordinators' digests listed, so an item is not listed twice without news

Each item a digest lists (a pair that needs a decision, a question, a request ...) is kept
under its key with what the digest said about it; the next digest lists it again only when
that changed, and forgets it once the item is no longer open.

Revision ID: 0010
Revises: 0009
Create Date: 2027-02-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_item",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("news", sa.String(length=300), nullable=False),
        sa.Column("listed_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("digest_item")
