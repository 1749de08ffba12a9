"""The demo's calendar: from the first application to the final report, a day at a time.

Each simulated day the applicants due that day send their forms, the pairs act out their scripts
(`mailbot.demo.behaviour`), answers due that day are sent, and the real `flows.tick.tick` runs
once (twice during the round; around the coordinator's APPROVE on the matching day).
"""

from __future__ import annotations

from datetime import timedelta

from mailbot.demo import behaviour, cast
from mailbot.demo.plan import (
    COORDINATOR,
    END,
    EVENING_HOUR,
    FINAL_REPORT,
    MATCHING,
    PROGRAM,
    START,
    TICK_HOUR,
    WRITE_HOUR,
    DemoError,
    at,
    round_day,
)
from mailbot.demo.world import World


async def simulate(world: World) -> None:
    """From the first application to the final report, a day at a time."""
    people = cast.applicants(world.seed)
    world.applicants = {a.email: a for a in people}
    first = START + timedelta(days=min(a.day for a in people))
    d = first
    while d <= FINAL_REPORT:
        n = round_day(d)
        morning = at(d, WRITE_HOUR)
        for a in people:
            if a.day == n:
                await world.put(
                    a.email,
                    [PROGRAM],
                    "Application" if a.language == "en" else "Candidature / Solicitud",
                    a.first_form or a.form,
                    morning,
                    name=a.name,
                )
        await world.flush_pending(d, morning)
        if n >= 0:
            actions = behaviour.day_actions(
                world.pairs, world.scripts, n, (END - START).days, world.seed, START
            )
            await world.act(actions, morning)
        await world.tick(at(d, TICK_HOUR))
        if d == MATCHING:
            if not world.pending.get(d):
                raise DemoError(
                    f"no matching proposal reached {COORDINATOR} on {MATCHING} "
                    f"(look in {world.sent_dir / COORDINATOR})"
                )
            await world.flush_pending(d, at(d, 11))  # the coordinator's APPROVE
            await world.tick(at(d, 12))
            if not world.pairs:
                raise DemoError("the coordinator approved, but nobody was introduced")
        if 0 <= n <= (END - START).days:
            await world.flush_pending(d, at(d, EVENING_HOUR - 1))
            await world.tick(at(d, EVENING_HOUR))
        d += timedelta(days=1)
