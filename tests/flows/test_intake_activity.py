"""Pair activity counted in one fetch batch that mixes partner mail with a command touching
the same memberships: what the batch leaves is what handling the mail in order would.

Partner mail's activity is held in the chunk's buffer (`flows.metadata_buffer`) and written
with one statement; a command in between must see it, and its own change must not be
overwritten by what the buffer writes afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select

from mailbot.edges.tables import InboundRow, PairMember, Person
from tests.flows.test_round_flow import at, pair_of, partner_mail, round_  # noqa: F401
from tests.support.program import Program

PROGRAM = "coordinator@example.org"
ANA = "ana@example.net"


def _command(sender: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = PROGRAM
    msg["Subject"] = "Re: your program"
    msg["Date"] = "Fri, 12 Feb 2027 09:00:00 +0000"
    msg["Message-ID"] = f"<cmd-{body.replace(' ', '-')}-{sender}>"
    msg.set_content(body)
    return bytes(msg)


def _members(prog: Program, pair_id: int) -> dict[str, tuple[int, datetime | None]]:
    with prog.deps.db.transaction() as s:
        rows = s.execute(
            select(Person.email, PairMember.messages, PairMember.last_wrote_at)
            .join(Person, Person.id == PairMember.person_id)
            .where(PairMember.pair_id == pair_id)
        )
        return {email: (n, when) for email, n, when in rows}


def test_partner_mail_and_a_command_in_one_batch_count_as_in_order(round_: Program) -> None:  # noqa: F811
    pair_id, people, track = pair_of(round_, ANA)
    other = next(p.email for p in people if p.email != ANA)
    round_.tick(at(1))
    early = "Fri, 12 Feb 2027 08:00:00 +0000"  # before the tick: the Date is what counts
    round_.put(
        partner_mail(ANA, other, track, 1, Date=early),
        partner_mail(other, ANA, track, 2, Date=early),
        _command(ANA, "IN TOUCH"),  # sets Ana's last_wrote_at to the tick's instant
        partner_mail(ANA, other, track, 3, Date=early),
        partner_mail(other, ANA, track, 4, Date="Fri, 12 Feb 2027 08:30:00 +0000"),
    )
    round_.tick("2027-02-12T10:00:00Z")
    assert round_.count() == 0  # one batch, all handled
    kinds = round_.query(select(InboundRow.kind).order_by(InboundRow.id))
    assert kinds[-5:].count("reply") == 4 and "command" in kinds[-5:]
    tick = datetime(2027, 2, 12, 10, tzinfo=UTC)
    got = _members(round_, pair_id)
    assert got[ANA] == (2, tick)  # the command's instant, not the earlier Date written after
    assert got[other] == (2, datetime(2027, 2, 12, 8, 30, tzinfo=UTC))
