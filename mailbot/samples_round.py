"""Sample contexts of the round's mail (introduction, topics, nudges, check-in, survey, …).

Same shape as `mailbot.samples.SAMPLES` (merged into it): one list of contexts per template, and
every context is rendered in every language by `check-config` and the tests. The comments here
are the contract the flows code against: every key named is required (StrictUndefined), values
are plain JSON (str, int, float, bool, None, list, dict); dates are ISO strings ("2027-03-01"),
already in the recipient's zone where it matters.

Every context has the BASE keys: `program` {name, address}, `recipient_name`, `names`
(address → display name of every recipient), `person_id`.

Per-recipient mail (everything but `introduction`) carries, where it mentions the partnership:
  pair = {
    "partner_names": list[str]   # the recipient's partner(s): 1 name, or 2 in a trio
    "tracking_address": str      # the pair's tracking address (program+p-<token>@…), for Cc
  }
"""

from __future__ import annotations

from typing import Any

from mailbot.samples_common import BASE, PROGRAM

__all__ = ["PROGRAM", "SAMPLES_ROUND"]

TRACKING = "coordinator+p-7kq2m9xw@example.org"

# --------------------------------------------------------------------------- introduction
# One mail To: every member of the pair (2, or 3 for a trio), Cc: the tracking address, in a
# language they share; or, when they share none, one copy each in its recipient's language.
#   recipient_name: the names of THIS mail's recipients, joined ("Amaia Etxeberria & Kofi
#     Mensah"); the greeting uses it as it is
#   pair = {
#     "members": [                      # every member, in the order to present them; 2 or 3
#       {
#         "name": str, "email": str,
#         "country_name": str,          # in the mail's language if you have it ("Espagne")
#         "institution": str,
#         "sector": str,                # form value: academic|public|school|special|government|
#                                       #   archives|museum|student|other (localised by fr/es)
#         "career_stage": str,          # student|new professional|mid-career|senior
#         "interests": list[str],       # as the applicant wrote them
#         "about": str | None,          # free text, several lines allowed; ""/None → left out
#         "timezone": str | None,       # IANA name; ""/None → unknown
#         "local_time": str | None,     # "HH:MM": this member's clock at ONE instant common to
#                                       #   all members; ""/None → unknown (then no time lines)
#         "language_name": str,         # the language they wrote in, as a name ("español")
#       }, …
#     ],
#     "zone_difference_hours": float | None,  # largest gap between members' UTC offsets, in
#                                       #   hours (sign ignored); shown only if every clock is known
#     "reasons": {
#       "shared_interests": list[str],  # interests both (all) members gave
#       "wishes_met": list[str],        # "kind: value", kind in sector | career stage |
#                                       #   interest ("sector: academic"); fr/es translate the
#                                       #   kind and sector/stage values; other strings verbatim
#       "overlap_hours": float | None,  # waking hours in common; shown only if every clock is
#                                       #   known (so 0 for "unknown" is harmless)
#       "common_languages": list[str],  # codes ("en") or names; [] → none in common
#     },
#     "round": {"name": str, "start": str, "end": str},   # more keys are fine
#     "tracking_address": str,
#   }                                   # more keys (e.g. "id") are fine
AMAIA = {
    "name": "Amaia Etxeberria",
    "email": "amaia@example.net",
    "country_name": "Spain",
    "institution": "Biblioteca Pública de Bilbao",
    "sector": "public",
    "career_stage": "mid-career",
    "interests": ["outreach", "digital literacy", "makerspaces"],
    "about": "I run the library's makerspace.\nI would love to compare notes on family programmes.",
    "timezone": "Europe/Madrid",
    "local_time": "09:00",
    "language_name": "español",
}
KOFI = {
    "name": "Kofi Mensah",
    "email": "kofi.mensah@example.edu.gh",
    "country_name": "Ghana",
    "institution": "Balme Library, University of Ghana",
    "sector": "academic",
    "career_stage": "new professional",
    "interests": ["digital literacy", "research data", "outreach"],
    "about": "Two years into my first post, in research support & data services.",
    "timezone": "Africa/Accra",
    "local_time": "08:00",
    "language_name": "English",
}
MEI = {
    "name": "Mei-Ling Chen",
    "email": "mlchen@example.tw",
    "country_name": "Taiwan",
    "institution": "National Palace Museum Library",
    "sector": "museum",
    "career_stage": "senior",
    "interests": ["digitisation", "outreach"],
    "about": None,
    "timezone": "Asia/Taipei",
    "local_time": "16:00",
    "language_name": "English",
}
ROUND_A = {"name": "2027A", "start": "2027-02-15", "end": "2027-06-15"}
INTRODUCTION_PAIR = {
    "members": [AMAIA, KOFI],
    "zone_difference_hours": -1.0,
    "reasons": {
        "shared_interests": ["digital literacy", "outreach"],
        "wishes_met": ["career stage: new professional", "interest: outreach", "sector: academic"],
        "overlap_hours": 13.0,
        "common_languages": ["en"],
    },
    "round": ROUND_A,
    "tracking_address": TRACKING,
}
INTRODUCTION_TRIO = {
    "members": [AMAIA, KOFI, MEI],
    "zone_difference_hours": 8.0,
    "reasons": {
        "shared_interests": ["outreach"],
        "wishes_met": [],
        "overlap_hours": 2.5,
        "common_languages": ["English"],
    },
    "round": ROUND_A,
    "tracking_address": TRACKING,
}
ANA = {
    **KOFI,
    "name": "Ana Souza",
    "email": "ana@example.br",
    "country_name": "Brazil",
    "institution": "Arquivo Público do Estado de São Paulo",
    "sector": "archives",
    "language_name": "português",
    "timezone": "",
    "local_time": "",
    "about": "",
}
INTRODUCTION_UNKNOWN = {  # as the matching flow sends it when a zone is unknown
    "members": [AMAIA, ANA],
    "zone_difference_hours": 0.0,
    "reasons": {
        "shared_interests": [],
        "wishes_met": [],
        "overlap_hours": 0,
        "common_languages": [],
    },
    "round": ROUND_A,
    "tracking_address": TRACKING,
}
INTRODUCTION_NONE = {  # the same, with None for what is unknown
    "members": [AMAIA | {"timezone": None, "local_time": None, "about": None}, KOFI],
    "zone_difference_hours": None,
    "reasons": {
        "shared_interests": ["outreach"],
        "wishes_met": ["a partner who likes makerspaces"],
        "overlap_hours": None,
        "common_languages": ["English", "español"],
    },
    "round": ROUND_A,
    "tracking_address": TRACKING,
}

# --------------------------------------------------------------------------- shared pieces
PAIR = {"partner_names": ["Kofi Mensah"], "tracking_address": TRACKING}
PAIR_TRIO = {"partner_names": ["Kofi Mensah", "Mei-Ling Chen"], "tracking_address": TRACKING}

# topic: one mail per member, at their local morning, in their language.
#   topic = {
#     "number": int,        # 1..count
#     "count": int,         # topics in the round (9 by default)
#     "slug": str,          # config/topics.toml slug (not shown; for logs and the caller)
#     "title": str,         # in the recipient's language (topics.toml [topics.<lang>].title)
#     "prompt": str,        # idem .prompt: paragraphs split by a blank line; lines starting
#                           #   with "- " are questions (a list in HTML)
#   }
#   pair = PAIR (above); round = {"name": str, "end": str}
TOPIC_3 = {
    "number": 3,
    "count": 9,
    "slug": "management-and-leadership",
    "title": "Management and leadership",
    "prompt": (
        "Every institution is organised differently.\n\n"
        "- How is your institution structured?\n"
        "- Think of a good leader you have worked with. What did they do?\n"
    ),
}
TOPIC_9 = {
    "number": 9,
    "count": 9,
    "slug": "looking-back-and-ahead",
    "title": "Looking back and looking ahead",
    "prompt": "This is the last topic of the round.\n\n- What surprised you most?",
}
ROUND_END = {"name": "2027A", "end": "2027-06-15"}
ROUND_B = {
    "name": "2027B",
    "opens": "2027-07-05",
    "closes": "2027-08-01",
    "matching": "2027-08-04",
    "start": "2027-08-09",
    "end": "2027-12-09",
}

SAMPLES_ROUND: dict[str, list[dict[str, Any]]] = {
    "introduction": [
        BASE | {"recipient_name": "Amaia Etxeberria & Kofi Mensah", "pair": INTRODUCTION_PAIR},
        BASE
        | {
            "recipient_name": "Amaia Etxeberria & Kofi Mensah & Mei-Ling Chen",
            "pair": INTRODUCTION_TRIO,
        },
        BASE | {"recipient_name": "Amaia Etxeberria", "pair": INTRODUCTION_UNKNOWN},
        BASE | {"recipient_name": "Kofi Mensah", "pair": INTRODUCTION_NONE},
    ],
    "topic": [
        BASE | {"topic": TOPIC_3, "pair": PAIR, "round": ROUND_END},
        BASE | {"topic": TOPIC_9, "pair": PAIR_TRIO, "round": ROUND_END},
    ],
    # nudge_quiet: to each member separately (day 14 without any pair signal).
    #   pair = PAIR; days = int (days since the last signal);
    #   topic = {"number": int, "count": int, "title": str} (the current one) | None
    "nudge_quiet": [
        BASE
        | {"pair": PAIR, "days": 14, "topic": {"number": 2, "count": 9, "title": "Library spaces"}},
        BASE | {"pair": PAIR_TRIO, "days": 15, "topic": None},
    ],
    # nudge_one_sided: to the silent member. pair = PAIR; writer_name = str (the partner who
    #   wrote); days = int (days since that partner's last message with no answer)
    "nudge_one_sided": [
        BASE | {"pair": PAIR, "writer_name": "Kofi Mensah", "days": 10},
    ],
    # nudge_second: to each member separately (day 21). pair = PAIR; days = int;
    #   cause = "quiet" (nobody wrote) | "one_sided" (to the silent one; writer_name wrote)
    "nudge_second": [
        BASE | {"pair": PAIR, "days": 21, "cause": "one_sided", "writer_name": "Kofi Mensah"},
        BASE | {"pair": PAIR, "days": 21, "cause": "quiet", "writer_name": "Kofi Mensah"},
        BASE | {"pair": PAIR_TRIO, "days": 22, "cause": "quiet", "writer_name": "Kofi & Léa"},
    ],
    # partner_bouncing: to the member(s) whose partner's address fails.
    #   partner_name = str (the one whose address bounces)
    "partner_bouncing": [
        BASE | {"partner_name": "Kofi Mensah"},
    ],
    # partner_paused: partner_name = str; paused_until = str (ISO date) | None
    "partner_paused": [
        BASE | {"partner_name": "Kofi Mensah", "paused_until": "2027-03-29"},
        BASE | {"partner_name": "Kofi Mensah", "paused_until": None},
    ],
    # partner_withdrew: partner_name = str (who left); still_with = list[str] (in a trio, the
    #   partner(s) the recipient still has; [] in a pair); round = {"name": str, "end": str}
    "partner_withdrew": [
        BASE | {"partner_name": "Kofi Mensah", "still_with": [], "round": ROUND_END},
        BASE | {"partner_name": "Kofi Mensah", "still_with": ["Mei-Ling Chen"], "round": ROUND_END},
    ],
    # checkin: mid-round, to each member. pair = PAIR; round = {"name": str, "end": str}
    #   Answers: YES / NO / PAUSE (OUI/NON, SÍ/NO, PAUSA) on the first line.
    "checkin": [
        BASE | {"pair": PAIR, "round": ROUND_END},
    ],
    # survey: end of round, to each member. pair = PAIR; round = {"name": str, "end": str};
    #   reply_by = str (ISO date) | None. The mail shows three blank lines to fill in, read back
    #   by domain.survey.parse_survey_answer (tested in test_round_templates):
    #   en "Satisfaction:" / "Most valuable:" / "Choice:"; fr "Satisfaction :" /
    #   "Le plus précieux :" / "Choix :"; es "Satisfacción:" / "Lo más valioso:" / "Opción:";
    #   choice 1 a new partner next round, 2 continue independently, 3 stop. The mail pasted
    #   back unquoted answers nothing.
    "survey": [
        BASE | {"pair": PAIR, "round": ROUND_END, "reply_by": "2027-06-29"},
        BASE | {"pair": PAIR_TRIO, "round": ROUND_END, "reply_by": None},
    ],
    # round_deferred: an applicant left without a partner this round.
    #   reason_code = "country_cap" | "odd_one_out" | "no_eligible_partner" | "paused" | "silent"
    #   round = {"name": str, …} (the round they applied to)
    #   next_round = {"name": str, "opens": str, …} | None (their application is kept for it)
    #   country_name = str | None — OPTIONAL: their country, named for country_cap if given
    "round_deferred": [
        BASE
        | {
            "reason_code": "country_cap",
            "round": {"name": "2027A"},
            "country_name": "Spain",
            "next_round": {"name": "2027B", "opens": "2027-07-05"},
        },
        BASE
        | {
            "reason_code": "odd_one_out",
            "round": {"name": "2027A"},
            "country_name": None,
            "next_round": None,
        },
        BASE
        | {
            "reason_code": "no_eligible_partner",
            "round": {"name": "2027A"},
            "country_name": "Spain",
            "next_round": {"name": "2027B", "opens": "2027-07-05"},
        },
        BASE | {"reason_code": "country_cap", "round": {"name": "2027A"}, "next_round": None},
        BASE | {"reason_code": "paused", "round": {"name": "2027A"}, "next_round": None},
        BASE
        | {
            "reason_code": "silent",
            "round": {"name": "2027B"},
            "next_round": {"name": "2027C", "opens": "2027-12-06"},
        },
    ],
    # round_opened: applications are open. round = {"name", "opens", "closes", "matching",
    #   "start", "end"} (ISO dates)
    #   application_kept = bool — OPTIONAL, default True: True when an application of theirs is
    #   already registered for this round (deferred/waiting applicants: nothing to do); False
    #   for past participants, who are invited to reply CONTINUE or to send the form again
    "round_opened": [
        BASE | {"round": ROUND_B, "application_kept": False},
        BASE | {"round": ROUND_B, "application_kept": True},
        BASE | {"round": ROUND_B},
    ],
    # coordinator_action_done: to the coordinator whose command was carried out (English only,
    #   like all coordinator mail: see samples.COORDINATOR_ONLY).
    #   action = str (the command as understood, e.g. "REMATCH pair 12");
    #   detail = str (what happened, one or more lines; may be "")
    "coordinator_action_done": [
        BASE
        | {
            "action": "REMATCH pair 12",
            "detail": "Pair 12 (Amaia Etxeberria, Kofi Mensah) is closed.\n"
            "Both are back in the pool and will be proposed in the next matching.",
        },
        BASE | {"action": "LIAISE pair 7", "detail": ""},
    ],
}
