"""Which contract each template keeps: template name (its folder under templates/<lang>/) → the
TypedDict of its context; and which templates are written to the coordinators (English only).

Must not: do I/O.
"""

from __future__ import annotations

from mailbot.contexts import coordinator_mail as coordinator
from mailbot.contexts import faq_mail as faq
from mailbot.contexts import participant_mail as participant
from mailbot.contexts import pool_mail as pool
from mailbot.contexts import privacy_mail as privacy
from mailbot.contexts import question_mail as question
from mailbot.contexts import round_mail as rounds

COORDINATOR_CONTRACTS: dict[str, type] = {
    "proposal": coordinator.ProposalMail,
    "coordinator_action_done": coordinator.CoordinatorActionDoneMail,
    "digest": coordinator.DigestMail,
    "final_report": coordinator.FinalReportMail,
    "question_forwarded": question.QuestionForwardedMail,
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
    "data_export": privacy.DataExportMail,
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
    "pool_waiting": pool.PoolWaitingMail,
    "pool_carried": pool.PoolCarriedMail,
    "pair_ended_silent": pool.PairEndedSilentMail,
    "question_received": question.QuestionReceivedMail,
    "question_answer": question.QuestionAnswerMail,
    "confirm_request": question.ConfirmRequestMail,
    "faq_change_partner": faq.FaqChangePartnerMail,
    "faq_pause": faq.FaqPauseMail,
    "faq_leave": faq.FaqLeaveMail,
    "faq_apply": faq.FaqApplyMail,
    "faq_who_is_my_partner": faq.FaqWhoIsMyPartnerMail,
    "faq_topic": faq.FaqTopicMail,
    "faq_how_often": faq.FaqHowOftenMail,
    **COORDINATOR_CONTRACTS,
}

# Mail to coordinators is written in English only (the program has no coordinator language).
COORDINATOR_ONLY = frozenset(COORDINATOR_CONTRACTS)
