"""`check-config`'s warning when the sending caps cannot carry the busiest day of the rounds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mailbot.checks import check_capacity, participants_by_round
from mailbot.flows import intake
from tests.support.program import Program, application

TODAY = date(2027, 1, 10)


def _program(tmp_path: Path, db_url: str, smtp: str) -> Iterator[Program]:
    p = Program.create(tmp_path / "prog", db_url, extra=f"[smtp]\n{smtp}")
    yield p
    p.close()


@pytest.mark.parametrize(
    ("smtp", "people", "warned"),
    [
        ("max_per_day = 500", 300, False),  # Gmail: 300 people, a topic day 300 + answers
        ("max_per_day = 500", 400, True),  # the introductions: 600 recipients on one day
        ("max_per_minute = 30", 5_000, False),  # Exchange's 30 a minute: 43,200 a day
        ("", 100_000, False),  # no cap: nothing to warn about
    ],
)
def test_the_busiest_day_against_the_caps(
    tmp_path: Path, db_url: str, smtp: str, people: int, warned: bool
) -> None:
    for prog in _program(tmp_path, db_url, smtp):
        warnings = check_capacity(prog.deps.settings, {"2027A": people}, TODAY)
        assert bool(warnings) is warned, warnings
        if warned:
            assert "2027-02-03" in warnings[0] and "2027A: 400" in warnings[0]


def test_a_round_without_applications_is_counted_as_the_largest_known(
    tmp_path: Path, db_url: str
) -> None:
    for prog in _program(tmp_path, db_url, "max_per_day = 500"):
        assert check_capacity(prog.deps.settings, {}, TODAY) == []  # nothing known: no guess
        assert check_capacity(prog.deps.settings, {"2026B": 1_000}, TODAY)  # last round's size
        assert check_capacity(prog.deps.settings, {"2026B": 1_000}, date(2027, 7, 1)) == []


def test_participants_are_counted_from_the_applications(tmp_path: Path, db_url: str) -> None:
    for prog in _program(tmp_path, db_url, ""):
        prog.put(
            *(application(f"p{i}@example.net", f"P{i}", message_id=f"<m{i}@x>") for i in range(3))
        )
        asyncio.run(intake.run_once(prog.deps, datetime(2027, 1, 12, 9, tzinfo=UTC)))
        assert participants_by_round(prog.deps) == {"2027A": 3}


def test_no_database_yet_is_nothing_counted_and_nothing_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none.sqlite3"
    from mailbot import settings as settings_mod
    from mailbot.app import build

    config = tmp_path / "m.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    deps = build(settings_mod.load(config, {"MAILBOT_PROGRAM_SECRET": "s"}))
    assert participants_by_round(deps) == {}
    assert not (tmp_path / "none.sqlite3").exists()
