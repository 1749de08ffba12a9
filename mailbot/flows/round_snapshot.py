"""The running round as the ladder sees it: one read of the started rounds' pairs, their
members and nudges into `domain.ladder`'s plain views; and the topic catalogue and template
contexts the round's jobs share (topics, nudges, the survey, the digest).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, ValuesView
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, and_, or_, select
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

# The round as plain rows: built once (building a statement costs more than running it here).
_PAIRS = select(
    Pair.id,
    Pair.round_name,
    Pair.state,
    Pair.created_at,
    Pair.flagged_at,
    Pair.last_checkin_answer_at,
).order_by(Pair.id)
_MEMBERS = select(
    PairMember.pair_id, PairMember.person_id, PairMember.last_wrote_at, PairMember.messages
).order_by(PairMember.id)
_PEOPLE = select(
    Person.id,
    Person.name,
    Person.email,
    Person.language,
    Person.timezone,
    Person.status,
    Person.paused_until,
    Person.away_until,
    Person.bouncing,
)
_NUDGES = select(
    NudgeRow.pair_id, NudgeRow.kind, NudgeRow.person_id, NudgeRow.at, NudgeRow.key
).order_by(NudgeRow.id)


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


class PersonInfo(NamedTuple):
    """What the round's letters and views read of a person (plain values, not an ORM row)."""

    id: int
    name: str
    email: str
    language: str
    timezone: str | None
    status: str
    paused_until: datetime | None
    away_until: datetime | None
    bouncing: bool


T = TypeVar("T", bound="Pair | Person")


class Rows(Mapping[int, T]):
    """ORM rows by id, loaded only when a job asks for them — few are: the pairs and people it
    acts on — so reading the whole round costs plain rows, not ORM objects (three reads a tick:
    these were most of a tick's time). `load(ids)` fetches many in one query."""

    def __init__(self, session: Session, model: type[T], ids: Iterable[int]) -> None:
        self._session = session
        self._model: type[T] = model
        self._ids = dict.fromkeys(ids)
        self._loaded: dict[int, T] = {}

    def load(self, ids: Iterable[int]) -> None:
        wanted = [i for i in ids if i in self._ids and i not in self._loaded]
        for start in range(0, len(wanted), 500):  # bound the statement's parameters
            chunk = wanted[start : start + 500]
            for row in self._session.scalars(select(self._model).where(self._model.id.in_(chunk))):
                self._loaded[row.id] = row

    def __getitem__(self, key: int) -> T:
        row = self._loaded.get(key)
        if row is None:
            if key not in self._ids:
                raise KeyError(key)
            row = self._session.get(self._model, key)
            if row is None:
                raise KeyError(key)
            self._loaded[key] = row
        return row

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def values(self) -> ValuesView[T]:  # every row: one query a chunk, not one a row
        self.load(self._ids)
        return ValuesView(self)


@dataclass(frozen=True)
class RoundRead:
    """The round as plain values, read in four queries: no ORM object, nothing bound to a
    session, so a later job of the same tick may use it again (`shared_snapshot`)."""

    views: tuple[PairView, ...]
    started: Mapping[int, datetime]  # pair id -> when its round or it began, later
    info: Mapping[int, PersonInfo]
    members: Mapping[int, tuple[int, ...]]  # pair id -> person ids, in the order they joined
    nudge_keys: frozenset[str]  # of these pairs' nudges, sent or recorded

    @classmethod
    def load(
        cls, session: Session, started: Mapping[str, RoundRow], ended_since: datetime | None
    ) -> RoundRead:
        wanted: ColumnElement[bool] = Pair.state.in_(RUNNING)
        if ended_since is not None:
            wanted = or_(wanted, Pair.ended_at >= ended_since)
        wanted = and_(wanted, Pair.round_name.in_(started))
        pair_ids = select(Pair.id).where(wanted).scalar_subquery()
        pairs = list(session.execute(_PAIRS.where(wanted)))
        members: dict[int, list[tuple[int, datetime | None, int]]] = defaultdict(list)
        for pair_id, person_id, last_wrote_at, messages in session.execute(
            _MEMBERS.where(PairMember.pair_id.in_(pair_ids))
        ):
            members[pair_id].append((person_id, last_wrote_at, messages))
        person_ids = select(PairMember.person_id).where(PairMember.pair_id.in_(pair_ids))
        info = {
            row.id: PersonInfo(*row)
            for row in session.execute(_PEOPLE.where(Person.id.in_(person_ids.scalar_subquery())))
        }
        nudges: dict[int, list[NudgeRecord]] = defaultdict(list)
        keys: set[str] = set()
        for pair_id, kind, to, at, key in session.execute(
            _NUDGES.where(NudgeRow.pair_id.in_(pair_ids))
        ):
            nudges[pair_id].append(NudgeRecord(kind, to, at))
            keys.add(key)
        views: list[PairView] = []
        begun: dict[int, datetime] = {}
        for p in pairs:
            r = started[p.round_name]
            start = begun[p.id] = max(r.starts_at, p.created_at)
            views.append(
                PairView(
                    pair_id=p.id,
                    round_name=p.round_name,
                    started_at=start,
                    state=p.state,
                    members=tuple(
                        _member(info[m[0]], *m[1:]) for m in members[p.id] if m[0] in info
                    ),
                    nudges=tuple(nudges[p.id]),
                    flagged_at=p.flagged_at,
                    last_checkin_answer_at=p.last_checkin_answer_at,
                    ends_at=r.ends_at,
                    rhythm_days=r.topic_every_days,
                )
            )
        ids = {k: tuple(m[0] for m in v) for k, v in members.items()}
        return cls(tuple(views), begun, info, ids, frozenset(keys))


def _member(person: PersonInfo, last_wrote_at: datetime | None, messages: int) -> MemberView:
    return MemberView(
        person_id=person.id,
        timezone=person.timezone,
        language=person.language,
        status=person.status,
        paused_until=person.paused_until,
        away_until=person.away_until,
        bouncing=person.bouncing,
        last_wrote_at=last_wrote_at,
        messages=messages,
    )


class Snapshot:
    """The running pairs of the started rounds, as the ladder's plain views, and who is who;
    with `ended_since`, also the pairs that ended or were closed since then (the digest).

    The views are a `RoundRead` (given, or read now in the job's own transaction, so it sees
    what the jobs before it wrote); `pairs` and `people` give the ORM rows of the ones a job
    changes or writes to, from this session, loaded when asked for."""

    def __init__(
        self,
        session: Session,
        now: datetime,
        ended_since: datetime | None = None,
        read: RoundRead | None = None,
    ) -> None:
        self.rounds = {r.name: r for r in rounds.rounds(session) if r.starts_at <= now}
        self.read = read or RoundRead.load(session, self.rounds, ended_since)
        self.views = list(self.read.views)
        self.started, self.info, self.members = self.read.started, self.read.info, self.read.members
        self.nudge_keys = set(self.read.nudge_keys)  # and those recorded since
        self.pairs: Rows[Pair] = Rows(session, Pair, self.started)
        self.people: Rows[Person] = Rows(session, Person, self.info)

    def partners(self, pair_id: int, person_id: int) -> list[PersonInfo]:
        return [
            self.info[other]
            for other in self.members.get(pair_id, ())
            if other != person_id and other in self.info
        ]

    def by_round(self) -> dict[str, list[PairView]]:
        out: dict[str, list[PairView]] = defaultdict(list)
        for v in self.views:
            out[v.round_name].append(v)
        return out


# What a `RoundRead` is read from: a write to any of these makes a kept one stale.
READ_FROM = ("pair", "pair_member", "person", "nudge", "round")


def shared_snapshot(session: Session, deps: Deps, now: datetime) -> Snapshot:
    """The running round for a job of the tick at `now`: the pool job reads it, and the round
    job after it uses the same read unless anything has written the tables it was read from
    since (`edges.db.Database.written`; a rolled-back transaction counts) — most ticks nothing
    has. `flows.tick.run_jobs` forgets it after the pass."""
    db = deps.db
    kept = db.kept.get("round_read")
    if kept is not None and kept[0] == (now, db.written(READ_FROM)):
        return Snapshot(session, now, read=kept[1])
    snap = Snapshot(session, now)
    db.kept["round_read"] = ((now, db.written(READ_FROM)), snap.read)
    return snap


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
