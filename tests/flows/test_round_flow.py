"""A matched round run through `tick` at fixed instants: topics, activity, the ladder, digest."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.edges.tables import InboundRow, NudgeRow, Pair, PairMember, Person
from tests.flows.test_matching_flow import _apply, _proposals, _reply
from tests.support.program import Program

# The round starts on Monday 2027-02-08; matching and approval happen on 2027-02-03.
DAY = {n: f"2027-{2 + (7 + n) // 28:02d}-{(7 + n) % 28 + 1:02d}T10:00:00Z" for n in range(0, 20)}


def at(day: int, hour: int = 10) -> str:
    """An instant `day` days after the round's start (2027-02-08), at `hour` UTC."""
    from datetime import datetime, timedelta

    t = datetime(2027, 2, 8, hour) + timedelta(days=day)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def round_(tmp_path: Path, db_url: str) -> Program:
    prog = Program.create(tmp_path / "prog", db_url)
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal] = _proposals(prog)
    prog.put(_reply(proposal["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    yield prog
    prog.close()


def pair_of(prog: Program, email: str) -> tuple[int, list[Person], str]:
    person = prog.query(select(Person).where(Person.email == email))[0]
    pair_id = prog.query(select(PairMember.pair_id).where(PairMember.person_id == person.id))[0]
    ids = prog.query(select(PairMember.person_id).where(PairMember.pair_id == pair_id))
    people = prog.query(select(Person).where(Person.id.in_(ids)))
    intro = next(m for m in prog.sent_to(email) if m["Cc"])
    return pair_id, people, intro["Cc"].addresses[0].addr_spec


def partner_mail(sender: str, to: str, track: str, n: int, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Cc"] = track
    msg["Subject"] = "Re: Topic 1"
    msg["Message-ID"] = f"<talk-{n}-{sender}>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content("Our conversation, which the program never stores.")
    return bytes(msg)


def subjects(prog: Program, email: str) -> list[str]:
    return [m["Subject"] for m in prog.sent_to(email)]


def nudges_to(prog: Program, email: str, word: str) -> int:
    return sum(word in s for s in subjects(prog, email))


def test_topics_arrive_every_other_week_at_local_morning(round_: Program) -> None:
    round_.tick(at(0, 0))
    assert not any("Topic 1" in s for s in subjects(round_, "raj@example.net"))
    round_.tick(at(0, 10))
    assert sum("Topic 1" in s for s in subjects(round_, "raj@example.net")) == 1
    round_.tick(at(0, 12))
    round_.tick(at(7))
    assert sum("Topic" in s for s in subjects(round_, "raj@example.net")) == 1
    round_.tick(at(14))
    assert sum("Topic 2" in s for s in subjects(round_, "raj@example.net")) == 1


def test_a_quiet_pair_is_nudged_after_two_rhythms_and_not_again_within_the_cooldown(
    round_: Program,
) -> None:
    """Topics every 14 days: a fortnight's silence is normal; four weeks is not (issue 12)."""
    for day in (0, 7, 14, 21, 27):
        round_.tick(at(day))
    assert nudges_to(round_, "ana@example.net", "How are things") == 0
    round_.tick(at(28))
    assert nudges_to(round_, "ana@example.net", "How are things") == 1
    assert nudges_to(round_, "lea@example.net", "How are things") == 1
    for day in (29, 31, 34):
        round_.tick(at(day))
    assert nudges_to(round_, "ana@example.net", "How are things") == 1


def test_partner_mail_counts_as_activity_and_its_body_is_not_kept(round_: Program) -> None:
    pair_id, people, track = pair_of(round_, "ana@example.net")
    other = next(p.email for p in people if p.email != "ana@example.net")
    round_.tick(at(1))
    for day in (5, 12):
        round_.put(partner_mail("ana@example.net", other, track, day))
        round_.put(partner_mail(other, "ana@example.net", track, day + 100))
        round_.tick(at(day))
    round_.tick(at(14))
    round_.tick(at(16))
    assert nudges_to(round_, "ana@example.net", "How are things") == 0
    members = round_.query(select(PairMember).where(PairMember.pair_id == pair_id))
    assert all(m.messages == 2 and m.last_wrote_at is not None for m in members)
    db_text = " ".join(str(v) for row in round_.query(select(Pair)) for v in row.__dict__.values())
    assert "never stores" not in db_text


def test_one_sided_pair_nudges_the_silent_partner_only(round_: Program) -> None:
    pair_id, people, track = pair_of(round_, "kofi@example.net")
    other = next(p.email for p in people if p.email != "kofi@example.net")
    round_.tick(at(1))
    for day in (2, 9, 13, 20, 27):
        round_.put(partner_mail("kofi@example.net", other, track, day))
        round_.tick(at(day))
    round_.tick(at(28))
    nudges = round_.query(select(NudgeRow).where(NudgeRow.pair_id == pair_id))
    silent_id = next(p.id for p in people if p.email == other)
    assert [(n.kind, n.person_id) for n in nudges] == [("one_sided", silent_id)]


def test_an_out_of_office_reply_never_counts(round_: Program) -> None:
    _, people, track = pair_of(round_, "mia@example.net")
    round_.tick(at(1))
    ooo = partner_mail(
        "mia@example.net",
        next(p.email for p in people if p.email != "mia@example.net"),
        track,
        3,
        Auto_Submitted="auto-replied",
    )
    round_.put(ooo)
    round_.tick(at(3))
    members = round_.query(select(PairMember).where(PairMember.person_id == people[0].id))
    assert all(m.messages == 0 for m in members)
    round_.tick(at(28))  # 10:00 UTC: 21:00 in Sydney, where Mia is: the nudge waits
    assert nudges_to(round_, "mia@example.net", "How are things") == 0
    round_.tick(at(28, hour=23))  # 10:00 the next morning in Sydney
    assert nudges_to(round_, "mia@example.net", "How are things") == 1


@pytest.fixture
def judged_round(tmp_path: Path, db_url: str) -> Program:
    """A round whose exhausted pairs go to the coordinators (`ladder.auto_resolve = false`)."""
    prog = Program.create(tmp_path / "prog", db_url, extra="[ladder]\nauto_resolve = false\n")
    _apply(prog)
    prog.tick("2027-02-03T09:00:00Z")
    [proposal] = _proposals(prog)
    prog.put(_reply(proposal["Reply-To"].addresses[0].addr_spec, "APPROVE"))
    prog.tick("2027-02-03T12:00:00Z")
    yield prog
    prog.close()


def test_a_stalled_pair_reaches_the_coordinators_digest_with_actions(
    judged_round: Program,
) -> None:
    """Silent through both nudges (28, 42) and a fortnight after the second: exhausted on day
    56; without automatic resolution the coordinators' digest lists it with its actions."""
    round_ = judged_round
    for day in (0, 14, 28, 42, 49, 55):
        round_.tick(at(day))
    # 2027-04-05 (day 56) is a Monday: the digest's slot.
    round_.tick(at(56))
    digests = [
        m for m in round_.sent_to("director@example.org") if "digest" in m["Subject"].lower()
    ]
    body = digests[-1].get_body(("plain",)).get_content()
    assert "stalled" in body and "REMATCH" in body and "LIAISE" in body
    html = digests[-1].get_body(("html",))
    assert html is not None
    assert any(p.get_content_type() == "image/png" for p in digests[-1].walk())


def test_a_bouncing_partner_is_not_nudged_and_the_other_is_told(round_: Program) -> None:
    _, people, _ = pair_of(round_, "raj@example.net")
    other = next(p for p in people if p.email != "raj@example.net")
    round_.tick(at(1))
    for day in (2, 3, 4):  # three permanent failures on separate days: the address bounces
        dsn = (
            f"From: MAILER-DAEMON@mx.example.net\r\nTo: coordinator@example.org\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{day}@mx>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=XX\r\n\r\n--XX\r\n"
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            "Final-Recipient: rfc822; raj@example.net\r\nAction: failed\r\n"
            "Status: 5.1.1\r\n\r\n--XX--\r\n"
        ).encode()
        round_.put(dsn)
        round_.tick(at(day))
    [raj] = round_.query(select(Person).where(Person.email == "raj@example.net"))
    assert raj.bouncing
    # Issue 12: the program resolves it: the pair ends and the other waits for a new partner,
    # told at once why (mail to their partner no longer arrives) — not asked to cope with it.
    assert nudges_to(round_, other.email, "finding you a partner") == 1
    assert "no longer arrives" in str(round_.sent_to(other.email)[-1].get_body(("plain",)))
    [old] = round_.query(select(Pair).where(Pair.id == pair_of(round_, other.email)[0]))
    assert (old.state, old.reasons["ended"]) == ("ended", "bouncing")
    before = len(round_.sent_to("raj@example.net"))
    for day in (14, 28, 29):  # within bounce_forget_days of the last bounce
        round_.tick(at(day))
    assert len(round_.sent_to("raj@example.net")) == before  # nothing more to a dead address
    assert nudges_to(round_, other.email, "finding you a partner") == 1  # and only once
    assert nudges_to(round_, other.email, "not getting through") == 0
    assert nudges_to(round_, other.email, "second note") == 0


def test_one_failing_message_is_quarantined_alone_and_the_others_count_once(
    round_: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk is first handled together; when one message fails, the chunk is handled again
    one message at a time: the failing one is quarantined, the rest are recorded exactly as the
    together-path records them, and no activity is counted twice."""
    from mailbot.flows import effects

    pair_id, people, track = pair_of(round_, "ana@example.net")
    other = next(p.email for p in people if p.email != "ana@example.net")
    round_.tick(at(1))

    def talk(n: int) -> list[bytes]:
        auto = partner_mail(other, "ana@example.net", track, n + 2, Auto_Submitted="auto-replied")
        return [
            partner_mail("ana@example.net", other, track, n),
            partner_mail(other, "ana@example.net", track, n + 1),
            auto,
        ]

    round_.put(*talk(10))
    round_.tick(at(2))  # together
    status = EmailMessage()
    status["From"], status["Subject"] = "ana@example.net", "STATUS"
    status["To"] = round_.deps.settings.program.address
    status["Message-ID"] = "<status-fails@example.net>"
    status.set_content("STATUS")
    real_answer = effects.answer

    def failing_answer(*args: object, **kwargs: object) -> object:
        msg = args[3]
        if getattr(msg, "message_id", "") == "status-fails@example.net":
            raise RuntimeError("injected failure")
        return real_answer(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(effects, "answer", failing_answer)
    round_.put(*talk(20)[:2], bytes(status), talk(20)[2])
    round_.tick(at(3))  # one by one

    rows = round_.query(select(InboundRow).order_by(InboundRow.id))
    [failed] = [r for r in rows if r.message_id == "status-fails@example.net"]
    assert failed.state == "quarantined" and "injected failure" in failed.reason
    assert round_.count("Quarantine") == 1
    talk_rows = [r for r in rows if r.message_id.startswith("talk-")]
    assert len(talk_rows) == 6 and {r.state for r in talk_rows} == {"processed"}

    def shape(r: InboundRow) -> tuple[object, ...]:
        return (r.kind, r.reason, tuple(r.hits), r.pair_id, r.person_id, r.from_addr)

    first, second = talk_rows[:3], talk_rows[3:]
    assert [shape(r) for r in first] == [shape(r) for r in second]
    members = round_.query(select(PairMember).where(PairMember.pair_id == pair_id))
    assert sorted(m.messages for m in members) == [2, 2]  # the auto-reply never counts


def test_no_nudge_once_the_round_has_ended(round_: Program) -> None:
    """Ana and her partner last wrote 14 days before the round's end (2027-06-08): the first
    tick after the end sends them the survey, not a 'your pair has been quiet' nudge."""
    pair_id, people, track = pair_of(round_, "ana@example.net")
    a, b = (p.email for p in people)
    round_.tick("2027-05-20T10:00:00Z")
    date = "Tue, 25 May 2027 00:02:00 +0000"
    round_.put(partner_mail(a, b, track, 1, Date=date), partner_mail(b, a, track, 2, Date=date))
    round_.tick("2027-05-25T00:02:00Z")
    round_.tick("2027-06-07T23:58:00Z")
    before = len(round_.query(select(NudgeRow).where(NudgeRow.pair_id == pair_id)))
    round_.tick("2027-06-08T00:03:00Z")
    assert len(round_.query(select(NudgeRow).where(NudgeRow.pair_id == pair_id))) == before


def test_the_second_note_to_the_silent_side_says_their_partner_is_waiting(
    round_: Program,
) -> None:
    """Kofi keeps writing; his partner does not answer. The second note tells the partner that
    Kofi is waiting (not that nobody wrote), and offers no 'my partner is not answering'."""
    _, people, track = pair_of(round_, "kofi@example.net")
    other = next(p for p in people if p.email != "kofi@example.net")
    round_.tick(at(1))
    for day in (2, 9, 13, 18, 25, 32, 39):
        round_.put(partner_mail("kofi@example.net", other.email, track, day))
        round_.tick(at(day))
    for day, hour in ((28, 10), (42, 10), (42, 23), (43, 10)):
        round_.tick(at(day, hour))
    [second] = [m for m in round_.sent_to(other.email) if "second note" in m["Subject"]]
    body = second.get_body(("plain",)).get_content()
    assert "Kofi" in body and ("waiting" in body or "attend" in body or "esperando" in body)
    assert "SILENT" not in body and "SILENCIEUX" not in body and "SIN RESPUESTA" not in body
