"""The coordinators' weekly digest: when its slot in their time zone has come, what happened
since the last one (gathered from the database), the figures `domain.digest` makes of it, and
the letter with its chart — or nothing, between rounds in a week when nothing happened.

Items that need a person (pairs, questions, requests, held mail, uncertain sends) go through
`domain.digest.select_news` against what earlier digests listed (`DigestItem` rows): listed
once, again only with news, forgotten once resolved. What the program did by itself this week
is counted (`automatic`), never listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.digest import (
    Digest,
    DigestInputs,
    FlaggedPair,
    Item,
    Selection,
    WeekPoint,
    build_digest,
    digest_due,
    pair_item,
    select_news,
)
from mailbot.domain.model import Route
from mailbot.edges.chart import weekly_png
from mailbot.edges.tables import (
    Application,
    BounceEvent,
    CommandRow,
    DeletionEvent,
    DigestItem,
    DigestRow,
    InboundRow,
    NudgeRow,
    Outbox,
    Person,
)
from mailbot.flows import rounds, send_window
from mailbot.flows.letters import chart_attachment, notify_coordinators
from mailbot.flows.pairs import running_pair
from mailbot.flows.questions import open_questions
from mailbot.flows.retention_job import removal_counts
from mailbot.flows.round_snapshot import Snapshot
from mailbot.flows.survey_answers import survey_summary
from mailbot.flows.waiting_pool import pool_counts

if TYPE_CHECKING:
    from mailbot.deps import Deps


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
        extra = digest_inputs(s, settings.program.timezone, since)
        extra = replace(
            extra,
            questions=tuple(open_questions(s, deps, now)),
            automatic=automatic_counts(s, since, now, extra, settings.ladder.auto_resolve),
        )
        if settings.ladder.auto_resolve:  # the ladder and the waiting pool see to them
            extra = replace(extra, silent_reports=())
        digest = build_digest(snap.views, now, settings.ladder, extra)
        remembered = {r.key: r.news for r in s.scalars(select(DigestItem))}
        selection = select_news(_items(digest), remembered)
        digest = only_news(digest, selection)
        if digest.running == 0 and _quiet_week(digest.extra) and not digest.flagged:
            return ""  # between rounds and nothing happened: no mail for the coordinators
        remember(s, _items(digest), selection, now)
        names = {p.id: f"{p.name} <{p.email}>" for p in snap.people.values()}
        context = digest_context(digest, digest.extra, names)
        context["sending"] = send_window.digest_backlog(s, deps.settings, now)
        send_digest(s, deps, digest, context, now)
    return (
        f"digest for week of {digest.week_start}: {len(digest.flagged)} pair(s), "
        f"{len(digest.extra.questions)} question(s) listed, {selection.unchanged} without news"
    )


# ------------------------------------------------------------------ items, listed once


def _person_key(kind: str, r: Mapping[str, object]) -> Item:
    return Item(f"{kind}:{r['person_id']}", str(r.get("pair_id")))


def _items(digest: Digest) -> list[Item]:
    """Everything the digest may list as an item, with its key and news."""
    x = digest.extra
    return [
        *(pair_item(f) for f in digest.flagged),
        *(Item(f"question:{q['id']}") for q in x.questions),
        *(_person_key("rematch", r) for r in x.rematch_requests),
        *(_person_key("silent", r) for r in x.silent_reports),
        *(Item(f"held:{tokens.key_digest(str(a))}") for a in x.held),
        *(Item(f"uncertain:{tokens.key_digest(str(k))}") for k in x.uncertain),
    ]


def only_news(digest: Digest, selection: Selection) -> Digest:
    """The digest with only the items `selection` lists (questions already mailed at once
    count as listed: they are not listed again)."""
    keep = selection.listed
    x = digest.extra
    unchanged = selection.unchanged + sum(
        1 for q in x.questions if q.get("forwarded") and f"question:{q['id']}" in keep
    )
    extra = replace(
        x,
        questions=tuple(
            q for q in x.questions if f"question:{q['id']}" in keep and not q.get("forwarded")
        ),
        rematch_requests=tuple(
            r for r in x.rematch_requests if _person_key("rematch", r).key in keep
        ),
        silent_reports=tuple(r for r in x.silent_reports if _person_key("silent", r).key in keep),
        held=tuple(a for a in x.held if f"held:{tokens.key_digest(str(a))}" in keep),
        uncertain=tuple(k for k in x.uncertain if f"uncertain:{tokens.key_digest(str(k))}" in keep),
        unchanged=unchanged,
    )
    flagged = tuple(f for f in digest.flagged if pair_item(f).key in keep)
    return replace(digest, flagged=flagged, extra=extra)


def remember(s: Session, items: list[Item], selection: Selection, now: datetime) -> None:
    """What this digest listed (with its news), and forget what resolved itself."""
    if selection.resolved:
        s.execute(delete(DigestItem).where(DigestItem.key.in_(selection.resolved)))
    for item in items:
        if item.key not in selection.listed:
            continue
        row = s.get(DigestItem, item.key)
        if row is None:
            s.add(DigestItem(key=item.key, news=item.news[:300], listed_at=now))
        else:
            row.news, row.listed_at = item.news[:300], now


def automatic_counts(
    s: Session, since: datetime, now: datetime, extra: DigestInputs, auto_resolve: bool
) -> dict[str, int]:
    """What the program did by itself since the last digest, by kind: counts, not items."""
    pool = pool_counts(s, since, now)
    sent_since = (Outbox.status == "sent", Outbox.sent_at >= since)
    return {
        "nudges": int(
            s.scalar(
                select(func.count(NudgeRow.id)).where(
                    NudgeRow.at >= since, NudgeRow.person_id.is_not(None)
                )
            )
            or 0
        ),
        "rematched": pool.get("rematched", 0),
        "ended_silent": pool.get("ended_silent", 0),
        "ended_withdrew": pool.get("ended_withdrew", 0),
        "ended_bouncing": pool.get("ended_bouncing", 0),
        "carried": pool.get("carried", 0),
        "waiting": pool.get("waiting", 0),
        "faq_answers": int(
            s.scalar(
                select(func.count(Outbox.id)).where(Outbox.template == "faq_answer", *sent_since)
            )
            or 0
        ),
        "resent": int(
            s.scalar(select(func.count(Outbox.id)).where(Outbox.auto_resent, *sent_since)) or 0
        ),
        # "my partner does not answer": the ladder nudges and the pool rematches by itself
        "silent_reports": len(extra.silent_reports) if auto_resolve else 0,
        **removal_counts(s, since),
    }


def digest_inputs(s: Session, zone: str, since: datetime) -> DigestInputs:
    """What the database says happened since `since`, beside the pairs: the digest's inputs."""
    history = tuple(
        WeekPoint(datetime.fromisoformat(d.week_start).date(), d.active, d.total)
        for d in s.scalars(select(DigestRow).order_by(DigestRow.week_start))
    )
    return DigestInputs(
        zone=zone,
        history=history,
        bounces=tuple(
            sorted(
                {
                    b.address
                    for b in s.scalars(
                        select(BounceEvent).where(BounceEvent.at >= since, BounceEvent.permanent)
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
        # REMATCH the program could not carry out itself (command_handlers._rematch) ...
        rematch_requests=_asked(s, since, ("rematch",), "recorded"),
        # ... and SILENT / NO: "my partner does not answer" (command_handlers._silent)
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
        # held mail from senders we still do not know: one who has applied since is known
        held=tuple(
            dict.fromkeys(
                s.scalars(
                    select(InboundRow.from_addr)
                    .where(
                        InboundRow.kind == "unknown",
                        InboundRow.received_at >= since,
                        InboundRow.from_addr != "",
                        InboundRow.person_id.is_(None),
                        InboundRow.from_addr.not_in(select(Person.email)),
                    )
                    .order_by(InboundRow.id)
                )
            )
        ),
        # sends still uncertain after the one automatic resend: only a person can tell
        uncertain=tuple(
            s.scalars(select(Outbox.key).where(Outbox.status == "uncertain", Outbox.auto_resent))
        ),
        # the survey under way: that of the round that ended and is not yet reported
        survey=next(
            (survey_summary(s, r.name) for r in rounds.rounds(s)[::-1] if r.state == "ended"),
            None,
        ),
    )


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
            "person_id": person.id,
            "name": person.name,
            "email": person.email,
            "pair_id": pair.id if pair else None,
        }
    return tuple(people.values())


def _quiet_week(extra: DigestInputs) -> bool:
    """Nothing beside the pairs for the coordinators to hear about."""
    return not (
        extra.bounces
        or extra.withdrawals
        or extra.rematch_requests
        or extra.silent_reports
        or extra.deletions
        or extra.applications
        or extra.held
        or extra.uncertain
        or extra.survey  # the end-of-round survey is being answered
        or extra.questions
        or any(n for kind, n in extra.automatic.items() if kind != "waiting")
    )


def digest_context(digest: Digest, extra: DigestInputs, names: dict[int, str]) -> dict[str, Any]:
    """The digest letter's context, its chart attached; `names` shows who a person id is."""
    weekly = [w for w in digest.weekly if w.total]  # weeks before any pair ran say nothing
    png = weekly_png([(w.week_start, w.active, w.total) for w in weekly], "Active pairs per week")
    return {
        "week_start": digest.week_start.isoformat(),
        "counts": digest.counts,
        "total": digest.total,
        "running": digest.running,
        "share_active": round(100 * digest.share_active),
        "weekly": [[w.week_start.isoformat(), w.active, w.total] for w in weekly],
        "flagged": [_flagged(f, names) for f in digest.flagged],
        "bounces": list(extra.bounces),
        "withdrawals": list(extra.withdrawals),
        "rematch_requests": [_shown(r) for r in extra.rematch_requests],
        "silent_reports": [_shown(r) for r in extra.silent_reports if r["pair_id"]],
        "deletions": extra.deletions,
        "applications": len(extra.applications),
        "held": sorted(set(extra.held)),
        "uncertain": len(extra.uncertain),
        "survey": extra.survey,
        "questions": [dict(q) for q in extra.questions],
        "automatic": dict(extra.automatic),
        "unchanged": extra.unchanged,
        "needs_you": len(digest.flagged)
        + len(extra.questions)
        + len(extra.rematch_requests)
        + len([r for r in extra.silent_reports if r["pair_id"]]),
        "_attachments": [chart_attachment(png)],
    }


def _shown(r: Mapping[str, object]) -> dict[str, object]:
    """A request as the letter shows it: name, address, pair (not the person's id)."""
    return {k: r[k] for k in ("name", "email", "pair_id")}


def _flagged(f: FlaggedPair, names: dict[int, str]) -> dict[str, Any]:
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


def send_digest(
    s: Session, deps: Deps, digest: Digest, context: dict[str, Any], now: datetime
) -> None:
    """Record the week's figures (the chart's history) and queue the letter, whose replies
    come back tagged with that record."""
    settings = deps.settings
    point = digest.weekly[-1] if digest.weekly else WeekPoint(digest.week_start, 0, 0)
    row = s.scalar(select(DigestRow).where(DigestRow.week_start == point.week_start.isoformat()))
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
    reply = tokens.tag_address(
        settings.program.address, Route.REPLY, f"d{row.id}", settings.program.secret
    )
    notify_coordinators(s, deps, f"digest:{row.week_start}", "digest", context, now, reply_to=reply)
