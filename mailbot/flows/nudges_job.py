"""The nudge ladder for the running pairs: what `domain.ladder` decides at `now`, recorded
once per nudge key, and the nudge letters it sends (a stalled pair is flagged for the
coordinators' digest instead).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailbot.domain import ladder
from mailbot.domain.ladder import NudgeKind
from mailbot.domain.topics import topic_now, waking_after
from mailbot.edges.tables import NudgeRow, Person
from mailbot.flows.letters import language, notify
from mailbot.flows.round_snapshot import Snapshot, pair_context, round_view, topic_context

if TYPE_CHECKING:
    from mailbot.deps import Deps

# The letter each kind of nudge to a person is sent as.
TEMPLATES = {
    NudgeKind.QUIET: "nudge_quiet",
    NudgeKind.ONE_SIDED: "nudge_one_sided",
    NudgeKind.SECOND: "nudge_second",
    NudgeKind.PARTNER_BOUNCING: "partner_bouncing",
}


def send_nudges(s: Session, deps: Deps, snap: Snapshot, now: datetime) -> Counter[str]:
    """Record the nudges due at `now` that are new, and send or flag each; how many of each kind."""
    counts: Counter[str] = Counter()
    decision = ladder.decide_ladder(snap.views, now, deps.settings.ladder)
    for n in decision.nudges:
        if n.key in snap.nudge_keys:
            continue
        snap.nudge_keys.add(n.key)
        s.add(
            NudgeRow(key=n.key, pair_id=n.pair_id, person_id=n.person_id, kind=n.kind.value, at=now)
        )
        counts[n.kind.value] += 1
        pair = snap.pairs[n.pair_id]
        if n.kind is NudgeKind.STALLED or n.person_id is None:
            pair.flagged_at = now  # the coordinators' digest lists it with its actions
            continue
        _send_nudge(s, deps, snap, n, snap.people[n.person_id], now)
    return counts


def _send_nudge(
    s: Session, deps: Deps, snap: Snapshot, n: ladder.Nudge, person: Person, now: datetime
) -> None:
    r = snap.rounds[n.round_name]
    about = [snap.people[i] for i in n.about if i in snap.people]
    ctx: dict[str, Any] = {"pair": pair_context(deps, snap, n.pair_id, person.id)}
    template = TEMPLATES[n.kind]
    if n.kind is NudgeKind.QUIET:
        topics = deps.settings.program.topics
        k = topic_now(snap.started[n.pair_id], round_view(r, topics), now)
        topic = None if k is None else topic_context(k, language(deps, person), topics)
        ctx |= {"days": n.silent_days, "topic": topic}
    elif n.kind is NudgeKind.ONE_SIDED:
        writers = [p.name for p in snap.partners(n.pair_id, person.id)]
        ctx |= {"writer_name": " & ".join(writers), "days": n.silent_days}
    elif n.kind is NudgeKind.SECOND:
        writers = [p.name for p in snap.partners(n.pair_id, person.id)]
        ctx |= {"days": n.silent_days, "cause": n.cause, "writer_name": " & ".join(writers)}
    else:
        ctx = {"partner_name": " & ".join(p.name for p in about)}
    # Due now, but not delivered in the middle of their night.
    waking = waking_after(now, person.timezone, deps.settings.schedule.topic_hour)
    notify(s, deps, n.key, person, template, ctx, now, not_before=waking)
