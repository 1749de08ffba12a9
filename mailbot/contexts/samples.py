"""Sample template contexts: `check-config` renders every template with them, in every language.

Each template's samples are written as its contract (`mailbot.contexts.catalogue.CONTRACTS`), so
mypy checks every sample against the keys and types the template expects; a template that reads
a variable its samples lack fails loudly when rendered (StrictUndefined). Samples cover the
variants a template must handle (a trio, an unknown zone, an optional key left out, …).

Must not: do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailbot.contexts.catalogue import COORDINATOR_ONLY
from mailbot.contexts.common import (
    PairRef,
    Program,
    RoundDates,
    RoundEnd,
    RoundFull,
    RoundOpening,
    RoundSpan,
)
from mailbot.contexts.coordinator_mail import (
    CoordinatorActionDoneMail,
    DigestMail,
    FinalReportMail,
    ProposalMail,
    ProposalStats,
    SurveySummary,
)
from mailbot.contexts.faq_mail import (
    FaqApplyMail,
    FaqChangePartnerMail,
    FaqHowOftenMail,
    FaqLeaveMail,
    FaqPauseMail,
    FaqTopicMail,
    FaqWhoIsMyPartnerMail,
)
from mailbot.contexts.participant_mail import (
    ApplicationInvalidMail,
    ApplicationShown,
    CommandAckMail,
    ConfirmationMail,
    DataDeletedMail,
    DeleteConfirmMail,
    HelpMail,
    StatusMail,
    WelcomeMail,
)
from mailbot.contexts.pool_mail import PairEndedSilentMail, PoolCarriedMail, PoolWaitingMail
from mailbot.contexts.privacy_samples import DATA_EXPORT
from mailbot.contexts.question_mail import (
    ConfirmRequestMail,
    QuestionAnswerMail,
    QuestionForwardedMail,
    QuestionItem,
    QuestionReceivedMail,
)
from mailbot.contexts.round_mail import (
    CheckinMail,
    IntroducedMember,
    IntroducedPair,
    IntroductionMail,
    LiaiseMail,
    NudgeOneSidedMail,
    NudgeQuietMail,
    NudgeSecondMail,
    PairClosedMail,
    PartnerBouncingMail,
    PartnerLeftMail,
    PartnerPausedMail,
    PartnerResumedMail,
    PartnerWithdrewMail,
    RoundDeferredMail,
    RoundOpenedMail,
    SurveyMail,
    TopicMail,
    TopicText,
)

if TYPE_CHECKING:
    # For mypy only: BASE declared "closed" (PEP 728: no keys but these) lets a sample spread it
    # (`{**BASE, …}`) and still leave out a NotRequired key of its contract.
    from typing_extensions import TypedDict as _ClosedTypedDict

    class _SampleBase(_ClosedTypedDict, closed=True):
        program: Program
        recipient_name: str
        names: dict[str, str]
        person_id: int


__all__ = [
    "BASE",
    "COORDINATOR_ONLY",
    "FIELDS",
    "PROGRAM",
    "SAMPLES",
    "SAMPLES_COMMANDS",
    "SAMPLES_ROUND",
]

# --------------------------------------------------------------------------- shared pieces
PROGRAM: Program = {
    "name": "International Librarians Network",
    "address": "coordinator@example.org",
}
BASE: _SampleBase = {
    "program": PROGRAM,
    "recipient_name": "Amaia Etxeberria",
    "names": {"amaia@example.net": "Amaia Etxeberria"},
    "person_id": 1,
}
TRACKING = "coordinator+p-7kq2m9xw@example.org"
PAIR: PairRef = {"partner_names": ["Kofi Mensah"], "tracking_address": TRACKING}
PAIR_TRIO: PairRef = {
    "partner_names": ["Kofi Mensah", "Mei-Ling Chen"],
    "tracking_address": TRACKING,
}
ROUND: RoundDates = {
    "name": "2027A",
    "opens": "2027-01-10",
    "closes": "2027-02-01",
    "matching": "2027-02-05",
    "start": "2027-02-15",
}
ROUND_A: RoundSpan = {"name": "2027A", "start": "2027-02-15", "end": "2027-06-15"}
ROUND_END: RoundEnd = {"name": "2027A", "end": "2027-06-15"}
ROUND_B: RoundFull = {
    "name": "2027B",
    "opens": "2027-07-05",
    "closes": "2027-08-01",
    "matching": "2027-08-04",
    "start": "2027-08-09",
    "end": "2027-12-09",
}
NEXT_ROUND: RoundOpening = {"name": "2027B", "opens": "2027-07-05"}

# --------------------------------------------------------------------------- participant mail
FIELDS: ApplicationShown = {
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
WELCOME: list[WelcomeMail] = [{**BASE}]
HELP: list[HelpMail] = [{**BASE}]
CONFIRMATION: list[ConfirmationMail] = [
    {**BASE, "fields": FIELDS, "round": ROUND, "next_round": None, "updated": False},
    {**BASE, "fields": FIELDS, "round": None, "next_round": ROUND, "updated": True},
    {**BASE, "fields": FIELDS, "round": None, "next_round": None, "updated": False},
]
APPLICATION_INVALID: list[ApplicationInvalidMail] = [
    {
        **BASE,
        "problems": [
            {"field": "country", "code": "unknown_value", "value": "Atlantis"},
            {"field": "sector", "code": "missing", "value": ""},
            {"field": "about", "code": "too_long", "value": ""},
            {"field": "email", "code": "invalid", "value": "x@"},
        ],
    }
]
STATUS: list[StatusMail] = [
    {**BASE, "known": False, "address": "amaia@example.net"},
    {
        **BASE,
        "known": True,
        "address": "amaia@example.net",
        "status": "paused",
        "paused_until": "2027-03-01",
        "application": {"submitted": "2027-01-12", "round": "2027A", "status": "matched"},
        "pair": {"partner_name": "Kofi Mensah", "partner_country": "Ghana"},
    },
]

ACK: CommandAckMail = {
    **BASE,
    "command": "pause",
    "outcomes": ["paused_until_date", "partner_told"],
    "days": 14,
    "paused_until": "2027-03-01",
    "partner_names": ["Kofi Mensah"],
    "new_partner_names": [],
    "next_round": None,
    "by_coordinators": False,
}
# (command, outcomes): every outcome code in a sentence of its own, and an unknown one
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
    ("withdraw", ["cancelled"]),
    ("withdraw", ["confirmation_expired"]),
    ("pause", ["something_new"]),
]
ACK_EACH_OUTCOME: list[CommandAckMail] = [
    {
        **ACK,
        "command": command,
        "outcomes": outcomes,
        "days": None,
        "paused_until": "2027-03-01" if "paused_until_date" in outcomes else None,
        "new_partner_names": ["Mei-Ling Chen"],
        "next_round": NEXT_ROUND,
    }
    for command, outcomes in ACK_OUTCOMES
]
COMMAND_ACK: list[CommandAckMail] = [
    ACK,
    *ACK_EACH_OUTCOME,
    {**ACK, "partner_names": ["Kofi Mensah", "Mei-Ling Chen"]},
    {**ACK, "command": "continue", "outcomes": ["continue_noted"], "days": None},
    {**ACK, "outcomes": ["paused_until_date"], "partner_names": [], "by_coordinators": True},
]
DELETE_CONFIRM: list[DeleteConfirmMail] = [
    {**BASE, "token": "3fa9c1d2", "token_wrong": False},
    {**BASE, "token": "77ab01ce", "token_wrong": True},
]
DATA_DELETED: list[DataDeletedMail] = [
    {"program": PROGRAM, "recipient_name": "", "names": {}, "person_id": 0}
]

# --------------------------------------------------------------------------- round mail
AMAIA: IntroducedMember = {
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
KOFI: IntroducedMember = {
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
MEI: IntroducedMember = {
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
ANA: IntroducedMember = {
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
INTRODUCTION_PAIR: IntroducedPair = {
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
INTRODUCTION_TRIO: IntroducedPair = {
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
INTRODUCTION_UNKNOWN: IntroducedPair = {  # as the matching flow sends it when a zone is unknown
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
INTRODUCTION_NONE: IntroducedPair = {  # the same, with None for what is unknown
    "members": [{**AMAIA, "timezone": None, "local_time": None, "about": None}, KOFI],
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
INTRODUCTION: list[IntroductionMail] = [
    {**BASE, "recipient_name": "Amaia Etxeberria & Kofi Mensah", "pair": INTRODUCTION_PAIR},
    {
        **BASE,
        "recipient_name": "Amaia Etxeberria & Kofi Mensah & Mei-Ling Chen",
        "pair": INTRODUCTION_TRIO,
    },
    {**BASE, "recipient_name": "Amaia Etxeberria", "pair": INTRODUCTION_UNKNOWN},
    {**BASE, "recipient_name": "Kofi Mensah", "pair": INTRODUCTION_NONE},
]

TOPIC_3: TopicText = {
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
TOPIC_9: TopicText = {
    "number": 9,
    "count": 9,
    "slug": "looking-back-and-ahead",
    "title": "Looking back and looking ahead",
    "prompt": "This is the last topic of the round.\n\n- What surprised you most?",
}
TOPIC: list[TopicMail] = [
    {**BASE, "topic": TOPIC_3, "pair": PAIR, "round": ROUND_END},
    {**BASE, "topic": TOPIC_9, "pair": PAIR_TRIO, "round": ROUND_END},
]
NUDGE_QUIET: list[NudgeQuietMail] = [
    {
        **BASE,
        "pair": PAIR,
        "days": 14,
        "topic": {"number": 2, "count": 9, "title": "Library spaces"},
    },
    {**BASE, "pair": PAIR_TRIO, "days": 15, "topic": None},
]
NUDGE_ONE_SIDED: list[NudgeOneSidedMail] = [
    {**BASE, "pair": PAIR, "writer_name": "Kofi Mensah", "days": 10},
]
NUDGE_SECOND: list[NudgeSecondMail] = [
    {**BASE, "pair": PAIR, "days": 21, "cause": "one_sided", "writer_name": "Kofi Mensah"},
    {**BASE, "pair": PAIR, "days": 21, "cause": "quiet", "writer_name": "Kofi Mensah"},
    {**BASE, "pair": PAIR_TRIO, "days": 22, "cause": "quiet", "writer_name": "Kofi & Léa"},
]
PARTNER_BOUNCING: list[PartnerBouncingMail] = [{**BASE, "partner_name": "Kofi Mensah"}]
PARTNER_PAUSED: list[PartnerPausedMail] = [
    {**BASE, "partner_name": "Kofi Mensah", "paused_until": "2027-03-29"},
    {**BASE, "partner_name": "Kofi Mensah", "paused_until": None},
]
PARTNER_RESUMED: list[PartnerResumedMail] = [{**BASE, "partner_name": "Kofi Mensah"}]
PARTNER_WITHDREW: list[PartnerWithdrewMail] = [
    {**BASE, "partner_name": "Kofi Mensah", "still_with": [], "round": ROUND_END},
    {**BASE, "partner_name": "Kofi Mensah", "still_with": ["Mei-Ling Chen"], "round": ROUND_END},
]
PARTNER_LEFT: list[PartnerLeftMail] = [
    {**BASE, "still_with": [], "round": ROUND_END},
    {**BASE, "still_with": ["Mei-Ling Chen"], "round": ROUND_END},
]
PAIR_CLOSED: list[PairClosedMail] = [
    {**BASE, "partner_names": ["Kofi Mensah"], "round": ROUND_END},
    {**BASE, "partner_names": [], "round": ROUND_END},
]
LIAISE: list[LiaiseMail] = [
    {
        **BASE,
        "text": "Hello both, we noticed your partnership has gone quiet. How can we help?",
        "partner_names": ["Kofi Mensah"],
    },
    {**BASE, "text": "Are you still there?", "partner_names": []},
]
CHECKIN: list[CheckinMail] = [{**BASE, "pair": PAIR, "round": ROUND_END}]
SURVEY: list[SurveyMail] = [
    {**BASE, "pair": PAIR, "round": ROUND_END, "reply_by": "2027-06-29"},
    {**BASE, "pair": PAIR_TRIO, "round": ROUND_END, "reply_by": None},
]
ROUND_DEFERRED: list[RoundDeferredMail] = [
    {
        **BASE,
        "reason_code": "country_cap",
        "round": {"name": "2027A"},
        "country_name": "Spain",
        "next_round": NEXT_ROUND,
    },
    {
        **BASE,
        "reason_code": "odd_one_out",
        "round": {"name": "2027A"},
        "country_name": None,
        "next_round": None,
    },
    {
        **BASE,
        "reason_code": "no_eligible_partner",
        "round": {"name": "2027A"},
        "country_name": "Spain",
        "next_round": NEXT_ROUND,
    },
    {**BASE, "reason_code": "country_cap", "round": {"name": "2027A"}, "next_round": None},
    {**BASE, "reason_code": "paused", "round": {"name": "2027A"}, "next_round": None},
    {
        **BASE,
        "reason_code": "silent",
        "round": {"name": "2027B"},
        "next_round": {"name": "2027C", "opens": "2027-12-06"},
    },
]
ROUND_OPENED: list[RoundOpenedMail] = [
    {**BASE, "round": ROUND_B, "application_kept": False},
    {**BASE, "round": ROUND_B, "application_kept": True},
    {**BASE, "round": ROUND_B},  # application_kept left out: its default
]

# --------------------------------------------------------------------------- coordinator mail
PROPOSAL_STATS: ProposalStats = {
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
SURVEY_SUMMARY: SurveySummary = {
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
WEEKLY: list[list[str | int]] = [
    ["2027-02-08", 19, 20],
    ["2027-02-15", 17, 20],
    ["2027-03-01", 14, 20],
]
DIGEST_WEEK: DigestMail = {
    **BASE,
    "week_start": "2027-03-01",
    "counts": {"active": 14, "quiet": 3, "one_sided": 2, "stalled": 1, "paused": 1, "ended": 0},
    "total": 21,
    "running": 20,
    "share_active": 70,
    "weekly": WEEKLY,
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
    "sending": {"waiting": 0, "gone_by": "", "paused": ""},
    "survey": None,
    "questions": [
        {
            "id": 12,
            "asked_on": "2027-02-24",
            "sender": "lea.dubois@example.net",
            "name": "Léa Dubois",
            "language": "fr",
            "subject": "Question",
            "text": "Est-ce que je peux inviter une collègue à nos échanges ?",
            "urgent": False,
            "forwarded": False,
            "action": "ANSWER 12 <your answer>",
            "context": {
                "status": "active",
                "round": "2027A",
                "pair_id": 7,
                "pair_state": "active",
                "partner_name": "Kofi Mensah",
                "partner_country": "Ghana",
                "recent_mail": [{"template": "topic", "on": "2027-02-22"}],
            },
        }
    ],
    "automatic": {
        "nudges": 12,
        "rematched": 3,
        "ended_silent": 2,
        "ended_withdrew": 1,
        "ended_bouncing": 0,
        "carried": 1,
        "waiting": 4,
        "faq_answers": 7,
        "resent": 1,
        "silent_reports": 2,
        "erased_inactive": 3,
        "expired_mail": 410,
        "expired_partner_mail": 1250,
        "erased_mail": 6,
    },
    "unchanged": 2,
    "needs_you": 4,
}
DIGEST: list[DigestMail] = [
    DIGEST_WEEK,
    {
        **DIGEST_WEEK,
        "flagged": [],
        "survey": SURVEY_SUMMARY,
        "uncertain": 2,
        "sending": {"waiting": 412, "gone_by": "2027-03-01 09:41 UTC", "paused": ""},
        "unchanged": 0,
        "needs_you": 0,
        "silent_reports": [],
        "rematch_requests": [],
        "automatic": dict.fromkeys(DIGEST_WEEK["automatic"], 0),  # type: ignore[typeddict-item]
    },
]
ROUND_ENDED: RoundFull = {**ROUND, "end": "2027-06-08"}
FINAL_REPORT: list[FinalReportMail] = [
    {
        **BASE,
        "round": ROUND_ENDED,
        "pairs": 20,
        "survey": SURVEY_SUMMARY,
        "weekly": WEEKLY,
        "share_active": [95, 85, 70],
    },
    {**BASE, "round": ROUND_ENDED, "pairs": 20, "survey": None, "weekly": [], "share_active": []},
]
PROPOSAL: list[ProposalMail] = [
    {
        **BASE,
        "round": {**ROUND, "end": "2027-06-15"},
        "proposal_id": 3,
        "stats": PROPOSAL_STATS,
        "left": [{"name": "A", "email": "a@example.net", "code": "country_cap", "detail": "cap"}],
    }
]
COORDINATOR_ACTION_DONE: list[CoordinatorActionDoneMail] = [
    {
        **BASE,
        "action": "REMATCH pair 12",
        "detail": "Pair 12 (Amaia Etxeberria, Kofi Mensah) is closed.\n"
        "Both are back in the pool and will be proposed in the next matching.",
    },
    {**BASE, "action": "LIAISE pair 7", "detail": ""},
]
COORDINATOR_REPLY_SUMMARY: CoordinatorActionDoneMail = {
    **BASE,
    "action": "CLOSE pair 12",
    "detail": "CLOSE pair 12: closed; 1 member(s) told with a short note",
    "refused": False,
    "outcomes": [
        {
            "line": "CLOSE 12",
            "action": "CLOSE pair 12",
            "detail": "CLOSE pair 12: closed; 1 member(s) told with a short note",
            "done": True,
        },
        {
            "line": "LIAISE 99 Hello",
            "action": "LIAISE pair 99",
            "detail": "there is no pair 99",
            "done": False,
        },
        {
            "line": "CLOES 13",
            "action": "",
            "detail": "not a command we know: nothing done",
            "done": False,
        },
    ],
}
COORDINATOR_ACTION_REFUSED: CoordinatorActionDoneMail = {
    **BASE,
    "action": "APPROVE",
    "detail": "no proposal is waiting",
    "refused": True,
}


# --------------------------------------------------------------------------- questions
QUESTION_RECEIVED: list[QuestionReceivedMail] = [{**BASE, "question_id": 12}]
QUESTION_ANSWER: list[QuestionAnswerMail] = [
    {
        **BASE,
        "question_id": 12,
        "asked_on": "2027-02-24",
        "subject": "Inviting a colleague",
        "text": "Yes, of course: a colleague may join a conversation now and then.\nEnjoy!",
    },
    {**BASE, "question_id": 13, "asked_on": "2027-02-25", "subject": "", "text": "Yes."},
]
CONFIRM_REQUEST: list[ConfirmRequestMail] = [
    {**BASE, "command": command, "mode": waiting, "days": 21 if command == "pause" else None}
    for command in ("withdraw", "pause", "resume", "rematch", "continue")
    for waiting in ("yes", "verify")
]
QUESTION_ITEM: QuestionItem = {
    "id": 12,
    "asked_on": "2027-02-24",
    "sender": "lea.dubois@example.net",
    "name": "Léa Dubois",
    "language": "fr",
    "subject": "Mon partenaire",
    "text": "Mon partenaire m'envoie des messages insistants et inappropriés.\nQue faire ?",
    "urgent": True,
    "forwarded": True,
    "action": "ANSWER 12 <your answer>",
    "context": {
        "status": "active",
        "round": "2027A",
        "pair_id": 7,
        "pair_state": "active",
        "partner_name": "Kofi Mensah",
        "partner_country": "Ghana",
        "recent_mail": [
            {"template": "topic", "on": "2027-02-22"},
            {"template": "introduction", "on": "2027-02-08"},
        ],
    },
}
QUESTION_FORWARDED: list[QuestionForwardedMail] = [
    {**BASE, "question": QUESTION_ITEM},
    {
        **BASE,
        "question": {
            **QUESTION_ITEM,
            "subject": "",
            "name": "",
            "context": {
                **QUESTION_ITEM["context"],
                "round": None,
                "pair_id": None,
                "pair_state": None,
                "partner_name": None,
                "partner_country": None,
                "recent_mail": [],
            },
        },
    },
]

# --------------------------------------------------------------------------- FAQ
FAQ_CHANGE_PARTNER: list[FaqChangePartnerMail] = [
    {**BASE, "in_pair": True},
    {**BASE, "in_pair": False},
]
FAQ_PAUSE: list[FaqPauseMail] = [BASE]
FAQ_LEAVE: list[FaqLeaveMail] = [BASE]
FAQ_APPLY: list[FaqApplyMail] = [
    {**BASE, "round": ROUND, "next_round": None},
    {**BASE, "round": None, "next_round": ROUND},
    {**BASE, "round": None, "next_round": None},
]
FAQ_WHO_IS_MY_PARTNER: list[FaqWhoIsMyPartnerMail] = [
    {
        **BASE,
        "partners": [{"name": "Kofi Mensah", "country": "Ghana"}],
        "tracking_address": TRACKING,
    },
    {
        **BASE,
        "partners": [
            {"name": "Kofi Mensah", "country": "Ghana"},
            {"name": "Mei-Ling Chen", "country": "Taiwan"},
        ],
        "tracking_address": TRACKING,
    },
    {**BASE, "partners": [], "tracking_address": ""},
]
FAQ_TOPIC: list[FaqTopicMail] = [
    {
        **BASE,
        "topic": TOPIC_3,
        "next_topic_on": "2027-03-15",
        "tracking_address": TRACKING,
        "in_pair": True,
    },
    {
        **BASE,
        "topic": TOPIC_9,
        "next_topic_on": None,
        "tracking_address": TRACKING,
        "in_pair": True,
    },
    {
        **BASE,
        "topic": None,
        "next_topic_on": "2027-03-01",
        "tracking_address": TRACKING,
        "in_pair": True,
    },
    {**BASE, "topic": None, "next_topic_on": None, "tracking_address": "", "in_pair": False},
]
FAQ_HOW_OFTEN: list[FaqHowOftenMail] = [{**BASE, "topic_every_days": 14}]


# --------------------------------------------------------------------------- by template
def _contexts(samples: Sequence[Mapping[str, object]]) -> list[dict[str, Any]]:
    """Typed samples as the renderer takes them (plain dicts)."""
    return [dict(s) for s in samples]


POOL_WAITING: list[PoolWaitingMail] = [
    {**BASE, "reason_code": code, "wait_days": 28, "round": ROUND_END}
    for code in (
        "left_out",
        "late",
        "partner_silent",
        "partner_bouncing",
        "partner_withdrew",
        "pair_ended",
        "asked",
    )
]
POOL_CARRIED: list[PoolCarriedMail] = [
    {**BASE, "round": {"name": "2027A"}, "next_round": NEXT_ROUND},
    {**BASE, "round": {"name": "2027A"}, "next_round": None},
]
PAIR_ENDED_SILENT: list[PairEndedSilentMail] = [
    {**BASE, "partner_names": ["Kofi Mensah"], "round": ROUND_END},
    {**BASE, "partner_names": ["Kofi Mensah", "Mei-Ling Chen"], "round": ROUND_END},
]

# The templates tests/unit/test_round_templates.py covers: the round's mail, and the
# coordinator's "done" notice with its two samples that are not refusals.
SAMPLES_ROUND: dict[str, list[dict[str, Any]]] = {
    "introduction": _contexts(INTRODUCTION),
    "topic": _contexts(TOPIC),
    "nudge_quiet": _contexts(NUDGE_QUIET),
    "nudge_one_sided": _contexts(NUDGE_ONE_SIDED),
    "nudge_second": _contexts(NUDGE_SECOND),
    "partner_bouncing": _contexts(PARTNER_BOUNCING),
    "partner_paused": _contexts(PARTNER_PAUSED),
    "partner_withdrew": _contexts(PARTNER_WITHDREW),
    "checkin": _contexts(CHECKIN),
    "survey": _contexts(SURVEY),
    "round_deferred": _contexts(ROUND_DEFERRED),
    "round_opened": _contexts(ROUND_OPENED),
    "pool_waiting": _contexts(POOL_WAITING),
    "pool_carried": _contexts(POOL_CARRIED),
    "pair_ended_silent": _contexts(PAIR_ENDED_SILENT),
    "coordinator_action_done": _contexts(COORDINATOR_ACTION_DONE),
}
# The mail that commands send (participants' and coordinators' commands).
SAMPLES_COMMANDS: dict[str, list[dict[str, Any]]] = {
    "command_ack": _contexts(COMMAND_ACK),
    "partner_resumed": _contexts(PARTNER_RESUMED),
    "partner_left": _contexts(PARTNER_LEFT),
    "delete_confirm": _contexts(DELETE_CONFIRM),
    "data_deleted": _contexts(DATA_DELETED),
    "data_export": _contexts(DATA_EXPORT),
    "pair_closed": _contexts(PAIR_CLOSED),
    "liaise": _contexts(LIAISE),
}
# Every template's samples (tests/unit/test_contracts.py: one entry per template folder).
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "digest": _contexts(DIGEST),
    "final_report": _contexts(FINAL_REPORT),
    "proposal": _contexts(PROPOSAL),
    "confirmation": _contexts(CONFIRMATION),
    "application_invalid": _contexts(APPLICATION_INVALID),
    "welcome": _contexts(WELCOME),
    "help": _contexts(HELP),
    "status": _contexts(STATUS),
    **SAMPLES_ROUND,
    **SAMPLES_COMMANDS,
    "faq_change_partner": _contexts(FAQ_CHANGE_PARTNER),
    "faq_pause": _contexts(FAQ_PAUSE),
    "faq_leave": _contexts(FAQ_LEAVE),
    "faq_apply": _contexts(FAQ_APPLY),
    "faq_who_is_my_partner": _contexts(FAQ_WHO_IS_MY_PARTNER),
    "faq_topic": _contexts(FAQ_TOPIC),
    "faq_how_often": _contexts(FAQ_HOW_OFTEN),
    "question_received": _contexts(QUESTION_RECEIVED),
    "question_answer": _contexts(QUESTION_ANSWER),
    "confirm_request": _contexts(CONFIRM_REQUEST),
    "question_forwarded": _contexts(QUESTION_FORWARDED),
    "coordinator_action_done": [
        *SAMPLES_ROUND["coordinator_action_done"],
        *_contexts([COORDINATOR_ACTION_REFUSED, COORDINATOR_REPLY_SUMMARY]),
    ],
}
