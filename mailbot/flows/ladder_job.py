"""The running round's daily job: topics and check-ins, then the nudge ladder.

One snapshot and one transaction for both, in that order, so a re-run at the same instant
decides nothing twice and the job reports one line of counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mailbot.flows.nudges_job import send_nudges
from mailbot.flows.round_snapshot import shared_snapshot
from mailbot.flows.topics_job import send_topics

if TYPE_CHECKING:
    from mailbot.deps import Deps


async def ladder_job(deps: Deps, now: datetime) -> str:
    """Topics, check-ins and the nudge ladder for every running pair, as of `now`."""
    with deps.db.transaction() as s:
        snap = shared_snapshot(s, deps, now)
        counts = send_topics(s, deps, snap, now)
        counts.update(send_nudges(s, deps, snap, now))
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if v)
