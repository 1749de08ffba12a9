"""Applications → matching date → proposal to the coordinators → APPROVE → introductions."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import (
    Application,
    InboundRow,
    Pair,
    PairMember,
    Person,
    Proposal,
    RoundRow,
)
from tests.flows.test_commands_flow import mail, send
from tests.support.program import ROUND, SECRET, Program, application, instant

START = instant("2026-12-01T09:00:00Z")  # before the round: someone known from earlier

PEOPLE = [
    ("ana@example.net", "Ana", "Spain", "public", "outreach, makerspaces"),
    ("kofi@example.net", "Kofi", "Ghana", "academic", "research data, outreach"),
    ("mia@example.net", "Mia", "Australia", "public", "makerspaces, children"),
    ("sam@example.net", "Sam", "New Zealand", "school", "children, reading"),
    ("lea@example.net", "Léa", "France", "museum", "collections, outreach"),
    ("raj@example.net", "Raj", "India", "special", "research data"),
]


def _apply(prog: Program) -> None:
    for addr, name, country, sector, interests in PEOPLE:
        body = (
            f"Name: {name}\nCountry: {country}\nInstitution: Library of {name}\n"
            f"Sector: {sector}\nCareer stage: mid-career\nInterests: {interests}\n"
        )
        prog.put(application(addr, name, body, message_id=f"<app-{addr}>"))
    prog.tick("2027-01-12T09:00:00Z")


def _proposals(prog: Program) -> list[EmailMessage]:
    """The matching proposals the coordinator received (the weekly digest goes there too)."""
    return [m for m in prog.sent_to("director@example.org") if "proposal" in m["Subject"].lower()]


def _reply(to: str, body: str, sender: str = "director@example.org", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Re: Matching proposal"
    msg["Message-ID"] = f"<reply-{abs(hash((to, body, sender)))}@example.org>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return bytes(msg)


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Program:
    p = Program.create(tmp_path / "prog", db_url)
    yield p
    p.close()


def test_nothing_is_proposed_before_the_matching_date(prog: Program) -> None:
    _apply(prog)
    prog.tick("2027-02-02T09:00:00Z")
    assert prog.query(select(Proposal)) == []
    assert _proposals(prog) == []


def test_proposal_then_approve_introduces_every_pair(prog: Program) -> None:
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    assert "APPROVE" in proposal_mail.get_body(("plain",)).get_content()
    [csv_part] = list(proposal_mail.iter_attachments())
    csv_text = csv_part.get_content()
    assert all(name in csv_text for _, name, *_ in PEOPLE)
    reply_to = proposal_mail["Reply-To"].addresses[0].addr_spec
    assert tokens.read_tag(reply_to, "coordinator@example.org", SECRET) == (Route.REPLY, "m1")

    prog.put(_reply(reply_to, "APPROVE\n\nThanks!"))
    prog.tick("2027-02-03T12:00:00Z")
    [row] = prog.query(select(Proposal))
    assert row.state == "approved" and row.decided_by == "director@example.org"
    pairs = prog.query(select(Pair))
    assert len(pairs) == 3
    people = {p.id: p for p in prog.query(select(Person))}
    for pair in pairs:
        members = [
            people[m.person_id]
            for m in prog.query(select(PairMember).where(PairMember.pair_id == pair.id))
        ]
        assert len({m.country for m in members}) == len(members)  # another country, always
    for addr, *_ in PEOPLE:
        intros = [m for m in prog.sent_to(addr) if m["Cc"]]
        assert len(intros) == 1, addr
        track = intros[0]["Cc"].addresses[0].addr_spec
        route = tokens.read_tag(track, "coordinator@example.org", SECRET)
        assert route is not None and route[0] is Route.PAIR
    assert all(a.status == "matched" for a in prog.query(select(Application)))
    done = [m for m in prog.sent_to("director@example.org") if "APPROVE" in m["Subject"]]
    assert "approved" in done[-1].get_body(("plain",)).get_content()

    # A second APPROVE changes nothing and introduces nobody twice.
    prog.put(_reply(reply_to, "APPROVE again"))
    prog.tick("2027-02-03T13:00:00Z")
    assert len(prog.query(select(Pair))) == 3
    assert all(len([m for m in prog.sent_to(a) if m["Cc"]]) == 1 for a, *_ in PEOPLE)


def test_only_an_authenticated_coordinator_can_approve(prog: Program) -> None:
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    reply_to = proposal_mail["Reply-To"].addresses[0].addr_spec
    prog.put(
        _reply(reply_to, "APPROVE", sender="mallory@example.net"),
        _reply("coordinator@example.org", "APPROVE"),  # coordinator, but no signed key
        _reply(
            reply_to,
            "APPROVE",
            Authentication_Results="mx.example.org; dmarc=fail (p=reject) header.from=example.org",
        ),
    )
    prog.tick("2027-02-03T12:00:00Z")
    [row] = prog.query(select(Proposal))
    assert row.state == "proposed"
    assert prog.query(select(Pair)) == []


def test_redo_sends_a_new_proposal(prog: Program) -> None:
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [first] = _proposals(prog)
    prog.put(_reply(first["Reply-To"].addresses[0].addr_spec, "REDO"))
    prog.tick("2027-02-03T12:00:00Z")
    states = [p.state for p in prog.query(select(Proposal).order_by(Proposal.id))]
    assert states == ["redone", "proposed"]
    subjects = [m["Subject"] for m in prog.sent_to("director@example.org")]
    assert any("proposal 2" in s.lower() for s in subjects)


def test_who_is_not_in_the_pool_is_named_with_why(prog: Program) -> None:
    """Bouncing, withdrawn and last round's silent applicants stay out of the matching, and
    the proposal names each with the reason; a silent one who asked for another round is in."""
    _apply(prog)
    with prog.deps.db.transaction() as s:
        people = {p.email: p for p in s.scalars(select(Person))}
        people["kofi@example.net"].bouncing = True
        # Their forms were carried over from before (a new form would be asking to take part).
        for who in ("mia", "raj"):
            people[f"{who}@example.net"].wants_next_round = False
        people["mia@example.net"].silent_cycles = 3  # silent through last round's topics
        people["sam@example.net"].silent_cycles = 3
        people["sam@example.net"].wants_next_round = True  # ... but said CONTINUE
        people["raj@example.net"].status = "withdrawn"
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    body = proposal_mail.get_body(("plain",)).get_content()
    assert "Kofi <kofi@example.net>: their address bounces" in body
    assert "Mia <mia@example.net>: silent through 3 cycles last round" in body
    assert "Raj <raj@example.net>: withdrawn" in body
    assert "sam@example.net>:" not in body
    [csv_part] = list(proposal_mail.iter_attachments())
    assert "Sam" in csv_part.get_content()


def test_a_waiting_application_joins_the_round_that_opens_once(prog: Program) -> None:
    """Applied before the round opened (waiting), and also, somehow, for the round itself:
    when it opens, one application stands in it, the newer form; later ticks find nothing
    more to move or report."""
    newer = (
        "Name: Ana\nCountry: Spain\nInstitution: Biblioteca Nueva\nSector: public\n"
        "Career stage: senior\nInterests: maps\n"
    )
    prog.put(application("ana@example.net", "Ana", newer, message_id="<early@example.net>"))
    prog.tick("2026-12-20T09:00:00Z")  # no round open yet: the application waits
    with prog.deps.db.transaction() as s:
        [waiting] = s.scalars(select(Application))
        assert waiting.round_name == ""
        older = dict(waiting.fields, institution="Biblioteca Vieja")
        s.add(
            Application(
                person_id=waiting.person_id,
                round_name="2027A",
                fields=older,
                status="valid",
                submitted_at=waiting.submitted_at.replace(month=11),
                updated_at=waiting.updated_at.replace(month=11),
            )
        )
    report = prog.tick("2027-01-05T09:00:00Z")
    [app] = prog.query(select(Application))
    assert app.round_name == "2027A" and app.fields["institution"] == "Biblioteca Nueva"
    assert "moved" not in report.jobs["rounds"]
    opened = [m for m in prog.sent_to("ana@example.net") if "2027A" in m["Subject"]]
    assert len(opened) == 1
    assert prog.tick("2027-01-06T09:00:00Z").jobs["rounds"] == ""

    # The plain case: waiting, nobody in the round yet: moved, and said so once.
    prog.put(application("kofi@example.net", "Kofi", message_id="<kofi@example.net>"))
    prog.tick("2027-01-07T09:00:00Z")
    with prog.deps.db.transaction() as s:
        s.execute(
            Application.__table__.update()
            .where(Application.id != app.id)
            .values(round_name="")  # as if it had come before the round opened
        )
    assert prog.tick("2027-01-08T09:00:00Z").jobs["rounds"] == "1 moved into 2027A"
    assert prog.tick("2027-01-09T09:00:00Z").jobs["rounds"] == ""
    assert {a.round_name for a in prog.query(select(Application))} == {"2027A"}


def test_who_leaves_between_the_proposal_and_approve_is_not_introduced(prog: Program) -> None:
    """Kofi withdraws and Mia deletes her data after the proposal went out: APPROVE still
    works, pairs nobody with them, and their proposed partners are told they were left out
    this time instead of being introduced to someone who is gone."""
    from tests.flows.test_commands_flow import mail, send, withdraw

    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    [proposal] = prog.query(select(Proposal))
    partner_of = {
        a: b
        for pair in proposal.payload["pairs"]
        for a in pair["members"]
        for b in pair["members"]
        if a != b and len(pair["members"]) == 2
    }
    people = {p.email: p.id for p in prog.query(select(Person))}
    withdraw(prog, "2027-02-03T10:00:00Z", "kofi@example.net")  # and confirmed
    send(prog, "2027-02-03T10:05:00Z", mail("mia@example.net", "DELETE MY DATA"))
    [mia] = prog.query(select(Person).where(Person.email == "mia@example.net"))
    send(
        prog, "2027-02-03T10:10:00Z", mail("mia@example.net", f"DELETE MY DATA {mia.delete_token}")
    )
    assert prog.query(select(Person).where(Person.email == "mia@example.net")) == []

    reply_to = proposal_mail["Reply-To"].addresses[0].addr_spec
    prog.put(_reply(reply_to, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    assert prog.query(select(Proposal.state)) == ["approved"]
    assert prog.query(select(InboundRow).where(InboundRow.state == "quarantined")) == []
    paired = {m.person_id for m in prog.query(select(PairMember))}
    assert people["kofi@example.net"] not in paired and people["mia@example.net"] not in paired
    assert not [m for m in prog.sent_to("kofi@example.net") if m["Cc"]]  # no introduction
    stranded = {partner_of[people[g]] for g in ("kofi@example.net", "mia@example.net")}
    stranded -= {people["kofi@example.net"], people["mia@example.net"]}
    assert stranded  # in this cast the two were not paired with each other
    # Issue 12: left alone before APPROVE, they wait in the round's pool instead of being
    # deferred to the next round; two who fit each other (another country, never partners)
    # are paired from it at once and introduced.
    with prog.deps.db.transaction() as s:
        together = {
            frozenset(
                m.person_id for m in s.scalars(select(PairMember).where(PairMember.pair_id == pid))
            )
            for pid in {m.pair_id for m in s.scalars(select(PairMember))}
        }
    assert frozenset(stranded) in together
    for partner in stranded:
        email = next(e for e, i in people.items() if i == partner)
        assert [m for m in prog.sent_to(email) if m["Cc"]]  # introduced to the other
    assert len(paired) == len(PEOPLE) - 2


def test_who_was_kept_out_of_the_pool_hears_why_on_approve(prog: Program) -> None:
    """Paused when the pairs were made, or silent through last round: told on APPROVE, with
    the application kept for the next round; the withdrawn and the bouncing get no letter."""
    _apply(prog)
    with prog.deps.db.transaction() as s:
        people = {p.email: p for p in s.scalars(select(Person))}
        people["kofi@example.net"].status = "paused"  # PAUSE 2 weeks before matching
        people["mia@example.net"].silent_cycles = 3
        people["mia@example.net"].wants_next_round = False  # form carried over, not a new one
        people["raj@example.net"].bouncing = True
    before = {"raj@example.net": len(prog.sent_to("raj@example.net"))}
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    prog.put(_reply(proposal_mail["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")

    def letter(email: str) -> str:
        [m] = [m for m in prog.sent_to(email) if "About your place" in m["Subject"]]
        return m.get_body(("plain",)).get_content()

    assert "paused when the pairs were made" in letter("kofi@example.net")
    assert "reply CONTINUE" in letter("mia@example.net")
    assert len(prog.sent_to("raj@example.net")) == before["raj@example.net"]
    kept = prog.query(select(Application).join(Person).where(Person.email == "kofi@example.net"))
    assert [(a.round_name, a.status) for a in kept] == [("", "valid")]  # waits for the next


def test_a_wish_for_another_round_is_answered_by_being_matched(prog: Program) -> None:
    """Sam was silent last round but asked for another: matched, and the wish is spent, so a
    silence in this round counts at the next matching."""
    _apply(prog)
    with prog.deps.db.transaction() as s:
        sam = s.scalars(select(Person).where(Person.email == "sam@example.net")).one()
        sam.silent_cycles, sam.wants_next_round = 3, True
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    prog.put(_reply(proposal_mail["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    [sam] = prog.query(select(Person).where(Person.email == "sam@example.net"))
    assert sam.id in {m.person_id for m in prog.query(select(PairMember))}
    assert sam.wants_next_round is False


def _form(name: str, country: str, interests: str) -> str:
    return (
        f"Name: {name}\nCountry: {country}\nInstitution: Library of {name}\nSector: public\n"
        f"Career stage: mid-career\nInterests: {interests}\n"
    )


def test_a_form_corrected_after_the_close_updates_the_application_matched(
    prog: Program,
) -> None:
    """Ana resends her form after applications closed, before matching: the round matches the
    corrected form, and no second application waits to enrol her in the next round."""
    _apply(prog)
    fixed = _form("Ana", "Spain", "rare books")
    prog.put(application("ana@example.net", "Ana", fixed, message_id="<ana-fixed@example.net>"))
    prog.tick("2027-02-01T09:00:00Z")
    apps = prog.query(select(Application).join(Person).where(Person.email == "ana@example.net"))
    assert [(a.round_name, a.fields["interests"]) for a in apps] == [("2027A", ["rare books"])]
    answer = prog.sent_to("ana@example.net")[-1].get_body(("plain",)).get_content()
    assert "we have updated your application" in answer
    assert 'registered for the round "2027A"' in answer and "No round is open" not in answer


def test_matching_on_the_closing_day_waits_for_the_close(tmp_path: Path, db_url: str) -> None:
    """With no matching date (the closing day), a form sent that afternoon is in the pool."""
    round_toml = ROUND.replace("matching_date = 2027-02-03\n", "")
    assert round_toml != ROUND
    prog = Program.create(tmp_path / "p", db_url, rounds=round_toml)
    _apply(prog)
    prog.tick("2027-01-31T09:00:00Z")  # the digest hour of the closing day
    assert prog.query(select(Proposal)) == []
    late = _form("Olu", "Nigeria", "outreach")
    prog.put(application("olu@example.net", "Olu", late, message_id="<olu@example.net>"))
    prog.tick("2027-01-31T15:00:00Z")
    prog.tick("2027-02-01T00:00:00Z")
    [proposal] = prog.query(select(Proposal))
    [olu] = prog.query(select(Person.id).where(Person.email == "olu@example.net"))
    assert olu in {i for p in proposal.payload["pairs"] for i in p["members"]}


def test_a_form_after_the_pairs_were_proposed_waits_for_the_next_round(prog: Program) -> None:
    """The round is still open but already matched: the form waits, and says so."""
    _apply(prog)
    with prog.deps.db.transaction() as s:  # a coordinator matched early (mailbot match)
        s.execute(update(RoundRow).where(RoundRow.name == "2027A").values(state="proposed"))
    late = _form("Olu", "Nigeria", "outreach")
    prog.put(application("olu@example.net", "Olu", late, message_id="<olu@example.net>"))
    prog.tick("2027-01-20T09:00:00Z")
    apps = prog.query(select(Application).join(Person).where(Person.email == "olu@example.net"))
    assert [a.round_name for a in apps] == [""]
    assert (
        "No round is open" in prog.sent_to("olu@example.net")[-1].get_body(("plain",)).get_content()
    )


def test_a_new_form_after_a_silent_round_asks_to_take_part(prog: Program) -> None:
    """Silent through last round, then a new form: that is asking for another round."""
    with prog.deps.db.transaction() as s:
        s.add(
            Person(
                email="mia@example.net",
                name="Mia",
                language="en",
                country="AU",
                status="active",
                silent_cycles=3,
                created_at=START,
                updated_at=START,
            )
        )
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    prog.put(_reply(proposal_mail["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    [mia] = prog.query(select(Person.id).where(Person.email == "mia@example.net"))
    assert mia in {m.person_id for m in prog.query(select(PairMember))}


def test_paused_between_proposal_and_approve_is_told_and_kept(prog: Program) -> None:
    """Paused after the proposal went out: left out on APPROVE, told why, form kept."""
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    send(prog, "2027-02-03T10:00:00Z", mail("kofi@example.net", "PAUSE 1 week"))
    [proposal_mail] = _proposals(prog)
    prog.put(_reply(proposal_mail["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    [letter] = [m for m in prog.sent_to("kofi@example.net") if "About your place" in m["Subject"]]
    assert "paused when the pairs were made" in letter.get_body(("plain",)).get_content()
    kept = prog.query(select(Application).join(Person).where(Person.email == "kofi@example.net"))
    assert [(a.round_name, a.status) for a in kept] == [("", "valid")]


def test_left_out_with_a_form_already_waiting_keeps_one_application(prog: Program) -> None:
    """Carried over on APPROVE while a form already waits for the next round: APPROVE
    works, and one application waits, the newer form."""
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    send(prog, "2027-02-03T10:00:00Z", mail("kofi@example.net", "PAUSE 1 week"))
    with prog.deps.db.transaction() as s:  # a form for the next round, sent meanwhile
        kofi = s.scalars(select(Person).where(Person.email == "kofi@example.net")).one()
        s.add(
            Application(
                person_id=kofi.id,
                round_name="",
                fields={"interests": ["newer"]},
                status="valid",
                submitted_at=START,
                updated_at=START,
            )
        )
    [proposal_mail] = _proposals(prog)
    prog.put(_reply(proposal_mail["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    assert prog.query(select(Proposal.state)) == ["approved"]
    kept = prog.query(select(Application).join(Person).where(Person.email == "kofi@example.net"))
    assert [(a.round_name, a.fields["interests"]) for a in kept] == [
        ("", ["research data", "outreach"])
    ]


def test_a_coordinator_reply_without_a_command_is_answered(prog: Program) -> None:
    """'Approved, thanks!' is not APPROVE: nothing changes, and the coordinator hears so."""
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal_mail] = _proposals(prog)
    before = len(prog.sent_to("director@example.org"))
    prog.put(_reply(proposal_mail["Reply-To"].addresses[0].addr_spec, "Approved, thanks!"))
    prog.tick("2027-02-03T12:00:00Z")
    assert prog.query(select(Proposal.state)) == ["proposed"]
    [answer] = prog.sent_to("director@example.org")[before:]
    assert answer["Subject"].startswith("Not done")
    assert "reply with APPROVE or REDO" in answer.get_body(("plain",)).get_content()


def test_a_form_sent_while_the_proposal_waits_is_kept_for_the_next_round(prog: Program) -> None:
    """The proposal stands on the forms it was made from: a new one waits for the next round."""
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    fixed = _form("Ana", "Spain", "rare books")
    prog.put(application("ana@example.net", "Ana", fixed, message_id="<ana-late@example.net>"))
    prog.tick("2027-02-03T10:00:00Z")
    apps = prog.query(select(Application).join(Person).where(Person.email == "ana@example.net"))
    got = sorted((a.round_name, a.fields["interests"]) for a in apps)
    assert got == [("", ["rare books"]), ("2027A", ["outreach", "makerspaces"])]
