"""Participant commands act: PAUSE, RESUME, WITHDRAW, REMATCH, CONTINUE, DELETE MY DATA, and
the one-word answers IN TOUCH / YES (a pair signal) and SILENT / NO (a flag for coordinators).

Decides, inside the inbound transaction, what each command changes and who hears about it:
- the sender gets `command_ack` in their language with `outcomes`, a list of codes
  (`OUTCOME_CODES`) the templates turn into sentences (DELETE MY DATA answers with
  `delete_confirm` and, once done, `data_deleted` instead);
- partners of a running pair (state active|paused) are told of a pause (`partner_paused`), its
  early end (`partner_resumed`), a withdrawal (`partner_withdrew`) or a deletion
  (`partner_left`, which names nobody);
- REMATCH pairs a partner left alone (their pair ended because everyone else withdrew or was
  deleted) with another such partner of the same round, from another country and never paired
  with them before or blocked (`standby`); a person still in a running pair, or when nobody is
  free, leaves the command `recorded` for the coordinators' digest.
Every mail is an outbox row with a unique key, written in the caller's transaction.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, String, Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from mailbot.domain import matching as engine
from mailbot.domain.commands import days_to
from mailbot.domain.ladder import paused_at
from mailbot.domain.model import CommandName, Inbound, Outgoing, Verdict
from mailbot.edges.tables import (
    Application,
    Base,
    BlockedPair,
    BounceEvent,
    CommandRow,
    DeletionEvent,
    InboundRow,
    NudgeRow,
    Outbox,
    Pair,
    PairMember,
    Person,
    RoundRow,
)
from mailbot.flows import matching, rounds
from mailbot.flows.letters import language as _language
from mailbot.flows.letters import notify, program_context
from mailbot.flows.outbox import enqueue
from mailbot.flows.pairs import RUNNING, members, partners, running_pair

if TYPE_CHECKING:
    from mailbot.deps import Deps

ENDED = "ended"  # the pair stopped because members left (or a coordinator rematched it)

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


# --------------------------------------------------------------------------- look-ups


def _engaged(person: Person, now: datetime) -> bool:
    if person.status == "withdrawn" or person.bouncing:
        return False
    return not paused_at(person.status, person.paused_until, now)


def local_date(deps: Deps, person: Person, at: datetime) -> str:
    try:
        zone = ZoneInfo(person.timezone) if person.timezone else deps.settings.zone
    except (KeyError, ValueError):
        zone = deps.settings.zone
    return at.astimezone(zone).date().isoformat()


def round_ctx(deps: Deps, session: Session, round_name: str) -> dict[str, str]:
    row = session.scalar(select(RoundRow).where(RoundRow.name == round_name))
    ctx = rounds.round_context(deps, row)
    return ctx if ctx is not None else {"name": round_name, "end": ""}


# --------------------------------------------------------------------------- shared actions


def pause(
    session: Session, deps: Deps, person: Person, days: int, now: datetime, key: str
) -> list[Person]:
    """Pause `person` for `days`; tell the partners of their running pair. Returns them."""
    person.status = "paused"
    person.paused_until = now + timedelta(days=days)
    person.updated_at = now
    pair = running_pair(session, person.id)
    told = partners(session, pair.id, person.id) if pair else []
    for partner in told:
        notify(
            session,
            deps,
            f"paused:{key}:{partner.id}",
            partner,
            "partner_paused",
            {
                "partner_name": person.name,
                "paused_until": local_date(deps, partner, person.paused_until),
            },
            now,
        )
    return told


def leave_pair(
    session: Session,
    deps: Deps,
    person: Person,
    now: datetime,
    key: str,
    template: str = "partner_withdrew",
) -> list[Person]:
    """`person` leaves their running pair (ended when fewer than two stay, else it goes on);
    the ones who stay are told with `template` and offered REMATCH. Returns them."""
    pair = running_pair(session, person.id)
    if pair is None:
        return []
    stay = partners(session, pair.id, person.id)
    if len(stay) < 2:
        pair.state, pair.ended_at = ENDED, now
    rctx = round_ctx(deps, session, pair.round_name)
    for partner in stay:
        extra: dict[str, Any] = {
            "still_with": [p.name for p in stay if p.id != partner.id],
            "round": rctx,
        }
        if template == "partner_withdrew":
            extra["partner_name"] = person.name
        notify(session, deps, f"left:{key}:{partner.id}", partner, template, extra, now)
    return stay


def is_alone(session: Session, person: Person, round_name: str) -> bool:
    """True when `person` has no running pair in the round and a pair of theirs in it ended
    because everyone else withdrew or was deleted: the standby pool."""
    rows = list(
        session.scalars(
            select(Pair)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(PairMember.person_id == person.id, Pair.round_name == round_name)
        )
    )
    if any(p.state in RUNNING for p in rows):
        return False
    return any(
        p.state == ENDED
        and all(o.status == "withdrawn" for m, o in members(session, p.id) if o.id != person.id)
        for p in rows
    )


def _previous_partners(session: Session, person_id: int) -> set[int]:
    mine = select(PairMember.pair_id).where(PairMember.person_id == person_id)
    seen = set(session.scalars(select(PairMember.person_id).where(PairMember.pair_id.in_(mine))))
    for a, b in session.execute(
        select(BlockedPair.person_a, BlockedPair.person_b).where(
            or_(BlockedPair.person_a == person_id, BlockedPair.person_b == person_id)
        )
    ):
        seen |= {a, b}
    seen.discard(person_id)
    return seen


def _application(session: Session, person_id: int, round_name: str) -> Application | None:
    return session.scalar(
        select(Application)
        .where(Application.person_id == person_id)
        .order_by((Application.round_name == round_name).desc(), Application.submitted_at.desc())
        .limit(1)
    )


def standby(
    session: Session, deps: Deps, person: Person, round_name: str, now: datetime
) -> Person | None:
    """The best partner for `person` among those left alone in the round: engaged, another
    country, never paired with them nor blocked; those who asked REMATCH first, then score."""
    me = _application(session, person.id, round_name)
    if me is None:
        return None
    excluded = _previous_partners(session, person.id) | {person.id}
    ids = (
        set(
            session.scalars(
                select(PairMember.person_id)
                .join(Pair, Pair.id == PairMember.pair_id)
                .where(Pair.round_name == round_name, Pair.state == ENDED)
            )
        )
        - excluded
    )
    asked = set(
        session.scalars(
            select(CommandRow.person_id).where(
                CommandRow.name == CommandName.REMATCH.value,
                CommandRow.state == "recorded",
                CommandRow.person_id.in_(ids),
            )
        )
    )
    mine = matching.candidate(person, me, now)
    best: tuple[tuple[bool, float, int], Person] | None = None
    for other in session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)):
        if not _engaged(other, now) or not is_alone(session, other, round_name):
            continue
        app = _application(session, other.id, round_name)
        if app is None:
            continue
        cand = matching.candidate(other, app, now)
        if cand.country == mine.country:
            continue
        score = engine.score(mine, cand, matching.weights(deps))
        rank = (other.id not in asked, -score, other.id)
        if best is None or rank < best[0]:
            best = (rank, other)
    return best[1] if best else None


def rematch(
    session: Session, deps: Deps, a: Person, b: Person, round_name: str, now: datetime
) -> Pair:
    """A new pair of `a` and `b` in the round, introduced as approved pairs are; REMATCH
    requests of either are done."""
    apps = {p.id: _application(session, p.id, round_name) for p in (a, b)}
    assert all(apps.values())
    cand = {p.id: matching.candidate(p, apps[p.id], now) for p in (a, b)}  # type: ignore[arg-type]
    lo, hi = sorted((a.id, b.id))
    reason = engine.explain(cand[lo], cand[hi], matching.weights(deps))
    data = matching.payload(
        engine.Proposal(
            pairs=(engine.Pair(members=(lo, hi), score=reason.score, reasons=(reason,)),),
            left=(),
            total_score=reason.score,
        ),
        [],
    )["pairs"][0]
    pair = Pair(
        round_name=round_name,
        state="active",
        score=reason.score,
        reasons={"reasons": data["reasons"], "third": None, "rematch": True},
        created_at=now,
    )
    session.add(pair)
    session.flush()
    for p in (a, b):
        session.add(PairMember(pair_id=pair.id, person_id=p.id))
    for cmd in session.scalars(
        select(CommandRow).where(
            CommandRow.person_id.in_([a.id, b.id]),
            CommandRow.name == CommandName.REMATCH.value,
            CommandRow.state == "recorded",
        )
    ):
        cmd.state = "done"
    round_row = session.scalar(select(RoundRow).where(RoundRow.name == round_name))
    assert round_row is not None
    matching.introduce(session, deps, pair, [a, b], apps, round_row, data, now)  # type: ignore[arg-type]
    return pair


# --------------------------------------------------------------------------- deletion


def _needles(address: str, name: str) -> list[str]:
    out = {address.lower()}
    if len(name.strip()) >= 2:
        for n in (name, name.lower()):
            out |= {n.lower(), json.dumps(n)[1:-1].lower()}
    return sorted(out)


class _Scrubber:
    """Removes an address and a name from strings, lists and dicts (JSON values)."""

    MARK = "[deleted]"

    def __init__(self, address: str, name: str) -> None:
        self.address = address.lower()
        # Whole addresses only: ana@example.net is not inside diana@example.net nor inside
        # maria.ana@example.net (a letter before the dot), but is in a Message-ID such as
        # <1768204800.ana@example.net>, which names her.
        parts = [r"(?<![\w%+-])(?<![^\W\d]\.)" + re.escape(address) + r"(?![\w-]|\.\w)"]
        if len(name.strip()) >= 2:
            parts.append(r"(?<!\w)" + re.escape(name.strip()) + r"(?!\w)")
        self.pattern = re.compile("|".join(parts), re.IGNORECASE)
        self.name = name.strip().lower()

    def is_them(self, value: Any) -> bool:
        return isinstance(value, str) and value.strip().lower() in (self.address, self.name)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return "" if self.is_them(value) else self.pattern.sub(self.MARK, value)
        if isinstance(value, list):
            return [self(v) for v in value if not self.is_them(v)]
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items() if not self.is_them(k)}
        return value


def _scan_columns(model: type[Any]) -> list[Any]:
    """The columns of a mapped table that can hold an address or a name: text and JSON."""
    return [c for c in model.__table__.columns if isinstance(c.type, String | JSON)]


def erase(
    session: Session, deps: Deps, person: Person, now: datetime, key: str
) -> tuple[list[Person], DeletionEvent]:
    """Remove `person` and every trace of their address and name; returns the partners who stay
    (told with `partner_left`, which names nobody) and the DeletionEvent."""
    address, name = person.email.lower(), person.name
    stay = leave_pair(session, deps, person, now, key, template="partner_left")
    session.flush()
    coordinators = {c.lower() for c in deps.settings.program.coordinators}
    # Mail to them alone (sent or not) goes; their bounce record goes; the person row goes and
    # takes applications, pair membership, nudges and blocks with it (ON DELETE CASCADE).
    for row in session.scalars(select(Outbox).where(Outbox.primary_to == address)):
        if all(a.lower() == address for a in [*row.to, *row.cc]):
            session.delete(row)
    session.execute(delete(BounceEvent).where(BounceEvent.address == address))
    session.flush()
    session.execute(delete(Person).where(Person.id == person.id))
    # Everything else that still names them, in any table: scrubbed, or (mail not yet sent to
    # someone else about them) dropped as stale.
    scrub = _Scrubber(address, name)
    needles = _needles(address, name)
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if model is Person:
            continue
        cols = _scan_columns(model)
        if not cols:
            continue
        cond = or_(
            *(
                func.lower(cast(getattr(model, c.key), Text)).contains(n, autoescape=True)
                for c in cols
                for n in needles
            )
        )
        # The query finds substrings (cheap, in SQL); the scrubber decides on whole words.
        for obj in list(session.scalars(select(model).where(cond))):
            cleaned = {c.key: scrub(getattr(obj, c.key)) for c in cols}
            changed = {k: v for k, v in cleaned.items() if v != getattr(obj, k)}
            if not changed:
                continue  # "Diana", "Canada": someone else's, left alone
            if (
                isinstance(obj, Outbox)
                and obj.status == "pending"
                and not {a.lower() for a in obj.to} & coordinators
            ):
                session.delete(obj)
                continue
            for k, v in changed.items():
                setattr(obj, k, v)
    event = DeletionEvent(at=now)
    session.add(event)
    session.flush()
    return stay, event


# --------------------------------------------------------------------------- the commands


@dataclass
class Result:
    outcomes: list[str]
    note: str
    extra: dict[str, Any] = field(default_factory=dict)
    state: str = "done"
    template: str = "command_ack"  # "" → no answer (already sent, or nothing to say)


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
    assert person.paused_until is not None
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


def _latest_round(session: Session, person_id: int) -> str | None:
    return session.scalar(
        select(Pair.round_name)
        .join(PairMember, PairMember.pair_id == Pair.id)
        .where(PairMember.person_id == person_id)
        .order_by(Pair.id.desc())
        .limit(1)
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
    round_name = _latest_round(session, person.id)
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


def enrol_next_round(
    session: Session, person: Person, now: datetime
) -> tuple[RoundRow | None, bool]:
    """Mark `person` for the next round and copy their latest application into it (once).

    The target is the round open now if they are not in it, else the next planned one ("" when
    none is planned yet). Returns (that round, whether an application is there for it)."""
    # Someone who withdrew stays withdrawn for this round (their old partner may be waiting
    # for a new one); the next round's matching takes them back, and APPROVE makes them active.
    person.wants_next_round, person.updated_at = True, now
    current = rounds.open_round(session, now)
    mine = _latest_round(session, person.id)
    target = current if current is not None and current.name != mine else None
    target = target or rounds.next_round(session, now)
    name = target.name if target else ""
    latest = session.scalar(
        select(Application)
        .where(Application.person_id == person.id)
        .order_by(Application.submitted_at.desc())
        .limit(1)
    )
    if latest is None:
        return target, False
    exists = session.scalar(
        select(Application.id).where(
            Application.person_id == person.id, Application.round_name == name
        )
    )
    if exists is None:
        session.add(
            Application(
                person_id=person.id,
                round_name=name,
                fields=dict(latest.fields),
                status="valid",
                status_reason="CONTINUE",
                submitted_at=now,
                updated_at=now,
            )
        )
    return target, True


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


HANDLERS = {
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
    """The `command_ack` context beyond the BASE keys (see mailbot/samples_commands.py)."""
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


def _delete(
    session: Session,
    deps: Deps,
    msg: Inbound,
    cmd: CommandRow,
    person: Person,
    now: datetime,
    may_answer: bool,
) -> str:
    given = str(cmd.args.get("token") or "").strip().lower()
    if not (given and person.delete_token and hmac.compare_digest(given, person.delete_token)):
        # A wrong code gets a new one (no guessing); asking again keeps the code already sent,
        # so replying to the first confirmation still works.
        if given or not person.delete_token:
            person.delete_token, person.updated_at = secrets.token_hex(4), now
        if may_answer:
            notify(
                session,
                deps,
                f"cmd:{cmd.id}:delete_confirm",
                person,
                "delete_confirm",
                {"token": person.delete_token, "token_wrong": bool(given)},
                now,
                automatic_answer=True,
                in_reply_to=msg.message_id,
            )
        return ("wrong deletion code: " if given else "") + "confirmation code sent"
    address, language = person.email, _language(deps, person)
    row = session.get(InboundRow, cmd.inbound_id)
    stay, event = erase(session, deps, person, now, f"del{cmd.id}")
    if row is not None:
        row.from_addr, row.person_id = "", None
    cmd.sender, cmd.person_id, cmd.state = "", None, "done"
    if may_answer:
        # The one mail we still send them: their address in the outbox row, nothing else.
        enqueue(
            session,
            deps,
            Outgoing(
                key=f"deleted:{event.id}",
                to=(address,),
                template="data_deleted",
                language=language,
                context={
                    "program": program_context(deps),
                    "recipient_name": "",
                    "names": {},
                    "person_id": 0,
                },
            ),
            now,
            automatic_answer=True,
        )
    return f"personal data deleted (deletion {event.id}); {len(stay)} partner(s) told"


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
        return _delete(session, deps, msg, cmd, person, now, may_answer)
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
