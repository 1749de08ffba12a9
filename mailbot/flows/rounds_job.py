"""The scheduled "rounds" job: a round that opened takes in the applications waiting for it
(each person hears so), and a round whose matching date came gets its proposal.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.edges.tables import Application, Person, RoundRow
from mailbot.flows import rounds
from mailbot.flows.letters import notify
from mailbot.flows.proposal import propose_round

if TYPE_CHECKING:
    from mailbot.deps import Deps


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
