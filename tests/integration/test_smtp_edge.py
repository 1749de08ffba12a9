"""The SMTP edge against real servers: the stack's Postfix (delivery, TLS, AUTH) and aiosmtpd on
loopback (connection counting, scripted 4xx/5xx replies, SMTPUTF8, dropped connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as AiosmtpdServer

from mailbot.edges.smtp import SendResult, SmtpSender, SmtpSettings
from tests.support import mailbox as mbx
from tests.support.relay import Recorder

pytestmark = pytest.mark.integration

Stack = dict[str, Any]
SENDER = "coordinator+b-x1@example.org"


def _message(to: str, subject: str = "Grüße from the program") -> email.message.EmailMessage:
    msg = mbx.make_message("Zoë Coördinator <coordinator@example.org>", to, subject=subject)
    msg.set_content("Hallo, schön dass du dabei bist.\n")
    return msg


# -- an aiosmtpd server in the test's own event loop -------------------------------------------


class LocalServer:
    def __init__(self, handler: Recorder, port: int, **smtp_kwargs: Any) -> None:
        self.handler, self.port, self.kwargs = handler, port, smtp_kwargs
        self.sessions: list[AiosmtpdServer] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        def factory() -> AiosmtpdServer:
            proto = AiosmtpdServer(self.handler, hostname="edges.test", **self.kwargs)
            self.sessions.append(proto)
            return proto

        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(factory, "127.0.0.1", self.port)

    def drop_connections(self) -> None:
        for proto in self.sessions:
            if proto.transport is not None:
                proto.transport.close()

    async def stop(self) -> None:
        self.drop_connections()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def local_smtp(handler: Recorder, **kw: Any) -> AsyncIterator[LocalServer]:
    server = LocalServer(handler, _free_port(), **kw)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _plain(port: int) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", port, None, None, "none", timeout=5.0)


@pytest.fixture
def stack_settings(mailstack: Stack) -> Callable[..., SmtpSettings]:
    def make(port_key: str = "MAILSTACK_SMTP_PORT", **kw: Any) -> SmtpSettings:
        base: dict[str, Any] = {
            "host": mailstack["MAILSTACK_HOST"],
            "port": int(mailstack[port_key]),
            "username": None,
            "password": None,
            "tls": "none",
            "timeout": 10.0,
            "ca_file": mailstack["MAILSTACK_CA_FILE"],
        }
        base.update(kw)
        return SmtpSettings(**base)

    return make


# -- the real relay ------------------------------------------------------------------------------


async def test_sent_message_arrives_in_the_recipients_inbox(
    mailstack: Stack, stack_settings: Callable[..., SmtpSettings]
) -> None:
    rcpt = mbx.new_user(mailstack, prefix="edges-smtp")
    msg = _message(rcpt)
    async with SmtpSender(stack_settings()) as sender:
        result = await sender.send(msg, envelope_from=SENDER, recipients=[rcpt])
    assert result.ok and result.code == 250 and not result.refused, result
    [raw] = await asyncio.to_thread(mbx.wait_for, mailstack, rcpt, 1)
    assert str(msg["Message-ID"]).encode() in raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"Return-Path: <coordinator+b-x1@example.org>" in head  # the envelope sender
    assert b"=?utf-8?" in head  # non-ASCII display name and subject: RFC 2047 encoded


@pytest.mark.parametrize(
    ("tls", "port_key"),
    [("starttls", "MAILSTACK_SUBMISSION_PORT"), ("ssl", "MAILSTACK_SMTPS_PORT")],
)
async def test_tls_and_auth_against_the_stack(
    mailstack: Stack, stack_settings: Callable[..., SmtpSettings], tls: str, port_key: str
) -> None:
    rcpt = mbx.new_user(mailstack, prefix="edges-tls")
    alice = "alice@example.org"
    login = {"username": alice, "password": mbx.password_for(mailstack, alice)}
    async with SmtpSender(stack_settings(port_key, tls=tls, **login)) as sender:
        for _ in range(2):
            result = await sender.send(_message(rcpt), envelope_from=SENDER, recipients=[rcpt])
            assert result.ok, result
        assert sender.connections_opened == 1
    await asyncio.to_thread(mbx.wait_for, mailstack, rcpt, 2)

    # an unknown CA, or a wrong password: our setup's fault, never the message's -> transient
    async with SmtpSender(stack_settings(port_key, tls=tls, ca_file=None, **login)) as sender:
        result = await sender.send(_message(rcpt), envelope_from=SENDER, recipients=[rcpt])
    assert (result.ok, result.permanent, result.code) == (False, False, None), result
    assert "CERTIFICATE_VERIFY_FAILED" in result.detail
    if tls == "ssl":  # a failed login costs Dovecot 0.5 s: check it once
        bad = {**login, "password": "wrong"}
        async with SmtpSender(stack_settings(port_key, tls=tls, **bad)) as sender:
            result = await sender.send(_message(rcpt), envelope_from=SENDER, recipients=[rcpt])
        assert (result.ok, result.permanent, result.code) == (False, False, 535), result


# -- scripted servers ----------------------------------------------------------------------------


async def test_fifty_sends_use_one_connection() -> None:
    handler = Recorder()
    async with local_smtp(handler) as server, SmtpSender(_plain(server.port)) as sender:
        for i in range(50):
            result = await sender.send(
                _message("a@example.org", f"n{i}"), envelope_from=SENDER, recipients=["a@x.org"]
            )
            assert result.ok, result
        assert sender.connections_opened == 1
    assert len(handler.accepted) == 50
    assert len(set(handler.peers)) == 1  # one client socket on the server side


async def test_one_recipient_refused_550_is_reported_and_the_rest_delivered() -> None:
    handler = Recorder({"ghost@example.org": "550 5.1.1 no such user"})
    async with local_smtp(handler) as server, SmtpSender(_plain(server.port)) as sender:
        some = await sender.send(
            _message("x@example.org"),
            envelope_from=SENDER,
            recipients=["ok@example.org", "ghost@example.org"],
        )
        alone = await sender.send(
            _message("x@example.org"), envelope_from=SENDER, recipients=["ghost@example.org"]
        )
        after = await sender.send(
            _message("x@example.org"), envelope_from=SENDER, recipients=["ok@example.org"]
        )
        assert sender.connections_opened == 1  # RSET after the refusal, connection kept
    assert some.ok and some.refused == {"ghost@example.org": "550 5.1.1 no such user"}
    assert (alone.ok, alone.permanent, alone.code) == (False, True, 550)
    assert alone.refused == {"ghost@example.org": "550 5.1.1 no such user"}
    assert after.ok
    assert [e.rcpt_tos for e in handler.accepted] == [["ok@example.org"], ["ok@example.org"]]


@pytest.mark.parametrize(
    ("rcpt_reply", "data_reply", "expected"),
    [
        ("451 4.3.0 try later", "", (False, False, 451)),
        ("", "451 4.3.0 try later", (False, False, 451)),
        ("", "554 5.6.0 content rejected", (False, True, 554)),
    ],
)
async def test_refusals_are_classified_by_reply_code(
    rcpt_reply: str, data_reply: str, expected: tuple[bool, bool, int]
) -> None:
    handler = Recorder({"busy@example.org": rcpt_reply} if rcpt_reply else {}, data_reply)
    async with local_smtp(handler) as server, SmtpSender(_plain(server.port)) as sender:
        result = await sender.send(
            _message("busy@example.org"), envelope_from=SENDER, recipients=["busy@example.org"]
        )
    assert (result.ok, result.permanent, result.code) == expected, result
    assert "4.3.0" in result.detail or "5.6.0" in result.detail


async def test_server_down_is_transient_and_the_sender_recovers_when_it_is_back() -> None:
    port = _free_port()
    sender = SmtpSender(_plain(port))
    down = await sender.send(_message("a@example.org"), envelope_from=SENDER, recipients=["a@b.c"])
    assert (down.ok, down.permanent, down.code) == (False, False, None), down
    handler = Recorder()
    server = LocalServer(handler, port)
    await server.start()
    try:
        up = await sender.send(
            _message("a@example.org"), envelope_from=SENDER, recipients=["a@b.c"]
        )
        assert up.ok, up
    finally:
        await sender.close()
        await server.stop()


@pytest.mark.parametrize("noticed", [True, False], ids=["fin-seen", "fin-unseen"])
async def test_a_connection_dropped_while_idle_is_reopened_without_duplicates(
    noticed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder()
    async with local_smtp(handler) as server, SmtpSender(_plain(server.port)) as sender:
        assert (await sender.send(_message("a@b.c"), envelope_from=SENDER, recipients=["a@b.c"])).ok
        server.drop_connections()
        if noticed:
            await asyncio.sleep(0.05)  # the client sees the FIN before the next send
        with caplog.at_level(logging.INFO, logger="mailbot.edges.smtp"):
            again = await sender.send(_message("a@b.c"), envelope_from=SENDER, recipients=["a@b.c"])
        assert again.ok, again
        assert sender.connections_opened == 2
    assert len(handler.accepted) == 2
    # unseen FIN: MAIL FROM fails on the old connection, nothing was sent, so it is retried
    assert any("reconnect" in r.getMessage() for r in caplog.records) is (not noticed)


async def test_smtputf8_is_used_only_when_needed_and_offered() -> None:
    utf8, rcpt = Recorder(), "josé@example.org"
    async with local_smtp(utf8, enable_SMTPUTF8=True) as srv, SmtpSender(_plain(srv.port)) as tx:
        plain = await tx.send(_message("a@b.c"), envelope_from=SENDER, recipients=["a@b.c"])
        intl = await tx.send(_message(rcpt), envelope_from=SENDER, recipients=[rcpt])
    assert plain.ok and intl.ok, (plain, intl)
    assert "SMTPUTF8" not in utf8.accepted[0].mail_options
    assert "SMTPUTF8" in utf8.accepted[1].mail_options
    assert utf8.accepted[1].rcpt_tos == [rcpt]
    assert f"To: {rcpt}".encode() in bytes(utf8.accepted[1].content or b"")

    ascii_only = Recorder()
    async with local_smtp(ascii_only) as srv, SmtpSender(_plain(srv.port)) as tx:
        refused: SendResult = await tx.send(_message(rcpt), envelope_from=SENDER, recipients=[rcpt])
    assert (refused.ok, refused.permanent) == (False, True) and "SMTPUTF8" in refused.detail
    assert ascii_only.accepted == []


# -- the two phases: prepare hands nothing over ---------------------------------------------------


async def test_prepare_hands_nothing_over_until_finish_and_abort_discards_it() -> None:
    handler = Recorder({"ghost@example.org": "550 5.1.1 no such user"})
    async with local_smtp(handler) as server, SmtpSender(_plain(server.port)) as sender:
        rcpts = ["a@b.c", "ghost@example.org"]
        prepared = await sender.prepare(_message("a@b.c"), envelope_from=SENDER, recipients=rcpts)
        assert not isinstance(prepared, SendResult), prepared
        assert handler.accepted == []  # envelope only: the relay has nothing to deliver yet
        done = await prepared.finish()
        assert done.ok and list(done.refused) == ["ghost@example.org"], done
        assert len(handler.accepted) == 1

        dropped = await sender.prepare(_message("a@b.c"), envelope_from=SENDER, recipients=rcpts)
        assert not isinstance(dropped, SendResult), dropped
        dropped.abort()  # no final dot: the relay discards the transaction
        dropped.abort()  # and again is harmless
        after = await sender.send(_message("a@b.c"), envelope_from=SENDER, recipients=["a@b.c"])
        assert after.ok, after
        assert sender.connections_opened == 2  # the aborted transaction's connection was dropped
    assert len(handler.accepted) == 2


async def test_prepare_settles_what_is_known_before_any_data() -> None:
    handler = Recorder({"ghost@example.org": "550 5.1.1 no such user"})
    async with local_smtp(handler) as server, SmtpSender(_plain(server.port)) as sender:
        refused = await sender.prepare(
            _message("ghost@example.org"), envelope_from=SENDER, recipients=["ghost@example.org"]
        )
        assert isinstance(refused, SendResult) and (refused.ok, refused.permanent) == (False, True)
        # The sender is free again at once: the connection was reset, not held.
        assert (await sender.send(_message("a@b.c"), envelope_from=SENDER, recipients=["a@b.c"])).ok
        assert sender.connections_opened == 1


async def test_closing_a_sender_with_a_prepared_transaction_sends_nothing() -> None:
    handler = Recorder()
    async with local_smtp(handler) as server:
        sender = SmtpSender(_plain(server.port))
        prepared = await sender.prepare(
            _message("a@b.c"), envelope_from=SENDER, recipients=["a@b.c"]
        )
        assert not isinstance(prepared, SendResult), prepared
        await asyncio.wait_for(sender.close(), 5)  # does not wait for a finish that never comes
        await asyncio.sleep(0.05)
    assert handler.accepted == []
