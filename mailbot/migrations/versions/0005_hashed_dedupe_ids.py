"""inbound.dedupe_id holds a hash of the Message-ID, never the Message-ID itself

A Message-ID can carry the sender's address; DELETE MY DATA then had to scrub it, and a
redelivered copy of that message was no longer recognised. Existing ids are hashed in place.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 18:10:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, dedupe_id FROM inbound "
            "WHERE dedupe_id NOT LIKE 'sha256:%' AND dedupe_id NOT LIKE 'mid:%'"
        )
    ).all()
    if rows:
        conn.execute(
            sa.text("UPDATE inbound SET dedupe_id = :d WHERE id = :i"),
            [
                {"i": row_id, "d": "mid:" + hashlib.sha256(value.encode()).hexdigest()}
                for row_id, value in rows
            ],
        )


def downgrade() -> None:
    # Hashes cannot be turned back into Message-IDs: after a downgrade, copies of messages
    # recorded before it are no longer recognised as duplicates (their new copies are).
    pass
