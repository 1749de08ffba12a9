"""A pair made in a running round (from the waiting pool, or a trio split by a coordinator):
the pair row, its members, their applications marked matched, their REMATCH requests done, and
the introduction approved pairs get (`flows.introductions`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import matching
from mailbot.domain.model import CommandName
from mailbot.edges.tables import Application, CommandRow, Pair, PairMember, Person, RoundRow
from mailbot.flows.candidates import candidate, weights
from mailbot.flows.introductions import introduce

if TYPE_CHECKING:
    from mailbot.deps import Deps


def application_for(session: Session, person_id: int, round_name: str) -> Application | None:
    """The person's application for the round, else their latest one."""
    return session.scalar(
        select(Application)
        .where(Application.person_id == person_id)
        .order_by((Application.round_name == round_name).desc(), Application.submitted_at.desc())
        .limit(1)
    )


def _json(r: matching.PairReason) -> dict[str, Any]:
    """A pair's reasons as a proposal stores them (`flows.proposal.payload`)."""
    return {
        "a": r.a,
        "b": r.b,
        "score": r.score,
        "shared_interests": list(r.shared_interests),
        "wishes_met": [{"by": w.by, "kind": w.kind.value, "value": w.value} for w in r.wishes_met],
        "overlap_hours": r.overlap_hours,
        "common_languages": list(r.common_languages),
    }


def make_pair(
    session: Session, deps: Deps, a: Person, b: Person, round_name: str, now: datetime
) -> Pair:
    """A new pair of `a` and `b` in the round, introduced as approved pairs are; REMATCH
    requests of either are done; their applications for the round are matched."""
    apps: dict[int, Application] = {}
    for p in (a, b):
        app = application_for(session, p.id, round_name)
        if app is None:
            raise LookupError(f"new pair in {round_name}: person {p.id} has no application")
        apps[p.id] = app
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == round_name))
    if round_row is None:
        raise LookupError(f"new pair: no round named {round_name!r}")
    cand = {p.id: candidate(p, apps[p.id], now) for p in (a, b)}
    lo, hi = sorted((a.id, b.id))
    reason = matching.explain(cand[lo], cand[hi], weights(deps))
    data = {"members": [lo, hi], "score": reason.score, "third": None, "reasons": [_json(reason)]}
    pair = Pair(
        round_name=round_name,
        state="active",
        score=reason.score,
        reasons={"reasons": data["reasons"], "third": None, "rematch": True},
        created_at=now,
    )
    session.add(pair)
    session.flush()
    for p in (a, b):
        session.add(PairMember(pair_id=pair.id, person_id=p.id))
        app = apps[p.id]
        if app.round_name == round_name:
            app.status, app.updated_at = "matched", now
    for cmd in session.scalars(
        select(CommandRow).where(
            CommandRow.person_id.in_([a.id, b.id]),
            CommandRow.name == CommandName.REMATCH.value,
            CommandRow.state == "recorded",
        )
    ):
        cmd.state = "done"
    introduce(session, deps, pair, [a, b], apps, round_row, data, now)
    return pair
