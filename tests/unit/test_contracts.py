"""Every template keeps a typed contract (`mailbot.contexts`).

Each template folder (templates/en/<name>/) has a contract type in `catalogue.CONTRACTS` and
samples in `samples.SAMPLES`; each sample has exactly the keys its contract declares (all the
required ones, optional ones or not, nothing else), and its values have the declared types. A
nested dict must have the keys its type requires (it may carry more: contexts are structural).
mypy checks the same statically; this keeps the runtime catalogue honest.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from mailbot.contexts.catalogue import CONTRACTS, COORDINATOR_ONLY
from mailbot.contexts.common import Base
from mailbot.contexts.samples import SAMPLES
from mailbot.edges.render import Renderer

TEMPLATES = Renderer().names()

CASES = [
    pytest.param(name, i, ctx, id=f"{name}-{i}")
    for name in sorted(SAMPLES)
    for i, ctx in enumerate(SAMPLES[name])
]


def _problems(value: Any, tp: Any, where: str) -> list[str]:
    """Where `value` does not have type `tp` (TypedDicts, lists, dicts, `X | None`, scalars)."""
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a dict"]
        out = [f"{where}: no key {k!r}" for k in sorted(tp.__required_keys__ - value.keys())]
        hints = get_type_hints(tp)
        for k, v in value.items():
            if k in hints:
                out += _problems(v, hints[k], f"{where}.{k}")
        return out
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return []
        options = [_problems(value, a, where) for a in args if a is not type(None)]
        return [] if any(not p for p in options) else options[0]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [p for i, v in enumerate(value) for p in _problems(v, args[0], f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a dict"]
        return [p for k, v in value.items() for p in _problems(v, args[1], f"{where}[{k!r}]")]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp in (str, bool):
        ok = isinstance(value, tp)
    else:
        ok = True
    return [] if ok else [f"{where}: {value!r} is not {tp.__name__}"]


def test_every_template_has_a_contract_and_samples() -> None:
    assert sorted(CONTRACTS) == TEMPLATES
    assert sorted(SAMPLES) == TEMPLATES
    for name in TEMPLATES:
        assert SAMPLES[name], f"{name}: no sample"


def test_every_contract_carries_the_base_keys() -> None:
    contracts: dict[str, Any] = CONTRACTS
    for name, contract in contracts.items():
        assert Base.__required_keys__ <= contract.__required_keys__, name


def test_coordinator_only_templates_are_the_coordinator_contracts() -> None:
    coordinators = {
        "proposal",
        "coordinator_action_done",
        "digest",
        "final_report",
        "question_forwarded",
    }
    assert coordinators == COORDINATOR_ONLY


@pytest.mark.parametrize(("name", "i", "ctx"), CASES)
def test_each_sample_has_exactly_the_keys_its_contract_declares(
    name: str, i: int, ctx: dict[str, Any]
) -> None:
    contract: Any = CONTRACTS[name]
    required, optional = contract.__required_keys__, contract.__optional_keys__
    assert not required - ctx.keys(), f"{name} sample {i}: missing {required - ctx.keys()}"
    extra = ctx.keys() - required - optional
    assert not extra, f"{name} sample {i}: keys its contract does not declare: {extra}"


@pytest.mark.parametrize(("name", "i", "ctx"), CASES)
def test_each_sample_has_the_types_its_contract_declares(
    name: str, i: int, ctx: dict[str, Any]
) -> None:
    assert _problems(ctx, CONTRACTS[name], f"{name}[{i}]") == []


def test_the_checker_sees_a_missing_nested_key_and_a_wrong_type() -> None:
    ctx = dict(SAMPLES["introduction"][0])
    ctx["pair"] = {k: v for k, v in ctx["pair"].items() if k != "reasons"}
    ctx["person_id"] = "1"
    problems = _problems(ctx, CONTRACTS["introduction"], "introduction")
    assert problems == [
        "introduction.person_id: '1' is not int",
        "introduction.pair: no key 'reasons'",
    ]
