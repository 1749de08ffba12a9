"""Delivery when the relay says no: the outbox over a real `SmtpSender` talking to an aiosmtpd
server in the test's own event loop (or to a port where nothing listens)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import select

from mailbot.contexts.samples import SAMPLES
from mailbot.domain.model import Outgoing
from mailbot.edges.smtp import SmtpSender, SmtpSettings
from mailbot.edges.tables import BounceEvent, Outbox, Person
from mailbot.flows import intake, letters, outbox, refusals
from tests.support.program import Program, application
from tests.support.relay import Recorder, free_port, serving

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def prog(tmp_path: Path, db_url: str) -> Program:
    p = Program.create(tmp_path / "prog", db_url)
    yield p
    p.close()


def _use(prog: Program, port: int, tls: str = "none", user: str | None = None) -> None:
    settings = SmtpSettings("127.0.0.1", port, user, "pw" if user else None, tls, timeout=5.0)  # type: ignore[arg-type]
    prog.deps = replace(prog.deps, sender=lambda: SmtpSender(settings))


def _deliver(prog: Program, handler: Any, when: datetime) -> outbox.DeliverReport:
    async def go() -> outbox.DeliverReport:
        async with serving(handler) as port:
            _use(prog, port)
            return await outbox.deliver(prog.deps, when)

    return asyncio.run(go())


def _answers(prog: Program, count: int = 1) -> None:
    """`count` confirmations of applications queued in the outbox."""
    prog.put(
        *(application(f"p{i}@example.net", f"P{i}", message_id=f"<m{i}@x>") for i in range(count))
    )
    asyncio.run(intake.run_once(prog.deps, NOW))


def _rows(prog: Program) -> list[Outbox]:
    return prog.query(select(Outbox).order_by(Outbox.id))


def _message_id(content: bytes | str | None) -> str:
    raw = content.encode() if isinstance(content, str) else content or b""
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"])


# -- transient failures are retried for days ----------------------------------------------------


def test_a_relay_down_for_hours_delays_mail_and_one_down_for_days_fails_it(prog: Program) -> None:
    _answers(prog)
    _use(prog, free_port())  # nothing listens: connection refused, a transient failure
    t = NOW
    while t <= NOW + timedelta(hours=3):  # the daemon delivers every 30 s; minutes suffice
        asyncio.run(outbox.deliver(prog.deps, t))
        t += timedelta(minutes=1)
    [row] = _rows(prog)
    assert (row.status, row.attempts) == ("pending", 8), row.last_error
    assert row.next_attempt_at - t < timedelta(hours=6)  # the backoff stays capped
    _deliver(prog, Recorder(), NOW + timedelta(days=1))  # back the next day: nothing lost
    assert _rows(prog)[0].status == "sent"


def test_transient_failures_end_after_give_up_after_days(prog: Program) -> None:
    _answers(prog)
    _use(prog, free_port())
    days = prog.deps.settings.smtp.give_up_after_days
    t = NOW
    while _rows(prog)[0].status == "pending":
        assert t - NOW <= timedelta(days=days, hours=6)
        asyncio.run(outbox.deliver(prog.deps, t))
        t = max(t, _rows(prog)[0].next_attempt_at)
    [row] = _rows(prog)
    assert row.status == "failed" and t - NOW >= timedelta(days=days)


# -- a relay our settings cannot talk to ---------------------------------------------------------


@pytest.mark.parametrize(
    ("tls", "user", "error"),
    [("starttls", None, "STARTTLS"), ("none", "alice", "auth")],
    ids=["starttls-not-offered", "auth-not-offered"],
)
def test_a_relay_without_starttls_or_auth_leaves_rows_pending(
    prog: Program, tls: str, user: str | None, error: str
) -> None:
    """aiosmtpd offers neither: aiosmtplib raises a bare SMTPException while connecting."""
    _answers(prog)

    async def go() -> outbox.DeliverReport:
        async with serving(Recorder()) as port:
            _use(prog, port, tls, user)
            return await outbox.deliver(prog.deps, NOW)

    report = asyncio.run(go())
    [row] = _rows(prog)
    assert (report.retried, row.status) == (1, "pending"), row.last_error
    assert error.lower() in row.last_error.lower()
    _deliver(prog, Recorder(), NOW + timedelta(hours=1))  # settings fixed
    assert _rows(prog)[0].status == "sent"


class _Broken:
    async def prepare(self, message: Any, *, envelope_from: str, recipients: Any) -> Any:
        raise RuntimeError("a bug after the message may have gone")

    async def close(self) -> None:
        pass


def test_a_sender_that_raises_leaves_its_row_uncertain_and_stops_the_pass(
    prog: Program,
) -> None:
    _answers(prog, 3)
    prog.deps = replace(prog.deps, sender=_Broken)
    report = asyncio.run(outbox.deliver(prog.deps, NOW))
    rows = _rows(prog)
    assert [r.status for r in rows].count("uncertain") == report.uncertain >= 1
    assert "RuntimeError" in report.stopped and "pending" in [r.status for r in rows]
    assert "sending" not in [r.status for r in rows]
    assert all("RuntimeError" in r.last_error for r in rows if r.status == "uncertain")


# -- a relay that refuses us, not a message ------------------------------------------------------


class _RefusesSender(Recorder):
    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply, self.tries = reply, 0

    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.tries += 1
        return self.reply


@pytest.mark.parametrize(
    "reply",
    [
        "530 5.7.0 Authentication required",  # smtp.username forgotten
        "550 5.7.1 Sender address rejected: not owned by user",
        "451 4.3.0 Local error in processing",
    ],
)
def test_a_relay_refusing_our_sender_fails_nothing_and_stops_the_pass(
    prog: Program, reply: str
) -> None:
    _answers(prog, 10)
    relay = _RefusesSender(reply)
    report = _deliver(prog, relay, NOW)
    assert relay.tries <= prog.deps.settings.smtp.connections < 10  # the ones already in flight
    assert reply[:3] in report.stopped and report.retried == relay.tries
    assert [r.status for r in _rows(prog)] == ["pending"] * 10
    _deliver(prog, Recorder(), NOW + timedelta(hours=6))  # settings fixed
    assert [r.status for r in _rows(prog)] == ["sent"] * 10


def test_a_relay_refusing_our_client_host_at_rcpt_fails_nothing(prog: Program) -> None:
    """Postfix's answer to a host it does not relay for, given per recipient."""
    _answers(prog, 2)
    relay = Recorder({f"p{i}@example.net": "554 5.7.1 Relay access denied" for i in range(2)})
    report = _deliver(prog, relay, NOW)
    assert report.stopped and [r.status for r in _rows(prog)] == ["pending"] * 2


def test_a_relay_greeting_us_with_554_fails_nothing(prog: Program) -> None:
    """The daemon moved host before the relay's allow-list was updated."""
    _answers(prog, 10)
    greeted = 0

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal greeted
        greeted += 1
        writer.write(b"554 5.7.1 Service unavailable; client host blocked\r\n")
        await writer.drain()
        writer.close()

    async def go() -> outbox.DeliverReport:
        port = free_port()
        server = await asyncio.start_server(greet, "127.0.0.1", port)
        try:
            _use(prog, port)
            return await outbox.deliver(prog.deps, NOW)
        finally:
            server.close()
            await server.wait_closed()

    report = asyncio.run(go())
    assert "554" in report.stopped and greeted <= prog.deps.settings.smtp.connections < 10
    assert [r.status for r in _rows(prog)] == ["pending"] * 10


def test_a_message_too_big_for_the_relay_is_failed_alone(prog: Program) -> None:
    """552 at MAIL FROM (SIZE=) is about that message: permanent, and the others go."""
    _answers(prog, 2)

    class TooBig(Recorder):
        mails = 0

        async def handle_MAIL(
            self, server: Any, s: Session, envelope: Envelope, address: str, options: list[str]
        ) -> str:
            self.mails += 1
            if self.mails == 1:
                return "552 5.3.4 Message size exceeds fixed limit"
            envelope.mail_from = address
            return "250 OK"

    report = _deliver(prog, TooBig(), NOW)
    assert sorted(r.status for r in _rows(prog)) == ["failed", "sent"] and not report.stopped


# -- recipients refused at RCPT ------------------------------------------------------------------

A, B = "amaia@example.net", "kofi.mensah@example.edu.gh"


def _queue_intro(prog: Program) -> str:
    """An introduction to two partners, Cc the pair's tracking address (always accepted)."""
    deps = prog.deps
    with deps.db.transaction() as s:
        for address, name in ((A, "Amaia"), (B, "Kofi")):
            s.add(Person(email=address, name=name, language="en", created_at=NOW, updated_at=NOW))
        track = letters.tracking_address(deps, 7)
        outbox.enqueue(
            s,
            deps,
            Outgoing(
                key="intro:2027A:7:en:1,2",
                to=(A, B),
                cc=(track,),
                template="introduction",
                language="en",
                context=SAMPLES["introduction"][0],
                reply_to=f"{A},{B},{track}",
            ),
            NOW,
        )
    return track


def test_partners_greylisted_at_rcpt_get_the_introduction_later(prog: Program) -> None:
    track = _queue_intro(prog)
    greylist = "451 4.7.1 greylisted, try again later"
    first = Recorder({A: greylist, B: greylist})
    _deliver(prog, first, NOW)
    assert [e.rcpt_tos for e in first.accepted] == [[track]]
    later = Recorder()
    _deliver(prog, later, NOW + timedelta(minutes=1))
    assert [e.rcpt_tos for e in later.accepted] == [[A, B]]  # the tracking address not again
    intro, retry = _rows(prog)
    assert (intro.status, retry.status) == ("sent", "sent")
    assert retry.key == "intro:2027A:7:en:1,2~retry~1" and retry.message_id != intro.message_id
    assert "greylisted" in intro.last_error and retry.key in intro.last_error
    assert prog.query(select(BounceEvent)) == []
    assert refusals.retry_key(retry.key) == "intro:2027A:7:en:1,2~retry~2"


def test_a_partner_refused_550_at_rcpt_is_scored_as_a_bounce(prog: Program) -> None:
    _queue_intro(prog)
    relay = Recorder({B: "550 5.1.1 <kofi.mensah@example.edu.gh>: no such user"})
    _deliver(prog, relay, NOW)
    [event] = prog.query(select(BounceEvent))
    assert (event.address, event.permanent, event.status) == (B, True, "5.1.1")
    assert event.outbox_key == "intro:2027A:7:en:1,2"
    [kofi] = prog.query(select(Person).where(Person.email == B))
    assert kofi.bounce_score > 0
    [row] = _rows(prog)  # sent to the others, and nobody is retried
    assert row.status == "sent" and len(relay.accepted) == 1


def test_a_single_recipient_refused_550_is_failed_and_scored_as_a_bounce(prog: Program) -> None:
    with prog.deps.db.transaction() as s:
        kofi = Person(email=B, name="Kofi", language="en", created_at=NOW, updated_at=NOW)
        s.add(kofi)
        s.flush()
        context = {
            k: v
            for k, v in SAMPLES["help"][0].items()
            if k not in ("program", "recipient_name", "names", "person_id")
        }
        letters.notify(s, prog.deps, "help:x", kofi, "help", context, NOW)
    _deliver(prog, Recorder({B: "550 5.1.1 no such user"}), NOW)
    [row] = _rows(prog)
    [event] = prog.query(select(BounceEvent))
    [kofi] = prog.query(select(Person).where(Person.email == B))
    assert row.status == "failed" and event.address == B and kofi.bounce_score > 0


class _DropsAfterData(Recorder):
    """Takes the message, then the connection drops before its 250 reaches us."""

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.accepted.append(envelope)
        server.transport.close()
        return "250 2.0.0 queued"


def test_a_connection_lost_after_the_data_leaves_the_row_uncertain(prog: Program) -> None:
    """The relay may have queued it: not sent again within the grace; then once more, with the
    same Message-ID; lost again after that, it waits for a person."""
    _answers(prog)
    relay = _DropsAfterData()
    report = _deliver(prog, relay, NOW)
    assert report.uncertain == 1 and len(relay.accepted) == 1
    [row] = _rows(prog)
    assert row.status == "uncertain" and "DATA" in row.last_error
    early = Recorder()
    _deliver(prog, early, NOW + timedelta(minutes=14))
    assert early.accepted == [] and [r.status for r in _rows(prog)] == ["uncertain"]
    lost_again = _DropsAfterData()
    report = _deliver(prog, lost_again, NOW + timedelta(minutes=16))
    assert report.resent == 1 and len(lost_again.accepted) == 1
    first, second = relay.accepted[0].content, lost_again.accepted[0].content
    assert _message_id(first) == _message_id(second)
    later = Recorder()
    _deliver(prog, later, NOW + timedelta(days=2))
    assert later.accepted == [] and [r.status for r in _rows(prog)] == ["uncertain"]


def test_uncertain_rows_wait_for_a_person_when_the_grace_is_zero(tmp_path: Path) -> None:
    prog = Program.create(
        tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite3'}",
        extra="[smtp]\nresend_uncertain_after_minutes = 0\n",
    )  # fmt: skip
    try:
        _answers(prog)
        _deliver(prog, _DropsAfterData(), NOW)
        later = Recorder()
        report = _deliver(prog, later, NOW + timedelta(days=2))
        assert report.resent == 0 and later.accepted == []
        assert [r.status for r in _rows(prog)] == ["uncertain"]
    finally:
        prog.close()


def test_a_421_at_rcpt_closes_the_connection_and_the_row_waits(prog: Program) -> None:
    """421 means the server is closing: no DATA went out, so the row is retried later, not
    left uncertain, and nobody got it twice."""
    _answers(prog)
    with prog.deps.db.transaction() as s:  # a second recipient, the one the relay stops at
        row = s.scalars(select(Outbox)).one()
        row.cc = ["helper@example.org"]
    relay = Recorder({"helper@example.org": "421 4.7.0 Too many connections, closing"})
    report = _deliver(prog, relay, NOW)
    assert relay.accepted == [] and report.uncertain == 0
    assert [r.status for r in _rows(prog)] == ["pending"]
    later = Recorder()
    _deliver(prog, later, NOW + timedelta(hours=6))
    assert len(later.accepted) == 1 and [r.status for r in _rows(prog)] == ["sent"]


def test_refused_again_after_a_resend_by_hand_gets_a_new_retry(prog: Program) -> None:
    """A row failed for good for one partner (550) and deferred for the other (451) is resent
    by hand and meets the same: the second 451 gets ~retry~2, not nothing."""
    with prog.deps.db.transaction() as s:
        outbox.enqueue(
            s,
            prog.deps,
            Outgoing(
                key="note:1",
                to=(A, B),
                template="help",
                language="en",
                context=SAMPLES["help"][0],
            ),
            NOW,
        )
    relay = {A: "550 5.1.1 no such user", B: "451 4.7.1 greylisted, try again later"}
    _deliver(prog, Recorder(relay), NOW)
    soon = NOW + timedelta(seconds=30)  # before the first retry is due
    assert outbox.resend(prog.deps, ["note:1"], soon)
    _deliver(prog, Recorder(relay), soon)
    rows = {r.key: (r.status, r.attempts) for r in _rows(prog)}
    assert rows == {
        "note:1": ("failed", 1),
        "note:1~retry~1": ("pending", 0),
        "note:1~retry~2": ("pending", 0),
    }
