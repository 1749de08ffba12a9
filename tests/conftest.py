"""Session fixtures for tests that need real servers: the mail stack, PostgreSQL, database URLs.

Fixtures:
  mailstack  dict describing a running Dovecot (IMAP) + SMTP stack on 127.0.0.1 (see below)
  oauth_mailstack  the same with XOAUTH2/OAUTHBEARER logins (scripts/oauth2-stack.sh)
  pg_url     SQLAlchemy URL of a running PostgreSQL's mailbot_test database
  db_url     parametrised over sqlite and postgresql: a fresh, empty database URL per test

scripts/test.sh starts both servers once and exports MAILBOT_TEST_MAILSTACK_DIR and
MAILBOT_TEST_PG_URL; without those (plain `pytest`), the fixtures start their own servers with
scripts/mailstack.sh / scripts/pg.sh under /tmp and stop them at the end of the session.  They
skip only when the servers cannot exist here: not root and the Debian packages are missing.

This module imports nothing from mailbot on purpose: it must work whatever state the app is in.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAILSTACK_SH = ROOT / "scripts" / "mailstack.sh"
OAUTH2_STACK_SH = ROOT / "scripts" / "oauth2-stack.sh"
PG_SH = ROOT / "scripts" / "pg.sh"

# the five ports of a stack at offset 0 (IMAP, IMAPS, SMTP, submission, SMTPS)
_MAIL_PORTS = (10143, 10993, 10025, 10587, 10465)


def read_env_file(path: pathlib.Path) -> dict[str, str]:
    """Parse a KEY=VALUE file (mailstack.env, pg.env) into a dict."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            env[key] = value
    return env


def load_mailstack(stack_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe the stack in stack_dir.

    The dict holds every MAILSTACK_* key of DIR/mailstack.env as a string (as in the mailstack
    README), "USERS" ({email: password}, from DIR/users.txt) and, for convenience, typed keys:
    host, imap_port, imaps_port, smtp_port, submission_port, smtps_port (ints; 0 = off),
    ca_file and dir.
    """
    env = read_env_file(pathlib.Path(stack_dir) / "mailstack.env")
    cfg: dict[str, Any] = dict(env)
    users: dict[str, str] = {}
    for line in pathlib.Path(env["MAILSTACK_USERS_FILE"]).read_text().splitlines():
        if line.strip():
            email, password = line.split(maxsplit=1)
            users[email] = password
    cfg["USERS"] = users
    cfg["host"] = env["MAILSTACK_HOST"]
    for name in ("imap", "imaps", "smtp", "submission", "smtps"):
        cfg[f"{name}_port"] = int(env.get(f"MAILSTACK_{name.upper()}_PORT", "0"))
    cfg["ca_file"] = env["MAILSTACK_CA_FILE"]
    cfg["dir"] = env["MAILSTACK_DIR"]
    return cfg


def _is_root() -> bool:
    return os.geteuid() == 0


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _worker_index() -> int:
    """0 for gw0 under pytest-xdist, -1 when not under xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else -1


def _keep_or_remove(request: pytest.FixtureRequest, path: str, what: str) -> None:
    """Remove a server's dir at the end of the session, unless tests failed (logs are there)."""
    if request.session.testsfailed:
        print(f"\n{what}: tests failed, logs kept in {path}/log", file=sys.stderr)
    else:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _running_stack(
    request: pytest.FixtureRequest,
    script: pathlib.Path,
    prefix: str,
    base: int,
    what: str,
    skip_unless_root: str,
) -> Iterator[str]:
    """Start `script` (mailstack.sh or oauth2-stack.sh) in a new dir on the first free port
    offset from `base` (another stack may hold the ports, or take them between our check and
    the start); yield the dir; stop it at the end. Not root and `skip_unless_root` is in the
    error (or empty: any error) → skip, else fail."""
    # NOT tmp_path_factory: as root the daemons' users must traverse every parent (0700 there)
    stack_dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(stack_dir, 0o755)
    env = dict(os.environ)
    if not _is_root():
        # the aiosmtpd relay backend: reuse this interpreter if it has aiosmtpd (test extras)
        env.setdefault("MAILSTACK_PYTHON", sys.executable)
    result: subprocess.CompletedProcess[str] | None = None
    for attempt in range(10):
        offset = base + 1000 * attempt
        if any(_port_busy(p + offset) for p in _MAIL_PORTS):
            continue
        env["MAILSTACK_PORT_OFFSET"] = str(offset)
        result = subprocess.run(
            [str(script), "start", stack_dir], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode == 0 or "already in use" not in result.stderr:
            break
    if result is None or result.returncode != 0:
        shutil.rmtree(stack_dir, ignore_errors=True)
        err = result.stderr.strip() if result else "no free mail ports found"
        if not _is_root() and skip_unless_root in err:
            pytest.skip(f"{what} unavailable (not root): {err}")
        pytest.fail(f"{script.name} start failed:\n{err}", pytrace=False)
    try:
        yield stack_dir
    finally:
        subprocess.run([str(script), "stop", stack_dir], capture_output=True, check=False)
        _keep_or_remove(request, stack_dir, what)


@pytest.fixture(scope="session")
def mailstack(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A running mail stack: MAILBOT_TEST_MAILSTACK_DIR's, or one started for this session.

    Logins are full addresses with password "<localpart>-pass" (coordinator@example.org,
    alice/bob/carol/dave at example.org and example.net, catchall@example.org).  Mail to
    alice+tag@example.org lands in alice's INBOX; mail to other domains in the catch-all.
    Note: with scripts/test.sh all pytest-xdist workers share one stack, so tests that count
    messages should use their own addresses (tests.support.mailbox.new_user).
    """
    given = os.environ.get("MAILBOT_TEST_MAILSTACK_DIR")
    if given:
        yield load_mailstack(given)
        return
    base = 100 * (_worker_index() + 1)
    with _running_stack(
        request, MAILSTACK_SH, "mailbot-mailstack-", base, "mail stack", "missing Debian packages"
    ) as stack_dir:
        yield load_mailstack(stack_dir)


@pytest.fixture(scope="session")
def oauth_mailstack(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A second stack whose Dovecot also takes SASL XOAUTH2/OAUTHBEARER with HS256 JWTs,
    validated locally (scripts/oauth2-stack.sh); Postfix offers them through Dovecot SASL.

    As `mailstack`, plus the keys of DIR/oauth2.env: OAUTH2_KEY_FILE (base64 of the HMAC key),
    OAUTH2_ISSUER (the "iss" tokens need), ...  Always started for the session (ports at
    offset 70 + 100 per xdist worker), never shared with scripts/test.sh's stack; needs root
    (Postfix, Dovecot's auth user).
    """
    base = 70 + 100 * (_worker_index() + 1)
    with _running_stack(
        request, OAUTH2_STACK_SH, "mailbot-oauthstack-", base, "oauth2 mail stack", ""
    ) as stack_dir:
        cfg = load_mailstack(stack_dir)
        cfg.update(read_env_file(pathlib.Path(stack_dir) / "oauth2.env"))
        yield cfg


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of a running PostgreSQL's mailbot_test database.

    Tests should not create tables in it directly: use db_url for a fresh database.
    """
    given = os.environ.get("MAILBOT_TEST_PG_URL")
    if given:
        yield given
        return

    pg_dir = tempfile.mkdtemp(prefix="mailbot-pg-", dir="/tmp")
    os.chmod(pg_dir, 0o755)
    env = dict(os.environ)
    result: subprocess.CompletedProcess[str] | None = None
    # xdist workers each start their own server when none was given: gw0 from 15442, gw1 15452...
    worker = _worker_index()
    first = int(env.get("MAILBOT_PG_PORT", "15432")) + (10 * (worker + 1) if worker >= 0 else 0)
    for port in range(first, first + 100):
        if _port_busy(port):
            continue
        env["MAILBOT_PG_PORT"] = str(port)
        result = subprocess.run(
            [str(PG_SH), "start", pg_dir], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode == 0 or "already in use" not in result.stderr:
            break
    if result is None or result.returncode != 0:
        shutil.rmtree(pg_dir, ignore_errors=True)
        err = result.stderr.strip() if result else "no free PostgreSQL port found"
        if not _is_root() and "binaries not found" in err:
            pytest.skip(f"PostgreSQL unavailable (not root, not installed): {err}")
        pytest.fail(f"scripts/pg.sh start failed:\n{err}", pytrace=False)
    try:
        yield result.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(PG_SH), "stop", pg_dir], capture_output=True, check=False)
        _keep_or_remove(request, pg_dir, "postgresql")


def _libpq_url(sqlalchemy_url: str, database: str) -> str:
    """postgresql+psycopg://u@h:p/x -> postgresql://u@h:p/<database> (what psycopg accepts)."""
    parts = urlsplit(sqlalchemy_url)
    return urlunsplit(parts._replace(scheme="postgresql", path=f"/{database}"))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    """A fresh, empty database for one test, once on SQLite and once on PostgreSQL.

    sqlite:     sqlite:///<tmp_path>/mailbot.sqlite3
    postgresql: postgresql+psycopg://mailbot@127.0.0.1:PORT/mailbot_t_<random>, dropped after
                (WITH (FORCE), so connections a test forgot to close do not block it)
    Deselect the PostgreSQL half with -m "not postgres".
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailbot.sqlite3'}"
        return

    import psycopg  # test extra; imported here so SQLite-only runs don't need it

    base = request.getfixturevalue("pg_url")
    name = f"mailbot_t_{uuid.uuid4().hex[:16]}"
    admin = _libpq_url(base, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
