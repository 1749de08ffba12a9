"""Whether the daemon is alive: its last good cycle is recent and its logins are not failing.

Must not: do I/O or read the clock. The daemon records a `Heartbeat` after every cycle (a
good one, or a failure with its reason); `health` judges it at `now` for `mailbot health`
and the container's HEALTHCHECK — a process that runs but is stuck, or that cannot log in,
is not healthy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# Cycles that may be missed before the daemon counts as stuck: an IDLE wait ends after one
# poll interval, so a live daemon beats at least once per interval.
STALE_AFTER_POLLS = 3
FAILURES_TOLERATED = 3  # failed cycles in a row (a login refused, the server down)
MIN_STALE = timedelta(minutes=5)


@dataclass(frozen=True)
class Heartbeat:
    last_ok_at: datetime | None = None  # the last cycle that read the mailbox and committed
    failures_in_row: int = 0
    last_error: str = ""
    last_failure_at: datetime | None = None


def beat(hb: Heartbeat, now: datetime) -> Heartbeat:
    """After a good cycle."""
    return Heartbeat(last_ok_at=now)


def failed(hb: Heartbeat, now: datetime, error: str) -> Heartbeat:
    """After a failed cycle: the good one stays as it was."""
    return replace(
        hb, failures_in_row=hb.failures_in_row + 1, last_error=error[:500], last_failure_at=now
    )


def health(hb: Heartbeat | None, now: datetime, poll_seconds: int) -> tuple[bool, str]:
    """(healthy, why) for a heartbeat read at `now`."""
    if hb is None or hb.last_ok_at is None:
        return False, "no cycle recorded yet (is `mailbot run` running on this database?)"
    stale = max(timedelta(seconds=STALE_AFTER_POLLS * poll_seconds), MIN_STALE)
    age = int((now - hb.last_ok_at).total_seconds())
    if hb.failures_in_row >= FAILURES_TOLERATED:
        return False, f"{hb.failures_in_row} cycles in a row failed; last: {hb.last_error}"
    if age > stale.total_seconds():
        return False, f"last good cycle {age} s ago (limit {int(stale.total_seconds())} s)"
    return True, f"last good cycle {age} s ago"
