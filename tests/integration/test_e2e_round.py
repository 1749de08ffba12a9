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

pytestmark = pytest.mark.integration

START = datetime(2027, 2, 8, 10)


def at(day: int) -> str:
    return (START + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parsed(raws: list[bytes]) -> list[EmailMessage]:
    return [email.message_from_bytes(r, policy=email.policy.default) for r in raws]  # type: ignore[misc]


def subjects(stack: dict[str, Any], user: str) -> list[str]:
    return [m["Subject"] for m in parsed(mailbox.fetch_all(stack, user))]


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

    live.cli("tick", "--now", at(14))
    live.cli("tick", "--now", at(16))

    def nudges(addr: str) -> int:
        return sum("How are things" in s for s in subjects(stack, addr))

    deadline = time.monotonic() + 10  # delivery through Postfix is asynchronous
    while nudges(quiet[0]) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert nudges(quiet[0]) == 1 and nudges(quiet[1]) == 1
    assert nudges(talker) == 0 and nudges(partner) == 0
    assert any("Topic 1" in s for s in subjects(stack, talker))
