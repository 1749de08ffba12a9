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
- REMATCH pairs a partner left alone (their pair ended because everyone else withdrew or was
  deleted) with another such partner of the same round (`flows.rematch.standby`); a person
  still in a running pair, or when nobody is free, leaves the command `recorded` for the
  coordinators' digest.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.commands import days_to
from mailbot.domain.ladder import paused_at
from mailbot.domain.model import CommandName, Inbound, Verdict
from mailbot.edges.tables import CommandRow, NudgeRow, PairMember, Person, RoundRow
from mailbot.flows import rounds
from mailbot.flows.enrolment import enrol_next_round
from mailbot.flows.erasure import delete_my_data
from mailbot.flows.letters import notify
from mailbot.flows.pairs import latest_round, partners, running_pair
from mailbot.flows.pausing import local_date, pause
from mailbot.flows.rematch import is_alone, leave_pair, rematch, standby

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
    "rematch_waiting",  # alone, but nobody free yet: the coordinators see the request
    "rematch_requested",  # still in a running pair: passed to the coordinators
    "continue_noted",  # wants the next round (`next_round` or None when none is planned)
    "application_kept",  # an application for that round exists (copied or already there)
    "in_touch_noted",  # IN TOUCH / YES: counted as contact
    "silent_flagged",  # SILENT / NO: the coordinators will look at the pair
    "not_in_a_pair",  # a pair signal or REMATCH from someone with no partnership
    "not_allowed",  # a participant tried a coordinator's form (PAUSE <someone else>)
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
    if running_pair(session, person.id) is not None:
        return Result(
            ["rematch_requested"], "still in a running pair: for the coordinators", state="recorded"
        )
    round_name = latest_round(session, person.id)
    round_row = (
        session.scalar(select(RoundRow).where(RoundRow.name == round_name)) if round_name else None
    )
    if round_row is None or round_row.ends_at <= now:
        return Result(["not_in_a_pair"], "no partnership in a running round")
    if not is_alone(session, person, round_row.name):
        return Result(
            ["rematch_requested"], "pair closed by the coordinators: for them", state="recorded"
        )
    other = standby(session, deps, person, round_row.name, now)
    if other is None:
        return Result(
            ["rematch_waiting"], "nobody free yet: recorded for the coordinators", state="recorded"
        )
    cmd.state = "done"
    pair = rematch(session, deps, person, other, round_row.name, now)
    return Result(
        ["rematched"],
        f"rematched: new pair {pair.id}",
        {"new_partner_names": [other.name]},
    )


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


# DELETE MY DATA is not here: it answers in its own way (`flows.erasure.delete_my_data`).
HANDLERS: dict[CommandName, Handler] = {
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
    """Carry out `cmd` for `person` in the inbound transaction; answer when `may_answer`."""
    del verdict
    name = CommandName(cmd.name)
    if name is CommandName.DELETE_MY_DATA:
        return delete_my_data(session, deps, msg, cmd, person, now, may_answer)
    handler = HANDLERS.get(name)
    if handler is None:
        return "recorded (no action for this command)"
    result = handler(session, deps, cmd, person, now)
    if cmd.state == "recorded":
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
