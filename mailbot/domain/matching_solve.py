"""Solve maximum-weight matching on a sparse candidate graph: pair the most people, then maximise
the total score.

Small graphs are solved exactly (blossom algorithm, rustworkx). Large ones go through the
fractional-matching LP, solved as an assignment problem on the bipartite double cover (scipy's
sparse Jonker–Volgenant, `min_weight_full_bipartite_matching`): its optimum is half-integral, its
value is an upper bound, and its 2-cycles are whole pairs. Even cycles are split into their better
half; the nodes on odd cycles, the unmatched, and every pair next to them are re-solved exactly,
and anyone still unmatched gets a last exact augment on their neighbourhood.

Weights are integers. Cardinality comes first: every edge gets a bonus larger than any possible
difference in score across a matching, so one more pair always wins.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
import rustworkx as rx
from scipy.sparse import csr_array
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

IntArray = npt.NDArray[np.int64]
Progress = Callable[[str, float], None] | None


def solver_weights(n: int, w: IntArray) -> IntArray:
    """Positive weights under which a bigger matching always beats a smaller one."""
    if len(w) == 0:
        return w.copy()
    shifted = w - int(w.min()) + 1
    bonus = (n // 2 + 1) * int(shifted.max()) + 1
    return shifted + bonus


def exact(nodes: Iterable[int], u: IntArray, v: IntArray, sw: IntArray) -> dict[int, int]:
    """Exact max-weight matching of the given graph (blossom); returns mate of each matched node."""
    order = sorted(nodes)
    pos = {x: i for i, x in enumerate(order)}
    g = rx.PyGraph(multigraph=False)
    g.add_nodes_from(order)
    g.add_edges_from(
        [(pos[a], pos[b], c) for a, b, c in zip(u.tolist(), v.tolist(), sw.tolist(), strict=True)]
    )
    mate: dict[int, int] = {}
    for a, b in rx.max_weight_matching(g, max_cardinality=False, weight_fn=int):
        mate[order[a]], mate[order[b]] = order[b], order[a]
    return mate


def lp_double_cover(
    n: int, u: IntArray, v: IntArray, sw: IntArray, guess: IntArray | None = None
) -> tuple[IntArray, int]:
    """Fractional-matching LP optimum as σ (i ↦ σ(i), σ(i)=i: unmatched) and 2 × its value.

    `guess` (optional): twice a guess of each node's dual, in the units of `sw`. It only saves
    time: costs are shifted by these potentials, which moves every assignment's cost by the same
    amount (each row and column is used once), so near-zero reduced costs let the solver start
    close to the optimum (2.4× faster at 20,000 with sampled prices).
    """
    top = int(sw.max()) + 1 if len(sw) else 1
    pot = np.zeros(n, dtype=np.int64) if guess is None else top - guess
    edge = 2 * (top - sw) - pot[u] - pot[v]
    diag = 2 * top - 2 * pot
    lo = int(min(edge.min(initial=0), diag.min(initial=0))) - 1
    rows = np.concatenate([u, v, np.arange(n)])
    cols = np.concatenate([v, u, np.arange(n)])
    cost = np.concatenate([edge - lo, edge - lo, diag - lo]).astype(np.float64)
    m = csr_array((cost, (rows, cols)), shape=(n, n))
    _, sigma = min_weight_full_bipartite_matching(m)
    sigma = np.asarray(sigma, dtype=np.int64)
    shifted = int(np.rint(m[np.arange(n), sigma].sum()))
    original = shifted + 2 * int(pot.sum()) + n * lo  # Σ 2·(top − sw(i, σ(i)))
    return sigma, n * top - original // 2


def lp_duals(n: int, u: IntArray, v: IntArray, sw: IntArray, sigma: IntArray) -> IntArray:
    """Twice an optimal dual of the fractional-matching LP whose optimum is σ: y with
    y(i) + y(j) ≥ sw(i, j) on every edge and equality on σ's pairs, y ≥ 0 (as integers, ×2).

    On the double cover the duals are potentials (u, v) with u(i) + v(j) ≥ sw(i, j) (0 for
    i = j, being unmatched) and equality on σ: v is a longest-path distance in the residual graph
    (no positive cycle, since σ is optimal), found by vectorised Bellman–Ford rounds.
    """
    nodes = np.arange(n, dtype=np.int64)
    ai = np.concatenate([u, v, nodes])
    aj = np.concatenate([v, u, nodes])
    aw = np.concatenate([sw, sw, np.zeros(n, dtype=np.int64)])
    on = aj == sigma[ai]
    w_sigma = np.zeros(n, dtype=np.int64)
    w_sigma[ai[on]] = aw[on]
    keep = ~on
    order = np.argsort(aj[keep], kind="stable")
    src = sigma[ai[keep][order]]
    length = (aw[keep] - w_sigma[ai[keep]])[order]
    tgt_sorted = aj[keep][order]
    pot = np.zeros(n, dtype=np.int64)
    if len(tgt_sorted):
        starts = np.flatnonzero(np.r_[True, tgt_sorted[1:] != tgt_sorted[:-1]])
        tgt = tgt_sorted[starts]
        for _ in range(n + 1):
            best = np.maximum(pot[tgt], np.maximum.reduceat(pot[src] + length, starts))
            if np.array_equal(best, pot[tgt]):
                break
            pot[tgt] = best
    return w_sigma - pot[sigma] + pot


class _Graph:
    """Adjacency of the candidate graph with integer solver weights."""

    def __init__(self, n: int, u: IntArray, v: IntArray, sw: IntArray) -> None:
        self.n = n
        both_u = np.concatenate([u, v])
        both_v = np.concatenate([v, u])
        both_w = np.concatenate([sw, sw])
        order = np.lexsort((both_v, both_u))
        self.nbr = both_v[order]
        self.wt = both_w[order]
        self.start = np.searchsorted(both_u[order], np.arange(n + 1))
        self.key = both_u[order] * n + self.nbr  # sorted: (node, neighbour)

    def weight(self, a: list[int], b: list[int]) -> int:
        """Total weight of the edges (a[t], b[t]), all in the graph."""
        q = np.asarray(a, dtype=np.int64) * self.n + np.asarray(b, dtype=np.int64)
        return int(self.wt[np.searchsorted(self.key, q)].sum())

    def neighbours(self, i: int) -> IntArray:
        return self.nbr[self.start[i] : self.start[i + 1]]

    def induced(self, nodes: set[int]) -> tuple[IntArray, IntArray, IntArray]:
        mask = np.zeros(self.n, dtype=np.bool_)
        mask[list(nodes)] = True
        us, vs, ws = [], [], []
        for i in sorted(nodes):
            nb = self.neighbours(i)
            keep = mask[nb] & (nb > i)
            us.append(np.full(int(keep.sum()), i, dtype=np.int64))
            vs.append(nb[keep])
            ws.append(self.wt[self.start[i] : self.start[i + 1]][keep])
        if not us:
            e = np.zeros(0, dtype=np.int64)
            return e, e, e
        return np.concatenate(us), np.concatenate(vs), np.concatenate(ws)


def _resolve(g: _Graph, mate: IntArray, nodes: set[int]) -> int:
    """Re-solve `nodes` exactly (pairs with a node outside are kept); returns how many moved."""
    inside = {i for i in nodes if mate[i] < 0 or mate[i] in nodes}
    u, v, w = g.induced(inside)
    new = exact(inside, u, v, w)
    paired = [i for i in inside if mate[i] >= 0]
    before = g.weight(paired, [int(mate[i]) for i in paired])
    after = g.weight(list(new), list(new.values()))
    if after <= before:
        return 0
    for i in inside:
        mate[i] = new.get(i, -1)
    return len(inside)


def solve(
    n: int,
    u: IntArray,
    v: IntArray,
    w: IntArray,
    *,
    exact_limit: int = 200,
    reach: int = 5,
    prices: npt.NDArray[np.float64] | None = None,
    progress: Progress = None,
) -> tuple[IntArray, dict[str, float]]:
    """mate[i] (or -1) for a matching of the graph (u, v, w: exact score cents) and statistics.

    `prices`: a guess of each node's LP dual in score cents (speed only, see `lp_double_cover`).
    """
    sw = solver_weights(n, w)
    mate = np.full(n, -1, dtype=np.int64)
    stats: dict[str, float] = {"edges": float(len(u))}
    if len(u) == 0:
        return mate, stats
    g = _Graph(n, u, v, sw)
    if n <= exact_limit:
        for a, b in exact(range(n), u, v, sw).items():
            mate[a] = b
        stats["exact"] = 1.0
        return mate, stats
    guess = None
    if prices is not None:
        guess = np.rint(2 * prices).astype(np.int64) + int(sw[0] - w[0])
    sigma, _ = lp_double_cover(n, u, v, sw, guess)
    if progress:
        progress("solve", 0.5)
    seen = np.zeros(n, dtype=np.bool_)
    residual: set[int] = set()
    for i in range(n):
        if seen[i]:
            continue
        cycle = [i]
        seen[i] = True
        j = int(sigma[i])
        while j != i:
            cycle.append(j)
            seen[j] = True
            j = int(sigma[j])
        if len(cycle) == 1 or len(cycle) % 2 == 1:
            residual.update(cycle)
        elif len(cycle) == 2:
            mate[cycle[0]], mate[cycle[1]] = cycle[1], cycle[0]
        else:  # even cycle: keep its better half
            halves = []
            for off in (0, 1):
                pairs = [(cycle[t], cycle[(t + 1) % len(cycle)]) for t in range(off, len(cycle), 2)]
                total = g.weight([a for a, _ in pairs], [b for _, b in pairs])
                halves.append((total, -off, pairs))
            for a, b in max(halves)[2]:
                mate[a], mate[b] = b, a
    stats["lp_odd_or_unmatched"] = float(len(residual))
    # re-solve the residual (odd cycles and the unmatched) exactly, with the pairs of each one's
    # best `reach` neighbours: enough room for the alternating paths that close odd cycles.
    # "Best" by reduced weight `w − y(j)` when prices are given (a partner everyone wants is
    # rarely free to move): a smaller zone, solved faster, and as good or better
    zone = set(residual)
    for i in residual:
        lo, hi = g.start[i], g.start[i + 1]
        nb = g.nbr[lo:hi]
        rank = 2 * g.wt[lo:hi] - (guess[nb] if guess is not None else 0)
        best = nb[np.argsort(-rank, kind="stable")[:reach]]
        for j in best.tolist():
            zone.add(j)
            if mate[j] >= 0:
                zone.add(int(mate[j]))
    stats["residual_nodes"] = float(len(zone))
    _resolve(g, mate, zone)
    # last augment for anyone still unmatched: exact on their neighbourhood, widening
    for radius in (1, 2, 3):
        free = [i for i in range(n) if mate[i] < 0 and len(g.neighbours(i))]
        if len(free) <= 1:
            break
        zone = set(free)
        frontier = set(free)
        for _ in range(radius):
            nxt: set[int] = set()
            for i in frontier:
                for j in g.neighbours(i).tolist():
                    if j not in zone:
                        nxt.add(j)
                        if mate[j] >= 0:
                            nxt.add(int(mate[j]))
            zone |= nxt
            frontier = nxt
        stats[f"augment_nodes_r{radius}"] = float(len(zone))
        _resolve(g, mate, zone)
    if progress:
        progress("solve", 1.0)
    return mate, stats
