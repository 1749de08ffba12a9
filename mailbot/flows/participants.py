"""Participant commands act: PAUSE, RESUME, WITHDRAW, REMATCH, CONTINUE, DELETE MY DATA, and
the one-word answers IN TOUCH, SILENT, YES, NO. (Being written: for now, acknowledge.)"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.domain.model import Inbound, Verdict
from mailbot.edges.tables import CommandRow, Person
from mailbot.flows import effects
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.app import Deps


def act(
    session: Session,
    deps: Deps,
    msg: Inbound,
    verdict: Verdict,
    cmd: CommandRow,
    person: Person,
    now: datetime,
    may_answer: bool,
) -> str:
    """Carry out `cmd` for `person` in the inbound transaction; answer when `may_answer`."""
    if may_answer:
        row = session.get(effects.InboundRow, cmd.inbound_id)
        assert row is not None
        out = effects.answer(session, deps, "command_ack", msg, verdict, person, row, now)
        enqueue(session, deps, out, now, automatic_answer=True)
    return "recorded"
