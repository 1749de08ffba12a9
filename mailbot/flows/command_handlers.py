"""What each participant command changes: PAUSE, RESUME, WITHDRAW, REMATCH, CONTINUE, EXPORT
MY DATA, and the one-word pair signals IN TOUCH / YES and SILENT / NO.

`HANDLERS` is the table, one handler a command; each changes the person's state inside the
caller's transaction, tells partners of a running pair (state active|paused) what they must
know (`partner_paused`, `partner_resumed`, `partner_withdrew`), and returns a `Result`: the
`command_ack` outcome codes (`OUTCOME_CODES`) the templates turn into sentences. Whether a
command runs at all (verified sender, confirmation first) is `flows.participant_commands`'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.commands import days_to
from mailbot.domain.ladder import paused_at
from mailbot.domain.model import CommandName
from mailbot.edges.tables import CommandRow, NudgeRow, PairMember, Person
from mailbot.flows import rounds
from mailbot.flows.enrolment import enrol_next_round
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
