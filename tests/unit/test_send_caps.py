"""domain.send_caps: what the caps leave at an instant; which refusals mean "slow down"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mailbot.domain.send_caps import (
    Caps,
    RoundLoad,
    Sent,
    admits,
    allowance,
    daily_capacity,
    daily_load,
    drained_at,
    order_key,
    throttled,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _sent(*seconds_ago: int, recipients: int = 1) -> list[Sent]:
    return [Sent(NOW - timedelta(seconds=s), recipients) for s in seconds_ago]


def test_no_caps_no_limit() -> None:
    assert allowance(Caps(), _sent(1, 2, 3), NOW).recipients is None


def test_a_minute_cap_counts_the_last_minute_only() -> None:
    caps = Caps(per_minute=30)
    assert allowance(caps, _sent(*range(1, 11)), NOW).recipients == 20
    assert allowance(caps, _sent(*range(61, 200)), NOW).recipients == 30


def test_a_full_window_says_when_it_opens() -> None:
    caps = Caps(per_minute=3)
    got = allowance(caps, _sent(50, 20, 10), NOW)
    assert got.recipients == 0 and got.next_at == NOW - timedelta(seconds=50) + timedelta(minutes=1)


def test_recipients_count_not_messages_and_the_tightest_window_wins() -> None:
    caps = Caps(per_minute=30, per_day=100)
    history = _sent(*range(120, 3600, 60), recipients=2)  # 58 mails, 116 recipients today
    got = allowance(caps, history, NOW)
    assert got.recipients == 0 and got.next_at is not None and got.next_at > NOW


def test_a_pause_from_a_refusal_comes_first() -> None:
    until = NOW + timedelta(minutes=5)
    assert allowance(Caps(), [], NOW, paused_until=until) == allowance(Caps(), [], NOW, until)
    assert allowance(Caps(), [], NOW, paused_until=until).next_at == until
    assert allowance(Caps(), [], NOW, paused_until=NOW - timedelta(seconds=1)).recipients is None


@pytest.mark.parametrize(
    ("code", "text", "pause"),
    [
        (550, "5.4.5 Daily user sending quota exceeded.", timedelta(hours=1)),
        (
            554,
            "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
            timedelta(hours=1),
        ),
        (421, "4.7.0 Try again later, closing connection.", timedelta(minutes=5)),
        (450, "4.7.28 Too many messages, rate limited", timedelta(minutes=5)),
        (451, "4.3.2 System not accepting network messages", timedelta(minutes=5)),
        (452, "4.5.3 Too many recipients", timedelta(minutes=5)),
        (550, "5.1.1 The email account that you tried to reach does not exist.", None),
        (552, "5.2.2 The email account that you tried to reach is over quota", None),  # theirs
        (None, "connection refused", None),
        (250, "2.0.0 OK", None),
    ],
)
def test_throttled(code: int | None, text: str, pause: timedelta | None) -> None:
    assert throttled(code, text) == pause


def test_answers_go_before_bulk() -> None:
    rows = [(True, 1), (False, 5), (True, 2), (False, 3)]
    assert sorted(rows, key=lambda r: order_key(*r)) == [
        (False, 3),
        (False, 5),
        (True, 1),
        (True, 2),
    ]


def test_greylisting_is_the_recipients_server_not_our_provider() -> None:
    assert throttled(450, "4.7.1 <a@b.org>: Recipient address rejected: Greylisted") is None


@pytest.mark.parametrize(
    ("room", "need", "ok"),
    [(None, 50, True), (3, 3, True), (2, 3, False), (0, 1, False), (30, 40, True), (29, 40, False)],
)
def test_admits(room: int | None, need: int, ok: bool) -> None:
    """A message wider than the tightest cap goes when that window is empty."""
    assert admits(Caps(per_minute=30, per_day=1_000), room, need) is ok


def test_drained_at_sends_as_fast_as_the_caps_allow() -> None:
    caps = Caps(per_minute=30)
    assert drained_at(caps, [], 0, NOW) == NOW
    assert drained_at(Caps(), [], 10_000, NOW) == NOW
    assert drained_at(caps, [], 30, NOW) == NOW
    assert drained_at(caps, [], 1_250, NOW) == NOW + timedelta(minutes=41)
    full = [Sent(NOW - timedelta(seconds=20), 30)]
    assert drained_at(caps, full, 1, NOW) == NOW + timedelta(seconds=40)
    paused = NOW + timedelta(hours=1)
    assert drained_at(caps, [], 31, NOW, paused) == paused + timedelta(minutes=1)


def test_drained_at_counts_the_daily_cap() -> None:
    caps = Caps(per_minute=30, per_day=500)
    got = drained_at(caps, [], 600, NOW)
    assert got == NOW + timedelta(days=1) + timedelta(minutes=3)


def test_daily_capacity_is_the_tightest_cap_over_a_day() -> None:
    assert daily_capacity(Caps()) is None
    assert daily_capacity(Caps(per_minute=30, per_day=10_000)) == 10_000
    assert daily_capacity(Caps(per_minute=5)) == 7_200
    assert daily_capacity(Caps(per_hour=100, per_day=5_000)) == 2_400


def test_daily_load_of_a_round() -> None:
    r = RoundLoad("2027A", 100, date(2027, 2, 3), date(2027, 2, 8), date(2027, 6, 8), 14)
    load = daily_load([r])
    assert load[date(2027, 2, 3)] == 150 + 5  # introductions: both partners and the pair's Cc
    assert load[date(2027, 2, 8)] == 100 + 5  # the first topic
    assert load[date(2027, 2, 22)] == 105  # the next, two weeks on
    assert load[date(2027, 2, 9)] == 5  # answers only
    assert load[date(2027, 4, 9)] == 105  # the check-in at the midpoint
    assert max(load.values()) == 155
    both = daily_load([r, r])
    assert both[date(2027, 2, 3)] == 310
