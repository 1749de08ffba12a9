"""The round benchmark (`benchmarks.round`, issue 12) runs end to end on a small, short round and
its counts add up: every simulated human message is answered, forwarded, sent to a partner,
listed or reached nobody;
touches are counted by kind and include the one APPROVE.
"""

from __future__ import annotations

from benchmarks.round import main

OUTCOMES = {"answered", "forwarded", "to their partner", "listed only", "reached nobody"}


def test_a_small_short_round_completes_and_its_counts_are_consistent() -> None:
    fig = main(
        ["--people", "40", "--seed", "3", "--days", "21", "--rate", "questions_per_person=0.5"]
    )
    assert fig["matched"] > 0 and fig["ticks"] > 0
    assert fig["touches"] >= 1 and fig["touches_by_kind"].get("approve") == 1
    assert fig["touches"] == sum(fig["touches_by_kind"].values())
    outcomes = fig["outcomes"]
    assert set(outcomes) <= OUTCOMES
    assert fig["human_messages"] > 0
    assert sum(outcomes.values()) == fig["human_messages"]
    assert fig["unanswered"] == outcomes.get("reached nobody", 0)
    per_shape = sum(sum(v.values()) for v in fig["by_shape"].values())
    assert per_shape == fig["human_messages"]
    assert 0 <= fig["false_alarms"] <= fig["pair_items"] <= fig["items"]
    assert fig["mails_mean"] > 0 and fig["mails_max"] >= fig["mails_p90"]
