"""Mail a crash or a lost connection left `uncertain`: marked, resent once by itself, listed.

A row found in `sending` when delivery starts belongs to a run that died mid-send: it may or
may not have reached the server, so it becomes `uncertain`. Losing the answer would be worse
than a copy the receiver can recognise, so after `smtp.resend_uncertain_after_minutes` it is
queued again, once, with the same Message-ID (receivers such as Gmail collapse identical
Message-IDs, so a copy that did arrive shows once): at least once, at most one extra copy per
crash. A row uncertain again after that stays for a person (`resend`, `mailbot outbox resend
KEY`); the coordinators' digest counts both.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from mailbot.edges.tables import Outbox

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.outbox")
_OUTBOX = Outbox.metadata.tables[Outbox.__tablename__]


def resend_at(deps: Deps, now: datetime) -> datetime:
    """When a row that became uncertain at `now` may be queued again by itself."""
    return now + timedelta(minutes=deps.settings.smtp.resend_uncertain_after_minutes)


def recover_interrupted(deps: Deps, now: datetime) -> int:
    """Rows left in `sending` by a run that died: uncertain, to be resent after the grace."""
    with deps.db.transaction() as s:
        result = s.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.status == "sending")
            .values(
                status="uncertain",
                next_attempt_at=resend_at(deps, now),
                last_error="interrupted while sending",
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def requeue_uncertain(deps: Deps, now: datetime) -> int:
    """Queue again, once, the uncertain rows whose grace has passed; returns how many.

    The same row goes out, so the same Message-ID: a copy that did arrive before the crash is
    recognised as the same message by the receiver.
    """
    if not deps.settings.smtp.resend_uncertain_after_minutes:
        return 0
    with deps.db.transaction() as s:
        result = s.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.status == "uncertain",
                _OUTBOX.c.auto_resent.is_(False),
                _OUTBOX.c.next_attempt_at <= now,
            )
            .values(
                status="pending",
                auto_resent=True,
                next_attempt_at=now,
                last_error="uncertain: resent once automatically, same Message-ID",
            )
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.warning("resent uncertain mail automatically count=%s", count)
    return count


def uncertain(deps: Deps) -> list[Outbox]:
    """Rows a crash left mid-send: they may or may not have reached their recipients."""
    with deps.db.transaction() as s:
        query = select(Outbox).where(Outbox.status == "uncertain").order_by(Outbox.id)
        return list(s.scalars(query))


def resend(deps: Deps, keys: list[str], now: datetime) -> dict[str, str]:
    """Queue uncertain (or failed) rows again, once a person has checked they did not arrive.

    Beyond the one automatic resend of an uncertain row (`requeue_uncertain`), only by hand:
    returns key -> what was done.
    """
    done: dict[str, str] = {}
    with deps.db.transaction() as s:
        for key in keys:
            row = s.scalar(select(Outbox).where(Outbox.key == key))
            if row is None:
                done[key] = "no such key"
            elif row.status not in ("uncertain", "failed"):
                done[key] = f"not resent: it is {row.status}"
            else:
                done[key] = f"queued again (was {row.status})"
                row.status, row.next_attempt_at, row.attempts = "pending", now, 0
                row.first_attempt_at = None  # a new retry window
                row.last_error = f"resent by hand at {now.isoformat()}; before: {row.last_error}"
    return done
