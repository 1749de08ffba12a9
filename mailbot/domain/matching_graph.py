"""Choose the candidate edges the matching is solved on, and weigh edges in bulk (vectorised).

Every valid pair (different countries, not excluded) is scored, twice, without ever holding all
pairs: rows are taken in blocks and scored by one matrix product (BLAS) of per-person feature
rows. Pass 1 gives each person `y = α · mean of their 10 best scores`; pass 2 keeps, for each
person i, the k partners j with the best *reduced* score `w(i,j) − y(j)` (MATCHING.md: raw top-k
loses 2–3 %, reduced top-k ≈ exact). A block's top-k is found via the maxima of 64-column chunks,
so only a small share of each row is ever partitioned.

The selection score is the exact score without the two caps (shared interests, wished interests
per direction): it is a bilinear form, so one matrix product gives it. It is never below the real
score and differs only for the rare pairs past a cap. Edge weights handed to the solver are exact
(`edge_cents`, equal to `matching.score` × 100).

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from mailbot.domain.matching import Candidate, Weights

IntArray = npt.NDArray[np.int64]
_CHUNK = 64  # columns per chunk when looking for a row's top-k
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
    sectors = sorted({c.sector for c in cands} | {c.partner_sector for c in cands} - {None})
    stages = sorted(
        {c.career_stage for c in cands} | {c.partner_career_stage for c in cands} - {None}
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
    for r, c in enumerate(cands):
        interests[r, [vi[x] for x in c.interests]] = True
        wished[r, [vi[x] for x in c.partner_interests]] = True

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


def select_edges(
    f: Features,
    excluded: IntArray,
    k: int,
    alpha: float,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
    """Candidate edges (u < v, unique, sorted) and who has any valid partner at all.

    `excluded` is an (m × 2) array of index pairs that must not become edges.
    """
    n = f.n
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(n, dtype=np.bool_)
    a_mat, b_mat = _factors(f)
    a_mat = np.hstack([a_mat, np.ones((n, 1), dtype=np.float32)])
    n_pad = -(-n // _CHUNK) * _CHUNK
    b_t = np.zeros((a_mat.shape[1], n_pad), dtype=np.float32)
    b_t[:-1, :n] = b_mat.T
    b_t[-1, :n] = f.base
    b_t = np.ascontiguousarray(b_t)
    starts = np.flatnonzero(np.r_[True, f.country[1:] != f.country[:-1]])
    ends = np.r_[starts[1:], n]
    ex = np.vstack([excluded, excluded[:, ::-1]]) if len(excluded) else excluded.reshape(0, 2)
    ex = ex[np.lexsort((ex[:, 1], ex[:, 0]))] if len(ex) else ex
    block = max(16, min(n, _BLOCK_CELLS // n_pad))

    def scored(r0: int, r1: int) -> npt.NDArray[np.float32]:
        c = a_mat[r0:r1] @ b_t
        c[:, n:] = _NEG
        first = np.searchsorted(ends, r0, side="right")
        for s, e in zip(starts[first:], ends[first:], strict=True):
            if s >= r1:
                break
            c[max(s, r0) - r0 : min(e, r1) - r0, s:e] = _NEG
        lo, hi = np.searchsorted(ex[:, 0], [r0, r1]) if len(ex) else (0, 0)
        if hi > lo:
            c[ex[lo:hi, 0] - r0, ex[lo:hi, 1]] = _NEG
        return c

    def top(c: npt.NDArray[np.float32], kk: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """Column indices and values of a top-kk of each row (ties: any valid choice)."""
        rows = c.shape[0]
        n_chunks = n_pad // _CHUNK
        if n_chunks <= kk or n_pad <= 4 * kk:
            cols = np.broadcast_to(np.arange(n_pad), (rows, n_pad))
            g = c
        else:
            mx = c.reshape(rows, n_chunks, _CHUNK).max(axis=2)
            best = np.argpartition(mx, n_chunks - kk, axis=1)[:, -kk:]
            cols = (best[:, :, None] * _CHUNK + np.arange(_CHUNK)).reshape(rows, -1)
            g = np.take_along_axis(c, cols, axis=1)
        kk = min(kk, g.shape[1])
        sel = np.argpartition(g, g.shape[1] - kk, axis=1)[:, -kk:]
        return np.take_along_axis(cols, sel, axis=1), np.take_along_axis(g, sel, axis=1)

    # pass 1: y(j) from j's 10 best scores
    y = np.zeros(n, dtype=np.float64)
    has_partner = np.zeros(n, dtype=np.bool_)
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        c = scored(r0, r1)
        _, vals = top(c, 10)
        fin = np.isfinite(vals)
        cnt = fin.sum(axis=1)
        has_partner[r0:r1] = cnt > 0
        sums = np.where(fin, vals, 0).sum(axis=1, dtype=np.float64)
        y[r0:r1] = np.where(cnt > 0, sums / np.maximum(cnt, 1), 0.0)
        if progress:
            progress("score", r1 / n)
    b_t[-1, :n] = f.base - (alpha * y).astype(np.float32)

    # pass 2: top-k by reduced score
    us: list[IntArray] = []
    vs: list[IntArray] = []
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        c = scored(r0, r1)
        cols, vals = top(c, k)
        r, q = np.nonzero(np.isfinite(vals))
        us.append(r + r0)
        vs.append(cols[r, q])
        if progress:
            progress("select", r1 / n)
    u = np.concatenate(us).astype(np.int64)
    v = np.concatenate(vs).astype(np.int64)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = np.unique(lo * n + hi)
    return key // n, key % n, has_partner
