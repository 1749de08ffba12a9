"""Fuzz what intake decides before the database: parse → classify → decide, on mutated mail.

    .venv/bin/python -m benchmarks.fuzz --count 100000
    .venv/bin/python -m benchmarks.fuzz --count 20000 --seeds ../shared/corpora/discourse

Seeds are the project's own fixtures (tests/fixtures/eml), the crafted hostile inputs of
tests/support/hostile.py, and any directory of .eml files given with --seeds (read, never
copied). Each message is a seed under one to three random mutations: bytes flipped, inserted
or deleted, lines duplicated, dropped or swapped, a chunk repeated many times, a header value
replaced by a hostile one (long runs, encoded words, CR/LF/NUL/U+2028, unbalanced quotes and
brackets), two messages spliced. Prints exceptions (with the mutation that caused them), the
slowest inputs, per-message time percentiles, and the targets: 0 exceptions, 0 inputs over
0.5 s, p99 under 20 ms. --save DIR writes the crashing and slow inputs there to replay.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.hostile import CRAFTED, pipeline  # noqa: E402

SLOW = 0.5
P99_TARGET = 0.020

HOSTILE_VALUES = [
    "a" * 30_000,
    "a." * 15_000,
    "=?utf-8?q?x=0D=0ABcc:_e@evil.example?= <e@evil.example>",
    "=?utf-8?b?" + "QUJD" * 5_000 + "?=",
    " ".join(["=?utf-8?q?a?="] * 5_000),
    '"' * 5_000,
    "<" * 10_000,
    "(" * 10_000,
    "\x00\r\n\u2028\u2029\x85" * 1_000,
    "<x@y> " * 5_000,
    "@" * 10_000,
    "a@" * 10_000,
    "\\" * 10_000,
]


def _mutations(rng: random.Random, seeds: list[bytes]) -> list[Callable[[bytes], bytes]]:
    def flip(b: bytes) -> bytes:
        if not b:
            return b
        data = bytearray(b)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)

    def insert(b: bytes) -> bytes:
        at = rng.randint(0, len(b))
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        return b[:at] + junk + b[at:]

    def delete(b: bytes) -> bytes:
        if len(b) < 2:
            return b
        at = rng.randrange(len(b))
        return b[:at] + b[at + rng.randint(1, 200) :]

    def lines(b: bytes) -> bytes:
        parts = b.split(b"\n")
        i, j = rng.randrange(len(parts)), rng.randrange(len(parts))
        choice = rng.randrange(3)
        if choice == 0:
            parts.insert(i, parts[j])
        elif choice == 1 and len(parts) > 1:
            del parts[i]
        else:
            parts[i], parts[j] = parts[j], parts[i]
        return b"\n".join(parts)

    def repeat(b: bytes) -> bytes:
        if not b:
            return b
        at = rng.randrange(len(b))
        chunk = b[at : at + rng.randint(1, 16)]
        return b[:at] + chunk * rng.randint(100, 20_000) + b[at:]

    def header(b: bytes) -> bytes:
        head, sep, body = b.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = b.partition(b"\n\n")
        names = [b"From", b"To", b"Cc", b"Subject", b"Message-ID", b"References", b"Reply-To"]
        names += [b"Content-Type", b"Authentication-Results", b"In-Reply-To"]
        value = rng.choice(HOSTILE_VALUES).encode("utf-8", "surrogatepass")
        return head + b"\r\n" + rng.choice(names) + b": " + value + (sep or b"\r\n\r\n") + body

    def splice(b: bytes) -> bytes:
        other = rng.choice(seeds)
        return b[: rng.randint(0, len(b))] + other[rng.randint(0, len(other)) :]

    return [flip, insert, delete, lines, repeat, header, splice]


def _load_seeds(extra: list[Path]) -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted((ROOT / "tests" / "fixtures" / "eml").glob("*.eml"))]
    seeds += [make() for make in CRAFTED.values()]
    for directory in extra:
        seeds += [p.read_bytes() for p in sorted(directory.rglob("*.eml"))]
    return seeds


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--seeds", type=Path, action="append", default=[], help="more .eml dirs")
    ap.add_argument("--save", type=Path, help="write crashing and slow inputs here")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = _load_seeds(args.seeds)
    mutations = _mutations(rng, seeds)
    times: list[float] = []
    crashes: Counter[str] = Counter()
    crash_examples: dict[str, tuple[str, bytes]] = {}
    slowest: list[tuple[float, str, int, bytes]] = []
    started = time.perf_counter()
    for i in range(args.count):
        raw = rng.choice(seeds)
        applied = []
        for _ in range(rng.randint(1, 3)):
            mutate = rng.choice(mutations)
            raw = mutate(raw)
            applied.append(mutate.__name__)
        how = "+".join(applied)
        t0 = time.perf_counter()
        try:
            pipeline(raw)
        except Exception as exc:  # what the fuzzing is for: counted and shown, never raised
            where = traceback.extract_tb(exc.__traceback__)[-1]
            sig = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            crashes[sig] += 1
            crash_examples.setdefault(sig, (how, raw))
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        slowest.append((elapsed, how, i, raw))
        if len(slowest) > 200:
            slowest = sorted(slowest, reverse=True, key=lambda s: s[0])[:10]
    total = time.perf_counter() - started
    slowest = sorted(slowest, reverse=True, key=lambda s: s[0])[:10]
    over = sum(t > SLOW for t in times)
    p50, p90, p99 = (_percentile(times, q) for q in (0.5, 0.9, 0.99))
    print(f"{args.count} mutated messages, {len(seeds)} seeds, {total:.1f} s, seed {args.seed}")
    print(f"per message: p50 {p50 * 1e3:.2f} ms, p90 {p90 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, "
          f"max {max(times, default=0) * 1e3:.0f} ms")  # fmt: skip
    print(f"exceptions: {sum(crashes.values())}")
    for sig, n in crashes.most_common():
        print(f"  {n:6d}  {sig}  (first after {crash_examples[sig][0]})")
    print("slowest:")
    for elapsed, how, i, raw in slowest:
        print(f"  {elapsed * 1e3:9.1f} ms  #{i} {len(raw):>9,} bytes  {how}")
    ok = not crashes and not over and p99 < P99_TARGET
    print(
        f"targets: 0 exceptions ({sum(crashes.values())}), 0 over {SLOW} s ({over}), "
        f"p99 < {P99_TARGET * 1e3:.0f} ms ({p99 * 1e3:.2f}) -> {'met' if ok else 'NOT met'}"
    )
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for n, (_how, raw) in enumerate(crash_examples.values()):
            (args.save / f"crash-{n}.eml").write_bytes(raw)
        for elapsed, _how, i, raw in slowest:
            if elapsed > SLOW:
                (args.save / f"slow-{i}.eml").write_bytes(raw)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
