"""Sample template contexts: `check-config` renders every template with them, in every language.

A template that needs a variable missing here fails loudly (StrictUndefined), so this file is
the catalogue of what each template expects.
"""

from __future__ import annotations

from typing import Any

from mailbot.samples_commands import SAMPLES_COMMANDS
from mailbot.samples_common import BASE
from mailbot.samples_round import SAMPLES_ROUND

# Mail to coordinators is written in English only (the program has no coordinator language).
COORDINATOR_ONLY = frozenset({"proposal", "coordinator_action_done", "digest", "final_report"})

FIELDS = {
    "name": "Amaia Etxeberria",
    "email": "amaia@example.net",
    "country": "ES",
    "country_name": "Spain",
    "timezone": "Europe/Madrid",
    "language": "es",
    "language_name": "español",
    "institution": "Biblioteca Pública de Bilbao",
    "sector": "public",
    "career_stage": "mid-career",
    "interests": ["outreach", "digital literacy"],
    "partner_sector": None,
    "partner_career_stage": None,
    "partner_interests": [],
    "about": "I run the library's makerspace.\nI would love to compare notes.",
}
ROUND = {
    "name": "2027A",
    "opens": "2027-01-10",
    "closes": "2027-02-01",
    "matching": "2027-02-05",
    "start": "2027-02-15",
}

PROPOSAL_STATS = {
    "applicants": 41,
    "pairs": 19,
    "trios": 1,
    "left": 0,
    "excluded": 2,
    "countries": 14,
    "by_country": [["AU", 8], ["US", 6], ["ES", 3]],
    "score_total": 180.5,
    "score_mean": 9.02,
    "score_min": 2.0,
    "score_max": 15.5,
}

SURVEY_SUMMARY = {
    "invited": 40,
    "responses": 31,
    "response_rate": 0.775,
    "satisfaction_answers": 30,
    "satisfaction_mean": 4.2,
    "satisfied_share": 0.83,
    "satisfaction_distribution": {"1": 0, "2": 1, "3": 4, "4": 10, "5": 15},
    "choices": {"new_partner": 12, "continue_independently": 14, "stop": 3, "none": 2},
    "valuable": ["Seeing how another country runs its reading programmes."],
}
DIGEST = {
    "week_start": "2027-03-01",
    "counts": {"active": 14, "quiet": 3, "one_sided": 2, "stalled": 1, "paused": 1, "ended": 0},
    "total": 21,
    "running": 20,
    "share_active": 70,
    "weekly": [["2027-02-08", 19, 20], ["2027-02-15", 17, 20], ["2027-03-01", 14, 20]],
    "flagged": [
        {
            "pair_id": 7,
            "round": "2027A",
            "cause": "quiet",
            "state": "stalled",
            "silent_days": 29,
            "silent": ["Kofi Mensah <kofi@example.net>"],
            "tried": ["quiet on 2027-02-22", "second on 2027-03-01"],
            "actions": ["LIAISE 7 Hello both, how can we help?", "REMATCH 7", "CLOSE 7"],
        }
    ],
    "bounces": ["gone@example.net"],
    "withdrawals": ["amaia@example.net"],
    "silent_reports": [{"name": "Ana García", "email": "ana@example.net", "pair_id": 3}],
    "rematch_requests": [
        {"name": "Mia Walker", "email": "mia@example.net", "pair_id": 4},
        {"name": "Raj Iyer", "email": "raj@example.net", "pair_id": None},
    ],
    "deletions": 1,
    "applications": 3,
    "held": ["stranger@example.com"],
    "uncertain": 0,
}

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "digest": [
        BASE | DIGEST | {"survey": None},
        BASE | DIGEST | {"flagged": [], "survey": SURVEY_SUMMARY, "uncertain": 2},
    ],
    "final_report": [
        BASE
        | {
            "round": ROUND | {"end": "2027-06-08"},
            "pairs": 20,
            "survey": SURVEY_SUMMARY,
            "weekly": DIGEST["weekly"],
            "share_active": [95, 85, 70],
        },
        BASE
        | {
            "round": ROUND | {"end": "2027-06-08"},
            "pairs": 20,
            "survey": None,
            "weekly": [],
            "share_active": [],
        },
    ],
    "proposal": [
        BASE
        | {
            "round": ROUND | {"end": "2027-06-15"},
            "proposal_id": 3,
            "stats": PROPOSAL_STATS,
            "left": [
                {"name": "A", "email": "a@example.net", "code": "country_cap", "detail": "cap"}
            ],
        }
    ],
    "confirmation": [
        BASE | {"fields": FIELDS, "round": ROUND, "next_round": None, "updated": False},
        BASE | {"fields": FIELDS, "round": None, "next_round": ROUND, "updated": True},
        BASE | {"fields": FIELDS, "round": None, "next_round": None, "updated": False},
    ],
    "application_invalid": [
        BASE
        | {
            "problems": [
                {"field": "country", "code": "unknown_value", "value": "Atlantis"},
                {"field": "sector", "code": "missing", "value": ""},
                {"field": "about", "code": "too_long", "value": ""},
                {"field": "email", "code": "invalid", "value": "x@"},
            ]
        }
    ],
    "welcome": [BASE],
    "help": [BASE],
    "status": [
        BASE | {"known": False, "address": "amaia@example.net"},
        BASE
        | {
            "known": True,
            "address": "amaia@example.net",
            "status": "paused",
            "paused_until": "2027-03-01",
            "application": {"submitted": "2027-01-12", "round": "2027A", "status": "matched"},
            "pair": {"partner_name": "Kofi Mensah", "partner_country": "Ghana"},
        },
    ],
    "command_ack": [
        BASE | {"command_label": "PAUSE", "detail": "14 days", "outcome": "We have recorded it."}
    ],
}

# The round's mail (introductions, topics, nudges, survey …) keeps its samples beside it.
SAMPLES.update(SAMPLES_ROUND)
SAMPLES.update(SAMPLES_COMMANDS)
SAMPLES["coordinator_action_done"] = [
    *SAMPLES["coordinator_action_done"],
    BASE | {"action": "APPROVE", "detail": "no proposal is waiting", "refused": True},
]
