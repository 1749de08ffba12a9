"""The long-running service: IMAP IDLE (or polling) for mail, APScheduler for timed work.

SIGTERM/SIGINT set a stop flag: the batch being handled (at most `imap.batch_size` messages,
one transaction, well under a second) is finished and filed, then the scheduler and
connections are shut down. Delivery runs under one lock so two deliveries never
overlap; interrupted sends from a previous run are recovered once, at start. Every intake
cycle records a heartbeat (good, or failed with its reason) for `mailbot health`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from mailbot.domain import liveness
from mailbot.edges import heartbeat
from mailbot.flows import intake, outbox, tick

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.daemon")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Pulse:
    """The daemon's heartbeat (`domain.liveness`), kept in a file for `mailbot health`."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.last = (heartbeat.read(path) if path else None) or liveness.Heartbeat()

    def _keep(self, hb: liveness.Heartbeat) -> None:
        self.last = hb
        if self.path is not None:
            try:
                heartbeat.write(self.path, hb)
            except OSError as exc:  # health then says "stale": worth a line, not a crash
                log.warning("heartbeat not written to %s: %s", self.path, exc)

    def ok(self, now: datetime) -> None:
        self._keep(liveness.beat(self.last, now))

    def failed(self, now: datetime, error: str) -> None:
        self._keep(liveness.failed(self.last, now, error))


async def serve(
    deps: Deps, clock: Callable[[], datetime] = utcnow, heartbeat_path: Path | None = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    deliver_lock = asyncio.Lock()
    outbox.recover_interrupted(deps, clock())

    def _database_down(what: str, exc: Exception) -> bool:
        """A locked or lost database is said in one line, not a traceback; retried later."""
        down = intake.database_failure(exc)
        if down is None:
            return False
        log.warning("%s: database unavailable: %s; retrying later", what, down)
        return True

    async def deliver_job() -> None:
        try:
            await _deliver()
        except Exception as exc:
            if not _database_down("deliver", exc):
                raise

    async def _deliver() -> None:
        async with deliver_lock:
            report = await outbox.deliver(deps, clock(), recover=False)
            if report.sent or report.failed or report.uncertain:
                log.info(
                    "deliver: %s sent, %s failed, %s uncertain",
                    report.sent,
                    report.failed,
                    report.uncertain,
                )
            if report.stopped:  # the relay refuses us: said once per pass, mail kept
                log.warning("deliver: stopped, mail kept for later: %s", report.stopped)

    async def scheduled_jobs() -> None:
        try:
            results = await tick.run_jobs(deps, clock())
        except Exception as exc:
            if not _database_down("scheduled jobs", exc):
                raise
            return
        log.info("scheduled jobs: %s", results)
        await deliver_job()

    settings = deps.settings
    pulse = Pulse(heartbeat_path)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        deliver_job,
        "interval",
        seconds=settings.schedule.deliver_every_seconds,
        id="deliver",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        scheduled_jobs,
        "interval",
        minutes=5,
        id="jobs",
        max_instances=1,
        coalesce=True,
        next_run_time=clock(),
    )
    scheduler.start()
    mailbox = deps.mailbox()
    await mailbox.connect()
    log.info("mailbot running: %s via %s", settings.program.address, settings.program.transport)
    try:
        while not stop.is_set():
            try:
                report = await intake.run_once(deps, clock(), mailbox=mailbox, stop=stop.is_set)
                pulse.ok(clock())
                if report.seen:
                    log.info("intake: %s in, %s quarantined", report.seen, report.quarantined)
                    await deliver_job()
            except Exception as exc:  # a server or database outage: log, wait, try again
                pulse.failed(clock(), f"{type(exc).__name__}: {exc}")
                what = intake.database_failure(exc)
                if what is not None:  # not a bug: no traceback (nor SQLAlchemy's text)
                    log.warning(
                        "database unavailable: %s; retrying after %s s",
                        what,
                        settings.imap.poll_seconds,
                    )
                else:
                    log.exception("intake failed; retrying after %s s", settings.imap.poll_seconds)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.imap.poll_seconds)
                continue
            if stop.is_set():
                break
            wait = asyncio.create_task(
                mailbox.wait_for_new(settings.imap.poll_seconds)
                if settings.imap.idle
                else asyncio.sleep(settings.imap.poll_seconds)
            )
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({wait, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (wait, stopper):
                if not task.done():
                    task.cancel()
            await asyncio.gather(wait, stopper, return_exceptions=True)
    finally:
        scheduler.shutdown(wait=False)
        async with deliver_lock:
            pass
        await mailbox.close()
        log.info("mailbot stopped")
