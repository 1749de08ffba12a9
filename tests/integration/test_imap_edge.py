"""The IMAP edge against a real Dovecot: bytes, UIDs, truncation, moves, IDLE, TLS, reconnects.

Every test works on a fresh login (tests.support.mailbox.new_user), so counts are exact even
when pytest-xdist workers share one stack.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from mailbot.edges.imap import Fetched, ImapError, ImapMailbox, ImapSettings
from tests.support import mailbox as mbx

pytestmark = pytest.mark.integration

Stack = dict[str, Any]


def _raw(i: int, *, body: str = "", extra: str = "") -> bytes:
    """A small message whose bytes are easy to recognise (CRLF, 8-bit, IMAP-ish noise)."""
    text = (
        f"From: Zoë <zoe@example.org>\r\n"
        f"To: program@example.net\r\n"
        f"Subject: edge {i} (parens) {{5}}\r\n"
        f"Message-ID: <edge-{i}@test.mailbot>\r\n"
        f"{extra}"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n"
        f"body {i} déjà vu\r\n* 1 FETCH (UID 99 BODY[] {{3}}\r\n)\r\n{body}"
    )
    return text.encode()


def _msgid(raw: bytes) -> str:
    match = re.search(rb"^Message-ID: (<[^>\r\n]+>)\r?$", raw, re.MULTILINE)
    assert match, raw[:200]
    return match.group(1).decode()


@pytest.fixture
def user(mailstack: Stack) -> str:
    return mbx.new_user(mailstack, prefix="edges", domain="example.net")


@pytest.fixture
def settings_for(mailstack: Stack) -> Callable[..., ImapSettings]:
    def make(user: str, **kw: Any) -> ImapSettings:
        base: dict[str, Any] = {
            "host": mailstack["MAILSTACK_HOST"],
            "port": int(mailstack["MAILSTACK_IMAP_PORT"]),
            "username": user,
            "password": mbx.password_for(mailstack, user),
            "tls": "none",
            "timeout": 10.0,
            "ca_file": mailstack["MAILSTACK_CA_FILE"],
        }
        base.update(kw)
        return ImapSettings(**base)

    return make


def _append_all(stack: Stack, user: str, raws: list[bytes], folder: str = "INBOX") -> None:
    with mbx.imap_login(stack, user) as im:
        for raw in raws:
            typ, data = im.append(folder, None, None, raw)
            assert typ == "OK", data


# -- listing and fetching ----------------------------------------------------------------------


async def test_new_uids_and_fetch_return_exactly_the_appended_bytes(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    raws = [_raw(i) for i in range(7)]
    _append_all(mailstack, user, raws)
    async with ImapMailbox(settings_for(user, batch_size=3)) as mb:
        uids = await mb.new_uids(0)
        assert len(uids) == 7 and uids == sorted(uids)
        got = await mb.fetch(uids)
    assert [f.uid for f in got] == uids
    assert [f.raw for f in got] == raws
    assert all(not f.truncated and f.size == len(f.raw) for f in got)


async def test_fetch_keeps_the_order_asked_and_skips_unknown_uids(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    _append_all(mailstack, user, [_raw(i) for i in range(3)])
    async with ImapMailbox(settings_for(user)) as mb:
        uids = await mb.new_uids(0)
        got = await mb.fetch([uids[2], 9999, uids[0], uids[2]])
    assert [f.uid for f in got] == [uids[2], uids[0]]
    assert [_msgid(f.raw) for f in got] == ["<edge-2@test.mailbot>", "<edge-0@test.mailbot>"]


async def test_new_uids_only_returns_uids_after_the_given_one(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    _append_all(mailstack, user, [_raw(i) for i in range(4)])
    async with ImapMailbox(settings_for(user)) as mb:
        uids = await mb.new_uids(0)
        assert await mb.new_uids(uids[1]) == uids[2:]
        # "UID n:*" matches the last message even when its UID is below n: must be filtered
        assert await mb.new_uids(uids[-1]) == []
        assert await mb.new_uids(uids[-1] + 100) == []
        assert await mb.uidvalidity() > 0


async def test_oversized_message_comes_back_as_its_header_block(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    small, big = _raw(1), _raw(2, body="x" * 4000 + "\r\n")
    _append_all(mailstack, user, [small, big])
    async with ImapMailbox(settings_for(user, max_message_bytes=2000)) as mb:
        got = await mb.fetch(await mb.new_uids(0))
    assert (got[0].truncated, got[0].raw) == (False, small)
    head = got[1]
    assert head.truncated and head.size == len(big)
    assert head.raw == big[: big.index(b"\r\n\r\n") + 4]


# -- moving and appending ----------------------------------------------------------------------


async def test_move_leaves_inbox_empty_and_processed_full(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    raws = [_raw(i) for i in range(5)]
    _append_all(mailstack, user, raws)
    async with ImapMailbox(settings_for(user)) as mb:
        await mb.move(await mb.new_uids(0), "Processed")
        assert await mb.new_uids(0) == []
        await mb.move([12345], "Processed")  # gone or never there: not an error
    assert mbx.folder_count(mailstack, user, "INBOX") == 0
    assert sorted(mbx.fetch_all(mailstack, user, "Processed")) == sorted(raws)


async def test_move_without_MOVE_expunges_only_the_moved_uids(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    # someone else flagged a message \Deleted and has not expunged it: it must survive
    _append_all(mailstack, user, [_raw(0)])
    with mbx.imap_login(mailstack, user) as im:
        assert im.append("INBOX", r"(\Deleted)", None, _raw(99))[0] == "OK"
    _append_all(mailstack, user, [_raw(1), _raw(2)])
    async with ImapMailbox(settings_for(user)) as mb:
        uids = await mb.new_uids(0)
        assert mb._conn is not None
        mb._conn.caps = mb._conn.caps - {"MOVE"}  # white-box: take the COPY/STORE/EXPUNGE path
        mine = [u for u in uids if u != uids[1]]
        await mb.move(mine, "Quarantine")
        assert await mb.new_uids(0) == [uids[1]]
    assert [_msgid(r) for r in mbx.fetch_all(mailstack, user, "INBOX")] == [
        "<edge-99@test.mailbot>"
    ]
    assert mbx.folder_count(mailstack, user, "Quarantine") == 3


async def test_connect_creates_missing_folders_with_awkward_names(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    s = settings_for(user, processed_folder='Done "ok"', quarantine_folder="Held back")
    async with ImapMailbox(s) as mb:
        await mb.append(_raw(1), "Held back", flags=r"\Seen")
    async with ImapMailbox(s):  # second connect: folders exist, nothing to do
        pass
    folders = mbx.list_folders(mailstack, user)
    assert 'Done "ok"' in folders and "Held back" in folders
    assert mbx.fetch_all(mailstack, user, "Held back") == [_raw(1)]


# -- IDLE ----------------------------------------------------------------------------------------


async def test_idle_returns_true_soon_after_smtp_delivery(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    async with ImapMailbox(settings_for(user)) as mb:
        assert mb.supports_idle()
        assert await mb.new_uids(0) == []
        waiter = asyncio.create_task(mb.wait_for_new(10.0))
        await asyncio.sleep(0.05)  # let IDLE start; the delivery is what we time
        msg = mbx.make_message("bob@example.org", user)
        t0 = time.monotonic()
        await asyncio.to_thread(mbx.send, mailstack, msg, "bob@example.org", user)
        assert await asyncio.wait_for(waiter, 5.0) is True
        elapsed = time.monotonic() - t0
        assert len(await mb.new_uids(0)) == 1
    # Dovecot batches change notifications for 0.5 s (NOTIFY_DELAY_MSECS)
    assert elapsed < 1.0, elapsed


async def test_idle_times_out_with_false_and_the_connection_stays_usable(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    async with ImapMailbox(settings_for(user)) as mb:
        await mb.new_uids(0)
        t0 = time.monotonic()
        assert await mb.wait_for_new(0.3) is False
        assert 0.25 < time.monotonic() - t0 < 2.0
        _append_all(mailstack, user, [_raw(1)])
        assert len(await mb.new_uids(0)) == 1


async def test_wait_for_new_sees_mail_whose_EXISTS_an_earlier_command_swallowed(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    async with ImapMailbox(settings_for(user)) as mb:
        assert await mb.new_uids(0) == []
        _append_all(mailstack, user, [_raw(1)])
        await mb.fetch([1])  # the server reports EXISTS here; aioimaplib drops it
        t0 = time.monotonic()
        assert await mb.wait_for_new(5.0) is True
        assert time.monotonic() - t0 < 0.5


# -- TLS and login -------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
async def test_tls_modes_with_the_stack_ca(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings], tls: str
) -> None:
    port = mailstack["MAILSTACK_IMAPS_PORT" if tls == "ssl" else "MAILSTACK_IMAP_PORT"]
    _append_all(mailstack, user, [_raw(1)])
    async with ImapMailbox(settings_for(user, tls=tls, port=int(port))) as mb:
        got = await mb.fetch(await mb.new_uids(0))
        assert mb._conn is not None  # white-box: the session really is encrypted
        assert mb._conn.client.protocol.transport.get_extra_info("ssl_object") is not None
    assert [f.raw for f in got] == [_raw(1)]


async def test_tls_without_the_ca_is_refused_with_imap_error(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    s = settings_for(user, tls="ssl", port=int(mailstack["MAILSTACK_IMAPS_PORT"]), ca_file=None)
    with pytest.raises(ImapError, match="CERTIFICATE_VERIFY_FAILED"):
        await ImapMailbox(s).connect()


async def test_wrong_password_and_closed_port_raise_imap_error(
    user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    with pytest.raises(ImapError, match="LOGIN"):
        await ImapMailbox(settings_for(user, password="wrong")).connect()
    mb = ImapMailbox(settings_for(user, port=1))
    with pytest.raises(ImapError, match=r"new_uids on 127\.0\.0\.1:1 .* Connect call failed"):
        await mb.new_uids(0)


# -- reconnecting --------------------------------------------------------------------------------


async def test_every_method_survives_a_closed_transport(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    _append_all(mailstack, user, [_raw(i) for i in range(3)])
    async with ImapMailbox(settings_for(user)) as mb:
        uids = await mb.new_uids(0)

        def cut() -> None:  # white-box: drop the TCP connection under the mailbox
            assert mb._conn is not None
            mb._conn.client.protocol.transport.abort()

        cut()
        assert await mb.new_uids(0) == uids
        cut()
        assert [f.uid for f in await mb.fetch(uids)] == uids
        cut()
        assert await mb.uidvalidity() > 0
        cut()
        await mb.append(_raw(9), "INBOX")
        cut()
        await mb.move(uids, "Processed")
        cut()
        assert await mb.wait_for_new(0.2) is True  # 9 was never reported by new_uids
        assert await mb.new_uids(0) == [uids[-1] + 1]
    assert mbx.folder_count(mailstack, user, "Processed") == 3
    assert mbx.folder_count(mailstack, user, "INBOX") == 1  # append not duplicated


def _kick(stack: Stack, user: str) -> None:
    """Make Dovecot drop the user's IMAP sessions from the server side."""
    conf = pathlib.Path(stack["MAILSTACK_DIR"]) / "etc" / "dovecot.conf"
    subprocess.run(["doveadm", "-c", str(conf), "kick", user], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("doveadm") is None, reason="doveadm not installed")
async def test_server_side_disconnect_is_noticed_and_the_call_retried(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    _append_all(mailstack, user, [_raw(i) for i in range(3)])
    async with ImapMailbox(settings_for(user)) as mb:
        uids = await mb.new_uids(0)
        _kick(mailstack, user)
        assert [f.uid for f in await mb.fetch(uids)] == uids
        waiter = asyncio.create_task(mb.wait_for_new(10.0))
        await asyncio.sleep(0.2)  # inside IDLE now
        t0 = time.monotonic()
        _kick(mailstack, user)
        assert await asyncio.wait_for(waiter, 5.0) is True  # "maybe new": caller re-polls
        assert time.monotonic() - t0 < 2.0
        assert await mb.new_uids(0) == uids


# -- big mailboxes -------------------------------------------------------------------------------


def _fill_maildir(stack: Stack, user: str, count: int) -> dict[str, bytes]:
    """Write `count` messages straight into the user's Maildir/new (Dovecot indexes them)."""
    assert mbx.folder_count(stack, user) == 0  # logs in once: Dovecot creates the Maildir
    local, _, domain = user.partition("@")
    maildir = pathlib.Path(stack["MAILSTACK_DIR"]) / "mail" / domain / local / "Maildir"
    if not (maildir / "new").is_dir():
        pytest.skip(f"not a Maildir stack: {maildir}")
    owner = maildir.stat()
    expected: dict[str, bytes] = {}
    stamp = int(time.time())
    for i in range(count):
        raw = _raw(100_000 + i, body=f"{i}\r\n" * (i % 7))
        path = maildir / "new" / f"{stamp}.M{i}P{os.getpid()}.edges,S={len(raw)}"
        path.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(path, owner.st_uid, owner.st_gid)
        expected[f"<edge-{100_000 + i}@test.mailbot>"] = raw
    return expected


@pytest.mark.slow
async def test_fetch_of_ten_thousand_messages_returns_every_uid_once(
    mailstack: Stack, user: str, settings_for: Callable[..., ImapSettings], caplog: Any
) -> None:
    t_fill = time.monotonic()
    expected = _fill_maildir(mailstack, user, 10_050)
    t0 = time.monotonic()
    t_fill = t0 - t_fill
    async with ImapMailbox(settings_for(user, timeout=60.0)) as mb:
        uids = await mb.new_uids(0)
        t_search = time.monotonic() - t0
        got: list[Fetched] = await mb.fetch(uids)
        t_fetch = time.monotonic() - t0 - t_search

        # A batch far above what aioimaplib's own reader survives (its RecursionError on
        # ~1,000 lines in one read killed the connection): read whole now (edges.imap_wire).
        big = ImapMailbox(settings_for(user, batch_size=5000, timeout=60.0))
        t1 = time.monotonic()
        with caplog.at_level(logging.INFO, logger="mailbot.edges.imap"):
            again = await big.fetch(uids[:5000])
        t_big = time.monotonic() - t1
        await big.close()
    print(
        f"\n10k: fill {t_fill:.2f}s, select+search {t_search:.2f}s, fetch {t_fetch:.2f}s; "
        f"5k in one batch {t_big:.2f}s"
    )
    assert len(uids) == 10_050
    assert [f.uid for f in got] == uids
    assert {_msgid(f.raw): f.raw for f in got} == expected
    assert [f.uid for f in again] == uids[:5000]
    reasons = [r.getMessage() for r in caplog.records if "reconnect" in r.getMessage()]
    assert reasons == [], "the 5,000-message batch killed the connection"


async def test_a_server_that_stops_answering_raises_instead_of_hanging(
    user: str, settings_for: Callable[..., ImapSettings]
) -> None:
    # aioimaplib's own timeouts do not fire for a silent peer: ours must
    writers: list[asyncio.StreamWriter] = []

    async def greet_then_mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] mute server ready\r\n")
        await reader.read()  # never answers CAPABILITY or LOGIN

    server = await asyncio.start_server(greet_then_mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(ImapError, match="no answer within"):
            await ImapMailbox(settings_for(user, port=port, timeout=0.3)).connect()
        assert time.monotonic() - t0 < 2.0  # two attempts of 0.3 s, not a hang
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
