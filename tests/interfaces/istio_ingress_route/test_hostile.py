"""Hostile ``config`` strings: read_config never raises and is always all or nothing.

Hypothesis feeds random text, random JSON, and valid configurations with one value
replaced by a hostile one (unicode, NUL, numbers as strings, booleans, floats, nulls,
deep nesting, big lists) or one key deleted. Whatever it gets, read_config returns
either routes and no problems, or problems (about the source, the app and a field under
``config``) and no routes; what it accepts, the ecosystem's model accepts too, and
reading its own serialisation back gives the same routes. Through ops.testing, one
hostile requirer never costs a valid one its routes, nor ends the hook in error.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from charmlibs.interfaces import istio_ingress_route as eco
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshops.interfaces import istio_ingress_route as iir

from .route_charms import (
    make_provider,
    provider_context,
    requirer_relation,
    seen_after_update_status,
    state,
)
from .test_read import EXPECTED, valid

SOURCE = "istio-ingress-route:3"
FAST = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "80",
            "HTTP",
            "GRPC",
            "TCP",
            "TLS",
            "/",
            "/api",
            "*",
            "",
            "\x00",
            "\u202e",
            "é",
            "PathPrefix",
            "RegularExpression",
            "ReplacePrefixMatch",
            "urlRewrite",
            "a" * 300,
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(list(valid())), children, max_size=5
        )
    ),
    max_leaves=25,
)
hostile_values = (
    json_values
    | st.integers(min_value=0, max_value=50).map(lambda n: [{"port": 80}] * n * 20)
    | st.integers(min_value=1, max_value=400).map(lambda n: "[" * n + "]" * n)
    | st.integers(min_value=0, max_value=70000)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value that holds something: dict keys and list indexes."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*prefix, i))
    return found


VALID = valid()
PATHS = paths(VALID)


def replace(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


DELETE = object()


def check(raw: str) -> iir.ConfigRead:
    """Read ``raw`` and assert what must hold of any read."""
    result = iir.read_config(raw, source=SOURCE, app="web")
    if result.problems:
        assert result.config is None
        assert result.routes == ()
        assert len(result.problems) <= iir.MAX_PROBLEMS
        for problem in result.problems:
            assert (problem.source, problem.app) == (SOURCE, "web")
            assert problem.field == "config" or problem.field.startswith("config.")
            assert 0 < len(problem.message) <= 300
    else:
        assert result.config is not None
        # what we accept, the ecosystem's provider accepts too
        eco.IstioIngressRouteConfig.model_validate_json(raw)
        again = iir.read_config(result.config.model_dump_json(), source=SOURCE, app="web")
        assert (again.routes, again.problems) == (result.routes, ())
    return result


@FAST
@given(st.text(max_size=200))
def test_random_text(raw: str) -> None:
    check(raw)


@FAST
@given(json_values)
def test_random_json(value: Any) -> None:
    check(json.dumps(value))


@FAST
@given(json_values)
def test_random_json_as_a_whole_config_section(value: Any) -> None:
    for key in ("listeners", "http_routes", "grpc_routes", "tcp_routes", "tls_routes"):
        check(json.dumps({"model": "shop", key: value}))


@FAST
@given(st.sampled_from(PATHS), hostile_values | st.just(DELETE))
def test_one_value_replaced(path: tuple[Any, ...], value: Any) -> None:
    result = check(json.dumps(replace(path, value)))
    if not result.problems:
        assert len(result.routes) <= len(EXPECTED)


@FAST
@given(st.lists(st.tuples(st.sampled_from(PATHS), hostile_values), min_size=2, max_size=4))
def test_several_values_replaced(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    data = copy.deepcopy(VALID)
    for path, value in changes:
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the place
    check(json.dumps(data))


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_decoded_leniently(raw: bytes) -> None:
    check(raw.decode("utf-8", "replace"))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(hostile_values.map(json.dumps) | st.text(max_size=50))
def test_hostile_requirer_beside_a_valid_one(raw: str) -> None:
    good = requirer_relation("web", json.dumps(VALID))
    bad = requirer_relation("evil", raw)
    charm = make_provider()
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(good, bad))
    requests = {r.app: r for r in seen["requests"]}
    assert requests["web"].routes == EXPECTED
    assert requests["web"].problems == ()
    alone = iir.read_config(raw, source=f"istio-ingress-route:{bad.id}", app="evil")
    assert (requests["evil"].routes, requests["evil"].problems) == (alone.routes, alone.problems)
