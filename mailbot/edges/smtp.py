"""SMTP edge: a thin adapter over aiosmtplib that hands one message to the relay — no decisions.

A send is two calls (edges/ports.py): `SmtpSender.prepare` opens the transaction (connect or
reuse, MAIL FROM, RCPT TO) and hands nothing of the message over; `finish` on what it returns
sends DATA, the message and its final dot and reads the verdict. The connection belongs to the
transaction in between. `send` does both at once. Neither ever raises for anything the server
or the network does, nor for anything raised before a message is handed over (connecting,
EHLO, STARTTLS, AUTH: say the relay offers no STARTTLS or AUTH); they report a `SendResult`
saying whether the relay took the message, and if not, whether trying again later can help
(4xx, lost or refused connections, our setup: transient) or not (5xx: permanent). What to do
about it (retry, bounce score, quarantine) is decided by the flows.

One connection is reused across calls. A connection found dead when the transaction starts
(the server dropped it while idle, or said 421) is reopened and the transaction retried once;
once the message data has begun to go out it is never retried here, and a connection lost
or timed out from then on is reported `uncertain`: the relay may have queued the message.

A refusal of *us* rather than of a message — the greeting, EHLO, AUTH or MAIL FROM refused,
even with a 5xx (554 "client host blocked", 530 "authentication required", 550 5.7.1 "sender
not allowed"), or "530"/"relay access denied" at RCPT — is transient and `blocked`: every
message would meet it, none is to blame, and the flows stop sending until later. Permanent
stays for what is about one message: a recipient refused at RCPT, the data refused at DATA,
a message too big (552 at MAIL FROM).

With `auth = "oauth2"` the login is SASL XOAUTH2 or OAUTHBEARER with an access token from
`tokens` (edges/oauth.py); a refused token (535) is renewed once and tried again. No access
token to be had (a revoked refresh token) is such a refusal of us: `blocked`, nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import email.policy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import aiosmtplib
from aiosmtplib.email import flatten_message

from mailbot.domain.model import WireMessage
from mailbot.edges.oauth import AccessTokens, OAuthTokenError, sasl_initial_response
from mailbot.edges.ports import SendResult

__all__ = ["SendResult", "SmtpPrepared", "SmtpSender", "SmtpSettings"]

log = logging.getLogger(__name__)

# A connection idle for longer than this is checked with NOOP before it is reused.
_STALE_AFTER = 30.0
# Headers whose addresses, if non-ASCII in the addr-spec, need SMTPUTF8.
_ADDRESS_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From", "Resent-To")
# Errors that mean "the connection is unusable", not "the server refused this message".
_CONNECTION_ERRORS = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPNotSupported,  # e.g. STARTTLS asked for but not offered
    OSError,  # includes ssl.SSLError and ConnectionError
    TimeoutError,
)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: Literal["none", "starttls", "ssl"]
    timeout: float = 30.0
    ca_file: str | None = None
    auth: Literal["password", "oauth2"] = "password"  # oauth2: only with a username
    oauth_mechanism: Literal["xoauth2", "oauthbearer"] = "xoauth2"


class _Stale(Exception):
    """The reused connection turned out dead before anything was sent: reopen and retry."""


class SmtpSender:
    """Sends messages over one reused SMTP connection, opened on first use."""

    def __init__(self, settings: SmtpSettings, tokens: AccessTokens | None = None) -> None:
        if settings.auth == "oauth2" and settings.username and tokens is None:
            raise ValueError("auth = oauth2 needs a token source")
        self._s = settings
        self._tokens = tokens if settings.auth == "oauth2" and settings.username else None
        self._smtp: aiosmtplib.SMTP | None = None
        self._used_at = 0.0
        self._lock = asyncio.Lock()  # the connection: one transaction, prepare to finish
        self._prepared: SmtpPrepared | None = None
        self.connections_opened = 0  # for observability and tests

    async def __aenter__(self) -> SmtpSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def login(self) -> None:
        """Connect and log in now (for `check-config --connect`); raises what went wrong."""
        async with self._lock:
            await self._ready()

    async def capabilities(self) -> list[str]:
        """Connect and log in now; the EHLO keywords the server offers, with `AUTH=<mech>` for
        each SASL mechanism (for `check-config --self-test`)."""
        async with self._lock:
            smtp, _ = await self._ready()
            if not smtp.esmtp_extensions:
                await smtp.ehlo()
        mechs = [f"AUTH={m.upper()}" for m in smtp.server_auth_methods]
        return [k.upper() for k in smtp.esmtp_extensions if k.lower() != "auth"] + mechs

    async def close(self) -> None:
        if self._prepared is not None:  # never finished: nothing was sent, drop it
            self._prepared.abort()
        async with self._lock:
            smtp, self._smtp = self._smtp, None
            if smtp is not None and smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await smtp.quit(timeout=min(self._s.timeout, 5.0))
            if smtp is not None:
                smtp.close()

    async def send(
        self,
        message: email.message.EmailMessage | WireMessage,
        *,
        envelope_from: str,
        recipients: Sequence[str],
    ) -> SendResult:
        """Hand `message` to the relay for `recipients`: `prepare`, then `finish` at once."""
        prepared = await self.prepare(message, envelope_from=envelope_from, recipients=recipients)
        if isinstance(prepared, SendResult):
            return prepared
        return await prepared.finish()

    async def prepare(
        self,
        message: email.message.EmailMessage | WireMessage,
        *,
        envelope_from: str,
        recipients: Sequence[str],
    ) -> SendResult | SmtpPrepared:
        """Open a transaction for `message` to `recipients` (Bcc headers are not transmitted).

        A `SendResult` when it is settled before any data (nothing was handed over), else the
        open transaction, which keeps this sender's connection until finished or aborted.
        """
        t0 = time.monotonic()
        rcpts = list(dict.fromkeys(recipients))
        if not rcpts:
            return SendResult(False, True, None, "no recipients", {})
        await self._lock.acquire()
        try:
            outcome = await self._open(message, envelope_from, rcpts, t0)
        except BaseException:
            self._lock.release()
            raise
        if isinstance(outcome, SendResult):
            self._lock.release()
            _log_result(outcome, t0, len(rcpts))
        else:
            self._prepared = outcome
        return outcome

    async def _open(
        self,
        message: email.message.EmailMessage | WireMessage,
        envelope_from: str,
        rcpts: list[str],
        t0: float,
    ) -> SendResult | SmtpPrepared:
        """Connect (or reuse) and say MAIL FROM and RCPT TO; a dead reused connection once more."""
        retried = False
        while True:
            try:
                smtp, reused = await self._ready()
            except Exception as exc:  # nothing was handed over: report it, never raise
                self._discard()
                return self._setup_failed(exc)
            try:
                outcome = await self._envelope(smtp, message, envelope_from, rcpts, reused)
            except _Stale as exc:
                self._discard()
                if retried:
                    return _blocked(None, f"connection lost: {exc}")
                retried = True
                log.info("smtp op=send reconnect reason=%r", str(exc))
                continue
            except aiosmtplib.SMTPResponseException as exc:
                self._discard()
                return _blocked(exc.code, f"{exc.code} {exc.message}")
            except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS) as exc:
                self._discard()
                return _blocked(None, _describe(exc, self._where()))
            if isinstance(outcome, SendResult):
                return outcome
            flat, refused = outcome
            return SmtpPrepared(self, smtp, flat, refused, t0, len(rcpts))

    # -- internals -------------------------------------------------------------------------

    def _setup_failed(self, exc: Exception) -> SendResult:
        """Connecting, EHLO, STARTTLS or AUTH failed: before any message, so transient."""
        if isinstance(exc, OAuthTokenError):  # no access token: our login, no message's fault
            return _blocked(None, f"authentication: {exc}")
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            # Our credentials, not this message: transient, so no recipient is blamed.
            return _blocked(exc.code, f"authentication: {exc}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):  # greeting / EHLO refused
            return _blocked(exc.code, f"{exc.code} connect: {exc.message}")
        if not isinstance(exc, (aiosmtplib.SMTPException, *_CONNECTION_ERRORS)):
            log.exception("smtp op=connect unexpected error talking to %s", self._where())
        # e.g. "STARTTLS extension not supported by server", no AUTH offered: our setup.
        return _blocked(None, _describe(exc, self._where()))

    async def _ready(self) -> tuple[aiosmtplib.SMTP, bool]:
        """The open connection (True: reused) or a new one (False)."""
        smtp = self._smtp
        if smtp is not None and smtp.is_connected:
            if time.monotonic() - self._used_at < _STALE_AFTER:
                return smtp, True
            try:
                await smtp.noop()
                return smtp, True
            except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS):
                pass
        self._discard()
        s = self._s
        oauth = self._tokens is not None
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=None if oauth else s.username,
            password=None if oauth else s.password,
            timeout=s.timeout,
            use_tls=s.tls == "ssl",
            start_tls=s.tls == "starttls",  # False: never upgrade, even if offered
            cert_bundle=s.ca_file,
        )
        try:
            await smtp.connect()
            if self._tokens is not None:
                await self._oauth_login(smtp, self._tokens)
        except BaseException:
            smtp.close()  # a half-open connection (say, STARTTLS refused) is not kept
            raise
        self._smtp = smtp
        self._used_at = time.monotonic()
        self.connections_opened += 1
        return smtp, False

    async def _oauth_login(self, smtp: aiosmtplib.SMTP, tokens: AccessTokens) -> None:
        mech = self._s.oauth_mechanism
        await smtp.ehlo()  # after STARTTLS the AUTH list is empty until EHLO is said again
        if mech not in smtp.server_auth_methods:
            offered = " ".join(sorted(set(smtp.server_auth_methods))) or "none"
            raise aiosmtplib.SMTPException(
                f"{self._where()} offers no AUTH {mech.upper()} (offers: {offered})"
            )
        token = await tokens.token()
        resp = await self._authenticate(smtp, token)
        if resp.code != 235:
            log.info(
                "smtp op=login mechanism=%s refused=%r: renewing the token once",
                mech.upper(),
                f"{resp.code} {resp.message}",
            )
            token = await tokens.refreshed(token)
            resp = await self._authenticate(smtp, token)
        if resp.code != 235:
            raise aiosmtplib.SMTPAuthenticationError(
                resp.code,
                f"AUTH {mech.upper()} as {self._s.username} refused even with a new access "
                f"token: {resp.message} (is SMTP AUTH enabled for this mailbox?)",
            )

    async def _authenticate(self, smtp: aiosmtplib.SMTP, token: str) -> aiosmtplib.SMTPResponse:
        s = self._s
        initial = sasl_initial_response(s.oauth_mechanism, s.username or "", token, s.host, s.port)
        resp = await smtp.execute_command(
            b"AUTH", s.oauth_mechanism.upper().encode(), initial.encode()
        )
        if resp.code == 334:  # an error challenge: answer it empty, then comes the 535
            resp = await smtp.execute_command(b"")
        return resp

    async def _envelope(
        self,
        smtp: aiosmtplib.SMTP,
        message: email.message.EmailMessage | WireMessage,
        envelope_from: str,
        rcpts: list[str],
        reused: bool,
    ) -> SendResult | tuple[bytes, dict[str, str]]:
        """MAIL FROM and RCPT TO: a result, or the flattened message and the refused recipients."""
        utf8 = _needs_smtputf8(message, envelope_from, rcpts)
        if utf8 and not smtp.supports_extension("smtputf8"):
            return SendResult(False, True, None, "message needs SMTPUTF8, server lacks it", {})
        eight_bit = smtp.supports_extension("8bitmime")
        if isinstance(message, WireMessage):
            flat = message.data  # 7-bit clean already
        else:
            try:
                flat = flatten_message(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
            except (ValueError, TypeError, UnicodeError) as exc:
                return SendResult(False, True, None, f"cannot serialise message: {exc}", {})
        options: list[str] = []
        if smtp.supports_extension("size"):
            options.append(f"SIZE={len(flat)}")
        if eight_bit:
            options.append("BODY=8BITMIME")
        if utf8:
            options.append("SMTPUTF8")
        encoding = "utf-8" if utf8 else "ascii"

        # MAIL FROM: a reused connection that fails here was stale; nothing was sent yet.
        try:
            await smtp.mail(envelope_from, options=options, encoding=encoding)
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code == 421 and reused:
                raise _Stale(f"421 {exc.message}") from exc
            if exc.code == 552:  # this message exceeds the size limit (SIZE=): about it alone
                return await self._failed(smtp, _by_code(exc.code, f"MAIL FROM: {exc.message}"))
            return await self._failed(
                smtp, _blocked(exc.code, f"{exc.code} MAIL FROM: {exc.message}")
            )
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if reused:
                raise _Stale(str(exc)) from exc
            raise
        except (ValueError, UnicodeError) as exc:
            return await self._failed(smtp, SendResult(False, True, None, f"sender: {exc}", {}))
        self._used_at = time.monotonic()

        refused: dict[str, str] = {}
        codes: list[int] = []
        for rcpt in rcpts:
            try:
                await smtp.rcpt(rcpt, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as exc:
                # 421: the server is closing the connection (aiosmtplib has closed it): no DATA.
                if exc.code == 421 or _refuses_us(exc.code, exc.message):
                    detail = f"{exc.code} RCPT: {exc.message}"
                    return await self._failed(smtp, _blocked(exc.code, detail))
                refused[rcpt] = f"{exc.code} {exc.message}"
                codes.append(exc.code)
            except (ValueError, UnicodeError) as exc:
                refused[rcpt] = f"553 invalid address: {exc}"
                codes.append(553)
        if len(refused) == len(rcpts):
            transient = [c for c in codes if not 500 <= c < 600]
            code = transient[0] if transient else codes[0]
            detail = "all recipients refused: " + "; ".join(f"{r}: {e}" for r, e in refused.items())
            return await self._failed(smtp, SendResult(False, not transient, code, detail, refused))
        self._used_at = time.monotonic()
        return flat, refused

    async def _data(
        self, smtp: aiosmtplib.SMTP, flat: bytes, refused: dict[str, str]
    ) -> SendResult:
        """DATA, the message and its final dot: from here on the relay may have taken it."""
        if not smtp.is_connected:  # closed before DATA: nothing was handed over
            self._discard()
            return _blocked(None, "connection closed before DATA")
        try:
            resp = await smtp.data(flat)
        except aiosmtplib.SMTPDataError as exc:
            result = _by_code(exc.code, f"DATA: {exc.message}")
            return await self._failed(
                smtp, SendResult(False, result.permanent, exc.code, result.detail, refused)
            )
        except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS) as exc:
            # Lost or timed out with the data on its way or its reply awaited: the relay may
            # have queued it, so it must not be retried as if it had not.
            self._discard()
            detail = "during DATA: " + _describe(exc, self._where())
            return SendResult(False, False, None, detail, refused, uncertain=True)
        self._used_at = time.monotonic()
        return SendResult(True, False, resp.code, resp.message, refused)

    async def _failed(self, smtp: aiosmtplib.SMTP, result: SendResult) -> SendResult:
        """Reset the envelope so the connection can be reused, or drop it."""
        if result.code == 421:
            self._discard()
            return result
        try:
            await smtp.rset()
            self._used_at = time.monotonic()
        except (aiosmtplib.SMTPException, *_CONNECTION_ERRORS):
            self._discard()
        return result

    def _release(self, prepared: SmtpPrepared, *, discard: bool) -> None:
        """`prepared` is over: the connection is free again (or dropped, with `discard`)."""
        if discard:
            self._discard()
        if self._prepared is prepared:
            self._prepared = None
        self._lock.release()

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _where(self) -> str:
        return f"{self._s.host}:{self._s.port} ({self._s.tls})"


class SmtpPrepared:
    """An open transaction on an `SmtpSender`'s connection: envelope accepted, no data sent."""

    def __init__(
        self,
        owner: SmtpSender,
        smtp: aiosmtplib.SMTP,
        flat: bytes,
        refused: dict[str, str],
        t0: float,
        recipients: int,
    ) -> None:
        self._owner, self._smtp, self._flat, self._refused = owner, smtp, flat, refused
        self._t0, self._recipients = t0, recipients
        self._over = False

    async def finish(self) -> SendResult:
        """Send the data and the final dot; the relay's verdict (see `SendResult`)."""
        if self._over:
            raise RuntimeError("this SMTP transaction is already over")
        self._over = True
        try:
            result = await self._owner._data(self._smtp, self._flat, self._refused)
        except BaseException:  # cancelled or a bug mid-data: the connection's state is unknown
            self._owner._release(self, discard=True)
            raise
        self._owner._release(self, discard=False)
        _log_result(result, self._t0, self._recipients)
        return result

    def abort(self) -> None:
        """Drop the connection without a final dot: the relay discards the transaction."""
        if not self._over:
            self._over = True
            self._owner._release(self, discard=True)


def _log_result(result: SendResult, t0: float, recipients: int) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "smtp op=send ms=%.1f ok=%s permanent=%s code=%s rcpts=%d refused=%d",
            (time.monotonic() - t0) * 1000,
            result.ok,
            result.permanent,
            result.code,
            recipients,
            len(result.refused),
        )


def _by_code(code: int, detail: str) -> SendResult:
    return SendResult(False, 500 <= code < 600, code, f"{code} {detail}", {})


def _blocked(code: int | None, detail: str) -> SendResult:
    return SendResult(False, False, code, detail, {}, blocked=True)


def _refuses_us(code: int, message: str) -> bool:
    """An RCPT refusal that is about our session, not the recipient: authentication
    required (RFC 4954: 530 5.7.0), or relaying denied to us (a host or login not allowed)."""
    text = message.lower()
    return code == 530 or "5.7.0" in text or ("relay" in text and "denied" in text)


def _describe(exc: BaseException, where: str) -> str:
    return f"{type(exc).__name__} talking to {where}: {exc}"


def _needs_smtputf8(
    msg: email.message.EmailMessage | WireMessage, sender: str, rcpts: Sequence[str]
) -> bool:
    """Non-ASCII in the envelope or in an address (not a display name) in the headers."""
    if not (sender.isascii() and all(r.isascii() for r in rcpts)):
        return True
    if isinstance(msg, WireMessage):
        return not msg.data.isascii()  # never, as written: ASCII addresses only
    for name in _ADDRESS_HEADERS:
        for value in msg.get_all(name, []):
            for addr in getattr(value, "addresses", ()):
                if not addr.addr_spec.isascii():
                    return True
            if not hasattr(value, "addresses") and not str(value).isascii():
                return True  # unparsed (compat32) header: cannot tell, be safe
    return False
