"""Inbound: fetch new mail, classify it, apply its effects, then file it — in that order.

A batch is read as header blocks first, bodies only where needed, parsed and classified
(`flows.intake_fetch`) while the batch before it is handled — from `intake_reader.
PROCESS_FROM` batches on in a second process (`flows.intake_reader`), on its own connection:
partner conversation is recorded from its headers and, once committed, expunged — or, with
`privacy.partner_mail_days` > 0, moved to the holding folder the retention pass empties; its
body is never read. Any other message is moved to Processed only after the transaction
holding its inbound row, its effects and its outbox rows has committed; a crash before the
move (or the expunge) means the next run finds the row by (folder, UIDVALIDITY, UID) and only
finishes the move (or the expunge). Anything that fails is recorded as quarantined with the
reason and moved to Quarantine: never dropped. After the last filing, an erased person's
messages leave the program folders (`flows.mailbox_erasure`).

A fetch batch is handled in one transaction, all together; only when something in it fails
is it rolled back and handled again one message at a time, so that only the failing message
is quarantined (`_handle_chunk`). A failure of the database itself (locked, gone) is no
message's fault: the transaction is rolled back, nothing is quarantined, and
`DatabaseUnavailable` stops the run with the batch still in the inbox for the next one.

No message can hold the inbox up: parsing and classifying one run under a time budget
(`imap.message_budget_seconds`, `flows.time_budget`); a message past it is quarantined with
the reason (hit `over_budget`) and the rest of its batch handled one by one, without
running the slow one again.

What is done with each message is `intake_dispatch.handle`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, case, update

from mailbot.domain.classify import Ahead
from mailbot.domain.model import Inbound, Kind
from mailbot.edges.db import describe, unavailable
from mailbot.edges.tables import MailboxState
from mailbot.flows import rounds
from mailbot.flows.inbound_rows import PROCESSED, QUARANTINED, row
from mailbot.flows.intake_dispatch import handle
from mailbot.flows.intake_fetch import Batch, read_batch
from mailbot.flows.intake_filing import PARTNER, Filing, FilingThread
from mailbot.flows.intake_known import Known
from mailbot.flows.intake_reader import PROCESS_FROM, ReaderProcess
from mailbot.flows.mailbox_erasure import erase_pending
from mailbot.flows.metadata_buffer import MetadataBuffer
from mailbot.flows.time_budget import OverBudget, handler_held

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailbot.deps import Deps
    from mailbot.edges.ports import Fetched, Mailbox

log = logging.getLogger("mailbot.intake")


class DatabaseUnavailable(RuntimeError):
    """The database failed, not a message: the batch in hand stays in the inbox."""


def database_failure(error: BaseException) -> str | None:
    """What went wrong when `error` is the database's own failure (met by intake, a job or
    delivery), in the driver's words; None for any other error."""
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    return describe(error) if unavailable(error) else None


@dataclass
class IntakeReport:
    seen: int = 0
    processed: int = 0
    quarantined: int = 0
    # partner mail read from its headers, recorded, then expunged (or moved to the holding folder)
    partner_removed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


# Committed messages moved out of the inbox per filing (edges.imap moves at most 500 UIDs per
# command).
FILE_EVERY = 500


async def run_once(
    deps: Deps, now: datetime, *, mailbox: Mailbox | None = None, stop: Any = None
) -> IntakeReport:
    """Fetch and handle every new message once; `stop()` true → file the batch in hand, return.

    The heap from before the run is frozen while it runs (`gc.freeze`, unless something else
    froze it): the collector's full passes then scan only what the run makes (on the
    10,000-message mix 0.20 → 0.05 s of this process's time), and reader children forked
    meanwhile do not scan, and so do not copy, the pages they share with this process."""
    thaw = not gc.get_freeze_count()
    if thaw:
        gc.freeze()
    try:
        return await _run_once(deps, now, mailbox, stop)
    finally:
        if thaw:
            gc.unfreeze()


async def _run_once(deps: Deps, now: datetime, mailbox: Mailbox | None, stop: Any) -> IntakeReport:
    settings = deps.settings
    folder = settings.imap.folder
    report = IntakeReport()
    own = mailbox is None
    box = mailbox or deps.mailbox()
    if own:
        await box.connect()
    try:
        uidvalidity = await box.uidvalidity()
        with deps.db.transaction() as s:
            rounds.sync_rounds(s, deps)
            state = s.get(MailboxState, folder)
            if state is None or state.uidvalidity != uidvalidity:
                # New or changed UIDVALIDITY: rescan; Message-ID dedupe keeps it safe.
                state = state or MailboxState(folder=folder)
                state.uidvalidity, state.last_uid = uidvalidity, 0
                s.merge(state)
        # Everything still in the folder is unfinished work: processed mail was moved out.
        uids = await box.new_uids(0)
        done: dict[str, list[int]] = {PROCESSED: [], QUARANTINED: [], PARTNER: []}
        size = settings.imap.batch_size
        batches = [uids[i : i + size] for i in range(0, len(uids), size)]
        ahead: _ReadAhead | ReaderProcess = (
            ReaderProcess(deps, batches, folder, uidvalidity)
            if len(batches) >= PROCESS_FROM
            else _ReadAhead(deps, box, batches, folder, uidvalidity)
        )
        filing = FilingThread(deps) if isinstance(ahead, ReaderProcess) else Filing(deps, box)
        async with filing:  # a thread of its own is stopped however the run ends
            try:
                for _ in batches:
                    # One fetch batch is one transaction. Committed messages are filed
                    # FILE_EVERY at a time: a MOVE costs the server about as much for 500
                    # messages as for 100, and a restart only repeats that many look-ups of
                    # committed rows before filing them.
                    batch = await ahead.next()
                    with handler_held():  # the budgets' handler, once for the batch
                        handled = _handle_chunk(deps, batch, now, report)
                    for state_name, filed in handled.items():
                        done[state_name] += filed
                    stopping = stop is not None and stop()
                    if stopping or sum(len(v) for v in done.values()) >= FILE_EVERY:
                        await filing.start(done)
                    if stopping:
                        await filing.wait()
                        return report
            finally:
                await ahead.drain()
                await filing.wait(quiet=True)
            await filing.start(done)
            await filing.wait()
        await erase_pending(deps, now)
    finally:
        if own:
            await box.close()
    return report


class _ReadAhead:
    """The next fetch batch is asked for before the one in hand is handled, so the server
    prepares its header blocks while this process parses and writes (the handling itself is
    synchronous: only the request is out meanwhile). Reading changes nothing in the mailbox
    (BODY.PEEK), so a batch read ahead and never handled is simply read again next run."""

    def __init__(
        self, deps: Deps, box: Mailbox, batches: list[list[int]], folder: str, uidvalidity: int
    ) -> None:
        self._read = lambda uids: read_batch(deps, box, uids, folder, uidvalidity)
        self._batches = iter(batches)
        self._pending: asyncio.Task[Batch] | None = self._start()

    def _start(self) -> asyncio.Task[Batch] | None:
        uids = next(self._batches, None)
        return None if uids is None else asyncio.ensure_future(self._read(uids))

    async def next(self) -> Batch:
        if self._pending is None:
            raise RuntimeError("no batch left to read")
        batch = await self._pending
        self._pending = self._start()
        await asyncio.sleep(0)  # let the next request go out before the handling blocks
        return batch

    async def drain(self) -> None:
        """Wait for a read still in flight (never cancelled: the connection must stay in step
        with the server); its failure matters no more."""
        pending, self._pending = self._pending, None
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending


def _handle_chunk(
    deps: Deps, batch: Batch, now: datetime, report: IntakeReport
) -> dict[str, list[int]]:
    """Handle a chunk of messages in one transaction; commit once.

    First all together (metadata-only messages buffered into one INSERT); if anything fails,
    that transaction is rolled back and the chunk is handled again one message at a time, each
    in its own savepoint, so that only the failing message is quarantined. Partner mail read
    from its headers only, once recorded, is to be expunged (PARTNER), not filed.
    """
    chunk, keys, msgs, over = batch.fetched, batch.keys, batch.msgs, batch.over
    verdicts = batch.verdicts
    outcomes = None if over else _handle_together(deps, chunk, keys, msgs, now, over, verdicts)
    if outcomes is None:
        try:
            outcomes = _handle_one_by_one(deps, chunk, keys, msgs, now, over, verdicts)
        except Exception as again:
            _blame_the_database(again)
            raise
    done: dict[str, list[int]] = {PROCESSED: [], QUARANTINED: [], PARTNER: []}
    for fetched, (state_name, kind) in zip(chunk, outcomes, strict=True):
        partner = state_name == PROCESSED and fetched.headers_only
        done[PARTNER if partner else state_name].append(fetched.uid)
        report.seen += 1
        report.kinds[kind] += 1
        if state_name == PROCESSED:
            report.processed += 1
            report.partner_removed += partner
        else:
            report.quarantined += 1
    return done


def _handle_together(
    deps: Deps,
    chunk: list[Fetched],
    keys: list[str],
    msgs: list[Inbound],
    now: datetime,
    over: dict[str, OverBudget],
    verdicts: dict[str, Ahead],
) -> list[tuple[str, str]] | None:
    """The whole chunk in one transaction; None (rolled back) when a message failed in it."""
    current = ""
    try:
        with deps.db.transaction() as s:
            known = Known.load(s, keys, msgs, now, also=_bounced(verdicts))
            known.buffer, known.verdicts = (buffer := MetadataBuffer()), verdicts
            outcomes = []
            for fetched, key, msg in zip(chunk, keys, msgs, strict=True):
                current = key
                outcomes.append(handle(s, deps, fetched, key, now, msg, known))
            buffer.write(s)
            _note_last_uid(s, deps.settings.imap.folder, chunk)
        return outcomes
    except OverBudget as exc:
        over[current] = exc
        log.warning("inbound uid=%s over its time budget: handling one by one", current)
    except Exception as exc:
        _blame_the_database(exc)
        log.warning("chunk of %d failed together: handling one by one", len(chunk), exc_info=True)
    return None


def _bounced(verdicts: dict[str, Ahead]) -> set[str]:
    """The addresses the chunk's bounce reports name, as read ahead."""
    return {
        address
        for ahead in verdicts.values()
        for verdict in (ahead.stranger, ahead.known)
        if verdict.bounce is not None
        for address in verdict.bounce.recipients
    }


def _handle_one_by_one(
    deps: Deps,
    chunk: list[Fetched],
    keys: list[str],
    msgs: list[Inbound],
    now: datetime,
    over: dict[str, OverBudget],
    verdicts: dict[str, Ahead],
) -> list[tuple[str, str]]:
    outcomes: list[tuple[str, str]] = []
    with deps.db.transaction() as s:
        known = Known.load(s, keys, msgs, now)
        known.verdicts = verdicts
        for fetched, key, msg in zip(chunk, keys, msgs, strict=True):
            slow = over.get(key)
            if slow is not None and key not in known.existing:  # not run again: quarantined
                outcomes.append(_over_budget(s, msg, key, now, slow))
                continue
            try:
                with s.begin_nested():
                    outcomes.append(handle(s, deps, fetched, key, now, msg, known))
            except OverBudget as exc:  # its savepoint is rolled back: nothing of it is kept
                outcomes.append(_over_budget(s, msg, key, now, exc))
            except Exception as exc:
                if unavailable(exc):  # not this message's fault: roll the batch back
                    raise
                log.exception("inbound uid=%s failed: quarantined", key)
                s.add(
                    row(
                        msg,
                        key,
                        now,
                        Kind.UNKNOWN.value,
                        _failure(exc),
                        ["handling_failed"],
                        QUARANTINED,
                    )
                )
                outcomes.append((QUARANTINED, Kind.UNKNOWN.value))
        _note_last_uid(s, deps.settings.imap.folder, chunk)
    return outcomes


def _note_last_uid(s: Session, folder: str, chunk: list[Fetched]) -> None:
    """The highest UID whose effects are committed, with them (for the record: every run
    reads the whole folder, since handled mail has left it)."""
    if chunk:
        s.execute(_LAST_UID, {"b_folder": folder, "b_uid": max(f.uid for f in chunk)})


_STATE_TABLE = cast(Table, MailboxState.__table__)
_STATE = _STATE_TABLE.c
_LAST_UID = (  # built once
    update(_STATE_TABLE)
    .where(_STATE.folder == bindparam("b_folder"))
    .values(
        last_uid=case(
            (_STATE.last_uid < bindparam("b_uid"), bindparam("b_uid")), else_=_STATE.last_uid
        )
    )
)


def _over_budget(
    s: Session, msg: Inbound, key: str, now: datetime, exc: OverBudget
) -> tuple[str, str]:
    log.error("inbound uid=%s quarantined: %s", key, exc)
    s.add(row(msg, key, now, Kind.UNKNOWN.value, str(exc), ["over_budget"], QUARANTINED))
    return QUARANTINED, Kind.UNKNOWN.value


def _blame_the_database(error: BaseException) -> None:
    """Raise DatabaseUnavailable when `error` is the database's own failure, not a message's."""
    if unavailable(error):
        raise DatabaseUnavailable(describe(error)) from error


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}\n" + "".join(traceback.format_exception(error)[-3:])


__all__ = [
    "DatabaseUnavailable",
    "IntakeReport",
    "database_failure",
    "run_once",
]
