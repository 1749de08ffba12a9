"""Intake's filing: committed messages out of the inbox, behind the handling.

Partner mail is expunged (or moved to the holding folder the retention pass empties after
`privacy.partner_mail_days`), other processed mail moved to Processed, quarantined mail to
Quarantine. A filing starts once its batches have committed and runs while the next batch is
handled, one filing at a time; the run waits for the last. Filing never touches the
database, so it may run while a chunk's transaction is open.

`Filing` files on the run's own connection, in its event loop: its commands and answers move
on only between two chunks, whose handling does not let the loop turn. `FilingThread`, used
when the run reads in child processes (`flows.intake_reader`), files on a connection of its
own, in a thread with its own event loop: the server's answers are read as they come, while
this thread handles the next chunk (the interpreter hands the thread its turn every few
milliseconds), and no database transaction of the main loop ever waits on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from mailbot.flows.inbound_rows import PROCESSED, QUARANTINED

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Mailbox

_T = TypeVar("_T")

# Partner mail recorded from its headers: out of the inbox (expunged or held), never filed.
PARTNER = "partner"


async def file(deps: Deps, box: Mailbox, done: dict[str, list[int]]) -> None:
    """Move committed messages out of the inbox (partner mail: expunged, or moved to the
    holding folder)."""
    imap, hold = deps.settings.imap, deps.settings.partner_hold
    if done[PARTNER] and hold:
        await box.move(done[PARTNER], hold)
    elif done[PARTNER]:
        await box.expunge(done[PARTNER])
    if done[PROCESSED]:
        await box.move(done[PROCESSED], imap.processed_folder)
    if done[QUARANTINED]:
        await box.move(done[QUARANTINED], imap.quarantine_folder)


def _take(done: dict[str, list[int]]) -> dict[str, list[int]]:
    """What `done` holds, leaving it empty."""
    taken = {state_name: uids[:] for state_name, uids in done.items()}
    for uids in done.values():
        uids.clear()
    return taken


class Filing:
    """Filings on the run's connection, in its event loop."""

    def __init__(self, deps: Deps, box: Mailbox) -> None:
        self._file: Callable[[dict[str, list[int]]], Awaitable[None]] = lambda done: file(
            deps, box, done
        )
        self._task: asyncio.Future[None] | None = None

    async def start(self, done: dict[str, list[int]]) -> None:
        """File what `done` holds (and empty it), after the filing before has finished."""
        await self.wait()
        self._task = asyncio.ensure_future(self._file(_take(done)))
        await asyncio.sleep(0)  # the command goes out before the handling blocks

    async def wait(self, quiet: bool = False) -> None:
        """Until the filing in flight is done; `quiet`: its failure matters no more (the run
        is failing already; committed mail is filed next run)."""
        task, self._task = self._task, None
        if task is None:
            return
        if quiet:
            with contextlib.suppress(Exception):
                await task
        else:
            await task

    async def close(self) -> None:
        """Nothing of its own to close: the connection is the run's."""

    async def __aenter__(self) -> Filing:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class FilingThread(Filing):
    """Filings on a connection of its own (`deps.mailbox()`), in a thread's event loop."""

    def __init__(self, deps: Deps) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mailbot-intake-filing", daemon=True
        )
        self._thread.start()
        self._box: Mailbox | None = None
        self._opened = self._in_thread(self._open(deps))
        self._file = lambda done: asyncio.wrap_future(self._in_thread(self._file_there(deps, done)))
        self._task = None

    def _in_thread(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _open(self, deps: Deps) -> None:
        box = deps.mailbox()
        await box.connect()
        self._box = box

    async def _file_there(self, deps: Deps, done: dict[str, list[int]]) -> None:
        await asyncio.wrap_future(self._opened)  # a failed login fails the filing
        assert self._box is not None
        await file(deps, self._box, done)

    async def close(self) -> None:
        """Log out and stop the thread (after the filing in flight, whose failure, if any,
        the run has heard already or no longer needs)."""
        await self.wait(quiet=True)
        box = self._box
        if box is not None:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._in_thread(box.close()))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)  # stops after the loop's current turn: at once
        if not self._thread.is_alive():
            self._loop.close()


__all__ = ["PARTNER", "Filing", "FilingThread", "file"]
