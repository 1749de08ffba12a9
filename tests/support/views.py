"""Builders for the ladder's plain views, shared by the pure round tests."""

from __future__ import annotations

from datetime import UTC, datetime

from mailbot.domain.ladder import MemberView, PairView

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday: the round starts here


def member(pid: int, **kw: object) -> MemberView:
    """An active, reachable member who has not written yet, unless `kw` says otherwise."""
    base: dict[str, object] = {
        "person_id": pid,
        "timezone": "UTC",
        "language": "en",
        "status": "active",
        "paused_until": None,
        "away_until": None,
        "bouncing": False,
        "last_wrote_at": None,
        "messages": 0,
    }
    base.update(kw)
    return MemberView(**base)  # type: ignore[arg-type]


def pair(*members: MemberView, **kw: object) -> PairView:
    """An active pair of round 2024A started at START (pair 7 of members 1 and 2 by default)."""
    base: dict[str, object] = {
        "pair_id": 7,
        "round_name": "2024A",
        "started_at": START,
        "state": "active",
        "members": members or (member(1), member(2)),
    }
    base.update(kw)
    return PairView(**base)  # type: ignore[arg-type]
