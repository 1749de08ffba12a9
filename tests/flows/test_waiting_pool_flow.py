"""The program resolves what it can (issue 12): automatic rematches from a round's waiting pool.

End to end on a matched round (Maildir + SQLite): a partner silent through the ladder is let go
kindly and the one still writing waits for a new partner; a withdrawal or a dead address puts
the partner left alone in the pool; the pool pairs them (and the odd one left out, and a late
applicant) by the matching rules, with an introduction; nobody waits forever (carried to the
next round, and written to when it opens); a new pair continues from the round's topic; REMATCH
from a participant or a coordinator uses the same pool and is never refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.edges.tables import Application, Outbox, Pair, Person
from mailbot.flows.letters import tracking_address
from mailbot.flows.waiting_pool import pool_counts
from tests.flows.test_commands_flow import (
    DIRECTOR,
    NEXT_ROUND,
    PEOPLE,
    _form,
    coordinator_key,
    last,
    mail,
    pairs,
    person,
    send,
    text,
)
from tests.support.program import Program, application, instant

START = datetime(2027, 2, 8, 10)


def day(n: float, hour: int = 10) -> str:
    return (START + timedelta(days=n, hours=hour - 10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _program(tmp_path: Path, db_url: str, extra: str = "", people: list = PEOPLE) -> Program:
    p = Program.create(tmp_path / "pool", db_url, extra=NEXT_ROUND + extra)
    for i, who in enumerate(people):
        p.put(application(who[0], who[1], _form(*who), message_id=f"<app{i}@mua.example>"))
    p.tick("2027-01-12T09:00:00Z")
    p.tick("2027-02-03T09:00:00Z")
    [proposal] = [m for m in p.sent_to(DIRECTOR) if "proposal" in m["Subject"].lower()]
    send(p, "2027-02-03T12:00:00Z", mail(DIRECTOR, "APPROVE", to=proposal["Reply-To"]))
    return p


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = _program(tmp_path, db_url)
    yield p
    p.close()


def withdraw(prog: Program, when: str, *addrs: str) -> None:
    """WITHDRAW, confirmed by replying YES to the confirmation request (issue 12)."""
    send(prog, when, *(mail(a, "WITHDRAW") for a in addrs))
    later = (instant(when) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    send(prog, later, *(mail(a, "YES", to=last(prog, a)["Reply-To"]) for a in addrs))
    assert all(person(prog, a).status == "withdrawn" for a in addrs)  # type: ignore[union-attr]


def templates_to(prog: Program, addr: str) -> list[str]:
    return prog.query(select(Outbox.template).where(Outbox.primary_to == addr).order_by(Outbox.id))


def ended_because(prog: Program, pair_id: int) -> str | None:
    [reasons] = prog.query(select(Pair.reasons).where(Pair.id == pair_id))
    return reasons.get("ended")


def test_a_withdrawal_and_another_pair_the_two_left_alone_without_any_command(
    prog: Program,
) -> None:
    (p1, (a1, a2)), (p2, (b1, b2)), _ = sorted(pairs(prog).items())
    withdraw(prog, "2027-02-04T09:00:00Z", a2)
    assert ended_because(prog, p1) == "withdrew"
    assert "nothing you need to do" in text(last(prog, a1)) or "rien à faire" in text(
        last(prog, a1)
    )
    [waiting] = prog.query(
        select(Application.status)
        .join(Person)
        .where(Person.email == a1, Application.round_name == "2027A")
    )
    assert waiting == "waiting"
    withdraw(prog, "2027-02-05T09:00:00Z", b2)
    new = [pid for pid, ms in pairs(prog).items() if set(ms) == {a1, b1}]
    assert len(new) == 1 and new[0] not in (p1, p2)
    for addr in (a1, b1):  # one introduction to both, the new pair's tracking address in Cc
        intro = [m for m in prog.sent_to(addr) if m["Cc"]][-1]
        assert tracking_address(prog.deps, new[0]) in str(intro["Cc"])
    assert "pool_waiting" not in templates_to(prog, a1)  # the withdrawal letter said it all
    with prog.deps.db.transaction() as s:
        counts = pool_counts(s, instant("2027-02-01T00:00:00Z"), instant("2027-02-08T00:00:00Z"))
    assert counts["rematched"] == 1 and counts["ended_withdrew"] == 2 and counts["waiting"] == 0


def test_a_partner_silent_through_the_ladder_is_let_go_and_the_writer_rematched(
    tmp_path: Path, db_url: str
) -> None:
    prog = _program(tmp_path, db_url, "[pool]\nwait_days = 120\n")
    (p1, (a1, a2)), (_, (b1, b2)), _ = sorted(pairs(prog).items())
    withdraw(prog, "2027-02-04T09:00:00Z", b2)  # b1 waits for a partner
    track = tracking_address(prog.deps, p1)
    n = 0
    while p1 in pairs(prog) and n < 100:
        if n % 7 == 0:  # a1 writes every week; a2 never answers
            prog.put(mail(a1, "Hello again!", to=a2, cc=track, subject=f"week {n // 7}"))
        prog.tick(day(n))
        n += 1
    assert p1 not in pairs(prog), "the one-sided pair was never resolved"
    assert ended_because(prog, p1) == "silent"
    assert templates_to(prog, a2)[-1] == "pair_ended_silent"
    assert "REMATCH" in text(last(prog, a2)) or "NOUVEAU PARTENAIRE" in text(last(prog, a2))
    assert any(set(ms) == {a1, b1} for ms in pairs(prog).values())
    assert person(prog, a2).status == "active"  # type: ignore[union-attr]  # let go, not removed
    prog.tick(day(n + 1))  # idempotent: nothing more for a2
    assert templates_to(prog, a2).count("pair_ended_silent") == 1
    prog.close()


def test_a_dead_address_puts_the_partner_in_the_pool(prog: Program) -> None:
    (p1, (a1, a2)), *_ = sorted(pairs(prog).items())
    with prog.deps.db.transaction() as s:
        s.execute(update(Person).where(Person.email == a2).values(bouncing=True, bounce_score=5.0))
    before = len(templates_to(prog, a2))
    prog.tick(day(3))
    assert ended_because(prog, p1) == "bouncing"
    assert templates_to(prog, a1)[-1] == "pool_waiting"
    assert "no longer arrives" in text(last(prog, a1)) or "n'arrivent plus" in text(last(prog, a1))
    assert len(templates_to(prog, a2)) == before  # never mailed


def test_the_odd_one_is_paired_with_a_late_applicant(tmp_path: Path, db_url: str) -> None:
    seventh = ("ola@example.net", "Ola Nordmann", "Norway", "academic", "outreach, research data")
    prog = _program(tmp_path, db_url, '[matching]\nodd = "defer"\n', [*PEOPLE, seventh])
    waiting = [
        p.email
        for p in prog.query(select(Person))
        if not any(p.email in m for m in pairs(prog).values())
    ]
    assert len(waiting) == 1
    odd = waiting[0]
    assert templates_to(prog, odd)[-1] == "pool_waiting"
    late = ("zoe@example.net", "Zoe Kim", "Japan", "public", "outreach, children")
    prog.put(application(late[0], late[1], _form(*late), message_id="<late@mua.example>"))
    prog.tick(day(10))
    assert any(set(ms) == {odd, late[0]} for ms in pairs(prog).values())
    assert templates_to(prog, late[0])[-1] == "introduction"
    [app] = prog.query(select(Application).join(Person).where(Person.email == late[0]))
    assert (app.round_name, app.status) == ("2027A", "matched")
    prog.close()


def test_nobody_waits_forever_and_hears_when_the_next_round_opens(
    tmp_path: Path, db_url: str
) -> None:
    seventh = ("ola@example.net", "Ola Nordmann", "Norway", "academic", "outreach, research data")
    prog = _program(tmp_path, db_url, '[matching]\nodd = "defer"\n', [*PEOPLE, seventh])
    [odd] = [
        p.email
        for p in prog.query(select(Person))
        if not any(p.email in m for m in pairs(prog).values())
    ]
    prog.tick(day(20))
    assert "pool_carried" not in templates_to(prog, odd)
    prog.tick(day(30))  # 28 days after APPROVE
    assert templates_to(prog, odd)[-1] == "pool_carried"
    assert "2027B" in text(last(prog, odd))
    [app] = prog.query(select(Application).join(Person).where(Person.email == odd))
    assert (app.round_name, app.status) == ("", "valid")
    prog.tick(day(31))
    assert templates_to(prog, odd).count("pool_carried") == 1
    prog.tick("2027-06-01T10:00:00Z")  # 2027B opens
    assert templates_to(prog, odd)[-1] == "round_opened"
    [app] = prog.query(select(Application).join(Person).where(Person.email == odd))
    assert app.round_name == "2027B"
    prog.close()


def test_a_pair_made_mid_round_continues_from_the_rounds_topic(prog: Program) -> None:
    (_, (a1, a2)), (_, (b1, b2)), _ = sorted(pairs(prog).items())
    for n in range(0, 40, 7):
        prog.tick(day(n))
    withdraw(prog, day(40), a2, b2)
    [new_id] = [k for k, ms in pairs(prog).items() if set(ms) == {a1, b1}]
    prog.tick(day(41))
    prog.tick(day(41, 22))
    keys = prog.query(select(Outbox.key).where(Outbox.key.like(f"topic:2027A:{new_id}:%")))
    assert keys and {int(k.split(":")[3]) for k in keys} == {2}  # the round's 3rd topic, not 1st
    got = prog.query(
        select(Outbox.key).where(Outbox.key.like("topic:2027A:%"), Outbox.primary_to == a1)
    )
    numbers = [int(k.split(":")[3]) for k in got]
    assert numbers.count(0) == 1  # topic 1 once, never again after the rematch


def test_rematch_from_a_participant_waits_in_the_pool_and_is_never_refused(
    prog: Program,
) -> None:
    pair_id = next(k for k, ms in pairs(prog).items() if "ana@example.net" in ms)
    send(prog, day(2), mail("ana@example.net", "REMATCH"))
    assert pair_id not in pairs(prog)
    ack = text(last(prog, "ana@example.net"))
    assert "waiting" in ack and "coordinators" not in ack
    # her partner wrote nothing yet but the pair is two days old: not "silent", so waits too
    # and the two are never paired again; they wait for someone else.
    assert not any("ana@example.net" in ms for ms in pairs(prog).values())


def test_coordinator_rematch_with_nobody_waiting_is_not_refused(prog: Program) -> None:
    (p1, (a1, a2)), *_ = sorted(pairs(prog).items())
    send(prog, day(1), mail(a1, "IN TOUCH"))
    send(prog, day(20), mail(DIRECTOR, f"REMATCH {p1}", to=coordinator_key()))
    assert p1 not in pairs(prog)
    body = text([m for m in prog.sent_to(DIRECTOR) if "REMATCH" in m["Subject"]][-1])
    assert "waits for a new partner" in body and "Nothing changed" not in body
    assert templates_to(prog, a2)[-1] == "pair_ended_silent"
