"""The waiting pool in the database: who waits for a partner in a running round, pairing them
(`domain.waiting_pool`), carrying those who waited too long to the next round, and the counts of
what the program did that the coordinators' digest shows.

Someone waits when their application for the round has status "waiting" (since its
`updated_at`, why in `status_reason`, one of `domain.waiting_pool.REASONS`). Paired: the
application is "matched" again (`flows.new_pair.make_pair`). Carried: the application waits for
the next round to open (round ""), so `flows.rounds_job` writes to them when it opens.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.domain import waiting_pool
from mailbot.domain.rematch import available, choose_partner
from mailbot.edges.tables import Application, Outbox, Pair, Person, RoundRow
from mailbot.flows import rounds
from mailbot.flows.candidates import candidate, eligible, weights
from mailbot.flows.letters import notify
from mailbot.flows.new_pair import application_for, make_pair
from mailbot.flows.pairs import RUNNING, exclusions, running_pair

if TYPE_CHECKING:
    from mailbot.deps import Deps

WAITING = "waiting"  # application status: in the round's pool
ENDED_KINDS = ("silent", "withdrew", "bouncing", "asked")  # Pair.reasons["ended"]


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S")


def running_round(session: Session, name: str | None, now: datetime) -> RoundRow | None:
    """The round called `name` when it is matched and not over at `now`."""
    for r in rounds.rounds(session):
        if r.name == name and r.state == "matched" and now < r.ends_at:
            return r
    return None


def waiting_in(session: Session, round_name: str) -> list[tuple[Person, Application]]:
    """Who waits in the round's pool, longest first."""
    rows = session.execute(
        select(Person, Application)
        .join(Application, Application.person_id == Person.id)
        .where(Application.round_name == round_name, Application.status == WAITING)
        .order_by(Application.updated_at, Person.id)
    )
    return [(p, a) for p, a in rows]


def _may_wait(person: Person, now: datetime) -> bool:
    return available(person.status, person.paused_until, person.bouncing, now)


def join(
    session: Session,
    deps: Deps,
    person: Person,
    round_row: RoundRow,
    reason: str,
    now: datetime,
    *,
    tell: bool = True,
) -> Person | None:
    """`person` waits for a partner in the running round: paired at once when someone in the
    pool fits (returns that partner; both are introduced), else told they wait (when `tell`).
    A round too close to its end carries them to the next round instead (told when `tell`)."""
    app = application_for(session, person.id, round_row.name)
    if app is None:
        return None
    if app.round_name != round_row.name:  # their latest form stands for this round too
        app = Application(
            person_id=person.id,
            round_name=round_row.name,
            fields=dict(app.fields),
            submitted_at=now,
        )
        session.add(app)
    app.status, app.status_reason, app.updated_at = WAITING, reason, now
    session.flush()
    if not waiting_pool.pairs_possible(round_row.ends_at, now, deps.settings.pool):
        carry(session, deps, person, app, round_row, now, tell=tell)
        return None
    partner = _partner_now(session, deps, person, app, round_row, now)
    if partner is not None:
        make_pair(session, deps, person, partner, round_row.name, now)
        return partner
    if tell:
        notify(
            session,
            deps,
            f"pool:waiting:{round_row.name}:{person.id}:{_stamp(now)}",
            person,
            "pool_waiting",
            {
                "reason_code": reason,
                "wait_days": deps.settings.pool.wait_days,
                "round": rounds.round_context_named(deps, session, round_row.name),
            },
            now,
        )
    return None


def _partner_now(
    session: Session,
    deps: Deps,
    person: Person,
    app: Application,
    round_row: RoundRow,
    now: datetime,
) -> Person | None:
    others = [
        (p, a)
        for p, a in waiting_in(session, round_row.name)
        if p.id != person.id and _may_wait(p, now) and running_pair(session, p.id) is None
    ]
    if not others:
        return None
    chosen = choose_partner(
        candidate(person, app, now),
        [candidate(p, a, now) for p, a in others],
        exclusions(session, person.id),
        {p.id for p, a in others if a.status_reason == "asked"},
        weights(deps),
    )
    return next((p for p, _ in others if chosen is not None and p.id == chosen.id), None)


def carry(
    session: Session,
    deps: Deps,
    person: Person,
    app: Application,
    round_row: RoundRow,
    now: datetime,
    *,
    tell: bool = True,
) -> None:
    """No partner in this round: the application waits for the next round to open (one
    application stands there: the newer form), and the person hears so when `tell`."""
    there = session.scalar(
        select(Application).where(Application.person_id == person.id, Application.round_name == "")
    )
    if there is not None:
        session.delete(app)
        session.flush()
        app = there
    app.round_name, app.status, app.updated_at = "", "valid", now
    app.status_reason = f"carried from {round_row.name}"
    upcoming = rounds.open_round(session, now) or rounds.next_round(session, now)
    opening = rounds.round_context(deps, upcoming)
    if tell:
        notify(
            session,
            deps,
            f"pool:carried:{round_row.name}:{person.id}",
            person,
            "pool_carried",
            {
                "round": {"name": round_row.name},
                "next_round": (
                    {"name": opening["name"], "opens": opening["opens"]} if opening else None
                ),
            },
            now,
        )


def pair_pool(session: Session, deps: Deps, round_row: RoundRow, now: datetime) -> int:
    """Pair whoever in the round's pool fits someone else now; how many pairs were made."""
    if not waiting_pool.pairs_possible(round_row.ends_at, now, deps.settings.pool):
        return 0
    rows = [
        (p, a)
        for p, a in waiting_in(session, round_row.name)
        if _may_wait(p, now) and running_pair(session, p.id) is None
    ]
    if len(rows) < 2:
        return 0
    asked = {p.id for p, a in rows if a.status_reason == "asked"}
    people = {p.id: p for p, _ in rows}
    made = waiting_pool.pair_up(
        [waiting_pool.Waiting(candidate(p, a, now), a.updated_at, p.id in asked) for p, a in rows],
        exclusions(session),
        weights(deps),
    )
    for a, b in made:
        make_pair(session, deps, people[a.id], people[b.id], round_row.name, now)
    return len(made)


def carry_waited_too_long(
    session: Session, deps: Deps, round_row: RoundRow, now: datetime, *, all_: bool = False
) -> int:
    """Carry to the next round everyone who waited `pool.wait_days` (everyone when `all_` or
    when the round has no time left for a new pair); those who can no longer take a partner
    (withdrawn, bouncing, paused) leave the pool without a letter. How many were carried."""
    late = all_ or not waiting_pool.pairs_possible(round_row.ends_at, now, deps.settings.pool)
    carried = 0
    for person, app in waiting_in(session, round_row.name):
        if person.status == "withdrawn" or person.bouncing:
            app.status, app.updated_at = "left", now
            continue
        if not (late or waiting_pool.waited_too_long(app.updated_at, now, deps.settings.pool)):
            continue
        carry(session, deps, person, app, round_row, now)
        carried += 1
    return carried


def take_late_applicants(session: Session, deps: Deps, round_row: RoundRow, now: datetime) -> int:
    """Forms that came after the round's applications closed wait for the next round; while the
    round takes late applicants (`domain.waiting_pool.takes_late`) they join its pool instead."""
    if not waiting_pool.takes_late(round_row.starts_at, round_row.ends_at, now, deps.settings.pool):
        return 0
    late = list(
        session.execute(
            select(Person, Application)
            .join(Application, Application.person_id == Person.id)
            .where(
                Application.round_name == "",
                Application.status == "valid",
                Application.submitted_at > round_row.applications_close,
                Application.status_reason == "",
            )
            .order_by(Application.submitted_at, Application.id)
        )
    )
    if not late:  # most ticks: the round's applications need not be read
        return 0
    in_round = set(
        session.scalars(
            select(Application.person_id).where(Application.round_name == round_row.name)
        )
    )
    joined = 0
    for person, app in late:
        if person.id in in_round or eligible(person, deps, now):
            continue
        app.round_name = round_row.name
        join(session, deps, person, round_row, "late", now)
        joined += 1
    return joined


def pool_counts(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """What the program did by itself in [since, until), for the coordinators' digest: new pairs
    from the pool, pairs it ended by cause, people carried to the next round; and how many wait
    now. Keys: rematched, ended_silent, ended_withdrew, ended_bouncing, ended_asked, carried,
    waiting (see /tmp interface: always present)."""
    counts: Counter[str] = Counter({k: 0 for k in ("rematched", "carried", "waiting")})
    for k in ENDED_KINDS:
        counts[f"ended_{k}"] = 0
    for reasons, created, ended in session.execute(
        select(Pair.reasons, Pair.created_at, Pair.ended_at).where(
            ((Pair.created_at >= since) & (Pair.created_at < until))
            | ((Pair.ended_at >= since) & (Pair.ended_at < until))
        )
    ):
        reasons = reasons or {}
        if reasons.get("rematch") and since <= created < until:
            counts["rematched"] += 1
        cause = reasons.get("ended")
        if cause in ENDED_KINDS and ended is not None and since <= ended < until:
            counts[f"ended_{cause}"] += 1
    counts["carried"] = (
        session.scalar(
            select(func.count(Outbox.id)).where(
                Outbox.template == "pool_carried",
                Outbox.created_at >= since,
                Outbox.created_at < until,
            )
        )
        or 0
    )
    counts["waiting"] = (
        session.scalar(select(func.count(Application.id)).where(Application.status == WAITING)) or 0
    )
    return dict(counts)


def end_pair(pair: Pair, cause: str, now: datetime) -> None:
    """The pair ends, and why (`ENDED_KINDS`, counted by `pool_counts`)."""
    if pair.state in RUNNING:
        pair.state, pair.ended_at = "ended", now
    pair.reasons = {**(pair.reasons or {}), "ended": cause}
