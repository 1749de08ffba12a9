"""The stall ladder at fixed instants: states, nudges, skips, idempotency, next-round exclusion."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain.eligibility import exclusion_code, why_not_matchable
from mailbot.domain.ladder import (
    LadderDecision,
    MemberView,
    Nudge,
    NudgeKind,
    NudgeRecord,
    PairView,
    RoundView,
    State,
    Thresholds,
    decide_ladder,
    decide_nudges,
    exhausted_pairs,
    needs_judgement,
    pair_state,
    silent_cycles,
    thresholds,
)
from mailbot.settings import LadderSection
from tests.support.views import START, member, pair

# The mechanics are tested with explicit thresholds (the numbers before issue 12: explicit
# settings still win) and coordinator flags on; the rhythm-derived defaults and automatic
# resolution have their own tests below (`RHYTHM`).
LADDER = LadderSection(
    quiet_days=14, one_sided_days=10, second_nudge_days=21, stalled_days=28, auto_resolve=False
)
RHYTHM = LadderSection()
ROUND = RoundView("2024A", START, START + timedelta(days=120), 14, 9)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def record(nudges: list[Nudge], at: datetime) -> tuple[NudgeRecord, ...]:
    return tuple(NudgeRecord(n.kind.value, n.person_id, at) for n in nudges)


def burst(p: PairView, until: float, every_hours: int = 6) -> list[tuple[float, str, object]]:
    """Run the ladder every few hours from day 0 to `until`, recording what it sends, as a
    daemon would; returns (day, kind, recipient or "coord") for every nudge decided."""
    sent: list[tuple[float, str, object]] = []
    t = 0.0
    while t <= until:
        nudges = decide_nudges([p], day(t), LADDER)
        for n in nudges:
            sent.append((t, n.kind.value, n.person_id if n.person_id is not None else "coord"))
        if nudges:
            p = dataclasses.replace(p, nudges=p.nudges + record(nudges, day(t)))
        t += every_hours / 24
    return sent


# ------------------------------------------------------------------------------- states

SECONDS_21 = tuple(NudgeRecord(NudgeKind.SECOND.value, to, day(21)) for to in (1, 2))

STATE_TABLE = [
    # (name, pair, at day, expected state, silent days, silent members)
    ("new pair, nobody wrote", pair(), 5, State.ACTIVE, 0, ()),
    ("13 days silent is still active", pair(), 13.9, State.ACTIVE, 0, ()),
    ("14 days from the start: quiet", pair(), 14, State.QUIET, 14, (1, 2)),
    (
        "14 days from the last signal",
        pair(member(1, last_wrote_at=day(10)), member(2)),
        24,
        State.QUIET,
        14,
        (1, 2),
    ),
    (
        "a positive check-in answer vouches for both",
        pair(member(1), member(2), last_checkin_answer_at=day(12)),
        20,
        State.ACTIVE,
        0,
        (),
    ),
    (
        "one writes, the other silent 10+ days",
        pair(member(1, last_wrote_at=day(9)), member(2)),
        10,
        State.ONE_SIDED,
        10,
        (2,),
    ),
    (
        "the writer's last mail 10+ days ago: not one-sided (quiet at 14 instead)",
        pair(member(1, last_wrote_at=day(2)), member(2)),
        12.5,
        State.ACTIVE,
        0,
        (),
    ),
    (
        "trio: two talk, one silent",
        pair(
            member(1, last_wrote_at=day(20)),
            member(2, last_wrote_at=day(19)),
            member(3, last_wrote_at=day(3)),
        ),
        21,
        State.ONE_SIDED,
        18,
        (3,),
    ),
    ("28 days quiet, nothing tried yet: still quiet", pair(), 28, State.QUIET, 28, (1, 2)),
    (
        "28 days quiet, both silent through the second nudge: stalled (exhausted)",
        pair(nudges=SECONDS_21),
        28,
        State.STALLED,
        28,
        (1, 2),
    ),
    (
        "the second nudge not a cooldown old yet: not exhausted",
        pair(nudges=SECONDS_21),
        27.9,
        State.QUIET,
        27,
        (1, 2),
    ),
    (
        "one-sided for 28 days, silent through the second nudge: stalled",
        pair(member(1, last_wrote_at=day(27)), member(2), nudges=SECONDS_21[1:]),
        28,
        State.STALLED,
        28,
        (2,),
    ),
    ("pair paused", pair(state="paused"), 40, State.PAUSED, 0, ()),
    (
        "duo with one paused member: paused (nobody to talk to)",
        pair(member(1), member(2, status="paused", paused_until=day(60))),
        40,
        State.PAUSED,
        0,
        (),
    ),
    (
        "trio with one paused: the two others still count",
        pair(member(1), member(2), member(3, status="paused")),
        15,
        State.QUIET,
        15,
        (1, 2),
    ),
    (
        "a pause that ended restarts the clock",
        pair(member(1), member(2, status="paused", paused_until=day(20))),
        30,
        State.ACTIVE,
        0,
        (),
    ),
    ("closed", pair(state="closed"), 40, State.ENDED, 0, ()),
    ("ended", pair(state="ended"), 40, State.ENDED, 0, ()),
    (
        "a pair of one (partner withdrew) is not the ladder's",
        pair(member(1), member(2, status="withdrawn")),
        40,
        State.ENDED,
        0,
        (),
    ),
    (
        "an out-of-office reply is not activity: still quiet",
        pair(member(1), member(2, away_until=day(30))),
        15,
        State.QUIET,
        15,
        (1, 2),
    ),
]


@pytest.mark.parametrize(
    ("name", "p", "at", "state", "days", "silent"), STATE_TABLE, ids=[r[0] for r in STATE_TABLE]
)
def test_pair_state(
    name: str, p: PairView, at: float, state: State, days: int, silent: tuple[int, ...]
) -> None:
    got = pair_state(p, day(at), LADDER)
    assert (got.state, got.silent_days, got.silent) == (state, days, silent)


# ------------------------------------------------------------------------------- the ladder


def test_quiet_pair_full_ladder() -> None:
    """Nobody ever writes: quiet nudge to both at 14, second at 21, coordinators at 28, then
    nothing more -- however often the daemon wakes up."""
    assert burst(pair(), 60) == [
        (14, "quiet", 1),
        (14, "quiet", 2),
        (21, "second", 1),
        (21, "second", 2),
        (28, "stalled", "coord"),
    ]


def test_quiet_nudge_not_repeated_within_cooldown() -> None:
    p = pair()
    first = decide_nudges([p], day(14), LADDER)
    assert [(n.kind, n.person_id) for n in first] == [(NudgeKind.QUIET, 1), (NudgeKind.QUIET, 2)]
    p = dataclasses.replace(p, nudges=record(first, day(14)))
    for t in (14, 14.5, 17, 20.99):
        assert decide_nudges([p], day(t), LADDER) == []


def test_one_sided_silent_partner_nudged() -> None:
    """Alice writes every few days; Bob never answers: Bob alone is nudged at his day 10,
    second at 21, and coordinators flagged at 28."""
    p = pair(member(1, last_wrote_at=day(9)), member(2))
    got = decide_nudges([p], day(10), LADDER)
    assert [(n.kind, n.person_id, n.about) for n in got] == [(NudgeKind.ONE_SIDED, 2, (2,))]
    p = dataclasses.replace(p, nudges=record(got, day(10)))
    p = dataclasses.replace(p, members=(member(1, last_wrote_at=day(20)), member(2)))
    second = decide_nudges([p], day(21), LADDER)
    assert [(n.kind, n.person_id) for n in second] == [(NudgeKind.SECOND, 2)]
    p = dataclasses.replace(p, nudges=p.nudges + record(second, day(21)))
    p = dataclasses.replace(p, members=(member(1, last_wrote_at=day(27)), member(2)))
    flag = decide_nudges([p], day(28), LADDER)
    assert [(n.kind, n.person_id, n.about) for n in flag] == [(NudgeKind.STALLED, None, (2,))]


def test_day_21_without_a_first_nudge_sends_the_first() -> None:
    """After an outage the ladder does not send a 'second reminder' that had no first."""
    got = decide_nudges([pair()], day(22), LADDER)
    assert {n.kind for n in got} == {NudgeKind.QUIET}


def test_stalled_flag_once_and_flagged_at_suppresses() -> None:
    done = pair(nudges=SECONDS_21)
    assert [n.kind for n in decide_nudges([done], day(30), LADDER)] == [NudgeKind.STALLED]
    assert decide_nudges([pair(flagged_at=day(29), nudges=SECONDS_21)], day(30), LADDER) == []
    # a flag from an earlier episode does not count
    seconds = tuple(NudgeRecord(NudgeKind.SECOND.value, to, day(26)) for to in (1, 2))
    earlier = pair(member(1, last_wrote_at=day(5)), member(2), flagged_at=day(3), nudges=seconds)
    assert [n.kind for n in decide_nudges([earlier], day(34), LADDER)] == [NudgeKind.STALLED]


def test_a_stalled_clock_without_nudges_still_nudges() -> None:
    """After an outage (day 30, nothing sent): the first nudge, not a flag -- nothing
    automatic has failed yet."""
    assert {n.kind for n in decide_nudges([pair()], day(30), LADDER)} == {NudgeKind.QUIET}


def test_paused_member_suppresses() -> None:
    duo = pair(member(1), member(2, status="paused"))
    assert decide_nudges([duo], day(14), LADDER) == []
    assert decide_nudges([duo], day(40), LADDER) == []
    trio = pair(member(1), member(2), member(3, status="paused"))
    assert [n.person_id for n in decide_nudges([trio], day(14), LADDER)] == [1, 2]
    assert decide_nudges([pair(state="paused")], day(30), LADDER) == []


def test_withdrawn_never_nudged() -> None:
    trio = pair(member(1), member(2), member(3, status="withdrawn"))
    assert [n.person_id for n in decide_nudges([trio], day(14), LADDER)] == [1, 2]


def test_out_of_office_defers_the_nudge() -> None:
    """Bob's auto-reply says he is away until day 25: Alice is nudged at 14, Bob's nudge is noted
    as skipped, and he gets it when he is back (his clock never stopped)."""
    p = pair(member(1), member(2, away_until=day(25)))
    d = decide_ladder([p], day(14), LADDER)
    assert [(n.kind, n.person_id) for n in d.nudges] == [(NudgeKind.QUIET, 1)]
    assert [(s.person_id, s.kind, s.reason.split()[0]) for s in d.skips] == [
        (2, NudgeKind.QUIET, "away_until")
    ]
    sent = burst(p, 40)
    assert sent == [
        (14, "quiet", 1),
        (21, "second", 1),
        (25, "quiet", 2),  # back: his first nudge, not a "second" he never had a first of
        (32, "second", 2),  # a cooldown after his first
        (39, "stalled", "coord"),  # exhausted once his second had its time
    ]


def test_no_stall_while_the_silent_member_is_away_and_unnudged() -> None:
    """Bob is away (auto-reply) past the stall day: his nudges wait for him, and the pair is
    not exhausted before he had both of them."""
    p = pair(member(1, last_wrote_at=day(27)), member(2, away_until=day(35)))
    d = decide_ladder([p], day(29), LADDER)
    assert d.nudges == ()
    assert [(s.kind, s.reason.split()[0]) for s in d.skips] == [(NudgeKind.ONE_SIDED, "away_until")]
    assert pair_state(p, day(29), LADDER).state is State.ONE_SIDED
    assert [n.kind for n in decide_nudges([p], day(35), LADDER)] == [NudgeKind.ONE_SIDED]


def test_bouncing_partner_notice_at_once_and_no_nudges_about_the_silence() -> None:
    """Bob's address bounces: he is never nudged; Alice hears at once (first week or not) that
    his address is failing and the coordinators get a flag; she gets no reminder about a
    silence she cannot end; the stall still reaches the coordinators."""
    p = pair(member(1), member(2, bouncing=True))
    d0 = decide_ladder([p], day(0), LADDER)
    assert [(n.kind, n.person_id, n.about) for n in d0.nudges] == [
        (NudgeKind.PARTNER_BOUNCING, 1, (2,)),
        (NudgeKind.PARTNER_BOUNCING, None, (2,)),
    ]
    assert burst(p, 40) == [
        (0, "partner_bouncing", 1),
        (0, "partner_bouncing", "coord"),
        (28, "stalled", "coord"),
    ]


def test_bounce_notice_waits_for_an_away_partner_and_skips_paused_pairs() -> None:
    away = pair(member(1, away_until=day(3)), member(2, bouncing=True))
    assert [(n.kind, n.person_id) for n in decide_nudges([away], day(1), LADDER)] == [
        (NudgeKind.PARTNER_BOUNCING, None)
    ]
    assert (NudgeKind.PARTNER_BOUNCING, 1) in [
        (n.kind, n.person_id) for n in decide_nudges([away], day(3), LADDER)
    ]
    withdrawn = pair(member(1, status="withdrawn"), member(2, bouncing=True), member(3))
    assert [n.person_id for n in decide_nudges([withdrawn], day(1), LADDER)] == [3, None]
    both = pair(member(1, bouncing=True), member(2, bouncing=True))
    assert [n.person_id for n in decide_nudges([both], day(1), LADDER)] == [None]
    paused = pair(
        member(1, status="paused", paused_until=day(20)),
        member(2, status="paused", bouncing=True, paused_until=day(20)),
    )
    assert decide_nudges([paused], day(1), LADDER) == []


def test_partner_told_of_a_bounce_is_not_nudged_about_the_silence() -> None:
    """Alice heard on day 4 that Bob's mail fails (and the coordinators were flagged): no quiet
    or second reminder to her while it lasts, no second notice; the stall still comes."""
    told = tuple(NudgeRecord(NudgeKind.PARTNER_BOUNCING.value, to, day(4)) for to in (1, None))
    p = pair(member(1), member(2, bouncing=True), nudges=told)
    d14 = decide_ladder([p], day(14), LADDER)
    assert d14.nudges == ()
    assert (1, "partner_bouncing") in [(s.person_id, s.reason) for s in d14.skips]
    assert [(n.kind, n.person_id) for n in decide_nudges([p], day(28), LADDER)] == [
        (NudgeKind.STALLED, None),
    ]


def test_one_sided_bouncing_silent_member() -> None:
    p = pair(member(1, last_wrote_at=day(20)), member(2, bouncing=True))
    got = decide_nudges([p], day(21), LADDER)
    assert [(n.kind, n.person_id) for n in got] == [
        (NudgeKind.PARTNER_BOUNCING, 1),
        (NudgeKind.PARTNER_BOUNCING, None),
    ]


def test_first_week_silence_nothing() -> None:
    eager = LadderSection(quiet_days=3, one_sided_days=2, second_nudge_days=5, stalled_days=6)
    p = pair()
    assert pair_state(p, day(6.5), eager).state is State.QUIET  # clock past stall, no nudge
    d = decide_ladder([p], day(6.5), eager)
    assert d.nudges == ()
    assert [s.reason for s in d.skips] == ["first_week"]
    assert decide_nudges([p], day(7), eager) != []


def test_new_contact_starts_a_new_episode() -> None:
    """Quiet at 14, nudged; they write on day 15; quiet again at 29: a fresh quiet nudge with a
    different cycle in its key."""
    p = pair()
    first = decide_nudges([p], day(14), LADDER)
    p = dataclasses.replace(
        p,
        nudges=record(first, day(14)),
        members=(member(1, last_wrote_at=day(15)), member(2, last_wrote_at=day(15))),
    )
    again = decide_nudges([p], day(29), LADDER)
    assert [n.kind for n in again] == [NudgeKind.QUIET, NudgeKind.QUIET]
    assert {n.key for n in again}.isdisjoint({n.key for n in first})
    assert again[0].key == "nudge:2024A:7:quiet:1:20240319T000000"


def test_idempotent_reruns() -> None:
    """Same instant, no records yet: the same keys (the outbox dedupes). With the records: nothing
    at the same or any later instant within the step."""
    pairs = [
        pair(pair_id=1),
        pair(member(1, last_wrote_at=day(9)), member(2), pair_id=2),
        pair(member(3), member(4, bouncing=True), pair_id=3),
    ]
    for at in (day(14), day(21), day(28)):
        a = decide_nudges(pairs, at, LADDER)
        b = decide_nudges(pairs, at, LADDER)
        assert a == b and a
        recorded = [
            dataclasses.replace(p, nudges=record([n for n in a if n.pair_id == p.pair_id], at))
            for p in pairs
        ]
        assert decide_nudges(recorded, at, LADDER) == []
        assert decide_nudges(recorded, at + timedelta(hours=6), LADDER) == []


def test_states_can_be_passed_in() -> None:
    pairs = [pair(pair_id=i) for i in range(3)]
    states = [pair_state(p, day(14), LADDER) for p in pairs]
    assert decide_nudges(pairs, day(14), LADDER, states) == decide_nudges(pairs, day(14), LADDER)


# ------------------------------------------------------------------------------- next round


@pytest.mark.parametrize(
    ("m", "at", "cycles", "matchable"),
    [
        (member(1), 13, 0, True),
        (member(1), 42, 3, False),
        (member(1, last_wrote_at=day(100)), 120, 1, True),
        (member(1, last_wrote_at=day(10)), 200, 7, False),  # counted to the round end
        (member(1, status="paused"), 100, 0, True),
        (member(1, last_wrote_at=day(1)), 43, 3, False),
    ],
)
def test_silent_cycles(m: MemberView, at: float, cycles: int, matchable: bool) -> None:
    counted = silent_cycles(m, ROUND, day(at))
    assert counted == cycles
    why = why_not_matchable("active", None, False, counted, False, day(at), LADDER)
    assert (why == "") is matchable
    assert why_not_matchable("active", None, False, counted, True, day(at), LADDER) == ""


@pytest.mark.parametrize(
    ("status", "paused_until", "bouncing", "why"),
    [
        ("withdrawn", None, False, "withdrawn"),
        ("paused", None, False, "paused"),
        ("paused", day(50), False, "paused"),
        ("paused", day(20), False, ""),  # the pause is over
        ("active", None, True, "their address bounces"),
        ("withdrawn", None, True, "withdrawn"),  # the first reason is given
    ],
)
def test_why_not_matchable(
    status: str, paused_until: datetime | None, bouncing: bool, why: str
) -> None:
    assert why_not_matchable(status, paused_until, bouncing, 0, False, day(30), LADDER) == why


# ------------------------------------------------------------------------------- properties

instants = st.floats(min_value=0, max_value=130).map(day)
maybe_instant = st.none() | instants


@st.composite
def members(draw: st.DrawFn, pid: int) -> MemberView:
    return member(
        pid,
        status=draw(st.sampled_from(["active", "active", "paused", "withdrawn"])),
        paused_until=draw(maybe_instant),
        away_until=draw(maybe_instant),
        bouncing=draw(st.booleans()),
        last_wrote_at=draw(maybe_instant),
    )


@st.composite
def pairs(draw: st.DrawFn) -> list[PairView]:
    out = []
    n = draw(st.integers(1, 6))
    pid = 0
    for i in range(n):
        size = draw(st.sampled_from([2, 2, 3]))
        ms = []
        for _ in range(size):
            pid += 1
            ms.append(draw(members(pid)))
        recs = draw(
            st.lists(
                st.builds(
                    NudgeRecord,
                    st.sampled_from([k.value for k in NudgeKind]),
                    st.sampled_from([None, *(m.person_id for m in ms)]),
                    instants,
                ),
                max_size=4,
            )
        )
        out.append(
            pair(
                *ms,
                pair_id=i,
                started_at=draw(st.floats(0, 20).map(day)),
                state=draw(st.sampled_from(["active", "active", "active", "paused", "closed"])),
                nudges=tuple(recs),
                flagged_at=draw(maybe_instant),
                last_checkin_answer_at=draw(maybe_instant),
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(pairs(), instants)
def test_never_targets_paused_withdrawn_or_bouncing_and_keys_unique(
    ps: list[PairView], now: datetime
) -> None:
    d: LadderDecision = decide_ladder(ps, now, LADDER)
    people = {m.person_id: m for p in ps for m in p.members}
    by_pair = {p.pair_id: p for p in ps}
    for n in d.nudges:
        p = by_pair[n.pair_id]
        assert p.state == "active"
        if n.kind is not NudgeKind.PARTNER_BOUNCING:  # a failing address is told at once
            assert now - p.started_at >= timedelta(days=LADDER.first_week_days)
        if n.person_id is not None:
            m = people[n.person_id]
            assert m.status != "withdrawn"
            assert not (m.status == "paused" and (m.paused_until is None or m.paused_until > now))
            assert not m.bouncing
            assert not (m.away_until is not None and m.away_until > now)
            assert not any(
                r.person_id == m.person_id and now - timedelta(days=7) < r.at <= now
                for r in p.nudges
            )
    keys = [n.key for n in d.nudges]
    assert len(keys) == len(set(keys))
    # recording what was decided makes a re-run at the same instant decide nothing
    recorded = [
        dataclasses.replace(
            p, nudges=p.nudges + record([n for n in d.nudges if n.pair_id == p.pair_id], now)
        )
        for p in ps
    ]
    assert decide_nudges(recorded, now, LADDER) == []


def test_asking_again_outweighs_an_earlier_withdrawal() -> None:
    assert why_not_matchable("withdrawn", None, False, 0, True, day(30), LADDER) == ""
    assert why_not_matchable("withdrawn", None, False, 5, True, day(30), LADDER) == ""
    assert why_not_matchable("withdrawn", None, True, 0, True, day(30), LADDER) == (
        "their address bounces"
    )


def test_no_nudges_or_flags_once_the_round_has_ended() -> None:
    """After the round's end the pair hears from the survey, not the ladder."""
    quiet = pair(ends_at=day(20))
    assert [n.kind for n in decide_nudges([quiet], day(14), LADDER)] == [NudgeKind.QUIET] * 2
    assert decide_nudges([quiet], day(21), LADDER) == []
    assert decide_nudges([quiet], day(30), LADDER) == []
    assert len(decide_nudges([pair()], day(21), LADDER)) == 2  # no end known: the ladder goes on


def test_silent_cycles_of_someone_rematched_late_count_from_their_new_pair() -> None:
    """Rematched on day 100 of a 120-day round, quiet since: one cycle, not eight — they
    were writing to their first partner before (that membership's own last_wrote_at)."""
    assert silent_cycles(member(1), ROUND, day(130), pair_start=day(100)) == 1
    assert silent_cycles(member(1), ROUND, day(130)) == 8  # a pair that began with the round


def test_exclusion_codes_read_every_reason_why_not_matchable_gives() -> None:
    """Proposals store the reason text; APPROVE writes to the paused and the silent only."""
    at = day(1)
    reasons = {
        "withdrawn": why_not_matchable("withdrawn", None, False, 0, False, at, LADDER),
        "paused": why_not_matchable("paused", day(9), False, 0, False, at, LADDER),
        "bouncing": why_not_matchable("active", None, True, 0, False, at, LADDER),
        "silent": why_not_matchable("active", None, False, 5, False, at, LADDER),
    }
    codes = {k: exclusion_code(v) for k, v in reasons.items()}
    assert codes == {"withdrawn": "", "paused": "paused", "bouncing": "", "silent": "silent"}


# ------------------------------------------------------------------- the rhythm (issue 12)


def rhythm_burst(p: PairView, until: float) -> list[tuple[float, str, object]]:
    """`burst` with the default, rhythm-derived settings."""
    sent: list[tuple[float, str, object]] = []
    t = 0.0
    while t <= until:
        nudges = decide_nudges([p], day(t), RHYTHM)
        for n in nudges:
            sent.append((t, n.kind.value, n.person_id if n.person_id is not None else "coord"))
        if nudges:
            p = dataclasses.replace(p, nudges=p.nudges + record(nudges, day(t)))
        t += 0.25
    return sent


def test_thresholds_follow_the_rounds_rhythm_unless_set() -> None:
    assert thresholds(RHYTHM, 14) == Thresholds(quiet=28, one_sided=28, second=42, stalled=56)
    assert thresholds(RHYTHM, 7) == Thresholds(quiet=14, one_sided=14, second=21, stalled=28)
    assert thresholds(LADDER, 7) == Thresholds(quiet=14, one_sided=10, second=21, stalled=28)


def test_ordinary_gaps_are_not_a_problem() -> None:
    """Partners who write every 10-20 days (ILN: every two weeks) are never nudged: on day 45
    one last wrote 19 days ago, the other 26 days ago (mail without the tracking address)."""
    p = pair(member(1, last_wrote_at=day(26)), member(2, last_wrote_at=day(19)))
    assert pair_state(p, day(45), RHYTHM).state is State.ACTIVE
    assert decide_nudges([p], day(45), RHYTHM) == []


def test_quiet_pair_with_the_rhythm_ends_exhausted_without_a_coordinator_flag() -> None:
    """Nobody writes (topics every 14 days): both nudged at 28, again at 42; exhausted at 56
    (four rhythms, the second nudge two weeks old) -- no flag: the waiting pool resolves it."""
    assert rhythm_burst(pair(), 80) == [
        (28, "quiet", 1),
        (28, "quiet", 2),
        (42, "second", 1),
        (42, "second", 2),
    ]
    done = pair(
        nudges=tuple(
            NudgeRecord(k, to, day(d)) for k, d in (("quiet", 28), ("second", 42)) for to in (1, 2)
        )
    )
    st = pair_state(done, day(56), RHYTHM)
    assert (st.state, st.exhausted, st.cause, st.silent, st.writers) == (
        State.STALLED,
        True,
        "quiet",
        (1, 2),
        (),
    )
    assert not needs_judgement(st, RHYTHM)
    assert needs_judgement(st, dataclasses.replace(RHYTHM, auto_resolve=False))
    assert pair_state(done, day(55.9), RHYTHM).state is State.QUIET


def test_one_sided_with_the_rhythm_names_the_writer_to_rematch() -> None:
    """Alice writes every 10 days, Bob never answers: one_sided at 28, second at 42,
    exhausted at 56 with Bob silent and Alice the writer."""

    def at(t: float) -> PairView:
        wrote = day(10 * (t // 10)) if t >= 10 else None
        return pair(member(1, last_wrote_at=wrote), member(2))

    p = at(28)
    first = decide_nudges([p], day(28), RHYTHM)
    assert [(n.kind, n.person_id, n.cause) for n in first] == [
        (NudgeKind.ONE_SIDED, 2, "one_sided")
    ]
    p = dataclasses.replace(at(42), nudges=record(first, day(28)))
    assert decide_nudges([p], day(41.9), RHYTHM) == []
    second = decide_nudges([p], day(42), RHYTHM)
    assert [(n.kind, n.person_id) for n in second] == [(NudgeKind.SECOND, 2)]
    p = dataclasses.replace(at(56), nudges=p.nudges + record(second, day(42)))
    got = exhausted_pairs([p], day(56), RHYTHM)
    assert [(s.pair_id, s.cause, s.silent, s.writers) for s in got] == [
        (7, "one_sided", (2,), (1,))
    ]
    assert decide_nudges([p], day(56), RHYTHM) == []  # auto_resolve: no coordinator flag
    assert exhausted_pairs([p], day(55), RHYTHM) == []


def test_a_second_nudge_waits_for_the_first_to_have_had_its_time() -> None:
    """Bob was away until day 40: his first nudge comes then, the second a cooldown later
    (47), not at day 42 -- one ladder mail per cooldown."""
    p = pair(member(1, last_wrote_at=day(39)), member(2, away_until=day(40)))
    sent = rhythm_burst(p, 60)
    assert sent == [(40, "one_sided", 2), (47, "second", 2)]


def test_auto_resolve_raises_no_coordinator_flag_for_a_bounce() -> None:
    p = pair(member(1), member(2, bouncing=True))
    assert [(n.kind, n.person_id) for n in decide_nudges([p], day(1), RHYTHM)] == [
        (NudgeKind.PARTNER_BOUNCING, 1)
    ]


def test_a_rounds_rhythm_reaches_the_view() -> None:
    weekly = pair(rhythm_days=7)
    assert pair_state(weekly, day(14), RHYTHM).state is State.QUIET
    assert pair_state(pair(), day(14), RHYTHM).state is State.ACTIVE
