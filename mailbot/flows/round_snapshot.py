"""The running round as the ladder sees it: one read of the started rounds' pairs, their
members and nudges into `domain.ladder`'s plain views; and the topic catalogue and template
contexts the round's jobs share (topics, nudges, the survey, the digest).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from mailbot.domain.ladder import MemberView, NudgeRecord, PairView, RoundView
from mailbot.edges.resources import data_dir
from mailbot.edges.tables import NudgeRow, Pair, PairMember, Person, RoundRow
from mailbot.flows import rounds
from mailbot.flows.letters import tracking_address
from mailbot.flows.pairs import RUNNING

if TYPE_CHECKING:
    from mailbot.deps import Deps

TOPICS_FILE = data_dir("config") / "topics.toml"


@lru_cache(maxsize=4)
def topic_catalogue(path: str = "") -> list[dict[str, Any]]:
    """The discussion topics in sending order (program.topics, else config/topics.toml)."""
    data = tomllib.loads(Path(path or TOPICS_FILE).read_text(encoding="utf-8"))
    return sorted(data["topics"], key=lambda t: t["order"])


def topic_context(k: int, lang: str, path: str = "") -> dict[str, Any]:
    topics = topic_catalogue(path)
    t = topics[k % len(topics)]
    text = t.get(lang) or t["en"]
    return {
        "number": k + 1,
        "count": len(topics),
        "slug": t["slug"],
        "title": text["title"],
        "prompt": text["prompt"].strip(),
    }


def round_view(r: RoundRow, topics: str = "") -> RoundView:
    count = len(topic_catalogue(topics))
    return RoundView(r.name, r.starts_at, r.ends_at, r.topic_every_days, count)


class Snapshot:
    """The running pairs of the started rounds, as the ladder's plain views, and who is who;
    with `ended_since`, also the pairs that ended or were closed since then (the digest)."""

    def __init__(
        self, session: Session, now: datetime, ended_since: datetime | None = None
    ) -> None:
        self.rounds = {r.name: r for r in rounds.rounds(session) if r.starts_at <= now}
        wanted: ColumnElement[bool] = Pair.state.in_(RUNNING)
        if ended_since is not None:
            wanted = or_(wanted, Pair.ended_at >= ended_since)
        pairs = list(session.scalars(select(Pair).where(wanted, Pair.round_name.in_(self.rounds))))
        self.pairs = {p.id: p for p in pairs}
        members: dict[int, list[PairMember]] = defaultdict(list)
        for m in session.scalars(select(PairMember).where(PairMember.pair_id.in_(self.pairs))):
            members[m.pair_id].append(m)
        ids = {m.person_id for ms in members.values() for m in ms}
        self.people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
        nudges: dict[int, list[NudgeRecord]] = defaultdict(list)
        self.nudge_keys: set[str] = set()  # of these pairs' nudges, sent or recorded
        for n in session.scalars(select(NudgeRow).where(NudgeRow.pair_id.in_(self.pairs))):
            nudges[n.pair_id].append(NudgeRecord(n.kind, n.person_id, n.at))
            self.nudge_keys.add(n.key)
        self.views: list[PairView] = []
        self.started: dict[int, datetime] = {}  # pair id -> when its round or it began, later
        for p in pairs:
            start = self.started[p.id] = max(self.rounds[p.round_name].starts_at, p.created_at)
            self.views.append(
                PairView(
                    pair_id=p.id,
                    round_name=p.round_name,
                    started_at=start,
                    state=p.state,
                    members=tuple(
                        self._member(m) for m in members[p.id] if m.person_id in self.people
                    ),
                    nudges=tuple(nudges[p.id]),
                    flagged_at=p.flagged_at,
                    last_checkin_answer_at=p.last_checkin_answer_at,
                    ends_at=self.rounds[p.round_name].ends_at,
                    rhythm_days=self.rounds[p.round_name].topic_every_days,
                )
            )
        self.members = members

    def _member(self, m: PairMember) -> MemberView:
        person = self.people[m.person_id]
        return MemberView(
            person_id=person.id,
            timezone=person.timezone,
            language=person.language,
            status=person.status,
            paused_until=person.paused_until,
            away_until=person.away_until,
            bouncing=person.bouncing,
            last_wrote_at=m.last_wrote_at,
            messages=m.messages,
        )

    def partners(self, pair_id: int, person_id: int) -> list[Person]:
        return [
            self.people[m.person_id]
            for m in self.members[pair_id]
            if m.person_id != person_id and m.person_id in self.people
        ]

    def by_round(self) -> dict[str, list[PairView]]:
        out: dict[str, list[PairView]] = defaultdict(list)
        for v in self.views:
            out[v.round_name].append(v)
        return out


def pair_context(deps: Deps, snap: Snapshot, pair_id: int, person_id: int) -> dict[str, Any]:
    """A pair as one member's letter names it: the partners, and the pair's tracking address."""
    return {
        "partner_names": [p.name for p in snap.partners(pair_id, person_id)],
        "tracking_address": tracking_address(deps, pair_id),
    }


def round_dates(deps: Deps, r: RoundRow) -> dict[str, str]:
    """The round's dates as a letter shows them (days in the program's time zone)."""
    ctx = rounds.round_context(deps, r)
    if ctx is None:  # round_context only returns None for no round
        raise ValueError(f"round {r.name!r} has no context")
    return ctx
