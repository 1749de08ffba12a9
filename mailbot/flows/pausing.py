"""Pausing a person, for their own PAUSE and a coordinator's PAUSE <address>: the pause's end,
and the partners of their running pair told of it (`partner_paused`) with that end as a date
in each partner's own time zone (`local_date`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailbot.edges.tables import Person
from mailbot.flows.letters import notify
from mailbot.flows.pairs import partners, running_pair

if TYPE_CHECKING:
    from mailbot.deps import Deps


def local_date(deps: Deps, person: Person, at: datetime) -> str:
    """The day `at` falls on where `person` lives (the program's zone if theirs is unknown)."""
    try:
        zone = ZoneInfo(person.timezone) if person.timezone else deps.settings.zone
    except (KeyError, ValueError):
        zone = deps.settings.zone
    return at.astimezone(zone).date().isoformat()


def pause(
    session: Session, deps: Deps, person: Person, days: int, now: datetime, key: str
) -> list[Person]:
    """Pause `person` for `days`; tell the partners of their running pair. Returns them."""
    until = now + timedelta(days=days)
    person.status = "paused"
    person.paused_until = until
    person.updated_at = now
    pair = running_pair(session, person.id)
    # a partner whose address is known to bounce is not written to
    told = [p for p in partners(session, pair.id, person.id) if not p.bouncing] if pair else []
    for partner in told:
        notify(
            session,
            deps,
            f"paused:{key}:{partner.id}",
            partner,
            "partner_paused",
            {"partner_name": person.name, "paused_until": local_date(deps, partner, until)},
            now,
        )
    return told
