"""Choose the candidate edges the matching is solved on, and weigh edges in bulk (vectorised).

Pairs are scored without ever holding all of them: rows are taken in blocks and scored by one
matrix product (BLAS) of per-person feature rows. Each person i keeps the k partners j with the
best *reduced* score `w(i,j) − y(j)`, y being j's price (MATCHING.md: raw top-k loses 2–3 %;
top-k by reduced cost with LP duals as prices is near exact at k ≈ 10). The prices come from a
sample market (`prices`): every s-th person, solved as its own LP with exact duals, then each
person priced against the sample — one pass over n × sample pairs instead of n × n. A block's
top-k is found via the maxima of interleaved 16-column chunks, so only a small share of each row
is ever partitioned. Scoring each block pair once (the score is symmetric, so one product can
serve rows and columns) was measured and is not used: at 20,000 it halves the matrix product
(0.9 -> 0.45 s) but each entry is then searched from both sides in 4,000-wide blocks, and the
top-k search grows more than that (selection 1.0 -> 1.6 s).

The selection score is the exact score without the two caps (shared interests, wished interests
per direction): it is a bilinear form, so one matrix product gives it. It is never below the real
score and differs only for the rare pairs past a cap. Edge weights handed to the solver are exact
(`edge_cents`, equal to `matching.score` × 100).

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mailbot.domain import matching_solve as ms
from mailbot.domain.matching_model import Candidate, Weights

IntArray = npt.NDArray[np.int64]
Progress = Callable[[str, float], None] | None
_CHUNK = 16  # entries per chunk when looking for a row's top-k
_BLOCK_CELLS = 1 << 22  # cells of one scored block (16 MB of float32)
_MAX_TABLE = 256  # more distinct zones / language sets than this: left out of the selection
_NEG = np.float32(-np.inf)


@dataclass(frozen=True)
class Features:
    """Everyone's profile as integer arrays, in the solver's index order (country, then id)."""

    n: int
    country: IntArray  # country code index, nondecreasing
    interests: npt.NDArray[np.bool_]  # n × V
    wished: npt.NDArray[np.bool_]  # n × V partner interests
    sector: IntArray
    stage: IntArray
    wish_sector: IntArray  # -1: no wish
    wish_stage: IntArray
    zone: IntArray  # index into zone_table, -1: unknown
    lang: IntArray  # index into lang_table, -1: no language given
    zone_table: IntArray  # cents
    lang_table: IntArray  # cents
    n_sectors: int
    n_stages: int
    base: int  # the weights, in cents
    shared: int
    shared_cap: int
    wish: int
    wished_w: int
    wished_cap: int


def cents(x: float) -> int:
    return round(x * 100)


def encode(
    cands: Sequence[Candidate],
    w: Weights,
    zone_cents: Callable[[float | None, float | None], int],
    lang_cents: Callable[[frozenset[str], frozenset[str]], int],
) -> Features:
    """Turn candidates (already in index order) into arrays; tables come from the scalar rules."""
    n = len(cands)
    countries = sorted({c.country for c in cands})
    vocab = sorted({x for c in cands for x in c.interests | c.partner_interests})
    sectors = sorted(
        {c.sector for c in cands}
        | {c.partner_sector for c in cands if c.partner_sector is not None}
    )
    stages = sorted(
        {c.career_stage for c in cands}
        | {c.partner_career_stage for c in cands if c.partner_career_stage is not None}
    )
    zones = sorted({c.utc_offset for c in cands if c.utc_offset is not None})
    langsets = sorted({c.languages for c in cands if c.languages}, key=sorted)
    ci = {x: i for i, x in enumerate(countries)}
    vi = {x: i for i, x in enumerate(vocab)}
    si = {x: i for i, x in enumerate(sectors)}
    ti = {x: i for i, x in enumerate(stages)}
    zi = {x: i for i, x in enumerate(zones)}
    li = {x: i for i, x in enumerate(langsets)}
    interests = np.zeros((n, len(vocab)), dtype=np.bool_)
    wished = np.zeros((n, len(vocab)), dtype=np.bool_)
    for out, sets in (
        (interests, [c.interests for c in cands]),
        (wished, [c.partner_interests for c in cands]),
    ):
        rows = np.repeat(np.arange(n), [len(x) for x in sets])
        cols = [vi[x] for xs in sets for x in xs]
        out[rows, np.asarray(cols, dtype=np.int64)] = True

    def arr(values: list[int]) -> IntArray:
        return np.asarray(values, dtype=np.int64).reshape(n)

    return Features(
        n=n,
        country=arr([ci[c.country] for c in cands]),
        interests=interests,
        wished=wished,
        sector=arr([si[c.sector] for c in cands]),
        stage=arr([ti[c.career_stage] for c in cands]),
        wish_sector=arr([-1 if c.partner_sector is None else si[c.partner_sector] for c in cands]),
        wish_stage=arr(
            [-1 if c.partner_career_stage is None else ti[c.partner_career_stage] for c in cands]
        ),
        zone=arr([-1 if c.utc_offset is None else zi[c.utc_offset] for c in cands]),
        lang=arr([li[c.languages] if c.languages else -1 for c in cands]),
        zone_table=np.array(
            [[zone_cents(a, b) for b in zones] for a in zones], dtype=np.int64
        ).reshape(len(zones), len(zones)),
        lang_table=np.array(
            [[lang_cents(a, b) for b in langsets] for a in langsets], dtype=np.int64
        ).reshape(len(langsets), len(langsets)),
        n_sectors=len(sectors),
        n_stages=len(stages),
        base=cents(w.base),
        shared=cents(w.shared_interest),
        shared_cap=w.shared_interest_cap,
        wish=cents(w.wish_met),
        wished_w=cents(w.partner_interest_met),
        wished_cap=w.partner_interest_cap,
    )


def edge_cents(f: Features, u: IntArray, v: IntArray) -> IntArray:
    """Exact score × 100 of the pairs (u[e], v[e]); same rules as `matching.score`."""
    out = np.empty(len(u), dtype=np.int64)
    step = 1 << 16
    for s in range(0, len(u), step):
        a, b = u[s : s + step], v[s : s + step]
        total = np.full(len(a), f.base, dtype=np.int64)
        if f.interests.shape[1]:
            ia, ib = f.interests[a], f.interests[b]
            shared = np.count_nonzero(ia & ib, axis=1)
            total += f.shared * np.minimum(shared, f.shared_cap)
            got_a = np.count_nonzero(f.wished[a] & ib, axis=1)
            got_b = np.count_nonzero(f.wished[b] & ia, axis=1)
            total += f.wished_w * (
                np.minimum(got_a, f.wished_cap) + np.minimum(got_b, f.wished_cap)
            )
        met = (
            (f.wish_sector[a] == f.sector[b]).astype(np.int64)
            + (f.wish_sector[b] == f.sector[a])
            + (f.wish_stage[a] == f.stage[b])
            + (f.wish_stage[b] == f.stage[a])
        )
        total += f.wish * met
        za, zb = f.zone[a], f.zone[b]
        ok = (za >= 0) & (zb >= 0)
        total[ok] += f.zone_table[za[ok], zb[ok]]
        la, lb = f.lang[a], f.lang[b]
        ok = (la >= 0) & (lb >= 0)
        total[ok] += f.lang_table[la[ok], lb[ok]]
        out[s : s + step] = total
    return out


def _onehot(idx: IntArray, width: int) -> npt.NDArray[np.float32]:
    m = np.zeros((len(idx), width), dtype=np.float32)
    ok = idx >= 0
    m[np.nonzero(ok)[0], idx[ok]] = 1.0
    return m


def _factors(f: Features) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """A (n × D) and B (n × D) with A[i]·B[j] = selection score of (i, j) less the base."""
    inter = f.interests.astype(np.float32)
    wish = f.wished.astype(np.float32)
    sec = _onehot(f.sector, f.n_sectors)
    wsec = _onehot(f.wish_sector, f.n_sectors)
    stg = _onehot(f.stage, f.n_stages)
    wstg = _onehot(f.wish_stage, f.n_stages)
    left = [inter, wish, wsec, sec, wstg, stg]
    right = [
        f.shared * inter + f.wished_w * wish,
        f.wished_w * inter,
        f.wish * sec,
        f.wish * wsec,
        f.wish * stg,
        f.wish * wstg,
    ]
    for idx, table in ((f.zone, f.zone_table), (f.lang, f.lang_table)):
        if 0 < len(table) <= _MAX_TABLE:
            oh = _onehot(idx, len(table))
            left.append(oh)
            right.append(oh @ table.astype(np.float32))  # table is symmetric
    return np.hstack(left), np.hstack(right)


def _top_rows(c: npt.NDArray[np.float32], kk: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
    """Column positions and values of a top-kk of each row of c (ties: any valid choice).

    Chunks are interleaved — chunk q holds the columns q, q + G, q + 2G, … — so their maxima are
    elementwise maxima of contiguous column slabs (no reduction along a row); only the kk chunks
    with the best maxima are then searched.
    """
    rows, width = c.shape
    n_chunks = width // _CHUNK
    if n_chunks <= kk or width <= 4 * kk or width % _CHUNK:
        kk = min(kk, width)
        sel = np.argpartition(c, width - kk, axis=1)[:, width - kk :]
        return sel, np.take_along_axis(c, sel, axis=1)
    mx = c.reshape(rows, _CHUNK, n_chunks).max(axis=1)
    best = np.argpartition(mx, n_chunks - kk, axis=1)[:, -kk:]
    cols = (best[:, :, None] + n_chunks * np.arange(_CHUNK)).reshape(rows, -1)
    g = np.take_along_axis(c, cols, axis=1)
    sel = np.argpartition(g, g.shape[1] - kk, axis=1)[:, -kk:]
    return np.take_along_axis(cols, sel, axis=1), np.take_along_axis(g, sel, axis=1)


class _Scorer:
    """Selection scores of rows × cols (index arrays, ascending), taken a block of rows at a time.

    Invalid pairs (same country, excluded, padding) score −inf; `offset[j]` is subtracted from
    column j (folded into the matrix product).
    """

    def __init__(
        self,
        f: Features,
        a_mat: npt.NDArray[np.float32],
        b_mat: npt.NDArray[np.float32],
        excluded: IntArray,
        rows: IntArray,
        cols: IntArray,
    ) -> None:
        self.f, self.rows, self.cols = f, rows, cols
        self.a = a_mat[rows]
        self.n_pad = -(-len(cols) // 64) * 64
        b_t = np.zeros((a_mat.shape[1], self.n_pad), dtype=np.float32)
        b_t[:-1, : len(cols)] = b_mat[cols].T
        self.b_t = b_t
        self.offset(np.zeros(len(cols)))
        # country blocks: rows and cols are both sorted by country
        rc, cc = f.country[rows], f.country[cols]
        codes = np.unique(rc)
        self.r_lo, self.r_hi = np.searchsorted(rc, codes), np.searchsorted(rc, codes, "right")
        self.c_lo, self.c_hi = np.searchsorted(cc, codes), np.searchsorted(cc, codes, "right")
        # exclusions as (row position, col position), sorted by row position
        rpos = np.full(f.n, -1, dtype=np.int64)
        cpos = np.full(f.n, -1, dtype=np.int64)
        rpos[rows] = np.arange(len(rows))
        cpos[cols] = np.arange(len(cols))
        ex = np.vstack([excluded, excluded[:, ::-1]]) if len(excluded) else excluded.reshape(0, 2)
        ex = np.column_stack([rpos[ex[:, 0]], cpos[ex[:, 1]]]) if len(ex) else ex
        ex = ex[(ex[:, 0] >= 0) & (ex[:, 1] >= 0)] if len(ex) else ex
        self.ex = ex[np.lexsort((ex[:, 1], ex[:, 0]))] if len(ex) else ex
        self.block = max(16, min(len(rows), _BLOCK_CELLS // self.n_pad))

    def offset(self, y: npt.NDArray[np.float64]) -> None:
        self.b_t[-1, : len(self.cols)] = self.f.base - y.astype(np.float32)

    def scored(self, r0: int, r1: int) -> npt.NDArray[np.float32]:
        c = self.a[r0:r1] @ self.b_t
        c[:, len(self.cols) :] = _NEG
        first = np.searchsorted(self.r_hi, r0, side="right")
        for t in range(first, len(self.r_lo)):
            if self.r_lo[t] >= r1:
                break
            lo, hi = max(int(self.r_lo[t]), r0) - r0, min(int(self.r_hi[t]), r1) - r0
            c[lo:hi, self.c_lo[t] : self.c_hi[t]] = _NEG
        ex = self.ex
        lo, hi = np.searchsorted(ex[:, 0], [r0, r1]) if len(ex) else (0, 0)
        if hi > lo:
            c[ex[lo:hi, 0] - r0, ex[lo:hi, 1]] = _NEG
        return c

    def blocks(self) -> Iterator[tuple[int, int, npt.NDArray[np.float32]]]:
        for r0 in range(0, len(self.rows), self.block):
            r1 = min(len(self.rows), r0 + self.block)
            yield r0, r1, self.scored(r0, r1)

    def top(self, c: npt.NDArray[np.float32], kk: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """Column positions and values of a top-kk of each row (ties: any valid choice)."""
        return _top_rows(c, kk)

    def mean_top(self, m: int) -> npt.NDArray[np.float64]:
        """Each row's mean of its m best scores (0 for a row without any valid pair)."""
        y = np.zeros(len(self.rows), dtype=np.float64)
        for r0, r1, c in self.blocks():
            _, vals = self.top(c, m)
            fin = np.isfinite(vals)
            cnt = fin.sum(axis=1)
            sums = np.where(fin, vals, 0).sum(axis=1, dtype=np.float64)
            y[r0:r1] = np.where(cnt > 0, sums / np.maximum(cnt, 1), 0.0)
        return y

    def best(self) -> npt.NDArray[np.float64]:
        """Each row's best (offset) score; −inf for a row without any valid pair."""
        y = np.empty(len(self.rows), dtype=np.float64)
        for r0, r1, c in self.blocks():
            y[r0:r1] = c.max(axis=1)
        return y

    def select(
        self, k: int, progress: Progress = None
    ) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
        """Each row's top-k edges as (u < v, unique, sorted) positions, and who has any."""
        us: list[IntArray] = []
        vs: list[IntArray] = []
        has = np.zeros(len(self.rows), dtype=np.bool_)
        for r0, r1, c in self.blocks():
            cols, vals = self.top(c, k)
            ok = np.isfinite(vals)
            has[r0:r1] = ok.any(axis=1)
            r, q = np.nonzero(ok)
            us.append(r + r0)
            vs.append(cols[r, q])
            if progress:
                progress("select", r1 / len(self.rows))
        u = np.concatenate(us).astype(np.int64)
        v = np.concatenate(vs).astype(np.int64)
        m = len(self.rows)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        key = np.unique(lo * m + hi)
        return key // m, key % m, has


def _scorers(f: Features, excluded: IntArray) -> Callable[[IntArray, IntArray], _Scorer]:
    a_mat, b_mat = _factors(f)
    a_mat = np.hstack([a_mat, np.ones((f.n, 1), dtype=np.float32)])
    return lambda rows, cols: _Scorer(f, a_mat, b_mat, excluded, rows, cols)


def prices(
    f: Features,
    excluded: IntArray,
    *,
    sample: int = 5000,
    k: int = 12,
    progress: Progress = None,
) -> npt.NDArray[np.float64]:
    """An estimate of everyone's LP dual ("price"): what they could get elsewhere.

    A sample of at most `sample` people (every s-th in index order, so each country keeps its
    share) is solved as a market of its own — candidate edges by the cheap proxy `mean of the
    10 best scores`, the fractional-matching LP, its exact duals — and each person j is priced
    `max over sampled i of (score(i, j) − y(i))`, which is y(j) itself for the sample.
    Ranking partners by `score − price` is what makes a small k enough (MATCHING.md).
    """
    n = f.n
    make = _scorers(f, excluded)
    stride = max(1, -(-n // sample))
    s_idx = np.arange(0, n, stride, dtype=np.int64)
    sub = make(s_idx, s_idx)
    sub.offset(sub.mean_top(10))
    u, v, _ = sub.select(k)
    y_s = np.zeros(len(s_idx), dtype=np.float64)
    matched = np.zeros(len(s_idx), dtype=np.bool_)
    if len(u):
        w = edge_cents(f, s_idx[u], s_idx[v])
        sw = ms.solver_weights(len(s_idx), w)
        sigma, _ = ms.lp_double_cover(len(s_idx), u, v, sw)
        y2 = ms.lp_duals(len(s_idx), u, v, sw, sigma)
        # back to the scale of scores: the solver adds one constant to every edge
        y_s = (y2 - int(sw[0] - w[0])) / 2
        matched = sigma != np.arange(len(s_idx))
    if progress:
        progress("score", 0.5)
    if not matched.any():
        return np.zeros(n, dtype=np.float64)
    cols = s_idx[matched]
    ext = make(np.arange(n, dtype=np.int64), cols)
    ext.offset(y_s[matched])
    y = ext.best()
    fin = np.isfinite(y)
    y[~fin] = float(np.mean(y[fin])) if fin.any() else 0.0
    if progress:
        progress("score", 1.0)
    return y


def select_edges(
    f: Features,
    excluded: IntArray,
    k: int,
    y: npt.NDArray[np.float64],
    progress: Progress = None,
) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
    """Candidate edges (u < v, unique, sorted): each person's k best partners j by reduced score
    `score − y(j)`; and who has any valid partner at all.

    `excluded` is an (m × 2) array of index pairs that must not become edges.
    """
    n = f.n
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(n, dtype=np.bool_)
    everyone = np.arange(n, dtype=np.int64)
    sc = _scorers(f, excluded)(everyone, everyone)
    sc.offset(y)
    return sc.select(k, progress)


def mean_top(f: Features, excluded: IntArray, m: int = 10) -> npt.NDArray[np.float64]:
    """Everyone's mean of their m best scores over all pairs (the cheap proxy price)."""
    everyone = np.arange(f.n, dtype=np.int64)
    return _scorers(f, excluded)(everyone, everyone).mean_top(m)
