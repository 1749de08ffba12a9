"""The matching engine's plain input, built from the database: who is in a round's pool.

A candidate is a person and their application as the engine sees them; the pool is every
valid application of the round whose person may be matched (`domain.eligibility`), and the
exclusions are the pairs that must never be formed again (previous partners, blocked pairs).
`compute` runs the engine on them; it stores and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import matching
from mailbot.domain.eligibility import why_not_matchable
from mailbot.domain.model import ApplicationFields
from mailbot.edges.tables import Application, Person, RoundRow
from mailbot.flows import pairs

if TYPE_CHECKING:
    from mailbot.deps import Deps


def weights(deps: Deps) -> matching.Weights:
    m = deps.settings.matching
    return matching.Weights(
        shared_interest=m.weight_shared_interest,
        wish_met=m.weight_wish_met,
        zone_overlap=m.weight_zone_overlap,
        common_language=m.weight_common_language,
    )


def utc_offset(zone: str | None, at: datetime) -> float | None:
    """Hours east of UTC in `zone` at `at`; None when the zone is not given or not known."""
    if not zone:
        return None
    try:
        off = at.astimezone(ZoneInfo(zone)).utcoffset()
    except (KeyError, ValueError):
        return None
    return off.total_seconds() / 3600 if off is not None else None


def candidate(person: Person, app: Application, at: datetime, order: int = 0) -> matching.Candidate:
    """The matching engine's view of a person and their application, with clock offsets as of
    `at` (no wish = None, an unknown zone = the neutral None; a bad stored row raises
    `StoredFieldsError`)."""
    f = ApplicationFields.from_json(app.fields)
    return matching.Candidate(
        id=person.id,
        country=f.country,
        utc_offset=utc_offset(f.timezone, at),
        languages=frozenset({f.language}),
        sector=f.sector.value,
        career_stage=f.career_stage.value,
        interests=frozenset(f.interests),
        partner_sector=f.partner_sector.value if f.partner_sector else None,
        partner_career_stage=f.partner_career_stage.value if f.partner_career_stage else None,
        partner_interests=frozenset(f.partner_interests),
        applied_order=order,
    )


def eligible(person: Person, deps: Deps, now: datetime) -> str:
    """ "" when the person may be matched, else why not (domain.eligibility.why_not_matchable)."""
    return why_not_matchable(
        person.status,
        person.paused_until,
        person.bouncing,
        person.silent_cycles,
        person.wants_next_round,
        now,
        deps.settings.ladder,
    )


def pool(
    session: Session, deps: Deps, round_row: RoundRow, now: datetime
) -> tuple[
    list[matching.Candidate], dict[int, tuple[Person, Application]], list[tuple[Person, str]]
]:
    """Candidates for a round, who they are, and who was excluded with why."""
    apps = list(
        session.execute(
            select(Person, Application)
            .join(Application, Application.person_id == Person.id)
            .where(Application.round_name == round_row.name, Application.status == "valid")
            .order_by(Application.submitted_at, Application.id)
        )
    )
    cands: list[matching.Candidate] = []
    who: dict[int, tuple[Person, Application]] = {}
    excluded: list[tuple[Person, str]] = []
    for order, (person, app) in enumerate(apps):
        why = eligible(person, deps, now)
        if why:
            excluded.append((person, why))
            continue
        cands.append(candidate(person, app, round_row.starts_at, order))
        who[person.id] = (person, app)
    return cands, who, excluded


def exclusions(session: Session) -> matching.Exclusions:
    """Every pair never to be formed again (`flows.pairs.exclusions`, read once for all)."""
    return pairs.exclusions(session)


def compute(
    session: Session,
    deps: Deps,
    round_row: RoundRow,
    now: datetime,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[matching.Proposal, dict[int, tuple[Person, Application]], list[tuple[Person, str]]]:
    cands, who, excluded = pool(session, deps, round_row, now)
    m = deps.settings.matching
    proposal = matching.propose(
        cands,
        weights(deps),
        exclusions(session),
        "trio" if m.odd == "trio" else "defer",
        cap_share=m.cap_share,
        progress=progress,
    )
    return proposal, who, excluded
