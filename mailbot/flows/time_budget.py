"""How long one inbound message's pure steps may take: past the budget, `OverBudget` is raised.

Intake handles a message synchronously, in the event loop's thread, inside a database
transaction, so the deadline has to interrupt running code. Why a SIGALRM timer, and only
around the pure steps (parsing, classifying): a worker thread cannot be stopped, and one stuck
in a runaway regular expression holds the GIL anyway; a process per message would cost more
than the parse itself. A signal handler that raises in the main thread interrupts Python code
and the regular-expression engine (it checks for signals while matching), and around pure code
there is no database state it could leave half-changed — raised inside SQLAlchemy (mid-flush,
mid-commit) it could, so the database steps are left to the database's own timeouts, which
blame no message (`intake.DatabaseUnavailable`). Outside the main thread, where Python delivers
no signals, the step is timed and the budget checked when it returns.

`OverBudget` is a `BaseException`, as `KeyboardInterrupt` is: the parser's and the
classifier's `except Exception` nets, there to keep one bad part from spoiling a message, must
not turn a deadline into a half-read message.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["OverBudget", "budget", "handler_held"]


class OverBudget(BaseException):
    """A message's `step` ran past `seconds`."""

    def __init__(self, step: str, seconds: float) -> None:
        super().__init__(
            f"{step} took longer than imap.message_budget_seconds ({seconds:g} s): "
            "quarantined so that it cannot hold up the inbox"
        )
        self.step, self.seconds = step, seconds

    def __reduce__(self) -> tuple[type[OverBudget], tuple[str, float]]:
        return OverBudget, (self.step, self.seconds)  # as intake's reader process sends it


_held = 0  # depth of `handler_held` blocks: the SIGALRM handler stays installed meanwhile
_current: tuple[str, float] = ("", 0.0)  # the step and seconds of the budget running now


def _expired(signum: int, frame: FrameType | None) -> None:
    raise OverBudget(*_current)


@contextmanager
def budget(seconds: float, step: str) -> Iterator[None]:
    """Raise `OverBudget` if the block runs longer than `seconds` (pure code only)."""
    global _current
    if threading.current_thread() is not threading.main_thread():
        started = time.monotonic()
        yield
        if time.monotonic() - started > seconds:
            raise OverBudget(step, seconds)
        return
    outer, _current = _current, (step, seconds)
    install = not _held
    previous = signal.signal(signal.SIGALRM, _expired) if install else None
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _current = outer
        if install:
            signal.signal(signal.SIGALRM, previous)


@contextmanager
def handler_held() -> Iterator[None]:
    """Keep the handler installed across the `budget` blocks inside (one install for a batch
    of messages, not one per step: installing it was a tenth of a header-only message's
    handling). Synchronous code only: no other handler may come and go meanwhile."""
    global _held
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expired) if not _held else None
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held:
            signal.signal(signal.SIGALRM, previous)
