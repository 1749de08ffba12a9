"""Sending within limits: the outbox over a real `SmtpSender` talking to an aiosmtpd relay that
enforces a provider's limits by the same simulated clock as mailbot's `now`.

Nothing lost, nothing scored as a bounce, answers first, everything sent once the window opens;
the caps counted from the outbox's own record, and a pause kept across a restart.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.contexts.samples import SAMPLES
from mailbot.domain.model import Outgoing
from mailbot.edges.smtp import SmtpSender, SmtpSettings
from mailbot.edges.tables import BounceEvent, Outbox, Person, SendPause
from mailbot.flows import intake, outbox
from mailbot.flows.send_window import backlog, digest_backlog, pause
from tests.support.program import Program, application
from tests.support.relay import CappedRelay, Clock, serving

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)


def _program(tmp_path: Path, db_url: str, caps: str = "") -> Iterator[Program]:
    p = Program.create(tmp_path / "prog", db_url, extra=f"[smtp]\nconnections = 2\n{caps}")
    yield p
    p.close()


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Iterator[Program]:
    yield from _program(tmp_path, db_url)


def _queue(prog: Program, topics: int, answers: int) -> None:
    """`topics` bulk topic mails queued first, then `answers` confirmations from intake."""
    deps = prog.deps
    with deps.db.transaction() as s:
        for i in range(topics):
            address = f"t{i}@example.edu"
            s.add(
                Person(email=address, name=f"T{i}", language="en", created_at=NOW, updated_at=NOW)
            )
            out = Outgoing(
                key=f"topic:2027A:{i}:3:{i}",
                to=(address,),
                template="topic",
                language="en",
                context=SAMPLES["topic"][0],
                bulk=True,
            )
            outbox.enqueue(s, deps, out, NOW)
    prog.put(
        *(application(f"p{i}@example.net", f"P{i}", message_id=f"<m{i}@x>") for i in range(answers))
    )
    asyncio.run(intake.run_once(deps, NOW))


def _run(prog: Program, relay: CappedRelay, clock: Clock, until: datetime) -> list[datetime]:
    """Deliver as the daemon does (every 30 s, or when a pause ends) until nothing waits."""
    passes: list[datetime] = []

    async def go() -> None:
        async with serving(relay) as port:
            settings = SmtpSettings("127.0.0.1", port, None, None, "none", timeout=5.0)
            prog.deps = replace(prog.deps, sender=lambda: SmtpSender(settings))
            while clock.now <= until:
                report = await outbox.deliver(prog.deps, clock.now)
                passes.append(clock.now)
                with prog.deps.db.transaction() as s:
                    if not s.scalar(select(Outbox.id).where(Outbox.status == "pending")):
                        return
                step = clock.now + timedelta(seconds=30)
                clock.now = max(step, report.held_until or step)

    asyncio.run(go())
    return passes


def _accepted(relay: CappedRelay) -> list[str]:
    """The accepted recipients in the order the relay took them."""
    return [rcpt for env in relay.accepted for rcpt in env.rcpt_tos]


def _answers_first(relay: CappedRelay, answers: int) -> bool:
    """The answers (p0…) were taken before any bulk mail. The two connections' sends overlap,
    so one connection may finish a topic taken after the last answer while the other is still
    sending that answer: each answer is among the first `answers` + 1 the relay took."""
    first = set(_accepted(relay)[: answers + 1])
    return {f"p{i}@example.net" for i in range(answers)} <= first


def _message_ids(relay: CappedRelay) -> list[str]:
    ids = []
    for env in relay.accepted:
        raw = env.content if isinstance(env.content, bytes) else str(env.content).encode()
        ids.append(str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]))
    return ids


def _settled(prog: Program, relay: CappedRelay, total: int) -> list[Outbox]:
    """Nothing lost, nothing twice, nobody bouncing, no attempt spent on a throttle."""
    rows = prog.query(select(Outbox).order_by(Outbox.id))
    assert [r.status for r in rows] == ["sent"] * total, [r.last_error for r in rows]
    assert len(relay.accepted) == total and len(set(_message_ids(relay))) == total
    assert prog.query(select(BounceEvent)) == []
    assert not any(p.bouncing or p.bounce_score for p in prog.query(select(Person)))
    assert {r.attempts for r in rows} == {1}
    return rows


def test_a_relay_that_throttles_after_n_a_minute(prog: Program) -> None:
    """mailbot does not know the relay's cap: each throttle pauses sending and loses nothing."""
    _queue(prog, topics=12, answers=3)
    clock = Clock(NOW)
    relay = CappedRelay(clock, per_minute=5, stage="rcpt")
    _run(prog, relay, clock, NOW + timedelta(hours=2))
    _settled(prog, relay, 15)
    assert _answers_first(relay, 3)
    assert relay.refusals, "the relay never throttled: the test proves nothing"
    # After a refusal nothing is tried until the pause is over (the rows already in flight on
    # the other connection are refused at the same instant).
    times = sorted({t for t, _ in relay.refusals})
    assert all(b - a >= timedelta(minutes=5) for a, b in itertools.pairwise(times))


def test_a_relay_that_answers_a_daily_quota_error(prog: Program) -> None:
    """Gmail's 550 5.4.5 after the data: a 5xx, yet nobody's bounce and nothing failed."""
    _queue(prog, topics=10, answers=2)
    clock = Clock(NOW)
    relay = CappedRelay(clock, per_day=8, stage="data")
    _run(prog, relay, clock, NOW + timedelta(days=2))
    rows = _settled(prog, relay, 12)
    assert _answers_first(relay, 2)
    assert relay.refusals and all("5.4.5" in r for _, r in relay.refusals)
    last = max(r.sent_at for r in rows if r.sent_at)
    assert NOW + timedelta(days=1) <= last <= NOW + timedelta(days=1, hours=1)  # the day opened


def test_caps_known_to_mailbot_are_never_hit_and_survive_a_restart(
    tmp_path: Path, db_url: str
) -> None:
    """With the relay's limit configured, no refusal at all; the count comes from the outbox's
    rows, so every pass (each a fresh `deliver`, as after a restart) sees the earlier sends."""
    for prog in _program(tmp_path, db_url, "max_per_minute = 5"):
        _queue(prog, topics=12, answers=3)
        with prog.deps.db.transaction() as s:
            waiting = backlog(s, prog.deps.settings, NOW)
        assert (waiting.messages, waiting.gone_by) == (15, NOW + timedelta(minutes=2))
        clock = Clock(NOW)
        relay = CappedRelay(clock, per_minute=5, stage="rcpt")
        passes = _run(prog, relay, clock, NOW + timedelta(hours=1))
        _settled(prog, relay, 15)
        assert relay.refusals == []
        assert passes[-1] == NOW + timedelta(minutes=2)  # 15 at 5 a minute: 0, 1 and 2 minutes
        assert _answers_first(relay, 3)


def test_a_pause_is_kept_across_a_restart(prog: Program) -> None:
    """A quota refusal's pause is in the database: a new run sends nothing before it ends."""
    _queue(prog, topics=3, answers=0)
    clock = Clock(NOW)
    relay = CappedRelay(clock, per_day=1, stage="mail")
    _run(prog, relay, clock, NOW + timedelta(seconds=30))
    [pause] = prog.query(select(SendPause))
    assert pause.until == NOW + timedelta(hours=1) and "quota" in pause.reason.lower()
    tries, before = len(relay.refusals), [r.status for r in prog.query(select(Outbox))]
    assert "pending" in before and "failed" not in before
    clock.now = NOW + timedelta(minutes=30)
    _run(prog, relay, clock, clock.now)  # a fresh run, as after a restart: nothing tried
    assert len(relay.refusals) == tries
    assert [r.status for r in prog.query(select(Outbox))] == before


def test_the_digest_says_how_much_mail_waits_and_when_it_will_have_gone(
    tmp_path: Path, db_url: str
) -> None:
    for prog in _program(tmp_path, db_url, "max_per_minute = 5"):
        _queue(prog, topics=12, answers=3)
        with prog.deps.db.transaction() as s:
            pause(s, NOW + timedelta(hours=1), "550 5.4.5 Daily user sending quota exceeded", NOW)
            line = digest_backlog(s, prog.deps.settings, NOW)
        assert line == {
            "waiting": 15,
            "gone_by": "2027-01-12 10:02 UTC",  # the pause, then 5 a minute
            "paused": "2027-01-12 10:00 UTC",
        }
        context = {**SAMPLES["digest"][0], "sending": line}
        rendered = prog.deps.renderer.render("digest", "en", context)
        for part in (rendered.text, re.sub(r"<[^>]*>", "", rendered.html or "")):
            assert "15 messages, all sent by 2027-01-12 10:02 UTC" in part
            assert "paused sending until 2027-01-12 10:00 UTC" in part


def test_upgrading_counts_the_recipients_of_rows_the_caps_will_see(db_url: str) -> None:
    """Migration 0012: rows still to send get their To + Cc count (the caps count recipients)."""
    from sqlalchemy import column, insert, table

    from mailbot.edges.db import Database, upgrade

    before = table(  # the outbox as revision 0011 has it
        "outbox",
        *(column(c.name, c.type) for c in Outbox.__table__.c if c.name not in ("id", "recipients")),
    )
    row = dict(
        key_digest="d", message_id="<m@x>", primary_to="a@x.org", template="topic",
        language="en", context={}, reply_to="", in_reply_to="", bulk=True,
        automatic_answer=False, status="pending", auto_resent=False, attempts=0,
        next_attempt_at=NOW, last_error="", created_at=NOW,
    )  # fmt: skip
    db = Database(db_url)
    try:
        upgrade(db.engine, "0011")
        with db.engine.begin() as conn:
            conn.execute(
                insert(before),
                [
                    {**row, "key": "one", "to": ["a@x.org"], "cc": []},
                    {**row, "key": "three", "to": ["a@x.org", "b@x.org"], "cc": ["t@x.org"]},
                ],
            )
        db.upgrade()
        with db.engine.connect() as conn:
            got = {k: n for k, n in conn.execute(select(Outbox.key, Outbox.recipients))}
    finally:
        db.dispose()
    assert got == {"one": 1, "three": 3}
