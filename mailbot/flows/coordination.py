"""Coordinators act by replying: APPROVE or REDO a proposal, and the commands on pairs and
people (`flows.coordinator_commands`) — one per line, as many as they like in one reply.

Each line is authenticated on its own as a single command is: only a configured coordinator,
answering with the signed key of the mail they answer, and not failing DMARC at our server,
changes anything; everyone else changes nothing. Each command gets its own `CommandRow` and
runs in its own savepoint (a refusal undoes only that line); the coordinator hears back ONCE
per reply (`flows.coordinator_replies.confirm_reply`), every line's outcome listed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.auth import coordinator_may_act
from mailbot.domain.coordinator_reply import ReplyLine, read_reply
from mailbot.domain.model import CommandName, Inbound, Verdict
from mailbot.edges.tables import CommandRow, Proposal
from mailbot.flows import coordinator_commands
from mailbot.flows.approval import approve
from mailbot.flows.coordinator_replies import Outcome, confirm_reply, not_a_command
from mailbot.flows.proposal import redo

if TYPE_CHECKING:
    from mailbot.deps import Deps


def _proposal_tokens(deps: Deps, row: Proposal) -> frozenset[str]:
    keys = {f"m{row.id}"}
    keys |= {
        tokens.key_digest(f"proposal:{row.id}:{c}") for c in deps.settings.program.coordinators
    }
    return frozenset(keys)


def _decide_proposal(
    session: Session,
    deps: Deps,
    msg: Inbound,
    verdict: Verdict,
    cmd: CommandRow,
    now: datetime,
    line: str,
) -> Outcome:
    """APPROVE or REDO the newest open proposal whose signed key the reply carries."""
    name = CommandName(cmd.name)
    what = name.value.upper()
    open_rows = list(
        session.scalars(select(Proposal).where(Proposal.state == "proposed").order_by(Proposal.id))
    )
    why = "no proposal is waiting for a decision"
    for row in reversed(open_rows):
        ok, why = coordinator_may_act(
            msg,
            verdict,
            frozenset(deps.settings.program.coordinators),
            _proposal_tokens(deps, row),
            deps.settings.imap.authserv_ids,
        )
        if not ok:
            continue
        if name is CommandName.APPROVE:
            pairs = approve(session, deps, row, msg.from_addr, now)
            detail = (
                f"proposal {row.id} for {row.round_name} approved: {len(pairs)} pairs introduced"
            )
        else:
            new = redo(session, deps, row, msg.from_addr, now)
            detail = f"proposal {row.id} set aside; new proposal {new.id if new else '-'} sent"
        cmd.state = "done"
        return Outcome(line or what, what, detail, True)
    cmd.state = "refused"
    return Outcome(line or what, what, why, False)


def _lines(msg: Inbound, verdict: Verdict) -> tuple[ReplyLine, ...]:
    """The reply's lines; the first command among them is the one the classifier recorded."""
    first = verdict.command
    today = msg.date.date() if msg.date else None
    lines = read_reply(msg.subject, msg.text, today=today)
    found = next((line.command for line in lines if line.command is not None), None)
    if first is not None and (
        found is None or (found.name, found.text) != (first.name, first.text)
    ):
        return (ReplyLine(first.text, first),)  # read otherwise than the classifier: its own
    return lines


def act(
    session: Session,
    deps: Deps,
    msg: Inbound,
    verdict: Verdict,
    cmd: CommandRow,
    now: datetime,
) -> str:
    """Carry out every command of a coordinator's reply inside the inbound transaction (`cmd`
    is the first, already recorded); one confirmation; returns what happened, in short."""
    outcomes: list[Outcome] = []
    row: CommandRow | None = cmd
    for line in _lines(msg, verdict):
        if line.command is None:
            outcomes.append(not_a_command(line.text))
            continue
        if row is None:  # the reply's second and later commands
            row = CommandRow(
                inbound_id=cmd.inbound_id,
                person_id=cmd.person_id,
                sender=cmd.sender,
                name=line.command.name.value,
                args=dict(line.command.args),
                state="recorded",
                created_at=now,
            )
            session.add(row)
            session.flush()
        if line.command.name in (CommandName.APPROVE, CommandName.REDO):
            outcome = _decide_proposal(session, deps, msg, verdict, row, now, line.text)
        else:
            outcome = coordinator_commands.carry_out(
                session, deps, msg, verdict, row, now, line.text
            )
        outcomes.append(outcome)
        row = None
    confirm_reply(session, deps, msg, cmd, outcomes, now)
    commands = [o for o in outcomes if o.action]
    if len(outcomes) == 1:
        only = outcomes[0]
        return only.detail if only.done else f"refused: {only.detail}"
    done = sum(o.done for o in commands)
    return (
        f"{len(commands)} command(s) in one reply: {done} done, {len(commands) - done} refused, "
        f"{len(outcomes) - len(commands)} line(s) not commands"
    )
