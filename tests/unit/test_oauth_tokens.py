"""TokenSource: cached access tokens, renewed before they end and once when refused; rotated
refresh tokens saved; the environment's token told from the stored one. Plus the SASL
payloads and the provider presets as settings see them."""

from __future__ import annotations

import base64

import pytest

from mailbot import settings as settings_mod
from mailbot.edges.oauth import (
    Grant,
    OAuthClient,
    OAuthTokenError,
    StoredToken,
    TokenSource,
    sasl_initial_response,
    seed_digest,
)

CLIENT = OAuthClient("https://idp.test/token", "client")


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, StoredToken] = {}

    def load(self, username: str) -> StoredToken | None:
        return self.rows.get(username)

    def save(self, username: str, token: str, seed: str) -> None:
        self.rows[username] = StoredToken(token, seed)


class FakeEndpoint:
    """Grants tokens living `lifetime` s on the fake clock; rotates if asked."""

    def __init__(self, clock: list[float], lifetime: float = 3600, rotate: bool = False) -> None:
        self.clock, self.lifetime, self.rotate = clock, lifetime, rotate
        self.used: list[str] = []
        self.refuse: set[str] = set()

    async def __call__(self, client: OAuthClient, refresh_token: str) -> Grant:
        self.used.append(refresh_token)
        if refresh_token in self.refuse:
            raise OAuthTokenError("refused: invalid_grant", revoked=True)
        n = len(self.used)
        new = f"rt{n}" if self.rotate else None
        return Grant(f"at{n}", self.clock[0] + self.lifetime, new)


def _source(endpoint: FakeEndpoint, store: MemoryStore, env_token: str = "rt0") -> TokenSource:
    return TokenSource(
        CLIENT, "ana@example.org", store, env_token, refresh_before=300,
        grant=endpoint, clock=lambda: endpoint.clock[0],
    )  # fmt: skip


async def test_the_access_token_is_cached_until_shortly_before_it_ends() -> None:
    clock = [1000.0]
    endpoint = FakeEndpoint(clock)
    source = _source(endpoint, MemoryStore())
    assert await source.token() == "at1"
    clock[0] += 3600 - 301
    assert await source.token() == "at1"
    clock[0] += 2  # now within the 300 s margin
    assert await source.token() == "at2"
    assert endpoint.used == ["rt0", "rt0"]


async def test_a_refused_token_is_renewed_once_and_only_by_the_first_who_asks() -> None:
    clock = [0.0]
    endpoint = FakeEndpoint(clock)
    source = _source(endpoint, MemoryStore())
    first = await source.token()
    second = await source.refreshed(first)
    assert second != first
    # another connection was refused with the old token meanwhile: no second refresh
    assert await source.refreshed(first) == second
    assert source.refreshes == 2


async def test_a_rotated_refresh_token_is_saved_and_used_next() -> None:
    clock = [0.0]
    endpoint = FakeEndpoint(clock, rotate=True)
    store = MemoryStore()
    source = _source(endpoint, store)
    await source.token()
    assert store.rows["ana@example.org"] == StoredToken("rt1", seed_digest("rt0"))
    # a restart: a new source with the same (now stale) environment token
    await _source(endpoint, store).token()
    assert endpoint.used == ["rt0", "rt1"]


async def test_a_new_token_in_the_environment_wins_over_the_stored_one() -> None:
    clock = [0.0]
    endpoint = FakeEndpoint(clock)
    store = MemoryStore()
    store.save("ana@example.org", "stored", seed_digest("old-env"))
    await _source(endpoint, store, env_token="new-env").token()
    await _source(endpoint, store, env_token="old-env").token()
    await _source(endpoint, store, env_token="").token()
    assert endpoint.used == ["new-env", "stored", "stored"]


async def test_a_revoked_refresh_token_says_what_to_do() -> None:
    clock = [0.0]
    endpoint = FakeEndpoint(clock)
    endpoint.refuse.add("rt0")
    source = _source(endpoint, MemoryStore())
    with pytest.raises(OAuthTokenError) as caught:
        await source.token()
    assert caught.value.revoked and "ana@example.org" in str(caught.value)
    with pytest.raises(OAuthTokenError, match="mailbot oauth login"):
        await _source(endpoint, MemoryStore(), env_token="").token()


def test_sasl_initial_responses() -> None:
    xo = base64.b64decode(sasl_initial_response("xoauth2", "a@b.org", "T", "h", 993))
    assert xo == b"user=a@b.org\x01auth=Bearer T\x01\x01"
    ob = base64.b64decode(sasl_initial_response("oauthbearer", "a,=b@c.org", "T", "h", 993))
    assert ob == b"n,a=a=2C=3Db@c.org,\x01host=h\x01port=993\x01auth=Bearer T\x01\x01"


def test_a_provider_preset_fills_defaults_that_the_file_and_environment_override() -> None:
    env = {
        "MAILBOT_PROGRAM_SECRET": "x",
        "MAILBOT_PROVIDER": "microsoft365",
        "MAILBOT_IMAP_USERNAME": "program@example.org",
        "MAILBOT_OAUTH_CLIENT_ID": "app",
        "MAILBOT_OAUTH_TENANT": "contoso.example",
        "MAILBOT_SMTP_PORT": "2525",
    }
    s = settings_mod.load(None, env)
    assert (s.imap.host, s.imap.port, s.imap.tls, s.imap.auth) == (
        "outlook.office365.com", 993, "ssl", "oauth2",
    )  # fmt: skip
    assert s.smtp.port == 2525 and s.smtp.host == "smtp.office365.com"
    assert s.oauth.endpoint(s.oauth.token_endpoint) == (
        "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    )
    assert "offline_access" in s.oauth.scopes


def test_oauth2_without_a_client_id_is_a_configuration_error() -> None:
    env = {"MAILBOT_PROGRAM_SECRET": "x", "MAILBOT_IMAP_AUTH": "oauth2",
           "MAILBOT_IMAP_USERNAME": "p@example.org",
           "MAILBOT_OAUTH_TOKEN_ENDPOINT": "https://idp.test/token"}  # fmt: skip
    with pytest.raises(settings_mod.ConfigError, match=r"oauth\.client_id"):
        settings_mod.load(None, env)
    with pytest.raises(settings_mod.ConfigError, match=r"oauth\.client_secret: secrets"):
        settings_mod._section("oauth", {"client_secret": "x"}, {})
