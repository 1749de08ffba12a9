"""Pair activity counted in one fetch batch that mixes partner mail with commands touching
the same memberships: what the batch leaves is what handling the mail in order would.

Partner mail's activity is held in the chunk's buffer (`flows.metadata_buffer`) and written
with one statement; a command after it must see it (also on a membership the session holds as
an ORM object), and its own change must not be overwritten by what the buffer writes
afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select

from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import InboundRow, PairMember, Person
from mailbot.flows.activity import count_activity
from mailbot.flows.metadata_buffer import Membership, MetadataBuffer
from tests.flows.test_commands_flow import (
    DIRECTOR,
    coordinator_key,
    mail,
    pairs,
    prog,  # noqa: F401  (the matched-round fixture)
    text,
)
from tests.flows.test_round_flow import at, pair_of, partner_mail, round_  # noqa: F401
from tests.support.program import SECRET, Program

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


def _members(program: Program, pair_id: int) -> dict[str, tuple[int, datetime | None]]:
    with program.deps.db.transaction() as s:
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


def test_a_command_after_partner_mail_sees_its_activity_on_members_loaded_before(
    prog: Program,  # noqa: F811
) -> None:
    """LIAISE writes to the most silent member: at the first LIAISE neither wrote (the first
    joined is the silent one), that one then writes to the partner, and the second LIAISE, in
    the same batch, must find the other silent."""
    pair_id, (first, second) = next(iter(sorted(pairs(prog).items())))
    track = tokens.tag_address(PROGRAM, Route.PAIR, str(pair_id), SECRET)
    key = coordinator_key()
    prog.put(
        mail(DIRECTOR, f"LIAISE {pair_id} first note", to=key),
        partner_mail(first, second, track, 1, Date="Fri, 05 Feb 2027 08:00:00 +0000"),
        mail(DIRECTOR, f"LIAISE {pair_id} second note", to=key),
    )
    prog.tick("2027-02-05T09:00:00Z")
    assert prog.count() == 0

    def liaised(addr: str) -> list[str]:
        return [
            word
            for m in prog.sent_to(addr)
            if m["To"] and addr in m["To"]
            for word in ("first note", "second note")
            if word in text(m)
        ]

    assert liaised(first) == ["first note"]
    assert liaised(second) == ["second note"]


def test_writing_the_buffer_updates_a_membership_the_session_holds(
    prog: Program,  # noqa: F811
) -> None:
    """An effect may hold a membership as an ORM object (a later query returns that object as
    it is): written activity must show on it, as on the database."""
    when = datetime(2027, 2, 5, 8, tzinfo=UTC)
    with prog.deps.db.transaction() as s:
        member = s.scalars(select(PairMember).order_by(PairMember.id).limit(1)).one()
        before = member.messages
        row = Membership(member.id, member.last_wrote_at, member.messages)
        buffer = MetadataBuffer()
        assert count_activity([row], when) == 1
        buffer.add_activity([row])
        buffer.write(s)
        assert (member.messages, member.last_wrote_at) == (before + 1, when)
        stored = s.execute(
            select(PairMember.messages, PairMember.last_wrote_at).where(PairMember.id == member.id)
        ).one()
        assert tuple(stored) == (before + 1, when)
