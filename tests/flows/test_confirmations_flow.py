# ruff: noqa: F811  (`prog` is the fixture imported from test_commands_flow)
"""A request that must wait for the person, end to end on a matched round (issue 12: a
confirmation before anything irreversible; issue 11 item 3: participants' commands no longer
trust From alone).

WITHDRAW waits for the person's YES (a reply to the request's signed key) and only then
tells the partner; NO keeps things as they are. A WITHDRAW or PAUSE whose From domain fails
DMARC at our server changes nothing and tells no partner: the real address is asked, and a
YES to that request carries it out. A failing message sent to the person's own signed reply
key acts at once. DELETE MY DATA confirms by the same mechanism (YES), or by its code.
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import CommandRow, Pair, Person
from tests.flows.test_commands_flow import (  # noqa: F401
    PROGRAM,
    confirm,
    later,
    mail,
    partner_of,
    person,
    prog,
    send,
    text,
)
from tests.support.program import SECRET, Program

ANA = "ana@example.net"
T = "2027-02-10T09:00:00Z"
# What our receiving server writes when the From domain's DMARC fails (forged From).
DMARC_FAIL = (
    "mx.example.org; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=example.net"
)


def told(prog: Program, addr: str) -> int:
    """Mail to `addr` other than the round's topics (which go on by themselves)."""
    topics = ("topic", "sujet", "tema")
    return len([m for m in prog.sent_to(addr) if not str(m["Subject"]).lower().startswith(topics)])


def answer(prog: Program, addr: str) -> EmailMessage:
    """The last answer to `addr`'s own mail (threaded to it), whatever the round sent since."""
    return [m for m in prog.sent_to(addr) if m["In-Reply-To"]][-1]


def status(prog: Program, addr: str) -> str:
    found = person(prog, addr)
    assert found is not None
    return found.status


def commands(prog: Program, name: str) -> list[CommandRow]:
    return prog.query(select(CommandRow).where(CommandRow.name == name).order_by(CommandRow.id))


def request_key(prog: Program, addr: str) -> str:
    request = answer(prog, addr)
    reply_to = request["Reply-To"].addresses[0].addr_spec
    tag = tokens.read_tag(reply_to, PROGRAM, SECRET)
    assert tag is not None and tag[0] is Route.REPLY and tag[1].startswith("k"), reply_to
    return reply_to


def test_withdraw_waits_for_yes_and_only_then_the_partner_is_told(prog: Program) -> None:
    pair_id, partner = partner_of(prog, ANA)
    heard = told(prog, partner)
    asking = mail(ANA, "WITHDRAW")
    send(prog, T, asking)
    assert status(prog, ANA) == "active"
    assert prog.query(select(Pair.state).where(Pair.id == pair_id)) == ["active"]
    assert told(prog, partner) == heard
    request = answer(prog, ANA)
    request_key(prog, ANA)
    assert "Reply YES to confirm" in request["Subject"]
    assert request["In-Reply-To"] in asking.decode()
    assert "reply to this message with YES" in text(request)
    assert [c.state for c in commands(prog, "withdraw")] == ["unconfirmed"]

    confirm(prog, later(T), ANA)
    assert status(prog, ANA) == "withdrawn"
    assert prog.query(select(Pair.state).where(Pair.id == pair_id)) == ["ended"]
    assert told(prog, partner) == heard + 1  # told once, now
    ack = answer(prog, ANA)
    assert "You have left the round" in text(ack)
    assert [c.state for c in commands(prog, "withdraw")] == ["done"]
    assert [c.state for c in commands(prog, "yes")] == ["done"]  # not an IN TOUCH


def test_no_keeps_things_as_they_are(prog: Program) -> None:
    _, partner = partner_of(prog, ANA)
    heard = told(prog, partner)
    send(prog, T, mail(ANA, "WITHDRAW"))
    confirm(prog, later(T), ANA, "No")
    assert status(prog, ANA) == "active"
    assert told(prog, partner) == heard
    assert "As you asked, nothing has changed." in text(answer(prog, ANA))
    assert [c.state for c in commands(prog, "withdraw")] == ["cancelled"]


def test_a_forged_withdraw_does_nothing_but_ask_the_real_address(prog: Program) -> None:
    """Issue 11 item 3: `From: victim` with dmarc=fail withdrew the victim and told the
    partner. Now nothing changes; the victim is asked at their real address, and their
    "I never asked for this" confirms nothing."""
    pair_id, partner = partner_of(prog, ANA)
    heard = told(prog, partner)
    send(prog, T, mail(ANA, "WITHDRAW", Authentication_Results=DMARC_FAIL))
    assert status(prog, ANA) == "active"
    assert prog.query(select(Pair.state).where(Pair.id == pair_id)) == ["active"]
    assert told(prog, partner) == heard
    request = answer(prog, ANA)
    assert request["To"].addresses[0].addr_spec == ANA
    assert "could not verify" in text(request).replace("\r\n", " ")
    key = request_key(prog, ANA)
    [cmd] = commands(prog, "withdraw")
    assert cmd.state == "unconfirmed" and cmd.args["confirm"] == "verify"

    send(prog, later(T), mail(ANA, "I never asked for this! Who sent it?", to=key))
    assert status(prog, ANA) == "active"
    assert told(prog, partner) == heard
    assert [c.state for c in commands(prog, "withdraw")] == ["unconfirmed"]


def test_a_forged_pause_and_resume_change_nothing(prog: Program) -> None:
    _, partner = partner_of(prog, ANA)
    heard = told(prog, partner)
    send(
        prog,
        T,
        mail(ANA, "PAUSE 3 weeks", Authentication_Results=DMARC_FAIL),
        mail(ANA, "RESUME", Authentication_Results=DMARC_FAIL),
    )
    found = person(prog, ANA)
    assert found is not None and found.status == "active" and found.paused_until is None
    assert told(prog, partner) == heard


def test_an_unverified_pause_is_carried_out_once_confirmed(prog: Program) -> None:
    """Ana's own domain fails DMARC (a misconfigured server): her PAUSE waits; her YES to the
    request — which carries its signed key — pauses her and tells her partner."""
    _, partner = partner_of(prog, ANA)
    heard = told(prog, partner)
    send(prog, T, mail(ANA, "PAUSE 3 weeks", Authentication_Results=DMARC_FAIL))
    assert status(prog, ANA) == "active"
    request = answer(prog, ANA)
    assert "pause your participation for 21 days" in text(request).replace("\r\n", " ")
    key = request_key(prog, ANA)

    send(prog, later(T), mail(ANA, "YES", to=key, Authentication_Results=DMARC_FAIL))
    found = person(prog, ANA)
    assert found is not None and found.status == "paused" and found.paused_until is not None
    assert (found.paused_until - found.updated_at).days == 21
    assert told(prog, partner) == heard + 1
    assert "Your participation is paused until" in text(answer(prog, ANA))


def test_a_failing_message_to_the_persons_own_key_acts_at_once(prog: Program) -> None:
    """A reply to program mail (their signed reply key in To) proves the mailbox: no request."""
    found = person(prog, ANA)
    assert found is not None
    own = tokens.tag_address(PROGRAM, Route.REPLY, f"u{found.id}", SECRET)
    send(prog, T, mail(ANA, "PAUSE 2 weeks", to=own, Authentication_Results=DMARC_FAIL))
    assert status(prog, ANA) == "paused"


def test_a_yes_too_late_confirms_nothing(prog: Program) -> None:
    send(prog, T, mail(ANA, "WITHDRAW"))
    confirm(prog, "2027-02-25T09:10:00Z", ANA)  # 15 days on
    assert status(prog, ANA) == "active"
    assert "came too late" in text(answer(prog, ANA))
    assert [c.state for c in commands(prog, "withdraw")] == ["expired"]


def test_delete_my_data_is_confirmed_by_yes_like_any_request(prog: Program) -> None:
    send(prog, T, mail(ANA, "DELETE MY DATA"))
    assert person(prog, ANA) is not None
    assert "reply to this message with YES" in text(answer(prog, ANA)).replace("\r\n", " ")
    confirm(prog, later(T), ANA)
    assert prog.query(select(Person).where(Person.email == ANA)) == []
    assert "deleted" in prog.sent_to(ANA)[-1]["Subject"].lower()
    assert {c.sender for c in prog.query(select(CommandRow))} >= {""}
    assert ANA not in {c.sender for c in prog.query(select(CommandRow))}


def test_a_forged_delete_my_data_deletes_nothing(prog: Program) -> None:
    send(prog, T, mail(ANA, "DELETE MY DATA", Authentication_Results=DMARC_FAIL))
    assert person(prog, ANA) is not None
    assert answer(prog, ANA)["To"].addresses[0].addr_spec == ANA  # asked at the real address
