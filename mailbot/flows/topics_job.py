"""The running round's letters on a schedule: each pair's discussion topics and check-ins.

`domain.topics` decides which are due at `now` (at the member's local morning); this writes
them to the outbox under keys that make a re-run at the same instant send nothing twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.topics import checkin_due, due_topics
from mailbot.edges.tables import Outbox
from mailbot.flows.letters import language, notify, tracking_address
from mailbot.flows.round_snapshot import (
    Snapshot,
    pair_context,
    round_dates,
    round_view,
    topic_context,
)

if TYPE_CHECKING:
    from mailbot.deps import Deps


def _queued(s: Session, keys: list[str]) -> set[str]:
    """Which of `keys` the outbox holds: the letters due now asked about by key (the unique
    index), not every key of the round read each tick (nine topics a member by the end)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):  # bound the statement's parameters
        found.update(s.scalars(select(Outbox.key).where(Outbox.key.in_(keys[start : start + 500]))))
    return found


def send_topics(s: Session, deps: Deps, snap: Snapshot, now: datetime) -> Counter[str]:
    """Queue the topics and check-ins due at `now`, round by round; how many of each."""
    settings = deps.settings
    hour = settings.schedule.topic_hour
    counts: Counter[str] = Counter()
    for name, views in snap.by_round().items():
        r = snap.rounds[name]
        rv = round_view(r, settings.program.topics)
        due = due_topics(views, rv, now, hour)
        sent = _queued(s, [t.key for t in due])
        due = [t for t in due if t.key not in sent]
        snap.people.load(t.person_id for t in due)  # one query for the letters' rows
        for t in due:
            person = snap.people[t.person_id]
            partners = snap.partners(t.pair_id, person.id)
            track = tracking_address(deps, t.pair_id)
            lang = language(deps, person)
            added = notify(
                s,
                deps,
                t.key,
                person,
                "topic",
                {
                    "topic": topic_context(t.topic, lang, settings.program.topics),
                    "pair": pair_context(deps, snap, t.pair_id, person.id),
                    "round": {"name": name, "end": round_dates(deps, r)["end"]},
                },
                now,
                reply_to=",".join([*(p.email for p in partners), track]),
                bulk=True,
                not_before=t.not_before,
            )
            counts["topics"] += added
        checkins = checkin_due(views, rv, now, hour)
        sent = _queued(s, [c.key for c in checkins])
        checkins = [c for c in checkins if c.key not in sent]
        snap.people.load(c.person_id for c in checkins)
        for c in checkins:
            person = snap.people[c.person_id]
            added = notify(
                s,
                deps,
                c.key,
                person,
                "checkin",
                {
                    "pair": pair_context(deps, snap, c.pair_id, person.id),
                    "round": {"name": name, "end": round_dates(deps, r)["end"]},
                },
                now,
                not_before=c.not_before,
            )
            counts["check-ins"] += added
    return counts
