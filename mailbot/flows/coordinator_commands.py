"""Coordinator commands on pairs and people: LIAISE, REMATCH <pair>, CLOSE, PAUSE <address>,
NOTE (and what other modules register in `HANDLERS`) — one per line of a reply to the digest
(or to the coordinators' reply key); `flows.coordination` runs a reply's lines one by one.

Decides whether a coordinator's command may act and what it changes:
- authentication as for APPROVE (`domain.auth.coordinator_may_act`): a configured coordinator,
  DMARC not failing, and a signed reply key in the To — "c0" (the coordinators' standing key)
  or "d<id>" of any digest that was sent (`accepted_tokens`). Anything else changes nothing;
- LIAISE <pair> <text>: the coordinators' own words go To the silent member (oldest
  `last_wrote_at`), Cc the other member(s) and the pair's tracking address, framed in a language
  they all share (else English) by the `liaise` template. The text stays in the body; headers
  carry no user text. No text: the digest's standard wording (`domain.digest.LIAISE_TEXT`);
- REMATCH <pair>: `flows.rematch.rematch_pair`: the old pair ends, the most silent member is
  told kindly; the active member (newest `last_wrote_at`) gets a partner from the round's
  waiting pool at once, or waits there (never refused for "nobody is waiting"). On a trio the
  two who write most recently go on as a new pair of their own, introduced with its tracking
  address;
- CLOSE <pair>: state "closed", ended_at now; every member gets a short neutral `pair_closed`;
- PAUSE <address> [n days]: as the participant's PAUSE, and the person is told the coordinators
  paused them (`command_ack` with `by_coordinators`);
- NOTE <pair> <text>: a PairNote row.
No coordinator action ever mails an address known to bounce (`Person.bouncing`): CLOSE tells
only the reachable members, LIAISE is refused when the silent one bounces and copies only
reachable partners, PAUSE does not tell a bouncing person; the confirmation names who was not
written to. The coordinator hears back once per reply (`flows.coordinator_replies`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.domain.auth import coordinator_may_act
from mailbot.domain.digest import LIAISE_TEXT
from mailbot.domain.model import CommandName, Inbound, Outgoing, Verdict
from mailbot.edges.tables import CommandRow, DigestRow, Pair, PairNote, Person
from mailbot.flows import answer_command, bouncing, export, letters, pairs
from mailbot.flows.coordinator_replies import Outcome, Refused
from mailbot.flows.outbox import enqueue
from mailbot.flows.participant_commands import ack_context
from mailbot.flows.pausing import local_date, pause
from mailbot.flows.rematch import rematch_pair
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
    if people[0].bouncing:
        raise Refused(
            f"mail to {people[0].name} <{people[0].email}> bounces: nobody was written to; "
            f"REMATCH {pair.id} or CLOSE {pair.id}"
        )
    text = str(cmd.args.get("text") or "").strip() or LIAISE_TEXT["quiet"]
    bouncing = [p for p in people if p.bouncing]
    people = [p for p in people if not p.bouncing]  # never mail an address known to bounce
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
    return (
        f"LIAISE pair {pair.id}: sent to {silent.name}"
        + (f", copied to {', '.join(p.name for p in others)}" if others else "")
        + _not_written(bouncing)
    )


def _not_written(bouncing: list[Person]) -> str:
    if not bouncing:
        return ""
    return "; not written to (address bounces): " + ", ".join(
        f"{p.name} <{p.email}>" for p in bouncing
    )


def _rematch(session: Session, deps: Deps, cmd: CommandRow, pair: Pair, now: datetime) -> str:
    # The waiting pool's own rematch (flows.rematch.rematch_pair): never refused for "nobody
    # is waiting"; whoever has no partner yet waits in the pool.
    try:
        return rematch_pair(session, deps, pair, now)
    except LookupError as why:
        raise Refused(str(why)) from None


def _close(session: Session, deps: Deps, cmd: CommandRow, pair: Pair, now: datetime) -> str:
    if pair.state not in pairs.RUNNING:
        raise Refused(f"pair {pair.id} is already {pair.state}")
    pair.state, pair.ended_at = "closed", now
    people = [p for _, p in pairs.members(session, pair.id) if p.status != "withdrawn"]
    bouncing = [p for p in people if p.bouncing]
    round_ctx = round_context_named(deps, session, pair.round_name)
    for person in people:
        if person.bouncing:  # never mail an address known to bounce
            continue
        letters.notify(
            session,
            deps,
            f"closed:{cmd.id}:{person.id}",
            person,
            "pair_closed",
            {"partner_names": [p.name for p in people if p.id != person.id], "round": round_ctx},
            now,
        )
    told = len(people) - len(bouncing)
    return f"CLOSE pair {pair.id}: closed; {told} member(s) told with a short note" + _not_written(
        bouncing
    )


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
    if person.bouncing:  # never mail an address known to bounce
        return (
            f"PAUSE {person.name}: paused for {days} days, until {until}; not told (their "
            f"address bounces); {len(told)} partner(s) were told"
        )
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


Handler = Callable[[Session, "Deps", CommandRow, datetime], str]


def _on_pair(action: Callable[[Session, Deps, CommandRow, Pair, datetime], str]) -> Handler:
    """A command on `<pair>`: the pair found (or refused) before `action` runs."""

    def handler(session: Session, deps: Deps, cmd: CommandRow, now: datetime) -> str:
        if "pair" not in cmd.args:
            raise Refused(f"{cmd.name.upper()} needs a pair number")
        pair = _pair(session, cmd.args["pair"])
        if pair is None:
            raise Refused(f"there is no pair {_one_line(str(cmd.args['pair']), 40)}")
        return action(session, deps, cmd, pair, now)

    return handler


def _pause_address(session: Session, deps: Deps, cmd: CommandRow, now: datetime) -> str:
    if "address" not in cmd.args:
        raise Refused("PAUSE from a coordinator needs the address of the person to pause")
    return _pause(session, deps, cmd, now)


def _clear_bounce(session: Session, deps: Deps, cmd: CommandRow, now: datetime) -> str:
    address = str(cmd.args.get("address", ""))
    if not bouncing.clear_bounce(session, address, now):
        raise Refused(f"{_one_line(address, 320)} is not marked as bouncing")
    return f"CLEAR BOUNCE {_one_line(address, 320)}: mail to it will be tried again"


# The coordinator commands on pairs and people, one handler each: it returns one line saying
# what it did, or raises Refused (the line's savepoint is rolled back). Authentication is
# checked before, per line. APPROVE / REDO are answered by flows.coordination.
HANDLERS: dict[CommandName, Handler] = {
    CommandName.LIAISE: _on_pair(_liaise),
    CommandName.REMATCH: _on_pair(_rematch),
    CommandName.CLOSE: _on_pair(_close),
    CommandName.NOTE: _on_pair(_note),
    CommandName.PAUSE: _pause_address,
    CommandName.ANSWER: answer_command.answer,  # a participant's question (flows.questions)
    CommandName.EXPORT_MY_DATA: export.coordinator_export,  # EXPORT <address>, to the asker
    CommandName.CLEAR_BOUNCE: _clear_bounce,  # CLEAR BOUNCE <address>: mail it again
}


def label(cmd: CommandRow) -> str:
    """The command as understood, for the coordinator's confirmation ("CLOSE pair 12")."""
    args = cmd.args
    what = CommandName(cmd.name).value.upper().replace("_", " ")
    if "pair" in args:
        return f"{what} pair {_one_line(str(args['pair']), 40)}"
    if "item" in args:
        return f"{what} {_one_line(str(args['item']), 40)}"
    if "address" in args:
        return f"{what} {_one_line(str(args['address']), 320)}"
    return what


def carry_out(
    session: Session,
    deps: Deps,
    msg: Inbound,
    verdict: Verdict,
    cmd: CommandRow,
    now: datetime,
    line: str = "",
) -> Outcome:
    """Carry out one command of a coordinator's reply when they may, in its own savepoint;
    sets `cmd.state` and says what happened. Sends nothing to the coordinator."""
    what = label(cmd)
    ok, why = coordinator_may_act(
        msg,
        verdict,
        frozenset(deps.settings.program.coordinators),
        accepted_tokens(session, deps),
        deps.settings.imap.authserv_ids,
    )
    handler = HANDLERS.get(CommandName(cmd.name))
    try:
        if not ok:
            raise Refused(why)
        if handler is None:
            raise Refused(f"{what} is not a coordinator command in this form")
        with session.begin_nested():
            detail = handler(session, deps, cmd, now)
    except Refused as refused:
        cmd.state = "refused"
        return Outcome(_one_line(line or what, 500), what, _one_line(str(refused)), False)
    cmd.state = "done"
    return Outcome(_one_line(line or what, 500), what, detail, True)
