"""From applications to introduced pairs: propose on the matching date, approve by one reply.

Builds the matching engine's plain input from the database (hard rules: other country, no
repeat partner, no blocked pair, nobody paused, withdrawn, bouncing or silent too long),
stores the proposal, mails it to the coordinators with a CSV, and on APPROVE creates the
pairs, introduces them and tells everyone left out why. REDO matches again as things stand.
"""

from __future__ import annotations

import csv
import io
import logging
import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import matching, tokens
from mailbot.domain.ladder import exclusion_code, why_not_matchable
from mailbot.domain.model import Outgoing, Route
from mailbot.edges.tables import (
    Application,
    BlockedPair,
    Pair,
    PairMember,
    Person,
    Proposal,
    RoundRow,
)
from mailbot.flows import rounds
from mailbot.flows.effects import LANGUAGE_NAMES, country_name
from mailbot.flows.letters import notify, notify_coordinators, program_context, tracking_address
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.matching")


def weights(deps: Deps) -> matching.Weights:
    m = deps.settings.matching
    return matching.Weights(
        shared_interest=m.weight_shared_interest,
        wish_met=m.weight_wish_met,
        zone_overlap=m.weight_zone_overlap,
        common_language=m.weight_common_language,
    )


def _offset(zone: str | None, at: datetime) -> float | None:
    if not zone:
        return None
    try:
        off = at.astimezone(ZoneInfo(zone)).utcoffset()
    except (KeyError, ValueError):
        return None
    return off.total_seconds() / 3600 if off is not None else None


def candidate(person: Person, app: Application, at: datetime, order: int = 0) -> matching.Candidate:
    """The matching engine's view of a person and their application, with clock offsets as of
    `at` (a form that lacks a field gets the neutral value)."""
    f = app.fields
    return matching.Candidate(
        id=person.id,
        country=f.get("country") or person.country,
        utc_offset=_offset(f.get("timezone"), at),
        languages=frozenset({f.get("language") or person.language}),
        sector=f.get("sector") or "other",
        career_stage=f.get("career_stage") or "mid-career",
        interests=frozenset(f.get("interests") or ()),
        partner_sector=f.get("partner_sector"),
        partner_career_stage=f.get("partner_career_stage"),
        partner_interests=frozenset(f.get("partner_interests") or ()),
        applied_order=order,
    )


def eligible(person: Person, deps: Deps, now: datetime) -> str:
    """ "" when the person may be matched, else why not (domain.ladder.why_not_matchable)."""
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
    members: dict[int, list[int]] = {}
    for pair_id, person_id in session.execute(select(PairMember.pair_id, PairMember.person_id)):
        members.setdefault(pair_id, []).append(person_id)
    previous = {frozenset((a, b)) for ms in members.values() for a in ms for b in ms if a < b}
    blocked = {
        frozenset((a, b))
        for a, b in session.execute(select(BlockedPair.person_a, BlockedPair.person_b))
    }
    return matching.Exclusions(frozenset(previous), frozenset(blocked))


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


def payload(proposal: matching.Proposal, excluded: list[tuple[Person, str]]) -> dict[str, Any]:
    return {
        "pairs": [
            {
                "members": list(p.members),
                "score": p.score,
                "third": p.third,
                "reasons": [
                    {
                        "a": r.a,
                        "b": r.b,
                        "score": r.score,
                        "shared_interests": list(r.shared_interests),
                        "wishes_met": [
                            {"by": w.by, "kind": w.kind.value, "value": w.value}
                            for w in r.wishes_met
                        ],
                        "overlap_hours": r.overlap_hours,
                        "common_languages": list(r.common_languages),
                    }
                    for r in p.reasons
                ],
            }
            for p in proposal.pairs
        ],
        "left": [{"id": x.id, "code": x.code.value, "detail": x.detail} for x in proposal.left],
        "excluded": [{"id": p.id, "why": why} for p, why in excluded],
        "total_score": proposal.total_score,
        "stats": dict(proposal.stats),
    }


def statistics_of(data: dict[str, Any], who: dict[int, Any]) -> dict[str, Any]:
    scores = [p["score"] for p in data["pairs"]]
    countries = Counter(app.fields["country"] for _, app in who.values())
    return {
        "applicants": len(who) + len(data["excluded"]),
        "pairs": sum(1 for p in data["pairs"] if len(p["members"]) == 2),
        "trios": sum(1 for p in data["pairs"] if len(p["members"]) == 3),
        "left": len(data["left"]),
        "excluded": len(data["excluded"]),
        "countries": len(countries),
        "by_country": countries.most_common(),
        "score_total": round(sum(scores), 2),
        "score_mean": round(statistics.fmean(scores), 2) if scores else 0.0,
        "score_min": round(min(scores), 2) if scores else 0.0,
        "score_max": round(max(scores), 2) if scores else 0.0,
    }


def proposal_csv(
    data: dict[str, Any], people: dict[int, Person], apps: dict[int, Application]
) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "pair",
            "name",
            "email",
            "country",
            "sector",
            "career_stage",
            "interests",
            "partner_names",
            "score",
            "shared_interests",
            "wishes_met",
            "overlap_hours",
        ]
    )
    for n, p in enumerate(data["pairs"], 1):
        shared = sorted({i for r in p["reasons"] for i in r["shared_interests"]})
        wishes = [
            f"{people[wm['by']].name}: {wm['kind']}={wm['value']}"
            for r in p["reasons"]
            for wm in r["wishes_met"]
            if wm["by"] in people
        ]
        overlap = min(
            (r["overlap_hours"] for r in p["reasons"] if r["overlap_hours"] is not None), default=""
        )
        for pid in p["members"]:
            person, f = people[pid], apps[pid].fields
            partners = [people[o].name for o in p["members"] if o != pid]
            w.writerow(
                [
                    n,
                    person.name,
                    person.email,
                    f["country"],
                    f["sector"],
                    f["career_stage"],
                    "; ".join(f.get("interests") or []),
                    "; ".join(partners),
                    p["score"],
                    "; ".join(shared),
                    "; ".join(wishes),
                    overlap,
                ]
            )
    for x in data["left"]:
        if x["id"] in people:
            person = people[x["id"]]
            w.writerow(
                [
                    "",
                    person.name,
                    person.email,
                    apps[x["id"]].fields["country"],
                    "",
                    "",
                    "",
                    f"LEFT OUT: {x['code']}",
                    "",
                    "",
                    x["detail"],
                    "",
                ]
            )
    return out.getvalue()


def propose_round(session: Session, deps: Deps, round_row: RoundRow, now: datetime) -> Proposal:
    """Match the round's pool, store the proposal and mail it to the coordinators."""
    result, who, excluded = compute(session, deps, round_row, now)
    data = payload(result, excluded)
    row = Proposal(round_name=round_row.name, state="proposed", payload=data, created_at=now)
    session.add(row)
    session.flush()
    round_row.state = "proposed"
    people = {pid: p for pid, (p, _) in who.items()} | {p.id: p for p, _ in excluded}
    apps = {pid: a for pid, (_, a) in who.items()}
    stats = statistics_of(data, who)
    log.info("proposal %s for %s: %s", row.id, round_row.name, stats)
    if deps.settings.program.auto_approve:
        approve(session, deps, row, "auto_approve", now)
        return row
    secret = deps.settings.program.secret
    reply_to = tokens.tag_address(deps.settings.program.address, Route.REPLY, f"m{row.id}", secret)
    left = [
        {
            "name": people[x["id"]].name,
            "email": people[x["id"]].email,
            "code": x["code"],
            "detail": x["detail"],
        }
        for x in data["left"]
        if x["id"] in people
    ] + [
        {"name": p.name, "email": p.email, "code": "excluded", "detail": why} for p, why in excluded
    ]
    context = {
        "round": rounds.round_context(deps, round_row),
        "proposal_id": row.id,
        "stats": stats,
        "left": left,
        "_attachments": [
            {
                "filename": f"proposal-{round_row.name}-{row.id}.csv",
                "content_type": "text/csv",
                "text": proposal_csv(data, people, apps),
            }
        ],
    }
    notify_coordinators(
        session, deps, f"proposal:{row.id}", "proposal", context, now, reply_to=reply_to
    )
    return row


def approve(session: Session, deps: Deps, row: Proposal, by: str, now: datetime) -> list[Pair]:
    """Make a proposal final: pairs, introductions, and a word to everyone left out."""
    if row.state != "proposed":
        return []
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == row.round_name))
    assert round_row is not None
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
        if x["code"] in ("country_cap", "paused", "silent") or upcoming is not None:
            app = _carry(session, app, upcoming.name if upcoming else "")
        else:
            app.status = "left"
        app.status_reason, app.updated_at = x["detail"], now
        reason = x["code"] if x["code"] != "unmatched" else "no_eligible_partner"
        notify(
            session,
            deps,
            f"left:{row.round_name}:{person.id}",
            person,
            "round_deferred",
            {
                "reason_code": reason,
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


def _member_ctx(person: Person, app: Application, at: datetime, lang: str) -> dict[str, Any]:
    f = app.fields
    zone = f.get("timezone")
    local = at.astimezone(ZoneInfo(zone)).strftime("%H:%M") if zone else ""
    return {
        "name": person.name,
        "email": person.email,
        "country_name": country_name(f["country"], lang),
        "institution": f["institution"],
        "sector": f["sector"],
        "career_stage": f["career_stage"],
        "interests": list(f.get("interests") or []),
        "about": f.get("about") or "",
        "timezone": zone or "",
        "local_time": local,
        "language_name": LANGUAGE_NAMES.get(lang, LANGUAGE_NAMES["en"]).get(
            f.get("language") or person.language, ""
        ),
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
    offsets = [_offset(apps[m.id].fields.get("timezone"), now) for m in members]
    known = [o for o in offsets if o is not None]
    diff = round(max(known) - min(known), 1) if len(known) >= 2 else 0.0
    reasons = {
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


def redo(session: Session, deps: Deps, row: Proposal, by: str, now: datetime) -> Proposal | None:
    if row.state != "proposed":
        return None
    row.state, row.decided_at, row.decided_by = "redone", now, by
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == row.round_name))
    assert round_row is not None
    return propose_round(session, deps, round_row, now)


def _move_waiting(s: Session, deps: Deps, current: RoundRow, now: datetime) -> int:
    """Applications waiting for a round go into the one that opened; each person hears it.

    Someone who also applied to that round directly keeps one application in it: the newer
    form, while it is still open to changes; a waiting one behind an application already
    matched stays for the round after.
    """
    mine = {
        a.person_id: a
        for a in s.scalars(select(Application).where(Application.round_name == current.name))
    }
    moved = 0
    waiting = s.execute(
        select(Person, Application)
        .join(Application, Application.person_id == Person.id)
        .where(Application.round_name == "")
    )
    for person, app in list(waiting):
        there = mine.get(person.id)
        if there is None:
            app.round_name, app.updated_at = current.name, now
            moved += 1
        elif there.status in ("valid", "deferred"):
            if app.updated_at > there.updated_at:
                there.fields, there.status, there.updated_at = app.fields, app.status, now
            s.delete(app)
        else:
            continue  # matched or left out already: it waits for the next round
        notify(
            s,
            deps,
            f"opened:{current.name}:{person.id}",
            person,
            "round_opened",
            {"round": rounds.round_context(deps, current)},
            now,
        )
    return moved


async def round_job(deps: Deps, now: datetime) -> str:
    """Round work due at `now`: tell waiting applicants a round opened; propose on matching day."""
    done: list[str] = []
    with deps.db.transaction() as s:
        rounds.sync_rounds(s, deps)
        current = rounds.open_round(s, now)
        if current is not None:
            moved = _move_waiting(s, deps, current, now)
            if moved:
                done.append(f"{moved} moved into {current.name}")
        for r in rounds.rounds(s):
            if r.state == "planned" and now >= r.matching_at:
                row = propose_round(s, deps, r, now)
                done.append(f"proposal {row.id} for {r.name}")
    return "; ".join(done)
