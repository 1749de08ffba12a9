"""Generate ILN-like applicant pools for the matching benchmark and tests (seeded, deterministic).

The mix follows what ILN reported: 95–130 countries with a heavy head (AU 15%, US 12%, UK 8%,
CA 5.5%, IN 5%) and a long tail; 2–6 interests out of about 30; about half the applicants state
no wish about their partner; a wish for a *different* sector or stage is as common as one for
the same. Each country gets its standard UTC offset and its usual working languages.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import random

from mailbot.domain.matching import Candidate

SECTORS = (
    "academic",
    "public",
    "school",
    "special",
    "government",
    "archives",
    "museum",
    "student",
    "other",
)
SECTOR_WEIGHTS = (30, 25, 10, 10, 6, 5, 4, 6, 4)
STAGES = ("student", "new professional", "mid-career", "senior")
STAGE_WEIGHTS = (12, 30, 38, 20)
INTERESTS = (
    "library spaces",
    "management and leadership",
    "advocacy",
    "professional development",
    "information literacy",
    "digital libraries",
    "cataloguing and metadata",
    "research support",
    "open access",
    "children and youth",
    "community outreach",
    "collection development",
    "preservation",
    "archives and records",
    "museums",
    "reference services",
    "data management",
    "copyright",
    "marketing",
    "technology",
    "diversity and inclusion",
    "indigenous knowledge",
    "rural libraries",
    "health libraries",
    "law libraries",
    "school libraries",
    "user experience",
    "teaching",
    "makerspaces",
    "reading promotion",
)

# country -> (share of applicants, standard UTC offset, languages)
_HEAD: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "AU": (0.15, 10.0, ("en",)),
    "US": (0.12, -5.0, ("en",)),
    "GB": (0.08, 0.0, ("en",)),
    "CA": (0.055, -5.0, ("en", "fr")),
    "IN": (0.05, 5.5, ("en",)),
    "NZ": (0.03, 12.0, ("en",)),
    "ZA": (0.025, 2.0, ("en",)),
    "NG": (0.02, 1.0, ("en",)),
    "PH": (0.02, 8.0, ("en",)),
    "IE": (0.015, 0.0, ("en",)),
    "FR": (0.012, 1.0, ("fr",)),
    "ES": (0.012, 1.0, ("es",)),
    "MX": (0.012, -6.0, ("es",)),
    "AR": (0.01, -3.0, ("es",)),
    "CO": (0.01, -5.0, ("es",)),
    "KE": (0.01, 3.0, ("en",)),
    "SG": (0.01, 8.0, ("en",)),
    "MY": (0.01, 8.0, ("en",)),
    "PK": (0.01, 5.0, ("en",)),
    "JP": (0.008, 9.0, ("en",)),
}
_TAIL_CODES = [
    "AE",
    "AF",
    "AL",
    "AM",
    "AO",
    "AT",
    "AZ",
    "BA",
    "BD",
    "BE",
    "BF",
    "BG",
    "BH",
    "BJ",
    "BO",
    "BR",
    "BW",
    "BY",
    "CD",
    "CH",
    "CI",
    "CL",
    "CM",
    "CN",
    "CR",
    "CU",
    "CY",
    "CZ",
    "DE",
    "DK",
    "DO",
    "DZ",
    "EC",
    "EE",
    "EG",
    "ET",
    "FI",
    "FJ",
    "GE",
    "GH",
    "GR",
    "GT",
    "HK",
    "HN",
    "HR",
    "HU",
    "ID",
    "IL",
    "IQ",
    "IR",
    "IS",
    "IT",
    "JM",
    "JO",
    "KH",
    "KR",
    "KW",
    "KZ",
    "LB",
    "LK",
    "LT",
    "LU",
    "LV",
    "MA",
    "MD",
    "MG",
    "MK",
    "ML",
    "MM",
    "MN",
    "MT",
    "MU",
    "MW",
    "MZ",
    "NA",
    "NE",
    "NL",
    "NO",
    "NP",
    "OM",
    "PA",
    "PE",
    "PG",
    "PL",
    "PS",
    "PT",
    "PY",
    "QA",
    "RO",
    "RS",
    "RU",
    "RW",
    "SA",
    "SD",
    "SE",
    "SI",
    "SK",
    "SN",
    "SV",
    "TH",
    "TN",
    "TR",
    "TT",
    "TW",
    "TZ",
    "UA",
    "UG",
    "UY",
    "UZ",
    "VE",
    "VN",
    "YE",
    "ZM",
    "ZW",
]
_FRENCH = {"BE", "BF", "BJ", "CD", "CH", "CI", "CM", "LU", "MA", "MG", "ML", "NE", "SN", "TN"}
_SPANISH = {"BO", "CL", "CR", "CU", "DO", "EC", "GT", "HN", "PA", "PE", "PY", "SV", "UY", "VE"}


def _countries(n_countries: int) -> list[tuple[str, float, float | None, tuple[str, ...]]]:
    """The country table: the fixed head, then a Zipf-like tail sharing what is left."""
    head = [(c, s, z, langs) for c, (s, z, langs) in _HEAD.items()]
    rest = 1.0 - sum(s for _, s, _, _ in head)
    n_tail = max(0, min(n_countries - len(head), len(_TAIL_CODES)))
    raw = [1.0 / (r + 3) ** 0.9 for r in range(n_tail)]
    total = sum(raw) or 1.0
    rng = random.Random(1013)
    tail = []
    for code, r in zip(_TAIL_CODES[:n_tail], raw, strict=True):
        offset = rng.choice((-8, -6, -5, -4, -3, 0, 1, 2, 3, 3.5, 4, 5, 5.75, 6, 7, 8, 9))
        langs: tuple[str, ...] = ("en",)
        if code in _FRENCH:
            langs = ("fr",) if rng.random() < 0.6 else ("fr", "en")
        elif code in _SPANISH:
            langs = ("es",) if rng.random() < 0.5 else ("es", "en")
        tail.append((code, rest * r / total, float(offset), langs))
    return head + tail


def make_pool(n: int, seed: int = 0, n_countries: int = 120) -> list[Candidate]:
    """`n` applicants drawn from the ILN-like mix; same (n, seed, n_countries) → same pool."""
    rng = random.Random(seed * 1_000_003 + n)
    table = _countries(n_countries)
    codes = [c for c, _, _, _ in table]
    shares = [s for _, s, _, _ in table]
    info = {c: (z, langs) for c, _, z, langs in table}
    interest_weights = [1.0 / (i + 2) ** 0.6 for i in range(len(INTERESTS))]
    out: list[Candidate] = []
    for k in range(n):
        country = rng.choices(codes, shares)[0]
        offset, langs = info[country]
        languages = set(langs)
        if langs != ("en",) and "en" not in languages and rng.random() < 0.3:
            languages.add("en")
        if rng.random() < 0.05:
            offset = None  # zone not known
        sector = rng.choices(SECTORS, SECTOR_WEIGHTS)[0]
        stage = "student" if sector == "student" else rng.choices(STAGES, STAGE_WEIGHTS)[0]
        interests = _sample(rng, INTERESTS, interest_weights, rng.randint(2, 6))
        p_sector = p_stage = None
        p_interests: frozenset[str] = frozenset()
        if rng.random() < 0.5:  # about half state a wish
            if rng.random() < 0.5:
                p_sector = sector if rng.random() < 0.5 else rng.choices(SECTORS, SECTOR_WEIGHTS)[0]
            if rng.random() < 0.5:
                p_stage = rng.choice(STAGES)
            if rng.random() < 0.5:
                p_interests = _sample(rng, INTERESTS, interest_weights, rng.randint(1, 3))
        out.append(
            Candidate(
                id=k + 1,
                country=country,
                utc_offset=offset,
                languages=frozenset(languages),
                sector=sector,
                career_stage=stage,
                interests=interests,
                partner_sector=p_sector,
                partner_career_stage=p_stage,
                partner_interests=p_interests,
                applied_order=k,
            )
        )
    return out


def _sample(
    rng: random.Random, items: tuple[str, ...], weights: list[float], k: int
) -> frozenset[str]:
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(items, weights)[0])
    return frozenset(chosen)
