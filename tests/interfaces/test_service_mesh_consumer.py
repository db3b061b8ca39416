"""ServiceMeshConsumer under ops.testing: the policies it publishes, cmr_data, provider data.

Covers app and unit policies in-model and across models, which events republish,
relation-broken of a policy relation, the leader-only rule, declared policies the
domain rejects, the deprecated ``Policy``, and labels()/enabled/mesh_type() with good,
absent and malformed provider data (never an exception from the hook).
"""

from __future__ import annotations

import json
from typing import Any

import ops
import pydantic
import pytest
from ops import testing

from meshops.interfaces import service_mesh as sm

from .mesh_charms import (
    LABELS,
    MODEL,
    consumer_context,
    endpoint_dict,
    make_consumer,
    mesh_relation,
    policies_of,
    policy_dict,
    provider_data,
    seen_after_update_status,
    state,
)

APP_POLICY = sm.AppPolicy(
    relation="data",
    endpoints=[sm.Endpoint(ports=[8080], methods=[sm.Method.get], paths=["/data"])],
)
UNIT_POLICY = sm.UnitPolicy(relation="metrics", ports=[9090])


def cmr_relation(alias: str, app: str, model: str) -> testing.Relation:
    data = {"cmr_data": json.dumps({"app_name": app, "juju_model_name": model})}
    return testing.Relation("provide-cmr-mesh", remote_app_name=alias, remote_app_data=data)


def test_app_policy_in_model() -> None:
    charm = make_consumer([APP_POLICY])
    mesh, client = mesh_relation(), testing.Relation("data", remote_app_name="client")
    out = consumer_context(charm).run(
        consumer_context(charm).on.relation_created(mesh), state(mesh, client)
    )
    expected = endpoint_dict(ports=[8080], methods=["GET"], paths=["/data"])
    assert policies_of(out, mesh) == [policy_dict("client", endpoints=[expected])]


def test_app_policy_with_service_and_every_endpoint_field() -> None:
    policy = sm.AppPolicy(
        relation="data",
        service="target-api",
        endpoints=[
            sm.Endpoint(
                hosts=["target.m.svc"], ports=[80, 443], methods=["POST"], paths=["/api/*"]
            ),
            sm.Endpoint(ports=[9000]),
        ],
    )
    charm = make_consumer([policy])
    ctx = consumer_context(charm)
    mesh, client = mesh_relation(), testing.Relation("data", remote_app_name="client")
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, client))
    endpoints = [
        endpoint_dict(hosts=["target.m.svc"], ports=[80, 443], methods=["POST"], paths=["/api/*"]),
        endpoint_dict(ports=[9000]),
    ]
    assert policies_of(out, mesh) == [
        policy_dict("client", service="target-api", endpoints=endpoints)
    ]


@pytest.mark.parametrize(
    ("policy", "endpoints"),
    [
        (UNIT_POLICY, [endpoint_dict(ports=[9090])]),
        (sm.UnitPolicy(relation="metrics"), []),
    ],
)
def test_unit_policy(policy: sm.UnitPolicy, endpoints: list[dict[str, Any]]) -> None:
    charm = make_consumer([policy])
    ctx = consumer_context(charm)
    mesh, scraper = mesh_relation(), testing.Relation("metrics", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, scraper))
    assert policies_of(out, mesh) == [
        policy_dict("prometheus", target_type="unit", endpoints=endpoints)
    ]


def test_one_policy_per_related_app_and_declared_policy() -> None:
    charm = make_consumer([APP_POLICY, UNIT_POLICY])
    ctx = consumer_context(charm)
    mesh = mesh_relation()
    a = testing.Relation("data", remote_app_name="a")
    b = testing.Relation("data", remote_app_name="b")
    prom = testing.Relation("metrics", remote_app_name="prometheus")
    out = ctx.run(ctx.on.upgrade_charm(), state(mesh, a, b, prom))
    published = [(p["source_app_name"], p["target_type"]) for p in policies_of(out, mesh)]
    assert published == [("a", "app"), ("b", "app"), ("prometheus", "unit")]


def test_cross_model_caller_is_named_by_its_cmr_data() -> None:
    charm = make_consumer([APP_POLICY, UNIT_POLICY])
    ctx = consumer_context(charm)
    mesh = mesh_relation()
    cmr = cmr_relation("remote-1a2b3c", "grafana", "cos")
    data = testing.Relation("data", remote_app_name="remote-1a2b3c")
    metrics = testing.Relation("metrics", remote_app_name="remote-1a2b3c")
    out = ctx.run(ctx.on.relation_changed(cmr), state(mesh, cmr, data, metrics))
    policies = policies_of(out, mesh)
    assert [(p["source_app_name"], p["source_namespace"]) for p in policies] == [
        ("grafana", "cos"),
        ("grafana", "cos"),
    ]
    assert all(p["target_namespace"] == MODEL for p in policies)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps({"app_name": "grafana"}),
        json.dumps({"app_name": "", "juju_model_name": "cos"}),
        json.dumps({"app_name": "graf\x00ana", "juju_model_name": "cos"}),
        json.dumps(["grafana", "cos"]),
    ],
)
def test_malformed_cmr_data_falls_back_to_the_alias(raw: str) -> None:
    charm = make_consumer([APP_POLICY])
    ctx = consumer_context(charm)
    mesh = mesh_relation()
    cmr = testing.Relation(
        "provide-cmr-mesh", remote_app_name="remote-1a2b", remote_app_data={"cmr_data": raw}
    )
    data = testing.Relation("data", remote_app_name="remote-1a2b")
    out = ctx.run(ctx.on.relation_changed(cmr), state(mesh, cmr, data))
    [policy] = policies_of(out, mesh)
    assert (policy["source_app_name"], policy["source_namespace"]) == ("remote-1a2b", MODEL)
    assert any(line.level == "WARNING" and "cross-model" in line.message for line in ctx.juju_log)


def test_cmr_requirer_publishes_our_name_and_model() -> None:
    charm = make_consumer()
    ctx = consumer_context(charm)
    cmr = testing.Relation("require-cmr-mesh", remote_app_name="remote-9f")
    out = ctx.run(ctx.on.relation_created(cmr), state(cmr))
    assert out.get_relation(cmr.id).local_app_data == {
        "cmr_data": '{"app_name": "target", "juju_model_name": "m"}'
    }


def test_cmr_requirer_does_nothing_on_a_non_leader() -> None:
    charm = make_consumer()
    ctx = consumer_context(charm)
    cmr = testing.Relation("require-cmr-mesh", remote_app_name="remote-9f")
    out = ctx.run(ctx.on.relation_created(cmr), state(cmr, leader=False))
    assert out.get_relation(cmr.id).local_app_data == {}


def test_standalone_cross_model_mesh_requirer() -> None:
    class Caller(ops.CharmBase):
        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.cmr = sm.CrossModelMeshRequirer(self, "mesh-peer")

    meta = {"name": "caller", "requires": {"mesh-peer": {"interface": "cross_model_mesh"}}}
    ctx = testing.Context(Caller, meta=meta)
    rel = testing.Relation("mesh-peer", remote_app_name="remote-7")
    out = ctx.run(ctx.on.leader_elected(), state(rel))
    assert json.loads(out.get_relation(rel.id).local_app_data["cmr_data"]) == {
        "app_name": "caller",
        "juju_model_name": MODEL,
    }


def test_broken_policy_relation_removes_its_policies() -> None:
    charm = make_consumer([APP_POLICY])
    ctx = consumer_context(charm)
    a = testing.Relation("data", remote_app_name="a")
    b = testing.Relation("data", remote_app_name="b")
    before = json.dumps([policy_dict("a"), policy_dict("b")])
    mesh = mesh_relation(local_app_data={"policies": before})
    out = ctx.run(ctx.on.relation_broken(b), state(mesh, a, b))
    assert [p["source_app_name"] for p in policies_of(out, mesh)] == ["a"]


def test_new_policy_relation_adds_its_policies() -> None:
    charm = make_consumer([UNIT_POLICY])
    ctx = consumer_context(charm)
    mesh = mesh_relation(local_app_data={"policies": "[]"})
    prom = testing.Relation("metrics", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_created(prom), state(mesh, prom))
    assert [p["source_app_name"] for p in policies_of(out, mesh)] == ["prometheus"]


def test_non_leader_does_not_write_policies() -> None:
    charm = make_consumer([APP_POLICY])
    ctx = consumer_context(charm)
    mesh, client = mesh_relation(), testing.Relation("data", remote_app_name="client")
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, client, leader=False))
    assert out.get_relation(mesh.id).local_app_data == {}


def test_no_mesh_relation_is_a_no_op() -> None:
    charm = make_consumer([APP_POLICY])
    ctx = consumer_context(charm)
    client = testing.Relation("data", remote_app_name="client")
    out = ctx.run(ctx.on.relation_created(client), state(client))
    assert out.get_relation(client.id).local_app_data == {}


def test_a_declared_policy_the_domain_rejects_is_left_out() -> None:
    no_endpoints = sm.AppPolicy(relation="data", endpoints=[])
    bad_path = sm.AppPolicy(relation="data", endpoints=[sm.Endpoint(paths=["data"])])
    charm = make_consumer([no_endpoints, bad_path, UNIT_POLICY])
    ctx = consumer_context(charm)
    mesh = mesh_relation()
    client = testing.Relation("data", remote_app_name="client")
    prom = testing.Relation("metrics", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, client, prom))
    assert [p["source_app_name"] for p in policies_of(out, mesh)] == ["prometheus"]
    errors = [line.message for line in ctx.juju_log if line.level == "ERROR"]
    assert any("endpoints: an app policy needs at least one endpoint" in m for m in errors)
    assert any("path 'data' must start with '/'" in m for m in errors)


def test_deprecated_policy_warns_and_publishes_as_an_app_policy() -> None:
    with pytest.warns(DeprecationWarning, match="use AppPolicy"):
        old = sm.Policy(relation="data", endpoints=[sm.Endpoint(ports=[8080])])
    assert isinstance(old, sm.AppPolicy)
    charm = make_consumer([old])
    ctx = consumer_context(charm)
    mesh, client = mesh_relation(), testing.Relation("data", remote_app_name="client")
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, client))
    assert policies_of(out, mesh) == [
        policy_dict("client", endpoints=[endpoint_dict(ports=[8080])])
    ]


def test_a_misspelt_declaration_is_an_error() -> None:
    with pytest.raises(pydantic.ValidationError, match="port"):
        sm.UnitPolicy(relation="metrics", port=[80])  # type: ignore[call-arg]


def test_a_policy_on_an_undeclared_relation_is_an_error() -> None:
    charm = make_consumer([sm.UnitPolicy(relation="nope")])
    ctx = consumer_context(charm)
    with pytest.raises(testing.errors.UncaughtCharmError, match="'nope'"):
        ctx.run(ctx.on.update_status(), state())


def test_a_charm_without_cross_model_relations_still_works() -> None:
    class Minimal(ops.CharmBase):
        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.mesh = sm.ServiceMeshConsumer(
                self, policies=[sm.UnitPolicy(relation="metrics")], auto_join=False
            )

    meta = {
        "name": "minimal",
        "requires": {"service-mesh": {"interface": "service_mesh"}},
        "provides": {"metrics": {"interface": "prometheus_scrape"}},
    }
    ctx = testing.Context(Minimal, meta=meta)
    mesh = mesh_relation()
    prom = testing.Relation("metrics", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_created(mesh), state(mesh, prom))
    [policy] = json.loads(out.get_relation(mesh.id).local_app_data["policies"])
    assert policy["target_app_name"] == "minimal"


# -- what the provider told us ----------------------------------------------------------


def test_provider_data_is_read() -> None:
    charm = make_consumer()
    mesh = mesh_relation(remote_app_data=provider_data())
    seen = seen_after_update_status(charm, consumer_context(charm), state(mesh))
    assert seen == {"labels": LABELS, "enabled": True, "mesh_type": sm.MeshType.istio}


def test_without_a_mesh_relation() -> None:
    charm = make_consumer()
    seen = seen_after_update_status(charm, consumer_context(charm), state())
    assert seen == {"labels": {}, "enabled": False, "mesh_type": None}


def test_before_the_provider_writes() -> None:
    charm = make_consumer()
    seen = seen_after_update_status(charm, consumer_context(charm), state(mesh_relation()))
    assert seen == {"labels": {}, "enabled": True, "mesh_type": None}


@pytest.mark.parametrize(
    ("databag", "field"),
    [
        ({"labels": "{not json", "mesh_type": '"istio"'}, "labels"),
        ({"labels": '["a"]', "mesh_type": '"istio"'}, "labels"),
        ({"labels": '{"a": 1}', "mesh_type": '"istio"'}, "labels['a']"),
        ({"labels": '{"bad key!": "x"}', "mesh_type": '"istio"'}, "labels['bad key!']"),
        ({"labels": '{"a": "x\\u0000"}', "mesh_type": '"istio"'}, "labels['a']"),
        ({"labels": "{}", "mesh_type": '"linkerd"'}, "mesh_type"),
        ({"labels": "{}", "mesh_type": "istio"}, "mesh_type"),
        ({"labels": "{}"}, "mesh_type"),
        ({"mesh_type": '"istio"'}, "labels"),
        ({"labels": "[" * 100_000, "mesh_type": '"istio"'}, "labels"),
        ({"labels": "{}", "mesh_type": '"' + "x" * (1 << 21) + '"'}, "mesh_type"),
    ],
)
def test_malformed_provider_data_is_ignored_with_a_warning(
    databag: dict[str, str], field: str
) -> None:
    charm = make_consumer()
    ctx = consumer_context(charm)
    seen = seen_after_update_status(charm, ctx, state(mesh_relation(remote_app_data=databag)))
    assert seen == {"labels": {}, "enabled": True, "mesh_type": None}
    warnings = [line.message for line in ctx.juju_log if line.level == "WARNING"]
    assert any("service-mesh:" in m and f": {field}:" in m for m in warnings), warnings


def test_extra_provider_keys_are_ignored() -> None:
    charm = make_consumer()
    databag = {**provider_data(), "future": "not even json"}
    seen = seen_after_update_status(
        charm, consumer_context(charm), state(mesh_relation(remote_app_data=databag))
    )
    assert seen["labels"] == LABELS
