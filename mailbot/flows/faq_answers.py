"""What an FAQ answer (`faq_<topic>`, `domain.intents`) tells the person who asked: their
partner's name and country, their pair's current topic sent again and when the next one
comes, the round they could apply to, the program's rhythm.

Reads the database inside the caller's transaction; decides nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailbot.domain.topics import DAY, topic_now
from mailbot.edges.tables import Person
from mailbot.flows import rounds
from mailbot.flows.effects import country_name
from mailbot.flows.letters import tracking_address
from mailbot.flows.pairs import partners, running_pair
from mailbot.flows.round_snapshot import round_view, topic_context

if TYPE_CHECKING:
    from mailbot.deps import Deps

_DEFAULT_EVERY_DAYS = 14


def faq_context(
    session: Session,
    deps: Deps,
    template: str,
    person: Person | None,
    language: str,
    now: datetime,
) -> dict[str, Any]:
    """The keys `template` needs beyond the common ones (contexts/faq_mail.py)."""
    if template == "faq_apply":
        current = rounds.open_round(session, now)
        upcoming = rounds.next_round(session, now) if current is None else None
        return {
            "round": rounds.round_context(deps, current),
            "next_round": rounds.round_context(deps, upcoming),
        }
    pair = running_pair(session, person.id) if person is not None else None
    if template == "faq_change_partner":
        return {"in_pair": pair is not None}
    if template == "faq_who_is_my_partner":
        if pair is None or person is None:
            return {"partners": [], "tracking_address": ""}
        return {
            "partners": [
                {"name": p.name, "country": country_name(p.country, language)}
                for p in partners(session, pair.id, person.id)
            ],
            "tracking_address": tracking_address(deps, pair.id),
        }
    r = None
    if pair is not None:
        r = next((x for x in rounds.rounds(session) if x.name == pair.round_name), None)
    if template == "faq_how_often":
        return {"topic_every_days": r.topic_every_days if r else _DEFAULT_EVERY_DAYS}
    if template == "faq_topic":
        if pair is None or r is None:
            return {"topic": None, "next_topic_on": None, "tracking_address": "", "in_pair": False}
        path = deps.settings.program.topics
        view = round_view(r, path)
        started = max(r.starts_at, pair.created_at)
        k = topic_now(started, view, now)
        topic = topic_context(k, language, path) if k is not None else None
        following = 0 if k is None and now < started else (k + 1 if k is not None else None)
        next_on = None
        if following is not None and following < view.topic_count:
            at = started + following * view.topic_every_days * DAY
            if at < r.ends_at:
                next_on = at.astimezone(deps.settings.zone).date().isoformat()
        return {
            "topic": topic,
            "next_topic_on": next_on,
            "tracking_address": tracking_address(deps, pair.id),
            "in_pair": True,
        }
    return {}  # faq_pause, faq_leave: the common keys only
