"""The standby pool and rematching: leaving a pair, who is left alone, who they get, the new pair.

- `leave_pair`: someone leaves their running pair (WITHDRAW, DELETE MY DATA); it ends when
  fewer than two stay, and those who stay are told and offered REMATCH;
- `is_alone`: the standby pool, people of a round whose pair ended because everyone else
  withdrew or was deleted, and who have no running pair;
- `standby`: loads that pool and lets `domain.rematch.choose_partner` pick the partner (the
  matching engine's hard rules, those who asked first, then the score);
- `rematch`: the new pair, introduced as approved pairs are; REMATCH requests of both are done.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import matching
from mailbot.domain.model import CommandName
from mailbot.domain.rematch import available, choose_partner
from mailbot.edges.tables import Application, CommandRow, Pair, PairMember, Person, RoundRow
from mailbot.flows.candidates import candidate, weights
from mailbot.flows.introductions import introduce
from mailbot.flows.letters import notify
from mailbot.flows.pairs import ENDED, RUNNING, exclusions, members, partners, running_pair
from mailbot.flows.proposal import payload
from mailbot.flows.rounds import round_context_named

if TYPE_CHECKING:
    from mailbot.deps import Deps


def leave_pair(
    session: Session,
    deps: Deps,
    person: Person,
    now: datetime,
    key: str,
    template: str = "partner_withdrew",
) -> list[Person]:
    """`person` leaves their running pair (ended when fewer than two stay, else it goes on);
    the ones who stay are told with `template` and offered REMATCH. Returns them."""
    pair = running_pair(session, person.id)
    if pair is None:
        return []
    stay = partners(session, pair.id, person.id)
    if len(stay) < 2:
        pair.state, pair.ended_at = ENDED, now
    rctx = round_context_named(deps, session, pair.round_name)
    for partner in stay:
        extra: dict[str, Any] = {
            "still_with": [p.name for p in stay if p.id != partner.id],
            "round": rctx,
        }
        if template == "partner_withdrew":
            extra["partner_name"] = person.name
        notify(session, deps, f"left:{key}:{partner.id}", partner, template, extra, now)
    return stay


def is_alone(session: Session, person: Person, round_name: str) -> bool:
    """True when `person` has no running pair in the round and a pair of theirs in it ended
    because everyone else withdrew or was deleted: the standby pool."""
    rows = list(
        session.scalars(
            select(Pair)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(PairMember.person_id == person.id, Pair.round_name == round_name)
        )
    )
    if any(p.state in RUNNING for p in rows):
        return False
    return any(
        p.state == ENDED
        and all(o.status == "withdrawn" for m, o in members(session, p.id) if o.id != person.id)
        for p in rows
    )


def _application(session: Session, person_id: int, round_name: str) -> Application | None:
    """The person's application for the round, else their latest one."""
    return session.scalar(
        select(Application)
        .where(Application.person_id == person_id)
        .order_by((Application.round_name == round_name).desc(), Application.submitted_at.desc())
        .limit(1)
    )


def standby(
    session: Session, deps: Deps, person: Person, round_name: str, now: datetime
) -> Person | None:
    """The partner `person` gets from those left alone in the round (`choose_partner`), or
    None when nobody fits."""
    me = _application(session, person.id, round_name)
    if me is None:
        return None
    ids = set(
        session.scalars(
            select(PairMember.person_id)
            .join(Pair, Pair.id == PairMember.pair_id)
            .where(
                Pair.round_name == round_name,
                Pair.state == ENDED,
                PairMember.person_id != person.id,
            )
        )
    )
    asked = set(
        session.scalars(
            select(CommandRow.person_id).where(
                CommandRow.name == CommandName.REMATCH.value,
                CommandRow.state == "recorded",
                CommandRow.person_id.in_(ids),
            )
        )
    )
    pool: dict[int, Person] = {}
    cands: list[matching.Candidate] = []
    for other in session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)):
        if not available(other.status, other.paused_until, other.bouncing, now):
            continue
        if not is_alone(session, other, round_name):
            continue
        app = _application(session, other.id, round_name)
        if app is None:
            continue
        pool[other.id] = other
        cands.append(candidate(other, app, now))
    chosen = choose_partner(
        candidate(person, me, now),
        cands,
        exclusions(session, person.id),
        {i for i in asked if i is not None},
        weights(deps),
    )
    return pool[chosen.id] if chosen else None


def rematch(
    session: Session, deps: Deps, a: Person, b: Person, round_name: str, now: datetime
) -> Pair:
    """A new pair of `a` and `b` in the round, introduced as approved pairs are; REMATCH
    requests of either are done."""
    apps: dict[int, Application] = {}
    for p in (a, b):
        app = _application(session, p.id, round_name)
        if app is None:
            raise LookupError(f"rematch in {round_name}: person {p.id} has no application")
        apps[p.id] = app
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == round_name))
    if round_row is None:
        raise LookupError(f"rematch: no round named {round_name!r}")
    cand = {p.id: candidate(p, apps[p.id], now) for p in (a, b)}
    lo, hi = sorted((a.id, b.id))
    reason = matching.explain(cand[lo], cand[hi], weights(deps))
    data = payload(
        matching.Proposal(
            pairs=(matching.Pair(members=(lo, hi), score=reason.score, reasons=(reason,)),),
            left=(),
            total_score=reason.score,
        ),
        [],
    )["pairs"][0]
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
