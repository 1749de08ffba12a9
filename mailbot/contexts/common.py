"""What every template context carries, and the shapes several templates share.

Must not: do I/O.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired[...] only from real
# annotations (`__required_keys__`, which tests/unit/test_contracts.py checks samples against).
from typing import TypedDict


class Program(TypedDict):
    name: str  # the program's name, as configured
    address: str  # the program's address, where commands go


class Base(TypedDict):
    """The keys every context has."""

    program: Program
    recipient_name: str  # the greeting's name; "" when no name is kept (data_deleted)
    names: dict[str, str]  # address → display name of every recipient of this mail
    person_id: int  # the recipient's person id; 0 when there is none (any more)


class PairRef(TypedDict):
    """The recipient's partnership, in per-recipient mail that mentions it."""

    partner_names: list[str]  # the recipient's partner(s): 1 name, or 2 in a trio
    tracking_address: str  # the pair's tracking address (program+p-<token>@…), for Cc


class RoundName(TypedDict):
    name: str


class RoundEnd(RoundName):
    end: str  # ISO date


class RoundSpan(RoundEnd):
    start: str  # ISO date


class RoundOpening(RoundName):
    """A round someone may join: when it opens for applications."""

    opens: str  # ISO date


class RoundDates(RoundOpening):
    """A round's calendar up to its start (ISO dates)."""

    closes: str
    matching: str
    start: str


class RoundFull(RoundDates):
    """A round's whole calendar, as `flows.rounds.round_context` gives it."""

    end: str
