"""Interop with the ecosystem's ``charmlibs.interfaces.service_mesh``, both ways.

Our consumer writes the same bytes as theirs for the same policies (app and unit, with
and without a service, in-model and cross-model, and ``cmr_data``); our provider reads
their consumer's databag (consumers() and mesh_info() agree with their provider) and
theirs reads ours; provider labels and mesh type go both ways.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from charmlibs.interfaces import service_mesh as eco
from ops import testing

from meshops.interfaces import service_mesh as sm

from .mesh_charms import (
    LABELS,
    consumer_context,
    make_consumer,
    make_eco_consumer,
    make_eco_provider,
    make_provider,
    mesh_relation,
    provider_context,
    provider_data,
    seen_after_update_status,
    state,
)

# Each policy spec is built twice: with their classes and with ours.
PolicySpec = tuple[str, dict[str, Any]]

SPECS: dict[str, list[PolicySpec]] = {
    "app": [("app", {"relation": "data", "endpoints": [{"ports": [8080]}]})],
    "app-with-service": [
        (
            "app",
            {
                "relation": "data",
                "service": "target-api",
                "endpoints": [
                    {
                        "hosts": ["target.m.svc:8080"],
                        "ports": [8080, 8443],
                        "methods": ["GET", "POST"],
                        "paths": ["/api/*", "/health"],
                    },
                    {"paths": ["/metrics"]},
                ],
            },
        )
    ],
    "app-endpoint-any": [("app", {"relation": "data", "endpoints": [{}]})],
    "unit-with-ports": [("unit", {"relation": "metrics", "ports": [9090, 9091]})],
    "unit-all-ports": [("unit", {"relation": "metrics"})],
    "mixed": [
        ("unit", {"relation": "metrics", "ports": [9090]}),
        ("app", {"relation": "data", "endpoints": [{"methods": ["GET"], "ports": [80]}]}),
        ("app", {"relation": "metrics", "endpoints": [{"paths": ["/metrics"]}]}),
    ],
}


def ours(spec: list[PolicySpec]) -> list[sm.AppPolicy | sm.UnitPolicy]:
    result: list[sm.AppPolicy | sm.UnitPolicy] = []
    for kind, kwargs in spec:
        if kind == "unit":
            result.append(sm.UnitPolicy(**kwargs))
        else:
            endpoints = [sm.Endpoint(**e) for e in kwargs["endpoints"]]
            result.append(sm.AppPolicy(**{**kwargs, "endpoints": endpoints}))
    return result


def theirs(spec: list[PolicySpec]) -> list[Any]:
    result: list[Any] = []
    for kind, kwargs in spec:
        if kind == "unit":
            result.append(eco.UnitPolicy(**kwargs))
        else:
            endpoints = [eco.Endpoint(**e) for e in kwargs["endpoints"]]
            result.append(eco.AppPolicy(**{**kwargs, "endpoints": endpoints}))
    return result


def related(cross_model: bool) -> list[testing.Relation]:
    """The consumer's relations: a mesh, callers over data and metrics, maybe via CMR."""
    if not cross_model:
        return [
            testing.Relation("data", remote_app_name="client"),
            testing.Relation("data", remote_app_name="other"),
            testing.Relation("metrics", remote_app_name="prometheus"),
        ]
    cmr = {"cmr_data": json.dumps({"app_name": "grafana", "juju_model_name": "cos"})}
    return [
        testing.Relation("provide-cmr-mesh", remote_app_name="remote-0f1e2d", remote_app_data=cmr),
        testing.Relation("data", remote_app_name="remote-0f1e2d"),
        testing.Relation("metrics", remote_app_name="remote-0f1e2d"),
        testing.Relation("data", remote_app_name="client"),
    ]


def published(charm: Any, relations: list[testing.Relation]) -> str:
    """The raw ``policies`` value ``charm`` publishes on mesh relation-created.

    Both sides of a comparison get the same relation objects: the order Juju lists
    relations in follows their ids.
    """
    mesh = mesh_relation(remote_app_data=provider_data())
    ctx = consumer_context(charm)
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, *relations))
    return out.get_relation(mesh.id).local_app_data["policies"]


@pytest.mark.parametrize("cross_model", [False, True], ids=["in-model", "cross-model"])
@pytest.mark.parametrize("name", list(SPECS))
def test_our_consumer_writes_their_bytes(name: str, cross_model: bool) -> None:
    spec, relations = SPECS[name], related(cross_model)
    our_bytes = published(make_consumer(ours(spec)), relations)
    their_bytes = published(make_eco_consumer(theirs(spec)), relations)
    assert our_bytes == their_bytes
    assert json.loads(our_bytes)  # not trivially equal


def test_no_policies_is_an_empty_list_on_both_sides() -> None:
    relations = related(False)
    assert published(make_consumer(), relations) == "[]"
    assert published(make_eco_consumer(), relations) == "[]"


def test_cmr_data_bytes() -> None:
    values: list[dict[str, str]] = []
    for charm in (make_consumer(), make_eco_consumer()):
        ctx = consumer_context(charm)
        cmr = testing.Relation("require-cmr-mesh", remote_app_name="remote-1")
        out = ctx.run(ctx.on.relation_created(cmr), state(cmr))
        values.append(dict(out.get_relation(cmr.id).local_app_data))
    assert values[0] == values[1]
    assert values[0] == {"cmr_data": '{"app_name": "target", "juju_model_name": "m"}'}


def provider_sees(charm: Any, policies_raw: str) -> dict[str, Any]:
    rel = testing.Relation(
        "service-mesh", remote_app_name="target", remote_app_data={"policies": policies_raw}
    )
    return seen_after_update_status(charm, provider_context(charm), state(rel))


@pytest.mark.parametrize("cross_model", [False, True], ids=["in-model", "cross-model"])
@pytest.mark.parametrize("name", list(SPECS))
def test_our_provider_reads_their_consumer(name: str, cross_model: bool) -> None:
    raw = published(make_eco_consumer(theirs(SPECS[name])), related(cross_model))
    seen = provider_sees(make_provider(), raw)
    their_seen = provider_sees(make_eco_provider(), raw)
    [consumer] = seen["consumers"]
    assert consumer.problems == ()
    assert consumer.app == "target"
    assert [p.model_dump() for p in seen["mesh_info"]] == [
        p.model_dump() for p in their_seen["mesh_info"]
    ]
    assert consumer.policies == tuple(p.to_model() for p in seen["mesh_info"])
    assert len(consumer.policies) == len(json.loads(raw))


@pytest.mark.parametrize("cross_model", [False, True], ids=["in-model", "cross-model"])
@pytest.mark.parametrize("name", list(SPECS))
def test_their_provider_reads_our_consumer(name: str, cross_model: bool) -> None:
    raw = published(make_consumer(ours(SPECS[name])), related(cross_model))
    their_seen = provider_sees(make_eco_provider(), raw)
    assert [p.model_dump(mode="json") for p in their_seen["mesh_info"]] == json.loads(raw)


def test_provider_databags_are_the_same_bytes() -> None:
    values: list[dict[str, str]] = []
    for charm in (make_provider(), make_eco_provider()):
        ctx = provider_context(charm)
        rel = testing.Relation("service-mesh", remote_app_name="target")
        out = ctx.run(ctx.on.relation_created(rel), state(rel))
        values.append(dict(out.get_relation(rel.id).local_app_data))
    assert values[0] == values[1] == provider_data()


def our_provider_databag(labels: dict[str, str]) -> dict[str, str]:
    charm = make_provider(labels)
    ctx = provider_context(charm)
    rel = testing.Relation("service-mesh", remote_app_name="target")
    out = ctx.run(ctx.on.relation_created(rel), state(rel))
    return dict(out.get_relation(rel.id).local_app_data)


def test_their_consumer_reads_our_provider() -> None:
    charm = make_eco_consumer()
    bag = our_provider_databag(LABELS)
    seen = seen_after_update_status(
        charm, consumer_context(charm), state(mesh_relation(remote_app_data=bag))
    )
    assert seen == {"labels": LABELS, "enabled": True, "mesh_type": eco.MeshType.istio}


def test_our_consumer_reads_their_provider() -> None:
    provider = make_eco_provider()
    ctx = provider_context(provider)
    rel = testing.Relation("service-mesh", remote_app_name="target")
    bag = dict(
        ctx.run(ctx.on.relation_created(rel), state(rel)).get_relation(rel.id).local_app_data
    )
    charm = make_consumer()
    seen = seen_after_update_status(
        charm, consumer_context(charm), state(mesh_relation(remote_app_data=bag))
    )
    assert seen == {"labels": LABELS, "enabled": True, "mesh_type": sm.MeshType.istio}


def test_wire_models_dump_like_theirs() -> None:
    kwargs: dict[str, Any] = {
        "source_namespace": "cos",
        "source_app_name": "grafana",
        "target_namespace": "m",
        "target_selector_labels": {"app": "x"},
        "target_type": "unit",
        "endpoints": [{"ports": [80]}],
    }
    assert json.dumps(sm.MeshPolicy(**kwargs).model_dump()) == json.dumps(
        eco.MeshPolicy(**kwargs).model_dump()
    )
    cmr = {"app_name": "a", "juju_model_name": "b"}
    assert sm.CMRData(**cmr).model_dump() == eco.CMRData(**cmr).model_dump()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_type": "app"},
        {"target_type": "app", "target_app_name": "b"},
        {"target_type": "app", "target_service": "svc"},
        {"target_type": "app", "target_app_name": "b", "target_selector_labels": {"a": "b"}},
        {"target_type": "unit"},
        {"target_type": "unit", "target_app_name": "b"},
        {"target_type": "unit", "target_selector_labels": {"a": "b"}},
        {"target_type": "unit", "target_app_name": "b", "target_selector_labels": {"a": "b"}},
        {"target_type": "unit", "target_app_name": "b", "target_service": "svc"},
    ],
)
def test_cross_field_rules_match_theirs(kwargs: dict[str, Any]) -> None:
    base = {"source_namespace": "m", "source_app_name": "a", "target_namespace": "m", **kwargs}

    def accepts(cls: Any) -> bool:
        try:
            cls(**base)
        except ValueError:
            return False
        return True

    assert accepts(sm.MeshPolicy) == accepts(eco.MeshPolicy)
