"""Which discussion topics and mid-round check-ins are due, per recipient, at each one's morning.

Must not: do I/O or read the clock.

Topics
- Pair p gets topic k (0-based, k < `round.topic_count`) at its *slot*
  `p.started_at + (k - first) * round.topic_every_days`, where `first` (`first_topic`) is the
  round's own topic when the pair began: 0 for pairs that start with the round, the current
  one for a pair made later (a rematch, a late applicant) -- it continues where the round is,
  never from topic 1 again. Each recipient gets it at the first `topic_hour`:00
  in their own zone at or after the slot (unknown or invalid zone → UTC): `not_before`, an aware
  UTC instant. So a pair starting 2024-03-04T00:00Z is mailed at 09:00 in Tokyo (00:00Z) and at
  09:00 in Lima (14:00Z) the same day -- never on the local evening before the pair began.
- Only the latest due topic is ever offered, and only while it is fresh (`now < not_before +
  topic_every_days`): after an outage a recipient gets the current topic, not a burst of old ones.
  The same `TopicSend` is offered on every tick while fresh; its key
  f"topic:{round}:{pair}:{k}:{person}" makes that idempotent (pass `sent` keys to filter early).
- Nothing for a pair that is not "active", nor for a withdrawn, paused (at `now`) or bouncing
  member, nor at or after the round end, nor a slot at or after the round end. A member who
  resumes gets the current topic if still fresh. Out-of-office does not stop topics.

Check-in
- One per pair: "Have you been in touch in the last two weeks? Reply YES, NO or PAUSE". Due at the
  midpoint between the pair's start and the round end (the round midpoint for pairs that started
  with the round), at each recipient's `topic_hour` morning, to every engaged non-bouncing member,
  until the round ends. Key f"checkin:{round}:{pair}:{person}".
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.domain.ladder import MemberView, PairView, RoundView, is_engaged

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TopicSend:
    key: str
    round_name: str
    pair_id: int
    person_id: int
    topic: int  # 0-based index into the round's topic list
    not_before: datetime  # aware UTC: topic_hour:00 in the recipient's zone
    language: str


@dataclass(frozen=True, slots=True)
class CheckinSend:
    key: str
    round_name: str
    pair_id: int
    person_id: int
    not_before: datetime
    language: str


@lru_cache(maxsize=1024)
def zone_or_utc(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or UTC when it is empty or unknown."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@lru_cache(maxsize=65536)
def morning_after(at: datetime, zone: str | None, hour: int) -> datetime:
    """The first `hour`:00 local time in `zone` at or after the instant `at`, as aware UTC."""
    tz = zone_or_utc(zone)
    local = at.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if candidate.astimezone(UTC) < at:
        candidate = datetime.combine(local.date() + DAY, time(hour), tzinfo=tz)
    return candidate.astimezone(UTC)


def waking_after(at: datetime, zone: str | None, hour: int, until: int = 20) -> datetime:
    """`at` itself when it falls between `hour`:00 and `until`:00 local time in `zone`, else
    the next `hour`:00 there: for mail that is due now but should not arrive at night."""
    local_hour = at.astimezone(zone_or_utc(zone)).hour
    return at if hour <= local_hour < until else morning_after(at, zone, hour)


def _recipients(pair: PairView, now: datetime) -> list[MemberView]:
    if pair.state != "active":
        return []
    return [m for m in pair.members if is_engaged(m, now) and not m.bouncing]


def first_topic(started: datetime, round: RoundView) -> int:
    """The topic a pair that started at `started` begins with: the round's own topic then (0
    for a pair that started with the round), at most the catalogue's last."""
    if started <= round.starts_at or round.topic_count <= 0:
        return 0
    k = (started - round.starts_at) // (round.topic_every_days * DAY)
    return min(k, round.topic_count - 1)


def topic_now(started: datetime, round: RoundView, now: datetime) -> int | None:
    """The index of the topic a pair that started at `started` is on at `now` (the one
    `due_topics` sent last), or None before its first or after the catalogue's last."""
    if now < started:
        return None
    k = first_topic(started, round) + (now - started) // (round.topic_every_days * DAY)
    return k if 0 <= k < round.topic_count else None


def due_topics(
    pairs: Iterable[PairView],
    round: RoundView,
    now: datetime,
    topic_hour: int = 9,
    sent: Container[str] = frozenset(),
) -> list[TopicSend]:
    """One `TopicSend` per recipient whose latest topic is due and fresh at `now` (see above)."""
    if now >= round.ends_at or round.topic_count <= 0:
        return []
    every = round.topic_every_days * DAY
    ends_at, name = round.ends_at, round.name
    # Per start instant: the (k, slot) candidates, latest first -- most pairs share the start.
    slots_by_start: dict[datetime, tuple[tuple[int, datetime], ...]] = {}
    mornings: dict[tuple[datetime, str | None], datetime] = {}
    out: list[TopicSend] = []
    for pair in pairs:
        started = pair.started_at
        if pair.state != "active" or pair.round_name != name or started > now:
            continue
        candidates = slots_by_start.get(started)
        if candidates is None:
            first = first_topic(started, round)
            last = min(first + (now - started) // every, round.topic_count - 1)
            candidates = tuple(
                (k, started + (k - first) * every)
                for k in (last, last - 1)
                if k >= first and started + (k - first) * every < ends_at
            )
            slots_by_start[started] = candidates
        for m in _recipients(pair, now):
            zone = m.timezone
            for k, slot in candidates:
                not_before = mornings.get((slot, zone))
                if not_before is None:
                    not_before = mornings[(slot, zone)] = morning_after(slot, zone, topic_hour)
                if not_before > now:
                    continue  # not yet this recipient's morning: the previous one is latest
                if now < not_before + every and not_before < ends_at:
                    pair_id, pid = pair.pair_id, m.person_id
                    key = f"topic:{name}:{pair_id}:{k}:{pid}"
                    if key not in sent:
                        out.append(TopicSend(key, name, pair_id, pid, k, not_before, m.language))
                break
    return out


def checkin_at(pair: PairView, round: RoundView) -> datetime:
    """The midpoint between the pair's start and the round end."""
    return pair.started_at + (round.ends_at - pair.started_at) / 2


def checkin_due(
    pairs: Iterable[PairView],
    round: RoundView,
    now: datetime,
    topic_hour: int = 9,
    sent: Container[str] = frozenset(),
) -> list[CheckinSend]:
    """The mid-round check-in for each recipient whose check-in morning has come (see above)."""
    if now >= round.ends_at:
        return []
    out: list[CheckinSend] = []
    for pair in pairs:
        if pair.round_name != round.name or pair.started_at >= round.ends_at:
            continue
        at = checkin_at(pair, round)
        if at > now:
            continue
        for m in _recipients(pair, now):
            not_before = morning_after(at, m.timezone, topic_hour)
            if not_before > now or not_before >= round.ends_at:
                continue
            key = f"checkin:{round.name}:{pair.pair_id}:{m.person_id}"
            if key not in sent:
                out.append(
                    CheckinSend(key, round.name, pair.pair_id, m.person_id, not_before, m.language)
                )
    return out
