"""What intake writes for applications and answers, whichever way it writes them: a new person
inserted at once and attached (a chunk handled together) or flushed in its savepoint (one by
one), an application inserted outside the unit of work, an answer's outbox row inserted
unless its key is there. Later messages of the same chunk see all of it, and a message that
fails leaves nothing of itself behind."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.domain.model import Outgoing
from mailbot.edges.tables import Application, InboundRow, Outbox, Pair, PairMember, Person
from mailbot.flows import effects, outbox, pairs
from mailbot.flows.status_facts import status_facts, status_facts_of
from tests.support.program import Program, application, instant

NOW = "2027-01-12T09:00:00Z"


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    p = Program.create(tmp_path / "prog", db_url)
    yield p
    p.close()


def status(sender: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, "coordinator@example.org"
    msg["Subject"], msg["Message-ID"] = "STATUS", f"<status-{n}@example.net>"
    msg.set_content("STATUS")
    return bytes(msg)


def body(m: EmailMessage) -> str:
    part = m.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_new_applicant_is_known_to_the_rest_of_the_chunk(
    prog: Program, caplog: pytest.LogCaptureFixture
) -> None:
    """One chunk, handled together: a form from someone new, their STATUS, a second form.
    The STATUS finds the application, the second form updates it, and the person row holds
    what an ORM insert would have given it."""
    second = (
        "Name: Ana García\nCountry: Chile\nInstitution: Biblioteca Nacional\nSector: public\n"
        "Career stage: senior\nInterests: outreach\n"
    )
    prog.put(
        application(message_id="<form-1@example.net>"),
        status("ana@example.net", 1),
        application(message_id="<form-2@example.net>", body=second),
    )
    with caplog.at_level(logging.WARNING, logger="mailbot.intake"):
        report = prog.tick(NOW)
    assert "one by one" not in caplog.text  # the chunk was handled together
    assert report.intake.processed == 3 and report.intake.quarantined == 0

    first, answer, again = prog.sent_to("ana@example.net")
    assert "updated" not in first["Subject"].lower() and "updated" in again["Subject"].lower()
    assert 'Application: received on 2027-01-12 for the round "2027A" — valid.' in body(answer)
    [app] = prog.query(select(Application))
    assert (app.round_name, app.status, app.fields["country"]) == ("2027A", "valid", "CL")
    [ana] = prog.query(select(Person))
    at = instant(NOW)
    assert (ana.email, ana.name, ana.country, ana.language) == (
        "ana@example.net",
        "Ana García",
        "CL",
        "en",
    )
    assert (ana.status, ana.wants_next_round, ana.bouncing, ana.bounce_score) == (
        "active",
        True,
        False,
        0.0,
    )
    assert (ana.silent_cycles, ana.delete_token, ana.paused_until, ana.away_until) == (
        0,
        "",
        None,
        None,
    )
    assert (ana.created_at, ana.updated_at) == (at, at)
    assert {r.person_id for r in prog.query(select(InboundRow))} == {ana.id}
    replies = {o.reply_to for o in prog.query(select(Outbox)) if o.template == "confirmation"}
    assert len(replies) == 1 and f"u{ana.id}" in replies.pop()


def form(user: str, name: str) -> bytes:
    return application(
        f"{user}@example.net",
        name,
        f"Name: {name}\nCountry: Spain\nInstitution: Biblioteca de Sevilla\nSector: public\n"
        "Career stage: senior\nInterests: outreach\n",
    )


def test_a_failing_applicant_leaves_no_person_behind(
    prog: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob's confirmation fails after his person row was written: the chunk is handled again
    one message at a time, Bob's message is quarantined with nothing of his kept, and the next
    applicant (who may get the id Bob's row had) is stored and answered as usual."""
    real_answer = effects.answer

    def failing_answer(*args: object, **kwargs: object) -> object:
        if getattr(args[3], "from_addr", "") == "bob@example.net":
            raise RuntimeError("injected failure")
        return real_answer(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(effects, "answer", failing_answer)
    prog.put(
        *(
            form(a, n)
            for a, n in (("ana", "Ana García"), ("bob", "Bob Smith"), ("cleo", "Cleo Diaz"))
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. an identity map holding a row rolled back
        report = prog.tick(NOW)
    assert report.intake.processed == 2 and report.intake.quarantined == 1
    people = {p.email: p for p in prog.query(select(Person))}
    assert set(people) == {"ana@example.net", "cleo@example.net"}
    assert people["cleo@example.net"].name == "Cleo Diaz"
    apps = {a.person_id for a in prog.query(select(Application))}
    assert apps == {p.id for p in people.values()}
    assert len(prog.sent_to("ana@example.net")) == 1 and len(prog.sent_to("cleo@example.net")) == 1
    assert prog.sent_to("bob@example.net") == []
    [bob] = [r for r in prog.query(select(InboundRow)) if r.state == "quarantined"]
    assert "injected failure" in bob.reason


def test_current_partners_are_the_partners_of_the_running_pair(prog: Program) -> None:
    """`pairs.current_partners` (one query, for STATUS) agrees with `running_pair` and
    `partners` for everyone: a pair, a trio with a withdrawn member, someone in two running
    pairs, a closed pair, someone who withdrew; and STATUS's facts read for many people at
    once agree with each person's own."""
    at = datetime(2027, 2, 1, tzinfo=UTC)
    with prog.deps.db.transaction() as s:
        people = [
            Person(email=f"p{i}@example.net", name=f"P{i}", created_at=at, updated_at=at)
            for i in range(9)
        ]
        people[5].status = people[8].status = "withdrawn"
        s.add_all(people)
        s.flush()
        layout = [
            ("active", [0, 1]),
            ("paused", [2, 3, 5]),  # a trio going on without 5
            ("active", [4, 2]),  # 2's newest running pair
            ("closed", [6, 7]),
            ("active", [8, 0]),  # 8 withdrew
        ]
        for state, members in layout:
            pair = Pair(round_name="2027A", state=state, created_at=at)
            s.add(pair)
            s.flush()
            s.add_all(PairMember(pair_id=pair.id, person_id=people[i].id) for i in members)
        s.flush()
        for p in people:
            running = pairs.running_pair(s, p.id)
            expected = pairs.partners(s, running.id, p.id) if running else []
            assert pairs.current_partners(s, p.id) == [(o.name, o.country) for o in expected]
        assert pairs.current_partners(s, people[2].id) == [("P4", people[4].country)]
        # STATUS's facts for all at once are each person's own; applications with a tie on
        # the submission time go by id, in both
        later = datetime(2027, 2, 2, tzinfo=UTC)
        for i, (when, round_name) in enumerate(
            [(later, "2027A"), (later, "2027B"), (later, "2027C"), (at, "2026B")]
        ):
            s.add(
                Application(
                    person_id=people[i % 2].id,
                    round_name=round_name,
                    fields={},
                    status="valid",
                    submitted_at=when,
                    updated_at=when,
                )
            )
        s.flush()
        ids = [p.id for p in people]
        assert status_facts_of(s, ids) == {i: status_facts(s, i) for i in ids}
        assert status_facts(s, people[0].id).application.round_name == "2027C"  # type: ignore[union-attr]


def test_a_key_already_queued_leaves_its_row_as_it_was(prog: Program) -> None:
    now = instant(NOW)

    def out(template: str) -> Outgoing:
        return Outgoing(
            key="k:1", to=("Ana@Example.net",), template=template, language="en", context={}
        )

    with prog.deps.db.transaction() as s:
        assert outbox.enqueue(s, prog.deps, out("help"), now, automatic_answer=True)
        assert not outbox.enqueue(s, prog.deps, out("status"), now)
    [row] = prog.query(select(Outbox))
    assert (row.template, row.automatic_answer, row.primary_to, row.to) == (
        "help",
        True,
        "ana@example.net",
        ["ana@example.net"],
    )
    assert (row.status, row.attempts, row.cc, row.next_attempt_at) == ("pending", 0, [], now)


def test_a_chunks_answers_are_queued_in_order_each_key_once(prog: Program) -> None:
    """The answers of a chunk handled together wait in its buffer and are queued together:
    in the order of the messages, and a key already there (or twice in the batch) once."""
    senders = [f"p{i}@example.net" for i in range(5)]
    prog.put(*(status(a, i) for i, a in enumerate(senders)))
    prog.tick(NOW)
    rows = sorted(prog.query(select(Outbox)), key=lambda r: r.id)
    assert [r.primary_to for r in rows] == senders
    assert all(r.automatic_answer and r.template == "status" for r in rows)

    now = instant(NOW)

    def row(key: str, template: str) -> dict[str, object]:
        out = Outgoing(key=key, to=("q@example.net",), template=template, language="en", context={})
        return outbox.outbox_row(prog.deps, out, now)

    with prog.deps.db.transaction() as s:
        outbox.enqueue_rows(s, [row(rows[0].key, "help"), row("k:2", "help"), row("k:2", "x")])
    after = sorted(prog.query(select(Outbox)), key=lambda r: r.id)
    assert [(r.key, r.template) for r in after] == [(r.key, r.template) for r in rows] + [
        ("k:2", "help")
    ]
