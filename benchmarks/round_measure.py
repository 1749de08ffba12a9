"""What `benchmarks.round` measures, and how: the ledger of the simulated round's events and the
figures computed from it.

Decides how each human message is judged, from the mail the program sent (the `.eml` files):
- **answered**: a mail to its sender whose In-Reply-To or References names the message's
  Message-ID (mailbot threads every answer to the message it answers);
- **forwarded**: a mail to a coordinator, sent after it, that carries the message's Message-ID,
  or quotes its text (its first 40 characters), or names its sender on a line that offers a
  one-reply action (LIAISE/REMATCH/CLOSE/ANSWER …) — the coordinators can act on it;
- **listed only**: a mail to a coordinator names the sender, but on no line with an action
  (e.g. "Mail from senders we do not know, held for you in the mailbox: …");
- **to their partner**: the mail was addressed to their partner (a reply to a topic or an
  introduction goes to the partners and the pair's tracking address, as the Reply-To says):
  a person read it, though not the program, which never reads pair mail's bodies;
- **reached nobody**: none of these by the end of the run.
The best outcome wins (answered > forwarded > to their partner > listed only > reached
nobody).

A **touch** is one decision a coordinator sends (one command line: APPROVE, LIAISE, REMATCH,
CLOSE, ANSWER, …), counted by kind; the reply emails that carry them are counted apart.
A **false alarm** is a pair listed to the coordinators for action while, at that moment, it was in
fact talking: every member still in it (not withdrawn, address alive) wrote to a partner (Cc or
not) in the last 21 days — ILN's "in touch every two weeks" plus a week's slack — or is away or
paused by their own choice, and at least one member wrote in those 21 days.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

ACTION_VERBS = ("APPROVE", "REDO", "LIAISE", "REMATCH", "CLOSE", "ANSWER")
_RANK = {
    "reached nobody": 0,
    "listed only": 1,
    "to their partner": 2,
    "forwarded": 3,
    "answered": 4,
}


@dataclass
class HumanMessage:
    """A message from a simulated person that needs a human (or a program that understands)."""

    msg_id: str  # without angle brackets
    sender: str
    shape: str  # e.g. "question q-how-often", "sentence pause", "keyword rematch"
    language: str
    via_reply: bool  # written as a reply to program mail
    at: datetime
    excerpt: str
    outcome: str = "reached nobody"
    answer_template: str = ""

    def upgrade(self, outcome: str, template: str = "") -> None:
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome = outcome
            self.answer_template = template


@dataclass
class Item:
    """One item a coordinator mail asked a decision about."""

    at: datetime
    kind: str  # "pair stalled", "pair one-sided", "silent report", "rematch request", …
    target: str  # pair id or item id
    verbs: tuple[str, ...]
    chosen: str = ""
    false_alarm: bool | None = None  # None: not a pair item


@dataclass
class Ledger:
    """Everything the run records; `figures` turns it into the printed report."""

    participants: int = 0
    human: dict[str, HumanMessage] = field(default_factory=dict)
    robot_ids: set[str] = field(default_factory=set)
    robots_answered: int = 0
    mails_to: Counter[str] = field(default_factory=Counter)
    mails_in_round: int = 0
    mails_to_coordinators: int = 0
    matched: set[str] = field(default_factory=set)
    touches: Counter[str] = field(default_factory=Counter)
    reply_emails: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    items: list[Item] = field(default_factory=list)
    digest_items: list[int] = field(default_factory=list)
    relisted: int = 0
    written: int = 0  # messages the people (and robots) wrote to the program
    partner_mails: int = 0
    partner_mails_no_cc: int = 0
    ticks: int = 0
    tick_wall: float = 0.0  # seconds inside mailbot's tick (the rest is the simulation)
    tick_cpu: float = 0.0

    def human_message(self, m: HumanMessage) -> None:
        self.human[m.msg_id] = m

    def answered(self, refs: list[str], template: str) -> None:
        for r in refs:
            if r in self.human:
                self.human[r].upgrade("answered", template)
            elif r in self.robot_ids:
                self.robots_answered += 1

    def coordinator_text(self, text: str, when: datetime) -> None:
        """A coordinator mail's text: which human messages it forwards or lists."""
        lines = text.splitlines()
        lowered = text.lower()
        for m in self.human.values():
            if m.outcome in ("answered", "forwarded") or m.at > when:
                continue
            if m.msg_id.lower() in lowered or (m.excerpt and m.excerpt.lower() in lowered):
                m.upgrade("forwarded")
                continue
            if m.sender not in lowered:
                continue
            on_action_line = any(
                m.sender in ln.lower() and any(v in ln for v in ACTION_VERBS) for ln in lines
            )
            m.upgrade("forwarded" if on_action_line else "listed only")


def _p90(values: list[int]) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return float(s[min(len(s) - 1, int(0.9 * len(s)))])


def figures(led: Ledger, round_weeks: float) -> dict[str, object]:
    """The report's numbers, as plain values (the smoke test reads them too)."""
    per100 = 100.0 / max(1, led.participants)
    touches = sum(led.touches.values())
    outcomes = Counter(m.outcome for m in led.human.values())
    by_shape: dict[str, Counter[str]] = defaultdict(Counter)
    for m in led.human.values():
        by_shape[m.shape + (" (as reply)" if m.via_reply else "")][m.outcome] += 1
    answered_by = Counter(m.answer_template for m in led.human.values() if m.outcome == "answered")
    counts = [led.mails_to.get(a, 0) for a in led.mails_to] or [0]
    everyone = counts + [0] * max(0, led.participants - len(led.mails_to))
    pair_items = [i for i in led.items if i.false_alarm is not None]
    kinds = Counter(i.kind for i in led.items)
    return {
        "participants": led.participants,
        "matched": len(led.matched),
        "touches": touches,
        "touches_per_100": touches * per100,
        "touches_by_kind": dict(led.touches),
        "reply_emails": led.reply_emails,
        "refused": dict(led.refused),
        "items": len(led.items),
        "items_by_kind": dict(kinds),
        "busiest_digest": max(led.digest_items, default=0),
        "relisted_after_action": led.relisted,
        "false_alarms": sum(1 for i in pair_items if i.false_alarm),
        "pair_items": len(pair_items),
        "human_messages": len(led.human),
        "outcomes": dict(outcomes),
        "unanswered": outcomes.get("reached nobody", 0),
        "unanswered_per_100": outcomes.get("reached nobody", 0) * per100,
        "by_shape": {k: dict(v) for k, v in sorted(by_shape.items())},
        "answered_by": dict(answered_by),
        "robots_answered": led.robots_answered,
        "mails_mean": statistics.fmean(everyone),
        "mails_p90": _p90(everyone),
        "mails_max": max(everyone),
        "mails_per_week": led.mails_in_round / max(1, len(led.matched)) / round_weeks,
        "mails_to_coordinators": led.mails_to_coordinators,
        "written": led.written,
        "partner_mails": led.partner_mails,
        "partner_mails_no_cc": led.partner_mails_no_cc,
        "ticks": led.ticks,
        "tick_wall": led.tick_wall,
        "tick_cpu": led.tick_cpu,
    }
