"""Coordinator commands on pairs and people: LIAISE, REMATCH <pair>, CLOSE, PAUSE <address>,
NOTE. (Being written: for now they are recorded only.)"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.domain.model import Inbound, Verdict
from mailbot.edges.tables import CommandRow

if TYPE_CHECKING:
    from mailbot.app import Deps


def act(
    session: Session, deps: Deps, msg: Inbound, verdict: Verdict, cmd: CommandRow, now: datetime
) -> str:
    del session, deps, msg, verdict, now
    return f"{cmd.name} recorded"
