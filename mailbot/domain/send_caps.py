"""How much mail may go now: the provider's sending caps, and refusals that mean "slow down".

Must not: do I/O or read the clock. Providers cap what one mailbox sends (Exchange Online 30
messages a minute and 10,000 recipients a day; Gmail about 500 recipients a day, Workspace
about 2,000) and answer mail over the cap with a throttling or quota refusal. This module
decides, from what the outbox already sent (its own record, so the count survives a restart)
and any pause a refusal started:
- `allowance`: how many recipients may be sent at `now` without passing any cap, and when
  the next one may go if none may now;
- `throttled`: whether an SMTP refusal is the provider limiting *us* (never a fault of the
  recipient, never scored as a bounce) and how long to pause;
- `order_key`: answers to people before bulk mail, so a topic morning never delays an answer;
- `admits`: whether a row of so many recipients may take what the allowance leaves;
- `drained_at`: when mail waiting now will have gone, sending as fast as the caps allow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Caps:
    """Recipients per window; None = no cap."""

    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None

    def windows(self) -> list[tuple[timedelta, int]]:
        caps = ((MINUTE, self.per_minute), (HOUR, self.per_hour), (DAY, self.per_day))
        return [(span, cap) for span, cap in caps if cap is not None]


@dataclass(frozen=True)
class Sent:
    """One message the relay took: when, and to how many recipients."""

    at: datetime
    recipients: int


@dataclass(frozen=True)
class Allowance:
    recipients: int | None  # how many may go now (None: no cap at all)
    next_at: datetime | None  # when more may go, if `recipients` is 0


def allowance(
    caps: Caps, sent: Sequence[Sent], now: datetime, paused_until: datetime | None = None
) -> Allowance:
    """What the caps leave at `now`, given the sends of the last day (any order)."""
    if paused_until is not None and paused_until > now:
        return Allowance(0, paused_until)
    windows = caps.windows()
    if not windows:
        return Allowance(None, None)
    left: list[int] = []
    opens: list[datetime] = []
    for span, cap in windows:
        recent = sorted((s for s in sent if now - span < s.at <= now), key=lambda s: s.at)
        used = sum(s.recipients for s in recent)
        left.append(max(cap - used, 0))
        if used >= cap:
            # the window frees up as its oldest sends age out: the earliest instant at which
            # what remains inside it drops below the cap
            over = used - cap + 1
            for s in recent:
                over -= s.recipients
                if over <= 0:
                    opens.append(s.at + span)
                    break
    room = min(left)
    if room > 0:
        return Allowance(room, None)
    return Allowance(0, max(opens) if opens else now + MINUTE)


# Reply codes and texts that mean the provider is limiting the sender, not refusing the
# recipient: RFC 3463 x.7.x "security or policy" throttling (4.7.0, 4.7.28 Exchange), 421
# (service closing, "too many"), 451 4.3.2 (system not accepting, try later), 452 4.5.3
# (too many recipients), Gmail's 550 5.4.5 daily sending quota, Exchange's
# SubmissionQuotaExceeded / "sending limit" (554 5.2.0 or 5.2.2 from the submission side).
# "Quota" alone is not enough: 552 5.2.2 "mailbox over quota" is the recipient's mailbox.
_QUOTA_TEXT = re.compile(
    r"sending quota|rate limit|ratelimit|too many (?:messages|recipients|connections)|"
    r"sending limit|message rate|submissionquotaexceeded|throttl|daily user sending",
    re.IGNORECASE,
)
_GREYLIST = re.compile(r"grey ?list|gray ?list", re.IGNORECASE)
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def throttled(code: int | None, text: str) -> timedelta | None:
    """How long to stop sending when `code`/`text` is a throttle or quota refusal, else None.

    A daily quota pauses until the day's window has room again (an hour, then the caps
    decide); a transient throttle for a few minutes.
    """
    if code is None:
        return None
    head = text[:300]
    if _GREYLIST.search(head):  # a recipient's server asking for patience, not our provider
        return None
    enhanced = _ENHANCED.search(head)
    status = enhanced.groups() if enhanced else None
    if code == 550 and status == ("5", "4", "5"):  # Gmail: daily user sending quota exceeded
        return HOUR
    if _QUOTA_TEXT.search(head):
        return HOUR if code >= 500 or "daily" in head.lower() else 5 * MINUTE
    if code == 421 or (status is not None and status[:2] == ("4", "7")):
        return 5 * MINUTE
    if code == 451 and status == ("4", "3", "2"):
        return 5 * MINUTE
    return None


def order_key(bulk: bool, row_id: int) -> tuple[int, int]:
    """Answers to people first, then bulk mail (topics, nudges), each in outbox order."""
    return (1 if bulk else 0, row_id)


def admits(caps: Caps, room: int | None, need: int) -> bool:
    """Whether a message to `need` recipients may go with `room` left in the windows.

    A message to more recipients than the tightest cap could never fit: it goes when that
    window is empty rather than wait for ever.
    """
    if room is None:
        return True
    if need <= room:
        return True
    tightest = min((cap for _, cap in caps.windows()), default=None)
    return tightest is not None and need > tightest and room >= tightest


def drained_at(
    caps: Caps,
    sent: Sequence[Sent],
    waiting: int,
    now: datetime,
    paused_until: datetime | None = None,
) -> datetime:
    """When `waiting` recipients due now will all have gone, if sent as fast as the caps allow
    (`now` itself when nothing waits or nothing caps them)."""
    if any(cap < 1 for _, cap in caps.windows()):
        raise ValueError(f"caps {caps}: a cap lets at least one recipient through")
    history = [s for s in sent if now - DAY < s.at <= now]
    at, left = now, waiting
    while left > 0:
        got = allowance(caps, history, at, paused_until)
        if got.recipients is None:
            return at
        if got.recipients > 0:
            take = min(got.recipients, left)
            history.append(Sent(at, take))
            left -= take
            if left == 0:
                return at
            continue
        if got.next_at is None or got.next_at <= at:  # cannot happen with positive caps
            raise ValueError(f"caps {caps} never open after {at.isoformat()}")
        at = got.next_at
        history = [s for s in history if at - DAY < s.at]
    return at


# What the busiest day asks of the caps (`check-config`). Answers to people on any day of a
# round: the round benchmark's 1,162 people got 390-433 answers in a round, bunched around
# applications and matching; 5% of the participants a day covers its busiest days.
ANSWER_SHARE = 0.05
INTRODUCTION_RECIPIENTS = 1.5  # per participant: both partners and the pair's tracking address


@dataclass(frozen=True)
class RoundLoad:
    """What a round sends, by date: sizes and dates only."""

    name: str
    participants: int
    matching: date
    start: date
    end: date
    topic_every_days: int


def daily_load(rounds: Sequence[RoundLoad]) -> dict[date, int]:
    """Recipients per date: introductions on the matching date, a topic to everyone every
    `topic_every_days` from the start, the check-in at the midpoint, the survey at the end,
    and answers to people every day from matching to the end."""
    load: dict[date, float] = {}

    def add(day: date, recipients: float) -> None:
        load[day] = load.get(day, 0.0) + recipients

    for r in rounds:
        n = r.participants
        add(r.matching, INTRODUCTION_RECIPIENTS * n)
        day = r.start
        while day < r.end:
            add(day, n)
            day += timedelta(days=r.topic_every_days)
        add(r.start + (r.end - r.start) / 2, n)
        add(r.end, n)
        day = r.matching
        while day <= r.end:
            add(day, ANSWER_SHARE * n)
            day += timedelta(days=1)
    return {day: round(n) for day, n in load.items()}


def daily_capacity(caps: Caps) -> int | None:
    """The most recipients the caps let through in a day (None: no cap)."""
    limits = [cap * int(DAY / span) for span, cap in caps.windows()]
    return min(limits) if limits else None
