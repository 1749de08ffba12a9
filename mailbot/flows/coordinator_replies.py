"""What a coordinator hears back after a reply with commands: ONE mail per reply, saying for
each line what was done, or that nothing changed and why (or that the line was not a command).

Only configured coordinators are answered; anyone else sending a coordinator command is never
told anything about it. A reply with one command (and nothing else) gets the short form
("Done: CLOSE pair 12"); a reply of several lines gets the summary, one entry per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailbot.domain.model import Inbound, Outgoing
from mailbot.edges.tables import CommandRow
from mailbot.flows.letters import program_context
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.deps import Deps


class Refused(Exception):
    """A coordinator command that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one line of a coordinator's reply."""

    line: str  # the line as the coordinator wrote it
    action: str  # the command as understood ("REMATCH pair 12"); "" when not a command
    detail: str  # what happened, or why nothing did
    done: bool

    def as_context(self) -> dict[str, Any]:
        return {"line": self.line, "action": self.action, "detail": self.detail, "done": self.done}


def not_a_command(line: str) -> Outcome:
    return Outcome(line, "", "not a command we know: nothing done", False)


def confirm_reply(
    session: Session,
    deps: Deps,
    msg: Inbound,
    key: CommandRow,
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    """The one mail answering a coordinator's reply (keyed by its first command's row)."""
    if msg.from_addr not in deps.settings.program.coordinators or not outcomes:
        return  # only coordinators hear back; others are never answered about these
    first = next((o for o in outcomes if o.action), outcomes[0])
    context: dict[str, Any] = {
        "program": program_context(deps),
        "recipient_name": msg.from_addr,
        "names": {},
        "person_id": 0,
        "action": first.action or first.line,
        "detail": first.detail,
        "refused": not first.done,
    }
    if len(outcomes) > 1:
        context["outcomes"] = [o.as_context() for o in outcomes]
    enqueue(
        session,
        deps,
        Outgoing(
            key=f"coord:{key.id}",
            to=(msg.from_addr,),
            template="coordinator_action_done",
            language="en",
            context=context,
            in_reply_to=msg.message_id,
        ),
        now,
    )
