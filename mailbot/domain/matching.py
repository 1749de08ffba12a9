"""Decide who is paired with whom in a round: the pair score, the country cap, and the proposal.

`propose` pairs the most people possible and, among those pairings, maximises the total score
over the whole pool (maximum-weight matching on a general graph, not greedy). Hard rules — partner
in another country, no previous or blocked pair, nobody twice — are checked on the solver's
output and repaired, never trusted. Everyone not paired is in `Proposal.left` with a code and a
reason. Same input → same proposal, whatever the input order.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mailbot.domain import matching_graph as mg
from mailbot.domain import matching_solve as ms

# the engine's inputs live in a leaf module (matching_graph reads them too); callers keep
# reaching them as matching.Candidate, matching.Weights, matching.Exclusions
from mailbot.domain.matching_model import Candidate as Candidate
from mailbot.domain.matching_model import Exclusions as Exclusions
from mailbot.domain.matching_model import Weights as Weights


class LeftCode(enum.StrEnum):
    """Why someone is not in a pair this round."""

    COUNTRY_CAP = "country_cap"  # their country was over the cap; invited to the next round
    ODD_ONE_OUT = "odd_one_out"  # odd count and odd="defer" (or no pair could take a third)
    NO_ELIGIBLE_PARTNER = "no_eligible_partner"  # everyone else is same-country or excluded
    UNMATCHED = "unmatched"  # had partners, but every one of them is needed elsewhere


class WishKind(enum.StrEnum):
    SECTOR = "sector"
    CAREER_STAGE = "career_stage"
    INTEREST = "interest"


@dataclass(frozen=True)
class WishMet:
    by: int  # the id of the person whose wish is met
    kind: WishKind
    value: str


@dataclass(frozen=True)
class PairReason:
    """Why two people score what they score (one edge of a pair or trio), machine-readable."""

    a: int
    b: int
    score: float
    shared_interests: tuple[str, ...]  # sorted; all of them, even past the cap
    wishes_met: tuple[WishMet, ...]
    overlap_hours: float | None  # waking hours in common; None if a zone is unknown
    common_languages: tuple[str, ...]  # sorted; empty: none in common (or unknown)
    parts: tuple[tuple[str, float], ...]  # (weight name, points) summing to score


@dataclass(frozen=True)
class Pair:
    members: tuple[int, ...]  # 2, or 3 for a trio; ascending ids
    score: float  # sum over its edges
    reasons: tuple[PairReason, ...]  # one per edge: 1 for a pair, 3 for a trio
    third: int | None = None  # in a trio: the one who joined the pair (the odd one out)


@dataclass(frozen=True)
class Left:
    id: int
    code: LeftCode
    detail: str


@dataclass(frozen=True)
class Proposal:
    pairs: tuple[Pair, ...]  # sorted by first member
    left: tuple[Left, ...]  # sorted by id
    total_score: float
    stats: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- the score, one pair at a time


def overlap_hours(off_a: float, off_b: float, w: Weights) -> float:
    """Hours both are awake (waking_start–waking_end local) given standard UTC offsets."""
    span = max(0.0, min(24.0, w.waking_end - w.waking_start))
    d = (off_a - off_b) % 24.0
    return max(0.0, span - d) + max(0.0, d + span - 24.0)


def _zone_cents(off_a: float | None, off_b: float | None, w: Weights) -> int:
    if off_a is None or off_b is None:
        return 0
    return round(w.zone_overlap * 100 * (overlap_hours(off_a, off_b, w) - w.zone_neutral_hours))


def _lang_cents(a: frozenset[str], b: frozenset[str], w: Weights) -> int:
    if not a or not b:
        return 0
    return mg.cents(w.common_language if a & b else w.no_common_language)


def _wishes(a: Candidate, b: Candidate) -> list[WishMet]:
    """Wishes of `a` met by `b`."""
    out = []
    if a.partner_sector is not None and a.partner_sector == b.sector:
        out.append(WishMet(a.id, WishKind.SECTOR, b.sector))
    if a.partner_career_stage is not None and a.partner_career_stage == b.career_stage:
        out.append(WishMet(a.id, WishKind.CAREER_STAGE, b.career_stage))
    if a.partner_interests:
        met = a.partner_interests & b.interests
        if met:
            out.extend(WishMet(a.id, WishKind.INTEREST, x) for x in sorted(met))
    return out


def _parts(
    a: Candidate,
    b: Candidate,
    w: Weights,
    ab: list[WishMet] | None = None,
    ba: list[WishMet] | None = None,
) -> list[tuple[str, int]]:
    """The score's parts in cents; `ab`/`ba` (`_wishes` both ways) when the caller has them."""
    shared = len(a.interests & b.interests)
    ab = _wishes(a, b) if ab is None else ab
    ba = _wishes(b, a) if ba is None else ba
    interest = WishKind.INTEREST
    got_ab = sum(1 for x in ab if x.kind is interest)
    got_ba = sum(1 for x in ba if x.kind is interest)
    plain = len(ab) + len(ba) - got_ab - got_ba
    cap = w.partner_interest_cap
    return [
        ("base", mg.cents(w.base)),
        ("shared_interest", mg.cents(w.shared_interest) * min(shared, w.shared_interest_cap)),
        ("wish_met", mg.cents(w.wish_met) * plain),
        (
            "partner_interest_met",
            mg.cents(w.partner_interest_met) * (min(cap, got_ab) + min(cap, got_ba)),
        ),
        ("zone_overlap", _zone_cents(a.utc_offset, b.utc_offset, w)),
        ("language", _lang_cents(a.languages, b.languages, w)),
    ]


def score_cents(a: Candidate, b: Candidate, w: Weights = Weights()) -> int:
    """The score × 100 as an exact integer (what the solver maximises)."""
    return sum(c for _, c in _parts(a, b, w))


def score(a: Candidate, b: Candidate, w: Weights = Weights()) -> float:
    """How good a partnership a and b would be; symmetric. Ignores the hard rules (country,
    exclusions): those decide whether the pair is an edge at all."""
    return score_cents(a, b, w) / 100


def explain(a: Candidate, b: Candidate, w: Weights = Weights()) -> PairReason:
    """The machine-readable reasons behind `score(a, b, w)`."""
    ab, ba = _wishes(a, b), _wishes(b, a)
    parts = _parts(a, b, w, ab, ba)
    overlap = None
    if a.utc_offset is not None and b.utc_offset is not None:
        overlap = overlap_hours(a.utc_offset, b.utc_offset, w)
    return PairReason(
        a=a.id,
        b=b.id,
        score=sum(c for _, c in parts) / 100,
        shared_interests=tuple(sorted(a.interests & b.interests)),
        wishes_met=tuple(ab + ba),
        overlap_hours=overlap,
        common_languages=tuple(sorted(a.languages & b.languages)),
        parts=tuple((name, c / 100) for name, c in parts if c),
    )


def allowed(a: Candidate, b: Candidate, excl: Exclusions = Exclusions()) -> bool:
    """The hard rules for one pair: different people, different countries, not excluded."""
    return a.id != b.id and a.country != b.country and not excl.forbids(a.id, b.id)


def encode(pool: Sequence[Candidate], w: Weights = Weights()) -> mg.Features:
    """The pool as arrays for bulk scoring (`matching_graph`), in the given order."""
    return mg.encode(pool, w, lambda x, y: _zone_cents(x, y, w), lambda x, y: _lang_cents(x, y, w))


# ---------------------------------------------------------------------------- the country cap


def apply_country_cap(
    cands: Sequence[Candidate], cap_share: float = 0.20
) -> tuple[list[Candidate], list[Left]]:
    """ILN's cap: no country keeps more than `cap_share` of the round's applicants.

    The limit is `max(1, floor(cap_share × len(cands)))` per country, filled first-come-first-
    served by `applied_order` (then id); the rest are deferred with code "country_cap".
    Returns (kept in input order, deferred sorted by id).
    """
    limit = max(1, int(cap_share * len(cands) + 1e-9))
    by_country: dict[str, list[Candidate]] = {}
    for c in cands:
        by_country.setdefault(c.country, []).append(c)
    deferred: set[int] = set()
    out: list[Left] = []
    for country, group in by_country.items():
        if len(group) <= limit:
            continue
        for c in sorted(group, key=lambda c: (c.applied_order, c.id))[limit:]:
            deferred.add(c.id)
            out.append(
                Left(
                    c.id,
                    LeftCode.COUNTRY_CAP,
                    f"{country} has {len(group)} of {len(cands)} applicants, over the "
                    f"{cap_share:.0%} cap of {limit}; invited to the next round",
                )
            )
    return [c for c in cands if c.id not in deferred], sorted(out, key=lambda x: x.id)


# ---------------------------------------------------------------------------- the proposal


def propose(
    cands: Sequence[Candidate],
    w: Weights = Weights(),
    excl: Exclusions = Exclusions(),
    odd: Literal["trio", "defer"] = "trio",
    *,
    cap_share: float | None = 0.20,
    k: int = 10,
    alpha: float = 1.0,
    exact_limit: int = 200,
    progress: Callable[[str, float], None] | None = None,
) -> Proposal:
    """Pair the pool: the most pairs possible, then the highest total score.

    `cap_share` applies `apply_country_cap` first (None: the caller already did). `k` and `alpha`
    choose the candidate edges (each person's k best partners j by reduced score
    `w − alpha · price(j)`, prices from a sampled LP's duals, MATCHING.md);
    pools of at most `exact_limit` people are solved exactly on all their valid pairs.
    `progress(stage, fraction)` is called with stages "score", "select", "solve", "done".
    """
    ids = [c.id for c in cands]
    if len(set(ids)) != len(ids):
        dup = sorted(i for i, m in Counter(ids).items() if m > 1)
        raise ValueError(f"duplicate candidate ids: {dup[:10]}")
    pool = sorted(cands, key=lambda c: c.id)
    left: list[Left] = []
    if cap_share is not None:
        pool, left = apply_country_cap(pool, cap_share)
    pool.sort(key=lambda c: (c.country, c.id))  # index order: country blocks
    n = len(pool)
    index = {c.id: i for i, c in enumerate(pool)}
    forbidden = sorted(
        (min(index[a], index[b]), max(index[a], index[b]))
        for pair in excl.previous_pairs | excl.blocked_pairs
        if len(pair) == 2 and all(x in index for x in pair)
        for a, b in [sorted(pair)]
    )
    ex = np.array(forbidden, dtype=np.int64).reshape(-1, 2)
    feats = encode(pool, w)
    y = None
    if n <= exact_limit:
        u, v, has_partner = mg.select_edges(feats, ex, max(1, n - 1), np.zeros(n), progress)
    else:
        y = mg.prices(feats, ex, progress=progress)
        u, v, has_partner = mg.select_edges(feats, ex, k, alpha * y, progress)
    wts = mg.edge_cents(feats, u, v)
    mate, stats = ms.solve(n, u, v, wts, exact_limit=exact_limit, prices=y, progress=progress)

    # verify the hard rules on the output; drop anything that breaks them
    pairs: list[list[int]] = []
    for i in range(n):
        j = int(mate[i])
        if j > i and mate[j] == i and allowed(pool[i], pool[j], excl):
            pairs.append([i, j])
    taken = {x for p in pairs for x in p}
    free = [i for i in range(n) if i not in taken]

    # the ones left over: join a pair as a third, or are deferred
    thirds: dict[int, int] = {}  # pair index -> third
    for i in sorted(free, key=lambda i: (pool[i].applied_order, pool[i].id)):
        if not has_partner[i]:
            left.append(
                Left(
                    pool[i].id,
                    LeftCode.NO_ELIGIBLE_PARTNER,
                    "everyone else in the round is from the same country or excluded",
                )
            )
            continue
        choice = None
        if odd == "trio":
            choice = _best_trio(pool, feats, pairs, thirds, i, excl)
        if choice is not None:
            thirds[choice] = i
            continue
        if len(free) == 1 and n % 2 == 1:
            why = (
                "odd number of people; deferred to the next round"
                if odd == "defer"
                else "odd number of people and no pair could take a third"
            )
            left.append(Left(pool[i].id, LeftCode.ODD_ONE_OUT, why))
        else:
            left.append(
                Left(
                    pool[i].id,
                    LeftCode.UNMATCHED,
                    "every possible partner is needed for another pair",
                )
            )

    out: list[Pair] = []
    for p_idx, (i, j) in enumerate(pairs):
        members = [pool[i], pool[j]]
        third = thirds.get(p_idx)
        if third is not None:
            members.append(pool[third])
        members.sort(key=lambda c: c.id)
        reasons = tuple(
            explain(members[x], members[y], w)
            for x in range(len(members))
            for y in range(x + 1, len(members))
        )
        out.append(
            Pair(
                members=tuple(c.id for c in members),
                score=sum(round(r.score * 100) for r in reasons) / 100,
                reasons=reasons,
                third=None if third is None else pool[third].id,
            )
        )
    out.sort(key=lambda p: p.members)
    _check(out, {c.id: c for c in pool}, excl)
    total = sum(round(p.score * 100) for p in out) / 100
    stats.update(
        {
            "candidates": float(len(cands)),
            "after_cap": float(n),
            "pairs": float(sum(1 for p in out if len(p.members) == 2)),
            "trios": float(sum(1 for p in out if len(p.members) == 3)),
            "left": float(len(left)),
        }
    )
    if progress:
        progress("done", 1.0)
    return Proposal(tuple(out), tuple(sorted(left, key=lambda x: x.id)), total, stats)


def _best_trio(
    pool: list[Candidate],
    feats: mg.Features,
    pairs: list[list[int]],
    thirds: dict[int, int],
    i: int,
    excl: Exclusions,
) -> int | None:
    """The pair (not yet a trio) that person i adds most to, with both new edges allowed."""
    open_pairs = [p for p in range(len(pairs)) if p not in thirds]
    if not open_pairs:
        return None
    a = np.array([pairs[p][0] for p in open_pairs], dtype=np.int64)
    b = np.array([pairs[p][1] for p in open_pairs], dtype=np.int64)
    me = np.full(len(a), i, dtype=np.int64)
    gain = mg.edge_cents(feats, me, a) + mg.edge_cents(feats, me, b)
    ok = (feats.country[a] != feats.country[i]) & (feats.country[b] != feats.country[i])
    best: tuple[int, int] | None = None
    for t in np.flatnonzero(ok)[np.argsort(-gain[ok], kind="stable")].tolist():
        if excl.forbids(pool[i].id, pool[a[t]].id) or excl.forbids(pool[i].id, pool[b[t]].id):
            continue
        best = (int(gain[t]), open_pairs[t])
        break
    return None if best is None else best[1]


def _check(pairs: list[Pair], by_id: dict[int, Candidate], excl: Exclusions) -> None:
    """Last line of defence: the hard rules hold on what we return."""
    seen: set[int] = set()
    for p in pairs:
        for x in p.members:
            if x in seen:
                raise AssertionError(f"{x} is in two pairs")
            seen.add(x)
        for r in p.reasons:
            if not allowed(by_id[r.a], by_id[r.b], excl):
                raise AssertionError(f"pair {r.a}-{r.b} breaks a hard rule")
