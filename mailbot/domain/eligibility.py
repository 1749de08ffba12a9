"""Who may be matched in a new round, and which of those kept out are told why on approval.

Must not: do I/O or read the clock. The caller passes `now` and the person's stored facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mailbot.domain.ladder import paused_at


class EligibilityRules(Protocol):
    """The threshold eligibility reads; `mailbot.settings.LadderSection` satisfies it."""

    @property
    def silent_cycles_to_exclude(self) -> int: ...


def why_not_matchable(
    status: str,
    paused_until: datetime | None,
    bouncing: bool,
    cycles_silent: int,
    asked: bool,
    now: datetime,
    ladder: EligibilityRules,
) -> str:
    """ "" when a person may be matched in a new round, else why not (the proposal lists it).

    `cycles_silent` is `silent_cycles` as of the end of their last round; `asked` is true when
    they said they want another round (the survey's choice 1, CONTINUE, a new application)
    since they last withdrew, which outweighs a silence and a withdrawal.
    """
    if status == "withdrawn" and not asked:
        return "withdrawn"
    if paused_at(status, paused_until, now):
        return "paused"
    if bouncing:
        return "their address bounces"
    if cycles_silent >= ladder.silent_cycles_to_exclude and not asked:
        return f"silent through {cycles_silent} cycles last round"
    return ""


def exclusion_code(why: str) -> str:
    """The letter code for a `why_not_matchable` reason whose person is told on approval
    ("paused", "silent"), "" for those never written to (withdrawn, bouncing). Stated here,
    beside the reasons, because proposals store the reason text."""
    if why == "paused":
        return "paused"
    return "silent" if why.startswith("silent through") else ""
