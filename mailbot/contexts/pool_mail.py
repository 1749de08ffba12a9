"""Contracts of the waiting pool's mail to participants: waiting for a new partner, carried to
the next round after waiting too long, and a pair ended for a member's silence (to that member).
Written by `flows.waiting_pool` and `flows.rematch`.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads its keys only from real annotations
# (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from mailbot.contexts.common import Base, RoundEnd, RoundName, RoundOpening


class PoolWaitingMail(Base):
    """Someone waits in the round's pool for a partner."""

    # why (domain.waiting_pool.REASONS): left_out | late | partner_silent | partner_bouncing |
    # partner_withdrew | pair_ended | asked
    reason_code: str
    wait_days: int  # after this long without a partner they are carried to the next round
    round: RoundEnd


class PoolCarriedMail(Base):
    """Waited too long (or the round nears its end): carried to the next round."""

    round: RoundName  # the round they waited in
    next_round: RoundOpening | None  # None: not announced yet


class PairEndedSilentMail(Base):
    """To a member silent through the ladder: the pair ended, how to come back."""

    partner_names: list[str]  # the partner(s) who were still writing
    round: RoundEnd
