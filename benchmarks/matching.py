"""Benchmark the matching engine on generated ILN-like pools (seeded, deterministic).

    .venv/bin/python -m benchmarks.matching                     # 1162 5000 20000
    .venv/bin/python -m benchmarks.matching --sizes 1162 5000 20000 50000

Each size runs in a fresh process (so peak memory is its own) and reports: time to build the
candidate graph and to solve, peak memory growth (ru_maxrss), the total score, the share of the
fractional-matching LP upper bound (on all pairs up to --all-pairs-max, else on each person's
top-50 partners by two reduced scores), the share of the exact optimum where an exact solver on all
pairs finishes (rustworkx, up to --exact-max), same-country pairs, and a greedy baseline
(heaviest edge first, on the same top-50 graph) with ratio ours/greedy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import rustworkx as rx

from benchmarks.pools import make_pool
from mailbot.domain import matching as m
from mailbot.domain import matching_graph as mg
from mailbot.domain import matching_solve as ms


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _all_pairs(f: mg.Features) -> tuple[np.ndarray, np.ndarray]:
    iu, iv = np.triu_indices(f.n, 1)
    keep = f.country[iu] != f.country[iv]
    return iu[keep].astype(np.int64), iv[keep].astype(np.int64)


def _greedy(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> float:
    order = np.lexsort((v, u, -w))
    used = np.zeros(n, dtype=bool)
    total = 0
    for e in order.tolist():
        a, b = int(u[e]), int(v[e])
        if not used[a] and not used[b]:
            used[a] = used[b] = True
            total += int(w[e])
    return total / 100


def run_one(n: int, seed: int, all_pairs_max: int, exact_max: int) -> dict[str, object]:
    pool = make_pool(n, seed=seed)
    w = m.Weights()
    rss0 = _rss_mb()
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(stage: str, frac: float) -> None:
        marks[stage] = time.perf_counter() - t0

    prop = m.propose(pool, w, progress=progress)
    total_t = time.perf_counter() - t0
    rss1 = _rss_mb()
    by_id = {c.id: c for c in pool}
    same = sum(1 for p in prop.pairs for r in p.reasons if by_id[r.a].country == by_id[r.b].country)
    # reference graph for the LP bound and the greedy baseline
    kept, _ = m.apply_country_cap(sorted(pool, key=lambda c: c.id))
    kept.sort(key=lambda c: (c.country, c.id))
    f = m.encode(kept, w)
    if len(kept) <= all_pairs_max:
        u, v = _all_pairs(f)
        ref = "all pairs"
    else:
        # union of each person's top-50 by two reduced scores: the proxy price (0.9 × mean of
        # the 10 best) and the engine's sampled LP prices; the bound only grows with edges
        none = np.zeros((0, 2), dtype=np.int64)
        keys = []
        for y in (0.9 * mg.mean_top(f, none, 10), mg.prices(f, none)):
            a, b, _ = mg.select_edges(f, none, 50, y)
            keys.append(a * len(kept) + b)
        key = np.unique(np.concatenate(keys))
        u, v = key // len(kept), key % len(kept)
        ref = "top-50 reduced"
    wt = mg.edge_cents(f, u, v)
    pos = wt > 0
    _, twice = ms.lp_double_cover(len(kept), u[pos], v[pos], wt[pos])
    lp = twice / 200
    greedy = _greedy(len(kept), u, v, wt)
    exact: float | None = None
    exact_t: float | None = None
    if len(kept) <= exact_max:
        t1 = time.perf_counter()
        g = rx.PyGraph(multigraph=False)
        g.add_nodes_from(range(len(kept)))
        g.add_edges_from(list(zip(u.tolist(), v.tolist(), wt.tolist(), strict=True)))
        mt = rx.max_weight_matching(g, max_cardinality=True, weight_fn=int)
        exact = sum(int(g.get_edge_data(a, b)) for a, b in mt) / 100
        exact_t = time.perf_counter() - t1
    build = marks.get("select", 0.0)
    # a trio's third edges are not in a pairing's total: compare the pairs' own edges only
    pair_total = sum(
        r.score
        for p in prop.pairs
        for r in p.reasons
        if p.third is None or p.third not in (r.a, r.b)
    )
    return {
        "n": n,
        "build_s": build,
        "solve_s": total_t - build,
        "total_s": total_t,
        "peak_mb": rss1 - rss0,
        "score": prop.total_score,
        "pairing_score": pair_total,
        "lp": lp,
        "lp_ref": ref,
        "exact": exact,
        "exact_s": exact_t,
        "same_country": same,
        "greedy": greedy,
        "pairs": len(prop.pairs),
        "left": len(prop.left),
        "stats": prop.stats,
        "load": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1162, 5000, 20000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--all-pairs-max", type=int, default=5000, help="LP bound on all pairs up to")
    ap.add_argument("--exact-max", type=int, default=1162, help="exact optimum on all pairs up to")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one is not None:
        print(json.dumps(run_one(a.one, a.seed, a.all_pairs_max, a.exact_max)))
        return
    rows = []
    for n in a.sizes:
        cmd = [sys.executable, "-m", "benchmarks.matching", "--one", str(n), "--seed", str(a.seed)]
        cmd += ["--all-pairs-max", str(a.all_pairs_max), "--exact-max", str(a.exact_max)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"done n={n} in {r['total_s']:.2f} s (load {r['load']:.1f})", file=sys.stderr)
    head = (
        f"{'n':>6} {'build s':>8} {'solve s':>8} {'total s':>8} {'peak MB':>8} {'score':>10} "
        f"{'% LP':>8} {'LP on':>15} {'% exact':>8} {'same-cty':>8} {'greedy':>10} {'ours/gr':>8}"
    )
    print(head)
    for r in rows:
        ex = "n/a" if r["exact"] is None else f"{100 * r['pairing_score'] / r['exact']:.3f}"
        print(
            f"{r['n']:>6} {r['build_s']:>8.2f} {r['solve_s']:>8.2f} {r['total_s']:>8.2f} "
            f"{r['peak_mb']:>8.0f} {r['score']:>10.2f} {100 * r['pairing_score'] / r['lp']:>8.3f} "
            f"{r['lp_ref']:>15} {ex:>8} {r['same_country']:>8} {r['greedy']:>10.2f} "
            f"{r['pairing_score'] / r['greedy']:>8.4f}"
        )
    print("growth:")
    for p, q in itertools.pairwise(rows):
        print(
            f"  {p['n']} -> {q['n']} (x{q['n'] / p['n']:.1f} people): time "
            f"x{q['total_s'] / p['total_s']:.1f}, memory x{q['peak_mb'] / max(p['peak_mb'], 1):.1f}"
        )
    print("load average during runs:", ", ".join(f"{r['load']:.1f}" for r in rows))


if __name__ == "__main__":
    main()
