"""EXPORT MY DATA end to end (Maildir + SQLite and PostgreSQL): the letter in the person's
language with a JSON attachment that holds every row of every table naming them (a full-table
scan proves it), sent to the address on record only; a coordinator's EXPORT <address>."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, String, select

from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import Base, NudgeRow, Outbox, PairNote, SurveyAnswerRow
from tests.flows.test_commands_flow import (
    DIRECTOR,
    LEA,
    NEXT_ROUND,
    PEOPLE,
    PROGRAM,
    _form,
    coordinator_key,
    last,
    mail,
    partner_of,
    person,
    send,
    text,
)
from tests.support.program import SECRET, Program, application

# Where each table's rows appear in the export: section → table (see flows.export).
SECTIONS = {
    "applications": "application",
    "rounds": "round",
    "pairs": "pair",
    "nudges": "nudge",
    "survey_answers": "survey_answer",
    "commands": "command",
    "mail_received": "inbound",
    "mail_sent": "outbox",
    "bounces": "bounce_event",
    "blocked_pairs": "blocked_pair",
}


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    """Six people matched in three pairs in round 2027A (as tests/flows/test_commands_flow)."""
    p = Program.create(tmp_path / "prog", db_url, extra=NEXT_ROUND)
    for i, who in enumerate(PEOPLE):
        p.put(application(who[0], who[1], _form(*who), message_id=f"<app{i}@mua.example>"))
    p.tick("2027-01-12T09:00:00Z")
    p.tick("2027-02-03T09:00:00Z")
    [proposal] = [m for m in p.sent_to(DIRECTOR) if "proposal" in m["Subject"].lower()]
    send(p, "2027-02-03T12:00:00Z", mail(DIRECTOR, "APPROVE", to=proposal["Reply-To"]))
    yield p
    p.close()


def exports(prog: Program, address: str, subject: str) -> list[EmailMessage]:
    """The mail to `address` with a JSON attachment whose Subject starts with `subject`."""
    return [
        m
        for m in prog.sent_to(address)
        if str(m["Subject"]).startswith(subject)
        and any(p.get_content_type() == "application/json" for p in m.iter_attachments())
    ]


def attachment(m: EmailMessage) -> dict[str, Any]:
    [part] = [p for p in m.iter_attachments() if p.get_content_type() == "application/json"]
    data: dict[str, Any] = json.loads(part.get_content())
    return data


def exported_rows(data: dict[str, Any]) -> set[tuple[str, Any]]:
    out = {("person", data["person"]["id"])}
    for section, table in SECTIONS.items():
        out |= {(table, r["id"]) for r in data[section]}
    for pair in data["pairs"]:
        out.add(("pair_member", pair["membership"]["id"]))
        out |= {("pair_note", n["id"]) for n in pair["notes"]}
    out |= {(r["table"], r["id"]) for r in data["other_records"]}
    return out


def rows_naming(prog: Program, person_id: int, address: str) -> set[tuple[str, Any]]:
    """Every row of every table that names the person: a person column holding their id, a
    text or JSON column holding their address."""
    found: set[tuple[str, Any]] = set()
    with prog.deps.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            person_cols = [
                c.name
                for c in table.columns
                if any(fk.column.table.name == "person" for fk in c.foreign_keys)
            ]
            if table.name == "person":
                person_cols = ["id"]
            text_cols = [c.name for c in table.columns if isinstance(c.type, String | JSON)]
            key = next(iter(table.primary_key.columns)).name
            for row in s.execute(select(table)).mappings():
                by_id = any(row[c] == person_id for c in person_cols)
                by_address = any(
                    address in json.dumps(row[c], ensure_ascii=False).lower() for c in text_cols
                )
                if by_id or by_address:
                    found.add((table.name, row[key]))
    return found


def test_export_holds_every_row_that_names_the_person(prog: Program) -> None:
    pair_id, partner = partner_of(prog, LEA)
    track = tokens.tag_address(PROGRAM, Route.PAIR, str(pair_id), SECRET)
    send(prog, "2027-02-04T09:00:00Z", mail(LEA, "PAUSE 3 jours"))  # a command; partner told
    send(prog, "2027-02-04T10:00:00Z", mail(partner, "Bonjour Léa !", to=LEA, cc=track))
    send(prog, "2027-02-04T11:00:00Z", mail(LEA, "Merci !", to=partner, cc=track))
    send(
        prog,
        "2027-02-05T11:00:00Z",
        mail(DIRECTOR, f"NOTE {pair_id} Léa ({LEA}) is on leave", to=coordinator_key()),
    )
    me = person(prog, LEA)
    assert me is not None
    with prog.deps.db.transaction() as s:  # a reminder and a survey answer, as the jobs keep them
        s.add(
            NudgeRow(
                key="t:nudge",
                pair_id=pair_id,
                person_id=me.id,
                kind="nudge_quiet",
                at=me.created_at,
            )
        )
        s.add(
            SurveyAnswerRow(
                person_id=me.id,
                round_name="2027A",
                satisfaction=4,
                valuable="Une amie",
                choice=1,
                at=me.created_at,
            )
        )
    prog.tick("2027-02-09T09:00:00Z")  # topics, digest: more mail naming her
    before = {r.id for r in prog.query(select(Outbox))}

    send(prog, "2027-02-10T09:00:00Z", mail(LEA, "EXPORTER MES DONNÉES"))
    [export] = exports(prog, LEA, "Vos données")
    assert [a.addr_spec for a in export["To"].addresses] == [LEA] and export["Cc"] is None
    body = text(export)
    assert "BINÔMES" in body and "is on leave" in body
    data = attachment(export)
    assert data["format"] == "mailbot-export/1" and data["person"]["email"] == LEA
    assert "delete_token" not in data["person"]
    [pair] = data["pairs"]
    assert [p["name"] for p in pair["partners"]] == [person(prog, partner).name]  # type: ignore[union-attr]
    assert pair["notes"][0]["text"] == f"Léa ({LEA}) is on leave"
    assert [n["kind"] for n in data["nudges"]] == ["nudge_quiet"]
    assert data["survey_answers"][0]["valuable"] == "Une amie"
    assert {c["name"] for c in data["commands"]} >= {"pause", "export_my_data"}

    # The full-table scan: every row naming her is in the attachment (the export's own mail,
    # queued after it was built, aside).
    export_rows = {
        ("outbox", r.id) for r in prog.query(select(Outbox).where(Outbox.template == "data_export"))
    }
    naming = rows_naming(prog, me.id, LEA) - export_rows
    assert {t for t, _ in naming} >= {
        "person",
        "application",
        "pair_member",
        "inbound",
        "command",
        "outbox",
        "nudge",
        "survey_answer",
    }
    assert naming - exported_rows(data) == set()
    # Rows about others keep only what names her: the digest sent to the coordinators.
    others = [r for r in data["other_records"] if r["table"] == "outbox"]
    assert all(r["id"] in before for r in others)
    assert all(LEA in json.dumps(r["about_you"]) for r in others)
    strangers = [p[0] for p in PEOPLE if p[0] not in (LEA, partner)]
    leaks = [a for a in strangers if a in json.dumps(data)]
    assert leaks == []
    assert len(prog.query(select(PairNote))) == 1


def test_export_goes_to_the_address_on_record_once_a_day(prog: Program) -> None:
    send(
        prog,
        "2027-02-10T09:00:00Z",
        mail("ana@example.net", "EXPORT MY DATA", Reply_To="thief@evil.example"),
    )
    [export] = exports(prog, "ana@example.net", "Your data")
    assert [a.addr_spec for a in export["To"].addresses] == ["ana@example.net"]
    assert prog.sent_to("thief@evil.example") == []
    assert attachment(export)["person"]["email"] == "ana@example.net"
    send(prog, "2027-02-10T10:00:00Z", mail("ana@example.net", "EXPORTAR MIS DATOS"))
    assert len(exports(prog, "ana@example.net", "Your data")) == 1  # not again the same day


def test_a_coordinator_exports_someone_and_a_participant_cannot(prog: Program) -> None:
    kofi = "kofi@example.net"
    send(prog, "2027-02-10T09:00:00Z", mail("ana@example.net", f"EXPORT {kofi}"))
    assert exports(prog, "ana@example.net", "Data held") == []
    assert exports(prog, kofi, "") == []

    send(prog, "2027-02-10T10:00:00Z", mail(DIRECTOR, f"EXPORT {kofi}", to=coordinator_key()))
    mails = prog.sent_to(DIRECTOR)
    [export] = [m for m in mails if m["Subject"].startswith("Data held about Kofi")]
    data = attachment(export)
    assert data["person"]["email"] == kofi and data["pairs"]
    assert "Done: EXPORT" in mails[-1]["Subject"] or any(
        "Done: EXPORT" in m["Subject"] for m in mails
    )
    assert exports(prog, kofi, "") == []  # Kofi is not written to

    send(
        prog,
        "2027-02-10T11:00:00Z",
        mail(DIRECTOR, "EXPORT nobody@example.net", to=coordinator_key()),
    )
    assert "nobody is registered" in text(last(prog, DIRECTOR))


def test_an_export_is_not_kept_in_the_outbox_once_sent(prog: Program) -> None:
    send(prog, "2027-02-10T09:00:00Z", mail("ana@example.net", "EXPORT MY DATA"))
    [row] = prog.query(select(Outbox).where(Outbox.template == "data_export"))
    assert row.status == "sent" and row.context["profile"]["email"] == "ana@example.net"
    prog.tick("2027-02-11T09:00:00Z")  # the next daily retention pass
    [row] = prog.query(select(Outbox).where(Outbox.template == "data_export"))
    assert row.context == {}
