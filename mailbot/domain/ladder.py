"""The stall ladder: what state each pair is in at `now`, and which nudges and flags are due.

Must not: do I/O or read the clock. Every function takes `now` (an aware UTC datetime) and plain
frozen data (`PairView`, `MemberView`, `NudgeRecord`) that the caller builds from the database.

Signals (what counts as contact)
- A member's *signal* is the latest of: the pair's start, the member's own `last_wrote_at` (real
  mail to the pair's tracking address, IN TOUCH, or a reply to the program's mail about the pair
  that is not a question -- `domain.contact`; the caller never counts an out-of-office reply, a
  bounce, a question or a command), the pair's `last_checkin_answer_at` (a positive answer to a
  nudge or check-in -- "we're in touch", YES -- vouches for every member), and the end of a
  finished pause (`paused_until` <= now restarts that member's clock).
- The *pair signal* is the latest member signal. Nudges we sent are never signals.

The rhythm
Silence is judged against the round's rhythm r (`PairView.rhythm_days`, the round's
`topic_every_days`; ILN: "be in touch at least every two weeks"). Partners who write every one
to two weeks, someone away a fortnight, or mail sent without the tracking address in Cc leave
gaps of 10-20 days that are normal, so each threshold left at 0 in the settings is derived
(`thresholds`): quiet = one_sided = 2r (the first nudge: two topics went by without a word),
second_nudge = 3r, stalled = 4r (r = 14: 28 / 42 / 56 days). A number set explicitly wins.

States, first match wins (`pair_state`)
1. ended   -- `pair.state` is "ended" or "closed", or fewer than two members are not withdrawn
              (a pair of one is for the withdrawal/rematch flow, not the ladder).
2. paused  -- `pair.state` is "paused", or fewer than two members are *engaged* (not withdrawn and
              not paused at `now`) -- "all members paused" generalised: nobody can talk to a
              paused partner, so nobody is nudged for it. A member whose `paused_until` has passed
              counts as engaged again even if the caller has not flipped `status` yet.
3. quiet   -- pair silence (now - pair signal) >= quiet; `silent` = every engaged member.
4. one_sided -- some engaged member *wrote* (`last_wrote_at`) less than one_sided ago while
              another engaged member's own silence is >= one_sided; `silent` = those,
              `writers` = the engaged members who are not silent.
5. active  -- anything else.
A quiet or one-sided pair is `stalled` -- *exhausted*: every automatic step failed -- when its
ladder clock (pair silence when quiet, the longest silent member's silence when one-sided)
reached stalled AND every silent member either had this episode's second nudge at least
`nudge_cooldown_days` ago (time to answer it), or cannot be reached (`bouncing`), or was told
at least as long ago that their partner's address fails (nothing they can do). A member whose
nudges were deferred (away) keeps the pair quiet or one-sided: nothing has failed yet.
`cause` says which ("quiet" | "one_sided"); `PairState.exhausted` is `state is STALLED`.
With `auto_resolve` (the default) an exhausted pair is the waiting pool's to resolve
(`flows.waiting_pool_job`: the writers rematched, the silent let go) and no coordinator flag is
raised; without it, one "stalled" flag per episode goes to the coordinators (`needs_judgement`).

The ladder (`decide_ladder`, `decide_nudges`), per pair that is quiet, one-sided or stalled, and
never in the pair's first `first_week_days`:
- clock >= first (quiet or one_sided): a first nudge -- "quiet" to every engaged member or
  "one_sided" to each silent member; both invite "reply IN TOUCH if you are" (mail written
  without the tracking address leaves no trace);
- clock >= second_nudge: "second" to each target whose first nudge of this episode is at least
  `nudge_cooldown_days` old (it had its time); a target with no first nudge gets the first now
  (a "second reminder" with no first one reads wrong);
- stalled: nothing more to the members; with `auto_resolve` off, one "stalled" flag to the
  coordinators (recipient None) unless the pair was already flagged this episode (`flagged_at`
  or a record).
A member whose address bounces (`bouncing`) is never nudged. In any pair that is not paused
or ended, from the first run that knows it (`bounce_notices`, first week or not): every other
engaged, non-bouncing member gets one "partner_bouncing" notice per episode, and, with
`auto_resolve` off, the coordinators one "partner_bouncing" flag (recipient None); a member told
is not nudged about the silence while the bounce lasts.
Always: never a paused, withdrawn or bouncing recipient; a member away (`away_until` > now) is
skipped and the skip is noted -- the nudge is deferred, not lost, because the clock keeps running;
a person who received anything from the ladder within `nudge_cooldown_days` gets nothing now
(at most one ladder mail per person per cooldown); a step already recorded for that person in
the current episode is never repeated.

An *episode* is one silent stretch: it starts at the signal the clock counts from, and that start
(`cycle`, a compact UTC stamp) is part of every key: f"nudge:{round}:{pair}:{kind}:{to}:{cycle}"
with `to` the person id or "coordinators". New contact starts a new episode and a new ladder.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

DAY = timedelta(days=1)


class LadderRules(Protocol):
    """The thresholds the ladder reads; `mailbot.settings.LadderSection` satisfies it.

    A silence threshold of 0 is derived from the pair's rhythm (`thresholds`)."""

    @property
    def quiet_days(self) -> int: ...
    @property
    def one_sided_days(self) -> int: ...
    @property
    def second_nudge_days(self) -> int: ...
    @property
    def stalled_days(self) -> int: ...
    @property
    def first_week_days(self) -> int: ...
    @property
    def nudge_cooldown_days(self) -> int: ...
    @property
    def auto_resolve(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The silence thresholds (days of the ladder clock) for one rhythm."""

    quiet: int
    one_sided: int
    second: int
    stalled: int


def thresholds(rules: LadderRules, rhythm_days: int) -> Thresholds:
    """The rules' thresholds, each one left at 0 derived from `rhythm_days` (module docstring)."""
    r = max(1, rhythm_days)
    return Thresholds(
        quiet=rules.quiet_days or 2 * r,
        one_sided=rules.one_sided_days or 2 * r,
        second=rules.second_nudge_days or 3 * r,
        stalled=rules.stalled_days or 4 * r,
    )


class State(enum.StrEnum):
    ACTIVE = "active"
    QUIET = "quiet"
    ONE_SIDED = "one_sided"
    STALLED = "stalled"  # exhausted: silent through both nudges (module docstring)
    PAUSED = "paused"
    ENDED = "ended"


class NudgeKind(enum.StrEnum):
    """What the ladder sends; the values are template names and log keys."""

    QUIET = "quiet"  # to every engaged member: "your pair has been quiet"
    ONE_SIDED = "one_sided"  # to the silent member of a one-sided pair
    SECOND = "second"  # the second reminder
    PARTNER_BOUNCING = "partner_bouncing"  # to the partner of a bouncing member, and coordinators
    STALLED = "stalled"  # to coordinators (auto_resolve off): liaise, rematch or close


FIRST_KINDS = frozenset({NudgeKind.QUIET, NudgeKind.ONE_SIDED})
_LADDER_STATES = frozenset({State.QUIET, State.ONE_SIDED, State.STALLED})
COORDINATORS = "coordinators"


@dataclass(frozen=True, slots=True)
class NudgeRecord:
    """Something the ladder already sent: kind, recipient (None = coordinators), when."""

    kind: str
    person_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class MemberView:
    person_id: int
    timezone: str | None  # IANA name; None = unknown (treated as UTC)
    language: str
    status: str  # active | paused | withdrawn
    paused_until: datetime | None
    away_until: datetime | None  # from an out-of-office reply
    bouncing: bool  # bounce score at or over the threshold
    last_wrote_at: datetime | None  # real mail only, never an auto-reply
    messages: int


@dataclass(frozen=True, slots=True)
class PairView:
    pair_id: int
    round_name: str
    started_at: datetime
    state: str  # active | paused | ended | closed
    members: tuple[MemberView, ...]  # 2 or 3
    nudges: tuple[NudgeRecord, ...] = ()
    flagged_at: datetime | None = None  # when coordinators were last told about this pair
    last_checkin_answer_at: datetime | None = None  # latest positive check-in/nudge answer
    ends_at: datetime | None = None  # the round's end: after it, the survey, not the ladder
    rhythm_days: int = 14  # the round's topic_every_days: silence is judged against it


@dataclass(frozen=True, slots=True)
class RoundView:
    name: str
    starts_at: datetime
    ends_at: datetime
    topic_every_days: int = 14
    topic_count: int = 9


@dataclass(frozen=True, slots=True)
class PairState:
    """Where a pair stands at one instant.

    `silent_days` is the ladder clock in whole days (0 when active/paused/ended); `since` the
    instant it counts from (the episode start); `silent` the members it is about (for a
    stalled pair: who stayed silent through both nudges); `cause` "quiet" or "one_sided" for
    quiet, one-sided and stalled pairs, else ""; `writers` the engaged members still writing
    in a one-sided or stalled one-sided pair (() when quiet).
    """

    pair_id: int
    state: State
    silent_days: int = 0
    since: datetime | None = None
    silent: tuple[int, ...] = ()
    cause: str = ""
    writers: tuple[int, ...] = ()

    @property
    def exhausted(self) -> bool:
        """Every automatic step failed: the waiting pool's to resolve (or the coordinators')."""
        return self.state is State.STALLED


@dataclass(frozen=True, slots=True)
class Nudge:
    """One mail the ladder decided: to a person, or to the coordinators when `person_id` is None.

    `about` names the members the mail is about (the silent or bouncing ones).
    """

    key: str
    kind: NudgeKind
    round_name: str
    pair_id: int
    person_id: int | None
    about: tuple[int, ...]
    silent_days: int
    cycle: str
    language: str = "en"  # the recipient's; "" for coordinators
    cause: str = ""  # for silence nudges: "quiet" (nobody wrote) or "one_sided" (they did not)


@dataclass(frozen=True, slots=True)
class Skip:
    """A nudge the ladder would have sent but did not, and why (for the log and the digest)."""

    pair_id: int
    person_id: int | None
    kind: NudgeKind
    reason: str  # away_until … | cooldown | bouncing | partner_bouncing | first_week


@dataclass(frozen=True)
class LadderDecision:
    states: tuple[PairState, ...]
    nudges: tuple[Nudge, ...]
    skips: tuple[Skip, ...]


# ---------------------------------------------------------------------------- member facts


def paused_at(status: str, paused_until: datetime | None, now: datetime) -> bool:
    """Paused at `now`: status paused and no `paused_until` in the past (a pause ends by
    itself; the stored status may still say "paused")."""
    return status == "paused" and (paused_until is None or paused_until > now)


def is_paused(m: MemberView, now: datetime) -> bool:
    return paused_at(m.status, m.paused_until, now)


def is_engaged(m: MemberView, now: datetime) -> bool:
    """Expected to be talking: not withdrawn, not paused at `now`."""
    return m.status != "withdrawn" and not is_paused(m, now)


def is_away(m: MemberView, now: datetime) -> bool:
    return m.away_until is not None and m.away_until > now


def member_signal(m: MemberView, pair: PairView, now: datetime) -> datetime:
    """The instant this member's silence counts from (see the module docstring)."""
    signal = pair.started_at
    if m.last_wrote_at is not None and m.last_wrote_at > signal:
        signal = m.last_wrote_at
    answer = pair.last_checkin_answer_at
    if answer is not None and answer > signal:
        signal = answer
    if m.paused_until is not None and signal < m.paused_until <= now:
        signal = m.paused_until
    return signal


def _days(delta: timedelta) -> int:
    return delta // DAY


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S")


# ---------------------------------------------------------------------------- states


def pair_state(pair: PairView, now: datetime, ladder: LadderRules) -> PairState:
    """The pair's state at `now` (rules in the module docstring)."""
    pid = pair.pair_id
    if pair.state in ("ended", "closed"):
        return PairState(pid, State.ENDED)
    present: list[MemberView] = []
    engaged = 0
    for m in pair.members:
        if m.status != "withdrawn":
            present.append(m)
            if is_engaged(m, now):
                engaged += 1
    if len(present) < 2:
        return PairState(pid, State.ENDED)
    if pair.state == "paused" or engaged < 2:
        return PairState(pid, State.PAUSED)
    t = thresholds(ladder, pair.rhythm_days)
    signals = [member_signal(m, pair, now) for m in present]
    one_sided_cut = now - t.one_sided * DAY
    if min(signals) > one_sided_cut and min(signals) > now - t.quiet * DAY:
        return PairState(pid, State.ACTIVE)  # fast path: nobody silent long enough to matter
    latest = max(signals)
    quiet = _days(now - latest)
    if quiet >= t.quiet:
        silent = tuple(m for m in present if is_engaged(m, now))
        ids = tuple(m.person_id for m in silent)
        state = State.QUIET
        if quiet >= t.stalled and _exhausted(pair, silent, [latest] * len(silent), now, ladder):
            state = State.STALLED
        return PairState(pid, state, quiet, latest, ids, "quiet")
    wrote = any(
        m.last_wrote_at is not None
        and one_sided_cut < m.last_wrote_at <= now
        and is_engaged(m, now)
        for m in present
    )
    if not wrote:
        return PairState(pid, State.ACTIVE)
    silent_members: list[MemberView] = []
    since_each: list[datetime] = []
    writers: list[int] = []
    longest = 0
    since = latest
    for m, signal in zip(present, signals, strict=True):
        if not is_engaged(m, now):
            continue
        if signal > one_sided_cut:
            writers.append(m.person_id)
            continue
        silent_members.append(m)
        since_each.append(signal)
        days = _days(now - signal)
        if days >= longest:
            longest, since = days, signal
    if not silent_members:
        return PairState(pid, State.ACTIVE)
    state = State.ONE_SIDED
    if longest >= t.stalled and _exhausted(pair, silent_members, since_each, now, ladder):
        state = State.STALLED
    ids = tuple(m.person_id for m in silent_members)
    return PairState(pid, state, longest, since, ids, "one_sided", tuple(writers))


def _exhausted(
    pair: PairView,
    silent: Sequence[MemberView],
    since: Sequence[datetime],
    now: datetime,
    ladder: LadderRules,
) -> bool:
    """Every silent member cannot be reached (bouncing), or had long enough ago (a cooldown)
    this episode's second nudge, or the notice that their partner's address fails (nothing
    they can do)."""
    answered_by = now - ladder.nudge_cooldown_days * DAY
    bounce = any(m.bouncing for m in pair.members)
    for m, start in zip(silent, since, strict=True):
        if m.bouncing:
            continue
        if not any(
            r.person_id == m.person_id
            and r.at <= answered_by
            and (
                (r.kind == NudgeKind.SECOND and start <= r.at)
                or (bounce and r.kind == NudgeKind.PARTNER_BOUNCING)
            )
            for r in pair.nudges
        ):
            return False
    return True


def needs_judgement(st: PairState, ladder: LadderRules) -> bool:
    """Whether a person must decide about this pair: an exhausted pair the program does not
    resolve itself (`auto_resolve` off). Quiet and one-sided pairs are the ladder's business."""
    return st.state is State.STALLED and not ladder.auto_resolve


def exhausted_pairs(
    pairs: Iterable[PairView],
    now: datetime,
    ladder: LadderRules,
    states: Sequence[PairState] | None = None,
) -> list[PairState]:
    """The pairs whose every automatic step failed at `now` (state STALLED), in input order.

    `states`, when given, must be `pair_state` of the same pairs in the same order."""
    pairs = list(pairs)
    if states is None:
        states = [pair_state(p, now, ladder) for p in pairs]
    return [st for st in states if st.state is State.STALLED]


def pair_states(pairs: Iterable[PairView], now: datetime, ladder: LadderRules) -> list[PairState]:
    return [pair_state(p, now, ladder) for p in pairs]


# ---------------------------------------------------------------------------- the ladder


def _key(pair: PairView, kind: NudgeKind, to: int | None, cycle: str) -> str:
    who = COORDINATORS if to is None else str(to)
    return f"nudge:{pair.round_name}:{pair.pair_id}:{kind.value}:{who}:{cycle}"


class _Ladder:
    """Decides one pair; collects nudges and skips into shared lists."""

    __slots__ = ("cooldown", "ladder", "now", "nudges", "skips", "stamps")

    def __init__(self, now: datetime, ladder: LadderRules) -> None:
        self.now = now
        self.ladder = ladder
        self.cooldown = ladder.nudge_cooldown_days * DAY
        self.nudges: list[Nudge] = []
        self.skips: list[Skip] = []
        self.stamps: dict[datetime, str] = {}

    def stamp(self, at: datetime) -> str:
        """`_stamp(at)`, memoised: many pairs share an episode start (the round start)."""
        got = self.stamps.get(at)
        if got is None:
            got = self.stamps[at] = _stamp(at)
        return got

    def bounce_notices(self, pair: PairView, st: PairState) -> set[int]:
        """A member's address fails: each engaged partner hears it once per episode, as soon as
        it is known (the first week and the pair's silence do not matter), and the coordinators
        get one flag. Returns the ids told now."""
        if st.state in (State.PAUSED, State.ENDED) or self.now < pair.started_at:
            return set()
        engaged = [m for m in pair.members if is_engaged(m, self.now)]
        bouncing = [m for m in engaged if m.bouncing]
        return self._bouncing(pair, st, engaged, bouncing) if bouncing else set()

    def pair(self, pair: PairView, st: PairState, told: set[int]) -> None:
        """The silence ladder; `told` heard of a partner's failing address in this run."""
        if st.state not in _LADDER_STATES or st.since is None:
            return
        now, ladder = self.now, self.ladder
        if now - pair.started_at < ladder.first_week_days * DAY:
            self.skips.append(Skip(pair.pair_id, None, NudgeKind.QUIET, "first_week"))
            return
        by_id = {m.person_id: m for m in pair.members}
        if st.state is State.STALLED:
            if not ladder.auto_resolve:
                self._stalled(pair, st, [by_id[pid] for pid in st.silent])
            return  # exhausted: the waiting pool resolves it (or the coordinators)
        t = thresholds(ladder, pair.rhythm_days)
        if st.cause == "quiet":
            first_kind, first = NudgeKind.QUIET, t.quiet
            targets = [(by_id[pid], st.since, st.silent_days) for pid in st.silent]
        else:
            first_kind, first = NudgeKind.ONE_SIDED, t.one_sided
            targets = []
            for pid in st.silent:
                m = by_id[pid]
                since = member_signal(m, pair, now)
                targets.append((m, since, _days(now - since)))
        # A member already told that their partner's address fails is not nudged about the
        # silence while it lasts: nothing they do can fix it.
        warned = (
            {r.person_id for r in pair.nudges if r.kind == NudgeKind.PARTNER_BOUNCING}
            if any(m.bouncing for m in pair.members)
            else set()
        )
        for m, since, days in targets:
            if m.person_id in told:
                continue  # the partner_bouncing notice replaces this member's nudge
            if m.person_id in warned:
                self.skips.append(Skip(pair.pair_id, m.person_id, first_kind, "partner_bouncing"))
                continue
            if m.bouncing:
                if days < t.second:
                    self.skips.append(Skip(pair.pair_id, m.person_id, first_kind, "bouncing"))
                continue
            if days < first:
                continue
            episode = [r for r in pair.nudges if r.person_id == m.person_id and r.at >= since]
            if any(r.kind == NudgeKind.SECOND for r in episode):
                continue  # both nudges done: the pair waits for contact or exhaustion
            if any(r.kind in FIRST_KINDS for r in episode):
                if days < t.second:
                    continue  # this episode's first nudge is done; the second waits for its day
                kind = NudgeKind.SECOND  # `_send`'s cooldown gives the first its time
            else:
                kind = first_kind
            about = st.silent if st.cause == "quiet" else (m.person_id,)
            self._send(pair, m, kind, since, days, about, st.cause)

    def _send(
        self,
        pair: PairView,
        m: MemberView,
        kind: NudgeKind,
        since: datetime,
        days: int,
        about: tuple[int, ...],
        cause: str = "",
    ) -> bool:
        now = self.now
        if m.away_until is not None and m.away_until > now:
            reason = f"away_until {m.away_until.isoformat()}"
            self.skips.append(Skip(pair.pair_id, m.person_id, kind, reason))
            return False
        if any(
            r.person_id == m.person_id and now - self.cooldown < r.at <= now for r in pair.nudges
        ):
            self.skips.append(Skip(pair.pair_id, m.person_id, kind, "cooldown"))
            return False
        cycle = self.stamp(since)
        self.nudges.append(
            Nudge(
                _key(pair, kind, m.person_id, cycle),
                kind,
                pair.round_name,
                pair.pair_id,
                m.person_id,
                about,
                days,
                cycle,
                m.language,
                cause,
            )
        )
        return True

    def _bouncing(
        self,
        pair: PairView,
        st: PairState,
        engaged: Sequence[MemberView],
        bouncing: Sequence[MemberView],
    ) -> set[int]:
        """Tell the bouncing members' partners and the coordinators; the ids told now."""
        # Never after now: a record made now must close this episode (dates can be skewed).
        since = min(self.now, *(member_signal(m, pair, self.now) for m in bouncing))
        about = tuple(m.person_id for m in bouncing)
        kind = NudgeKind.PARTNER_BOUNCING
        done = {r.person_id for r in pair.nudges if r.kind == kind and r.at >= since}
        cycle = self.stamp(since)
        told: set[int] = set()
        for m in engaged:
            if m.bouncing:
                continue
            if m.person_id not in done and self._send(pair, m, kind, since, st.silent_days, about):
                told.add(m.person_id)  # the notice replaces this run's nudge; cooldown the next
        if None not in done and not self.ladder.auto_resolve:
            self._flag(pair, kind, about, st.silent_days, cycle)
        return told

    def _flag(
        self, pair: PairView, kind: NudgeKind, about: tuple[int, ...], days: int, cycle: str
    ) -> None:
        """A step addressed to the coordinators (no person, no language)."""
        key = _key(pair, kind, None, cycle)
        self.nudges.append(
            Nudge(key, kind, pair.round_name, pair.pair_id, None, about, days, cycle, "")
        )

    def _stalled(self, pair: PairView, st: PairState, silent: Sequence[MemberView]) -> None:
        """One flag per episode to the coordinators (auto_resolve off)."""
        if st.since is None:
            return
        kind = NudgeKind.STALLED
        since = st.since
        if (pair.flagged_at is not None and pair.flagged_at >= since) or any(
            r.kind == kind and r.person_id is None and r.at >= since for r in pair.nudges
        ):
            return  # coordinators already own it
        about = tuple(m.person_id for m in silent)
        self._flag(pair, kind, about, st.silent_days, self.stamp(since))


def decide_ladder(
    pairs: Iterable[PairView],
    now: datetime,
    ladder: LadderRules,
    states: Sequence[PairState] | None = None,
) -> LadderDecision:
    """States, nudges and noted skips for every pair at `now`.

    `states`, when given, must be `pair_state` of the same pairs in the same order (saves
    recomputing them in a tick that already has them).
    """
    pairs = list(pairs)
    if states is None:
        states = [pair_state(p, now, ladder) for p in pairs]
    run = _Ladder(now, ladder)
    for pair, st in zip(pairs, states, strict=True):
        if pair.ends_at is not None and now >= pair.ends_at:
            continue  # the round is over: its pairs hear from the survey, not the ladder
        told = run.bounce_notices(pair, st)
        if st.state in _LADDER_STATES:
            run.pair(pair, st, told)
    return LadderDecision(tuple(states), tuple(run.nudges), tuple(run.skips))


def decide_nudges(
    pairs: Iterable[PairView],
    now: datetime,
    ladder: LadderRules,
    states: Sequence[PairState] | None = None,
) -> list[Nudge]:
    """The nudges and coordinator flags due at `now` (see `decide_ladder` for the skips)."""
    return list(decide_ladder(pairs, now, ladder, states).nudges)


# ---------------------------------------------------------------------------- next round


def silent_cycles(
    member: MemberView, round: RoundView, now: datetime, pair_start: datetime | None = None
) -> int:
    """Whole topic cycles (`topic_every_days`) this member has been silent up to `now`.

    Counted from the latest of the round start, the start of their pair (`pair_start`: someone
    rematched late in the round was not silent before it) and the member's `last_wrote_at`, up
    to the earlier of `now` and the round end. A member paused at `now` counts 0 (asking for a
    pause is contact); a withdrawn member counts as usual (the caller does not rematch them).
    """
    if is_paused(member, now):
        return 0
    start = max(round.starts_at, pair_start or round.starts_at)
    if member.last_wrote_at is not None and member.last_wrote_at > start:
        start = member.last_wrote_at
    if member.paused_until is not None and start < member.paused_until <= now:
        start = member.paused_until
    end = min(now, round.ends_at)
    if end <= start:
        return 0
    return (end - start) // (round.topic_every_days * DAY)
