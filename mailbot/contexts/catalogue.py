"""Which contract each template keeps: template name (its folder under templates/<lang>/) → the
TypedDict of its context; and which templates are written to the coordinators (English only).

Must not: do I/O.
"""

from __future__ import annotations

from mailbot.contexts import coordinator_mail as coordinator
from mailbot.contexts import participant_mail as participant
from mailbot.contexts import round_mail as rounds

COORDINATOR_CONTRACTS: dict[str, type] = {
    "proposal": coordinator.ProposalMail,
    "coordinator_action_done": coordinator.CoordinatorActionDoneMail,
    "digest": coordinator.DigestMail,
    "final_report": coordinator.FinalReportMail,
}

CONTRACTS: dict[str, type] = {
    "welcome": participant.WelcomeMail,
    "help": participant.HelpMail,
    "status": participant.StatusMail,
    "confirmation": participant.ConfirmationMail,
    "application_invalid": participant.ApplicationInvalidMail,
    "command_ack": participant.CommandAckMail,
    "delete_confirm": participant.DeleteConfirmMail,
    "data_deleted": participant.DataDeletedMail,
    "introduction": rounds.IntroductionMail,
    "topic": rounds.TopicMail,
    "nudge_quiet": rounds.NudgeQuietMail,
    "nudge_one_sided": rounds.NudgeOneSidedMail,
    "nudge_second": rounds.NudgeSecondMail,
    "partner_bouncing": rounds.PartnerBouncingMail,
    "partner_paused": rounds.PartnerPausedMail,
    "partner_resumed": rounds.PartnerResumedMail,
    "partner_withdrew": rounds.PartnerWithdrewMail,
    "partner_left": rounds.PartnerLeftMail,
    "pair_closed": rounds.PairClosedMail,
    "liaise": rounds.LiaiseMail,
    "checkin": rounds.CheckinMail,
    "survey": rounds.SurveyMail,
    "round_deferred": rounds.RoundDeferredMail,
    "round_opened": rounds.RoundOpenedMail,
    **COORDINATOR_CONTRACTS,
}

# Mail to coordinators is written in English only (the program has no coordinator language).
COORDINATOR_ONLY = frozenset(COORDINATOR_CONTRACTS)
