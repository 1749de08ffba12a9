"""What the demo shows when the round is over, read from the database and the outbox (not from
the demo's own bookkeeping): a timeline, the summary figures, the last digest's chart, and the
first stage of the round that did not happen.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from mailbot.demo.plan import COORDINATOR, ROUND, DemoError
from mailbot.edges.tables import (
    Application,
    BounceEvent,
    CommandRow,
    DigestRow,
    InboundRow,
    NudgeRow,
    Outbox,
    PairMember,
    Person,
    Proposal,
    SurveyAnswerRow,
)

if TYPE_CHECKING:
    from mailbot.deps import Deps


def _names(items: Iterable[str], limit: int = 3) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def timeline(deps: Deps) -> list[tuple[datetime, str]]:
    """Notable events, one per kind per day, at the day's first such instant; from the
    database and the outbox."""
    events: list[tuple[datetime, str]] = []
    groups: dict[tuple[date, str], list[tuple[datetime, str]]] = defaultdict(list)

    def add(t: datetime, kind: str, item: str = "") -> None:
        t = t.astimezone(UTC)
        groups[(t.date(), kind)].append((t, item))

    with deps.db.transaction() as s:
        who = {p.id: p.name or p.email for p in s.scalars(select(Person))}
        for r in s.scalars(select(InboundRow).where(InboundRow.kind == "application")):
            add(r.received_at, "application", r.from_addr)
        for r in s.scalars(select(InboundRow).where(InboundRow.kind == "auto_reply")):
            add(r.received_at, "auto_reply", r.from_addr)
        for o in s.scalars(select(Outbox).where(Outbox.status == "sent")):
            if o.sent_at is not None:
                item = o.key.split(":")[3] if o.template == "topic" else o.primary_to
                kind = "out:" + o.template
                if o.template == "pool_waiting":  # why they wait says what the program did
                    kind += ":" + str(o.context.get("reason_code", ""))
                add(o.sent_at, kind, item)
        for p in s.scalars(select(Proposal).order_by(Proposal.id)):
            stats = p.payload.get("stats", {}) if isinstance(p.payload, dict) else {}
            pairs, trios = int(stats.get("pairs", 0)), int(stats.get("trios", 0))
            events.append(
                (
                    p.created_at,
                    f"matching: proposal {p.id} ({pairs} pairs, {trios} trios) "
                    "mailed to the coordinators",
                )
            )
            if p.decided_at is not None:
                events.append((p.decided_at, f"proposal {p.id} {p.state} by {p.decided_by}"))
        for c in s.scalars(select(CommandRow).order_by(CommandRow.id)):
            if c.name in ("approve", "redo"):
                continue
            days = c.args.get("days") if isinstance(c.args, dict) else None
            what = c.name.replace("_", " ").upper() + (f" {days} days" if days else "")
            add(c.created_at, "cmd:" + what, who.get(c.person_id or 0, c.sender))
        for nudge in s.scalars(select(NudgeRow).order_by(NudgeRow.id)):
            target = who.get(nudge.person_id, "?") if nudge.person_id else ""
            add(
                nudge.at,
                ("flag:" if nudge.person_id is None else "nudge:") + nudge.kind,
                f"{target} (pair {nudge.pair_id})",
            )
        for b in s.scalars(select(BounceEvent).order_by(BounceEvent.id)):
            add(b.at, "bounce", f"{b.address} ({b.status})")
        for g in s.scalars(select(DigestRow)):
            share = f"{g.active}/{g.total} pairs active" if g.total else "no pair running"
            add(g.sent_at, "digest", share)
        for a in s.scalars(select(SurveyAnswerRow)):
            add(a.at, "survey_answer")
    for (_, kind), items in groups.items():
        t = min(i[0] for i in items)
        names = [i[1] for i in items]
        n = len(items)
        text = _describe(kind, names, n)
        if text:
            events.append((t, text))
    return sorted(events, key=lambda e: e[0])


def _describe(kind: str, names: list[str], n: int) -> str:
    """One timeline line for `n` events of `kind` on a day (`names`: who or what each was)."""
    people = f"{n} participant{'s' if n != 1 else ''}"
    if kind.startswith("cmd:"):
        return f"{kind[4:]} from {_names(names)}"
    if kind == "nudge:partner_bouncing":
        return ""  # its mail says it: "out:partner_bouncing"
    if kind.startswith("nudge:"):
        return f"{kind[6:].replace('_', '-')} nudge to {_names(names)}"
    if kind.startswith("out:faq_"):
        return f"question answered from the FAQ ({kind[8:].replace('_', ' ')}): {_names(names)}"
    if kind.startswith("flag:"):
        pairs = ", ".join(x.strip().strip("()") for x in names)
        return f"flag for the coordinators' digest: {kind[5:].replace('_', ' ')} ({pairs})"
    match kind:
        case "application":
            return f"{n} application form{'s' if n != 1 else ''} received"
        case "auto_reply":
            return f"out-of-office reply from {_names(names)} (not counted as contact)"
        case "bounce":
            return f"bounce: mail to {_names(names)} failed"
        case "digest":
            return f"weekly digest to the coordinators, chart inline: {names[0]}"
        case "survey_answer":
            return f"{n} survey answer{'s' if n != 1 else ''} recorded"
        case "out:application_invalid":
            return f"form with problems answered, naming the fields: {_names(names)}"
        case "out:confirmation":
            return f"{n} application{'s' if n != 1 else ''} confirmed"
        case "out:introduction":
            return f"{n} introductions sent (tracking address in Cc)"
        case "out:topic":
            ks = ", ".join(str(int(k) + 1) for k in sorted(set(names), key=int))
            return f"topic {ks} sent to {people}"
        case "out:checkin":
            return f"mid-round check-in sent to {people}"
        case "out:partner_bouncing":
            return f"'not getting through' notice to {_names(names)}"
        case "out:partner_paused" | "out:partner_withdrew":
            return f"{kind[4:].replace('_', ' ')}: told {_names(names)}"
        case "out:command_ack":
            return f"command acknowledged to {_names(names)}"
        case "out:confirm_request":
            return f"asked to confirm (reply YES) before acting: {_names(names)}"
        case "out:question_received":
            return f"question held for the coordinators, who will reply: {_names(names)}"
        case "out:question_answer":
            return f"a coordinator's ANSWER sent to {_names(names)}"
        case "out:pool_waiting:partner_bouncing":
            return (
                f"partner's address bounces: pair ended, {_names(names)} told and waiting "
                "for a new partner from the pool"
            )
        case "out:pool_waiting:partner_silent":
            return f"partner silent through the ladder: {_names(names)} waits for a new partner"
        case "out:pool_waiting:partner_withdrew":
            return f"partner withdrew: {_names(names)} waits for a new partner"
        case "out:pool_waiting:left_out" | "out:pool_waiting:late":
            return f"waiting in the pool for a partner this round: {_names(names)}"
        case "out:pair_ended_silent":
            return f"silent partner let go kindly (told how to come back): {_names(names)}"
        case "out:pool_carried":
            return f"no partner in time: carried to the next round, told: {_names(names)}"
        case "out:data_export":
            return f"EXPORT MY DATA answered to {_names(names)}"
        case "out:survey":
            return f"end of round: survey sent to {people}"
        case "out:final_report":
            return f"final report sent to {_names(names)}"
    if kind.startswith("out:pool_waiting:"):
        return f"waiting in the pool for a new partner: {_names(names)}"
    return ""


def summary(deps: Deps, sent_dir: Path) -> list[tuple[str, str]]:
    """(figure, value) rows for the summary table, from the database and the outbox."""
    with deps.db.transaction() as s:

        def count(q: Any) -> int:
            return int(s.scalar(q) or 0)

        forms = count(select(func.count(InboundRow.id)).where(InboundRow.kind == "application"))
        applicants = count(
            select(func.count(func.distinct(InboundRow.from_addr))).where(
                InboundRow.kind == "application"
            )
        )
        told_to_fix = set(
            s.scalars(select(Outbox.primary_to).where(Outbox.template == "application_invalid"))
        )
        corrected = count(
            select(func.count(func.distinct(Person.id)))
            .join(Application, Application.person_id == Person.id)
            .where(Person.email.in_(told_to_fix))
        )
        valid = count(select(func.count(Application.id)).where(Application.round_name == ROUND))
        sizes = Counter(
            s.scalars(select(func.count(PairMember.id)).group_by(PairMember.pair_id)).all()
        )
        pairs = sum(sizes.values())
        outbox = Counter(
            dict(
                s.execute(
                    select(Outbox.template, func.count(Outbox.id))
                    .where(Outbox.status == "sent")
                    .group_by(Outbox.template)
                ).all()
            )
        )
        nudges = Counter(
            dict(
                s.execute(
                    select(NudgeRow.kind, func.count(NudgeRow.id)).group_by(NudgeRow.kind)
                ).all()
            )
        )
        weeks = [
            (d.week_start, d.active, d.total)
            for d in s.scalars(select(DigestRow).order_by(DigestRow.week_start))
            if d.total
        ]
        rows = list(s.scalars(select(SurveyAnswerRow).where(SurveyAnswerRow.round_name == ROUND)))
        commands = Counter(s.scalars(select(CommandRow.name)).all())
        inbound = count(select(func.count(InboundRow.id)))
        bouncing = list(s.scalars(select(Person.email).where(Person.bouncing)))
    ratings = [r.satisfaction for r in rows if r.satisfaction is not None]
    invited = outbox["survey"]
    eml = len(list(sent_dir.glob("*/*.eml")))
    nudge_text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(nudges.items()))
    week_text = " ".join(f"{w[5:]}:{round(100 * a / t)}%" for w, a, t in weeks)
    return [
        (
            "applicants",
            f"{applicants} ({forms} forms; {len(told_to_fix)} with problems, "
            f"{corrected} of them corrected by a second mail)",
        ),
        ("valid applications", str(valid)),
        (
            "pairs",
            f"{pairs} ({sizes.get(3, 0)} trios), introductions sent: {outbox['introduction']}",
        ),
        ("topics sent", str(outbox["topic"])),
        ("check-ins sent", f"{outbox['checkin']} (YES answers: {commands['yes']})"),
        ("nudges and flags by kind", nudge_text or "none"),
        (
            "commands",
            ", ".join(f"{k.replace('_', ' ').upper()} {v}" for k, v in sorted(commands.items())),
        ),
        ("bouncing addresses", ", ".join(bouncing) or "none"),
        ("share of pairs active, per week", week_text or "no digest"),
        (
            "survey",
            f"{len(rows)}/{invited} answered ({100 * len(rows) / invited:.0f}%), mean "
            f"satisfaction {sum(ratings) / len(ratings):.2f}"
            if invited and ratings
            else f"{len(rows)}/{invited} answered",
        ),
        ("final report", "sent" if outbox["final_report"] else "NOT SENT"),
        ("emails read by the program", str(inbound)),
        ("emails written by the program", f"{sum(outbox.values())} ({eml} .eml files)"),
    ]


def save_chart(sent_dir: Path, target: Path) -> Path | None:
    """The PNG of the last weekly digest the coordinator received, written to `target`."""
    digests = [
        p
        for p in sorted((sent_dir / COORDINATOR).glob("*.eml"))
        if "Weekly-digest" in p.name or "digest" in p.name.lower()
    ]
    for p in reversed(digests):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for part in msg.walk():
            if part.get_content_type() == "image/png":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    target.write_bytes(payload)
                    return p
    return None


def check(deps: Deps) -> None:
    """Raise DemoError naming the first stage of the round that did not happen."""
    with deps.db.transaction() as s:
        templates = set(
            s.scalars(select(Outbox.template).where(Outbox.status == "sent").distinct()).all()
        )
    for tpl, stage in (
        ("proposal", "matching proposal"),
        ("introduction", "introductions"),
        ("topic", "topics"),
        ("digest", "weekly digest"),
        ("survey", "survey"),
        ("final_report", "final report"),
    ):
        if tpl not in templates:
            raise DemoError(f"the round never reached this stage: {stage} (no '{tpl}' mail sent)")
