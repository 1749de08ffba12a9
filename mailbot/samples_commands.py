"""Sample contexts of the mail that commands send (merged into `mailbot.samples.SAMPLES`).

Same contract as `mailbot.samples_round`: every key named is required (StrictUndefined), values
are plain JSON, dates ISO strings in the recipient's zone. Every context has the BASE keys.
Written by `mailbot.flows.participants` and `mailbot.flows.coordinator_commands`.
"""

from __future__ import annotations

from typing import Any

from mailbot.samples_common import BASE

__all__ = ["ACK_OUTCOMES", "SAMPLES_COMMANDS"]

ROUND_END = {"name": "2027A", "end": "2027-06-15"}

# command_ack: the answer to a participant's command, in their language.
#   command = str            # the command's code: pause|resume|withdraw|rematch|continue|in_touch|
#                            #   silent|yes|no (the template names it in the reader's language)
#   outcomes = list[str]     # codes, each one sentence, in order (participants.OUTCOME_CODES):
#                            #   paused_until_date resumed not_paused withdrawn already_withdrawn
#                            #   partner_told rematched rematch_waiting rematch_requested
#                            #   continue_noted application_kept in_touch_noted silent_flagged
#                            #   not_in_a_pair not_allowed (anything else: "recorded")
#   days = int | None        # PAUSE: the length asked for
#   paused_until = str | None   # ISO date the pause ends (paused_until_date)
#   partner_names = list[str]   # who was told (partner_told); [] → "your partner"
#   new_partner_names = list[str]  # rematched
#   next_round = {"name": str, "opens": str} | None  # continue_noted
#   by_coordinators = bool   # True: a coordinator's PAUSE <address>, not the reader's command
ACK = {
    "command": "pause",
    "outcomes": ["paused_until_date", "partner_told"],
    "days": 14,
    "paused_until": "2027-03-01",
    "partner_names": ["Kofi Mensah"],
    "new_partner_names": [],
    "next_round": None,
    "by_coordinators": False,
}
ACK_OUTCOMES: list[tuple[str, list[str]]] = [
    ("pause", ["paused_until_date", "partner_told"]),
    ("resume", ["resumed", "partner_told"]),
    ("resume", ["not_paused"]),
    ("withdraw", ["withdrawn", "partner_told"]),
    ("withdraw", ["already_withdrawn"]),
    ("rematch", ["rematched"]),
    ("rematch", ["rematch_waiting"]),
    ("rematch", ["rematch_requested"]),
    ("continue", ["continue_noted", "application_kept"]),
    ("in_touch", ["in_touch_noted"]),
    ("yes", ["in_touch_noted"]),
    ("silent", ["silent_flagged"]),
    ("no", ["not_in_a_pair"]),
    ("pause", ["not_allowed"]),
    ("pause", ["something_new"]),
]

SAMPLES_COMMANDS: dict[str, list[dict[str, Any]]] = {
    "command_ack": [
        BASE | ACK,
        *(
            BASE
            | ACK
            | {
                "command": command,
                "outcomes": outcomes,
                "days": None,
                "paused_until": "2027-03-01" if "paused_until_date" in outcomes else None,
                "new_partner_names": ["Mei-Ling Chen"],
                "next_round": {"name": "2027B", "opens": "2027-07-05"},
            }
            for command, outcomes in ACK_OUTCOMES
        ),
        BASE | ACK | {"partner_names": ["Kofi Mensah", "Mei-Ling Chen"]},
        BASE | ACK | {"command": "continue", "outcomes": ["continue_noted"], "days": None},
        BASE
        | ACK
        | {"outcomes": ["paused_until_date"], "partner_names": [], "by_coordinators": True},
    ],
    # partner_resumed: to the partner(s) of someone who ended a pause early.
    #   partner_name = str
    "partner_resumed": [BASE | {"partner_name": "Kofi Mensah"}],
    # partner_left: to the partner(s) of someone who asked to be forgotten: names nobody.
    #   still_with = list[str] (a trio's remaining partner; [] in a pair)
    #   round = {"name": str, "end": str}
    "partner_left": [
        BASE | {"still_with": [], "round": ROUND_END},
        BASE | {"still_with": ["Mei-Ling Chen"], "round": ROUND_END},
    ],
    # delete_confirm: the first step of DELETE MY DATA. token = str (8 hex characters, read
    #   back by domain.commands as DELETE MY DATA <token>); token_wrong = bool (a wrong code
    #   was given: a new one replaces it)
    "delete_confirm": [
        BASE | {"token": "3fa9c1d2", "token_wrong": False},
        BASE | {"token": "77ab01ce", "token_wrong": True},
    ],
    # data_deleted: the last mail to someone whose data is gone; their name is not kept
    #   (recipient_name is "", names {}), only the address in the outbox row.
    "data_deleted": [BASE | {"recipient_name": "", "names": {}, "person_id": 0}],
    # pair_closed: to each member when a coordinator CLOSEs their pair.
    #   partner_names = list[str]; round = {"name": str, "end": str}
    "pair_closed": [
        BASE | {"partner_names": ["Kofi Mensah"], "round": ROUND_END},
        BASE | {"partner_names": [], "round": ROUND_END},
    ],
    # liaise: a coordinator's LIAISE <pair> <text>, To the silent member, Cc the others and the
    #   tracking address. text = str (the coordinator's own words, verbatim);
    #   partner_names = list[str] (the members in copy)
    "liaise": [
        BASE
        | {
            "text": "Hello both, we noticed your partnership has gone quiet. How can we help?",
            "partner_names": ["Kofi Mensah"],
        },
        BASE | {"text": "Are you still there?", "partner_names": []},
    ],
}
