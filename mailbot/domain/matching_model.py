"""The matching engine's inputs: one applicant as the matcher sees them, the weights a pair's
score is made of, and the pairs that must never be formed.

A leaf module so that `matching` (the proposal) and `matching_graph` (bulk scoring) can both
read these types without importing each other.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """One applicant as the matcher sees them (the caller has filtered out paused/withdrawn)."""

    id: int
    country: str  # ISO alpha-2
    utc_offset: float | None  # hours, standard offset of their zone; None: unknown (neutral)
    languages: frozenset[str]  # e.g. {"en"}, {"fr", "en"}; empty: unknown (neutral)
    sector: str  # academic public school special government archives museum student other
    career_stage: str  # student | new professional | mid-career | senior
    interests: frozenset[str]
    partner_sector: str | None = None  # a wish; None = any
    partner_career_stage: str | None = None
    partner_interests: frozenset[str] = frozenset()
    applied_order: int = 0  # earlier = smaller (for the cap and tie-breaks)


@dataclass(frozen=True)
class Weights:
    """What a pair's score is made of — the one place each weight is explained.

    | field                | default | meaning                                                 |
    |----------------------|---------|---------------------------------------------------------|
    | base                 | 2.0     | every valid pair                                        |
    | shared_interest      | 1.5     | per interest both list …                                |
    | shared_interest_cap  | 4       | … counting at most this many                            |
    | wish_met             | 3.0     | per wish of one side met by the other, both directions: |
    |                      |         | partner_sector == their sector, partner_career_stage == |
    |                      |         | their stage. A wish for a *different* sector or stage   |
    |                      |         | is just a wish for that value; None ("any") adds 0      |
    | partner_interest_met | 1.5     | per wished interest the partner lists …                 |
    | partner_interest_cap | 3       | … counting at most this many per direction              |
    | zone_overlap         | 0.2     | per hour of waking time in common (waking_start to      |
    |                      |         | waking_end local, from standard offsets) above          |
    |                      |         | zone_neutral_hours; below it a penalty. Unknown zone: 0 |
    | zone_neutral_hours   | 9.0     | overlap scoring 0 (same zone: 14 h; 12 h apart: 4 h)    |
    | waking_start         | 8.0     | local hour waking time starts                           |
    | waking_end           | 22.0    | local hour waking time ends                             |
    | common_language      | 1.0     | when they share at least one language                   |
    | no_common_language   | -4.0    | when both give languages and share none                 |

    Scores are kept as integer hundredths (weights are rounded to 0.01), so totals are exact and
    ties break the same way every time. With these defaults a pair scores from about −3 to 30.
    Re-check the selection's `alpha` (MATCHING.md) when these change a lot.
    """

    base: float = 2.0
    shared_interest: float = 1.5
    shared_interest_cap: int = 4
    wish_met: float = 3.0
    partner_interest_met: float = 1.5
    partner_interest_cap: int = 3
    zone_overlap: float = 0.2
    zone_neutral_hours: float = 9.0
    waking_start: float = 8.0
    waking_end: float = 22.0
    common_language: float = 1.0
    no_common_language: float = -4.0


@dataclass(frozen=True)
class Exclusions:
    """Pairs that must never be formed (each a frozenset of two ids)."""

    previous_pairs: frozenset[frozenset[int]] = frozenset()  # never pair these again
    blocked_pairs: frozenset[frozenset[int]] = frozenset()  # coordinators blocked

    def forbids(self, a: int, b: int) -> bool:
        key = frozenset((a, b))
        return key in self.previous_pairs or key in self.blocked_pairs
