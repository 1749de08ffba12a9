"""IMAP edge: a thin adapter over aioimaplib for the program mailbox — no decisions.

It lists, fetches, moves and appends messages by UID and waits for new mail; what a message
means, and where it should go, is decided by the flows. Every public method survives one
dropped connection (server restart, timeout, a batch whose answer is too much for the server)
by reconnecting and retrying, except `append`, which is not idempotent and raises instead
when the outcome is unknown.

Traps in aioimaplib 2.0.3 this module works around (see shared/mailstack/bench/RESULTS.md):
- a pending command never returns when the connection dies (its own timeout does not fire),
  so every round trip races the command against a connection-lost future and our own timeout;
- large responses are quadratic and, above ~1,000 lines in one read, kill the connection with
  a RecursionError (upstream issue #118): the answers are read by `imap_wire` instead (a loop,
  and FETCH's "goes on" check kept line by line); fetches still go in batches, and a batch that
  killed the connection is retried once in smaller pieces;
- FETCH results are a list mixing `bytes` lines and `bytearray` literals: they are paired by
  UID, never by position;
- it has no STARTTLS and ignores the login CAPABILITY: both are done here;
- its `xoauth2()` never answers the server's SASL error challenge, so a refused token hangs
  until the timeout, and it has no OAUTHBEARER: `_authenticate` sends AUTHENTICATE with an
  initial response (SASL-IR) itself and answers a challenge with the empty line RFC 7628 asks.

With `auth = "oauth2"` the login is SASL XOAUTH2 or OAUTHBEARER with an access token from
`tokens` (edges/oauth.py); a refused token is renewed once and tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any, Literal, TypeVar

import aioimaplib

from mailbot.edges.imap_wire import Client, FetchCommand
from mailbot.edges.oauth import AccessTokens, OAuthTokenError, sasl_initial_response
from mailbot.edges.ports import Fetched

__all__ = ["Fetched", "ImapError", "ImapMailbox", "ImapSettings"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A batch that killed the connection is retried in pieces of at most this many UIDs.
_RETRY_PIECE = 50
# UIDs per MOVE/COPY/STORE command: keeps the command line short for scattered UID sets.
_MOVE_CHUNK = 500
# Upper bound of one body FETCH in bytes (a batch of large messages is split further).
_MAX_FETCH_BYTES = 32 * 1024 * 1024
# Header block bytes read per message (a partial FETCH): a hostile header block of megabytes
# costs no more than this; the parser caps the header fields it reads anyway.
MAX_HEADER_BYTES = 1024 * 1024
# RFC 2177: re-issue IDLE at least every 29 minutes; we stop earlier and report "no news".
_MAX_IDLE_SECONDS = 25 * 60

_FETCH_START = re.compile(rb"^(\d+) FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_LITERAL_ITEM = re.compile(rb"(BODY\[[A-Z0-9.]*\])(?:<\d+>)? \{(\d+)\}$")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class ImapError(Exception):
    """An IMAP operation failed and retrying it here would not help (or already did not)."""


class _Dead(Exception):
    """The connection is unusable (lost, timed out, or aioimaplib gave up): reconnect."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    tls: Literal["none", "starttls", "ssl"]
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    hold_folder: str = ""  # partners' mail waiting to be emptied ("" = none: expunged at once)
    batch_size: int = 200
    timeout: float = 30.0
    ca_file: str | None = None
    max_message_bytes: int = 10_000_000
    auth: Literal["password", "oauth2"] = "password"
    oauth_mechanism: Literal["xoauth2", "oauthbearer"] = "xoauth2"


@dataclass
class _Conn:
    client: aioimaplib.IMAP4
    lost: asyncio.Future[None]
    caps: frozenset[str]
    uidvalidity: int


class ImapMailbox:
    """One authenticated IMAP session with `settings.folder` selected; reopened on demand."""

    def __init__(self, settings: ImapSettings, tokens: AccessTokens | None = None) -> None:
        if settings.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if settings.auth == "oauth2" and tokens is None:
            raise ValueError("auth = oauth2 needs a token source")
        self._s = settings
        self._tokens = tokens
        self._conn: _Conn | None = None
        self._told: int | None = None  # highest UID new_uids has reported (or been told)
        self._uidvalidity: int | None = None
        self._lock = asyncio.Lock()

    # -- public API ------------------------------------------------------------------------

    async def connect(self) -> None:
        t0 = time.monotonic()
        async with self._lock:
            await self._run("connect", self._ensure_connected)
        _log("connect", t0, caps=" ".join(sorted(self._caps_of_interest())))

    async def close(self) -> None:
        async with self._lock:
            await self._drop(logout=True)

    async def __aenter__(self) -> ImapMailbox:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def capabilities(self) -> frozenset[str]:
        """What the server said it can do after login (empty before `connect`)."""
        return self._conn.caps if self._conn else frozenset()

    def supports_idle(self) -> bool:
        return self._conn is not None and "IDLE" in self._conn.caps

    async def uidvalidity(self) -> int:
        """UIDVALIDITY of `settings.folder` as reported by the latest SELECT."""
        async with self._lock:

            async def op() -> int:
                conn = await self._ensure_connected()
                return conn.uidvalidity

            return await self._run("uidvalidity", op)

    async def new_uids(self, after_uid: int) -> list[int]:
        """UIDs greater than `after_uid` in `settings.folder`, ascending."""
        t0 = time.monotonic()
        async with self._lock:
            uids = await self._run("new_uids", lambda: self._search_after(after_uid))
            self._told = max(self._told or 0, after_uid, *uids)
        _log("new_uids", t0, after=after_uid, found=len(uids))
        return uids

    async def fetch_headers(self, uids: Sequence[int]) -> list[Fetched]:
        """The header blocks and sizes of these UIDs (missing UIDs are skipped), in the order
        asked for, in one `UID FETCH (UID RFC822.SIZE BODY.PEEK[HEADER]<0.1048576>)` per
        batch: no body is read, and at most `MAX_HEADER_BYTES` of a header block."""
        t0 = time.monotonic()
        wanted = list(dict.fromkeys(int(u) for u in uids))
        got: dict[int, Fetched] = {}
        async with self._lock:
            for batch in _chunks(wanted, self._s.batch_size):
                got.update(await self._fetch_batch(batch, self._heads_on))
        out = [got[u] for u in wanted if u in got]
        _log("fetch_headers", t0, asked=len(wanted), got=len(out))
        return out

    async def fetch(
        self, uids: Sequence[int], sizes: Mapping[int, int] | None = None
    ) -> list[Fetched]:
        """The messages with these UIDs (missing UIDs are skipped), in the order asked for.

        Messages above `max_message_bytes` come back truncated to their header block. With
        `sizes` for every UID (from `fetch_headers`), their sizes are not asked again.
        """
        t0 = time.monotonic()
        wanted = list(dict.fromkeys(int(u) for u in uids))
        got: dict[int, Fetched] = {}
        known = dict(sizes) if sizes is not None else {}
        async with self._lock:
            for batch in _chunks(wanted, self._s.batch_size):
                given = {u: known[u] for u in batch if u in known}
                op = functools.partial(
                    self._fetch_on, sizes=given if len(given) == len(batch) else None
                )
                got.update(await self._fetch_batch(batch, op))
        out = [got[u] for u in wanted if u in got]
        _log(
            "fetch",
            t0,
            asked=len(wanted),
            got=len(out),
            truncated=sum(f.truncated for f in out),
            bytes=sum(len(f.raw) for f in out),
        )
        return out

    async def move(self, uids: Sequence[int], folder: str) -> None:
        """Move these UIDs from `settings.folder` to `folder` (UIDs already gone are ignored).

        Without MOVE: UID COPY, then flag only these UIDs \\Deleted and UID EXPUNGE them
        (UIDPLUS). Without UIDPLUS they stay flagged: a plain EXPUNGE would also remove
        messages someone else flagged for deletion.
        """
        t0 = time.monotonic()
        wanted = sorted({int(u) for u in uids})
        if not wanted:
            return
        async with self._lock:
            for chunk in _chunks(wanted, _MOVE_CHUNK):
                await self._run("move", functools.partial(self._move_chunk, chunk, folder))
        _log("move", t0, uids=len(wanted), folder=folder)

    async def expunge(self, uids: Sequence[int]) -> None:
        """Remove these UIDs from `settings.folder` for good: flagged \\Deleted, then UID
        EXPUNGE (UIDPLUS); without UIDPLUS a plain EXPUNGE, which also removes whatever else
        is flagged \\Deleted in the folder (the program's own mailbox)."""
        t0 = time.monotonic()
        wanted = sorted({int(u) for u in uids})
        if not wanted:
            return
        async with self._lock:

            async def op() -> None:
                conn = await self._ensure_connected()
                await self._expunge_uids(conn, wanted)

            await self._run("expunge", op)
        _log("expunge", t0, uids=len(wanted))

    async def find_address(self, address: str) -> list[int]:
        """UIDs of `settings.folder` whose From, To or Cc contains `address` (IMAP SEARCH is a
        substring match: the caller checks the fields before removing anything)."""
        t0 = time.monotonic()
        async with self._lock:

            async def op() -> list[int]:
                conn = await self._ensure_connected()
                await self._cmd(conn, conn.client.noop())
                q = _quote(address)
                resp = await self._cmd(
                    conn,
                    conn.client.uid_search("OR", "FROM", q, "OR", "TO", q, "CC", q, charset=None),
                )
                return sorted(_search_uids(resp.lines))

            found = await self._run("find_address", op)
        _log("find_address", t0, found=len(found))
        return found

    async def folders_holding(self, message_id: str) -> dict[str, frozenset[str]]:
        """`LIST "" *`, then in each selectable folder `EXAMINE` (read-only) and `UID SEARCH
        HEADER Message-ID`; the folders where it is found, with their attributes. The session
        is closed afterwards, so the next call selects `settings.folder` afresh."""
        t0 = time.monotonic()
        async with self._lock:

            async def op() -> dict[str, frozenset[str]]:
                conn = await self._ensure_connected()
                listed = await self._cmd(conn, conn.client.list('""', "*"))
                found: dict[str, frozenset[str]] = {}
                for name, attributes in _listed_folders(listed.lines).items():
                    if "\\noselect" in attributes or "\\nonexistent" in attributes:
                        continue
                    if (
                        await self._cmd(conn, conn.client.examine(_quote(name)), check=False)
                    ).result != "OK":
                        continue  # listed but not open to us: nothing we could remove there
                    resp = await self._cmd(
                        conn,
                        conn.client.uid_search(
                            "HEADER", "Message-ID", _quote(message_id), charset=None
                        ),
                    )
                    if _search_uids(resp.lines):
                        found[name] = attributes
                return found

            try:
                found = await self._run("folders_holding", op)
            finally:
                await self._drop(logout=True)
        _log("folders_holding", t0, found=len(found))
        return found

    async def has_folder(self, name: str) -> bool:
        """`LIST "" <name>`: whether `name` is listed, without \\Noselect or \\NonExistent."""
        t0 = time.monotonic()
        async with self._lock:

            async def op() -> bool:
                conn = await self._ensure_connected()
                resp = await self._cmd(conn, conn.client.list('""', _quote(name)))
                attributes = _listed_folders(resp.lines).get(name)
                return attributes is not None and not attributes & {"\\noselect", "\\nonexistent"}

            found = await self._run("has_folder", op)
        _log("has_folder", t0, folder=name, found=found)
        return found

    async def delete_folder(self, name: str) -> None:
        """`DELETE <name>`, its messages with it (RFC 3501 §6.3.4). NO [NONEXISTENT] is no
        error: the folder is gone (perhaps by a DELETE whose answer a lost connection took)."""
        if name.upper() == "INBOX" or name == self._s.folder:
            raise ValueError(f"not deleting INBOX or the selected folder: {name!r}")
        t0 = time.monotonic()
        async with self._lock:

            async def op() -> None:
                conn = await self._ensure_connected()
                resp = await self._cmd(conn, conn.client.delete(_quote(name)), check=False)
                said = b" ".join(bytes(x) for x in resp.lines)
                if resp.result != "OK" and b"[NONEXISTENT]" not in said:
                    raise ImapError(f"DELETE {name!r} on {self._where()}: {_text(resp)}")

            await self._run("delete_folder", op)
        _log("delete_folder", t0, folder=name)

    async def delete_older_than(self, before: date) -> int:
        """Expunge the messages of `settings.folder` whose internal date is before the day
        `before`: UID SEARCH BEFORE, then only those UIDs flagged \\Deleted and UID EXPUNGEd
        (UIDPLUS). Without UIDPLUS a plain EXPUNGE follows, which also removes whatever else
        is flagged \\Deleted in that folder (meant for the program's own Processed and
        Quarantine folders). Returns how many messages were found and removed."""
        t0 = time.monotonic()
        async with self._lock:
            removed = await self._run(
                "delete_older_than", functools.partial(self._delete_before, before)
            )
        _log("delete_older_than", t0, before=before.isoformat(), removed=removed)
        return removed

    async def append(self, raw: bytes, folder: str, flags: str = "") -> None:
        """APPEND one message. Not retried once sent: a lost reply raises ImapError."""
        t0 = time.monotonic()
        async with self._lock:
            # Make sure the connection works *before* sending anything (safe to reconnect).
            async def probe() -> _Conn:
                conn = await self._ensure_connected()
                await self._cmd(conn, conn.client.noop())
                return conn

            conn = await self._run("append", probe)
            try:
                await self._cmd(
                    conn,
                    conn.client.append(raw, mailbox=_quote(folder), flags=flags or None),
                    timeout=self._s.timeout + len(raw) / 1_000_000,
                )
            except _Dead as exc:
                await self._drop()
                raise ImapError(
                    f"append to {folder!r} on {self._where()}: connection lost, "
                    f"outcome unknown (not retried): {exc}"
                ) from exc
        _log("append", t0, folder=folder, bytes=len(raw))

    async def wait_for_new(self, timeout: float) -> bool:
        """Wait up to `timeout` s for new mail in `settings.folder`.

        True at once if the folder already holds UIDs above the highest one `new_uids` has
        reported (their EXISTS may have been swallowed by an earlier command). Then, with
        IDLE: True as soon as the server reports EXISTS (or the connection dropped and was
        reopened, so something may have arrived), False on timeout. Without IDLE: sleep and
        return False; the caller polls with `new_uids`.
        """
        t0 = time.monotonic()
        async with self._lock:

            async def check() -> tuple[_Conn, bool]:
                conn = await self._ensure_connected()
                told = self._told
                return conn, told is not None and bool(await self._search_after(told))

            conn, pending = await self._run("wait_for_new", check)
            if pending:
                _log("wait_for_new", t0, idle=False, new=True)
                return True
            if "IDLE" in conn.caps:
                try:
                    got = await self._idle(conn, min(timeout, _MAX_IDLE_SECONDS))
                except _Dead as exc:
                    log.info("imap op=wait_for_new reconnect reason=%r", str(exc))
                    await self._drop()
                    await self._run("wait_for_new", self._ensure_connected)
                    got = True
                _log("wait_for_new", t0, idle=True, new=got)
                return got
        await asyncio.sleep(timeout)
        _log("wait_for_new", t0, idle=False, new=False)
        return False

    # -- operations ------------------------------------------------------------------------

    async def _search_after(self, after_uid: int) -> list[int]:
        conn = await self._ensure_connected()
        # Dovecot answers SEARCH over the messages already announced to this session and
        # announces new arrivals (EXISTS) only after the SEARCH data: NOOP first to sync.
        await self._cmd(conn, conn.client.noop())
        # "n:*" always matches the last message, even when its UID is below n: filter.
        resp = await self._cmd(
            conn, conn.client.uid_search("UID", f"{after_uid + 1}:*", charset=None)
        )
        # aioimaplib strips "* SEARCH" from the data lines; the last line is the tagged text.
        found: set[int] = set()
        for line in resp.lines[:-1]:
            found.update(int(tok) for tok in bytes(line).split() if tok.isdigit())
        return sorted(u for u in found if u > after_uid)

    async def _fetch_batch(self, batch: list[int], fetch_on: _FetchOn) -> dict[int, Fetched]:
        try:
            conn = await self._ensure_connected()
            return await fetch_on(conn, batch)
        except _Dead as exc:
            # Reopen and retry the batch once, in smaller pieces: a batch whose answer killed
            # the connection (a server's limits, a timeout on a huge answer) may do it again.
            log.info(
                "imap op=fetch reconnect uids=%d first=%d reason=%r", len(batch), batch[0], str(exc)
            )
            await self._drop()
        out: dict[int, Fetched] = {}
        try:
            conn = await self._ensure_connected()
            for piece in _chunks(batch, min(_RETRY_PIECE, max(1, len(batch) // 2))):
                out.update(await fetch_on(conn, piece))
        except _Dead as exc:
            await self._drop()
            raise ImapError(
                f"fetch of {len(batch)} UIDs from {batch[0]} on {self._where()} "
                f"failed after reconnecting: {exc}"
            ) from exc
        return out

    async def _heads_on(self, conn: _Conn, batch: list[int]) -> dict[int, Fetched]:
        uid_set = _uid_set(batch)
        items = f"(UID RFC822.SIZE BODY.PEEK[HEADER]<0.{MAX_HEADER_BYTES}>)"
        log.debug("imap cmd=UID FETCH %s %s", uid_set, items)
        resp = await self._cmd(conn, _uid_fetch(conn, uid_set, items))
        return {
            uid: Fetched(uid, item.size, item.body, truncated=False, headers_only=True)
            for uid, item in _parse_fetch(resp.lines).items()
            if item.size >= 0 and item.body is not None
        }

    async def _fetch_on(
        self, conn: _Conn, batch: list[int], sizes: dict[int, int] | None = None
    ) -> dict[int, Fetched]:
        if sizes is None:
            resp = await self._cmd(conn, _uid_fetch(conn, _uid_set(batch), "(UID RFC822.SIZE)"))
            sizes = {u: item.size for u, item in _parse_fetch(resp.lines).items() if item.size >= 0}
        limit = self._s.max_message_bytes
        whole = [u for u in batch if u in sizes and sizes[u] <= limit]
        heads = [u for u in batch if u in sizes and sizes[u] > limit]
        out: dict[int, Fetched] = {}
        for part, truncated in ((whole, False), (heads, True)):
            what = "BODY.PEEK[HEADER]" if truncated else "BODY.PEEK[]"
            for piece in _by_bytes(part, sizes, _MAX_FETCH_BYTES, truncated):
                log.debug("imap cmd=UID FETCH %s (UID %s)", _uid_set(piece), what)
                resp = await self._cmd(
                    conn,
                    _uid_fetch(conn, _uid_set(piece), f"(UID {what})"),
                    timeout=self._s.timeout + sum(sizes[u] for u in piece) / 1_000_000,
                )
                for uid, item in _parse_fetch(resp.lines).items():
                    if uid in sizes and item.body is not None:
                        out[uid] = Fetched(uid, sizes[uid], item.body, truncated)
        missing = set(whole + heads) - set(out)
        if missing:
            log.warning("imap op=fetch no-body uids=%s", sorted(missing)[:20])
        return out

    async def _move_chunk(self, chunk: list[int], folder: str) -> None:
        conn = await self._ensure_connected()
        uid_set = _uid_set(chunk)
        if "MOVE" in conn.caps:
            await self._cmd(conn, conn.client.uid("move", uid_set, _quote(folder)))
            return
        await self._cmd(conn, conn.client.uid("copy", uid_set, _quote(folder)))
        await self._cmd(conn, conn.client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"))
        if "UIDPLUS" in conn.caps:
            await self._cmd(conn, conn.client.uid("expunge", uid_set))
        else:
            log.warning(
                "imap op=move no-uidplus uids=%d: left flagged \\Deleted in %s, not expunged",
                len(chunk),
                self._s.folder,
            )

    async def _delete_before(self, before: date) -> int:
        conn = await self._ensure_connected()
        await self._cmd(conn, conn.client.noop())
        resp = await self._cmd(
            conn, conn.client.uid_search("BEFORE", _imap_date(before), charset=None)
        )
        found = sorted(_search_uids(resp.lines))
        await self._expunge_uids(conn, found)
        return len(found)

    async def _expunge_uids(self, conn: _Conn, uids: list[int]) -> None:
        """Flag exactly these UIDs \\Deleted and UID EXPUNGE them (UIDPLUS); without UIDPLUS a
        plain EXPUNGE, which also removes whatever else is flagged \\Deleted in the folder."""
        for chunk in _chunks(uids, _MOVE_CHUNK):
            uid_set = _uid_set(chunk)
            await self._cmd(conn, conn.client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"))
            if "UIDPLUS" in conn.caps:
                await self._cmd(conn, conn.client.uid("expunge", uid_set))
            else:
                await self._cmd(conn, conn.client.expunge())

    async def _idle(self, conn: _Conn, timeout: float) -> bool:
        client, queue = conn.client, conn.client.protocol.idle_queue
        while not queue.empty():  # pushes left over from an earlier IDLE
            queue.get_nowait()
        deadline = time.monotonic() + timeout
        idle_task = await self._cmd(conn, client.idle_start(timeout=timeout + 60))
        got = False
        try:
            while not got:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    lines = await self._cmd(conn, queue.get(), timeout=left, may_time_out=True)
                except _Timeout:
                    break
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                got = any(isinstance(x, bytes) and x.endswith(b" EXISTS") for x in lines)
        finally:
            if not conn.lost.done() and client.has_pending_idle():
                client.idle_done()
        await self._cmd(conn, idle_task)
        return got

    # -- connection management -------------------------------------------------------------

    async def _run(self, name: str, op: Callable[[], Awaitable[T]]) -> T:
        """Run `op`; if the connection dies, reopen it once and run `op` again."""
        for attempt in (1, 2):
            try:
                return await op()
            except _Dead as exc:
                await self._drop()
                if attempt == 2:
                    raise ImapError(f"{name} on {self._where()} failed twice: {exc}") from exc
                log.info("imap op=%s reconnect reason=%r", name, str(exc))
        raise AssertionError("unreachable")

    async def _ensure_connected(self) -> _Conn:
        conn = self._conn
        if conn is not None and not conn.lost.done():
            return conn
        if conn is not None:
            await self._drop()
        try:
            self._conn = await self._open()
        except BaseException:
            await self._drop()  # never keep a half-set-up session (e.g. CREATE refused)
            raise
        return self._conn

    async def _open(self) -> _Conn:
        s = self._s
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[None] = loop.create_future()

        def on_lost(exc: Exception | None) -> None:
            if not lost.done():
                lost.set_result(None)

        ctx = None if s.tls == "none" else _ssl_context(s.ca_file)
        try:
            client = Client(
                s.host,
                s.port,
                timeout=s.timeout,
                conn_lost_cb=on_lost,
                ssl_context=ctx if s.tls == "ssl" else None,
            )
        except OSError as exc:
            raise _Dead(f"connect: {exc}") from exc
        conn = _Conn(client, lost, frozenset(), 0)
        self._conn = conn  # so that a failure below closes its transport in _drop
        await self._cmd(conn, client.wait_hello_from_server())  # TLS errors are OSErrors
        if s.tls == "starttls" and ctx is not None:  # ctx is None only for tls = "none"
            await self._starttls(conn, ctx)
        await self._login(conn)
        await self._cmd(conn, client.protocol.capability())  # the login reply's list is unparsed
        conn.caps = frozenset(c.upper() for c in client.protocol.capabilities)
        for folder in dict.fromkeys(
            f for f in (s.processed_folder, s.quarantine_folder, s.hold_folder) if f
        ):
            resp = await self._cmd(conn, client.list('""', _quote(folder)))
            if not any(resp.lines[:-1]):  # "* LIST" data lines, stripped of "LIST"
                made = await self._cmd(conn, client.create(_quote(folder)), check=False)
                # Another connection (the daemon's, a retention pass) may have made it between
                # our LIST and CREATE: RFC 5530's ALREADYEXISTS is what we wanted.
                if made.result != "OK" and b"ALREADYEXISTS" not in b" ".join(
                    x for x in made.lines if isinstance(x, bytes)
                ):
                    raise ImapError(f"CREATE {folder!r} on {self._where()}: {made.lines!r}")
        resp = await self._cmd(conn, client.select(_quote(s.folder)))
        for line in resp.lines:
            m = _UIDVALIDITY.search(line) if isinstance(line, bytes) else None
            if m:
                conn.uidvalidity = int(m.group(1))
        if self._uidvalidity not in (None, conn.uidvalidity):
            self._told = None  # UIDs from before mean nothing now
        self._uidvalidity = conn.uidvalidity
        return conn

    async def _login(self, conn: _Conn) -> None:
        s = self._s
        if s.auth != "oauth2" or self._tokens is None:
            resp = await self._cmd(
                conn, conn.client.protocol.login(_quote(s.username), s.password), check=False
            )
            if resp.result != "OK":
                await self._drop()
                raise ImapError(
                    f"LOGIN as {s.username!r} on {self._where()} refused: {_text(resp)}"
                )
            return
        mech = s.oauth_mechanism.upper()
        try:
            token = await self._tokens.token()
            resp = await self._authenticate(conn, token)
            if resp.result != "OK":
                log.info(
                    "imap op=login mechanism=%s refused=%r: renewing the token once",
                    mech,
                    _text(resp),
                )
                token = await self._tokens.refreshed(token)
                resp = await self._authenticate(conn, token)
        except OAuthTokenError as exc:
            await self._drop()
            raise ImapError(f"{mech} login on {self._where()}: {exc}") from exc
        if resp.result != "OK":
            await self._drop()
            raise ImapError(
                f"AUTHENTICATE {mech} as {s.username!r} on {self._where()} refused even with a "
                f"new access token: {_text(resp)} (does the app registration grant IMAP access, "
                "and is IMAP enabled for this mailbox?)"
            )

    async def _authenticate(self, conn: _Conn, token: str) -> aioimaplib.Response:
        s = self._s
        protocol = conn.client.protocol
        initial = sasl_initial_response(s.oauth_mechanism, s.username, token, s.host, s.port)
        cmd = _SaslCommand(
            protocol,
            "AUTHENTICATE",
            protocol.new_tag(),
            s.oauth_mechanism.upper(),
            initial,
            loop=protocol.loop,
        )
        resp: aioimaplib.Response = await self._cmd(
            conn, _sasl(protocol, cmd, initial), check=False
        )
        return resp

    async def _starttls(self, conn: _Conn, ctx: ssl.SSLContext) -> None:
        protocol = conn.client.protocol
        if "STARTTLS" not in {c.upper() for c in protocol.capabilities}:
            raise ImapError(f"{self._where()} does not offer STARTTLS")
        cmd = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        await self._cmd(conn, protocol.execute(cmd))
        loop = asyncio.get_running_loop()
        transport = await self._cmd(
            conn, loop.start_tls(protocol.transport, protocol, ctx, server_hostname=self._s.host)
        )
        protocol.transport = transport
        await self._cmd(conn, protocol.capability())  # capabilities may change after TLS

    async def _drop(self, logout: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if logout and not conn.lost.done():
            with contextlib.suppress(_Dead, ImapError):
                await self._cmd(conn, conn.client.logout(), timeout=min(self._s.timeout, 5.0))
        transport = conn.client.protocol.transport
        if transport is not None:
            transport.close()
        for task in list(conn.client.tasks) + list(conn.client.protocol.tasks):
            task.cancel()

    async def _cmd(
        self,
        conn: _Conn,
        aw: Awaitable[Any],
        *,
        timeout: float | None = None,
        check: bool = True,
        may_time_out: bool = False,
    ) -> Any:
        """Await one aioimaplib call, racing it against connection loss and our own timeout.

        Raises _Dead (connection unusable), _Timeout instead when `may_time_out` (waits for
        server pushes), ImapError when the server answers NO/BAD and `check` is set.
        """
        task = asyncio.ensure_future(aw)
        limit = self._s.timeout if timeout is None else timeout
        try:
            done, _ = await asyncio.wait(
                {task, conn.lost}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task not in done:
            task.cancel()
            if conn.lost.done():
                raise _Dead("connection lost")
            if may_time_out:
                raise _Timeout()
            raise _Dead(f"no answer within {limit:.1f} s")
        try:
            result = task.result()
        except (TimeoutError, aioimaplib.AioImapException, OSError, EOFError) as exc:
            raise _Dead(f"{type(exc).__name__}: {exc}") from exc
        if check and isinstance(result, aioimaplib.Response) and result.result != "OK":
            raise ImapError(f"{self._where()} answered {result.result}: {_text(result)}")
        return result

    def _caps_of_interest(self) -> set[str]:
        caps = self._conn.caps if self._conn else frozenset()
        return {c for c in caps if c in {"IDLE", "MOVE", "UIDPLUS", "LITERAL+"}}

    def _where(self) -> str:
        s = self._s
        return f"{s.host}:{s.port} ({s.tls}, {s.username}, {s.folder})"


_FetchOn = Callable[[_Conn, list[int]], Awaitable[dict[int, Fetched]]]


class _Timeout(Exception):
    """A wait for server pushes ended without news (the connection is fine)."""


class _SaslCommand(aioimaplib.Command):
    """AUTHENTICATE that answers the server's error challenge ("+ <base64 JSON>") with the
    empty response RFC 7628 §3.2.3 requires; only then does the server say NO."""

    def __init__(self, protocol: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protocol = protocol
        self._answered = False

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result=result)
        if result == "Pending" and not self._answered and bytes(line).startswith(b"+"):
            self._answered = True
            self._protocol.transport.write(b"\r\n")


def _uid_fetch(conn: _Conn, uid_set: str, items: str) -> Awaitable[aioimaplib.Response]:
    """`conn.client.uid("fetch", uid_set, items)`, with the command above."""
    protocol = conn.client.protocol
    cmd = FetchCommand(protocol.new_tag(), uid_set, items, prefix="UID", loop=protocol.loop)
    result: Awaitable[aioimaplib.Response] = protocol.execute(cmd)
    return result


async def _sasl(protocol: Any, cmd: _SaslCommand, secret: str) -> aioimaplib.Response:
    """Run AUTHENTICATE; on OK move the protocol to AUTH, as aioimaplib's own login does."""
    resp: aioimaplib.Response = await protocol.execute(cmd, scrub=secret)
    if resp.result == "OK":
        async with protocol.state_condition:
            protocol.state = aioimaplib.AUTH
            protocol.state_condition.notify_all()
    return resp


def _search_uids(lines: Sequence[bytes | bytearray]) -> set[int]:
    """The UIDs of a UID SEARCH answer (aioimaplib strips "* SEARCH"; the last line is the
    tagged text)."""
    found: set[int] = set()
    for line in lines[:-1]:
        found.update(int(tok) for tok in bytes(line).split() if tok.isdigit())
    return found


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _by_bytes(
    uids: list[int], sizes: dict[int, int], limit: int, headers_only: bool
) -> Iterator[list[int]]:
    """Split `uids` so one FETCH carries at most about `limit` bytes of bodies."""
    piece: list[int] = []
    total = 0
    for uid in uids:
        size = 0 if headers_only else sizes[uid]
        if piece and total + size > limit:
            yield piece
            piece, total = [], 0
        piece.append(uid)
        total += size
    if piece:
        yield piece


def _uid_set(uids: Sequence[int]) -> str:
    """'1:3,7,9:10' for [1, 2, 3, 7, 9, 10] (input need not be sorted)."""
    runs: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(runs)


@dataclass
class _Item:
    size: int = -1
    body: bytes | None = None


def _parse_fetch(lines: Sequence[bytes | bytearray]) -> dict[int, _Item]:
    """Pair FETCH data with its UID.

    aioimaplib gives `b'7 FETCH (UID 42 RFC822.SIZE 1234 BODY[] {1234}'`, then the literal as
    a bytearray, then `b')'` (or `b' FLAGS (\\Seen))'`), then the next item, and finally the
    tagged line's text. Unsolicited FETCH responses may be interleaved; items are merged by
    UID. Lines that belong to no FETCH item are ignored.
    """
    out: dict[int, _Item] = {}
    uid: int | None = None
    cur = _Item()
    literal_for: bytes | None = None

    def flush() -> None:
        if uid is None:
            return
        item = out.setdefault(uid, _Item())
        if cur.size >= 0:
            item.size = cur.size
        if cur.body is not None:
            item.body = cur.body

    for line in lines:
        if isinstance(line, bytearray):
            if literal_for is not None and literal_for.startswith(b"BODY["):
                cur.body = bytes(line)
            literal_for = None
            continue
        if _FETCH_START.match(line):
            flush()
            uid, cur, literal_for = None, _Item(), None
        m = _UID.search(line)
        if m:
            uid = int(m.group(1))
        m = _SIZE.search(line)
        if m:
            cur.size = int(m.group(1))
        m = _LITERAL_ITEM.search(line)
        literal_for = m.group(1) if m else None
    flush()
    return out


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _imap_date(day: date) -> str:
    """RFC 3501 date ("6-Dec-2026"), independent of the process locale."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


_LISTED = re.compile(rb'^\(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*)$')


def _listed_folders(lines: Sequence[bytes | bytearray]) -> dict[str, frozenset[str]]:
    """Folder name -> attributes (lower case) of a LIST answer; a name sent as a literal
    ("{11}") is the line after it. Names stay as the server sent them (modified UTF-7)."""
    out: dict[str, frozenset[str]] = {}
    items = [bytes(x) for x in lines[:-1]]
    for i, line in enumerate(items):
        m = _LISTED.match(line)
        if m is None:
            continue
        raw = m.group(2)
        if raw.startswith(b"{") and raw.endswith(b"}") and i + 1 < len(items):
            raw = items[i + 1]
        elif raw.startswith(b'"'):
            raw = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
        out[raw.decode("ascii", "replace")] = frozenset(m.group(1).decode().lower().split())
    return out


def _quote(name: str) -> str:
    """An IMAP quoted string (mailbox names, login). Non-ASCII names are not supported."""
    if not name.isascii():
        raise ValueError(f"non-ASCII mailbox or login name not supported: {name!r}")
    return aioimaplib.quoted(name)


def _text(resp: aioimaplib.Response) -> str:
    last = resp.lines[-1] if resp.lines else b""
    return bytes(last).decode("utf-8", "replace")


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


def _log(op: str, t0: float, **fields: object) -> None:
    if log.isEnabledFor(logging.DEBUG):
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        log.debug("imap op=%s ms=%.1f %s", op, (time.monotonic() - t0) * 1000, extra)
