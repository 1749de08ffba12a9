"""The first refresh token, from a terminal on a server: `mailbot oauth login`'s two flows.

- `device_login`: the device authorization grant (RFC 8628). The provider gives a short code,
  the person types it in a browser anywhere; we poll the token endpoint until they have.
  Microsoft allows it for the mail scopes.
- `loopback_login`: the authorization code grant with PKCE (RFC 7636) and a redirect to
  http://127.0.0.1:PORT/ (RFC 8252 §7.3), which Google requires for the mail scope. On a
  server without a browser, forward the port (`ssh -L PORT:127.0.0.1:PORT`) first.

Both use Authlib's AsyncOAuth2Client and return the token endpoint's answer as a `Grant`;
storing it is the caller's business. `say` prints the instructions for the person.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from mailbot.edges.oauth import Grant, OAuthClient, OAuthTokenError, endpoint_error

__all__ = ["device_login", "loopback_login"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _grant(token: dict[str, Any]) -> Grant:
    grant = Grant.from_response(token, time.time())
    if not grant.refresh_token:
        raise OAuthTokenError(
            "the provider gave no refresh token (is offline_access among oauth.scopes? "
            "Google: access_type=offline is asked for)"
        )
    return grant


async def device_login(
    client: OAuthClient,
    device_endpoint: str,
    say: Callable[[str], None],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Grant:
    """RFC 8628: ask for a user code, show it, poll until it is entered, denied or expires."""
    import httpx2
    from authlib.integrations.base_client import OAuthError

    async with client.session() as session:
        form = {"client_id": client.client_id, "scope": " ".join(client.scopes)}
        if client.client_secret:  # Google's device endpoint wants the secret too
            form["client_secret"] = client.client_secret
        try:
            resp = await session.request("POST", device_endpoint, withhold_token=True, data=form)
            answer = resp.json()
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise endpoint_error(exc, device_endpoint) from exc
        if not isinstance(answer, dict) or "device_code" not in answer:
            raise OAuthTokenError(f"{device_endpoint} answered {resp.status_code}: {answer!r}")
        uri = answer.get("verification_uri") or answer.get("verification_url", "")
        say(
            f"To sign in, open {uri} in a browser and enter the code {answer['user_code']}"
            + (f"\n(or open {answer['verification_uri_complete']})"
               if answer.get("verification_uri_complete") else "")
        )  # fmt: skip
        interval = float(answer.get("interval", 5))
        deadline = time.monotonic() + float(answer.get("expires_in", 900))
        while time.monotonic() < deadline:
            await sleep(interval)
            try:
                token = await session.fetch_token(
                    client.token_endpoint,
                    grant_type=DEVICE_CODE_GRANT,
                    device_code=answer["device_code"],
                    client_id=client.client_id,
                )
            except OAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":  # RFC 8628 §3.5: add 5 seconds from now on
                    interval += 5
                    continue
                raise OAuthTokenError(
                    f"sign-in ended: {exc.error}"
                    + (f" ({exc.description})" if exc.description else "")
                ) from exc
            except (httpx2.HTTPError, OSError, ValueError) as exc:
                raise endpoint_error(exc, client.token_endpoint) from exc
            return _grant(dict(token))
    raise OAuthTokenError("the code expired before anyone signed in; run the login again")


async def loopback_login(
    client: OAuthClient,
    authorization_endpoint: str,
    say: Callable[[str], None],
    *,
    port: int = 0,
    timeout: float = 600.0,
) -> Grant:
    """Authorization code + PKCE with a one-shot HTTP listener on 127.0.0.1:`port`."""
    import httpx2
    from authlib.integrations.base_client import OAuthError

    received: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.urlsplit(self.path).query
            received.update(urllib.parse.parse_qsl(query))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"mailbot: signed in, you can close this window.\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    server.timeout = timeout
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/"
    verifier = secrets.token_urlsafe(48)
    try:
        async with client.session() as session:
            session.redirect_uri = redirect_uri
            url, state = session.create_authorization_url(
                authorization_endpoint,
                code_verifier=verifier,
                code_challenge_method="S256",
                access_type="offline",  # Google: give a refresh token
                prompt="consent",
            )
            say(f"Open this address in a browser and sign in:\n{url}")
            await asyncio.to_thread(server.handle_request)
            if received.get("state") != state:
                raise OAuthTokenError("the redirect came back without our state; try again")
            if "code" not in received:
                raise OAuthTokenError(f"sign-in ended: {received.get('error', 'no code')}")
            try:
                token = await session.fetch_token(
                    client.token_endpoint,
                    grant_type="authorization_code",
                    code=received["code"],
                    code_verifier=verifier,
                    redirect_uri=redirect_uri,
                )
            except (OAuthError, httpx2.HTTPError, OSError, ValueError) as exc:
                raise endpoint_error(exc, client.token_endpoint) from exc
            return _grant(dict(token))
    finally:
        server.server_close()
