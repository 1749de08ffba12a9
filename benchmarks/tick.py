"""Time one decision tick (states, ladder, topics, digest) on rounds of 10,000 and 100,000 people.

Run: .venv/bin/python benchmarks/tick.py [--sizes 10000 100000] [--seed 1] [--repeat 3]

Each round is generated from a seed: pairs (a trio when the count is odd) starting with the round
or up to three weeks later, members in ~30 zones (some unknown), 5% paused, 3% withdrawn, 3% away,
2% bouncing, and activity histories mixing talking, one-sided, quiet and never-wrote pairs, with
0-3 ladder records each. The tick is measured at day 50 at 10:30 UTC; a baseline loop that only
reads every member's `last_wrote_at` runs in the same process so the ratio is meaningful on any
machine. Time is the best of `--repeat` runs with the topic-time cache cleared before each; peak
memory is measured in a separate run under tracemalloc (which slows it down).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import random
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mailbot.domain.digest import DigestInputs, build_digest
from mailbot.domain.ladder import (
    MemberView,
    NudgeRecord,
    PairView,
    RoundView,
    decide_ladder,
    pair_states,
)
from mailbot.domain.topics import due_topics, morning_after
from mailbot.settings import LadderSection

START = datetime(2024, 3, 4, tzinfo=UTC)
NOW = START + timedelta(days=50, hours=10, minutes=30)
ROUND = RoundView("2024A", START, START + timedelta(days=120), 14, 9)
ZONES = (
    "Australia/Sydney",
    "Australia/Perth",
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Manila",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Asia/Karachi",
    "Asia/Dubai",
    "Africa/Nairobi",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Europe/London",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Lima",
    "America/Bogota",
    "America/Mexico_City",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Vancouver",
    "Pacific/Honolulu",
    "UTC",
)
KINDS = ("quiet", "one_sided", "second", "partner_bouncing", "stalled")


def _days(rng: random.Random, lo: float, hi: float) -> datetime:
    return NOW - timedelta(days=rng.uniform(lo, hi))


def _member(rng: random.Random, pid: int, profile: str, started: datetime) -> MemberView:
    status = rng.choices(("active", "paused", "withdrawn"), (92, 5, 3))[0]
    paused_until = None
    if status == "paused":
        paused_until = NOW + timedelta(days=rng.uniform(-10, 30))
    if profile == "talking":
        wrote = _days(rng, 0, 9)
    elif profile == "writer":
        wrote = _days(rng, 0, 6)
    elif profile == "silent":
        wrote = None if rng.random() < 0.5 else _days(rng, 12, 45)
    else:  # quiet pair
        wrote = _days(rng, 14, 40)
    if wrote is not None and wrote < started:
        wrote = None
    return MemberView(
        person_id=pid,
        timezone=None if rng.random() < 0.03 else rng.choice(ZONES),
        language=rng.choices(("en", "fr", "es"), (70, 15, 15))[0],
        status=status,
        paused_until=paused_until,
        away_until=NOW + timedelta(days=rng.uniform(1, 20)) if rng.random() < 0.03 else None,
        bouncing=rng.random() < 0.02,
        last_wrote_at=wrote,
        messages=0 if wrote is None else rng.randint(1, 40),
    )


def make_round(participants: int, seed: int) -> list[PairView]:
    rng = random.Random(seed)
    sizes = [2] * (participants // 2)
    if participants % 2:
        sizes[-1] = 3
    pairs: list[PairView] = []
    pid = 0
    for i, size in enumerate(sizes):
        started = START if rng.random() < 0.9 else START + timedelta(days=rng.uniform(1, 21))
        kind = rng.choices(("talking", "one_sided", "quiet", "never"), (60, 15, 15, 10))[0]
        members = []
        for j in range(size):
            if kind == "talking":
                profile = "talking"
            elif kind == "one_sided":
                profile = "writer" if j == 0 else "silent"
            elif kind == "quiet":
                profile = "quiet"
            else:
                profile = "silent"
            pid += 1
            members.append(_member(rng, pid, profile, started))
        records = tuple(
            NudgeRecord(
                rng.choice(KINDS),
                rng.choice([None, *(m.person_id for m in members)]),
                _days(rng, 0, 40),
            )
            for _ in range(rng.choice((0, 0, 1, 2, 3)))
        )
        pairs.append(
            PairView(
                pair_id=i + 1,
                round_name=ROUND.name,
                started_at=started,
                state=rng.choices(("active", "paused", "closed"), (95, 3, 2))[0],
                members=tuple(members),
                nudges=records,
                flagged_at=_days(rng, 0, 30) if rng.random() < 0.03 else None,
                last_checkin_answer_at=_days(rng, 0, 30) if rng.random() < 0.1 else None,
            )
        )
    return pairs


def tick(pairs: list[PairView], ladder: LadderSection) -> dict[str, int]:
    """One decision tick, as the daemon runs it: everything computed from the same states."""
    states = pair_states(pairs, NOW, ladder)
    decision = decide_ladder(pairs, NOW, ladder, states)
    topics = due_topics(pairs, ROUND, NOW)
    digest = build_digest(pairs, NOW, ladder, DigestInputs(), states)
    return {
        "nudges": len(decision.nudges),
        "skips": len(decision.skips),
        "topics": len(topics),
        "flagged": len(digest.flagged),
    }


def baseline(pairs: list[PairView], ladder: LadderSection) -> dict[str, int]:
    """The least a tick could do: read every member's last_wrote_at once."""
    n = 0
    for p in pairs:
        for m in p.members:
            if m.last_wrote_at is not None and m.last_wrote_at < NOW:
                n += 1
    return {"wrote": n}


def best_of(fn: Callable[[], object], repeat: int, freeze: bool = False) -> float:
    """Best wall time of `repeat` runs; `freeze` moves the input views out of the cyclic GC's
    reach first (gc.freeze), as a daemon can after loading them."""
    best = float("inf")
    for _ in range(repeat):
        morning_after.cache_clear()
        gc.collect()
        if freeze:
            gc.freeze()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        gc.unfreeze()
    return best


def peak_mib(fn: Callable[[], object]) -> float:
    morning_after.cache_clear()
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    ladder = LadderSection()
    rows = []
    for size in args.sizes:
        pairs = make_round(size, args.seed)
        counts = tick(pairs, ladder)
        t_tick = best_of(lambda p=pairs: tick(p, ladder), args.repeat)
        t_frozen = best_of(lambda p=pairs: tick(p, ladder), args.repeat, freeze=True)
        t_base = best_of(lambda p=pairs: baseline(p, ladder), args.repeat)
        mem = peak_mib(lambda p=pairs: tick(p, ladder))
        rows.append((size, t_tick, t_frozen, t_base, mem))
        print(
            f"{size:>7} participants, {len(pairs):>6} pairs: tick {t_tick:6.3f} s "
            f"(GC-frozen inputs {t_frozen:6.3f} s), baseline {t_base * 1000:6.1f} ms "
            f"(tick/baseline x{t_tick / t_base:5.1f}), peak {mem:6.1f} MiB\n    {counts}"
        )
    for (s0, t0, f0, b0, m0), (s1, t1, f1, b1, m1) in itertools.pairwise(rows):
        print(
            f"{s0} -> {s1} (size x{s1 / s0:.1f}): tick x{t1 / t0:.2f}, GC-frozen x{f1 / f0:.2f}, "
            f"baseline x{b1 / b0:.2f}, peak memory x{m1 / m0:.2f}"
        )


if __name__ == "__main__":
    main()
