"""Ending a pair for someone and giving who is left a new partner from the waiting pool.

- `leave_pair`: someone leaves their running pair (WITHDRAW, DELETE MY DATA); when fewer than
  two stay it ends, and who stays is told and waits for a new partner (`flows.waiting_pool`);
- `end_exhausted`: the ladder's every step failed on a one-sided pair: the silent member is
  told kindly (they may ask for a new partner or the next round) and leaves the round's active
  list; the one still writing waits for a new partner;
- `end_bouncing`: mail to a member no longer arrives: the others wait for a new partner;
- `request_rematch`: a participant asks for a new partner (REMATCH): out of their pair (a silent
  partner is let go, one still writing waits too), into the pool — never refused;
- `rematch_pair`: a coordinator's REMATCH <pair>: the same, for the pair's most silent member;
  a trio's two who write go on as a pair of their own.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.waiting_pool import pairs_possible
from mailbot.edges.tables import Pair, PairMember, Person
from mailbot.flows.letters import notify
from mailbot.flows.new_pair import application_for, make_pair
from mailbot.flows.pairs import RUNNING, latest_round, members, partners, running_pair
from mailbot.flows.rounds import round_context_named
from mailbot.flows.waiting_pool import WAITING, end_pair, join, running_round

if TYPE_CHECKING:
    from mailbot.deps import Deps

_NEVER = datetime.min.replace(tzinfo=UTC)
WEEK = timedelta(days=7)


def _pool(
    session: Session, deps: Deps, person: Person, round_name: str, reason: str, now: datetime
) -> Person | None:
    """`person` waits in the round's pool (told so unless paired at once); their new partner."""
    r = running_round(session, round_name, now)
    if r is None or person.status == "withdrawn" or person.bouncing:
        return None
    return join(session, deps, person, r, reason, now)


def leave_pair(
    session: Session,
    deps: Deps,
    person: Person,
    now: datetime,
    key: str,
    template: str = "partner_withdrew",
) -> list[Person]:
    """`person` leaves their running pair (ended when fewer than two stay, else it goes on);
    the ones who stay are told with `template`; left alone, they wait for a new partner."""
    pair = running_pair(session, person.id)
    if pair is None:
        return []
    stay = partners(session, pair.id, person.id)
    alone = len(stay) < 2
    if alone:
        end_pair(pair, "withdrew", now)
    rctx = round_context_named(deps, session, pair.round_name)
    for partner in stay:
        extra: dict[str, Any] = {
            "still_with": [p.name for p in stay if p.id != partner.id],
            "round": rctx,
        }
        if template == "partner_withdrew":
            extra["partner_name"] = person.name
        notify(session, deps, f"left:{key}:{partner.id}", partner, template, extra, now)
        if alone:
            # Told why just now: the pool writes again only to introduce or to carry them.
            r = running_round(session, pair.round_name, now)
            if r is not None and partner.status != "withdrawn" and not partner.bouncing:
                join(session, deps, partner, r, "partner_withdrew", now, tell=False)
    return stay


def _let_go(session: Session, deps: Deps, pair: Pair, person: Person, now: datetime) -> None:
    """Told kindly that the pair ended for their silence, and how to come back."""
    if person.status == "withdrawn" or person.bouncing:
        return
    notify(
        session,
        deps,
        f"pool:let_go:{pair.id}:{person.id}",
        person,
        "pair_ended_silent",
        {
            "partner_names": [p.name for p in partners(session, pair.id, person.id)],
            "round": round_context_named(deps, session, pair.round_name),
        },
        now,
    )


def end_exhausted(
    session: Session,
    deps: Deps,
    pair: Pair,
    silent: tuple[int, ...],
    writers: tuple[int, ...],
    now: datetime,
) -> int:
    """A one-sided pair silent through the ladder: ended; the silent told kindly, the writers
    into the pool. How many writers got a new partner at once."""
    if pair.state not in RUNNING:
        return 0
    people = {p.id: p for _, p in members(session, pair.id)}
    end_pair(pair, "silent", now)
    for pid in silent:
        if pid in people:
            _let_go(session, deps, pair, people[pid], now)
    paired = 0
    for pid in writers:
        if pid in people:
            paired += (
                _pool(session, deps, people[pid], pair.round_name, "partner_silent", now)
                is not None
            )
    return paired


def end_bouncing(session: Session, deps: Deps, pair: Pair, now: datetime) -> int:
    """Mail to a member no longer arrives: the pair ends and the others wait for a new partner
    (the bouncing one is not written to). How many got a new partner at once."""
    if pair.state not in RUNNING:
        return 0
    others = [p for _, p in members(session, pair.id) if p.status != "withdrawn" and not p.bouncing]
    end_pair(pair, "bouncing", now)
    return sum(
        _pool(session, deps, p, pair.round_name, "partner_bouncing", now) is not None
        for p in others
    )


def _silent_since(session: Session, pair: Pair, person: Person) -> datetime:
    m = session.scalar(
        select(PairMember).where(PairMember.pair_id == pair.id, PairMember.person_id == person.id)
    )
    return (m.last_wrote_at if m is not None else None) or max(pair.created_at, _NEVER)


def _split(session: Session, deps: Deps, pair: Pair, leaving: Person, now: datetime) -> None:
    """The pair ends for `leaving` (who asked for someone else, or whom the coordinators
    rematched): a partner silent for a whole rhythm of the round (`topic_every_days`) is let
    go, one still writing waits for a new partner too."""
    end_pair(pair, "asked", now)
    r = running_round(session, pair.round_name, now)
    quiet = timedelta(days=r.topic_every_days if r is not None else 14)
    for partner in partners(session, pair.id, leaving.id):
        if now - _silent_since(session, pair, partner) >= quiet:
            _let_go(session, deps, pair, partner, now)
        else:
            _pool(session, deps, partner, pair.round_name, "pair_ended", now)


def request_rematch(
    session: Session, deps: Deps, person: Person, now: datetime
) -> tuple[str, list[str]]:
    """A participant's REMATCH: out of their running pair, into the round's pool. Returns the
    `command_ack` outcome ("rematched", "rematch_waiting", or "not_in_a_pair" when no round of
    theirs runs or it is too near its end: then they are carried to the next one, told by the
    pool's letter) and the new partner's names."""
    pair = running_pair(session, person.id)
    round_name = pair.round_name if pair is not None else latest_round(session, person.id)
    r = running_round(session, round_name, now)
    if r is None:
        return "not_in_a_pair", []
    if pair is not None and (pair.reasons or {}).get("rematch") and now - pair.created_at < WEEK:
        # Just given a new partner (a REMATCH crossing the introduction): nothing to undo.
        return "rematched", [p.name for p in partners(session, pair.id, person.id)]
    if pair is None:
        app = application_for(session, person.id, r.name)
        if app is not None and app.status == WAITING:
            return "rematch_waiting", []  # already waiting: their place in the queue stands
    if pair is not None:
        _split(session, deps, pair, person, now)
    if not pairs_possible(r.ends_at, now, deps.settings.pool):
        join(session, deps, person, r, "asked", now)  # carried, and told so
        return "not_in_a_pair", []
    new = join(session, deps, person, r, "asked", now, tell=False)
    return ("rematched", [new.name]) if new is not None else ("rematch_waiting", [])


def rematch_pair(session: Session, deps: Deps, pair: Pair, now: datetime) -> str:
    """A coordinator's REMATCH <pair>: the most silent member is let go; a trio's two who write
    go on as a new pair, a pair's other member gets a new partner from the pool (or waits
    there). Raises LookupError when the pair is not running. Returns what happened."""
    if pair.state not in RUNNING:
        raise LookupError(f"pair {pair.id} is {pair.state}, not running")
    rows = [(m, p) for m, p in members(session, pair.id) if p.status != "withdrawn"]
    rows.sort(key=lambda mp: (mp[0].last_wrote_at or _NEVER, mp[0].id))
    people = [p for _, p in rows]
    if not people:
        raise LookupError(f"pair {pair.id} has nobody left to rematch")
    silent = people[0]
    if len(people) >= 3:
        a, b = people[-2:]
        end_pair(pair, "asked", now)
        _let_go(session, deps, pair, silent, now)
        new = make_pair(session, deps, a, b, pair.round_name, now)
        return (
            f"REMATCH pair {pair.id}: closed; {a.name} and {b.name} go on as pair {new.id}, "
            f"introduced with its own tracking address. {silent.name} (the most silent) "
            "was told kindly that the pair ended."
        )
    active = people[-1]
    end_pair(pair, "asked", now)
    if len(people) > 1:
        _let_go(session, deps, pair, silent, now)
    other = _pool(session, deps, active, pair.round_name, "pair_ended", now)
    let_go = f" {silent.name} was told kindly that the pair ended." if len(people) > 1 else ""
    if other is not None:
        return (
            f"REMATCH pair {pair.id}: closed; {active.name} (the one who wrote last) is now "
            f"with {other.name}, introduced.{let_go}"
        )
    return (
        f"REMATCH pair {pair.id}: closed; {active.name} (the one who wrote last) waits for a "
        "new partner and will be introduced as soon as someone fits (or carried to the next "
        f"round after {deps.settings.pool.wait_days} days).{let_go}"
    )
