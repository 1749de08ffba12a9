"""Coordinator commands on pairs and people: LIAISE, REMATCH <pair>, CLOSE, PAUSE <address>,
NOTE — each one reply to the digest (or to the coordinators' reply key).

Decides whether a coordinator's command may act and what it changes:
- authentication as for APPROVE (`domain.auth.coordinator_may_act`): a configured coordinator,
  DMARC not failing, and a signed reply key in the To — "c0" (the coordinators' standing key)
  or "d<id>" of any digest that was sent (`accepted_tokens`). Anything else changes nothing;
- LIAISE <pair> <text>: the coordinators' own words go To the silent member (oldest
  `last_wrote_at`), Cc the other member(s) and the pair's tracking address, framed in a language
  they all share (else English) by the `liaise` template. The text stays in the body; headers
  carry no user text. No text: the digest's standard wording (`domain.digest.LIAISE_TEXT`);
- REMATCH <pair>: the active member (newest `last_wrote_at`) gets a partner from the standby
  pool (see `flows.rematch.standby`) and an introduction; the old pair ends. The silent
  member is told nothing and keeps their status (they are not in the standby pool: their pair
  did not end by a withdrawal); with nobody free, nothing changes and the coordinator is told.
  On a trio the two who write most recently go on as a new pair of their own, introduced with
  its tracking address, and the most silent one is told nothing;
- CLOSE <pair>: state "closed", ended_at now; every member gets a short neutral `pair_closed`;
- PAUSE <address> [n days]: as the participant's PAUSE, and the person is told the coordinators
  paused them (`command_ack` with `by_coordinators`);
- NOTE <pair> <text>: a PairNote row.
Each coordinator hears back with `coordinator_action_done` (done, or refused and why).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.auth import coordinator_may_act
from mailbot.domain.digest import LIAISE_TEXT
from mailbot.domain.model import CommandName, Inbound, Outgoing, Verdict
from mailbot.edges.tables import CommandRow, DigestRow, Pair, PairNote, Person
from mailbot.flows import letters, pairs
from mailbot.flows.coordinator_replies import confirm
from mailbot.flows.outbox import enqueue
from mailbot.flows.participant_commands import ack_context
from mailbot.flows.pausing import local_date, pause
from mailbot.flows.rematch import rematch, standby
from mailbot.flows.rounds import round_context_named

if TYPE_CHECKING:
    from mailbot.deps import Deps

COORDINATOR_KEY = "c0"  # payload of the coordinators' standing reply key (+r-c0-…)
_PAIR_ID_RE = re.compile(r"^p?(\d+)$", re.IGNORECASE)


def accepted_tokens(session: Session, deps: Deps) -> frozenset[str]:
    """Reply-key payloads a coordinator command may carry: "c0" and "d<id>" of every digest."""
    del deps
    return frozenset({COORDINATOR_KEY} | {f"d{i}" for i in session.scalars(select(DigestRow.id))})


def _one_line(text: str, limit: int = 2000) -> str:
    return " ".join(str(text).split())[:limit]


def _pair(session: Session, raw: object) -> Pair | None:
    m = _PAIR_ID_RE.match(str(raw or "").strip().lstrip("#"))
    return session.get(Pair, int(m.group(1))) if m else None


class Refused(Exception):
    """A coordinator command that cannot be carried out; the message says why."""


def _members_by_activity(session: Session, pair: Pair) -> list[Person]:
    """Members not withdrawn, the most silent first (never wrote = most silent)."""
    rows = [(m, p) for m, p in pairs.members(session, pair.id) if p.status != "withdrawn"]
    never = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda mp: (mp[0].last_wrote_at or never, mp[0].id))
    return [p for _, p in rows]


def _liaise(session: Session, deps: Deps, cmd: CommandRow, pair: Pair, now: datetime) -> str:
    if pair.state not in pairs.RUNNING:  # its members may have new partners by now
        raise Refused(f"pair {pair.id} is {pair.state}, not running: nobody was written to")
    people = _members_by_activity(session, pair)
    if not people:
        raise Refused(f"pair {pair.id} has nobody left to write to")
    text = str(cmd.args.get("text") or "").strip() or LIAISE_TEXT["quiet"]
    silent, others = people[0], people[1:]
    langs = {p.language for p in people}
    lang = langs.pop() if len(langs) == 1 else "en"
    if lang not in deps.settings.program.languages:
        lang = "en"
    track = letters.tracking_address(deps, pair.id)
    context: dict[str, Any] = letters.base_context(deps, silent) | {
        "names": {p.email: p.name for p in people},
        "text": text,
        "partner_names": [p.name for p in others],
    }
    enqueue(
        session,
        deps,
        Outgoing(
            key=f"liaise:{cmd.id}",
            to=(silent.email,),
            cc=(*(p.email for p in others), track),
            template="liaise",
            language=lang,
            context=context,
            reply_to=",".join([*(p.email for p in people), track]),
        ),
        now,
    )
    return f"LIAISE pair {pair.id}: sent to {silent.name}" + (
        f", copied to {', '.join(p.name for p in others)}" if others else ""
    )


def _rematch(session: Session, deps: Deps, cmd: CommandRow, pair: Pair, now: datetime) -> str:
    if pair.state not in pairs.RUNNING:
        raise Refused(f"pair {pair.id} is {pair.state}, not running")
    people = _members_by_activity(session, pair)
    if not people:
        raise Refused(f"pair {pair.id} has nobody left to rematch")
    if len(people) >= 3:  # a trio: the most silent one leaves; the two who write go on
        silent, (a, b) = people[0], people[-2:]
        pair.state, pair.ended_at = pairs.ENDED, now
        new = rematch(session, deps, a, b, pair.round_name, now)
        return (
            f"REMATCH pair {pair.id}: closed; {a.name} and {b.name} go on as pair {new.id}, "
            f"introduced with its own tracking address. {silent.name} (the most silent) "
            "was told nothing."
        )
    active = people[-1]
    other = standby(session, deps, active, pair.round_name, now)
    if other is None:
        raise Refused(
            f"nobody in round {pair.round_name} is waiting for a partner from another country "
            f"that {active.name} has not been paired with; try again later, or CLOSE {pair.id}"
        )
    pair.state, pair.ended_at = pairs.ENDED, now
    new = rematch(session, deps, active, other, pair.round_name, now)
    return (
        f"REMATCH pair {pair.id}: closed; {active.name} (the one who wrote last) is now in "
        f"pair {new.id} with {other.name}, introduced. "
        f"{', '.join(p.name for p in people[:-1]) or 'Nobody else'} was told nothing."
    )


def _close(session: Session, deps: Deps, cmd: CommandRow, pair: Pair, now: datetime) -> str:
    if pair.state not in pairs.RUNNING:
        raise Refused(f"pair {pair.id} is already {pair.state}")
    pair.state, pair.ended_at = "closed", now
    people = [p for _, p in pairs.members(session, pair.id) if p.status != "withdrawn"]
    round_ctx = round_context_named(deps, session, pair.round_name)
    for person in people:
        letters.notify(
            session,
            deps,
            f"closed:{cmd.id}:{person.id}",
            person,
            "pair_closed",
            {"partner_names": [p.name for p in people if p.id != person.id], "round": round_ctx},
            now,
        )
    return f"CLOSE pair {pair.id}: closed; {len(people)} member(s) told with a short note"


def _note(session: Session, deps: Deps, cmd: CommandRow, pair: Pair, now: datetime) -> str:
    text = str(cmd.args.get("text") or "").strip()
    if not text:
        raise Refused("NOTE needs the text of the note after the pair number")
    session.add(PairNote(pair_id=pair.id, author=cmd.sender, text=text[:4000], at=now))
    return f"NOTE on pair {pair.id} kept"


def _pause(session: Session, deps: Deps, cmd: CommandRow, now: datetime) -> str:
    address = str(cmd.args.get("address") or "").strip().lower()
    person = session.scalar(select(Person).where(Person.email == address)) if address else None
    if person is None:
        raise Refused(f"nobody is registered with the address {_one_line(address, 320)!r}")
    if person.status == "withdrawn":
        raise Refused(f"{person.name} has withdrawn; nothing to pause")
    days = int(cmd.args.get("days") or 14)
    told = pause(session, deps, person, days, now, f"c{cmd.id}")
    if person.paused_until is None:  # pause() always sets it; say so if it ever does not
        raise RuntimeError(f"PAUSE of person {person.id} left no paused_until")
    until = local_date(deps, person, person.paused_until)
    letters.notify(
        session,
        deps,
        f"cmd:{cmd.id}:paused_by_coordinators",
        person,
        "command_ack",
        ack_context(
            "pause",
            ["paused_until_date"],
            {"days": days, "paused_until": until, "by_coordinators": True},
        ),
        now,
    )
    return (
        f"PAUSE {person.name}: paused for {days} days, until {until}; they and "
        f"{len(told)} partner(s) were told"
    )


PAIR_ACTIONS = {
    CommandName.LIAISE: _liaise,
    CommandName.REMATCH: _rematch,
    CommandName.CLOSE: _close,
    CommandName.NOTE: _note,
}


def _label(cmd: CommandRow) -> str:
    args = cmd.args
    what = CommandName(cmd.name).value.upper()
    if "pair" in args:
        return f"{what} pair {_one_line(str(args['pair']), 40)}"
    if "address" in args:
        return f"{what} {_one_line(str(args['address']), 320)}"
    return what


def act(
    session: Session, deps: Deps, msg: Inbound, verdict: Verdict, cmd: CommandRow, now: datetime
) -> str:
    """Carry out a coordinator's command when they may; always returns what happened."""
    name = CommandName(cmd.name)
    label = _label(cmd)
    ok, why = coordinator_may_act(
        msg,
        verdict,
        frozenset(deps.settings.program.coordinators),
        accepted_tokens(session, deps),
        deps.settings.imap.authserv_ids,
    )
    try:
        if not ok:
            raise Refused(why)
        if name is CommandName.PAUSE and "address" in cmd.args:
            detail = _pause(session, deps, cmd, now)
        elif name in PAIR_ACTIONS and "pair" in cmd.args:
            pair = _pair(session, cmd.args["pair"])
            if pair is None:
                raise Refused(f"there is no pair {_one_line(str(cmd.args['pair']), 40)}")
            detail = PAIR_ACTIONS[name](session, deps, cmd, pair, now)
        else:
            raise Refused(f"{name.value.upper()} is not a coordinator command in this form")
    except Refused as refused:
        cmd.state = "refused"
        reason = _one_line(str(refused))
        confirm(session, deps, msg, cmd, label, reason, now, refused=True)
        return f"refused: {reason}"
    cmd.state = "done"
    confirm(session, deps, msg, cmd, label, detail, now)
    return detail
