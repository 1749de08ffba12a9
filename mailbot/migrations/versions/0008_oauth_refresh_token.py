"""oauth_refresh_token: the newest refresh token of each OAuth2 login

IMAP and SMTP can log in with OAuth2 (XOAUTH2/OAUTHBEARER). Providers rotate refresh tokens,
so the one given last is kept here (encrypted) for the next start.

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.edges.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_refresh_token",
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("updated_at", mailbot.edges.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "client_id"),
    )


def downgrade() -> None:
    op.drop_table("oauth_refresh_token")
