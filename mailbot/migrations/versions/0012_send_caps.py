"""send caps: outbox.recipients, an index on outbox.sent_at, and send_pause

The outbox keeps to the provider's sending caps by counting, once per delivery run, the
recipients it sent in the last minute, hour and day (`outbox.recipients` summed over
`sent_at`, indexed), so the count survives a restart; a throttling or quota refusal pauses
sending until `send_pause.until`, also across a restart.

Revision ID: 0012
Revises: 0011
Create Date: 2027-02-20 10:00:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recipients", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])
    op.create_table(
        "send_pause",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("until", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("since", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _count_recipients()


def _count_recipients() -> None:
    """Rows still to send, and those sent in the last two days (all the caps look at)."""
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("to", sa.Text()),
        sa.column("cc", sa.Text()),
        sa.column("status", sa.String()),
        sa.column("sent_at", mailbot.edges.tables.UTCDateTime(timezone=True)),
        sa.column("recipients", sa.Integer()),
    )
    since = datetime.now(UTC) - timedelta(days=2)
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(outbox.c.id, outbox.c.to, outbox.c.cc).where(
            sa.or_(outbox.c.status != "sent", outbox.c.sent_at >= since)
        )
    ).all()
    counts = [{"row_id": row_id, "n": len(_list(to)) + len(_list(cc))} for row_id, to, cc in rows]
    wide = [c for c in counts if c["n"] != 1]
    if wide:
        bind.execute(
            outbox.update()
            .where(outbox.c.id == sa.bindparam("row_id"))
            .values(recipients=sa.bindparam("n")),
            wide,
        )


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return list(json.loads(value)) if isinstance(value, str) and value else []


def downgrade() -> None:
    op.drop_table("send_pause")
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("recipients")
