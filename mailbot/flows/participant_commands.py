"""Whether and how a participant's command runs: the gate in front of `flows.command_handlers`.

Decides, inside the inbound transaction, before anything changes:
- a reply to a request waiting for the person's confirmation (`flows.confirmations`) settles
  that request first (`settle_request`, `settle_reply`);
- a state-changing command (WITHDRAW, PAUSE, RESUME, REMATCH, CONTINUE, DELETE MY DATA) is held
  when `domain.confirmations.mode` says it must wait: its sender could not be verified (DMARC
  failing for the From domain and no signed key of theirs — a forged From changes nothing and
  tells no partner; the real address is asked), or it cannot be undone (WITHDRAW, DELETE MY
  DATA; REMATCH read from a sentence). Confirmed, it is carried out (`carry_out`) as if it had
  just arrived; the acknowledgement answers the confirming reply;
- `carry_out` runs the command's handler (`command_handlers.HANDLERS`; DELETE MY DATA is
  `flows.erasure`) and answers with `command_ack` in the person's language.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailbot.domain.confirmations import (
    STATE_CHANGING,
    Mode,
    Settle,
    expired,
    mode,
    settle,
    verified,
)
from mailbot.domain.model import CommandName, Inbound, Verdict
from mailbot.edges.tables import CommandRow, Person
from mailbot.flows import confirmations
from mailbot.flows.command_handlers import HANDLERS
from mailbot.flows.erasure import delete_my_data
from mailbot.flows.letters import notify

if TYPE_CHECKING:
    from mailbot.deps import Deps


def ack_context(command: str, outcomes: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """The `command_ack` context beyond the BASE keys (contract: `CommandAckMail`, contexts/)."""
    return {
        "command": command,
        "outcomes": outcomes,
        "days": None,
        "paused_until": None,
        "partner_names": [],
        "new_partner_names": [],
        "next_round": None,
        "by_coordinators": False,
    } | extra


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
    """Carry out `cmd` for `person` in the inbound transaction, or hold it for their
    confirmation (`domain.confirmations`); a reply to a request settles that request first.
    Answers when `may_answer`."""
    name = CommandName(cmd.name)
    request = confirmations.answered(session, person, verdict)
    if request is not None:
        note = settle_request(session, deps, msg, request, person, now, may_answer, cmd, name)
        if note:
            return note
    if name is CommandName.DELETE_MY_DATA:  # always confirmed: by its code, or a reply
        return delete_my_data(session, deps, msg, cmd, person, now, may_answer)
    if name in STATE_CHANGING:
        trusted, why = verified(
            msg,
            verdict,
            person.id,
            deps.settings.imap.authserv_ids,
            confirmations.waiting_ids(session, person, verdict),
        )
        sentence = verdict.command is not None and verdict.command.sentence
        waiting = mode(name, sentence=sentence, trusted=trusted)
        if waiting is Mode.YES and name is CommandName.WITHDRAW and person.status == "withdrawn":
            waiting = None  # gone already: at most a wish for the next round is dropped
        if waiting is not None:
            note = confirmations.ask(session, deps, msg, cmd, person, waiting, now, may_answer)
            return note if trusted else f"{note} ({why})"
    return carry_out(session, deps, msg, cmd, person, now, may_answer)


def carry_out(
    session: Session,
    deps: Deps,
    msg: Inbound,
    cmd: CommandRow,
    person: Person,
    now: datetime,
    may_answer: bool,
    *,
    confirmed: bool = False,
) -> str:
    """Do what `cmd` asks, now; the acknowledgement answers `msg`."""
    name = CommandName(cmd.name)
    if name is CommandName.DELETE_MY_DATA:
        return delete_my_data(session, deps, msg, cmd, person, now, may_answer, confirmed)
    handler = HANDLERS.get(name)
    if handler is None:
        return "recorded (no action for this command)"
    result = handler(session, deps, cmd, person, now)
    if cmd.state in ("recorded", confirmations.WAITING):
        cmd.state = result.state
    if may_answer and result.template:
        notify(
            session,
            deps,
            f"cmd:{cmd.id}:ack",
            person,
            result.template,
            ack_context(name.value, result.outcomes, result.extra),
            now,
            automatic_answer=True,
            in_reply_to=msg.message_id,
        )
    return f"{name.value}: {result.note}"


def settle_request(
    session: Session,
    deps: Deps,
    msg: Inbound,
    request: CommandRow,
    person: Person,
    now: datetime,
    may_answer: bool,
    reply_cmd: CommandRow | None = None,
    said: CommandName | None = None,
) -> str:
    """A reply to `request` (waiting for confirmation): confirm it, cancel it, or "" when the
    reply is to be read as any other message. `said` is the command the reply was read as."""
    what = CommandName(request.name)
    if expired(request.created_at, now):
        request.state = "expired"
        outcome, note = ["confirmation_expired"], f"{what.value.upper()} {request.id}: too late"
    else:
        waiting = Mode(str(request.args.get("confirm") or Mode.YES.value))
        decision = settle(waiting, what, said, msg.text)
        if decision is Settle.NOTHING:
            return ""
        if reply_cmd is not None:
            reply_cmd.state = "done"
        if decision is Settle.CONFIRM:
            request.state = "recorded"
            done = carry_out(session, deps, msg, request, person, now, may_answer, confirmed=True)
            if reply_cmd is not None and person not in session:  # erased: keep no trace
                reply_cmd.sender, reply_cmd.person_id = "", None
            return f"confirmed {what.value.upper()} {request.id}: {done}"
        request.state = confirmations.CANCELLED
        outcome, note = ["cancelled"], f"{what.value.upper()} {request.id} cancelled by the person"
    if reply_cmd is not None and reply_cmd.state == "recorded":
        reply_cmd.state = "refused"
    if may_answer:
        notify(
            session,
            deps,
            f"cmd:{request.id}:{outcome[0]}",
            person,
            "command_ack",
            ack_context(what.value, outcome, {}),
            now,
            automatic_answer=True,
            in_reply_to=msg.message_id,
        )
    return note


def settle_reply(
    session: Session,
    deps: Deps,
    msg: Inbound,
    verdict: Verdict,
    person: Person,
    now: datetime,
    may_answer: bool,
) -> str:
    """A reply that is not a command, to a request of `person` waiting for confirmation:
    "" when it answers none, or says neither yes nor no (it is then read as any message)."""
    request = confirmations.answered(session, person, verdict)
    if request is None:
        return ""
    return settle_request(session, deps, msg, request, person, now, may_answer)
