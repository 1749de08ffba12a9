"""Database effects of an inbound decision: store an application, record a command, and
build the answer's outbox entry with everything its template needs.

Runs inside the caller's transaction; decides nothing the domain has not decided.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pycountry
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from mailbot.domain import vocab
from mailbot.domain.ladder import paused_at
from mailbot.domain.model import (
    ApplicationFields,
    Command,
    Inbound,
    Outgoing,
    Verdict,
)
from mailbot.edges.db import core_rows
from mailbot.edges.tables import Application, CommandRow, InboundRow, Person
from mailbot.flows import rounds
from mailbot.flows.inbound_rows import PendingRow
from mailbot.flows.letters import program_context, reply_address
from mailbot.flows.status_facts import StatusFacts, status_facts

if TYPE_CHECKING:
    from mailbot.deps import Deps

LANGUAGE_NAMES = {
    "en": {"en": "English", "fr": "French", "es": "Spanish"},
    "fr": {"en": "anglais", "fr": "français", "es": "espagnol"},
    "es": {"en": "inglés", "fr": "francés", "es": "español"},
}


@lru_cache(maxsize=4)
def _country_translator(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def country_name(code: str, lang: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    if country is None:
        return vocab.EXTRA_COUNTRIES.get(code.upper(), code)
    name = getattr(country, "common_name", None) or country.name
    return _country_translator(lang).gettext(name)


# Built once (see flows.pairs): they run for every application and STATUS.
_PERSON_BY_EMAIL = select(Person).where(Person.email == bindparam("email"))
_APPLICATIONS_OF = select(Application).where(Application.person_id == bindparam("person_id"))
_NEW_APPLICATION = insert(Application.metadata.tables[Application.__tablename__])
_EARLIER_APPLICATION = (
    select(InboundRow.id)
    .where(
        InboundRow.from_addr == bindparam("sender"),
        InboundRow.kind == "application",
        InboundRow.state == "processed",
        InboundRow.id != bindparam("row_id"),
    )
    .limit(1)
)


def person_by_email(session: Session, address: str) -> Person | None:
    return session.scalar(_PERSON_BY_EMAIL, {"email": address})


_PERSON = Person.metadata.tables[Person.__tablename__]
_INSERT_PERSON = insert(_PERSON).returning(_PERSON.c.id)


def _plain_defaults(table: Table) -> dict[str, Any]:
    """What the table gives a new row's columns when not told: an object built with them has
    nothing left for the database to fill in (so none of its attributes is loaded again)."""
    out: dict[str, Any] = {}
    for c in table.columns:
        default = c.default
        if default is not None and not isinstance(default, ScalarElementColumnDefault):
            raise TypeError(f"{table.name}.{c.key}: a default computed on insert")
        if not c.primary_key:
            out[c.key] = None if default is None else default.arg
    return out


_PERSON_DEFAULTS = _plain_defaults(_PERSON)


def _new_person(session: Session, values: dict[str, Any]) -> Person:
    """A new person with `values`, inserted at once (its id is in the answer's reply address).

    Outside a savepoint, with one INSERT and the object attached as already stored: the unit
    of work's flush cost several times that, and a failure rolls the whole transaction and
    session back, so the object cannot outlive its row. Inside one (a chunk handled one
    message at a time), added and flushed, so that a rolled-back savepoint forgets it too."""
    if session.in_nested_transaction():
        person = Person(**values)
        session.add(person)
        session.flush()
        return person
    row = _PERSON_DEFAULTS | values
    person = Person(id=session.connection().execute(_INSERT_PERSON, row).scalar_one(), **row)
    make_transient_to_detached(person)
    session.add(person)
    return person


def round_for(session: Session, deps: Deps, now: datetime) -> tuple[str, Any, Any]:
    """(round name or "" for the next one, the open round, the next round)."""
    current = rounds.open_round(session, now)
    upcoming = rounds.next_round(session, now)
    return (current.name if current else ""), current, upcoming


# An application a new form may still change: waiting for a round, or in one not yet matched
# (once its pairs are proposed, the proposal stands on the form it was made from).
_OPEN_TO_CHANGE = ("planned",)


def store_application(
    session: Session,
    deps: Deps,
    fields: ApplicationFields,
    now: datetime,
    *,
    person: Person | None = None,
    looked_up: bool = False,
) -> tuple[Person, str]:
    """Store a valid form as the sender's application: a new form updates the one that is still
    open to change (even after its round closed, until the round is matched), else
    it applies for the open round, or waits for the next one. Returns the person and the
    round the form is filed in ("" for the next one). `looked_up`: the caller knows who has
    the form's address (`person`; None: nobody), so it is not asked again."""
    if not looked_up:
        person = person_by_email(session, fields.email)
    new = person is None
    # Applying is asking to take part (again): it outweighs a withdrawal or a past silence.
    values = {
        "name": fields.name,
        "language": fields.language,
        "timezone": fields.timezone,
        "country": fields.country,
        "updated_at": now,
        "wants_next_round": True,
    }
    if person is None:
        person = _new_person(session, {"email": fields.email, "created_at": now, **values})
    else:
        for k, v in values.items():
            setattr(person, k, v)
    target, _, _ = round_for(session, deps, now)
    states = {r.name: r.state for r in rounds.rounds(session)}
    pending = [
        a
        for a in ([] if new else session.scalars(_APPLICATIONS_OF, {"person_id": person.id}))
        if a.status in ("valid", "deferred")
        and (a.round_name == "" or states.get(a.round_name) in _OPEN_TO_CHANGE)
    ]
    app = next((a for a in pending if a.round_name == target), None)
    app = app or next((a for a in pending if a.round_name), None) or next(iter(pending), None)
    if app is None:
        # Inserted now, not an object for the unit of work: nothing here reads it again, and
        # a later query (a second form, STATUS) finds it in the database.
        session.connection().execute(
            _NEW_APPLICATION,
            {
                "person_id": person.id,
                "round_name": target,
                "fields": fields.as_json(),
                "status": "valid",
                "submitted_at": now,
                "updated_at": now,
            },
        )
        return person, target
    if app.round_name == "" and target:
        app.round_name = target  # was waiting; the open round takes it
    app.fields, app.status, app.updated_at = fields.as_json(), "valid", now
    return person, app.round_name


def record_command(
    session: Session,
    row: InboundRow,
    person: Person | None,
    sender: str,
    command: Command,
    now: datetime,
) -> CommandRow:
    cmd = CommandRow(
        inbound_id=row.id,
        person_id=person.id if person else None,
        sender=sender,
        name=command.name.value,
        args=dict(command.args),
        state="recorded",
        created_at=now,
    )
    session.add(cmd)
    return cmd


_NO_COMMAND = (
    "We found no command on the first line of your reply, so it changed nothing. "
    "To decide on a matching proposal reply with APPROVE or REDO; to act on a pair from the "
    "digest, with one of the lines it suggests (LIAISE 12 <text>, REMATCH 12, CLOSE 12, "
    "NOTE 12 <text>)."
)


def _display_fields(fields: ApplicationFields) -> dict[str, Any]:
    lang = fields.language
    data = fields.as_json()
    data["country_name"] = country_name(fields.country, lang)
    data["language_name"] = LANGUAGE_NAMES.get(lang, LANGUAGE_NAMES["en"]).get(lang, lang)
    return data


def _status_ctx(
    session: Session,
    person: Person | None,
    address: str,
    now: datetime,
    facts: StatusFacts | None = None,
) -> dict[str, Any]:
    if person is None:
        return {"known": False, "address": address}
    paused = paused_at(person.status, person.paused_until, now)  # a pause ends by itself
    status = "active" if person.status == "paused" and not paused else person.status
    paused_until = person.paused_until if paused else None
    app, partners = facts or status_facts(session, person.id)
    pair_ctx = None
    partner = next(iter(partners), None)
    if partner is not None:
        pair_ctx = {
            "partner_name": partner.name,
            "partner_country": country_name(partner.country, person.language),
        }
    return {
        "known": True,
        "address": address,
        "status": status,
        "paused_until": paused_until.date().isoformat() if paused_until else None,
        "application": {
            "submitted": app.submitted_at.date().isoformat(),
            "round": app.round_name,
            "status": app.status,
        }
        if app
        else None,
        "pair": pair_ctx,
    }


def answer(
    session: Session,
    deps: Deps,
    template: str,
    msg: Inbound,
    verdict: Verdict,
    person: Person | None,
    row: InboundRow | PendingRow,
    now: datetime,
    filed_in: str = "",
    earlier: bool | None = None,
    status: StatusFacts | None = None,
) -> Outgoing:
    """The answer with `template` to `msg`; a confirmation names `filed_in`, the round
    `store_application` filed the form in ("" for the next one), and says whether it updates
    an earlier application: `earlier`, or (None) whether the sender's earlier forms are on
    record. A STATUS answer tells `status` (None: read here)."""
    settings = deps.settings
    app = verdict.application
    if app is not None:
        language = app.language
    else:  # a stranger is answered in the language their words are in
        language = person.language if person is not None else (verdict.language or "en")
    if language not in settings.program.languages:
        language = "en"
    name = (
        (app.fields.name if app and app.fields else "")
        or (person.name if person else "")
        or msg.from_name
    )
    context: dict[str, Any] = {
        "program": program_context(deps),
        "recipient_name": name or msg.from_addr,
        "names": {msg.from_addr: name},
        "person_id": person.id if person else 0,
    }
    if template == "confirmation" and app is not None and app.fields is not None:
        _, _, upcoming = round_for(session, deps, now)
        current = next((r for r in rounds.rounds(session) if filed_in and r.name == filed_in), None)
        if earlier is None:
            # A row not yet inserted (intake_dispatch.PendingRow) has no id, and is not there.
            row_id = -1 if row.id is None else row.id
            params = {"sender": msg.from_addr, "row_id": row_id}
            earlier = core_rows(session, _EARLIER_APPLICATION, params).first() is not None
        context |= {
            "fields": _display_fields(app.fields),
            "round": rounds.round_context(deps, current),
            "next_round": rounds.round_context(deps, upcoming),
            "updated": earlier,
        }
    elif template == "application_invalid" and app is not None:
        context["problems"] = [
            {"field": p.field.value, "code": p.code, "value": p.value} for p in app.problems
        ]
    elif template == "coordinator_action_done":  # a coordinator's reply with no command
        context |= {
            "action": "(no command found)",
            "detail": _NO_COMMAND,
            "refused": True,
        }
    elif template == "status":
        context |= _status_ctx(session, person, msg.from_addr, now, status)
    reply_to = reply_address(deps, person.id) if person is not None else settings.program.address
    return Outgoing(
        key=f"answer:{row.dedupe_id}:{template}",
        to=(msg.from_addr,),
        template=template,
        language=language,
        context=context,
        reply_to=reply_to,
        in_reply_to=msg.message_id,
    )
