"""DELETE MY DATA: confirmed first, then every trace of a person's address and name gone.

`delete_my_data` answers a first request (or a wrong code) with `delete_confirm`: the request
waits for the person (`flows.confirmations`, the one mechanism every command that must be
confirmed uses) — a YES to it, or the code it gives sent back as DELETE MY DATA <code>, runs
`erase`: the person leaves their pair (partners told with `partner_left`,
which names nobody), mail to them alone and their bounce record go, the person row goes (and
with it applications, memberships, nudges and blocks), and every other text or JSON column
that still names them is scrubbed, or dropped when it is mail not yet sent about them. The one
mail still sent to them is `data_deleted`; what is kept is the fact that a deletion happened.
Their messages in the program's folders go too, after the commit (`flows.mailbox_erasure`:
the erasure writes the request in its transaction, a later step of the tick does the I/O).
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, String, Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from mailbot.domain.confirmations import Mode
from mailbot.domain.model import Inbound, Outgoing
from mailbot.edges.tables import (
    Base,
    BounceEvent,
    CommandRow,
    DeletionEvent,
    InboundRow,
    Outbox,
    Person,
)
from mailbot.flows import mailbox_erasure
from mailbot.flows.confirmations import WAITING, request_address
from mailbot.flows.letters import language, notify, program_context
from mailbot.flows.outbox import enqueue
from mailbot.flows.rematch import leave_pair

if TYPE_CHECKING:
    from mailbot.deps import Deps


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
    mailbox_erasure.request(session, address, now)  # after the scan, which would scrub it
    session.flush()
    return stay, event


def delete_my_data(
    session: Session,
    deps: Deps,
    msg: Inbound,
    cmd: CommandRow,
    person: Person,
    now: datetime,
    may_answer: bool,
    confirmed: bool = False,
) -> str:
    """DELETE MY DATA from `person`: `erase` when `confirmed` (a YES to the request,
    `flows.confirmations`) or given the right code; else the request waits and
    `delete_confirm` asks for either. Returns the note for the inbound row."""
    given = str(cmd.args.get("token") or "").strip().lower()
    right = bool(given and person.delete_token and hmac.compare_digest(given, person.delete_token))
    if not (confirmed or right):
        # A wrong code gets a new one (no guessing); asking again keeps the code already sent,
        # so replying to the first confirmation still works.
        if given or not person.delete_token:
            person.delete_token, person.updated_at = secrets.token_hex(4), now
        cmd.state = WAITING
        cmd.args = {**cmd.args, "confirm": Mode.YES.value}
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
                reply_to=request_address(deps, cmd.id),
            )
        return ("wrong deletion code: " if given else "") + "confirmation code sent"
    address, lang = person.email, language(deps, person)
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
                language=lang,
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
