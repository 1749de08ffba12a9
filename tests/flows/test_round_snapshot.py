"""The running round read once a tick: plain views, ORM rows only when asked for, and the
pool job's read used again by the round job only while nothing it was read from has changed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from mailbot.edges.tables import Pair, Person
from mailbot.flows.round_snapshot import Snapshot, shared_snapshot
from mailbot.flows.tick import run_jobs
from tests.flows.test_round_flow import at, round_  # noqa: F401  (the fixture)
from tests.support.program import Program, instant


def test_the_read_is_kept_until_a_table_it_came_from_is_written(round_: Program) -> None:  # noqa: F811
    deps, now = round_.deps, instant(at(1))
    with deps.db.transaction() as s:
        first = shared_snapshot(s, deps, now)
        assert first.views and first.info
    with deps.db.transaction() as s:
        s.scalars(select(Person)).all()  # reading changes nothing
        again = shared_snapshot(s, deps, now)
    assert again.read is first.read
    with deps.db.transaction() as s:
        assert shared_snapshot(s, deps, instant(at(2))).read is not first.read  # another tick
        first = shared_snapshot(s, deps, now)
    one = first.views[0].members[0].person_id
    with deps.db.transaction() as s:
        s.execute(update(Person).where(Person.id == one).values(bouncing=True))
    with deps.db.transaction() as s:
        after = shared_snapshot(s, deps, now)
    assert after.read is not first.read
    assert [m.bouncing for v in after.views for m in v.members if m.person_id == one] == [True]
    with pytest.raises(RuntimeError), deps.db.transaction() as s:
        shared_snapshot(s, deps, now)
        raise RuntimeError  # rolled back: what was read inside may be undone
    with deps.db.transaction() as s:
        assert shared_snapshot(s, deps, now).read is not after.read


def test_a_kept_read_is_what_a_fresh_one_would_be_and_lives_for_one_pass(
    round_: Program,  # noqa: F811
) -> None:
    deps, now = round_.deps, instant(at(15))
    asyncio.run(run_jobs(deps, now))
    assert deps.db.kept == {}
    with deps.db.transaction() as s:
        kept = shared_snapshot(s, deps, now)
    with deps.db.transaction() as s:
        fresh = Snapshot(s, now)
        assert shared_snapshot(s, deps, now).read is kept.read
    assert kept.read == fresh.read


def test_orm_rows_are_loaded_only_for_the_round_and_from_the_jobs_session(
    round_: Program,  # noqa: F811
) -> None:
    deps, now = round_.deps, instant(at(1))
    with deps.db.transaction() as s:
        snap = Snapshot(s, now)
        view = snap.views[0]
        person = snap.people[view.members[0].person_id]
        assert person in s and person.email == snap.info[person.id].email
        assert snap.pairs[view.pair_id] is s.get(Pair, view.pair_id)
        outsider = max(s.scalars(select(Person.id))) + 1
        with pytest.raises(KeyError):
            snap.people[outsider]
        snap.people.load(snap.info)
        assert len(snap.people) == len(snap.info) and set(snap.people) == set(snap.info)
        partners = snap.partners(view.pair_id, person.id)
        assert partners and all(p.id != person.id for p in partners)
