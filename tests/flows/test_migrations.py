"""The Alembic migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mailbot.edges.db import Database
from mailbot.edges.tables import Base


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        db.dispose()
    assert diff == []


def test_upgrading_hashes_the_message_ids_kept_for_dedupe(db_url: str) -> None:
    import hashlib
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from mailbot.edges.db import upgrade
    from mailbot.edges.tables import InboundRow

    db = Database(db_url)
    try:
        upgrade(db.engine, "0004")
        row = dict(
            message_id="", from_addr="", recipients=[], received_at=datetime.now(UTC), size=1,
            kind="reply", reason="", hits=[], state="processed",
        )  # fmt: skip
        with db.engine.begin() as conn:
            conn.execute(
                insert(InboundRow.__table__),
                [
                    {**row, "source_key": "a", "dedupe_id": "1768204800.ana@example.net"},
                    {**row, "source_key": "b", "dedupe_id": "sha256:" + "0" * 64},
                ],
            )
        db.upgrade()
        with db.engine.connect() as conn:
            ids = list(conn.scalars(select(InboundRow.dedupe_id).order_by(InboundRow.source_key)))
    finally:
        db.dispose()
    digest = hashlib.sha256(b"1768204800.ana@example.net").hexdigest()
    assert ids == [f"mid:{digest}", "sha256:" + "0" * 64]
