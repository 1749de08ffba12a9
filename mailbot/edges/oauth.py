"""OAuth2 access tokens for the IMAP and SMTP logins (SASL XOAUTH2 / OAUTHBEARER, RFC 7628).

A `TokenSource` holds one login's access token and renews it with the refresh-token grant
(RFC 6749 §6) against the provider's token endpoint: before it expires, and once more when a
server refuses it (`refreshed`). A refresh token the provider rotates is kept in the database
(`DbRefreshTokens`, encrypted with a key derived from the program secret), so a restart keeps
working; the first one comes from `mailbot oauth login` or MAILBOT_OAUTH_REFRESH_TOKEN. The
HTTP side is Authlib's `AsyncOAuth2Client` (on httpx2): it builds the form request, client
authentication (client_secret_basic, or none for a public client) and RFC 6749 §5.2 errors.

A refusal of the refresh token itself (invalid_grant: revoked, expired, password changed) is
an `OAuthTokenError` with `revoked` set and a message that says what to do; an unreachable
endpoint is one without. Neither loses anything: the edges report a failed login and the
flows try again later, re-reading the database (a new `mailbot oauth login` is picked up).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "AccessTokens",
    "DbRefreshTokens",
    "Grant",
    "OAuthClient",
    "OAuthTokenError",
    "RefreshTokenStore",
    "StoredToken",
    "TokenSource",
    "refresh_grant",
    "sasl_initial_response",
]

log = logging.getLogger(__name__)

# Errors of the token endpoint (RFC 6749 §5.2) that only a new login can mend.
_REFUSALS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"}
# An access token whose lifetime the provider does not say is taken to last this long.
_DEFAULT_LIFETIME = 3600.0


class OAuthTokenError(Exception):
    """No access token could be had. `revoked`: the refresh token was refused (log in again);
    otherwise the token endpoint was unreachable or answered oddly (try again later)."""

    def __init__(self, message: str, *, revoked: bool = False) -> None:
        super().__init__(message)
        self.revoked = revoked


class AccessTokens(Protocol):
    """What the IMAP and SMTP edges ask for a login."""

    async def token(self) -> str: ...

    async def refreshed(self, rejected: str) -> str: ...


@dataclass(frozen=True)
class OAuthClient:
    """The app registration at the provider, and its token endpoint."""

    token_endpoint: str
    client_id: str
    client_secret: str | None = None  # None: a public client (device flow, no secret)
    scopes: tuple[str, ...] = ()
    timeout: float = 30.0

    def session(self) -> Any:
        """A new Authlib AsyncOAuth2Client (use it with `async with`)."""
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret or None,
            scope=" ".join(self.scopes) or None,
            token_endpoint=self.token_endpoint,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class Grant:
    """What the token endpoint answered: an access token, when it ends, maybe a new refresh
    token (None: keep the one used)."""

    access_token: str
    expires_at: float  # time.time() seconds
    refresh_token: str | None = None

    @classmethod
    def from_response(cls, token: dict[str, Any], now: float) -> Grant:
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuthTokenError("the token endpoint answered without an access_token")
        try:
            lifetime = float(token.get("expires_in") or _DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            lifetime = _DEFAULT_LIFETIME
        refresh = token.get("refresh_token")
        return cls(
            access, now + lifetime, refresh if isinstance(refresh, str) and refresh else None
        )


def endpoint_error(exc: BaseException, where: str) -> OAuthTokenError:
    """An Authlib / HTTP failure as an OAuthTokenError that says what to do."""
    from authlib.integrations.base_client import OAuthError

    if isinstance(exc, OAuthError):
        what = f"{exc.error}" + (f" ({exc.description})" if exc.description else "")
        if exc.error in _REFUSALS:
            return OAuthTokenError(
                f"the token endpoint {where} refused the refresh token: {what}. It was revoked "
                "or has expired: run `mailbot oauth login` (or set MAILBOT_OAUTH_REFRESH_TOKEN); "
                "mail waits meanwhile and nothing is lost",
                revoked=True,
            )
        return OAuthTokenError(f"the token endpoint {where} answered {what}; will try again")
    return OAuthTokenError(
        f"the token endpoint {where} is unreachable: {type(exc).__name__}: {exc}; will try again"
    )


async def refresh_grant(client: OAuthClient, refresh_token: str) -> Grant:
    """RFC 6749 §6: a new access token (and maybe a new refresh token) for `refresh_token`."""
    import httpx2
    from authlib.integrations.base_client import OAuthError

    async with client.session() as session:
        try:
            token = await session.refresh_token(client.token_endpoint, refresh_token=refresh_token)
        except (OAuthError, httpx2.HTTPError, OSError, ValueError) as exc:
            # ValueError: a body that is not a JSON object (a gateway's error page)
            raise endpoint_error(exc, client.token_endpoint) from exc
    grant = Grant.from_response(dict(token), time.time())
    # Authlib puts the old refresh token back into a reply without one: not a rotation.
    if grant.refresh_token == refresh_token:
        grant = Grant(grant.access_token, grant.expires_at, None)
    return grant


@dataclass(frozen=True)
class StoredToken:
    token: str
    seed: str  # digest of the environment's refresh token this one descends from ("" = none)


class RefreshTokenStore(Protocol):
    def load(self, username: str) -> StoredToken | None: ...

    def save(self, username: str, token: str, seed: str) -> None: ...


def seed_digest(env_token: str) -> str:
    return hashlib.sha256(env_token.encode()).hexdigest() if env_token else ""


class DbRefreshTokens:
    """Refresh tokens in the `oauth_refresh_token` table, encrypted (Fernet) with a key
    derived from the program secret: a copy of the database alone does not open the mailbox."""

    def __init__(self, db: Any, client_id: str, secret: str) -> None:
        from cryptography.fernet import Fernet

        key = hashlib.sha256(b"mailbot oauth refresh token\0" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._db = db
        self._client_id = client_id

    def load(self, username: str) -> StoredToken | None:
        from cryptography.fernet import InvalidToken

        from mailbot.edges.tables import OAuthRefreshToken

        with self._db.transaction() as session:
            row = session.get(OAuthRefreshToken, (username.lower(), self._client_id))
            if row is None:
                return None
            token, seed = row.token, row.seed
        try:
            return StoredToken(self._fernet.decrypt(token.encode()).decode(), seed)
        except InvalidToken:
            log.warning(
                "oauth op=load user=%s: stored refresh token unreadable (program secret "
                "changed?); ignoring it",
                username,
            )
            return None

    def save(self, username: str, token: str, seed: str) -> None:
        from mailbot.edges.tables import OAuthRefreshToken

        sealed = self._fernet.encrypt(token.encode()).decode()
        now = datetime.now(UTC)
        with self._db.transaction() as session:
            row = session.get(OAuthRefreshToken, (username.lower(), self._client_id))
            if row is None:
                session.add(
                    OAuthRefreshToken(
                        username=username.lower(),
                        client_id=self._client_id,
                        token=sealed,
                        seed=seed,
                        updated_at=now,
                    )
                )
            else:
                row.token, row.seed, row.updated_at = sealed, seed, now


class TokenSource:
    """The access token of one login (`username`), cached and renewed when due.

    Shared by every IMAP and SMTP connection of that login; refreshes are serialised so a
    rotated refresh token is never used twice.
    """

    def __init__(
        self,
        client: OAuthClient,
        username: str,
        store: RefreshTokenStore,
        env_refresh_token: str = "",
        *,
        refresh_before: float = 300.0,
        grant: Callable[[OAuthClient, str], Awaitable[Grant]] = refresh_grant,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.username = username
        self._store = store
        self._env_token = env_refresh_token
        self._before = refresh_before
        self._grant = grant
        self._clock = clock
        self._access: str | None = None
        self._expires_at = 0.0
        self._lock_obj: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.refreshes = 0  # for observability and tests

    async def token(self) -> str:
        """A valid access token: the cached one, or a new one if it ends within the margin."""
        async with self._lock():
            if self._access is not None and self._fresh():
                return self._access
            return await self._refresh()

    async def refreshed(self, rejected: str) -> str:
        """A server refused `rejected`: a new token, unless another login already got one."""
        async with self._lock():
            if self._access is not None and self._access != rejected and self._fresh():
                return self._access
            self._access = None
            return await self._refresh()

    def _fresh(self) -> bool:
        return self._clock() < self._expires_at - self._before

    def _lock(self) -> asyncio.Lock:
        # asyncio.Lock belongs to one event loop; a CLI run may build Deps once, run twice
        loop = asyncio.get_running_loop()
        if self._lock_obj is None or self._lock_loop is not loop:
            self._lock_obj, self._lock_loop = asyncio.Lock(), loop
        return self._lock_obj

    def _refresh_token(self) -> str:
        """The stored token, unless the environment holds a newer one than it came from."""
        seed = seed_digest(self._env_token)
        stored = self._store.load(self.username)
        if stored is not None and (not seed or stored.seed == seed):
            return stored.token
        if self._env_token:
            return self._env_token
        raise OAuthTokenError(
            f"no refresh token for {self.username}: run `mailbot oauth login` "
            "(or set MAILBOT_OAUTH_REFRESH_TOKEN)",
            revoked=True,
        )

    async def _refresh(self) -> str:
        current = self._refresh_token()
        t0 = self._clock()
        try:
            grant = await self._grant(self.client, current)
        except OAuthTokenError as exc:
            self._access = None
            log.warning(
                "oauth op=refresh user=%s ok=False revoked=%s reason=%r",
                self.username,
                exc.revoked,
                str(exc),
            )
            raise OAuthTokenError(
                f"oauth2 login {self.username}: {exc}", revoked=exc.revoked
            ) from exc
        self.refreshes += 1
        if grant.refresh_token and grant.refresh_token != current:
            self._store.save(self.username, grant.refresh_token, seed_digest(self._env_token))
        self._access, self._expires_at = grant.access_token, grant.expires_at
        log.info(
            "oauth op=refresh user=%s ok=True expires_in=%d rotated=%s",
            self.username,
            grant.expires_at - t0,
            bool(grant.refresh_token and grant.refresh_token != current),
        )
        return grant.access_token


def sasl_initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> str:
    """The base64 initial client response of XOAUTH2 or OAUTHBEARER (RFC 7628 §3.1)."""
    if mechanism == "xoauth2":
        raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    elif mechanism == "oauthbearer":
        authzid = user.replace("=", "=3D").replace(",", "=2C")
        raw = f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    else:
        raise ValueError(f"unknown SASL mechanism {mechanism!r}")
    return base64.b64encode(raw.encode()).decode("ascii")
