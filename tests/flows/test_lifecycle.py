"""Round lifecycle edges: applying before a round opens, auto-approval, the survey's choice,
and requeueing quarantined mail."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from mailbot.edges.tables import Application, InboundRow, Pair, Proposal, SurveyAnswerRow
from mailbot.flows.requeue import requeue_all
from tests.flows.test_matching_flow import _apply
from tests.support.program import Program, application, instant

NEXT_ROUND = """
[[rounds]]
name = "2027B"
applications_open = 2027-07-01
applications_close = 2027-07-31
matching_date = 2027-08-03
start = 2027-08-09
"""


def test_an_application_before_any_round_opens_is_kept_and_the_person_told(
    tmp_path: Path, db_url: str
) -> None:
    prog = Program.create(tmp_path / "p", db_url)
    prog.put(application())
    prog.tick("2026-12-01T09:00:00Z")
    [confirmation] = prog.sent_to("ana@example.net")
    assert "kept your application for the next one" in confirmation.get_body(
        ("plain",)
    ).get_content().replace("\n", " ")
    [app] = prog.query(select(Application))
    assert app.round_name == ""
    prog.tick("2027-01-04T09:00:00Z")
    opened = prog.sent_to("ana@example.net")[-1]
    assert "2027A" in opened["Subject"] or "2027A" in opened.get_body(("plain",)).get_content()
    [app] = prog.query(select(Application))
    assert app.round_name == "2027A"
    prog.tick("2027-01-05T09:00:00Z")
    assert len(prog.sent_to("ana@example.net")) == 2  # told once
    prog.close()


def test_auto_approve_introduces_without_a_coordinator(tmp_path: Path, db_url: str) -> None:
    prog = Program.create(tmp_path / "p", db_url, env={"MAILBOT_PROGRAM_AUTO_APPROVE": "true"})
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [row] = prog.query(select(Proposal))
    assert row.state == "approved" and row.decided_by == "auto_approve"
    assert len(prog.query(select(Pair))) == 3
    assert not any("proposal" in m["Subject"].lower() for m in prog.sent_to("director@example.org"))
    assert any(m["Cc"] for m in prog.sent_to("ana@example.net"))
    prog.close()


def _survey_reply(to: str, body: str, n: int = 1) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ana <ana@example.net>"
    msg["To"] = to
    msg["Subject"] = "Re: survey"
    msg["Message-ID"] = f"<survey-{n}-ana@example.net>"
    msg.set_content(body)
    return bytes(msg)


def test_survey_choice_one_enrols_in_the_next_round(tmp_path: Path, db_url: str) -> None:
    prog = Program.create(
        tmp_path / "p", db_url, extra=NEXT_ROUND, env={"MAILBOT_PROGRAM_AUTO_APPROVE": "true"}
    )
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    prog.tick("2027-06-08T10:00:00Z")  # the round's end: the survey goes out
    survey = next(m for m in prog.sent_to("ana@example.net") if "Satisfaction" in str(m))
    reply_to = survey["Reply-To"].addresses[0].addr_spec
    prog.put(_survey_reply(reply_to, "Satisfaction: 5\nMost valuable: a new friend\nChoice: 1\n"))
    prog.tick("2027-06-09T10:00:00Z")
    [answer] = prog.query(select(SurveyAnswerRow))
    assert (answer.satisfaction, answer.choice) == (5, 1)
    rounds = {a.round_name for a in prog.query(select(Application))}
    assert "2027B" in rounds
    prog.tick("2027-06-22T10:00:00Z")  # two weeks on: the final report
    reports = [m for m in prog.sent_to("director@example.org") if "Final report" in m["Subject"]]
    assert len(reports) == 1
    assert "a new friend" in reports[0].get_body(("plain",)).get_content()
    prog.close()


def test_requeue_puts_quarantined_mail_back_and_it_is_handled(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "p"
    small = Program.create(root, db_url, env={"MAILBOT_PROGRAM_MAX_MESSAGE_BYTES": "1500"})
    big = application(
        body="Name: Ana\nCountry: Spain\nInstitution: X\nSector: public\n"
        "Career stage: senior\nInterests: maps\nAbout me: " + "x" * 2000 + "\n"
    )
    small.put(big)
    small.tick("2027-01-12T09:00:00Z")
    assert small.count("Quarantine") == 1
    small.close()
    prog = Program.create(root, db_url)  # the limit raised, as an operator would
    moved = asyncio.run(requeue_all(prog.deps))
    assert moved == 1 and prog.count("INBOX") == 1 and prog.count("Quarantine") == 0
    prog.tick("2027-01-12T10:00:00Z")
    states = sorted(r.state for r in prog.query(select(InboundRow)))
    assert states == ["processed", "requeued"]
    assert len(prog.query(select(Application))) == 1
    prog.close()


def test_a_follow_up_survey_reply_keeps_the_earlier_answers(tmp_path: Path, db_url: str) -> None:
    """Ana answers two questions, then sends the one she forgot: all three are kept."""
    prog = Program.create(tmp_path / "p", db_url, env={"MAILBOT_PROGRAM_AUTO_APPROVE": "true"})
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    prog.tick("2027-06-08T10:00:00Z")
    survey = next(m for m in prog.sent_to("ana@example.net") if "Satisfaction" in str(m))
    reply_to = survey["Reply-To"].addresses[0].addr_spec
    prog.put(_survey_reply(reply_to, "Satisfaction: 4\nChoice: 2\n"))
    prog.tick("2027-06-09T10:00:00Z")
    prog.put(_survey_reply(reply_to, "Sorry, forgot one:\nMost valuable: maps\n", n=2))
    prog.tick("2027-06-09T11:00:00Z")
    [answer] = prog.query(select(SurveyAnswerRow))
    assert (answer.satisfaction, answer.choice, answer.valuable) == (4, 2, "maps")
    prog.close()


def test_the_survey_names_the_last_day_the_final_report_reads(tmp_path: Path, db_url: str) -> None:
    """The survey says until when answers are read; an answer sent that day is in the final
    report, and the report's weeks are those the round ran (none after its end, none empty)."""
    from mailbot.edges.tables import DigestRow

    prog = Program.create(tmp_path / "p", db_url, env={"MAILBOT_PROGRAM_AUTO_APPROVE": "true"})
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    with prog.deps.db.transaction() as s:
        for week, active, total in (("2027-05-31", 2, 3), ("2027-06-07", 0, 0)):
            at = instant(f"{week}T08:00:00Z")
            s.add(DigestRow(sent_at=at, week_start=week, active=active, total=total))
        s.add(DigestRow(sent_at=at, week_start="2027-06-14", active=0, total=3))  # after the end
    prog.tick("2027-06-08T10:00:00Z")  # the round's end (2027-06-08): the survey goes out
    survey = next(m for m in prog.sent_to("ana@example.net") if "Satisfaction" in str(m))
    assert "We read the answers until 2027-06-21" in survey.get_body(("plain",)).get_content()
    prog.put(_survey_reply(survey["Reply-To"].addresses[0].addr_spec, "Most valuable: maps"))
    prog.tick("2027-06-21T20:00:00Z")
    prog.tick("2027-06-22T00:05:00Z")
    [report] = [m for m in prog.sent_to("director@example.org") if "Final report" in m["Subject"]]
    body = report.get_body(("plain",)).get_content()
    assert "maps" in body
    assert "2027-05-31" in body and "2027-06-07" not in body and "2027-06-14" not in body
    prog.close()


def test_the_digest_shows_the_survey_of_the_round_that_just_ended(
    tmp_path: Path, db_url: str
) -> None:
    """Answers to an older round's survey are not counted in this round's 'Survey so far'."""
    from mailbot.edges.tables import Person

    prog = Program.create(tmp_path / "p", db_url, env={"MAILBOT_PROGRAM_AUTO_APPROVE": "true"})
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    prog.tick("2027-06-08T10:00:00Z")  # the round ends: the survey goes out
    with prog.deps.db.transaction() as s:
        kofi = s.scalars(select(Person).where(Person.email == "kofi@example.net")).one()
        at = instant("2026-11-01T10:00:00Z")
        s.add(SurveyAnswerRow(person_id=kofi.id, round_name="2026B", satisfaction=1, at=at))
    survey = next(m for m in prog.sent_to("ana@example.net") if "Satisfaction" in str(m))
    prog.put(_survey_reply(survey["Reply-To"].addresses[0].addr_spec, "Satisfaction: 5"))
    prog.tick("2027-06-09T10:00:00Z")
    prog.tick("2027-06-14T09:00:00Z")  # Monday: the weekly digest
    digest = [m for m in prog.sent_to("director@example.org") if "digest" in m["Subject"].lower()]
    body = digest[-1].get_body(("plain",)).get_content()
    assert "Survey so far: 1 answers of 6 invited, mean satisfaction 5.0/5." in body
    prog.close()
