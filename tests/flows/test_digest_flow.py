"""Only what needs judgement reaches a person, once (issue 12), end to end through `tick`:
many commands in one coordinator reply and ONE summary back; a digest item not listed twice
without news and dropped once it resolved itself; the counts of what the program did; held
mail whose sender has applied since; CLOSE and LIAISE never mail an address known to bounce.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.edges.tables import CommandRow, DigestItem, Outbox, Pair, PairMember, PairNote, Person
from tests.flows.test_commands_flow import (
    DIRECTOR,
    NEXT_ROUND,
    PEOPLE,
    _form,
    coordinator_key,
    mail,
    pairs,
    partner_of,
    send,
    text,
)
from tests.flows.test_matching_flow import _apply, _proposals, _reply
from tests.flows.test_round_flow import at, partner_mail
from tests.support.program import Program, application


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = Program.create(tmp_path / "prog", db_url, extra=NEXT_ROUND)
    for i, person in enumerate(PEOPLE):
        p.put(application(person[0], person[1], _form(*person), message_id=f"<app{i}@mua.example>"))
    p.tick("2027-01-12T09:00:00Z")
    p.tick("2027-02-03T09:00:00Z")
    [proposal] = [m for m in p.sent_to(DIRECTOR) if "proposal" in m["Subject"].lower()]
    send(p, "2027-02-03T12:00:00Z", mail(DIRECTOR, "APPROVE", to=proposal["Reply-To"]))
    yield p
    p.close()


def replies_to_director(prog: Program) -> list[str]:
    return [m["Subject"] for m in prog.sent_to(DIRECTOR) if "digest" not in m["Subject"].lower()]


def digests(prog: Program) -> list[str]:
    return [text(m) for m in prog.sent_to(DIRECTOR) if "digest" in m["Subject"].lower()]


# --------------------------------------------------------------------------- one reply, many


def test_a_reply_of_many_lines_acts_on_each_and_is_confirmed_once(prog: Program) -> None:
    (p1, (a1, _)), (p2, (b1, b2)), (p3, (c1, c2)) = sorted(pairs(prog).items())
    before = len(replies_to_director(prog))
    body = (
        "Hi,\n\n"
        f"NOTE {p1} called them both\n"
        f"CLOSE {p2}\n"
        "CLOSE 999\n"
        f"CLOES {p3}\n"
        f"LIAISE {p3} Hello both,\n"
        "how is it going?\n\n"
        "Thanks,\nDirector\n\n"
        "On Mon, 15 Feb 2027, Program <coordinator@example.org> wrote:\n"
        f"> CLOSE {p3}\n"
    )
    send(prog, "2027-02-05T10:00:00Z", mail(DIRECTOR, body, to=coordinator_key()))

    # every line acted on (or refused) on its own ...
    assert [n.text for n in prog.query(select(PairNote))] == ["called them both"]
    assert prog.query(select(Pair.state).where(Pair.id == p2)) == ["closed"]
    assert p3 in pairs(prog)  # the typo and the quoted line changed nothing
    liaise = prog.sent_to(c1)[-1] if "Hello both" in text(prog.sent_to(c1)[-1]) else None
    liaise = liaise or prog.sent_to(c2)[-1]
    assert "Hello both,\nhow is it going?" in text(liaise).replace("\r\n", "\n")
    rows = prog.query(select(CommandRow).where(CommandRow.sender == DIRECTOR).order_by("id"))
    assert [(r.name, r.state) for r in rows[1:]] == [  # [0] is the APPROVE
        ("note", "done"),
        ("close", "done"),
        ("close", "refused"),
        ("liaise", "done"),
    ]
    # ... and ONE mail back, listing each line's outcome
    new = replies_to_director(prog)[before:]
    assert len(new) == 1 and new[0].startswith("Your reply: 3 of 5 lines done, 2 not done")
    summary = text(prog.sent_to(DIRECTOR)[-1])
    assert f"Done: CLOSE pair {p2}." in summary
    assert "Not done: CLOSE pair 999 — there is no pair 999" in summary
    assert f"CLOES {p3}\r\n   Not a command: nothing done." in summary
    for addr in (b1, b2):
        assert "clos" in prog.sent_to(addr)[-1]["Subject"].lower()
    assert a1 not in [a.addr_spec for a in prog.sent_to(DIRECTOR)[-1]["To"].addresses]


def test_thirty_lines_are_thirty_actions_and_one_summary(prog: Program) -> None:
    pair_id, _ = partner_of(prog, "ana@example.net")
    before = len(replies_to_director(prog))
    body = "\n".join(f"NOTE {pair_id} note number {i}" for i in range(30))
    send(prog, "2027-02-05T10:00:00Z", mail(DIRECTOR, body, to=coordinator_key()))
    assert len(prog.query(select(PairNote))) == 30
    new = replies_to_director(prog)[before:]
    assert new == [new[0]] and new[0].startswith("Your reply: 30 of 30 lines done")


def test_every_line_is_authenticated(prog: Program) -> None:
    """Without the signed key, or from someone else, no line acts; a coordinator hears once."""
    (p1, _), (p2, _), _ = sorted(pairs(prog).items())
    before = len(replies_to_director(prog))
    body = f"CLOSE {p1}\nCLOSE {p2}\n"
    send(
        prog,
        "2027-02-05T10:00:00Z",
        mail("mallory@example.net", body, to=coordinator_key()),
        mail(DIRECTOR, body),  # a coordinator, but to the plain address: no signed key
    )
    assert {p1, p2} <= set(pairs(prog))
    new = replies_to_director(prog)[before:]
    assert len(new) == 1 and "0 of 2 lines done" in new[0]
    assert "does not carry the signed key" in text(prog.sent_to(DIRECTOR)[-1])


# --------------------------------------------------------------------------- bouncing


def _bounces(prog: Program, address: str) -> None:
    with prog.deps.db.transaction() as s:
        s.execute(update(Person).where(Person.email == address).values(bouncing=True))


def test_close_never_mails_an_address_known_to_bounce(prog: Program) -> None:
    pair_id, partner = partner_of(prog, "ana@example.net")
    _bounces(prog, "ana@example.net")
    ana_before, partner_before = len(prog.sent_to("ana@example.net")), len(prog.sent_to(partner))
    send(prog, "2027-02-05T12:00:00Z", mail(DIRECTOR, f"CLOSE {pair_id}", to=coordinator_key()))
    assert prog.query(select(Pair.state).where(Pair.id == pair_id)) == ["closed"]
    assert len(prog.sent_to("ana@example.net")) == ana_before
    assert len(prog.sent_to(partner)) == partner_before + 1
    done = prog.sent_to(DIRECTOR)[-1]
    assert done["Subject"].startswith(f"Done: CLOSE pair {pair_id}")
    assert "not written to (address bounces): Ana García <ana@example.net>" in text(done)


def test_liaise_with_a_silent_member_whose_address_bounces_writes_to_nobody(
    prog: Program,
) -> None:
    pair_id, partner = partner_of(prog, "ana@example.net")
    send(prog, "2027-02-05T09:00:00Z", mail(partner, "IN TOUCH"))  # Ana is the silent one
    _bounces(prog, "ana@example.net")
    before = {a: len(prog.sent_to(a)) for a in ("ana@example.net", partner)}
    send(prog, "2027-02-05T10:00:00Z", mail(DIRECTOR, f"LIAISE {pair_id}", to=coordinator_key()))
    assert {a: len(prog.sent_to(a)) for a in before} == before
    assert "bounces: nobody was written to" in text(prog.sent_to(DIRECTOR)[-1])


# --------------------------------------------------------------------------- the digest


def test_held_mail_is_not_listed_once_its_sender_has_applied(prog: Program) -> None:
    stranger = "zoe@example.com"
    other = "yann@example.com"
    prog.tick("2027-02-08T09:00:00Z")  # Monday: this week's digest is out
    send(
        prog,
        "2027-02-09T09:00:00Z",
        mail(stranger, "Can I still join?", subject="Hello"),
        mail(other, "Who runs this?", subject="Hello"),
    )
    form = "Name: Zoe Li\nCountry: China\nInstitution: Library\nSector: public\n"
    form += "Career stage: early-career\nInterests: outreach\n"
    send(prog, "2027-02-10T09:00:00Z", application(stranger, "Zoe Li", form))
    prog.tick("2027-02-15T09:00:00Z")  # Monday: the digest
    body = digests(prog)[-1]
    assert f"held for you in the mailbox: {other}" in body
    assert stranger not in body.split("held for you")[1]


@pytest.fixture
def judged(tmp_path: Path, db_url: str) -> Iterator[Program]:
    """A round whose exhausted pairs go to the coordinators (`ladder.auto_resolve = false`)."""
    p = Program.create(tmp_path / "prog", db_url, extra="[ladder]\nauto_resolve = false\n")
    _apply(p)
    p.tick("2027-02-03T09:00:00Z")
    [proposal] = _proposals(p)
    p.put(_reply(proposal["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    p.tick("2027-02-03T12:00:00Z")
    yield p
    p.close()


def test_an_item_is_not_listed_twice_without_news_and_dropped_once_resolved(
    judged: Program,
) -> None:
    for day in (0, 14, 28, 42, 49, 55):
        judged.tick(at(day))
    judged.tick(at(56))  # Monday: every pair is exhausted and listed, once
    first = digests(judged)[-1]
    listed = {int(x) for x in _pair_lines(first)}
    assert listed and all(f"CLOSE {p}" in first for p in listed)
    remembered = {r.key for r in judged.query(select(DigestItem))}
    assert remembered == {f"pair:{p}" for p in listed}

    # One pair talks again before the next digest: resolved, dropped, forgotten.
    resolved = min(listed)
    a, b = judged.query(
        select(Person.email)
        .join(PairMember, PairMember.person_id == Person.id)
        .where(PairMember.pair_id == resolved)
    )[:2]
    track = next(m for m in judged.sent_to(a) if m["Cc"])["Cc"].addresses[0].addr_spec
    judged.put(partner_mail(a, b, track, 1), partner_mail(b, a, track, 2))
    judged.tick(at(60))
    sent = len(digests(judged))
    judged.tick(at(63))  # next Monday: nothing new about the others
    second = digests(judged)[-1]
    assert len(digests(judged)) == sent + 1
    assert _pair_lines(second) == []  # not listed twice without news
    assert f"no news since (not listed again; their lines there still work): {len(listed) - 1}" in (
        second.replace("\r\n", " ")
    )
    remembered = {r.key for r in judged.query(select(DigestItem))}
    assert remembered == {f"pair:{p}" for p in listed - {resolved}}


def _pair_lines(body: str) -> list[str]:
    import re

    return re.findall(r"^  Pair (\d+) \(", body, re.MULTILINE)


def test_the_digest_counts_what_the_program_did_by_itself(prog: Program) -> None:
    """Nudges, rematches, people carried, FAQ answers, mail resent: counts, never items."""
    with prog.deps.db.transaction() as s:  # a mail a crash left uncertain, resent by itself
        row = s.scalars(select(Outbox).order_by(Outbox.id.desc())).first()
        assert row is not None
        row.auto_resent = True
    prog.tick("2027-02-15T09:00:00Z")
    body = digests(prog)[-1]
    assert "mail resent after an interrupted send         1" in body
    assert "WHAT THE PROGRAM DID BY ITSELF SINCE THE LAST DIGEST" in body
    for label in (
        "nudges to partners who went quiet",
        "new pairs made from the waiting pool",
        "people carried to the next round",
        "questions answered automatically",
        "mail resent after an interrupted send",
    ):
        assert label in body
    assert "Answer several items in one reply, one command per line" in body or (
        "Nothing needs you this week." in body
    )
