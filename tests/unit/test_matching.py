"""The matching engine: hard rules, the cap, determinism, optimality, the score and its reasons."""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.pools import make_pool
from mailbot.domain import matching_graph as mg
from mailbot.domain import matching_solve as ms
from mailbot.domain.matching import (
    Candidate,
    Exclusions,
    LeftCode,
    Proposal,
    Weights,
    WishKind,
    WishMet,
    allowed,
    apply_country_cap,
    encode,
    explain,
    propose,
    score,
    score_cents,
)

W = Weights()
COUNTRIES = ("AU", "US", "FR", "IN")
SECTORS = ("academic", "public", "school", "museum")
STAGES = ("student", "new professional", "mid-career", "senior")
TOPICS = ("advocacy", "spaces", "leadership", "metadata", "outreach")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def person(i: int, country: str = "AU", **kw: object) -> Candidate:
    base: dict[str, object] = {
        "id": i,
        "country": country,
        "utc_offset": 0.0,
        "languages": frozenset({"en"}),
        "sector": "academic",
        "career_stage": "mid-career",
        "interests": frozenset(),
        "applied_order": i,
    }
    base.update(kw)
    return Candidate(**base)  # type: ignore[arg-type]


@st.composite
def candidates(draw: st.DrawFn, min_size: int = 2, max_size: int = 14) -> list[Candidate]:
    n = draw(st.integers(min_size, max_size))
    ids = draw(st.lists(st.integers(1, 999), min_size=n, max_size=n, unique=True))
    out = []
    for k, i in enumerate(ids):
        out.append(
            Candidate(
                id=i,
                country=draw(st.sampled_from(COUNTRIES[: draw(st.integers(2, 4))])),
                utc_offset=draw(st.sampled_from((None, -5.0, 0.0, 5.5, 10.0))),
                languages=frozenset(draw(st.sets(st.sampled_from(("en", "fr", "es")), max_size=2))),
                sector=draw(st.sampled_from(SECTORS)),
                career_stage=draw(st.sampled_from(STAGES)),
                interests=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=5))),
                partner_sector=draw(st.none() | st.sampled_from(SECTORS)),
                partner_career_stage=draw(st.none() | st.sampled_from(STAGES)),
                partner_interests=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=2))),
                applied_order=draw(st.integers(0, 5)) * 100 + k,
            )
        )
    return out


@st.composite
def pools(draw: st.DrawFn, max_size: int = 14) -> tuple[list[Candidate], Exclusions]:
    cands = draw(candidates(max_size=max_size))
    ids = [c.id for c in cands]
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=6))
    fs = [frozenset(p) for p in pairs if p[0] != p[1]]
    half = len(fs) // 2
    return cands, Exclusions(frozenset(fs[:half]), frozenset(fs[half:]))


def optimum(cands: list[Candidate], excl: Exclusions) -> tuple[int, int]:
    """(most pairs, best total cents among those) by exhaustive search over subsets."""
    n = len(cands)
    wt = [[score_cents(a, b, W) if allowed(a, b, excl) else None for b in cands] for a in cands]

    @cache
    def best(mask: int) -> tuple[int, int]:
        if mask == 0:
            return (0, 0)
        i = (mask & -mask).bit_length() - 1
        rest = mask & ~(1 << i)
        top = best(rest)  # i stays single
        for j in range(i + 1, n):
            if rest >> j & 1 and wt[i][j] is not None:
                c, s = best(rest & ~(1 << j))
                top = max(top, (c + 1, s + wt[i][j]))  # type: ignore[operator]
        return top

    return best((1 << n) - 1)


def check_rules(cands: list[Candidate], excl: Exclusions, prop: Proposal) -> None:
    by_id = {c.id: c for c in cands}
    seen: list[int] = [x for p in prop.pairs for x in p.members] + [x.id for x in prop.left]
    assert sorted(seen) == sorted(by_id), "everyone is in exactly one pair or in left"
    for p in prop.pairs:
        assert len(p.members) in (2, 3)
        ms = [by_id[x] for x in p.members]
        for x in range(len(ms)):
            for y in range(x + 1, len(ms)):
                assert ms[x].country != ms[y].country
                assert not excl.forbids(ms[x].id, ms[y].id)
    assert all(x.detail for x in prop.left)


# ------------------------------------------------------------------------------ hard rules


@SETTINGS
@given(pools())
def test_hard_rules_hold(pool: tuple[list[Candidate], Exclusions]) -> None:
    cands, excl = pool
    for odd in ("trio", "defer"):
        check_rules(cands, excl, propose(cands, W, excl, odd, cap_share=None))  # type: ignore[arg-type]
        check_rules(cands, excl, propose(cands, W, excl, odd))  # type: ignore[arg-type]


@SETTINGS
@given(pools(max_size=12))
def test_lp_path_keeps_hard_rules_and_stays_under_the_optimum(
    pool: tuple[list[Candidate], Exclusions],
) -> None:
    cands, excl = pool
    prop = propose(cands, W, excl, "defer", cap_share=None, exact_limit=0, k=3)
    check_rules(cands, excl, prop)
    pairs, cents = optimum(cands, excl)
    assert len(prop.pairs) <= pairs
    if len(prop.pairs) == pairs:
        assert round(prop.total_score * 100) <= cents


@SETTINGS
@given(candidates(max_size=14), st.sampled_from((0.2, 0.25, 0.5)))
def test_country_cap(cands: list[Candidate], share: float) -> None:
    kept, deferred = apply_country_cap(cands, share)
    limit = max(1, int(share * len(cands) + 1e-9))
    assert len(kept) + len(deferred) == len(cands)
    assert all(d.code is LeftCode.COUNTRY_CAP for d in deferred)
    by_id = {c.id: c for c in cands}
    for country in {c.country for c in cands}:
        mine = [c for c in kept if c.country == country]
        assert len(mine) <= limit
        late = [by_id[d.id] for d in deferred if by_id[d.id].country == country]
        if late:
            assert len(mine) == limit
            assert max((c.applied_order, c.id) for c in mine) < min(
                (c.applied_order, c.id) for c in late
            )


def test_cap_defers_latest_and_propose_reports_them() -> None:
    cands = [person(i, "AU" if i <= 4 else f"C{i}", applied_order=100 - i) for i in range(1, 11)]
    prop = propose(cands, odd="defer")
    capped = sorted(x.id for x in prop.left if x.code is LeftCode.COUNTRY_CAP)
    assert capped == [1, 2]  # AU keeps 2 of 10: ids 4 and 3 applied first (orders 96, 97)


# ------------------------------------------------------------------------- determinism, optimum


@SETTINGS
@given(pools(), st.randoms(use_true_random=False))
def test_deterministic_and_order_free(
    pool: tuple[list[Candidate], Exclusions], rnd: random.Random
) -> None:
    cands, excl = pool
    first = propose(cands, W, excl)
    assert propose(cands, W, excl) == first
    shuffled = cands[:]
    rnd.shuffle(shuffled)
    assert propose(shuffled, W, excl) == first


@SETTINGS
@given(pools(max_size=12))
def test_total_is_the_exact_optimum(pool: tuple[list[Candidate], Exclusions]) -> None:
    cands, excl = pool
    prop = propose(cands, W, excl, "defer", cap_share=None)
    pairs, cents = optimum(cands, excl)
    assert len(prop.pairs) == pairs
    assert round(prop.total_score * 100) == cents


def test_optimal_beats_greedy() -> None:
    # greedy takes 1-2 (the best edge) and strands 3 and 4; the optimum pairs 1-3 and 2-4
    love = frozenset({"advocacy", "spaces", "leadership"})
    a = person(1, "AU", interests=love)
    b = person(2, "US", interests=love)
    c = person(3, "US", interests=frozenset({"advocacy", "spaces"}))
    d = person(4, "AU", interests=frozenset({"spaces", "leadership"}))
    prop = propose([a, b, c, d], cap_share=None, excl=Exclusions(frozenset({frozenset({3, 4})})))
    assert [p.members for p in prop.pairs] == [(1, 3), (2, 4)]


# -------------------------------------------------------------------------------- the score


@SETTINGS
@given(candidates(min_size=2, max_size=2))
def test_score_is_symmetric(pair: list[Candidate]) -> None:
    a, b = pair
    assert score(a, b) == score(b, a)
    assert explain(a, b).score == score(a, b)


@SETTINGS
@given(candidates(min_size=2, max_size=10))
def test_vectorised_scores_equal_the_scalar_rule(cands: list[Candidate]) -> None:
    f = encode(cands, W)
    u, v = np.triu_indices(len(cands), 1)
    got = mg.edge_cents(f, u.astype(np.int64), v.astype(np.int64))
    want = [score_cents(cands[i], cands[j], W) for i, j in zip(u, v, strict=True)]
    assert got.tolist() == want


def test_wish_for_a_different_sector_counts_like_any_wish() -> None:
    a = person(1, "AU", sector="public", partner_sector="academic")
    b = person(2, "US", sector="academic")
    same = person(3, "AU", sector="academic", partner_sector="academic")
    assert score(a, b) - score(replace(a, partner_sector=None), b) == W.wish_met
    assert score(same, b) - score(replace(same, partner_sector=None), b) == W.wish_met


def test_no_wish_is_neutral() -> None:
    a = person(1, "AU")
    for b in (person(2, "US", sector="museum"), person(3, "FR", career_stage="senior")):
        assert score(a, b) == score(person(9, "AU", sector="school", career_stage="student"), b)


def test_wish_both_directions_and_unmet_wish() -> None:
    a = person(1, "AU", sector="public", partner_career_stage="senior")
    b = person(2, "US", career_stage="senior", partner_sector="public")
    c = person(3, "US", career_stage="student", partner_sector="museum")
    assert score(a, b) - score(a, c) == 2 * W.wish_met


@pytest.mark.parametrize(
    ("a", "b", "field", "expected"),
    [
        (
            person(1, "AU", interests=frozenset({"advocacy", "spaces", "x"})),
            person(2, "US", interests=frozenset({"spaces", "advocacy", "y"})),
            "shared_interests",
            ("advocacy", "spaces"),
        ),
        (
            person(1, "AU", partner_sector="museum", partner_interests=frozenset({"spaces"})),
            person(2, "US", sector="museum", interests=frozenset({"spaces"})),
            "wishes_met",
            (WishMet(1, WishKind.SECTOR, "museum"), WishMet(1, WishKind.INTEREST, "spaces")),
        ),
        (
            person(1, "AU"),
            person(2, "US", partner_career_stage="mid-career"),
            "wishes_met",
            (WishMet(2, WishKind.CAREER_STAGE, "mid-career"),),
        ),
        (person(1, "AU", utc_offset=10.0), person(2, "GB", utc_offset=0.0), "overlap_hours", 4.0),
        (person(1, "AU", utc_offset=10.0), person(2, "NZ", utc_offset=12.0), "overlap_hours", 12.0),
        (person(1, "AU", utc_offset=None), person(2, "US"), "overlap_hours", None),
        (
            person(1, "CA", languages=frozenset({"en", "fr"})),
            person(2, "FR", languages=frozenset({"fr"})),
            "common_languages",
            ("fr",),
        ),
        (
            person(1, "ES", languages=frozenset({"es"})),
            person(2, "FR", languages=frozenset({"fr"})),
            "parts",
            (("base", 2.0), ("zone_overlap", 1.0), ("language", -4.0)),
        ),
        (
            person(1, "AU", interests=frozenset(TOPICS)),
            person(2, "US", interests=frozenset(TOPICS)),
            "parts",
            (("base", 2.0), ("shared_interest", 6.0), ("zone_overlap", 1.0), ("language", 1.0)),
        ),
    ],
)
def test_explain(a: Candidate, b: Candidate, field: str, expected: object) -> None:
    reason = explain(a, b)
    assert getattr(reason, field) == expected
    assert round(sum(p for _, p in reason.parts) * 100) == score_cents(a, b)


# ---------------------------------------------------------------------------- odd one out


def _three() -> list[Candidate]:
    both = frozenset({"advocacy"})
    return [
        person(1, "AU", interests=both),
        person(2, "US", interests=both),
        person(3, "FR", applied_order=9),
    ]


def test_odd_one_out_joins_a_trio() -> None:
    prop = propose(_three(), odd="trio", cap_share=None)
    assert [p.members for p in prop.pairs] == [(1, 2, 3)]
    assert prop.pairs[0].third == 3
    assert len(prop.pairs[0].reasons) == 3
    assert prop.left == ()


def test_odd_one_out_deferred_with_reason() -> None:
    prop = propose(_three(), odd="defer", cap_share=None)
    assert [p.members for p in prop.pairs] == [(1, 2)]
    assert [(x.id, x.code) for x in prop.left] == [(3, LeftCode.ODD_ONE_OUT)]


def test_trio_needs_both_new_edges_allowed() -> None:
    people = [*_three()[:2], person(3, "US")]  # the third is from the US: no trio possible
    prop = propose(people, odd="trio", cap_share=None)
    assert [p.members for p in prop.pairs] == [(1, 2)]
    assert prop.left[0].code is LeftCode.ODD_ONE_OUT


def test_no_eligible_partner() -> None:
    prop = propose([person(1, "AU"), person(2, "AU")], cap_share=None)
    assert prop.pairs == ()
    assert {x.code for x in prop.left} == {LeftCode.NO_ELIGIBLE_PARTNER}


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        propose([person(1, "AU"), person(1, "US")])


# ------------------------------------------------------------------- a real-sized pool, fast path


def test_generated_pool_uses_the_lp_path_and_pairs_everyone() -> None:
    pool = make_pool(700, seed=3)
    seen: list[str] = []
    prop = propose(pool, progress=lambda stage, frac: seen.append(stage))
    check_rules(pool, Exclusions(), prop)
    assert "exact" not in prop.stats and seen[-1] == "done"
    kept = prop.stats["after_cap"]
    assert sum(len(p.members) for p in prop.pairs) >= kept - 1


# ---------------------------------------------------------------------- the LP and its duals


def _random_graphs(count: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(count):
        n = int(rng.integers(2, 30))
        key = np.unique(rng.integers(0, n * n, int(rng.integers(1, n * n))))
        u, v = key // n, key % n
        keep = u < v
        if keep.any():
            w = rng.integers(-300, 3000, int(keep.sum()))
            out.append((n, u[keep], v[keep], ms.solver_weights(n, w)))
    return out


def test_lp_duals_are_feasible_and_tight() -> None:
    for n, u, v, sw in _random_graphs(150):
        sigma, twice = ms.lp_double_cover(n, u, v, sw)
        y2 = ms.lp_duals(n, u, v, sw, sigma)
        assert (y2 >= 0).all()
        assert (y2[u] + y2[v] >= 2 * sw).all()
        assert int(y2.sum()) == twice  # strong duality: Σ y = the LP's value


def test_lp_guess_changes_nothing_but_speed() -> None:
    rng = np.random.default_rng(3)
    for n, u, v, sw in _random_graphs(150):
        plain = ms.lp_double_cover(n, u, v, sw)[1]
        guess = rng.integers(-(10**4), 10**8, n)
        assert ms.lp_double_cover(n, u, v, sw, guess)[1] == plain
