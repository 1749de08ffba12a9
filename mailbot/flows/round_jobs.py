"""The running round's scheduled work: topics, check-ins, the nudge ladder, the weekly digest,
the end-of-round survey and the final report.

Reads the round's state from the database into the ladder's plain views, lets the pure
`domain.ladder`, `domain.topics` and `domain.digest` decide at `now`, and writes what they
decided — records and outbox rows, in one transaction per job — so a re-run at the same
instant decides nothing twice.
"""

from __future__ import annotations

import logging
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailbot.domain import ladder, survey, tokens
from mailbot.domain.digest import DigestInputs, WeekPoint, build_digest, digest_due
from mailbot.domain.ladder import MemberView, NudgeKind, NudgeRecord, PairView, RoundView
from mailbot.domain.model import Route
from mailbot.domain.topics import checkin_due, due_topics, topic_now, waking_after
from mailbot.edges.chart import weekly_png
from mailbot.edges.resources import data_dir
from mailbot.edges.tables import (
    Application,
    BounceEvent,
    CommandRow,
    DeletionEvent,
    DigestRow,
    InboundRow,
    NudgeRow,
    Outbox,
    Pair,
    PairMember,
    Person,
    RoundRow,
    SurveyAnswerRow,
)
from mailbot.flows import participants, rounds
from mailbot.flows.letters import (
    chart_attachment,
    language,
    notify,
    notify_coordinators,
    tracking_address,
)
from mailbot.flows.pairs import RUNNING, running_pair

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.round")

TOPICS_FILE = data_dir("config") / "topics.toml"
FINAL_REPORT_AFTER = timedelta(days=14)


@lru_cache(maxsize=4)
def topic_catalogue(path: str = "") -> list[dict[str, Any]]:
    """The discussion topics in sending order (program.topics, else config/topics.toml)."""
    data = tomllib.loads(Path(path or TOPICS_FILE).read_text(encoding="utf-8"))
    return sorted(data["topics"], key=lambda t: t["order"])


def topic_context(k: int, lang: str, path: str = "") -> dict[str, Any]:
    topics = topic_catalogue(path)
    t = topics[k % len(topics)]
    text = t.get(lang) or t["en"]
    return {
        "number": k + 1,
        "count": len(topics),
        "slug": t["slug"],
        "title": text["title"],
        "prompt": text["prompt"].strip(),
    }


def round_view(r: RoundRow, topics: str = "") -> RoundView:
    count = len(topic_catalogue(topics))
    return RoundView(r.name, r.starts_at, r.ends_at, r.topic_every_days, count)


class Snapshot:
    """The running pairs of the started rounds, as the ladder's plain views, and who is who;
    with `ended_since`, also the pairs that ended or were closed since then (the digest)."""

    def __init__(
        self, session: Session, now: datetime, ended_since: datetime | None = None
    ) -> None:
        self.rounds = {r.name: r for r in rounds.rounds(session) if r.starts_at <= now}
        wanted = Pair.state.in_(RUNNING)
        if ended_since is not None:
            wanted = or_(wanted, Pair.ended_at >= ended_since)
        pairs = list(session.scalars(select(Pair).where(wanted, Pair.round_name.in_(self.rounds))))
        self.pairs = {p.id: p for p in pairs}
        members: dict[int, list[PairMember]] = defaultdict(list)
        for m in session.scalars(select(PairMember).where(PairMember.pair_id.in_(self.pairs))):
            members[m.pair_id].append(m)
        ids = {m.person_id for ms in members.values() for m in ms}
        self.people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
        nudges: dict[int, list[NudgeRecord]] = defaultdict(list)
        self.nudge_keys: set[str] = set()  # of these pairs' nudges, sent or recorded
        for n in session.scalars(select(NudgeRow).where(NudgeRow.pair_id.in_(self.pairs))):
            nudges[n.pair_id].append(NudgeRecord(n.kind, n.person_id, n.at))
            self.nudge_keys.add(n.key)
        self.views: list[PairView] = []
        self.started: dict[int, datetime] = {}  # pair id -> when its round or it began, later
        for p in pairs:
            start = self.started[p.id] = max(self.rounds[p.round_name].starts_at, p.created_at)
            self.views.append(
                PairView(
                    pair_id=p.id,
                    round_name=p.round_name,
                    started_at=start,
                    state=p.state,
                    members=tuple(
                        self._member(m) for m in members[p.id] if m.person_id in self.people
                    ),
                    nudges=tuple(nudges[p.id]),
                    flagged_at=p.flagged_at,
                    last_checkin_answer_at=p.last_checkin_answer_at,
                    ends_at=self.rounds[p.round_name].ends_at,
                )
            )
        self.members = members

    def _member(self, m: PairMember) -> MemberView:
        person = self.people[m.person_id]
        return MemberView(
            person_id=person.id,
            timezone=person.timezone,
            language=person.language,
            status=person.status,
            paused_until=person.paused_until,
            away_until=person.away_until,
            bouncing=person.bouncing,
            last_wrote_at=m.last_wrote_at,
            messages=m.messages,
        )

    def partners(self, pair_id: int, person_id: int) -> list[Person]:
        return [
            self.people[m.person_id]
            for m in self.members[pair_id]
            if m.person_id != person_id and m.person_id in self.people
        ]

    def by_round(self) -> dict[str, list[PairView]]:
        out: dict[str, list[PairView]] = defaultdict(list)
        for v in self.views:
            out[v.round_name].append(v)
        return out


def _pair_ctx(deps: Deps, snap: Snapshot, pair_id: int, person_id: int) -> dict[str, Any]:
    return {
        "partner_names": [p.name for p in snap.partners(pair_id, person_id)],
        "tracking_address": tracking_address(deps, pair_id),
    }


def _round_ctx(deps: Deps, r: RoundRow) -> dict[str, Any]:
    ctx = rounds.round_context(deps, r)
    assert ctx is not None
    return ctx


async def ladder_job(deps: Deps, now: datetime) -> str:
    """Topics, check-ins and the nudge ladder for every running pair, as of `now`."""
    settings = deps.settings
    hour = settings.schedule.topic_hour
    counts: dict[str, int] = defaultdict(int)
    with deps.db.transaction() as s:
        snap = Snapshot(s, now)
        for name, views in snap.by_round().items():
            r = snap.rounds[name]
            rv = round_view(r, settings.program.topics)
            sent = set(s.scalars(select(Outbox.key).where(Outbox.key.like(f"topic:{name}:%"))))
            for t in due_topics(views, rv, now, hour, sent):
                person = snap.people[t.person_id]
                partners = snap.partners(t.pair_id, person.id)
                track = tracking_address(deps, t.pair_id)
                lang = language(deps, person)
                added = notify(
                    s,
                    deps,
                    t.key,
                    person,
                    "topic",
                    {
                        "topic": topic_context(t.topic, lang, settings.program.topics),
                        "pair": _pair_ctx(deps, snap, t.pair_id, person.id),
                        "round": {"name": name, "end": _round_ctx(deps, r)["end"]},
                    },
                    now,
                    reply_to=",".join([*(p.email for p in partners), track]),
                    bulk=True,
                    not_before=t.not_before,
                )
                counts["topics"] += added
            sent = set(s.scalars(select(Outbox.key).where(Outbox.key.like(f"checkin:{name}:%"))))
            for c in checkin_due(views, rv, now, hour, sent):
                person = snap.people[c.person_id]
                added = notify(
                    s,
                    deps,
                    c.key,
                    person,
                    "checkin",
                    {
                        "pair": _pair_ctx(deps, snap, c.pair_id, person.id),
                        "round": {"name": name, "end": _round_ctx(deps, r)["end"]},
                    },
                    now,
                    not_before=c.not_before,
                )
                counts["check-ins"] += added
        decision = ladder.decide_ladder(snap.views, now, settings.ladder)
        for n in decision.nudges:
            if n.key in snap.nudge_keys:
                continue
            snap.nudge_keys.add(n.key)
            s.add(
                NudgeRow(
                    key=n.key, pair_id=n.pair_id, person_id=n.person_id, kind=n.kind.value, at=now
                )
            )
            counts[n.kind.value] += 1
            pair = snap.pairs[n.pair_id]
            if n.kind is NudgeKind.STALLED or n.person_id is None:
                pair.flagged_at = now  # the coordinators' digest lists it with its actions
                continue
            _send_nudge(s, deps, snap, n, now)
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if v)


def _send_nudge(s: Session, deps: Deps, snap: Snapshot, n: ladder.Nudge, now: datetime) -> None:
    assert n.person_id is not None
    person = snap.people[n.person_id]
    r = snap.rounds[n.round_name]
    about = [snap.people[i] for i in n.about if i in snap.people]
    ctx: dict[str, Any] = {"pair": _pair_ctx(deps, snap, n.pair_id, person.id)}
    template = {
        NudgeKind.QUIET: "nudge_quiet",
        NudgeKind.ONE_SIDED: "nudge_one_sided",
        NudgeKind.SECOND: "nudge_second",
        NudgeKind.PARTNER_BOUNCING: "partner_bouncing",
    }[n.kind]
    if n.kind is NudgeKind.QUIET:
        topics = deps.settings.program.topics
        k = topic_now(snap.started[n.pair_id], round_view(r, topics), now)
        topic = None if k is None else topic_context(k, language(deps, person), topics)
        ctx |= {"days": n.silent_days, "topic": topic}
    elif n.kind is NudgeKind.ONE_SIDED:
        writers = [p.name for p in snap.partners(n.pair_id, person.id)]
        ctx |= {"writer_name": " & ".join(writers), "days": n.silent_days}
    elif n.kind is NudgeKind.SECOND:
        writers = [p.name for p in snap.partners(n.pair_id, person.id)]
        ctx |= {"days": n.silent_days, "cause": n.cause, "writer_name": " & ".join(writers)}
    else:
        ctx = {"partner_name": " & ".join(p.name for p in about)}
    # Due now, but not delivered in the middle of their night.
    waking = waking_after(now, person.timezone, deps.settings.schedule.topic_hour)
    notify(s, deps, n.key, person, template, ctx, now, not_before=waking)


def _asked(
    s: Session, since: datetime, names: tuple[str, ...], state: str
) -> tuple[dict[str, object], ...]:
    """Who sent one of these commands since the last digest, left in `state`: once each, with
    their running pair (None when they have none), for the coordinators to act on."""
    people: dict[str, dict[str, object]] = {}  # one line per person, however often asked
    for person in s.scalars(
        select(Person)
        .join(CommandRow, CommandRow.person_id == Person.id)
        .where(
            CommandRow.name.in_(names),
            CommandRow.state == state,
            CommandRow.created_at >= since,
        )
        .order_by(CommandRow.id)
    ):
        pair = running_pair(s, person.id)
        people[person.email] = {
            "name": person.name,
            "email": person.email,
            "pair_id": pair.id if pair else None,
        }
    return tuple(people.values())


async def digest_job(deps: Deps, now: datetime) -> str:
    """The coordinators' weekly digest, when its slot in their time zone has come."""
    settings = deps.settings
    with deps.db.transaction() as s:
        last = s.scalar(select(func.max(DigestRow.sent_at)))
        if not digest_due(
            now,
            settings.schedule.digest_weekday,
            settings.schedule.digest_hour,
            settings.program.timezone,
            last,
        ):
            return ""
        if s.scalar(select(func.count(Person.id))) == 0:
            return ""  # nothing to report before anyone has applied
        since = last or now - timedelta(days=7)
        # Running pairs, and those that ended or were closed since the last digest (counted
        # as "ended" this week; older ones are history).
        snap = Snapshot(s, now, ended_since=since)
        history = tuple(
            WeekPoint(datetime.fromisoformat(d.week_start).date(), d.active, d.total)
            for d in s.scalars(select(DigestRow).order_by(DigestRow.week_start))
        )
        extra = DigestInputs(
            zone=settings.program.timezone,
            history=history,
            bounces=tuple(
                sorted(
                    {
                        b.address
                        for b in s.scalars(
                            select(BounceEvent).where(
                                BounceEvent.at >= since, BounceEvent.permanent
                            )
                        )
                    }
                )
            ),
            withdrawals=tuple(
                dict.fromkeys(  # once each, and only withdrawals that took effect
                    s.scalars(
                        select(CommandRow.sender)
                        .where(
                            CommandRow.name == "withdraw",
                            CommandRow.state == "done",
                            CommandRow.created_at >= since,
                        )
                        .order_by(CommandRow.id)
                    )
                )
            ),
            # REMATCH the program could not carry out itself (participants._rematch) ...
            rematch_requests=_asked(s, since, ("rematch",), "recorded"),
            # ... and SILENT / NO: "my partner does not answer" (participants._silent)
            silent_reports=_asked(s, since, ("silent", "no"), "done"),
            deletions=int(
                s.scalar(select(func.count(DeletionEvent.id)).where(DeletionEvent.at >= since)) or 0
            ),
            applications=tuple(
                s.scalars(
                    select(Person.email)
                    .join(Application, Application.person_id == Person.id)
                    .where(Application.submitted_at >= since)
                )
            ),
            held=tuple(
                s.scalars(
                    select(InboundRow.from_addr).where(
                        InboundRow.kind == "unknown",
                        InboundRow.received_at >= since,
                        InboundRow.from_addr != "",
                    )
                )
            ),
            uncertain=tuple(s.scalars(select(Outbox.key).where(Outbox.status == "uncertain"))),
            # the survey under way: that of the round that ended and is not yet reported
            survey=next(
                (_survey_summary(s, r.name) for r in rounds.rounds(s)[::-1] if r.state == "ended"),
                None,
            ),
        )
        digest = build_digest(snap.views, now, settings.ladder, extra)
        quiet_week = not (
            extra.bounces
            or extra.withdrawals
            or extra.rematch_requests
            or extra.silent_reports
            or extra.deletions
            or extra.applications
            or extra.held
            or extra.uncertain
            or extra.survey  # the end-of-round survey is being answered
        )
        if digest.running == 0 and quiet_week and not digest.stalled:
            return ""  # between rounds and nothing happened: no mail for the coordinators
        point = digest.weekly[-1] if digest.weekly else WeekPoint(digest.week_start, 0, 0)
        row = s.scalar(
            select(DigestRow).where(DigestRow.week_start == point.week_start.isoformat())
        )
        if row is None:
            row = DigestRow(
                sent_at=now,
                week_start=point.week_start.isoformat(),
                active=point.active,
                total=point.total,
            )
            s.add(row)
        else:
            row.sent_at, row.active, row.total = now, point.active, point.total
        s.flush()
        names = {p.id: f"{p.name} <{p.email}>" for p in snap.people.values()}
        weekly = [w for w in digest.weekly if w.total]  # weeks before any pair ran say nothing
        png = weekly_png(
            [(w.week_start, w.active, w.total) for w in weekly], "Active pairs per week"
        )
        reply = tokens.tag_address(
            settings.program.address, Route.REPLY, f"d{row.id}", settings.program.secret
        )
        context = {
            "week_start": digest.week_start.isoformat(),
            "counts": digest.counts,
            "total": digest.total,
            "running": digest.running,
            "share_active": round(100 * digest.share_active),
            "weekly": [[w.week_start.isoformat(), w.active, w.total] for w in weekly],
            "flagged": [_flagged(f, names) for f in (*digest.stalled, *digest.one_sided)],
            "bounces": list(extra.bounces),
            "withdrawals": list(extra.withdrawals),
            "rematch_requests": [dict(r) for r in extra.rematch_requests],
            "silent_reports": [dict(r) for r in extra.silent_reports if r["pair_id"]],
            "deletions": extra.deletions,
            "applications": len(extra.applications),
            "held": sorted(set(extra.held)),
            "uncertain": len(extra.uncertain),
            "survey": extra.survey,
            "_attachments": [chart_attachment(png)],
        }
        notify_coordinators(
            s, deps, f"digest:{row.week_start}", "digest", context, now, reply_to=reply
        )
    return f"digest for week of {digest.week_start}: {len(digest.stalled)} stalled"


def _flagged(f: Any, names: dict[int, str]) -> dict[str, Any]:
    return {
        "pair_id": f.pair_id,
        "round": f.round_name,
        "cause": f.cause,
        "state": f.state.value,
        "silent_days": f.silent_days,
        "silent": [names.get(i, f"#{i}") for i in f.silent],
        "tried": list(dict.fromkeys(f"{t.kind} on {t.at.date().isoformat()}" for t in f.tried)),
        "actions": list(f.actions),
    }


def _survey_summary(s: Session, round_name: str) -> dict[str, object] | None:
    """The answers to one round's end-of-round survey so far; None before the first."""
    rows = list(s.scalars(select(SurveyAnswerRow).where(SurveyAnswerRow.round_name == round_name)))
    if not rows:
        return None
    invited_q = select(func.count(Outbox.id)).where(Outbox.key.like(f"survey:{round_name}:%"))
    invited = int(s.scalar(invited_q) or 0)
    answers = [
        survey.SurveyAnswer(
            r.satisfaction, r.valuable, survey.Choice(r.choice) if r.choice else None
        )
        for r in rows
    ]
    return survey.survey_summary(answers, max(invited, len(answers)))


async def end_of_round_job(deps: Deps, now: datetime) -> str:
    """At a round's end: the survey to everyone still in it, silent cycles noted, pairs ended;
    two weeks later the coordinators' final report."""
    done: list[str] = []
    with deps.db.transaction() as s:
        snap: Snapshot | None = None  # loaded once, and only when a round has ended
        for r in rounds.rounds(s):
            if r.state in ("matched", "running") and now >= r.ends_at:
                snap = snap or Snapshot(s, now)
                rv = round_view(r, deps.settings.program.topics)
                for view in snap.by_round().get(r.name, []):
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
                                "pair": _pair_ctx(deps, snap, pair.id, person.id),
                                "round": {"name": r.name, "end": _round_ctx(deps, r)["end"]},
                                "reply_by": _last_day_read(deps, r),
                            },
                            now,
                            not_before=waking_after(
                                now, person.timezone, deps.settings.schedule.topic_hour
                            ),
                        )
                    pair.state, pair.ended_at = "ended", now
                r.state = "ended"
                done.append(f"{r.name} ended, survey sent")
            elif r.state == "ended" and now >= r.ends_at + FINAL_REPORT_AFTER:
                _final_report(s, deps, r, now)
                r.state = "reported"
                done.append(f"final report for {r.name}")
    return "; ".join(done)


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
    summary = _survey_summary(s, r.name)
    png = weekly_png(weekly, f"Active pairs per week, round {r.name}")
    pairs = int(s.scalar(select(func.count(Pair.id)).where(Pair.round_name == r.name)) or 0)
    context = {
        "round": _round_ctx(deps, r),
        "pairs": pairs,
        "survey": summary,
        "weekly": [[w.isoformat(), a, t] for w, a, t in weekly],
        "share_active": [round(100 * a / t) if t else 0 for _, a, t in weekly],
        "_attachments": [chart_attachment(png)],
    }
    notify_coordinators(s, deps, f"final:{r.name}", "final_report", context, now)


def record_survey_answer(s: Session, person: Person, text: str, now: datetime) -> str:
    """Store a survey answer from `person` if one of their rounds has ended and awaits it."""
    if not person.id:
        return ""
    ended = [
        name
        for (name,) in s.execute(
            select(Pair.round_name)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(PairMember.person_id == person.id, Pair.state == "ended")
        )
    ]
    if not ended:
        return ""
    answer = survey.parse_survey_answer(text)
    if answer is None:
        return ""
    round_name = sorted(ended)[-1]
    row = s.scalar(
        select(SurveyAnswerRow).where(
            SurveyAnswerRow.person_id == person.id, SurveyAnswerRow.round_name == round_name
        )
    )
    if row is None:
        row = SurveyAnswerRow(person_id=person.id, round_name=round_name, at=now)
        s.add(row)
    # A follow-up reply adds what it answers and leaves the rest as it was.
    if answer.satisfaction is not None:
        row.satisfaction = answer.satisfaction
    if answer.valuable:
        row.valuable = answer.valuable[:2000]
    if answer.choice:
        row.choice = int(answer.choice)
    row.at = now
    if answer.choice is survey.Choice.NEW_PARTNER:
        target, _ = participants.enrol_next_round(s, person, now)
        return f"survey answer for {round_name}; enrolled for {target.name if target else 'next'}"
    return f"survey answer for {round_name}"


def record_activity(s: Session, person: Person | None, pair_ids: list[int], when: datetime) -> int:
    """A real message from `person` counts as contact in each of these pairs they belong to."""
    if person is None or not pair_ids:
        return 0
    return count_activity(
        s.scalars(
            select(PairMember).where(
                PairMember.person_id == person.id, PairMember.pair_id.in_(pair_ids)
            )
        ),
        when,
    )


def count_activity(members: Iterable[PairMember], when: datetime) -> int:
    """Each membership gets one more message, written at `when` (the latest one is kept)."""
    n = 0
    for m in members:
        if m.last_wrote_at is None or m.last_wrote_at < when:
            m.last_wrote_at = when
        m.messages += 1
        n += 1
    return n
