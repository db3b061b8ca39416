"""Hostile ``policies`` databags: the provider never raises, never hangs, never mixes consumers.

Hypothesis feeds random text, random JSON, and valid policies with one field replaced
by a hostile value (unicode, NUL, numbers as strings, booleans, floats, nulls, deep
nesting, huge lists) to the pure reader and, through ops.testing, to the provider next
to a valid consumer, which must keep every one of its policies.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops import testing

from meshops.interfaces import service_mesh as sm

from .mesh_charms import (
    endpoint_dict,
    make_provider,
    policy_dict,
    provider_context,
    seen_after_update_status,
    state,
)

VALID = [
    policy_dict("client", endpoints=[endpoint_dict(ports=[8080], methods=["GET"], paths=["/x"])]),
    policy_dict("prometheus", target_type="unit", endpoints=[endpoint_dict(ports=[9090])]),
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["80", "GET", "app", "unit", "/x", "\x00", "\ud800", "\u202e", "", "*"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.text(max_size=20) | st.sampled_from(list(VALID[0])), children, max_size=6
        )
    ),
    max_leaves=30,
)
hostile_values = (
    json_values
    | st.integers(min_value=0, max_value=200).map(lambda n: [0] * n * 50)
    | st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (as a key path) that a mutation may replace."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*prefix, i))
    return found


def replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = replace(copy[head], rest, new)
    return copy


@st.composite
def mutated_databags(draw: st.DrawFn) -> str:
    """VALID with one place replaced by a hostile value, serialized (maybe oddly)."""
    places = paths(VALID)
    place = draw(st.sampled_from(places))
    value = replace(VALID, place, draw(hostile_values))
    raw = json.dumps(value, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return raw


def check_read(raw: str) -> sm.PolicyRead:
    result = sm.read_policies(raw, source="service-mesh:7", app="hostile")
    if result.problems:
        assert result.policies == () == result.wire
        assert all(p.source == "service-mesh:7" and p.app == "hostile" for p in result.problems)
        assert all(len(p.message) <= 300 for p in result.problems)
    else:
        assert len(result.policies) == len(result.wire)
        assert result.policies == tuple(p.to_model() for p in result.wire)
    return result


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=500))
def test_any_text(raw: str) -> None:
    check_read(raw)


@settings(max_examples=300, deadline=None, database=None)
@given(json_values)
def test_any_json(value: Any) -> None:
    check_read(json.dumps(value))
    check_read(json.dumps([value]))


@settings(
    max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated_databags())
def test_valid_policies_with_one_hostile_field(raw: str) -> None:
    check_read(raw)


def test_mutations_are_caught_where_the_domain_says_so() -> None:
    # A few fixed mutations, as a sanity check of the strategy's building blocks.
    for place, value in [
        ((0, "endpoints", 0, "ports", 0), True),
        ((0, "endpoints", 0, "ports", 0), "8080a"),
        ((0, "endpoints", 0, "ports", 0), 8080.5),
        ((1, "target_type"), "pod"),
        ((0, "source_app_name"), "a\x00b"),
        ((0, "endpoints", 0, "paths"), ["\ud800"]),
    ]:
        result = check_read(json.dumps(replace(VALID, place, value)))
        assert result.problems, (place, value)
    assert not check_read(json.dumps(VALID)).problems


def test_huge_inputs_are_refused_whole() -> None:
    for raw in (
        json.dumps([VALID[0]] * (sm.MAX_POLICIES + 1)),
        " " * (sm.MAX_DATABAG_BYTES + 1),
        json.dumps([[0] * 400_000]),
        "[" * 1_000_000,
    ):
        [problem] = check_read(raw).problems
        assert problem.field == "policies"


def test_the_policy_limit_is_inclusive() -> None:
    # 10,000 valid policies do not fit in 1 MiB; 10,000 empty objects do, and are read
    # one by one (each is a problem) rather than refused whole.
    problems = check_read(json.dumps([{}] * sm.MAX_POLICIES)).problems
    assert problems[0].field == "policies[0].source_namespace"
    assert problems[-1].message.startswith("and ")


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.one_of(mutated_databags(), st.text(max_size=200), json_values.map(json.dumps)))
def test_a_valid_consumer_beside_a_hostile_one_keeps_its_policies(raw: str) -> None:
    hostile = testing.Relation(
        "service-mesh", remote_app_name="hostile", remote_app_data={"policies": raw}
    )
    good = testing.Relation(
        "service-mesh", remote_app_name="target", remote_app_data={"policies": json.dumps(VALID)}
    )
    charm = make_provider()
    seen = seen_after_update_status(charm, provider_context(charm), state(hostile, good))
    by_app = {c.app: c for c in seen["consumers"]}
    assert by_app["target"].problems == ()
    assert len(by_app["target"].policies) == len(VALID)
    mesh_info = [p.model_dump(mode="json") for p in seen["mesh_info"]]
    assert all(p in mesh_info for p in VALID)
    if by_app["hostile"].problems:
        assert mesh_info == VALID
