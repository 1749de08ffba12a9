"""The coordinators' weekly digest: what it says, and when it is due.

Must not: do I/O or read the clock.

- `counts` has every `State` (zeros included); `share_active` = active / *running* pairs, where
  running = not ended and not paused (a paused pair is not failing, an ended one is history);
  0.0 when nothing is running.
- `weekly` is the chart series: the caller's stored `history` points plus this week's point
  (replacing a stored point for the same week), oldest first. Weeks start on Monday 00:00 in the
  coordinators' zone (`DigestInputs.zone`); a point is (week_start, active, running).
  The series cannot be rebuilt from `last_wrote_at` alone, so the caller stores each digest's point.
- `flagged` lists only the pairs a person must decide about (`ladder.needs_judgement`: an
  exhausted pair the program does not resolve itself; quiet and one-sided pairs are the
  ladder's own business), each with how long (`silent_days`, `since`), who is silent, what
  the ladder already tried in this episode (`tried`, oldest first) and three one-reply actions
  (`LIAISE <pair> <text>`, `REMATCH <pair>`, `CLOSE <pair>`) that `domain.commands.parse_command`
  reads back. Longest silence first.
- Everything else is passed through from `DigestInputs` as the caller built it: bounces,
  withdrawals, REMATCH requests and SILENT reports for the coordinators, questions, deletions
  (a count only: no names of people who asked to be forgotten), new applications, unknown
  senders held, uncertain sends, survey results, the counts of what the program did itself.

Which items are listed (`select_news`): every item has a key (what it is about: "pair:12",
"question:3") and its news (what the digest would say about it). An item is listed when it
was never listed, or its news changed since it was; an open item whose news did not change is
not listed again, only counted (`unchanged`). An item that is no longer open (contact
resumed, the program rematched the pair, the question was answered, the sender of held mail
applied) is not listed, and its memory is forgotten (`resolved`): should it come back, it is
news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from mailbot.domain.ladder import (
    LadderRules,
    NudgeRecord,
    PairState,
    PairView,
    State,
    needs_judgement,
    pair_state,
)
from mailbot.domain.topics import zone_or_utc

LIAISE_TEXT = {
    "quiet": "Hello both, we noticed your partnership has gone quiet. How can we help?",
    "one_sided": "Hello, your partner has been writing to you. Could you reply this week?",
}


@dataclass(frozen=True, slots=True)
class WeekPoint:
    week_start: date  # Monday, in the coordinators' zone
    active: int
    total: int  # running pairs (not ended, not paused)


@dataclass(frozen=True)
class DigestInputs:
    """What the digest passes through unchanged; the caller reads it from the database."""

    zone: str = "UTC"  # the coordinators' zone (program.timezone)
    history: tuple[WeekPoint, ...] = ()
    bounces: tuple[object, ...] = ()
    withdrawals: tuple[object, ...] = ()
    # REMATCH requests the program could not carry out itself: each a mapping with name,
    # email and pair_id (their running pair, or None when nobody was free to pair them with)
    rematch_requests: tuple[Mapping[str, object], ...] = ()
    # SILENT / NO answers ("my partner does not answer"), in the same shape
    silent_reports: tuple[Mapping[str, object], ...] = ()
    deletions: int = 0
    applications: tuple[object, ...] = ()
    held: tuple[object, ...] = ()  # mail from unknown senders held for coordinators
    uncertain: tuple[object, ...] = ()  # sends whose outcome is unknown
    survey: Mapping[str, object] | None = None  # survey.survey_summary(...)
    questions: tuple[Mapping[str, object], ...] = ()  # open questions for a person to ANSWER
    # what the program did by itself this week, by kind (nudges, rematches, ...): counts only
    automatic: Mapping[str, int] = field(default_factory=dict)
    unchanged: int = 0  # open items listed before, without news: not listed again


@dataclass(frozen=True, slots=True)
class FlaggedPair:
    pair_id: int
    round_name: str
    state: State
    cause: str  # quiet | one_sided
    silent_days: int
    since: datetime
    silent: tuple[int, ...]
    tried: tuple[NudgeRecord, ...]
    flagged_at: datetime | None
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    now: datetime
    week_start: date
    counts: dict[str, int]
    total: int
    running: int
    share_active: float
    weekly: tuple[WeekPoint, ...]
    flagged: tuple[FlaggedPair, ...]
    extra: DigestInputs = field(default_factory=DigestInputs)

    @property
    def needs_attention(self) -> bool:
        """True when a coordinator has something to act on."""
        x = self.extra
        return bool(
            self.flagged
            or x.bounces
            or x.held
            or x.uncertain
            or x.questions
            or x.rematch_requests
            or x.silent_reports
        )


@dataclass(frozen=True, slots=True)
class Item:
    """Something the digest may list: `key` says what it is about, `news` what it says."""

    key: str
    news: str = ""


@dataclass(frozen=True)
class Selection:
    listed: frozenset[str]  # keys to list in this digest (and remember, with their news)
    unchanged: int  # open items listed before, without news: not listed
    resolved: frozenset[str]  # remembered keys no longer open: forget them


def select_news(items: Iterable[Item], remembered: Mapping[str, str]) -> Selection:
    """Which open `items` to list, given what earlier digests listed (key → news)."""
    current = {i.key: i.news for i in items}
    listed = frozenset(k for k, news in current.items() if remembered.get(k) != news)
    return Selection(
        listed=listed,
        unchanged=len(current) - len(listed),
        resolved=frozenset(k for k in remembered if k not in current),
    )


def pair_item(f: FlaggedPair) -> Item:
    """A flagged pair as an item: news when its episode, its silent members or what was tried
    change (not the number of days, which grows every day)."""
    tried = ",".join(t.kind for t in f.tried)
    silent = ",".join(str(i) for i in f.silent)
    return Item(f"pair:{f.pair_id}", f"{f.state.value}|{f.since.isoformat()}|{silent}|{tried}")


def week_start(now: datetime, zone: str) -> date:
    """The Monday of `now`'s week in `zone`."""
    local = now.astimezone(zone_or_utc(zone)).date()
    return local - timedelta(days=local.weekday())


def actions(pair_id: int, cause: str) -> tuple[str, ...]:
    text = LIAISE_TEXT.get(cause, LIAISE_TEXT["quiet"])
    return (f"LIAISE {pair_id} {text}", f"REMATCH {pair_id}", f"CLOSE {pair_id}")


def _flag(pair: PairView, st: PairState) -> FlaggedPair:
    if st.since is None:
        raise ValueError(f"pair {pair.pair_id} is {st.state.value} with no episode start")
    since = st.since
    tried = tuple(sorted((r for r in pair.nudges if r.at >= since), key=lambda r: r.at))
    return FlaggedPair(
        pair.pair_id,
        pair.round_name,
        st.state,
        st.cause,
        st.silent_days,
        since,
        st.silent,
        tried,
        pair.flagged_at,
        actions(pair.pair_id, st.cause),
    )


def build_digest(
    pairs: Iterable[PairView],
    now: datetime,
    ladder: LadderRules,
    extra: DigestInputs | None = None,
    states: Sequence[PairState] | None = None,
) -> Digest:
    """The digest at `now` (see the module docstring). `states` as in `ladder.decide_ladder`."""
    extra = extra or DigestInputs()
    pairs = list(pairs)
    if states is None:
        states = [pair_state(p, now, ladder) for p in pairs]
    counts = dict.fromkeys((s.value for s in State), 0)
    flagged: list[FlaggedPair] = []
    for pair, st in zip(pairs, states, strict=True):
        counts[st.state.value] += 1
        if needs_judgement(st, ladder):
            flagged.append(_flag(pair, st))
    total = len(pairs)
    running = total - counts[State.ENDED.value] - counts[State.PAUSED.value]
    active = counts[State.ACTIVE.value]
    share = active / running if running else 0.0
    this_week = week_start(now, extra.zone)
    points = {p.week_start: p for p in extra.history}
    points[this_week] = WeekPoint(this_week, active, running)
    order = sorted(points.values(), key=lambda p: p.week_start)

    def longest_first(f: FlaggedPair) -> tuple[int, int]:
        return (-f.silent_days, f.pair_id)

    return Digest(
        now=now,
        week_start=this_week,
        counts=counts,
        total=total,
        running=running,
        share_active=share,
        weekly=tuple(order),
        flagged=tuple(sorted(flagged, key=longest_first)),
        extra=extra,
    )


def last_slot(now: datetime, weekday: int, hour: int, zone: str) -> datetime:
    """The latest `weekday` (0 = Monday) `hour`:00 in `zone` at or before `now`, as UTC."""
    tz = zone_or_utc(zone)
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
    if slot > now:
        slot = datetime.combine(day - timedelta(days=7), time(hour), tzinfo=tz).astimezone(UTC)
    return slot


def digest_due(
    now: datetime, weekday: int, hour: int, zone: str, last_sent_at: datetime | None
) -> bool:
    """True when this week's slot has come and no digest was sent since it."""
    slot = last_slot(now, weekday, hour, zone)
    return last_sent_at is None or last_sent_at < slot
