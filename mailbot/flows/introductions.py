"""Introducing a new pair: one letter to all partners in a language they share, else one each.

Each letter shows every member as their form describes them (country, institution, interests,
local time), why they were paired, and the pair's tracking address, which is copied on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailbot.domain.model import ApplicationFields, Outgoing
from mailbot.edges.tables import Application, Pair, Person, RoundRow
from mailbot.flows import rounds
from mailbot.flows.candidates import utc_offset
from mailbot.flows.effects import LANGUAGE_NAMES, country_name
from mailbot.flows.letters import program_context, tracking_address
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.deps import Deps


def _member_ctx(person: Person, app: Application, at: datetime, lang: str) -> dict[str, Any]:
    f = ApplicationFields.from_json(app.fields)
    zone = f.timezone
    local = at.astimezone(ZoneInfo(zone)).strftime("%H:%M") if zone else ""
    return {
        "name": person.name,
        "email": person.email,
        "country_name": country_name(f.country, lang),
        "institution": f.institution,
        "sector": f.sector.value,
        "career_stage": f.career_stage.value,
        "interests": list(f.interests),
        "about": f.about,
        "timezone": zone or "",
        "local_time": local,
        "language_name": LANGUAGE_NAMES.get(lang, LANGUAGE_NAMES["en"]).get(f.language, ""),
    }


def introduce(
    session: Session,
    deps: Deps,
    pair: Pair,
    members: list[Person],
    apps: dict[int, Application],
    round_row: RoundRow,
    p: dict[str, Any],
    now: datetime,
) -> None:
    """One introduction to all partners in a language they share, else one each in their own."""
    track = tracking_address(deps, pair.id)
    offsets = [
        utc_offset(ApplicationFields.from_json(apps[m.id].fields).timezone, now) for m in members
    ]
    known = [o for o in offsets if o is not None]
    diff = round(max(known) - min(known), 1) if len(known) >= 2 else 0.0
    reasons: dict[str, Any] = {
        "shared_interests": sorted({i for r in p["reasons"] for i in r["shared_interests"]}),
        "wishes_met": sorted(
            {
                f"{wm['kind'].replace('_', ' ')}: {wm['value']}"
                for r in p["reasons"]
                for wm in r["wishes_met"]
            }
        ),
        "overlap_hours": min(
            (r["overlap_hours"] for r in p["reasons"] if r["overlap_hours"] is not None), default=0
        ),
        "common_languages": sorted(
            set.intersection(*(set(r["common_languages"]) for r in p["reasons"]))
        ),  # codes; the template names them in the reader's language
    }
    languages = {m.language for m in members}
    groups = (
        [(members[0].language, members)]
        if len(languages) == 1
        else [(m.language, [m]) for m in members]
    )
    everyone = ",".join([*(m.email for m in members), track])
    for lang, recipients in groups:
        context = {
            "program": program_context(deps),
            "recipient_name": " & ".join(m.name for m in recipients),
            "names": {m.email: m.name for m in members},
            "person_id": recipients[0].id,
            "pair": {
                "id": pair.id,
                "members": [_member_ctx(m, apps[m.id], now, lang) for m in members],
                "zone_difference_hours": diff,
                "reasons": reasons
                | {
                    "common_languages": [
                        LANGUAGE_NAMES.get(lang, LANGUAGE_NAMES["en"]).get(c, c)
                        for c in reasons["common_languages"]
                    ]
                },
                "round": rounds.round_context(deps, round_row),
                "tracking_address": track,
            },
        }
        enqueue(
            session,
            deps,
            Outgoing(
                key=f"intro:{pair.round_name}:{pair.id}:{lang}:"
                + ",".join(str(m.id) for m in recipients),
                to=tuple(m.email for m in recipients),
                cc=(track,),
                template="introduction",
                language=lang,
                context=context,
                reply_to=everyone,
            ),
            now,
        )
