"""The scheduled "pool" job: the program resolves what it can in every running round.

At `now`, in one transaction, round by round:
1. pairs whose ladder is exhausted (`domain.ladder.exhausted_pairs`) and one-sided: ended, the
   silent member told kindly, the writer into the pool (`domain.waiting_pool.resolve_exhausted`);
2. pairs with a member whose address bounces: ended, the others into the pool;
   (1 and 2 only with `ladder.auto_resolve`: else the coordinators' digest lists them)
3. late applicants (forms after the close, in the round's first part) into the pool;
4. the pool paired (`flows.waiting_pool.pair_pool`), each new pair introduced;
5. who waited `pool.wait_days` (or everyone, near the round's end) told and carried to the next
   round; the pools of rounds that ended are emptied the same way.
Idempotent at an instant: a re-run finds nothing left to do.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from mailbot.domain import ladder
from mailbot.domain.waiting_pool import resolve_exhausted
from mailbot.flows import rounds
from mailbot.flows.rematch import end_bouncing, end_exhausted
from mailbot.flows.round_snapshot import shared_snapshot
from mailbot.flows.waiting_pool import (
    carry_waited_too_long,
    pair_pool,
    take_late_applicants,
    waiting_in,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailbot.deps import Deps


def _resolve_pairs(s: Session, deps: Deps, now: datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    rules = deps.settings.ladder
    if not rules.auto_resolve:  # the coordinators' digest lists these pairs instead
        return counts
    snap = shared_snapshot(s, deps, now)
    live = [v for v in snap.views if v.ends_at is None or now < v.ends_at]
    for st in ladder.exhausted_pairs(live, now, rules):
        plan = resolve_exhausted(st)
        if plan.acts:
            pair = snap.pairs[st.pair_id]
            counts["rematched"] += end_exhausted(s, deps, pair, plan.let_go, plan.to_pool, now)
            counts["ended silent"] += 1
    for view in live:
        if view.state != "active":
            continue
        engaged = [m for m in view.members if ladder.is_engaged(m, now)]
        if any(m.bouncing for m in engaged) and any(not m.bouncing for m in engaged):
            counts["rematched"] += end_bouncing(s, deps, snap.pairs[view.pair_id], now)
            counts["ended bouncing"] += 1
    return counts


async def pool_job(deps: Deps, now: datetime) -> str:
    """Exhausted and bouncing pairs resolved, late applicants taken, the pool paired, who
    waited too long carried: as of `now`."""
    with deps.db.transaction() as s:
        counts = _resolve_pairs(s, deps, now)
        for r in rounds.rounds(s):
            if r.state != "matched":
                continue
            if now >= r.ends_at:
                if waiting_in(s, r.name):
                    counts["carried"] += carry_waited_too_long(s, deps, r, now, all_=True)
                continue
            counts["late joined"] += take_late_applicants(s, deps, r, now)
            counts["rematched"] += pair_pool(s, deps, r, now)
            counts["carried"] += carry_waited_too_long(s, deps, r, now)
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if v)
