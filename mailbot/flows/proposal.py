"""A round's matching proposal: computed on the matching date, stored, and mailed to the
coordinators with its figures and a CSV (or approved at once when `auto_approve` is set).

REDO sets a proposal aside and proposes again as things stand. The payload stored here is what
APPROVE (`flows.approval`) later reads.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import matching, tokens
from mailbot.domain.model import ApplicationFields, Route
from mailbot.edges.tables import Person, Proposal, RoundRow
from mailbot.flows import rounds
from mailbot.flows.approval import approve
from mailbot.flows.candidates import compute
from mailbot.flows.letters import notify_coordinators
from mailbot.flows.proposal_csv import proposal_csv

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.matching")


def payload(proposal: matching.Proposal, excluded: list[tuple[Person, str]]) -> dict[str, Any]:
    return {
        "pairs": [
            {
                "members": list(p.members),
                "score": p.score,
                "third": p.third,
                "reasons": [
                    {
                        "a": r.a,
                        "b": r.b,
                        "score": r.score,
                        "shared_interests": list(r.shared_interests),
                        "wishes_met": [
                            {"by": w.by, "kind": w.kind.value, "value": w.value}
                            for w in r.wishes_met
                        ],
                        "overlap_hours": r.overlap_hours,
                        "common_languages": list(r.common_languages),
                    }
                    for r in p.reasons
                ],
            }
            for p in proposal.pairs
        ],
        "left": [{"id": x.id, "code": x.code.value, "detail": x.detail} for x in proposal.left],
        "excluded": [{"id": p.id, "why": why} for p, why in excluded],
        "total_score": proposal.total_score,
        "stats": dict(proposal.stats),
    }


def statistics_of(data: dict[str, Any], who: dict[int, Any]) -> dict[str, Any]:
    scores = [p["score"] for p in data["pairs"]]
    countries = Counter(ApplicationFields.from_json(app.fields).country for _, app in who.values())
    return {
        "applicants": len(who) + len(data["excluded"]),
        "pairs": sum(1 for p in data["pairs"] if len(p["members"]) == 2),
        "trios": sum(1 for p in data["pairs"] if len(p["members"]) == 3),
        "left": len(data["left"]),
        "excluded": len(data["excluded"]),
        "countries": len(countries),
        "by_country": countries.most_common(),
        "score_total": round(sum(scores), 2),
        "score_mean": round(statistics.fmean(scores), 2) if scores else 0.0,
        "score_min": round(min(scores), 2) if scores else 0.0,
        "score_max": round(max(scores), 2) if scores else 0.0,
    }


def propose_round(session: Session, deps: Deps, round_row: RoundRow, now: datetime) -> Proposal:
    """Match the round's pool, store the proposal and mail it to the coordinators."""
    result, who, excluded = compute(session, deps, round_row, now)
    data = payload(result, excluded)
    row = Proposal(round_name=round_row.name, state="proposed", payload=data, created_at=now)
    session.add(row)
    session.flush()
    round_row.state = "proposed"
    people = {pid: p for pid, (p, _) in who.items()} | {p.id: p for p, _ in excluded}
    apps = {pid: a for pid, (_, a) in who.items()}
    stats = statistics_of(data, who)
    log.info("proposal %s for %s: %s", row.id, round_row.name, stats)
    if deps.settings.program.auto_approve:
        approve(session, deps, row, "auto_approve", now)
        return row
    secret = deps.settings.program.secret
    reply_to = tokens.tag_address(deps.settings.program.address, Route.REPLY, f"m{row.id}", secret)
    left = [
        {
            "name": people[x["id"]].name,
            "email": people[x["id"]].email,
            "code": x["code"],
            "detail": x["detail"],
        }
        for x in data["left"]
        if x["id"] in people
    ] + [
        {"name": p.name, "email": p.email, "code": "excluded", "detail": why} for p, why in excluded
    ]
    context = {
        "round": rounds.round_context(deps, round_row),
        "proposal_id": row.id,
        "stats": stats,
        "left": left,
        "_attachments": [
            {
                "filename": f"proposal-{round_row.name}-{row.id}.csv",
                "content_type": "text/csv",
                "text": proposal_csv(data, people, apps),
            }
        ],
    }
    notify_coordinators(
        session, deps, f"proposal:{row.id}", "proposal", context, now, reply_to=reply_to
    )
    return row


def redo(session: Session, deps: Deps, row: Proposal, by: str, now: datetime) -> Proposal | None:
    """REDO: set a waiting proposal aside and propose again as things stand now."""
    if row.state != "proposed":
        return None
    row.state, row.decided_at, row.decided_by = "redone", now, by
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == row.round_name))
    if round_row is None:
        raise LookupError(f"proposal {row.id} is for round {row.round_name!r}, which is not known")
    return propose_round(session, deps, round_row, now)
