"""Participant commands act: PAUSE, RESUME, WITHDRAW, REMATCH, CONTINUE, DELETE MY DATA, and
the one-word answers IN TOUCH / YES (a pair signal) and SILENT / NO (a flag for coordinators).

Decides, inside the inbound transaction, what each command changes and who hears about it;
`HANDLERS` is the table, one handler a command:
- the sender gets `command_ack` in their language with `outcomes`, a list of codes
  (`OUTCOME_CODES`) the templates turn into sentences (DELETE MY DATA, `flows.erasure`,
  answers with `delete_confirm` and, once done, `data_deleted` instead);
- partners of a running pair (state active|paused) are told of a pause (`partner_paused`), its
  early end (`partner_resumed`), a withdrawal (`partner_withdrew`) or a deletion
  (`partner_left`, which names nobody);
- REMATCH takes the person out of their running pair into the round's waiting pool
  (`flows.rematch.request_rematch`): paired at once when someone fits, else waiting for one —
  never left for the coordinators.
Before any of it, `act` settles a reply to a request waiting for the person's confirmation
(`flows.confirmations`), and holds a state-changing command (WITHDRAW, PAUSE, RESUME, REMATCH,
CONTINUE, DELETE MY DATA) when `domain.confirmations.mode` says it must wait: its sender could
not be verified (DMARC failing for the From domain and no signed key of theirs — a forged
From changes nothing and tells no partner; the real address is asked), or it cannot be undone
(WITHDRAW, DELETE MY DATA; REMATCH read from a sentence). Confirmed, it is carried out
(`carry_out`) as if it had just arrived; the acknowledgement answers the confirming reply.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.commands import days_to
from mailbot.domain.confirmations import (
    STATE_CHANGING,
    Mode,
    Settle,
    expired,
    mode,
    settle,
    verified,
)
from mailbot.domain.ladder import paused_at
from mailbot.domain.model import CommandName, Inbound, Verdict
from mailbot.edges.tables import CommandRow, NudgeRow, PairMember, Person
from mailbot.flows import confirmations, rounds
from mailbot.flows.enrolment import enrol_next_round
from mailbot.flows.erasure import delete_my_data
from mailbot.flows.export import export_my_data
from mailbot.flows.letters import notify
from mailbot.flows.pairs import partners, running_pair
from mailbot.flows.pausing import local_date, pause
from mailbot.flows.rematch import leave_pair, request_rematch

if TYPE_CHECKING:
    from mailbot.deps import Deps

# What `command_ack` can say; every code is a sentence in templates/{en,fr,es}/command_ack.
OUTCOME_CODES = (
    "paused_until_date",  # paused until `paused_until` (by the person or `by_coordinators`)
    "resumed",  # a running pause ended early
    "not_paused",  # RESUME with no pause running
    "withdrawn",  # left the round
    "already_withdrawn",  # nothing to change: they left already
    "partner_told",  # the partner(s) in `partner_names` were told
    "rematched",  # a new partnership with `new_partner_names`; introduction sent
    "rematch_waiting",  # in the waiting pool: introduced as soon as someone fits
    "rematch_requested",  # (no longer sent: REMATCH never goes to the coordinators)
    "continue_noted",  # wants the next round (`next_round` or None when none is planned)
    "application_kept",  # an application for that round exists (copied or already there)
    "in_touch_noted",  # IN TOUCH / YES: counted as contact
    "silent_flagged",  # SILENT / NO: the coordinators will look at the pair
    "not_in_a_pair",  # a pair signal or REMATCH from someone with no partnership
    "not_allowed",  # a participant tried a coordinator's form (PAUSE <someone else>)
    "cancelled",  # they answered NO to a request waiting for their confirmation
    "confirmation_expired",  # they confirmed too late (domain.confirmations.CONFIRM_DAYS)
)


@dataclass
class Result:
    """What a handler did: the `command_ack` outcomes and context, the note for the inbound
    row, and the command's state when it was still `recorded`."""

    outcomes: list[str]
    note: str
    extra: dict[str, Any] = field(default_factory=dict)
    state: str = "done"
    template: str = "command_ack"  # "" → no answer (already sent, or nothing to say)


class Handler(Protocol):
    def __call__(
        self, session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime
    ) -> Result: ...


def _pause(session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime) -> Result:
    if person.status == "withdrawn":
        return Result(["already_withdrawn"], "not paused: withdrawn")
    target = cmd.args.get("address")
    if target and str(target).lower() != person.email.lower():
        return Result(["not_allowed"], "refused: PAUSE for someone else is for coordinators")
    days = int(cmd.args.get("days") or 14)
    if until := cmd.args.get("until"):  # "PAUSE until 15 March": to that date, from now
        days = days_to(date.fromisoformat(str(until)), now.date())
    told = pause(session, deps, person, days, now, str(cmd.id))
    if person.paused_until is None:
        raise RuntimeError(f"PAUSE {cmd.id}: person {person.id} was paused without an end")
    outcomes = ["paused_until_date"] + (["partner_told"] if told else [])
    until = local_date(deps, person, person.paused_until)
    return Result(
        outcomes,
        f"paused {days} days until {until}; {len(told)} partner(s) told",
        {"days": days, "paused_until": until, "partner_names": [p.name for p in told]},
    )


def _resume(session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime) -> Result:
    if person.status == "withdrawn":
        return Result(["already_withdrawn"], "not resumed: withdrawn")
    running = paused_at(person.status, person.paused_until, now)
    was_paused = person.status == "paused"
    person.status, person.updated_at = "active", now
    if running:
        # The pause ends now, not never: the silence clock restarts here (ladder.member_signal),
        # as when a pause runs out by itself; an ended pause keeps its end for the same reason.
        person.paused_until = now
    if not running:
        return Result(["not_paused"], "not paused" + (" (pause had ended)" if was_paused else ""))
    pair = running_pair(session, person.id)
    told = partners(session, pair.id, person.id) if pair else []
    for partner in told:
        notify(
            session,
            deps,
            f"resumed:{cmd.id}:{partner.id}",
            partner,
            "partner_resumed",
            {"partner_name": person.name},
            now,
        )
    return Result(
        ["resumed"] + (["partner_told"] if told else []),
        f"resumed; {len(told)} partner(s) told",
        {"partner_names": [p.name for p in told]},
    )


def _withdraw(
    session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime
) -> Result:
    if person.status == "withdrawn":
        if person.wants_next_round:  # a CONTINUE since they left: that is withdrawn too
            person.wants_next_round, person.updated_at = False, now
            return Result(["already_withdrawn"], "already withdrawn; next round cancelled")
        # nothing to act on: not a withdrawal to report again
        return Result(["already_withdrawn"], "already withdrawn", state="refused")
    told = leave_pair(session, deps, person, now, str(cmd.id))
    person.status, person.paused_until, person.updated_at = "withdrawn", None, now
    person.wants_next_round = False  # a CONTINUE before this no longer stands
    for asked in session.scalars(  # nor does a REMATCH waiting for the coordinators
        select(CommandRow).where(
            CommandRow.person_id == person.id,
            CommandRow.name == CommandName.REMATCH.value,
            CommandRow.state == "recorded",
        )
    ):
        asked.state = "refused"
    return Result(
        ["withdrawn"] + (["partner_told"] if told else []),
        f"withdrawn; {len(told)} partner(s) told and offered REMATCH",
        {"partner_names": [p.name for p in told]},
    )


def _rematch(
    session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime
) -> Result:
    if person.status == "withdrawn":
        return Result(["already_withdrawn"], "not rematched: withdrawn")
    # Out of a running pair, into the round's waiting pool: paired now, or waiting (never
    # refused, never left for the coordinators) — flows.rematch.request_rematch.
    outcome, names = request_rematch(session, deps, person, now)
    if outcome == "rematched":
        return Result(
            ["rematched"], f"rematched with {', '.join(names)}", {"new_partner_names": names}
        )
    if outcome == "rematch_waiting":
        return Result(["rematch_waiting"], "waiting in the pool for a partner who fits")
    return Result(["not_in_a_pair"], "no partnership in a running round")


def _continue(
    session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime
) -> Result:
    target, kept = enrol_next_round(session, person, now)
    outcomes = ["continue_noted", *(["application_kept"] if kept else [])]
    nxt = rounds.round_context(deps, target)
    name = target.name if target else ""
    return Result(
        outcomes,
        f"wants the next round ({name or 'none planned yet'})"
        + ("; application copied" if kept else ""),
        {"next_round": {"name": nxt["name"], "opens": nxt["opens"]} if nxt else None},
    )


def _in_touch(
    session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime
) -> Result:
    pair = running_pair(session, person.id)
    if pair is None:
        return Result(["not_in_a_pair"], "no running pair: nothing to count")
    pair.last_checkin_answer_at = now
    member = session.scalar(
        select(PairMember).where(PairMember.pair_id == pair.id, PairMember.person_id == person.id)
    )
    if member is not None and (member.last_wrote_at is None or member.last_wrote_at < now):
        member.last_wrote_at = now
    return Result(["in_touch_noted"], f"pair {pair.id}: in touch (counts as contact)")


def _silent(session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime) -> Result:
    pair = running_pair(session, person.id)
    if pair is None:
        return Result(["not_in_a_pair"], "no running pair: nothing to flag")
    pair.flagged_at = now
    session.add(
        NudgeRow(
            key=f"silent_reported:{pair.id}:{cmd.id}",
            pair_id=pair.id,
            person_id=None,
            kind="silent_reported",
            at=now,
        )
    )
    return Result(["silent_flagged"], f"pair {pair.id}: partner reported silent, flagged")


def _export(session: Session, deps: Deps, cmd: CommandRow, person: Person, now: datetime) -> Result:
    # The export is its own answer (`flows.export`), to the address on record only.
    return Result([], export_my_data(session, deps, person, now), template="")


# DELETE MY DATA is not here: it answers in its own way (`flows.erasure.delete_my_data`).
HANDLERS: dict[CommandName, Handler] = {
    CommandName.EXPORT_MY_DATA: _export,
    CommandName.PAUSE: _pause,
    CommandName.RESUME: _resume,
    CommandName.WITHDRAW: _withdraw,
    CommandName.REMATCH: _rematch,
    CommandName.CONTINUE: _continue,
    CommandName.IN_TOUCH: _in_touch,
    CommandName.YES: _in_touch,
    CommandName.SILENT: _silent,
    CommandName.NO: _silent,
}


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
