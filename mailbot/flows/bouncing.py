"""Record that mail to an address failed, move that address on the bounce ladder, and clear it.

The one way a failure is counted, whoever noticed it: intake reading a DSN or a plain-text
report, or the outbox hearing a recipient refused at RCPT time (no report comes for those).
An address marked bouncing is cleared (`domain.answers.bounce_cleared`) when its person writes
to us again, when `ladder.bounce_forget_days` pass without a new bounce (the daily "bounces"
job: mail is tried again, and a dead address soon bounces its way back), or by a coordinator's
`CLEAR BOUNCE <address>`. Runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.domain.answers import bounce_cleared, bounce_score
from mailbot.domain.model import Kind, Verdict
from mailbot.edges.tables import BounceEvent, Person

if TYPE_CHECKING:
    from mailbot.deps import Deps

# effects.person_by_email's statement, not imported: effects leads back here (outbox, refusals)
_PERSON_BY_EMAIL = select(Person).where(Person.email == bindparam("email"))  # built once


def record_bounce(
    session: Session,
    deps: Deps,
    address: str,
    *,
    permanent: bool,
    status: str,
    outbox_key: str,
    now: datetime,
    find: Callable[[str], Person | None] | None = None,
    add_event: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """A BounceEvent for `address`, and its person's score (at most one step a day).

    `find`: the person with an address, as the caller already knows them (intake's chunk),
    instead of a query; `add_event`: takes the event's row for the caller to insert with
    others, instead of an ORM object added to the session."""
    event = {
        "address": address,
        "permanent": permanent,
        "status": status,
        "outbox_key": outbox_key,
        "at": now,
    }
    if add_event is None:
        session.add(BounceEvent(**event))
    else:
        add_event(event)
    person = find(address) if find is not None else _person_by_email(session, address)
    if person is None:
        return
    ladder = deps.settings.ladder
    person.bounce_score, person.bounce_scored_on = bounce_score(
        person.bounce_score, person.bounce_scored_on, permanent, now, ladder.bounce_forget_days
    )
    # The partners hear it from the ladder (domain.ladder.bounce_notices) in its next run.
    person.bouncing = person.bounce_score >= ladder.bounce_threshold
    person.updated_at = now


def _person_by_email(session: Session, address: str) -> Person | None:
    return session.scalar(_PERSON_BY_EMAIL, {"email": address})


# Mail that shows a person at their address: not a robot, not a bounce.
_HUMAN = frozenset(
    {Kind.APPLICATION, Kind.COMMAND, Kind.REPLY, Kind.UNKNOWN, Kind.FAQ, Kind.QUESTION}
)


def _clear(person: Person, now: datetime) -> None:
    person.bouncing, person.bounce_score, person.bounce_scored_on = False, 0.0, None
    person.updated_at = now


def heard_from(person: Person | None, verdict: Verdict, now: datetime) -> bool:
    """A person marked bouncing wrote to us themselves: their address works again."""
    if person is None or not person.bouncing:
        return False
    if verdict.kind not in _HUMAN or verdict.automated:
        return False
    _clear(person, now)
    return True


def clear_bounce(session: Session, address: str, now: datetime) -> bool:
    """A coordinator's CLEAR BOUNCE: True when `address` was marked bouncing and now is not."""
    person = _person_by_email(session, address.strip().lower())
    if person is None or not (person.bouncing or person.bounce_score):
        return False
    _clear(person, now)
    return True


async def bounces_job(deps: Deps, now: datetime) -> str:
    """Clear the addresses whose last bounce is `ladder.bounce_forget_days` old."""
    days = deps.settings.ladder.bounce_forget_days
    with deps.db.transaction() as session:
        stale = [
            p
            for p in session.scalars(select(Person).where(Person.bouncing.is_(True)))
            if bounce_cleared(p.bounce_scored_on, now, days)
        ]
        for person in stale:
            _clear(person, now)
    return f"{len(stale)} bouncing addresses cleared" if stale else ""
