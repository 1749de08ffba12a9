"""Sample contexts of `data_export` (EXPORT MY DATA), written as the contract type so mypy
checks them; `samples.SAMPLES` lists them with every other template's.

Must not: do I/O.
"""

from __future__ import annotations

from mailbot.contexts.common import Program
from mailbot.contexts.privacy_mail import DataExportMail, ExportPair

_PROGRAM: Program = {
    "name": "International Librarians Network",
    "address": "coordinator@example.org",
}
_PAIR: ExportPair = {
    "round": "2027A",
    "state": "active",
    "started": "2027-02-03",
    "ended": None,
    "round_ends": "2027-06-08",
    "partners": [{"name": "Kofi Mensah", "country_name": "Ghana"}],
    "messages": 4,
    "last_wrote": "2027-03-01",
    "notes": [{"on": "2027-02-20", "text": "Called Amaia: busy month, all well."}],
}

DATA_EXPORT: list[DataExportMail] = [
    {
        "program": _PROGRAM,
        "recipient_name": "Amaia Etxeberria",
        "names": {"amaia@example.net": "Amaia Etxeberria"},
        "person_id": 1,
        "for_coordinator": for_coordinator,
        "profile": {
            "name": "Amaia Etxeberria",
            "email": "amaia@example.net",
            "country_name": "Spain",
            "language": "es",
            "timezone": "Europe/Madrid",
            "status": "active",
            "since": "2027-01-12",
        },
        "applications": [
            {
                "round": "2027A",
                "status": "matched",
                "submitted": "2027-01-12",
                "fields": [
                    {"name": "country", "value": "ES"},
                    {"name": "interests", "value": "outreach, makerspaces"},
                ],
            }
        ],
        "pairs": pairs,
        "activity_dates": ["2027-02-10", "2027-03-01"] if pairs else [],
        "nudges": [{"on": "2027-02-22", "kind": "nudge_quiet"}] if pairs else [],
        "survey_answers": (
            [{"round": "2027A", "satisfaction": 4, "valuable": "New ideas", "choice": 1}]
            if pairs
            else []
        ),
        "mail_received": 3,
        "mail_sent": 7,
        "other_records": 2,
    }
    for for_coordinator, pairs in ((False, [_PAIR]), (True, []))
]
