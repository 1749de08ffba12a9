"""A round's end: the survey to everyone still in it, silent cycles noted and pairs ended;
FINAL_REPORT_AFTER later, the coordinators' final report with the survey's answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.domain import ladder
from mailbot.domain.topics import waking_after
from mailbot.edges.chart import weekly_png
from mailbot.edges.tables import DigestRow, Pair, RoundRow
from mailbot.flows import rounds
from mailbot.flows.letters import chart_attachment, notify, notify_coordinators
from mailbot.flows.round_snapshot import Snapshot, pair_context, round_dates, round_view
from mailbot.flows.survey_answers import survey_summary

if TYPE_CHECKING:
    from mailbot.deps import Deps

FINAL_REPORT_AFTER = timedelta(days=14)


async def end_of_round_job(deps: Deps, now: datetime) -> str:
    """At a round's end: the survey to everyone still in it, silent cycles noted, pairs ended;
    two weeks later the coordinators' final report."""
    done: list[str] = []
    with deps.db.transaction() as s:
        snap: Snapshot | None = None  # loaded once, and only when a round has ended
        for r in rounds.rounds(s):
            if r.state in ("matched", "running") and now >= r.ends_at:
                snap = snap or Snapshot(s, now)
                _end_round(s, deps, snap, r, now)
                r.state = "ended"
                done.append(f"{r.name} ended, survey sent")
            elif r.state == "ended" and now >= r.ends_at + FINAL_REPORT_AFTER:
                _final_report(s, deps, r, now)
                r.state = "reported"
                done.append(f"final report for {r.name}")
    return "; ".join(done)


def _end_round(s: Session, deps: Deps, snap: Snapshot, r: RoundRow, now: datetime) -> None:
    """Each member's silent cycles noted and the survey sent (not to the withdrawn); pairs end."""
    rv = round_view(r, deps.settings.program.topics)
    views = snap.by_round().get(r.name, [])
    snap.pairs.load(v.pair_id for v in views)  # every row changes: read in one query a chunk
    snap.people.load(m.person_id for v in views for m in v.members)
    for view in views:
        pair = snap.pairs[view.pair_id]
        for m in view.members:
            person = snap.people[m.person_id]
            person.silent_cycles = ladder.silent_cycles(m, rv, now, view.started_at)
            if person.status == "withdrawn":
                continue
            notify(
                s,
                deps,
                f"survey:{r.name}:{person.id}",
                person,
                "survey",
                {
                    "pair": pair_context(deps, snap, pair.id, person.id),
                    "round": {"name": r.name, "end": round_dates(deps, r)["end"]},
                    "reply_by": _last_day_read(deps, r),
                },
                now,
                not_before=waking_after(now, person.timezone, deps.settings.schedule.topic_hour),
            )
        pair.state, pair.ended_at = "ended", now


def _last_day_read(deps: Deps, r: RoundRow) -> str:
    """The last whole day (program time) whose survey answers reach the final report, which
    is written at the first tick from ends_at + FINAL_REPORT_AFTER on."""
    report_at = r.ends_at + FINAL_REPORT_AFTER
    return (report_at - timedelta(seconds=1)).astimezone(deps.settings.zone).date().isoformat()


def _final_report(s: Session, deps: Deps, r: RoundRow, now: datetime) -> None:
    zone = deps.settings.zone
    weekly = [
        (datetime.fromisoformat(d.week_start).date(), d.active, d.total)
        for d in s.scalars(
            select(DigestRow)
            .where(
                # the weeks whose digest came while the round ran, and had pairs running
                DigestRow.week_start >= r.starts_at.astimezone(zone).date().isoformat(),
                DigestRow.week_start < r.ends_at.astimezone(zone).date().isoformat(),
                DigestRow.total > 0,
            )
            .order_by(DigestRow.week_start)
        )
    ]
    summary = survey_summary(s, r.name)
    png = weekly_png(weekly, f"Active pairs per week, round {r.name}")
    pairs = int(s.scalar(select(func.count(Pair.id)).where(Pair.round_name == r.name)) or 0)
    context = {
        "round": round_dates(deps, r),
        "pairs": pairs,
        "survey": summary,
        "weekly": [[w.isoformat(), a, t] for w, a, t in weekly],
        "share_active": [round(100 * a / t) if t else 0 for _, a, t in weekly],
        "_attachments": [chart_attachment(png)],
    }
    notify_coordinators(s, deps, f"final:{r.name}", "final_report", context, now)
