"""A round end to end on real Dovecot + Postfix through `mailbot tick --now …`: applications,
the proposal in the coordinator's mailbox, APPROVE by reply, introductions in both partners'
mailboxes, topics, partner mail as activity, the day-14 nudge and its cooldown."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.integration.live import Live
from tests.support import mailbox

# On PostgreSQL only: the same flows run on both databases in tests/flows (in process, on the
# Maildir transport), and SQLite has more flow tests of its own (demo, round benchmark, CLI,
# database outage); what these tests add is real mail through `mailbot tick`, which does not
# depend on the database.  Once on each database cost ~70 s of the suite's ~13 minutes.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize(
        "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
]

START = datetime(2027, 2, 8, 10)


def at(day: int) -> str:
    return (START + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parsed(raws: list[bytes]) -> list[EmailMessage]:
    return [email.message_from_bytes(r, policy=email.policy.default) for r in raws]  # type: ignore[misc]


def subjects(stack: dict[str, Any], user: str) -> list[str]:
    return [m["Subject"] for m in parsed(mailbox.fetch_all(stack, user))]


def _wait_for_subject(stack: dict[str, Any], user: str, words: str) -> EmailMessage:
    """The first message in `user`'s inbox whose subject has `words` (waits up to 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = [m for m in parsed(mailbox.fetch_all(stack, user)) if words in str(m["Subject"])]
        if found or time.monotonic() > deadline:
            assert found, (user, subjects(stack, user))
            return found[0]
        time.sleep(0.05)


@pytest.fixture
def matched(mailstack: dict[str, Any], db_url: str, tmp_path: Path) -> tuple[Live, list[str]]:
    live = Live.create(mailstack, db_url, tmp_path / "live")
    people = [
        (mailbox.new_user(mailstack, "kofi", "example.net"), "Kofi", "Ghana", "research data"),
        (mailbox.new_user(mailstack, "ana", "example.org"), "Ana", "Spain", "outreach"),
        (mailbox.new_user(mailstack, "raj", "example.net"), "Raj", "India", "research data"),
        (mailbox.new_user(mailstack, "lea", "example.org"), "Léa", "France", "outreach"),
    ]
    for addr, name, country, interest in people:
        form = (
            f"Name: {name}\nCountry: {country}\nInstitution: Library\nSector: academic\n"
            f"Career stage: mid-career\nInterests: {interest}, maps\n"
        )
        mailbox.send(
            mailstack,
            mailbox.make_message(addr, live.program, "Application", form),
            addr,
            live.program,
        )
    mailbox.wait_for(mailstack, live.program, len(people))
    live.cli("tick", "--now", "2027-01-12T09:00:00Z")
    live.cli("tick", "--now", "2027-02-03T09:00:00Z")
    proposals = [
        m
        for m in parsed(mailbox.wait_for(mailstack, live.coordinator, 1))
        if "proposal" in m["Subject"].lower()
    ]
    assert proposals, subjects(mailstack, live.coordinator)
    reply = mailbox.make_message(
        live.coordinator,
        proposals[0]["Reply-To"].addresses[0].addr_spec,
        "Re: " + proposals[0]["Subject"],
        "APPROVE\n",
    )
    mailbox.send(mailstack, reply, live.coordinator, reply["To"])
    mailbox.wait_for(mailstack, live.program, 1)
    out = live.cli("tick", "--now", "2027-02-03T12:00:00Z")
    assert "command 1" in out.stdout, out.stdout
    return live, [p[0] for p in people]


def test_approve_by_reply_introduces_both_partners(matched: tuple[Live, list[str]]) -> None:
    live, people = matched
    stack = live.stack
    intros: dict[str, EmailMessage] = {}
    for addr in people:
        got = [m for m in parsed(mailbox.wait_for(stack, addr, 2)) if m["Cc"]]
        assert len(got) == 1, addr
        intros[addr] = got[0]
    for addr, intro in intros.items():
        to = {a.addr_spec for a in intro["To"].addresses}
        assert addr in to and len(to) == 2
        partner = (to - {addr}).pop()
        assert intros[partner]["Message-ID"] == intro["Message-ID"]  # one mail to both
        assert live.program.split("@")[0] + "+p-" in intro["Cc"].addresses[0].addr_spec


def test_partner_mail_is_activity_and_the_quiet_pair_is_nudged_once(
    matched: tuple[Live, list[str]],
) -> None:
    live, people = matched
    stack = live.stack
    intros = {a: next(m for m in parsed(mailbox.wait_for(stack, a, 2)) if m["Cc"]) for a in people}
    talker = people[0]
    partner = ({a.addr_spec for a in intros[talker]["To"].addresses} - {talker}).pop()
    quiet = [a for a in people if a not in (talker, partner)]
    track = intros[talker]["Cc"].addresses[0].addr_spec
    live.cli("tick", "--now", at(0))
    for day in (3, 10):
        for sender, to in ((talker, partner), (partner, talker)):
            msg = mailbox.make_message(sender, to, "Re: hello", "our words, never stored\n")
            msg["Cc"] = track
            mailbox.send(stack, msg, sender, [to, track])
        mailbox.wait_for(stack, live.program, 2)
        live.cli("tick", "--now", at(day))
    # An out-of-office reply from the quiet pair with their tracking address never counts.
    ooo = mailbox.make_message(quiet[0], quiet[1], "Automatic reply: hello", "I am away.\n")
    ooo["Auto-Submitted"] = "auto-replied"
    ooo["Cc"] = intros[quiet[0]]["Cc"].addresses[0].addr_spec
    mailbox.send(stack, ooo, quiet[0], [quiet[1], ooo["Cc"].addresses[0].addr_spec])
    mailbox.wait_for(stack, live.program, 1)
    live.cli("tick", "--now", at(11))

    # Silence is judged against the round's rhythm (issue 12): the first nudge comes after two
    # topic intervals (28 days); the talkers' last mail (day 10) is 18 days old then.
    live.cli("tick", "--now", at(28))
    live.cli("tick", "--now", at(30))

    def nudges(addr: str) -> int:
        return sum("How are things" in s for s in subjects(stack, addr))

    deadline = time.monotonic() + 10  # delivery through Postfix is asynchronous
    while nudges(quiet[0]) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert nudges(quiet[0]) == 1 and nudges(quiet[1]) == 1
    assert nudges(talker) == 0 and nudges(partner) == 0
    assert any("Topic 1" in s for s in subjects(stack, talker))


COUNTRIES = [
    "Ghana",
    "Spain",
    "India",
    "France",
    "Chile",
    "Japan",
    "Kenya",
    "Peru",
    "Norway",
    "Egypt",
]


def test_the_ladder_and_commands_over_real_mail(
    mailstack: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    """One-sided nudge, PAUSE suppressing nudges, a dead address ending the pair (its partner
    waits for a new one), WITHDRAW confirmed and REMATCH by reply, and the digest counting what
    the program did by itself instead of listing pairs (issue 12)."""
    stack = mailstack
    live = Live.create(stack, db_url, tmp_path / "live")
    people = [
        mailbox.new_user(stack, f"p{i}", ("example.org", "example.net")[i % 2]) for i in range(10)
    ]
    for i, addr in enumerate(people):
        form = (
            f"Name: Person {i}\nCountry: {COUNTRIES[i]}\nInstitution: Library\n"
            "Sector: public\nCareer stage: senior\nInterests: maps\n"
        )
        mailbox.send(
            stack, mailbox.make_message(addr, live.program, "Application", form), addr, live.program
        )
    mailbox.wait_for(stack, live.program, len(people))
    live.cli("tick", "--now", "2027-01-12T09:00:00Z")
    live.cli("tick", "--now", "2027-02-03T09:00:00Z")
    proposal = next(
        m
        for m in parsed(mailbox.wait_for(stack, live.coordinator, 1))
        if "proposal" in m["Subject"].lower()
    )
    approve = mailbox.make_message(
        live.coordinator, proposal["Reply-To"].addresses[0].addr_spec, "Re: proposal", "APPROVE\n"
    )
    mailbox.send(stack, approve, live.coordinator, approve["To"])
    mailbox.wait_for(stack, live.program, 1)
    live.cli("tick", "--now", "2027-02-03T12:00:00Z")
    intro = {a: next(m for m in parsed(mailbox.wait_for(stack, a, 2)) if m["Cc"]) for a in people}
    pairs: list[tuple[str, str, str]] = []
    for a in people:
        b = ({x.addr_spec for x in intro[a]["To"].addresses} - {a}).pop()
        if a < b:
            pairs.append((a, b, intro[a]["Cc"].addresses[0].addr_spec))
    assert len(pairs) == 5
    (a1, a2, a_track), (b1, b2, _), (c1, c2, _), (d1, d2, _), (e1, e2, _) = pairs

    def to_program(sender: str, text: str, n: int) -> None:
        mailbox.send(
            stack, mailbox.make_message(sender, live.program, text, "\n"), sender, live.program
        )
        mailbox.wait_for(stack, live.program, n)

    live.cli("tick", "--now", at(0))
    # Pair A: only a1 writes.  Pair B: b1 pauses.  Pair D and E: one of each withdraws.
    talk = mailbox.make_message(a1, a2, "Hello", "words\n")
    talk["Cc"] = a_track
    mailbox.send(stack, talk, a1, [a2, a_track])
    to_program(b1, "PAUSE 6 weeks", 2)
    to_program(d1, "WITHDRAW", 3)
    to_program(e1, "WITHDRAW", 4)
    live.cli("tick", "--now", at(2))
    # Leaving waits for the person's YES (issue 12): d1 and e1 reply YES to the request.
    for n, who in enumerate((d1, e1), start=1):
        request = _wait_for_subject(stack, who, "Reply YES to confirm")
        key = request["Reply-To"].addresses[0].addr_spec
        mailbox.send(stack, mailbox.make_message(who, key, "Re: confirm", "YES\n"), who, key)
        mailbox.wait_for(stack, live.program, n)
    live.cli("tick", "--now", (START + timedelta(days=2, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    # Pair C: c1's address fails three days running.
    for day in (3, 4, 5):
        dsn = EmailMessage()
        dsn["From"] = "MAILER-DAEMON@example.org"
        dsn["To"] = live.program
        dsn["Subject"] = "Undelivered Mail Returned to Sender"
        dsn["Message-ID"] = f"<dsn-{day}-{c1}>"
        dsn.set_content(f"This is the mail system.\n\n<{c1}>: host said: 550 5.1.1 User unknown\n")
        mailbox.send(stack, dsn, "", live.program)
        mailbox.wait_for(stack, live.program, 1)
        live.cli("tick", "--now", at(day))
    # d2 asks for a new partner: e2, left alone too, is in another country.
    to_program(d2, "REMATCH", 1)
    live.cli("tick", "--now", at(6))
    talk = mailbox.make_message(a1, a2, "Still there?", "words\n")
    talk["Cc"] = a_track
    mailbox.send(stack, talk, a1, [a2, a_track])
    mailbox.wait_for(stack, live.program, 1)
    live.cli("tick", "--now", at(10))
    for day in (14, 15, 21, 28, 35):  # day 35 is a Monday: the digest
        live.cli("tick", "--now", at(day))

    def got(addr: str, words: str) -> int:
        return sum(words in s for s in subjects(stack, addr))

    deadline = time.monotonic() + 10
    while got(live.coordinator, "Weekly digest") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got(a2, "has written to you") == 1, (subjects(stack, a2), subjects(stack, a1))
    assert got(a1, "has written") == 0
    assert got(b2, "taking a break") == 1
    assert got(b1, "How are things") == 0 and got(b1, "second note") == 0
    assert got(c2, "finding you a partner") == 1  # the pair ended; c2 waits in the pool
    assert got(d2, "has left the round") == 1 and got(e2, "has left the round") == 1
    new_intro = [
        m
        for m in parsed(mailbox.fetch_all(stack, d2))
        if m["Cc"] and e2 in {x.addr_spec for x in m["To"].addresses}
    ]
    assert len(new_intro) == 1
    digest = [
        m
        for m in parsed(mailbox.fetch_all(stack, live.coordinator))
        if "Weekly digest" in m["Subject"]
    ][-1]
    text = digest.get_body(("plain",)).get_content()
    assert "pairs ended: partner's address bounces" in text
    assert "new pairs made from the waiting pool" in text
