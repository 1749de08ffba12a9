"""What a coordinator hears back after a command: done and what changed, or refused and why.

Only configured coordinators are answered; anyone else sending a coordinator command is never
told anything about it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.domain.model import Inbound, Outgoing
from mailbot.edges.tables import CommandRow
from mailbot.flows.letters import program_context
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.deps import Deps


def confirm(
    session: Session,
    deps: Deps,
    msg: Inbound,
    cmd: CommandRow,
    action: str,
    detail: str,
    now: datetime,
    refused: bool = False,
) -> None:
    if msg.from_addr not in deps.settings.program.coordinators:
        return  # only coordinators hear back; others are never answered about these
    enqueue(
        session,
        deps,
        Outgoing(
            key=f"coord:{cmd.id}",
            to=(msg.from_addr,),
            template="coordinator_action_done",
            language="en",
            context={
                "program": program_context(deps),
                "recipient_name": msg.from_addr,
                "names": {},
                "person_id": 0,
                "action": action,
                "detail": detail,
                "refused": refused,
            },
            in_reply_to=msg.message_id,
        ),
        now,
    )
