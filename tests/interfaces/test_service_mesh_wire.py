"""The service_mesh wire models: defaults, strictness, and conversion to and from the domain.

Covers the ecosystem's fields and defaults, ports as the ecosystem converts them (but
``True`` is not port 1),
unknown keys ignored on read but refused in declarations, the deprecated ``Policy``,
``to_model()`` naming the bad field, ``from_model()`` round trips, and the pure readers
for provider and cross-model data.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from meshops import model
from meshops.interfaces import service_mesh as sm
from meshops.interfaces.service_mesh import _read


def wire(**kwargs: Any) -> sm.MeshPolicy:
    base: dict[str, Any] = {
        "source_namespace": "cos",
        "source_app_name": "grafana",
        "target_namespace": "m",
        "target_app_name": "target",
        "endpoints": [sm.Endpoint(ports=[80])],
    }
    return sm.MeshPolicy(**{**base, **kwargs})


def test_public_names() -> None:
    assert sm.Method is model.Method
    assert sm.PolicyTargetType is model.TargetType
    assert [m.value for m in sm.MeshType] == ["istio"]
    assert set(sm.__all__) >= {
        "AppPolicy",
        "CMRData",
        "ConsumerPolicies",
        "Endpoint",
        "MeshPolicy",
        "MeshType",
        "Method",
        "Policy",
        "PolicyTargetType",
        "ServiceMeshConsumer",
        "ServiceMeshProvider",
        "ServiceMeshProviderAppData",
        "UnitPolicy",
        "cmr_data",
    }


def test_defaults() -> None:
    assert sm.Endpoint().model_dump() == {
        "hosts": None,
        "ports": None,
        "methods": None,
        "paths": None,
    }
    policy = sm.MeshPolicy(
        source_namespace="a", source_app_name="b", target_namespace="c", target_app_name="d"
    )
    assert list(policy.model_dump()) == [
        "source_namespace",
        "source_app_name",
        "target_namespace",
        "target_app_name",
        "target_selector_labels",
        "target_service",
        "target_type",
        "endpoints",
    ]
    assert policy.target_type is sm.PolicyTargetType.app
    assert policy.endpoints == []
    assert sm.AppPolicy(relation="r", endpoints=[]).service is None
    assert sm.UnitPolicy(relation="r").ports is None


@pytest.mark.parametrize("port", [True, False, 80.5, "80a", "", None, [80]])
def test_ports_that_are_no_integers_are_refused(port: object) -> None:
    with pytest.raises(pydantic.ValidationError, match="valid integer"):
        sm.Endpoint(ports=[port])  # type: ignore[list-item]
    with pytest.raises(pydantic.ValidationError, match="valid integer"):
        sm.UnitPolicy(relation="r", ports=[port])  # type: ignore[list-item]


@pytest.mark.parametrize("port", ["9090", 8080.0, 443, " 80 "])
def test_ports_convert_as_the_ecosystem_converts_them(port: object) -> None:
    import charmlibs.interfaces.service_mesh as eco

    theirs = eco.Endpoint(ports=[port]).ports  # type: ignore[list-item]
    assert sm.Endpoint(ports=[port]).ports == theirs  # type: ignore[list-item]
    assert sm.UnitPolicy(relation="r", ports=[port]).ports == theirs  # type: ignore[list-item]
    assert theirs is not None
    assert all(type(p) is int for p in theirs)


def test_methods_accept_values_and_members() -> None:
    assert sm.Endpoint(methods=["GET", sm.Method.post]).methods == [  # type: ignore[list-item]
        sm.Method.get,
        sm.Method.post,
    ]


def test_read_models_ignore_unknown_keys_declarations_refuse_them() -> None:
    assert sm.Endpoint.model_validate({"ports": [1], "new": 1}) == sm.Endpoint(ports=[1])
    assert sm.CMRData.model_validate({"app_name": "a", "juju_model_name": "b", "x": 1})
    with pytest.raises(pydantic.ValidationError, match="service_name"):
        sm.AppPolicy(relation="r", endpoints=[], service_name="x")  # type: ignore[call-arg]


def test_models_are_frozen() -> None:
    policy = wire()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        policy.source_app_name = "x"  # type: ignore[misc]


def test_policy_is_a_deprecated_app_policy() -> None:
    with pytest.warns(DeprecationWarning, match="Policy is deprecated"):
        old = sm.Policy(relation="r", endpoints=[sm.Endpoint(ports=[1])], service="s")
    assert isinstance(old, sm.AppPolicy)
    assert (
        old.model_dump()
        == sm.AppPolicy(relation="r", endpoints=[sm.Endpoint(ports=[1])], service="s").model_dump()
    )


def test_to_model() -> None:
    policy = wire(
        target_type="unit",
        target_app_name=None,
        target_selector_labels={"z": "1", "a": "2"},
        endpoints=[sm.Endpoint(ports=[80, 81]), sm.Endpoint()],
    )
    assert policy.to_model() == model.MeshPolicy(
        source_namespace="cos",
        source_app_name="grafana",
        target_namespace="m",
        target_type=model.TargetType.unit,
        target_selector_labels=(("a", "2"), ("z", "1")),
        endpoints=(model.Endpoint(ports=(80, 81)), model.Endpoint()),
    )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            wire(endpoints=[sm.Endpoint(), sm.Endpoint(ports=[1, 70000])]),
            "endpoints[1].ports[1]: port 70000 must be an integer 1-65535",
        ),
        (
            wire(endpoints=[sm.Endpoint(paths=["/ok", "nope"])]),
            "endpoints[0].paths[1]: path 'nope' must start with '/'",
        ),
        (wire(endpoints=[]), "endpoints: an app policy needs at least one endpoint"),
        (wire(source_app_name=""), "source_app_name: '' must be a non-empty string"),
        (
            wire(target_type="unit", target_app_name=None, endpoints=[]),
            "target_app_name: a unit policy needs",
        ),
    ],
)
def test_to_model_names_the_field(policy: sm.MeshPolicy, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        policy.to_model()


def test_from_model_round_trip() -> None:
    domain = model.MeshPolicy(
        source_namespace="cos",
        source_app_name="grafana",
        target_namespace="m",
        target_app_name="target",
        target_service="api",
        endpoints=(
            model.Endpoint(
                hosts=("a.b",), ports=(80,), methods=(model.Method.get,), paths=("/x",)
            ),
            model.Endpoint(),
        ),
    )
    policy = sm.MeshPolicy.from_model(domain)
    assert policy.endpoints[1] == sm.Endpoint()
    assert policy.to_model() == domain
    assert sm.Endpoint.from_model(model.Endpoint(ports=(1,))) == sm.Endpoint(ports=[1])


def test_cross_field_errors_name_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match="target_app_name: an app policy needs"):
        wire(target_app_name=None)
    with pytest.raises(pydantic.ValidationError, match="target_service: a unit policy"):
        wire(target_type="unit", target_service="svc")


def test_provider_app_data_databag() -> None:
    data = sm.ServiceMeshProviderAppData(labels={"b": "1", "a": "2"}, mesh_type="istio")  # type: ignore[arg-type]
    assert data.databag() == {"labels": '{"b": "1", "a": "2"}', "mesh_type": '"istio"'}


@pytest.mark.parametrize(
    ("databag", "expected"),
    [
        ({}, (None, 0)),
        ({"labels": '{"a": "b"}', "mesh_type": '"istio"'}, ({"a": "b"}, 0)),
        ({"labels": '{"a": "b"}', "mesh_type": '"istio"', "x": "{"}, ({"a": "b"}, 0)),
        ({"labels": "{", "mesh_type": "{"}, (None, 2)),
        ({"labels": '{"a": "b"}'}, (None, 1)),
    ],
)
def test_read_provider_data(databag: dict[str, str], expected: tuple[Any, int]) -> None:
    data, problems = _read.read_provider_data(databag, source="service-mesh:1", app="beacon")
    assert (data.labels if data else None, len(problems)) == expected
    assert all(p.source == "service-mesh:1" and p.app == "beacon" for p in problems)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{", "cmr_data"),
        ("[]", "cmr_data"),
        (json.dumps({"app_name": "a"}), "cmr_data.juju_model_name"),
        (json.dumps({"app_name": 1, "juju_model_name": "m"}), "cmr_data.app_name"),
        (json.dumps({"app_name": "a/b", "juju_model_name": "m"}), "cmr_data.app_name"),
        (json.dumps({"app_name": "a", "juju_model_name": ""}), "cmr_data.juju_model_name"),
    ],
)
def test_read_cmr_data_problems(raw: str, field: str) -> None:
    data, problem = _read.read_cmr_data(raw, source="provide-cmr-mesh:4", app="remote-1")
    assert data is None
    assert problem is not None
    assert (problem.source, problem.field, problem.app) == (
        "provide-cmr-mesh:4",
        field,
        "remote-1",
    )


def test_read_cmr_data() -> None:
    raw = json.dumps({"app_name": "grafana", "juju_model_name": "cos"})
    assert _read.read_cmr_data(raw, source="s", app="a") == (
        sm.CMRData(app_name="grafana", juju_model_name="cos"),
        None,
    )
    assert _read.read_cmr_data(None, source="s", app="a") == (None, None)


def test_read_policies_is_all_or_nothing() -> None:
    good = wire().model_dump(mode="json")
    result = sm.read_policies(json.dumps([good, good]), source="s", app="a")
    assert result.problems == ()
    assert result.policies == (wire().to_model(), wire().to_model())
    assert result.wire == (wire(), wire())
    result = sm.read_policies(json.dumps([good, {**good, "endpoints": []}]), source="s", app="a")
    assert (result.wire, result.policies, len(result.problems)) == ((), (), 1)
    assert sm.read_policies(None, source="s", app="a") == sm.PolicyRead()
