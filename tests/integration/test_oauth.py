"""OAuth2 logins against real servers: Dovecot's oauth2 passdb (IMAP) and Postfix SMTP AUTH
through Dovecot SASL, both taking XOAUTH2/OAUTHBEARER with JWTs from a stand-in token endpoint
(tests/support/idp.py) that speaks real HTTP on loopback.

Covers a fresh token (IMAP fetch, SMTP send), an expired token renewed, a rotated refresh token
kept across a restart (a new `app.build` reads it from the database), a revoked refresh token
(a clear error, nothing lost, working again after a new login without a restart) and
`mailbot oauth login` through the device flow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mailbot import settings as settings_mod
from mailbot.app import build
from mailbot.deps import Deps
from mailbot.edges.imap import ImapError, ImapMailbox, ImapSettings
from mailbot.edges.oauth import DbRefreshTokens, OAuthClient, TokenSource, seed_digest
from tests.support import mailbox as mbx
from tests.support.idp import StandInIdP

pytestmark = pytest.mark.integration

Stack = dict[str, Any]
CLIENT_ID = "mailbot-test"
SECRET = "s3cret-for-tests"


@pytest.fixture
def idp(oauth_mailstack: Stack) -> Iterator[StandInIdP]:
    with StandInIdP.for_stack(oauth_mailstack, client_id=CLIENT_ID) as server:
        yield server


@pytest.fixture
def user(oauth_mailstack: Stack) -> str:
    return mbx.new_user(oauth_mailstack, prefix="oauth", domain="example.net")


@pytest.fixture
def env_for(
    oauth_mailstack: Stack, idp: StandInIdP, user: str, tmp_path: Path
) -> Callable[..., dict[str, str]]:
    """MAILBOT_* variables: IMAP (plain port) and SMTP (submission, STARTTLS) both OAuth2."""

    def make(**extra: str) -> dict[str, str]:
        s = oauth_mailstack
        env = {
            "MAILBOT_PROGRAM_SECRET": SECRET,
            "MAILBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'mailbot.sqlite3'}",
            "MAILBOT_IMAP_HOST": s["host"],
            "MAILBOT_IMAP_PORT": str(s["imap_port"]),
            "MAILBOT_IMAP_TLS": "none",
            "MAILBOT_IMAP_USERNAME": user,
            "MAILBOT_IMAP_AUTH": "oauth2",
            "MAILBOT_SMTP_HOST": s["host"],
            "MAILBOT_SMTP_PORT": str(s["submission_port"]),
            "MAILBOT_SMTP_TLS": "starttls",
            "MAILBOT_SMTP_CA_FILE": s["ca_file"],
            "MAILBOT_SMTP_USERNAME": user,
            "MAILBOT_SMTP_AUTH": "oauth2",
            "MAILBOT_OAUTH_TOKEN_ENDPOINT": idp.token_url,
            "MAILBOT_OAUTH_DEVICE_AUTHORIZATION_ENDPOINT": idp.device_url,
            "MAILBOT_OAUTH_CLIENT_ID": CLIENT_ID,
        }
        env.update(extra)
        return env

    return make


def _deps(env: dict[str, str]) -> Deps:
    deps = build(settings_mod.load(None, env))
    deps.db.upgrade()
    return deps


async def _send_and_read(deps: Deps, user: str, subject: str) -> bytes:
    """Send `subject` to `user` over SMTP and read it back over IMAP, both as `user`."""
    msg = mbx.make_message(user, user, subject=subject)
    sender = deps.sender()
    try:
        result = await sender.send(msg, envelope_from=user, recipients=[user])
    finally:
        await sender.close()
    assert result.ok, result
    box = deps.mailbox()
    try:
        await box.connect()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            uids = await box.new_uids(0)
            fetched = [f.raw for f in await box.fetch(uids)]
            hits = [raw for raw in fetched if subject.encode() in raw]
            if hits:
                return hits[0]
            await asyncio.sleep(0.05)
    finally:
        await box.close()
    raise AssertionError(f"{subject!r} never arrived")


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
async def test_a_fresh_token_logs_in_to_imap_and_smtp(
    idp: StandInIdP, user: str, env_for: Callable[..., dict[str, str]], mechanism: str
) -> None:
    deps = _deps(
        env_for(
            MAILBOT_OAUTH_REFRESH_TOKEN=idp.new_refresh_token(user),
            MAILBOT_OAUTH_MECHANISM=mechanism,
        )
    )
    raw = await _send_and_read(deps, user, f"fresh {mechanism}")
    assert b"fresh " + mechanism.encode() in raw
    # one refresh for both protocols: the login's token source is shared and cached
    assert len(idp.refreshes()) == 1


def _imap_settings(stack: Stack, user: str) -> ImapSettings:
    return ImapSettings(
        host=stack["host"], port=stack["imap_port"], username=user, password="", tls="none",
        auth="oauth2",
    )  # fmt: skip


async def test_a_token_the_server_finds_expired_is_renewed_once(
    oauth_mailstack: Stack, idp: StandInIdP, user: str, tmp_path: Path
) -> None:
    from mailbot.edges.db import Database

    db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    db.upgrade()
    # The endpoint says an hour; the token dies after 2 s (a clock skew, an early revocation).
    idp.ttl, idp.advertised_ttl = 2, 3600
    source = TokenSource(
        OAuthClient(idp.token_url, CLIENT_ID),
        user,
        DbRefreshTokens(db, CLIENT_ID, SECRET),
        idp.new_refresh_token(user),
    )
    async with ImapMailbox(_imap_settings(oauth_mailstack, user), source) as box:
        assert await box.uidvalidity() > 0
    await asyncio.sleep(3.1)
    idp.ttl = 3600
    async with ImapMailbox(_imap_settings(oauth_mailstack, user), source) as box:
        assert await box.uidvalidity() > 0
    assert source.refreshes == 2 and len(idp.refreshes()) == 2
    db.dispose()


async def test_a_rotated_refresh_token_survives_a_restart(
    idp: StandInIdP, user: str, env_for: Callable[..., dict[str, str]]
) -> None:
    idp.rotate = True
    first = idp.new_refresh_token(user)
    env = env_for(MAILBOT_OAUTH_REFRESH_TOKEN=first)
    deps = _deps(env)
    await _send_and_read(deps, user, "before the restart")
    deps.db.dispose()
    # The environment still holds the first token, which the provider no longer takes.
    restarted = _deps(env)
    await _send_and_read(restarted, user, "after the restart")
    used = idp.refreshes()
    assert used[0] == first and len(used) == 2 and used[1] != first
    restarted.db.dispose()


async def test_a_revoked_refresh_token_is_a_clear_error_and_nothing_is_lost(
    idp: StandInIdP, user: str, env_for: Callable[..., dict[str, str]]
) -> None:
    from mailbot.app import refresh_token_store
    from mailbot.checks import check_connections

    revoked = idp.new_refresh_token(user)
    idp.revoke(revoked)
    env = env_for(MAILBOT_OAUTH_REFRESH_TOKEN=revoked)
    deps = _deps(env)

    box = deps.mailbox()
    with pytest.raises(ImapError) as caught:
        await box.connect()
    assert "invalid_grant" in str(caught.value)
    assert "mailbot oauth login" in str(caught.value)
    await box.close()

    sender = deps.sender()
    msg = mbx.make_message(user, user, subject="waits for a login")
    result = await sender.send(msg, envelope_from=user, recipients=[user])
    # transient and about us: the outbox keeps the row and blames no recipient
    assert not result.ok and not result.permanent and result.blocked, result
    assert "mailbot oauth login" in result.detail

    problems = await check_connections(deps.settings)
    assert any("mailbot oauth login" in p for p in problems), problems

    # Someone logs in again (as `mailbot oauth login` would store it); no restart needed.
    refresh_token_store(deps.settings, deps.db).save(
        user, idp.new_refresh_token(user), seed_digest(revoked)
    )
    async with deps.mailbox() as box:  # type: ignore[attr-defined]
        assert await box.uidvalidity() > 0
    result = await sender.send(msg, envelope_from=user, recipients=[user])
    await sender.close()
    assert result.ok, result
    deps.db.dispose()


def test_oauth_login_by_device_flow_stores_the_refresh_token(
    idp: StandInIdP, user: str, env_for: Callable[..., dict[str, str]]
) -> None:
    from mailbot.cli import app

    idp.device_user, idp.pending_polls = user, 2
    env = env_for()
    result = CliRunner().invoke(app, ["oauth", "login"], env=env)
    assert result.exit_code == 0, result.output
    assert "WDJB-MJHT" in result.output and idp.url + "/device" in result.output
    assert f"refresh token for {user} stored" in result.output
    polls = [c for c in idp.calls if c.get("grant_type", "").endswith("device_code")]
    assert len(polls) == 3  # twice authorization_pending, then the tokens

    async def use_it() -> None:
        deps = _deps(env)  # no MAILBOT_OAUTH_REFRESH_TOKEN: the stored one is used
        await _send_and_read(deps, user, "after a device login")
        deps.db.dispose()

    asyncio.run(use_it())
