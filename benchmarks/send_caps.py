"""A topic morning through a relay capped at 30 a minute: answers first, total time near the cap's.

Run: .venv/bin/python -m benchmarks.send_caps [--topics 1200] [--answers 50] [--cap 30] [--seed 1]

1,200 topic mails fall due at 09:00 and 50 answers to people (confirmations) fall due at random
instants of the next 40 minutes. The real outbox delivery (`flows.outbox.deliver`, four
connections, `smtp.max_per_minute = 30`) sends them with a real `SmtpSender` over loopback SMTP
to an aiosmtpd relay (`tests.support.relay.CappedRelay`) that refuses with 450 4.7.0 any
message over 30 recipients in a sliding minute. Time is simulated, and honestly so: the relay
counts by the same clock as mailbot's `now`, which moves 30 s between delivery passes, as the
daemon's `schedule.deliver_every_seconds`; the SMTP traffic, the database and the rendering are
real, and the benchmark checks that no pass took longer in wall time than the 30 s it stands for.

Figures: every answer's delay from due to sent (target: all within a minute); the total time
from the first send until the last minute's window has closed (the last send + 1 minute),
against the cap's minimum, mails / cap minutes (target: within 5%); the relay's refusals
(target: none, the caps are kept, not discovered). The baseline, in the same run, is the same
mail sent in plain outbox order (every row as an answer, so `order_key` is the row id: the
order before answers went first). A third run leaves `smtp.max_per_minute` unset, so mailbot
learns the cap only from the relay's refusals (each pauses sending for five minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from mailbot import settings as settings_mod
from mailbot.app import build
from mailbot.contexts.samples import SAMPLES
from mailbot.deps import Deps
from mailbot.domain.model import Outgoing
from mailbot.edges.smtp import SmtpSender, SmtpSettings
from mailbot.edges.tables import Outbox
from mailbot.flows import outbox
from tests.support.relay import CappedRelay, Clock, serving

T0 = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
PASS = timedelta(seconds=30)


@dataclass
class Result:
    worst_answer: timedelta
    total: timedelta
    refusals: int
    passes: int
    slowest_pass_s: float
    wall_s: float
    sent: int


def _deps(root: Path, cap: int) -> Deps:
    config = root / "mailbot.toml"
    config.write_text(
        f"""
[program]
address = "coordinator@example.org"
coordinators = ["director@example.org"]
[database]
url = "sqlite:///{root}/bench.sqlite3"
[smtp]
max_per_minute = {cap}
connections = 4
"""
    )
    deps = build(settings_mod.load(config, {"MAILBOT_PROGRAM_SECRET": "bench-secret"}))
    deps.db.upgrade()
    return deps


def _queue(deps: Deps, topics: int, answer_due: list[datetime], ordered: bool) -> None:
    """The topics, due at T0, then the answers (`answer:<i>`), each due at its instant."""
    with deps.db.transaction() as s:
        for i in range(topics):
            out = Outgoing(
                key=f"topic:2027A:{i}:3:{i}",
                to=(f"member{i}@example.edu",),
                template="topic",
                language="en",
                context=SAMPLES["topic"][0],
                bulk=ordered,  # the baseline: all alike, so plain outbox order
            )
            outbox.enqueue(s, deps, out, T0)
        for i, due in enumerate(answer_due):
            out = Outgoing(
                key=f"answer:{i}",
                to=(f"applicant{i}@example.net",),
                template="help",
                language="en",
                context=SAMPLES["help"][0],
                not_before=due,
            )
            outbox.enqueue(s, deps, out, T0)


async def _run(deps: Deps, cap: int) -> tuple[CappedRelay, int, float]:
    """Deliver every 30 simulated seconds until the outbox is empty."""
    clock = Clock(T0)
    relay = CappedRelay(clock, per_minute=cap, stage="rcpt")
    passes, slowest = 0, 0.0
    async with serving(relay) as port:
        smtp = SmtpSettings("127.0.0.1", port, None, None, "none", timeout=10.0)
        deps = replace(deps, sender=lambda: SmtpSender(smtp))
        while True:
            started = time.perf_counter()
            await outbox.deliver(deps, clock.now)
            slowest = max(slowest, time.perf_counter() - started)
            passes += 1
            with deps.db.transaction() as s:
                if s.scalar(select(Outbox.id).where(Outbox.status == "pending")) is None:
                    return relay, passes, slowest
            clock.now += PASS
            if clock.now > T0 + timedelta(days=1):
                raise RuntimeError("the outbox did not drain within a day")


def measure(
    topics: int, answers: int, cap: int, seed: int, ordered: bool, known: bool = True
) -> Result:
    rng = random.Random(seed)
    due = sorted(T0 + timedelta(seconds=rng.uniform(0, 40 * 60)) for _ in range(answers))
    with tempfile.TemporaryDirectory(prefix="send-caps-") as tmp:
        deps = _deps(Path(tmp), cap if known else 0)
        try:
            _queue(deps, topics, due, ordered)
            started = time.perf_counter()
            relay, passes, slowest = asyncio.run(_run(deps, cap))
            wall = time.perf_counter() - started
            with deps.db.transaction() as s:
                rows = list(s.execute(select(Outbox.key, Outbox.status, Outbox.sent_at)))
        finally:
            deps.db.dispose()
    unsent = [key for key, status, sent in rows if status != "sent" or sent is None]
    if unsent or len(relay.accepted) != len(rows):
        raise RuntimeError("mail lost or sent twice")
    by_key: dict[str, datetime] = {key: sent for key, _, sent in rows if sent is not None}
    worst = max(by_key[f"answer:{i}"] - at for i, at in enumerate(due))
    last = max(by_key.values())
    return Result(
        worst_answer=worst,
        total=last + timedelta(minutes=1) - T0,
        refusals=len(relay.refusals),
        passes=passes,
        slowest_pass_s=slowest,
        wall_s=wall,
        sent=len(rows),
    )


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.2f} min"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topics", type=int, default=1200)
    parser.add_argument("--answers", type=int, default=50)
    parser.add_argument("--cap", type=int, default=30, help="recipients a minute")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.getLogger("mailbot").setLevel(logging.ERROR)  # a warning per throttled row
    total = args.topics + args.answers
    minimum = timedelta(minutes=total / args.cap)
    print(f"{args.topics} topic mails due at 09:00, {args.answers} answers due within 40 min;")
    print(f"relay and mailbot capped at {args.cap} a minute; a delivery pass every 30 s\n")
    ok = True
    variants = (
        ("answers first (mailbot)", True, True),
        ("outbox order (baseline)", False, True),
        ("cap not configured: found by the relay's refusals", True, False),
    )
    for label, ordered, known in variants:
        r = measure(args.topics, args.answers, args.cap, args.seed, ordered, known)
        ratio = r.total / minimum
        print(f"{label}:")
        print(f"  sent {r.sent}; the relay refused {r.refusals}")
        print(f"  answers' worst delay from due to sent: {r.worst_answer.total_seconds():.0f} s")
        print(
            f"  total time {_minutes(r.total)} (last send + 1 min) vs the cap's minimum "
            f"{total}/{args.cap} = {_minutes(minimum)}: {ratio:.3f}×"
        )
        print(
            f"  {r.passes} passes in {r.wall_s:.1f} s wall; the slowest {r.slowest_pass_s:.2f} s "
            f"(each stands for {PASS.seconds} s)"
        )
        if ordered and known:
            ok = (
                r.worst_answer <= timedelta(minutes=1)
                and abs(ratio - 1) <= 0.05
                and r.refusals == 0
                and r.slowest_pass_s < PASS.total_seconds()
            )
    verdict = "met" if ok else "NOT met"
    print(f"\ntargets (answers within a minute, total within 5%, no refusal): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
