"""domain.liveness: a heartbeat judged at an instant (table of cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.domain.liveness import Heartbeat, beat, failed, health

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
POLL = 60


@pytest.mark.parametrize(
    ("hb", "healthy", "says"),
    [
        (None, False, "no cycle recorded"),
        (Heartbeat(), False, "no cycle recorded"),
        (Heartbeat(last_ok_at=NOW - timedelta(seconds=30)), True, "30 s ago"),
        (Heartbeat(last_ok_at=NOW - timedelta(minutes=4)), True, "240 s ago"),  # 5 min floor
        (Heartbeat(last_ok_at=NOW - timedelta(minutes=6)), False, "limit 300 s"),
        (Heartbeat(last_ok_at=NOW - timedelta(days=1)), False, "86400 s ago"),
        (
            Heartbeat(last_ok_at=NOW, failures_in_row=3, last_error="AUTHENTICATE failed"),
            False,
            "3 cycles in a row failed; last: AUTHENTICATE failed",
        ),
        (Heartbeat(last_ok_at=NOW, failures_in_row=2, last_error="x"), True, "0 s ago"),
    ],
)
def test_health(hb: Heartbeat | None, healthy: bool, says: str) -> None:
    ok, why = health(hb, NOW, POLL)
    assert ok is healthy and says in why


def test_a_good_cycle_forgets_the_failures_and_a_failure_keeps_the_good_cycle() -> None:
    hb = Heartbeat(last_ok_at=NOW - timedelta(minutes=1))
    for n in range(3):
        hb = failed(hb, NOW + timedelta(seconds=n), "LOGIN refused")
    assert hb.failures_in_row == 3 and hb.last_ok_at == NOW - timedelta(minutes=1)
    assert not health(hb, NOW, POLL)[0]
    hb = beat(hb, NOW + timedelta(minutes=1))
    assert hb.failures_in_row == 0 and health(hb, NOW + timedelta(minutes=1), POLL)[0]


def test_a_slower_poll_allows_a_longer_silence() -> None:
    hb = Heartbeat(last_ok_at=NOW - timedelta(minutes=20))
    assert not health(hb, NOW, 60)[0] and health(hb, NOW, 600)[0]
