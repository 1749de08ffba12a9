"""A stand-in for the provider's token and device-authorization endpoints, on loopback.

Speaks real HTTP (http.server in a thread) and mints HS256 JWTs that the oauth2 mail stack's
Dovecot accepts (the key from DIR/oauth2/keys, "iss" = OAUTH2_ISSUER, "email" = the login):

    with StandInIdP.for_stack(oauth_mailstack, client_id="mailbot-test") as idp:
        rt = idp.new_refresh_token("alice@example.org")
        ... OAuthClient(idp.token_url, "mailbot-test") ...

Knobs: `rotate` (a new refresh token on every refresh; the old one stops working), `ttl`
(seconds the JWT is valid) and `advertised_ttl` (the `expires_in` it claims, to make a token
that dies early), `revoke(rt)`, `pending_polls` (device flow: answers authorization_pending this
many times first). `calls` records every request's form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_jwt(key: bytes, claims: Mapping[str, Any]) -> str:
    """HS256 JWT as Dovecot 2.3 wants it (header typ exactly "JWT")."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    sig = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(sig)}"


class StandInIdP:
    def __init__(self, key: bytes, issuer: str, client_id: str) -> None:
        self.key, self.issuer, self.client_id = key, issuer, client_id
        self.rotate = False
        self.ttl = 3600
        self.advertised_ttl: int | None = None
        self.pending_polls = 1
        self.device_user = ""
        self.calls: list[dict[str, str]] = []
        self._refresh: dict[str, str] = {}  # valid refresh token -> user
        self._devices: dict[str, int] = {}  # device_code -> polls so far
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def for_stack(cls, stack: Mapping[str, Any], client_id: str = "mailbot-test") -> StandInIdP:
        key = base64.b64decode(pathlib.Path(stack["OAUTH2_KEY_FILE"]).read_text().strip())
        return cls(key, stack.get("OAUTH2_ISSUER", ""), client_id)

    # -- control --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def device_url(self) -> str:
        return f"{self.url}/devicecode"

    def new_refresh_token(self, user: str) -> str:
        token = "rt-" + secrets.token_urlsafe(12)
        with self._lock:
            self._refresh[token] = user
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._refresh.pop(token, None)

    def refreshes(self) -> list[str]:
        """The refresh tokens presented, in order."""
        return [c["refresh_token"] for c in self.calls if c.get("grant_type") == "refresh_token"]

    def access_token(self, user: str, ttl: int | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": user, "email": user, "iat": now - 5, "exp": now + (ttl or self.ttl),
        }  # fmt: skip
        if self.issuer:
            claims["iss"] = self.issuer
        return mint_jwt(self.key, claims)

    def __enter__(self) -> StandInIdP:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the endpoints --------------------------------------------------------------------

    def _tokens_for(self, user: str, old: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": self.access_token(user),
            "token_type": "Bearer",
            "expires_in": self.advertised_ttl or self.ttl,
        }
        if old is None or self.rotate:
            if old is not None:
                self._refresh.pop(old, None)
            new = "rt-" + secrets.token_urlsafe(12)
            self._refresh[new] = user
            answer["refresh_token"] = new
        return answer

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != self.client_id:
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        with self._lock:
            if grant == "refresh_token":
                user = self._refresh.get(form.get("refresh_token", ""))
                if user is None:
                    return 400, {"error": "invalid_grant", "error_description": "revoked"}
                return 200, self._tokens_for(user, form["refresh_token"])
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                code = form.get("device_code", "")
                if code not in self._devices:
                    return 400, {"error": "expired_token"}
                self._devices[code] += 1
                if self._devices[code] <= self.pending_polls:
                    return 400, {"error": "authorization_pending"}
                del self._devices[code]
                return 200, self._tokens_for(self.device_user, None)
        return 400, {"error": "unsupported_grant_type"}

    def _device(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != self.client_id:
            return 401, {"error": "invalid_client"}
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._devices[code] = 0
        return 200, {
            "device_code": code,
            "user_code": "WDJB-MJHT",
            "verification_uri": f"{self.url}/device",
            "expires_in": 60,
            "interval": 0,  # RFC 8628 says 5 by default; the tests need not wait
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):  # client_secret_basic
                    form["client_id"] = base64.b64decode(auth[6:]).decode().partition(":")[0]
                idp.calls.append({"path": self.path, **form})
                path = urllib.parse.urlsplit(self.path).path
                if path == "/token":
                    status, body = idp._token(form)
                elif path == "/devicecode":
                    status, body = idp._device(form)
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
