"""EXPORT MY DATA: everything the program holds about a person, as a letter and as JSON.

`export_data` reads it from every table: the person's own rows (profile, applications, pair
memberships with their pairs' rounds, partners' names and countries and the coordinators'
notes on those pairs, nudges, survey answers, commands, mail received and sent, bounces,
blocks) and then, found by a scan of every table like `flows.erasure`'s, any other row that
names them by id or address (`other_records`, with only the parts that are about them). The
delete code is the one thing left out: it is a credential, not data about them.

The participant's request (`export_my_data`, a `participant_commands` handler) is answered to
the address on record only — never a Reply-To or another address — at most once a day, in
their language (`data_export`, the JSON attached). A coordinator's `EXPORT <address>`
(`coordinator_export`) gets the same letter, in English, sent to that coordinator.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, String, Text, cast, func, or_, select
from sqlalchemy.orm import Session

from mailbot.domain.model import Outgoing
from mailbot.edges.tables import (
    Application,
    Base,
    BlockedPair,
    BounceEvent,
    CommandRow,
    InboundRow,
    NudgeRow,
    Outbox,
    Pair,
    PairMember,
    PairNote,
    Person,
    RoundRow,
    SurveyAnswerRow,
)
from mailbot.flows import pairs as pairs_mod
from mailbot.flows.coordinator_replies import Refused
from mailbot.flows.effects import country_name
from mailbot.flows.letters import base_context, language, notify, program_context
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.deps import Deps

FORMAT = "mailbot-export/1"
TEMPLATE = "data_export"
_SECRET_COLUMNS = {("person", "delete_token")}
_DATE_COLUMNS = ("at", "created_at", "received_at", "asked_at")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A mapped row as JSON: every column, dates in ISO 8601, secrets left out."""
    table = obj.__table__
    return {
        c.key: _plain(getattr(obj, c.key))
        for c in table.columns
        if c.key not in skip and (table.name, c.key) not in _SECRET_COLUMNS
    }


def _mentions(value: Any, needle: str) -> Any:
    """The parts of a stored value that name `needle` (an address), or None: the lines of a
    string that contain it, the matching items of a list, a dict's entries keyed by it and the plain
    fields of a dict that holds it — never the rest of a context about other people."""
    if isinstance(value, str):
        if needle not in value.lower():
            return None
        # a text of many lines (a CSV, a letter): only the lines that name them
        return "\n".join(line for line in value.splitlines() if needle in line.lower())
    if isinstance(value, list):
        found = [m for v in value if (m := _mentions(v, needle)) is not None]
        return found or None
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        holds = any(isinstance(v, str) and needle in v.lower() for v in value.values())
        for k, v in value.items():
            if needle in str(k).lower():
                out[k] = v
            elif (m := _mentions(v, needle)) is not None:
                out[k] = m
            elif holds and not isinstance(v, dict | list):
                out[k] = v  # the plain fields beside their address (name, country, …)
        return out or None
    return None


def _person_columns(model: type[Any]) -> list[Any]:
    """Columns of `model` that hold a person's id (foreign keys to person.id)."""
    return [
        c
        for c in model.__table__.columns
        if any(fk.column.table.name == "person" for fk in c.foreign_keys)
    ]


def _text_columns(model: type[Any]) -> list[Any]:
    return [c for c in model.__table__.columns if isinstance(c.type, String | JSON)]


def naming_rows(session: Session, person: Person) -> list[Any]:
    """Every row of every table that names `person`: by id in a person column, or by address
    in a text or JSON column. The person row itself is not included."""
    address = person.email.lower()
    out: list[Any] = []
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if model is Person:
            continue
        conds = [getattr(model, c.key) == person.id for c in _person_columns(model)]
        conds += [
            func.lower(cast(getattr(model, c.key), Text)).contains(address, autoescape=True)
            for c in _text_columns(model)
        ]
        if conds:
            out += list(session.scalars(select(model).where(or_(*conds))))
    return out


def export_data(session: Session, person: Person, now: datetime) -> dict[str, Any]:
    """Everything held about `person`, as JSON-ready data (see the module docstring)."""
    address = person.email.lower()
    claimed: set[tuple[str, int]] = set()

    def own(rows: list[Any], **kw: Any) -> list[dict[str, Any]]:
        for r in rows:
            claimed.add((r.__tablename__, r.id))
        return [_row(r, **kw) for r in rows]

    def rows_of(model: type[Any], *where: Any) -> list[Any]:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))

    applications = rows_of(Application, Application.person_id == person.id)
    memberships = rows_of(PairMember, PairMember.person_id == person.id)
    pair_out = []
    for member in memberships:
        claimed.add(("pair_member", member.id))
        pair = session.get(Pair, member.pair_id)
        if pair is None:
            continue
        claimed.add(("pair", pair.id))
        notes = rows_of(PairNote, PairNote.pair_id == pair.id)
        partners = [
            {"name": p.name, "country": p.country}
            for m, p in pairs_mod.members(session, pair.id)
            if p.id != person.id
        ]
        pair_out.append(
            _row(pair, skip=("reasons", "score"))
            | {
                "membership": _row(member),
                "partners": partners,
                "notes": own(notes),
            }
        )
    round_names = {a.round_name for a in applications} | {p["round_name"] for p in pair_out}
    rounds = rows_of(RoundRow, RoundRow.name.in_(round_names))
    data: dict[str, Any] = {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "person": _row(person),
        "applications": own(applications),
        "rounds": own(rounds),
        "pairs": pair_out,
        "nudges": own(rows_of(NudgeRow, NudgeRow.person_id == person.id)),
        "survey_answers": own(rows_of(SurveyAnswerRow, SurveyAnswerRow.person_id == person.id)),
        "commands": own(
            rows_of(
                CommandRow,
                or_(CommandRow.person_id == person.id, func.lower(CommandRow.sender) == address),
            )
        ),
        "mail_received": own(
            rows_of(
                InboundRow,
                or_(InboundRow.person_id == person.id, func.lower(InboundRow.from_addr) == address),
            )
        ),
        "mail_sent": own(_mail_to(session, address), skip=("context", "key", "key_digest")),
        "bounces": own(rows_of(BounceEvent, func.lower(BounceEvent.address) == address)),
        # that a coordinator keeps them apart from someone, not whom
        "blocked_pairs": own(
            rows_of(
                BlockedPair,
                or_(BlockedPair.person_a == person.id, BlockedPair.person_b == person.id),
            ),
            skip=("person_a", "person_b"),
        ),
    }
    data["other_records"] = _others(session, person, claimed)
    return data


def _mail_to(session: Session, address: str) -> list[Outbox]:
    """Outbox rows addressed to `address` (To or Cc)."""
    rows = session.scalars(
        select(Outbox)
        .where(
            or_(
                Outbox.primary_to == address,
                func.lower(cast(Outbox.to, Text)).contains(address, autoescape=True),
                func.lower(cast(Outbox.cc, Text)).contains(address, autoescape=True),
            )
        )
        .order_by(Outbox.id)
    )
    return [r for r in rows if address in [a.lower() for a in [*r.to, *r.cc]]]


def _others(session: Session, person: Person, claimed: set[tuple[str, int]]) -> list[Any]:
    """Rows naming the person that no section above holds, with only what names them."""
    address = person.email.lower()
    out: list[dict[str, Any]] = []
    for obj in naming_rows(session, person):
        table = obj.__tablename__
        if (table, obj.id) in claimed:
            continue
        about: dict[str, Any] = {}
        for c in _person_columns(type(obj)):
            if getattr(obj, c.key) == person.id:
                about[c.key] = person.id
        for c in _text_columns(type(obj)):
            if (table, c.key) in _SECRET_COLUMNS:
                continue
            if (m := _mentions(getattr(obj, c.key), address)) is not None:
                about[c.key] = m
        if not about:
            continue  # the SQL match was a substring of another address
        dated = next(
            (getattr(obj, k) for k in _DATE_COLUMNS if hasattr(obj, k)),
            None,
        )
        out.append({"table": table, "id": obj.id, "at": _plain(dated), "about_you": about})
    return out


# --------------------------------------------------------------------------- the letter


def _day(value: str | None) -> str | None:
    return value[:10] if value else None


def letter_context(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """The readable part of the export (contract: `DataExportMail`, beyond the base keys)."""
    person = data["person"]
    rounds = {r["name"]: r for r in data["rounds"]}
    received = data["mail_received"]
    return {
        "profile": {
            "name": person["name"],
            "email": person["email"],
            "country_name": country_name(person["country"], lang),
            "language": person["language"],
            "timezone": person["timezone"],
            "status": person["status"],
            "since": _day(person["created_at"]) or "",
        },
        "applications": [
            {
                "round": a["round_name"],
                "status": a["status"],
                "submitted": _day(a["submitted_at"]) or "",
                "fields": [
                    {"name": str(k), "value": _field_text(v)}
                    for k, v in sorted(a["fields"].items())
                    if v not in (None, "", [])
                ],
            }
            for a in data["applications"]
        ],
        "pairs": [
            {
                "round": p["round_name"],
                "state": p["state"],
                "started": _day(p["created_at"]) or "",
                "ended": _day(p["ended_at"]),
                "round_ends": _day(rounds[p["round_name"]]["ends_at"])
                if p["round_name"] in rounds
                else None,
                "partners": [
                    {"name": x["name"], "country_name": country_name(x["country"], lang)}
                    for x in p["partners"]
                ],
                "messages": p["membership"]["messages"],
                "last_wrote": _day(p["membership"]["last_wrote_at"]),
                "notes": [{"on": _day(n["at"]) or "", "text": n["text"]} for n in p["notes"]],
            }
            for p in data["pairs"]
        ],
        "activity_dates": sorted({d for r in received if (d := _day(r["received_at"]))}),
        "nudges": [{"on": _day(n["at"]) or "", "kind": n["kind"]} for n in data["nudges"]],
        "survey_answers": [
            {
                "round": s["round_name"],
                "satisfaction": s["satisfaction"],
                "valuable": s["valuable"],
                "choice": s["choice"],
            }
            for s in data["survey_answers"]
        ],
        "mail_received": len(received),
        "mail_sent": len(data["mail_sent"]),
        "other_records": len(data["other_records"]),
    }


def _field_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def attachment(data: dict[str, Any], now: datetime) -> dict[str, str]:
    return {
        "filename": f"my-data-{now.date().isoformat()}.json",
        "content_type": "application/json",
        "text": json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
    }


def export_my_data(session: Session, deps: Deps, person: Person, now: datetime) -> str:
    """EXPORT MY DATA: the export, to the address on record only, at most once a day.
    Returns the note for the inbound row."""
    lang = language(deps, person)
    data = export_data(session, person, now)
    sent = notify(
        session,
        deps,
        f"export:{person.id}:{now.date().isoformat()}",
        person,
        TEMPLATE,
        {"for_coordinator": False}
        | letter_context(data, lang)
        | {"_attachments": [attachment(data, now)]},
        now,
        automatic_answer=True,
    )
    if not sent:
        return "export already sent today: not sent again"
    return f"export sent to {person.email}"


def coordinator_export(session: Session, deps: Deps, cmd: CommandRow, now: datetime) -> str:
    """EXPORT <address> from a coordinator: the person's export, sent to that coordinator."""
    address = str(cmd.args.get("address") or "").strip().lower()
    if not address:
        raise Refused("EXPORT needs the address of the person whose data to send")
    person = session.scalar(select(Person).where(func.lower(Person.email) == address))
    if person is None:
        raise Refused(f"nobody is registered with the address {address[:320]!r}")
    data = export_data(session, person, now)
    coordinator = cmd.sender.lower()
    context = (
        base_context(deps, person)
        | {"recipient_name": coordinator, "names": {}, "person_id": 0, "for_coordinator": True}
        | letter_context(data, "en")
        | {"_attachments": [attachment(data, now)]}
    )
    context["program"] = program_context(deps)
    enqueue(
        session,
        deps,
        Outgoing(
            key=f"export:c{cmd.id}",
            to=(coordinator,),
            template=TEMPLATE,
            language="en",
            context=context,
        ),
        now,
    )
    return f"EXPORT {person.email}: everything held about {person.name} sent to {coordinator}"
