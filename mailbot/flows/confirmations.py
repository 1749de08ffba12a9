"""Requests waiting for the person's confirmation: asking, and finding the request a reply
answers.

One mechanism for every participant command that must wait (`domain.confirmations.mode`):
WITHDRAW, DELETE MY DATA, a REMATCH read from a sentence, and any state-changing command whose
sender could not be verified. The command row waits in state "unconfirmed" with
`args["confirm"]` = the mode; the request goes to the person's real address with the reply
key `k<command id>` as Reply-To (`confirm_request`, or `delete_confirm` with its code for
DELETE MY DATA, `flows.erasure`). A reply to that key settles it
(`flows.participant_commands.act` for a reply read as a command, `settle_reply` there for any
other reply): confirmed → the command is carried out as if it had just arrived; NO → state
"cancelled".
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.confirmations import Mode, answered_requests, key_payload
from mailbot.domain.model import CommandName, Inbound, Route, Verdict
from mailbot.edges.tables import CommandRow, Person
from mailbot.flows.letters import notify

if TYPE_CHECKING:
    from mailbot.deps import Deps

WAITING = "unconfirmed"
CANCELLED = "cancelled"


def request_address(deps: Deps, command_id: int) -> str:
    """The signed reply address of a request waiting for confirmation."""
    s = deps.settings.program
    return tokens.tag_address(s.address, Route.REPLY, key_payload(command_id), s.secret)


def waiting_ids(session: Session, person: Person, verdict: Verdict) -> list[int]:
    """The person's requests (any state) whose confirmation key this message carries."""
    ids = answered_requests(verdict)
    if not ids:
        return []
    return list(
        session.scalars(
            select(CommandRow.id).where(CommandRow.id.in_(ids), CommandRow.person_id == person.id)
        )
    )


def answered(session: Session, person: Person, verdict: Verdict) -> CommandRow | None:
    """The request of `person` this message answers by its key, if it is still waiting (or
    waited: the caller tells an expired one)."""
    ids = answered_requests(verdict)
    if not ids:
        return None
    return session.scalar(
        select(CommandRow)
        .where(
            CommandRow.id.in_(ids),
            CommandRow.person_id == person.id,
            CommandRow.state == WAITING,
        )
        .order_by(CommandRow.id.desc())
        .limit(1)
    )


def ask(
    session: Session,
    deps: Deps,
    msg: Inbound,
    cmd: CommandRow,
    person: Person,
    waiting: Mode,
    now: datetime,
    may_answer: bool,
) -> str:
    """Hold `cmd` until the person confirms; the request goes to their real address."""
    cmd.state = WAITING
    cmd.args = {**cmd.args, "confirm": waiting.value}
    if may_answer:
        notify(
            session,
            deps,
            f"cmd:{cmd.id}:confirm",
            person,
            "confirm_request",
            {
                "command": cmd.name,
                "mode": waiting.value,
                "days": _days(cmd),
            },
            now,
            automatic_answer=True,
            in_reply_to=msg.message_id,
            reply_to=request_address(deps, cmd.id),
        )
    what = CommandName(cmd.name).value.upper()
    if waiting is Mode.VERIFY:
        return f"{what} not carried out: sender not verified; the real address was asked"
    return f"{what} waits for the person's YES"


def _days(cmd: CommandRow) -> int | None:
    if cmd.name != CommandName.PAUSE.value:
        return None
    try:
        return int(cmd.args.get("days") or 14)
    except (TypeError, ValueError):
        return None
