"""APPROVE: a proposal becomes pairs, each introduced, and everyone left out hears why.

Who changed since the proposal was made counts: someone withdrawn, deleted, paused or bouncing
by now is not paired (a partner left alone is left out too). The odd one left without a partner
waits in the round's pool (`flows.waiting_pool`); one kept out (the country cap, a pause, a
silence) waits for the next round to open, and is written to when it does.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.eligibility import exclusion_code
from mailbot.edges.tables import Application, Pair, PairMember, Person, Proposal, RoundRow
from mailbot.flows import rounds
from mailbot.flows.candidates import eligible
from mailbot.flows.introductions import introduce
from mailbot.flows.letters import notify
from mailbot.flows.waiting_pool import join

if TYPE_CHECKING:
    from mailbot.deps import Deps


def approve(session: Session, deps: Deps, row: Proposal, by: str, now: datetime) -> list[Pair]:
    """Make a proposal final: pairs, introductions, and a word to everyone left out."""
    if row.state != "proposed":
        return []
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == row.round_name))
    if round_row is None:
        raise LookupError(f"proposal {row.id} is for round {row.round_name!r}, which is not known")
    row.state, row.decided_at, row.decided_by = "approved", now, by
    round_row.state = "matched"
    data = row.payload
    # Kept out of the pool when matched: the paused and last round's silent hear why (and
    # keep their application); the withdrawn and the bouncing are not written to.
    kept_out = [
        {"id": x["id"], "code": code, "detail": x["why"]}
        for x in data.get("excluded", [])
        if (code := exclusion_code(x["why"]))
    ]
    ids = (
        {i for p in data["pairs"] for i in p["members"]}
        | {x["id"] for x in data["left"]}
        | {x["id"] for x in kept_out}
    )
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    apps = {
        a.person_id: a
        for a in session.scalars(
            select(Application).where(
                Application.round_name == row.round_name, Application.person_id.in_(ids)
            )
        )
    }

    def still_in(pid: int) -> bool:
        """Not withdrawn, deleted, paused or bouncing since the proposal was made."""
        person, app = people.get(pid), apps.get(pid)
        return person is not None and app is not None and not eligible(person, deps, now)

    pairs: list[Pair] = []
    left = [*data["left"], *kept_out]
    for p in data["pairs"]:
        members = [pid for pid in p["members"] if still_in(pid)]
        for pid in set(p["members"]) - set(members):  # paused since the proposal: told too
            person = people.get(pid)
            why = eligible(person, deps, now) if person is not None else ""
            if code := exclusion_code(why):
                left.append({"id": pid, "code": code, "detail": why})
        if len(members) < 2:  # their partner left between the proposal and APPROVE
            left += [
                {"id": pid, "code": "unmatched", "detail": "partner left before approval"}
                for pid in members
            ]
            continue
        pair = Pair(
            round_name=row.round_name,
            state="active",
            score=p["score"],
            reasons={"reasons": p["reasons"], "third": p["third"]},
            created_at=now,
        )
        session.add(pair)
        session.flush()
        for pid in members:
            session.add(PairMember(pair_id=pair.id, person_id=pid))
            apps[pid].status, apps[pid].updated_at = "matched", now
            if people[pid].status == "withdrawn":  # left an earlier round, asked for this one
                people[pid].status, people[pid].updated_at = "active", now
            # Asking for a round is answered by this one: a silence in it counts again.
            people[pid].wants_next_round = False
        pairs.append(pair)
        introduce(session, deps, pair, [people[i] for i in members], apps, round_row, p, now)
    upcoming = rounds.next_round(session, round_row.applications_open)
    for x in left:
        person, app = people.get(x["id"]), apps.get(x["id"])
        if person is None or app is None or person.status == "withdrawn":
            continue  # deleted or withdrawn since the proposal: nothing to tell them
        if x["code"] in ("odd_one_out", "unmatched", "no_eligible_partner"):
            # The odd one waits in the round's pool: a late applicant or someone whose partner
            # leaves may fit them; after pool.wait_days they are carried to the next round.
            app.status_reason = x["detail"]
            join(session, deps, person, round_row, "left_out", now)
            continue
        # Waits for the next round to open (""), so they hear when it does (flows.rounds_job).
        app = _carry(session, app, "")
        app.status_reason, app.updated_at = x["detail"], now
        notify(
            session,
            deps,
            f"left:{row.round_name}:{person.id}",
            person,
            "round_deferred",
            {
                "reason_code": x["code"],
                "round": rounds.round_context(deps, round_row),
                "next_round": rounds.round_context(deps, upcoming),
            },
            now,
        )
    return pairs


def _carry(session: Session, app: Application, to: str) -> Application:
    """Move a left-out application to round `to` ("" = the next one); when the person already
    has one there, one stands: the newer form."""
    there = session.scalar(
        select(Application).where(
            Application.person_id == app.person_id, Application.round_name == to
        )
    )
    if there is not None:
        if app.updated_at > there.updated_at:
            there.fields, there.submitted_at = app.fields, app.submitted_at
        session.delete(app)
        session.flush()  # the carried row is gone before anything else looks
        app = there
    app.round_name, app.status = to, "valid"
    return app
