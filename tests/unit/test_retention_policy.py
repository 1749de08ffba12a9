"""domain.retention: who is due for erasure, which mail is old enough, when the pass runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mailbot.domain.retention import (
    PersonFacts,
    RemovalCounts,
    due_for_erasure,
    mail_cutoff,
    months_before,
    retention_due,
    total,
)

NOW = datetime(2029, 3, 31, 9, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_months_before_counts_calendar_months_and_clamps_the_day() -> None:
    assert months_before(NOW, 1) == at("2029-02-28T09:00")
    assert months_before(NOW, 24) == at("2027-03-31T09:00")
    assert months_before(at("2028-03-15T00:00"), 14) == at("2027-01-15T00:00")
    with pytest.raises(ValueError):
        months_before(NOW, -1)


def test_only_people_inactive_long_enough_and_in_no_running_or_future_round_are_due() -> None:
    old, recent = at("2027-03-30T00:00"), at("2027-04-01T00:00")
    ended, running = at("2027-06-08T00:00"), at("2029-06-08T00:00")
    people = [
        PersonFacts(1, old, (ended,)),  # due
        PersonFacts(2, recent, (ended,)),  # active within 24 months
        PersonFacts(3, old, (ended, running)),  # applied to a round still running
        PersonFacts(4, old, (None,)),  # waiting for the next round to open
        PersonFacts(5, old, (ended,), in_running_pair=True),
        PersonFacts(7, at("2027-03-31T09:00"), ()),  # exactly 24 months: due
    ]
    assert due_for_erasure(people, NOW, 24) == [1, 7]


def test_mail_cutoff_is_the_first_day_kept_in_the_program_zone() -> None:
    assert mail_cutoff(NOW, 90) == date(2028, 12, 31)
    late = at("2029-03-31T23:30")
    assert mail_cutoff(late, 0, "Pacific/Auckland") == date(2029, 4, 1)
    with pytest.raises(ValueError):
        mail_cutoff(NOW, -1)


def test_the_pass_runs_once_a_day_of_the_program_zone() -> None:
    assert retention_due(NOW, None)
    assert not retention_due(NOW, at("2029-03-31T00:01"))
    assert retention_due(NOW, at("2029-03-30T23:59"))
    # 23:30 UTC on the 30th is already the 31st in Auckland
    assert not retention_due(NOW, at("2029-03-30T23:30"), "Pacific/Auckland")


def test_counts_add_up() -> None:
    week = total([RemovalCounts(1, 10, 0), RemovalCounts(0, 5, 2)])
    assert week == RemovalCounts(1, 15, 2) and week.any
    assert not RemovalCounts().any
