"""One pass of everything: read new mail, run what is due at `now`, deliver the outbox.

`mailbot tick --now …` and every wake-up of the daemon run this same code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mailbot.flows import intake, outbox
from mailbot.flows.bouncing import bounces_job
from mailbot.flows.digest_job import digest_job
from mailbot.flows.end_of_round import end_of_round_job
from mailbot.flows.ladder_job import ladder_job
from mailbot.flows.retention_job import retention_job
from mailbot.flows.rounds_job import round_job
from mailbot.flows.waiting_pool_job import pool_job

if TYPE_CHECKING:
    from mailbot.deps import Deps


@dataclass
class TickReport:
    now: datetime
    intake: intake.IntakeReport
    deliver: outbox.DeliverReport
    jobs: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.intake.kinds.items())) or "none"
        jobs = "".join(f"; {k}: {v}" for k, v in self.jobs.items() if v)
        return (
            f"{self.now.isoformat()}: {self.intake.seen} in ({kinds}); "
            f"{self.intake.quarantined} quarantined; {self.deliver.sent} sent, "
            f"{self.deliver.retried} to retry, {self.deliver.failed} failed"
            f"{', ' + str(self.deliver.uncertain) + ' uncertain' if self.deliver.uncertain else ''}"
            f"{', ' + str(self.deliver.resent) + ' resent' if self.deliver.resent else ''}"
            f"{'; delivery stopped: ' + self.deliver.stopped if self.deliver.stopped else ''}"
            f"{jobs}"
        )


ScheduledJob = Callable[["Deps", datetime], Awaitable[str]]
# Run in this order at every tick: each is idempotent at a given instant.
JOBS: dict[str, ScheduledJob] = {
    "rounds": round_job,  # round opening, matching proposals
    "pool": pool_job,  # exhausted/bouncing pairs ended, the waiting pool paired or carried
    "bounces": bounces_job,  # addresses quiet long enough after a bounce are tried again
    "round": ladder_job,  # topics, check-ins, nudges
    "end": end_of_round_job,  # survey, final report
    "retention": retention_job,  # daily: people inactive too long erased, old mail expunged
    "digest": digest_job,  # the coordinators' weekly digest
}


async def run_jobs(deps: Deps, now: datetime) -> dict[str, Any]:
    # What a job keeps for the ones after it (the round's read: `round_snapshot.shared_snapshot`)
    # lives for one pass: nothing is carried from another tick, or past another process's writes.
    deps.db.kept.clear()
    try:
        return {name: await job(deps, now) for name, job in JOBS.items()}
    finally:
        deps.db.kept.clear()


async def tick(deps: Deps, now: datetime) -> TickReport:
    intake_report = await intake.run_once(deps, now)
    jobs = await run_jobs(deps, now)
    deliver_report = await outbox.deliver(deps, now)
    return TickReport(now, intake_report, deliver_report, jobs)
