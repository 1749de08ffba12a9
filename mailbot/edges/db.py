"""Database adapter: engine and sessions for SQLite or PostgreSQL, and Alembic upgrades.

Thin: no decisions. SQLite gets WAL, a busy timeout (30 s, or the URL's `?timeout=` in
seconds) and foreign keys so that the daemon and a CLI command can share the file;
PostgreSQL is used as is.
`unavailable(error)` tells the database's own failures (locked, gone, timed out) from
failures a message caused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVarTuple

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Result, Select, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


_Cols = TypeVarTuple("_Cols")


def core_rows(
    session: Session, statement: Select[*_Cols], params: Any = None
) -> Result[*_Cols]:
    """A plain read of columns (no ORM objects) inside `session`'s transaction, without the
    ORM's per-statement machinery (several times the cost of the read itself for a
    `select` of columns with an expanding IN list). What the session holds unflushed is
    flushed first, as autoflush would, so the read sees it."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, params)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A timeout given in the URL (`?timeout=2`) is passed by the dialect itself.
        connect_args = {} if "timeout" in parsed.query else {"timeout": 30}
        engine = create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def unavailable(error: BaseException) -> bool:
    """The database itself failed (locked past the busy timeout, connection lost, pool
    exhausted): trying again later will do, and no message is to blame."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError))


def describe(error: BaseException) -> str:
    """The driver's own words: SQLAlchemy's repeat the statement and its parameters
    (addresses), which do not belong in a log line or on a terminal."""
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {cause}"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` with Alembic."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


class Database:
    """An engine plus a session factory; `transaction()` commits or rolls back as one unit.

    It also counts the statements that write each table (`writes`), so that a value read from
    the database can be kept between transactions for as long as nothing it was read from has
    been written (`flows.round_snapshot.shared_snapshot`). Counted in this process: the
    daemon's single-instance lock makes it the one writer of a running round."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.writes: Counter[str] = Counter()  # table -> statements; "*": any table, unknown
        self.kept: dict[str, Any] = {}  # values read once and kept while `writes` allows
        event.listen(self.engine, "before_cursor_execute", self._count_write)
        event.listen(self.engine, "rollback", self._count_rollback)

    def _count_write(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        compiled = getattr(context, "compiled", None)
        if compiled is None:  # text SQL: only a read when it says so
            if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA"):
                self.writes["*"] += 1
        elif context.isinsert or context.isupdate or context.isdelete:
            table = getattr(getattr(compiled, "statement", None), "table", None)
            self.writes[getattr(table, "name", None) or "*"] += 1

    def _count_rollback(self, _conn: Any) -> None:
        self.writes["*"] += 1  # what was read inside the transaction may be undone

    def written(self, tables: Iterable[str]) -> int:
        """How many statements have written any of `tables` (or an unknown table) so far, and
        transactions rolled back: unchanged means what was read from them still holds."""
        return self.writes["*"] + sum(self.writes[t] for t in tables)

    def upgrade(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in a transaction, for a flow's one-statement writes: no ORM
        session to build (about half the cost of `transaction()` for a single UPDATE)."""
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
