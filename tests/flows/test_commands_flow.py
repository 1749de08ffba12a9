"""Commands that act, end to end on a matched round (Maildir + SQLite and PostgreSQL).

Participants: PAUSE / RESUME tell the partner; WITHDRAW offers the partner a REMATCH; REMATCH
pairs two partners left alone; CONTINUE keeps an application for the next round; DELETE MY DATA
is two-step and leaves neither address nor name in any table; IN TOUCH counts as contact;
SILENT flags the pair. Coordinators: LIAISE / REMATCH / CLOSE / PAUSE / NOTE with a signed key
act, and without one (or from anyone else) change nothing. Answers come in the reader's language.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from mailbot.domain import tokens
from mailbot.domain.model import Outgoing, Route
from mailbot.edges.tables import (
    Application,
    Base,
    CommandRow,
    DeletionEvent,
    DigestRow,
    InboundRow,
    NudgeRow,
    Outbox,
    Pair,
    PairMember,
    PairNote,
    Person,
    RoundRow,
)
from mailbot.flows.outbox import enqueue
from tests.support.program import SECRET, Program, application, instant

PROGRAM = "coordinator@example.org"
DIRECTOR = "director@example.org"
LEA = "lea.dubois@example.net"
PEOPLE = [
    ("ana@example.net", "Ana García", "Spain", "public", "outreach, makerspaces"),
    ("kofi@example.net", "Kofi Mensah", "Ghana", "academic", "research data, outreach"),
    ("mia@example.net", "Mia Walker", "Australia", "public", "makerspaces, children"),
    ("sam@example.net", "Sam Tane", "New Zealand", "school", "children, reading"),
    (LEA, "Léa Dubois", "France", "museum", "collections, outreach"),
    ("raj@example.net", "Raj Iyer", "India", "special", "research data"),
]
NEXT_ROUND = """
[[rounds]]
name = "2027B"
applications_open = 2027-06-01
applications_close = 2027-06-30
matching_date = 2027-07-03
start = 2027-07-08
end = 2027-11-08
"""
_ids = itertools.count(1)


def _form(addr: str, name: str, country: str, sector: str, interests: str) -> str:
    if addr == LEA:  # the French participant: a French form, so French answers
        return (
            f"Nom : {name}\nPays : {country}\nÉtablissement : Musée de {name}\n"
            "Secteur : musée\nÉtape de carrière : mi-carrière\nIntérêts : collections, outreach\n"
        )
    return (
        f"Name: {name}\nCountry: {country}\nInstitution: Library of {name}\n"
        f"Sector: {sector}\nCareer stage: mid-career\nInterests: {interests}\n"
    )


def mail(
    sender: str,
    body: str,
    to: str = PROGRAM,
    subject: str = "",
    cc: str = "",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject or "Re: your program"
    msg["Date"] = "Wed, 10 Feb 2027 08:00:00 +0000"
    msg["Message-ID"] = f"<m{next(_ids)}.x7@mua.example>"  # never the sender's address
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return bytes(msg)


def text(m: EmailMessage) -> str:
    return str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def send(prog: Program, when: str, *raws: bytes) -> None:
    prog.put(*raws)
    prog.tick(when)


def last(prog: Program, addr: str) -> EmailMessage:
    return prog.sent_to(addr)[-1]


def later(when: str, minutes: int = 5) -> str:
    return (instant(when) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def confirm(prog: Program, when: str, addr: str, answer: str = "YES") -> EmailMessage:
    """`addr` answers the last request waiting for their confirmation (its Reply-To is the
    request's signed key, +r-k<id>); returns the request."""
    request = [m for m in prog.sent_to(addr) if "+r-k" in str(m["Reply-To"])][-1]
    to = request["Reply-To"].addresses[0].addr_spec
    send(prog, when, mail(addr, answer, to=to, subject="Re: " + str(request["Subject"])))
    return request


def withdraw(prog: Program, when: str, *addrs: str) -> None:
    """WITHDRAW from each of `addrs`, confirmed with YES five minutes later (issue 12: leaving
    the round waits for the person's YES)."""
    send(prog, when, *(mail(a, "WITHDRAW") for a in addrs))
    for addr in addrs:
        confirm(prog, later(when), addr)


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Program:
    p = Program.create(tmp_path / "prog", db_url, extra=NEXT_ROUND)
    for i, person in enumerate(PEOPLE):
        p.put(application(person[0], person[1], _form(*person), message_id=f"<app{i}@mua.example>"))
    p.tick("2027-01-12T09:00:00Z")
    p.tick("2027-02-03T09:00:00Z")
    [proposal] = [m for m in p.sent_to(DIRECTOR) if "proposal" in m["Subject"].lower()]
    send(p, "2027-02-03T12:00:00Z", mail(DIRECTOR, "APPROVE", to=proposal["Reply-To"]))
    assert len(p.query(select(Pair))) == 3
    yield p
    assert p.query(select(InboundRow.reason).where(InboundRow.state == "quarantined")) == []
    p.close()


def pairs(prog: Program) -> dict[int, list[str]]:
    """Running pair id → member addresses (in id order)."""
    out: dict[int, list[str]] = {}
    with prog.deps.db.transaction() as s:
        for pair_id, email in s.execute(
            select(Pair.id, Person.email)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .join(Person, Person.id == PairMember.person_id)
            .where(Pair.state.in_(("active", "paused")))
            .order_by(Pair.id, Person.id)
        ):
            out.setdefault(pair_id, []).append(email)
    return out


def partner_of(prog: Program, addr: str) -> tuple[int, str]:
    for pair_id, members in pairs(prog).items():
        if addr in members:
            return pair_id, next(m for m in members if m != addr)
    raise AssertionError(f"{addr} is in no running pair")


def person(prog: Program, addr: str) -> Person | None:
    found = prog.query(select(Person).where(Person.email == addr))
    return found[0] if found else None


def coordinator_key() -> str:
    return tokens.tag_address(PROGRAM, Route.REPLY, "c0", SECRET)


# --------------------------------------------------------------------------- participants


def test_pause_two_weeks_tells_the_partner_and_resume_ends_it(prog: Program) -> None:
    _, partner = partner_of(prog, LEA)
    send(prog, "2027-02-04T09:00:00Z", mail(LEA, "PAUSE 2 semaines"))
    lea = person(prog, LEA)
    assert lea is not None and lea.status == "paused"
    assert lea.paused_until == instant("2027-02-04T09:00:00Z") + timedelta(days=14)
    ack = last(prog, LEA)
    assert ack["Subject"].startswith("Bien reçu : PAUSE")  # her language: French
    assert "14 jours" in text(ack) and "2027-02-18" in text(ack)
    assert ack["Reply-To"].addresses[0].addr_spec != PROGRAM  # her signed reply key
    told = last(prog, partner)
    assert "Léa Dubois" in told["Subject"] and "2027-02-18" in text(told)

    send(prog, "2027-02-05T09:00:00Z", mail(LEA, "REPRENDRE"))
    lea = person(prog, LEA)
    assert lea is not None and lea.status == "active"
    assert lea.paused_until == instant("2027-02-05T09:00:00Z")  # the pause ended at RESUME
    assert "Bon retour" in text(last(prog, LEA))
    assert "is back" in last(prog, partner)["Subject"]

    send(prog, "2027-02-05T10:00:00Z", mail(LEA, "REPRENDRE"))  # nothing to resume
    assert "n'était pas en pause" in text(last(prog, LEA))


def test_a_withdrawal_leaves_the_partner_waiting_and_two_lone_partners_are_paired(
    prog: Program,
) -> None:
    """Issue 12: the partner left alone waits in the round's pool by itself (no REMATCH to
    send, nothing for the coordinators); the next one left alone is paired with them."""
    (p1, (a1, a2)), (p2, (b1, b2)), _ = sorted(pairs(prog).items())
    withdraw(prog, "2027-02-04T09:00:00Z", a2)
    assert person(prog, a2).status == "withdrawn"  # type: ignore[union-attr]
    assert prog.query(select(Pair.state).where(Pair.id == p1)) == ["ended"]
    offer = last(prog, a1)
    assert "has left" in offer["Subject"] or "a quitté" in offer["Subject"]
    assert "nothing you need to do" in text(offer) or "rien à faire" in text(offer)
    assert "WITHDRAW" in last(prog, a2)["Subject"] or "RETIRER" in last(prog, a2)["Subject"]
    assert len(pairs(prog)) == 2

    # Another partner is left alone: the two are paired and introduced, nobody asked.
    before = {a: len([m for m in prog.sent_to(a) if m["Cc"]]) for a in (a1, b1)}
    withdraw(prog, "2027-02-05T09:00:00Z", b2)
    new = [pid for pid, ms in pairs(prog).items() if set(ms) == {a1, b1}]
    assert len(new) == 1 and new[0] not in (p1, p2)
    for addr in (a1, b1):
        intros = [m for m in prog.sent_to(addr) if m["Cc"]]
        assert len(intros) == before[addr] + 1, addr
        track = intros[-1]["Cc"].addresses[0].addr_spec
        assert tokens.read_tag(track, PROGRAM, SECRET) == (Route.PAIR, str(new[0]))
    people = {p.email: p for p in prog.query(select(Person))}
    assert people[a1].country != people[b1].country
    assert prog.query(select(CommandRow).where(CommandRow.name == "rematch")) == []


def test_continue_keeps_an_application_for_the_next_round(prog: Program) -> None:
    send(prog, "2027-02-05T09:00:00Z", mail("kofi@example.net", "CONTINUE"))
    kofi = person(prog, "kofi@example.net")
    assert kofi is not None and kofi.wants_next_round
    apps = prog.query(
        select(Application).where(Application.person_id == kofi.id).order_by(Application.id)
    )
    assert [a.round_name for a in apps] == ["2027A", "2027B"]
    assert apps[1].status == "valid" and apps[1].fields == apps[0].fields
    body = text(last(prog, "kofi@example.net"))
    assert "2027B" in body and "no need to send the form again" in body
    send(prog, "2027-02-05T10:00:00Z", mail("kofi@example.net", "CONTINUE"))  # once only
    assert len(prog.query(select(Application).where(Application.person_id == kofi.id))) == 2


def test_in_touch_counts_as_activity_and_silent_flags(prog: Program) -> None:
    pair_id, _ = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-05T09:00:00Z", mail("ana@example.net", "We're in touch"))
    now = instant("2027-02-05T09:00:00Z")
    [pair] = prog.query(select(Pair).where(Pair.id == pair_id))
    assert pair.last_checkin_answer_at == now and pair.flagged_at is None
    [member] = prog.query(select(PairMember).join(Person).where(Person.email == "ana@example.net"))
    assert member.last_wrote_at == now
    assert "in touch" in text(last(prog, "ana@example.net"))

    other_pair, (writer, _) = next((p, ms) for p, ms in pairs(prog).items() if p != pair_id)
    send(prog, "2027-02-06T09:00:00Z", mail(writer, "SILENT"))
    [pair] = prog.query(select(Pair).where(Pair.id == other_pair))
    assert pair.flagged_at == instant("2027-02-06T09:00:00Z")
    assert pair.last_checkin_answer_at is None
    [flag] = prog.query(select(NudgeRow).where(NudgeRow.kind == "silent_reported"))
    assert flag.pair_id == other_pair and flag.person_id is None
    assert "coordinat" in text(last(prog, writer))  # coordinators / coordinateurs


def _mentions(value: Any, needles: list[str]) -> bool:
    if value is None or isinstance(value, bool | int | float) or hasattr(value, "isoformat"):
        return False
    dumped = [json.dumps(value, ensure_ascii=a, default=str).lower() for a in (True, False)]
    return any(n in d for n in needles for d in dumped)


def test_delete_my_data_is_two_step_and_leaves_no_trace(prog: Program) -> None:
    pair_id, partner = partner_of(prog, LEA)
    # Traces to erase: a pause her partner heard about, her partner's mail to her (metadata),
    # a coordinator's note naming her.
    send(prog, "2027-02-04T09:00:00Z", mail(LEA, "PAUSE 3 jours"))
    track = tokens.tag_address(PROGRAM, Route.PAIR, str(pair_id), SECRET)
    send(prog, "2027-02-04T10:00:00Z", mail(partner, "Hello Léa!", to=LEA, cc=track))
    send(
        prog,
        "2027-02-04T11:00:00Z",
        mail(DIRECTOR, f"NOTE {pair_id} Léa Dubois ({LEA}) is busy", to=coordinator_key()),
    )
    assert len(prog.query(select(PairNote))) == 1

    send(prog, "2027-02-05T09:00:00Z", mail(LEA, "SUPPRIMER MES DONNÉES"))
    first = last(prog, LEA)
    assert "Confirmez la suppression" in first["Subject"]
    token = person(prog, LEA).delete_token  # type: ignore[union-attr]
    assert len(token) == 8 and f"SUPPRIMER MES DONNÉES {token}" in text(first)

    send(prog, "2027-02-05T10:00:00Z", mail(LEA, "SUPPRIMER MES DONNÉES deadbeef00"))
    second = last(prog, LEA)
    assert "ne correspond pas" in text(second)
    new_token = person(prog, LEA).delete_token  # type: ignore[union-attr]
    assert new_token != token and person(prog, LEA) is not None

    inbound_before = len(prog.query(select(InboundRow)))
    reply_key = first["Reply-To"].addresses[0].addr_spec
    send(
        prog, "2027-02-05T11:00:00Z", mail(LEA, f"SUPPRIMER MES DONNÉES {new_token}", to=reply_key)
    )
    assert person(prog, LEA) is None
    done = last(prog, LEA)
    assert "Vos données ont été supprimées" in done["Subject"]
    assert "Léa" not in text(done) and "Léa" not in str(done["To"])
    told = last(prog, partner)
    assert "has left" in told["Subject"] or "a quitté" in told["Subject"]
    assert "Léa" not in text(told) and "Dubois" not in text(told)
    assert prog.query(select(Pair.state).where(Pair.id == pair_id)) == ["ended"]
    assert len(prog.query(select(DeletionEvent))) == 1
    assert len(prog.query(select(InboundRow))) == inbound_before + 1  # metadata kept, anonymous

    # Nothing with her address or her name, anywhere -- except the address of the one notice.
    needles = [LEA, "léa dubois", "l\\u00e9a dubois", "dubois"]
    found = []
    with prog.deps.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).mappings():
                for col, value in row.items():
                    if not _mentions(value, needles):
                        continue
                    if (
                        table.name == "outbox"
                        and row["template"] == "data_deleted"
                        and col in ("primary_to", "to")
                    ):
                        continue
                    found.append(f"{table.name}.{col}={str(value)[:120]}")
    assert found == []
    [final] = prog.query(select(Outbox).where(Outbox.template == "data_deleted"))
    assert final.to == [LEA] and final.cc == [] and not _mentions(final.context, needles)


# --------------------------------------------------------------------------- coordinators


def test_coordinator_liaise_note_and_close_with_a_signed_key(prog: Program) -> None:
    pair_id, partner = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-05T09:00:00Z", mail(partner, "IN TOUCH"))  # Ana is the silent one
    key = coordinator_key()
    send(
        prog,
        "2027-02-05T10:00:00Z",
        mail(DIRECTOR, f"LIAISE {pair_id} Hello Ana, is all well?\r\nBcc: x@evil.example", to=key),
    )
    liaise = last(prog, "ana@example.net")
    assert "Hello Ana, is all well?" in text(liaise)
    assert [a.addr_spec for a in liaise["To"].addresses] == ["ana@example.net"]
    cc = [a.addr_spec for a in liaise["Cc"].addresses]
    assert partner in cc and tokens.read_tag(cc[-1], PROGRAM, SECRET) == (Route.PAIR, str(pair_id))
    assert liaise["Bcc"] is None
    assert "Done: LIAISE" in last(prog, DIRECTOR)["Subject"]

    send(prog, "2027-02-05T11:00:00Z", mail(DIRECTOR, f"NOTE {pair_id} called Ana", to=key))
    [note] = prog.query(select(PairNote))
    assert note.pair_id == pair_id and note.text == "called Ana" and note.author == DIRECTOR

    send(prog, "2027-02-05T12:00:00Z", mail(DIRECTOR, f"CLOSE {pair_id}", to=key))
    [pair] = prog.query(select(Pair).where(Pair.id == pair_id))
    assert pair.state == "closed" and pair.ended_at == instant("2027-02-05T12:00:00Z")
    for addr in ("ana@example.net", partner):
        assert "closed" in last(prog, addr)["Subject"] or "clos" in last(prog, addr)["Subject"]


def test_coordinator_rematch_gives_the_active_partner_a_lone_one(prog: Program) -> None:
    (p1, (a1, a2)), (_, (b1, b2)), _ = sorted(pairs(prog).items())
    withdraw(prog, "2027-02-04T09:00:00Z", b2)  # b1 is alone
    send(prog, "2027-02-05T09:00:00Z", mail(a1, "IN TOUCH"))  # a1 writes, a2 is silent
    silent_mail = len(prog.sent_to(a2))
    send(prog, "2027-02-06T09:00:00Z", mail(DIRECTOR, f"REMATCH {p1}", to=coordinator_key()))
    assert prog.query(select(Pair.state).where(Pair.id == p1)) == ["ended"]
    assert any(set(ms) == {a1, b1} for ms in pairs(prog).values())
    # Issue 12: the silent one is told kindly (and how to come back), not left in the dark.
    assert len(prog.sent_to(a2)) == silent_mail + 1
    assert "REMATCH" in text(last(prog, a2)) or "NOUVEAU PARTENAIRE" in text(last(prog, a2))
    assert person(prog, a2).status == "active"  # type: ignore[union-attr]
    assert "Done: REMATCH" in last(prog, DIRECTOR)["Subject"]

    # Nobody left alone: never refused; the one who wrote last waits in the pool.
    (p3, _), *_ = sorted(pairs(prog).items())
    send(prog, "2027-02-06T10:00:00Z", mail(DIRECTOR, f"REMATCH {p3}", to=coordinator_key()))
    assert p3 not in pairs(prog)
    assert "waits for a new partner" in text(last(prog, DIRECTOR))


def test_coordinator_pause_by_address(prog: Program) -> None:
    _, partner = partner_of(prog, LEA)
    send(prog, "2027-02-06T09:00:00Z", mail(DIRECTOR, f"PAUSE {LEA} 10 days", to=coordinator_key()))
    lea = person(prog, LEA)
    assert lea is not None and lea.status == "paused"
    assert lea.paused_until == instant("2027-02-16T09:00:00Z")
    assert "Votre participation est en pause" in last(prog, LEA)["Subject"]
    assert "Léa Dubois" in last(prog, partner)["Subject"]
    assert "Done: PAUSE" in last(prog, DIRECTOR)["Subject"]


def test_digest_reply_key_is_accepted(prog: Program) -> None:
    pair_id, _ = partner_of(prog, "raj@example.net")
    with prog.deps.db.transaction() as s:
        row = DigestRow(
            sent_at=instant("2027-02-01T08:00:00Z"), week_start="2026-12-28", active=0, total=0
        )
        s.add(row)
        s.flush()
        key = tokens.tag_address(PROGRAM, Route.REPLY, f"d{row.id}", SECRET)
    send(prog, "2027-02-05T09:00:00Z", mail(DIRECTOR, f"NOTE {pair_id} fine", to=key))
    assert [n.text for n in prog.query(select(PairNote))] == ["fine"]


def test_unauthenticated_coordinator_commands_change_nothing(prog: Program) -> None:
    pair_id, partner = partner_of(prog, "ana@example.net")
    key = coordinator_key()
    before = {a: len(prog.sent_to(a)) for a in ("ana@example.net", partner)}
    send(
        prog,
        "2027-02-05T09:00:00Z",
        mail("mallory@example.net", f"CLOSE {pair_id}", to=key),
        mail("mallory@example.net", f"PAUSE {LEA} 10 days", to=key),
        mail(DIRECTOR, f"CLOSE {pair_id}", to=PROGRAM),  # coordinator, but no signed key
        mail(DIRECTOR, f"NOTE {pair_id} hi", to=PROGRAM),
        mail(
            DIRECTOR,
            f"LIAISE {pair_id} hello",
            to=key,
            Authentication_Results="mx.example.org; dmarc=fail header.from=example.org",
        ),
        mail(DIRECTOR, "CLOSE 999", to=key),  # no such pair
    )
    assert pair_id in pairs(prog)
    assert prog.query(select(PairNote)) == []
    assert person(prog, LEA).status == "active"  # type: ignore[union-attr]
    assert {a: len(prog.sent_to(a)) for a in ("ana@example.net", partner)} == before
    refusals = [m for m in prog.sent_to(DIRECTOR) if "Nothing changed" in text(m)]
    assert len(refusals) == 4
    assert all(
        c.state == "refused"
        for c in prog.query(select(CommandRow).where(CommandRow.sender == DIRECTOR))
        if c.name != "approve"
    )
    assert prog.sent_to("mallory@example.net") == [] or all(
        "CLOSE" not in m["Subject"] for m in prog.sent_to("mallory@example.net")
    )


def test_status_names_the_partner_only_while_the_pair_runs(prog: Program) -> None:
    """STATUS reads "your pair" as every other command does (flows.pairs): a running pair,
    active or paused, and partners who have not withdrawn. A closed pair is nobody's."""
    pair_id, partner = partner_of(prog, "ana@example.net")
    partner_name = person(prog, partner).name  # type: ignore[union-attr]
    send(prog, "2027-02-04T09:00:00Z", mail("ana@example.net", "STATUS"))
    assert f"Your partner: {partner_name}" in text(last(prog, "ana@example.net"))

    send(prog, "2027-02-05T12:00:00Z", mail(DIRECTOR, f"CLOSE {pair_id}", to=coordinator_key()))
    send(prog, "2027-02-06T09:00:00Z", mail("ana@example.net", "STATUS"))
    answer = text(last(prog, "ana@example.net"))
    assert "Your participation" in answer and "Your partner" not in answer


def test_liaise_on_a_pair_no_longer_running_writes_to_nobody(prog: Program) -> None:
    """A stale digest line: LIAISE on a pair the coordinators closed. Its members may have
    new partners; nobody is written to and the coordinator hears why."""
    pair_id, partner = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-05T12:00:00Z", mail(DIRECTOR, f"CLOSE {pair_id}", to=coordinator_key()))
    before = {a: len(prog.sent_to(a)) for a in ("ana@example.net", partner)}
    send(
        prog,
        "2027-02-06T09:00:00Z",
        mail(DIRECTOR, f"LIAISE {pair_id} please write", to=coordinator_key()),
    )
    assert {a: len(prog.sent_to(a)) for a in before} == before
    answer = last(prog, DIRECTOR)
    assert "Done" not in answer["Subject"] and "not running" in text(answer)


def test_status_after_a_pause_ran_out_says_active(prog: Program) -> None:
    def status() -> str:
        answers = [m for m in prog.sent_to("ana@example.net") if "status" in m["Subject"]]
        return text(answers[-1])

    send(prog, "2027-02-04T09:00:00Z", mail("ana@example.net", "PAUSE 3 days"))
    send(prog, "2027-02-05T09:00:00Z", mail("ana@example.net", "STATUS"))
    assert "Your participation: paused (paused until 2027-02-07)" in status()
    send(prog, "2027-03-01T09:00:00Z", mail("ana@example.net", "STATUS"))
    assert "Your participation: active." in status() and "paused" not in status()


def test_a_rematch_request_is_resolved_by_the_program_not_the_coordinators(
    prog: Program,
) -> None:
    """Issue 12: REMATCH from someone still in a running pair takes them out of it into the
    round's waiting pool (told they wait; a second REMATCH keeps their place); the digest
    lists nothing for the coordinators to do about it."""
    pair_id, _ = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-09T09:00:00Z", mail("ana@example.net", "REMATCH"))
    assert pair_id not in pairs(prog)
    send(prog, "2027-02-10T09:00:00Z", mail("ana@example.net", "REMATCH please"))
    ack = text(last(prog, "ana@example.net"))
    assert "waiting" in ack and "coordinators" not in ack
    prog.tick("2027-02-15T09:00:00Z")
    digests = [m for m in prog.sent_to(DIRECTOR) if "digest" in m["Subject"].lower()]
    assert all("REMATCH), waiting for you" not in text(d) for d in digests)


def test_resuming_early_restarts_the_silence_clock(prog: Program) -> None:
    """Ana pauses for three weeks and comes back early: nobody in her pair is nudged about
    "20 days of silence" in the tick she resumes, as nobody is when a pause runs out."""
    pair_id, _ = partner_of(prog, "ana@example.net")

    def nudges() -> list[str]:
        return prog.query(select(NudgeRow.kind).where(NudgeRow.pair_id == pair_id))

    prog.tick("2027-02-08T10:00:00Z")
    send(prog, "2027-02-09T10:00:00Z", mail("ana@example.net", "PAUSE 3 weeks"))
    for day in ("15", "22", "27"):
        prog.tick(f"2027-02-{day}T10:00:00Z")
    send(prog, "2027-02-28T10:00:00Z", mail("ana@example.net", "RESUME"))
    prog.tick("2027-03-01T10:00:00Z")
    assert nudges() == []
    send(prog, "2027-03-02T10:00:00Z", mail("ana@example.net", "STATUS"))
    status = [m for m in prog.sent_to("ana@example.net") if "status" in m["Subject"]]
    assert "Your participation: active." in text(status[-1])


def test_a_withdrawal_is_in_the_digest_once(prog: Program) -> None:
    withdraw(prog, "2027-02-09T09:00:00Z", "raj@example.net")
    send(prog, "2027-02-10T09:00:00Z", mail("raj@example.net", "WITHDRAW"))  # already gone
    assert "already" in text(last(prog, "raj@example.net"))
    prog.tick("2027-02-15T09:00:00Z")
    digest = [m for m in prog.sent_to(DIRECTOR) if "digest" in m["Subject"].lower()][-1]
    assert text(digest).count("raj@example.net") == 1
    assert "Withdrew: raj@example.net" in text(digest)


def test_a_silent_report_reaches_the_next_digest_as_a_count(prog: Program) -> None:
    """SILENT with automatic resolution on (the default, issue 12): the ladder nudges the
    silent partner and the waiting pool rematches if they stay silent, so the next digest
    counts the report instead of asking the coordinators to act on the pair.
    (With `ladder.auto_resolve = false` it is an item: tests/flows/test_digest_flow.py.)"""
    pair_id, _ = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-09T09:00:00Z", mail("ana@example.net", "SILENT"))
    prog.tick("2027-02-15T09:00:00Z")
    digest = [m for m in prog.sent_to(DIRECTOR) if "digest" in m["Subject"].lower()][-1]
    body = text(digest)
    assert "Said their partner does not answer (SILENT / NO):" not in body
    assert f"LIAISE {pair_id}" not in body
    assert '"my partner does not answer", left to nudges  1' in body


def test_the_digest_counts_the_pairs_that_ended_that_week(prog: Program) -> None:
    """Closed on Wednesday: Monday's digest counts it as ended (not running), once."""
    pair_id, _ = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-10T12:00:00Z", mail(DIRECTOR, f"CLOSE {pair_id}", to=coordinator_key()))

    def ended(when: str) -> str:
        """The "ended  N" line of the digest sent at `when`."""
        prog.tick(when)
        body = text([m for m in prog.sent_to(DIRECTOR) if "digest" in m["Subject"].lower()][-1])
        return next(
            line.split()[1] for line in body.splitlines() if line.strip().startswith("ended")
        )

    assert ended("2027-02-15T09:00:00Z") == "1"
    assert ended("2027-02-22T09:00:00Z") == "0"  # history by then


def test_continue_after_withdrawing_is_for_the_next_round_only(prog: Program) -> None:
    """a2 withdraws, then says CONTINUE (meaning the next round): a2 stays out of this round,
    so a1, left alone, is paired with the next lone partner who asks; the next round's
    matching takes a2 back, and withdrawing again cancels that."""
    (_, (a1, a2)), (_, (b1, b2)), _ = sorted(pairs(prog).items())
    withdraw(prog, "2027-02-04T09:00:00Z", a2)
    withdraw(prog, "2027-02-04T10:00:00Z", b2)
    send(prog, "2027-02-05T09:00:00Z", mail(a2, "CONTINUE"))
    gone = person(prog, a2)
    assert gone is not None and gone.status == "withdrawn" and gone.wants_next_round
    send(prog, "2027-02-06T09:00:00Z", mail(b1, "REMATCH"))
    assert any(set(ms) == {a1, b1} for ms in pairs(prog).values())
    assert not any(a2 in ms for ms in pairs(prog).values())
    assert "2027B" in {
        a.round_name for a in prog.query(select(Application).join(Person).where(Person.email == a2))
    }
    send(prog, "2027-02-07T09:00:00Z", mail(a2, "WITHDRAW"))
    assert not person(prog, a2).wants_next_round  # type: ignore[union-attr]


def with_a_trio(tmp_path: Path) -> Program:
    """The six people and a seventh, matched and approved: two pairs and one trio."""
    prog = Program.create(tmp_path / "trio", f"sqlite:///{tmp_path}/t.sqlite3", extra=NEXT_ROUND)
    seventh = ("ola@example.net", "Ola Nordmann", "Norway", "academic", "outreach, research data")
    for i, who in enumerate([*PEOPLE, seventh]):
        prog.put(application(who[0], who[1], _form(*who), message_id=f"<app{i}@mua.example>"))
    prog.tick("2027-01-12T09:00:00Z")
    prog.tick("2027-02-03T09:00:00Z")
    [proposal] = [m for m in prog.sent_to(DIRECTOR) if "proposal" in m["Subject"].lower()]
    send(prog, "2027-02-03T12:00:00Z", mail(DIRECTOR, "APPROVE", to=proposal["Reply-To"]))
    return prog


def test_a_member_who_withdrew_from_a_trio_is_out_of_it(tmp_path: Path) -> None:
    """A trio goes on with two after one withdraws; the one who left is no longer in it:
    their IN TOUCH does not count for the trio, their later DELETE MY DATA tells the two
    nothing a second time, and STATUS names no partner."""
    prog = with_a_trio(tmp_path)
    [(pair_id, (x, y, z))] = [(k, v) for k, v in pairs(prog).items() if len(v) == 3]

    withdraw(prog, "2027-02-04T09:00:00Z", x)
    assert pairs(prog)[pair_id] == [x, y, z]  # the trio runs on with y and z
    send(prog, "2027-02-05T09:00:00Z", mail(x, "IN TOUCH"))
    [pair] = prog.query(select(Pair).where(Pair.id == pair_id))
    assert pair.last_checkin_answer_at is None
    send(prog, "2027-02-05T10:00:00Z", mail(x, "STATUS"))
    assert "Your partner" not in text(last(prog, x))
    before = {a: len(prog.sent_to(a)) for a in (y, z)}
    send(prog, "2027-02-06T09:00:00Z", mail(x, "DELETE MY DATA"))
    token = person(prog, x).delete_token  # type: ignore[union-attr]
    send(prog, "2027-02-06T10:00:00Z", mail(x, f"DELETE MY DATA {token}"))
    assert person(prog, x) is None
    assert {a: len(prog.sent_to(a)) for a in (y, z)} == before
    prog.close()


def test_coordinator_rematch_of_a_trio_keeps_the_two_who_write(tmp_path: Path) -> None:
    prog = with_a_trio(tmp_path)
    [(trio_id, (x, y, z))] = [(k, v) for k, v in pairs(prog).items() if len(v) == 3]
    send(prog, "2027-02-05T09:00:00Z", mail(y, "IN TOUCH"))
    send(prog, "2027-02-05T10:00:00Z", mail(z, "IN TOUCH"))
    silent_mail = len(prog.sent_to(x))
    send(prog, "2027-02-06T09:00:00Z", mail(DIRECTOR, f"REMATCH {trio_id}", to=coordinator_key()))
    assert trio_id not in pairs(prog)
    assert [set(ms) for ms in pairs(prog).values() if y in ms] == [{y, z}]
    assert len(prog.sent_to(x)) == silent_mail + 1  # issue 12: the silent one is told kindly
    [new_id] = [k for k, ms in pairs(prog).items() if y in ms]
    for who in (y, z):  # introduced with the new pair's tracking address
        cc = [a.addr_spec for a in prog.sent_to(who)[-1]["Cc"].addresses]
        assert (Route.PAIR, str(new_id)) in [tokens.read_tag(a, PROGRAM, SECRET) for a in cc]
    assert "go on as pair" in text(last(prog, DIRECTOR))
    prog.close()


def test_a_rematched_pairs_quiet_nudge_names_a_topic_it_received(prog: Program) -> None:
    """Rematched on day 50, a pair continues from the round's topic (issue 12: not from 1
    again); when it goes quiet, the nudge's 'current topic' is one it got."""
    from datetime import datetime, timedelta

    def day(n: int, hour: int = 10) -> str:
        return (datetime(2027, 2, 8, hour) + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")

    (_, (a1, a2)), (_, (b1, b2)), _ = sorted(pairs(prog).items())
    for n in range(0, 50, 3):
        prog.tick(day(n))
    withdraw(prog, day(50), a2, b2)
    send(prog, day(50, 11), mail(a1, "REMATCH"))
    send(prog, day(50, 12), mail(b1, "REMATCH"))
    [new_id] = [k for k, ms in pairs(prog).items() if set(ms) == {a1, b1}]
    for n in range(51, 90):
        prog.tick(day(n))
    got = {
        int(key.split(":")[3]) + 1
        for key in prog.query(select(Outbox.key).where(Outbox.key.like(f"topic:2027A:{new_id}:%")))
    }
    assert 1 not in got  # continued from the round's topic
    nudges = prog.query(
        select(Outbox.context).where(
            Outbox.key.like(f"nudge:2027A:{new_id}:quiet:%"), Outbox.primary_to == a1
        )
    )
    assert nudges, "the rematched pair went quiet and was nudged"
    assert nudges[-1]["topic"]["number"] in got, (got, nudges[-1]["topic"])


def test_asking_to_delete_twice_keeps_the_first_code(prog: Program) -> None:
    """DELETE MY DATA sent twice: the code in the first confirmation still works; only a
    wrong code makes a new one."""
    send(prog, "2027-02-05T09:00:00Z", mail("ana@example.net", "DELETE MY DATA"))
    token = person(prog, "ana@example.net").delete_token  # type: ignore[union-attr]
    send(prog, "2027-02-05T10:00:00Z", mail("ana@example.net", "DELETE MY DATA"))
    assert person(prog, "ana@example.net").delete_token == token  # type: ignore[union-attr]
    assert token in text(last(prog, "ana@example.net"))
    send(prog, "2027-02-05T11:00:00Z", mail("ana@example.net", f"DELETE MY DATA {token}"))
    assert person(prog, "ana@example.net") is None


def test_withdrawing_takes_back_a_rematch_request(prog: Program) -> None:
    """Ana asks for a new partner, then withdraws: the coordinators' digest does not ask them
    to find her one."""
    send(prog, "2027-02-09T09:00:00Z", mail("ana@example.net", "REMATCH"))
    withdraw(prog, "2027-02-10T09:00:00Z", "ana@example.net")
    prog.tick("2027-02-15T09:00:00Z")
    digest = [m for m in prog.sent_to(DIRECTOR) if "digest" in m["Subject"].lower()][-1]
    body = text(digest)
    assert "Withdrew: ana@example.net" in body and "REMATCH), waiting for you" not in body


def test_deleting_ana_leaves_diana_maria_and_canada_alone(prog: Program) -> None:
    """The erasure matches whole names and addresses: mail still to go to diana@… (about
    Canada, from "Ana Garcías") or to maria.ana@… is not dropped, nor are their addresses
    rewritten, when Ana deletes her data."""
    others = {
        "diana@example.net": {"recipient_name": "Diana", "country": "Canada", "by": "Ana Garcías"},
        "maria.ana@example.net": {"recipient_name": "Maria"},
    }
    with prog.deps.db.transaction() as s:
        for address, context in others.items():
            enqueue(
                s,
                prog.deps,
                Outgoing(
                    key=f"test:{address}",
                    to=(address,),
                    template="help",
                    language="en",
                    context=context,
                    not_before=instant("2027-03-01T09:00:00Z"),
                ),
                instant("2027-02-05T09:00:00Z"),
            )
    send(prog, "2027-02-05T09:00:00Z", mail("ana@example.net", "DELETE MY DATA"))
    token = person(prog, "ana@example.net").delete_token  # type: ignore[union-attr]
    send(prog, "2027-02-05T10:00:00Z", mail("ana@example.net", f"DELETE MY DATA {token}"))
    assert person(prog, "ana@example.net") is None
    rows = prog.query(select(Outbox).where(Outbox.key.like("test:%")))
    assert {r.key: (r.status, r.to, r.context) for r in rows} == {
        f"test:{a}": ("pending", [a], context) for a, context in others.items()
    }


def test_continue_while_the_next_round_is_already_matched_waits(prog: Program) -> None:
    """Like a form, CONTINUE does not file into a round whose proposal is made (it would
    never be matched nor told): it waits for the round after."""
    send(prog, "2027-06-10T09:00:00Z")  # 2027B open
    with prog.deps.db.transaction() as s:  # matched early, by hand
        s.execute(update(RoundRow).where(RoundRow.name == "2027B").values(state="proposed"))
    send(prog, "2027-06-10T10:00:00Z", mail("ana@example.net", "CONTINUE"))
    apps = prog.query(
        select(Application.round_name).join(Person).where(Person.email == "ana@example.net")
    )
    assert "2027B" not in apps and "" in apps


def test_pause_until_a_date_ends_on_that_date_however_late_it_is_handled(prog: Program) -> None:
    """Written on 10 Feb, read on 20 Feb (the daemon was down): paused until 15 March."""
    late = mail("ana@example.net", "PAUSE until 15 March")  # dated 10 Feb, as all here
    send(prog, "2027-02-20T09:00:00Z", late)
    ana = person(prog, "ana@example.net")
    assert ana is not None and ana.paused_until is not None
    assert ana.paused_until.date().isoformat() == "2027-03-15"


def test_coordinator_clear_bounce(prog: Program) -> None:
    """CLEAR BOUNCE <address>: a coordinator who knows the address works again clears it."""
    from sqlalchemy import update

    with prog.deps.db.transaction() as s:
        s.execute(update(Person).where(Person.email == LEA).values(bouncing=True, bounce_score=3.0))
    send(prog, "2027-02-06T09:00:00Z", mail(DIRECTOR, f"CLEAR BOUNCE {LEA}", to=coordinator_key()))
    lea = person(prog, LEA)
    assert lea is not None and not lea.bouncing and lea.bounce_score == 0
    assert "Done: CLEAR BOUNCE" in last(prog, DIRECTOR)["Subject"]
    send(prog, "2027-02-06T10:00:00Z", mail(DIRECTOR, f"CLEAR BOUNCE {LEA}", to=coordinator_key()))
    assert "Not done: CLEAR BOUNCE" in last(prog, DIRECTOR)["Subject"]
