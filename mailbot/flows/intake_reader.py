"""Intake's reading of a large inbox in other processes, so that it runs on the other core
while this one handles the batch before.

Reading a batch (`flows.intake_fetch.read_batch`: header blocks, bodies where needed, parse,
classify ahead) needs nothing from the database; handling needs little else. In one process
the two take turns — the Python of reading (the IMAP client's parsing of answers, the MIME
parser, the rule walk) cannot run while a batch is handled, whatever asyncio overlaps. From
`PROCESS_FROM` batches on, `READERS` forked children each open their own connection to the
same mailbox (`deps.mailbox()`), read alternate batches in order and send each, pickled,
through a pipe; the parent takes them in turn and handles and files them on its own
connection. A pipe holds about a batch, so no child is more than a batch or two ahead.

Why it is safe: reading changes nothing (BODY.PEEK), so a batch read and never handled —
the run stopped, a child died — is read again next run; a child never touches the database
(its copy of the engine's pool is let go without closing the parent's connections) nor the
parent's sockets, and it is killed, not asked, when intake is done with it; if the parent
dies first, the child's next send finds its pipe broken (no child keeps another's reading
end) and it ends. A child that dies or fails says so through the pipe (or by closing it),
and `next()` raises as an in-process read would. Its log records go through the pipe too,
to the parent's handlers. Fork, not spawn: a child starts in milliseconds with the parent's
settings and token sources, where a fresh interpreter would spend most of a second importing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import signal
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from mailbot.flows.intake_fetch import Batch, read_batch

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.intake")

# From this many fetch batches on, a run reads in child processes (below it, forking and a
# second login cost more than they save).
PROCESS_FROM = 4
# Children reading at once, each on its own connection: with the parent handling and the
# server serving, two keep both cores of a small machine busy.
READERS = 2


class ReaderProcess:
    """The batches `batches` (lists of UIDs), read by `READERS` forked children (batch k by
    child k mod READERS), handed out in order."""

    def __init__(self, deps: Deps, batches: list[list[int]], folder: str, uidvalidity: int):
        count = max(1, min(READERS, len(batches)))
        self._children: list[_Child] = []
        for i in range(count):
            # A child closes its elder siblings' pipe ends it inherits: a pipe whose parent is
            # gone then has no reader left, and its child ends on the broken pipe.
            elder = [c.conn for c in self._children]
            self._children.append(_Child(deps, batches[i::count], folder, uidvalidity, elder))
        self._next = 0

    async def next(self) -> Batch:
        """The next batch, as soon as its child has sent it."""
        child = self._children[self._next % len(self._children)]
        self._next += 1
        return await child.next()

    async def drain(self) -> None:
        """Stop the children (whatever they are reading is read again next run)."""
        for child in self._children:
            await child.drain()


class _Child:
    """One forked reader: its batches, in order, through its pipe."""

    def __init__(
        self,
        deps: Deps,
        batches: list[list[int]],
        folder: str,
        uidvalidity: int,
        inherited: list[Connection],
    ):
        fork = multiprocessing.get_context("fork")
        self.conn, child_end = fork.Pipe(duplex=False)
        self._proc = fork.Process(
            target=_serve,
            args=(deps, batches, folder, uidvalidity, child_end, [self.conn, *inherited]),
            name="mailbot-intake-reader",
            daemon=True,
        )
        self._proc.start()
        child_end.close()  # the child's end: only the child may hold it, so its death is EOF

    async def next(self) -> Batch:
        """The next batch, as soon as the child has sent it; the child's log records on the
        way are logged here, where this process's handlers write them."""
        while True:
            await _readable(self.conn)
            try:
                kind, value = self.conn.recv()
            except EOFError:
                self._proc.join(5)  # the pipe closed: it is exiting, if not gone
                raise RuntimeError(
                    f"intake reader process ended (exit code {self._proc.exitcode})"
                ) from None
            if kind == "log":
                logging.getLogger(value.name).handle(value)
            elif kind == "error":
                raise value
            else:
                batch: Batch = value
                return batch

    async def drain(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        await asyncio.get_running_loop().run_in_executor(None, self._proc.join, 5)
        self.conn.close()


async def _readable(conn: Connection) -> None:
    if conn.poll():
        return
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _serve(
    deps: Deps,
    batches: list[list[int]],
    folder: str,
    uidvalidity: int,
    conn: Connection,
    parents_ends: list[Connection],
) -> None:
    """The child: read every batch and send it; an error is sent and ends the reading."""
    for end in parents_ends:  # its own pipe's and its elder siblings' reading ends
        end.close()
    # The parent's event loop wakes on signals through a descriptor this child shares: the
    # child must not write to it. Ctrl-C is for the parent, which then kills the child.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    deps.db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    _log_through(conn)
    try:
        asyncio.run(_read_all(deps, batches, folder, uidvalidity, conn))
    except BaseException as exc:  # whatever it was, the parent must hear it
        _send_error(conn, exc)
    finally:
        conn.close()
        os._exit(0)  # no atexit or finalizer of the parent's objects runs here


async def _read_all(
    deps: Deps, batches: list[list[int]], folder: str, uidvalidity: int, conn: Connection
) -> None:
    box = deps.mailbox()
    await box.connect()
    try:
        for uids in batches:
            batch = await read_batch(deps, box, uids, folder, uidvalidity)
            # Handling reads nothing of the raw bytes once they are parsed: not sent.
            batch.fetched = [dataclasses.replace(f, raw=b"") for f in batch.fetched]
            conn.send(("batch", batch))
    finally:
        with contextlib.suppress(Exception):
            await box.close()


class _PipeQueue:
    """What `logging.handlers.QueueHandler` puts records into: the pipe to the parent."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def put_nowait(self, record: logging.LogRecord) -> None:
        self.conn.send(("log", record))


def _log_through(conn: Connection) -> None:
    """The child's log records go to the parent (formatted, as QueueHandler prepares them),
    not to the handlers it inherited: one process writes the log, in order."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(_PipeQueue(conn)))  # type: ignore[arg-type]


def _send_error(conn: Connection, exc: BaseException) -> None:
    """`exc` to the parent as it is when it survives pickling both ways, else in words."""
    error: Any = exc
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        error = None
    if not isinstance(error, Exception):
        error = RuntimeError(f"intake reader: {type(exc).__name__}: {exc}")
    with contextlib.suppress(Exception):  # a closed pipe: the parent sees EOF instead
        conn.send(("error", error))


__all__ = ["PROCESS_FROM", "ReaderProcess"]
