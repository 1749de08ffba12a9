"""`mailbot demo`: a whole simulated round, checked the way a person would check it — by reading
the mail the program wrote (`maildir/sent/<recipient>/*.eml`) and the database it kept."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from mailbot.demo.behaviour import Member, Script, SimPair, respond, scripts_for
from mailbot.demo.cast import applicants
from mailbot.demo.plan import COORDINATOR, ROUND
from mailbot.demo.run import run_demo
from mailbot.domain.forms import parse_application
from mailbot.domain.survey import parse_survey_answer
from mailbot.edges.tables import (
    BounceEvent,
    CommandRow,
    Outbox,
    Pair,
    PairMember,
    Person,
    Proposal,
    SurveyAnswerRow,
)


@dataclass
class Demo:
    root: Path
    status: int
    output: str
    session: Session

    @property
    def sent(self) -> Path:
        return self.root / "maildir" / "sent"

    def mail_to(self, address: str) -> list[EmailMessage]:
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted((self.sent / address).glob("*.eml"))
        ]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.mail_to(address)]

    def all_subjects(self) -> list[str]:
        return [
            str(m["Subject"])
            for folder in sorted(self.sent.iterdir())
            for m in self.mail_to(folder.name)
        ]

    def people_in(self, pair_id: int) -> list[Person]:
        ids = self.session.scalars(
            select(PairMember.person_id).where(PairMember.pair_id == pair_id)
        ).all()
        return list(self.session.scalars(select(Person).where(Person.id.in_(ids))))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo") / "out"
    out = io.StringIO()
    status = asyncio.run(run_demo(root, console=Console(file=out, width=140)))
    engine = create_engine(f"sqlite:///{root}/mailbot.sqlite3")
    with Session(engine) as session:
        yield Demo(root, status, out.getvalue(), session)
    engine.dispose()


@pytest.mark.slow
def test_the_demo_finishes_and_says_where_to_read_the_mail(demo: Demo) -> None:
    assert demo.status == 0, demo.output
    assert "Summary" in demo.output and "Timeline" in demo.output
    assert "maildir/sent" in demo.output
    assert (demo.root / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.slow
def test_forms_with_problems_are_answered_then_corrected(demo: Demo) -> None:
    fixed = [
        p.name
        for p in demo.sent.iterdir()
        if any("Please fix your application" in s for s in demo.subjects(p.name))
    ]
    assert len(fixed) >= 3
    for address in fixed:
        subjects = demo.subjects(address)
        first_fix = next(i for i, s in enumerate(subjects) if "Please fix" in s)
        assert any("application" in s.lower() for s in subjects[first_fix + 1 :]), subjects
        person = demo.session.scalar(select(Person).where(Person.email == address))
        assert person is not None  # the corrected form made them an applicant


@pytest.mark.slow
def test_every_matched_applicant_is_introduced_with_the_tracking_address(demo: Demo) -> None:
    """Once per pair they are in: a pair the program makes from its waiting pool mid-round
    (issue 12) introduces its members again, with the new pair's tracking address."""
    pairs = demo.session.scalars(select(Pair).where(Pair.round_name == ROUND)).all()
    assert len(pairs) >= 15
    pairs_of: dict[str, int] = {}
    for pair in pairs:
        for person in demo.people_in(pair.id):
            pairs_of[person.email] = pairs_of.get(person.email, 0) + 1
    for address, n in pairs_of.items():
        intros = [m for m in demo.mail_to(address) if m["Cc"]]  # en/fr/es subjects
        assert len(intros) == n, address
        assert all("+p-" in str(m["Cc"]) for m in intros)  # the pair's tracking address


@pytest.mark.slow
def test_every_pair_got_topic_1(demo: Demo) -> None:
    """The pairs of the matching start with topic 1; a pair made mid-round from the waiting
    pool continues with the round's current topic instead of starting again (issue 12)."""
    approved = demo.session.scalars(select(Proposal.decided_at)).all()
    first_pairs = demo.session.scalars(
        select(Pair.id).where(Pair.round_name == ROUND, Pair.created_at.in_(approved))
    ).all()
    keys = demo.session.scalars(
        select(Outbox.key).where(Outbox.template == "topic", Outbox.status == "sent")
    ).all()
    first = {int(k.split(":")[2]) for k in keys if k.split(":")[3] == "0"}
    assert first_pairs and set(first_pairs) <= first
    for pair_id in first_pairs:
        for person in demo.people_in(pair_id):
            topic_1 = ("Topic 1 of", "Sujet 1 sur", "Tema 1 de")
            assert any(s.startswith(topic_1) for s in demo.subjects(person.email)), person.email
    later = demo.session.scalars(
        select(Pair.id).where(Pair.round_name == ROUND, Pair.created_at.not_in(approved))
    ).all()
    for pair_id in later:  # never topic 1 again: the round's current topic
        assert pair_id not in first


@pytest.mark.slow
def test_a_bouncing_address_gets_its_partner_a_notice(demo: Demo) -> None:
    """The partner of a dead address is told at once, once, and waits for a new partner from
    the pool (issue 12: the program resolves it); the dead address is not written to again."""
    bounces = demo.session.scalars(select(BounceEvent).order_by(BounceEvent.at)).all()
    assert bounces
    address = bounces[-1].address
    person = demo.session.scalar(select(Person).where(Person.email == address))
    assert person is not None
    later = demo.session.scalars(
        select(Outbox.template).where(
            Outbox.primary_to == address, Outbox.created_at > bounces[-1].at
        )
    ).all()
    assert later == [], later  # marked bouncing at its third bounce: nothing more
    pair_id = demo.session.scalar(
        select(PairMember.pair_id).where(PairMember.person_id == person.id)
    )
    assert pair_id is not None
    partners = [p for p in demo.people_in(pair_id) if p.id != person.id]
    told = demo.session.scalars(
        select(Outbox).where(
            Outbox.template == "pool_waiting", Outbox.primary_to.in_([p.email for p in partners])
        )
    ).all()
    assert [o.context["reason_code"] for o in told] == ["partner_bouncing"], (
        "the partner of a bouncing address was never told"
    )
    # The timeline tells that one mail once, by what it says.
    assert demo.output.count("partner's address bounces: pair ended") == 1
    assert "partner-bouncing nudge" not in demo.output


@pytest.mark.slow
@pytest.mark.parametrize("command", ["pause", "withdraw"])
def test_pause_and_withdrawal_are_acknowledged(demo: Demo, command: str) -> None:
    rows = demo.session.scalars(select(CommandRow).where(CommandRow.name == command)).all()
    assert rows, f"nobody sent {command.upper()}"
    for row in rows:
        acks = demo.session.scalars(
            select(Outbox).where(
                Outbox.template == "command_ack",
                Outbox.primary_to == row.sender,
                Outbox.status == "sent",
            )
        ).all()
        ids = {f"<{o.message_id}>" for o in acks if o.context.get("command") == command}
        assert ids, f"{command.upper()} from {row.sender} was never acknowledged"
        received = {str(m["Message-ID"]) for m in demo.mail_to(row.sender)}
        assert ids <= received  # and the acknowledgement is in their mailbox


@pytest.mark.slow
def test_digests_carry_the_chart_inline(demo: Demo) -> None:
    digests = [m for m in demo.mail_to(COORDINATOR) if "Weekly digest" in m["Subject"]]
    assert digests
    pngs = [
        part
        for m in digests
        for part in m.walk()
        if part.get_content_type() == "image/png" and part["Content-ID"]
    ]
    assert pngs


@pytest.mark.slow
def test_survey_answers_are_recorded_and_the_final_report_sent(demo: Demo) -> None:
    answers = demo.session.scalars(select(SurveyAnswerRow)).all()
    assert len(answers) >= 10
    assert all(a.round_name == ROUND for a in answers)
    assert any(a.satisfaction and a.valuable and a.choice for a in answers)
    assert any(s.startswith("Final report for round") for s in demo.subjects(COORDINATOR))


@pytest.mark.slow
def test_no_address_receives_the_same_message_twice(demo: Demo) -> None:
    for folder in demo.sent.iterdir():
        ids = Counter(str(m["Message-ID"]) for m in demo.mail_to(folder.name))
        assert not [i for i, n in ids.items() if n > 1], folder.name


# ---------------------------------------------------------------- the simulated people (fast)


def test_the_cast_is_fixed_by_the_seed_and_every_final_form_is_valid() -> None:
    people = applicants()
    assert people == applicants() and len(people) >= 40
    assert {a.language for a in people} == {"en", "fr", "es"}
    assert sum(a.wishes for a in people) >= 5
    countries = set()
    for a in people:
        result = parse_application(a.form, from_addr=a.email, from_name=a.name)
        assert not result.problems, (a.email, result.problems)
        assert result.fields is not None
        countries.add(result.fields.country)
        if a.first_form is not None:
            assert parse_application(a.first_form, from_addr=a.email).problems
    assert len(countries) >= 30
    assert 3 <= sum(a.first_form is not None for a in people) <= 6


def test_each_behaviour_is_played_by_one_pair_and_answers_parse() -> None:
    scripts = scripts_for(list(range(1, 21)))
    assert set(scripts.values()) == set(Script)
    pair = SimPair(1, (Member("a@x.org", "A", "fr"), Member("b@y.org", "B", "es")), "t")
    for who in (0, 1):
        reply = None
        for seed in range(20):  # some people never answer; someone does
            reply = respond("survey", pair, who, Script.REGULAR, 121, seed)
            if reply is not None:
                break
        assert reply is not None
        answer = parse_survey_answer(reply.body)
        assert answer is not None and answer.satisfaction and answer.choice and answer.valuable


def test_a_missing_stage_stops_the_demo_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbot.flows import tick as tick_mod

    monkeypatch.delitem(tick_mod.JOBS, "rounds")  # nothing will ever propose a matching
    out = io.StringIO()
    status = asyncio.run(run_demo(tmp_path / "out", console=Console(file=out, width=200)))
    assert status == 1
    assert "no matching proposal" in out.getvalue()


def test_the_demo_never_overwrites_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    out = io.StringIO()
    assert asyncio.run(run_demo(tmp_path, console=Console(file=out, width=200))) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert "not made by `mailbot demo`" in out.getvalue()
