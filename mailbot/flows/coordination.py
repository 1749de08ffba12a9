"""Coordinators act by replying: APPROVE or REDO a proposal (later: LIAISE, REMATCH, CLOSE…).

Only a configured coordinator, answering with the signed key of the mail they answer, and not
failing DMARC at our server, changes anything; everyone else changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.auth import coordinator_may_act
from mailbot.domain.model import CommandName, Inbound, Verdict
from mailbot.edges.tables import CommandRow, Proposal
from mailbot.flows import coordinator_commands
from mailbot.flows.approval import approve
from mailbot.flows.coordinator_replies import confirm
from mailbot.flows.proposal import redo

if TYPE_CHECKING:
    from mailbot.deps import Deps


def _proposal_tokens(deps: Deps, row: Proposal) -> frozenset[str]:
    keys = {f"m{row.id}"}
    keys |= {
        tokens.key_digest(f"proposal:{row.id}:{c}") for c in deps.settings.program.coordinators
    }
    return frozenset(keys)


def act(
    session: Session,
    deps: Deps,
    msg: Inbound,
    verdict: Verdict,
    cmd: CommandRow,
    now: datetime,
) -> str:
    """Carry out a coordinator command inside the inbound transaction; returns what happened."""
    name = CommandName(cmd.name)
    coordinators = frozenset(deps.settings.program.coordinators)
    if name in (CommandName.APPROVE, CommandName.REDO):
        open_rows = list(
            session.scalars(
                select(Proposal).where(Proposal.state == "proposed").order_by(Proposal.id)
            )
        )
        why = "no proposal is waiting for a decision"
        for row in reversed(open_rows):
            ok, why = coordinator_may_act(
                msg,
                verdict,
                coordinators,
                _proposal_tokens(deps, row),
                deps.settings.imap.authserv_ids,
            )
            if not ok:
                continue
            if name is CommandName.APPROVE:
                pairs = approve(session, deps, row, msg.from_addr, now)
                detail = (
                    f"proposal {row.id} for {row.round_name} approved: "
                    f"{len(pairs)} pairs introduced"
                )
            else:
                new = redo(session, deps, row, msg.from_addr, now)
                detail = f"proposal {row.id} set aside; new proposal {new.id if new else '-'} sent"
            cmd.state = "done"
            confirm(session, deps, msg, cmd, name.value.upper(), detail, now)
            return detail
        cmd.state = "refused"
        confirm(session, deps, msg, cmd, name.value.upper(), why, now, refused=True)
        return f"refused: {why}"
    return coordinator_commands.act(session, deps, msg, verdict, cmd, now)
