"""ServiceMeshProvider under ops.testing: publishing labels, reading every consumer leniently.

Covers the provider databag (leader only, every relation, set_labels), consumers() on
valid and invalid ``policies`` databags (all-or-nothing per consumer, one Problem per
bad policy naming relation, app and field precisely), one bad consumer beside a good
one, and mesh_info() leaving bad consumers out instead of raising.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from ops import testing

from meshops import model
from meshops.interfaces import service_mesh as sm

from .mesh_charms import (
    MODEL,
    endpoint_dict,
    make_provider,
    policy_dict,
    provider_context,
    provider_data,
    seen_after_update_status,
    state,
)


def consumer_relation(
    app: str, policies: Any = None, *, raw: str | None = None
) -> testing.Relation:
    data = (
        {}
        if policies is None and raw is None
        else {"policies": raw if raw is not None else json.dumps(policies)}
    )
    return testing.Relation("service-mesh", remote_app_name=app, remote_app_data=data)


def read(*relations: testing.Relation) -> dict[str, Any]:
    charm = make_provider()
    return seen_after_update_status(charm, provider_context(charm), state(*relations))


GOOD = [
    policy_dict("client", endpoints=[endpoint_dict(ports=[8080], methods=["GET"], paths=["/x"])]),
    policy_dict("prometheus", target_type="unit", endpoints=[endpoint_dict(ports=[9090])]),
    policy_dict("grafana", source_namespace="cos", target_type="unit"),
]
GOOD_MODELS = (
    model.MeshPolicy(
        source_namespace=MODEL,
        source_app_name="client",
        target_namespace=MODEL,
        target_app_name="target",
        endpoints=(model.Endpoint(ports=(8080,), methods=(model.Method.get,), paths=("/x",)),),
    ),
    model.MeshPolicy(
        source_namespace=MODEL,
        source_app_name="prometheus",
        target_namespace=MODEL,
        target_app_name="target",
        target_type=model.TargetType.unit,
        endpoints=(model.Endpoint(ports=(9090,)),),
    ),
    model.MeshPolicy(
        source_namespace="cos",
        source_app_name="grafana",
        target_namespace=MODEL,
        target_app_name="target",
        target_type=model.TargetType.unit,
    ),
)


# -- publishing ------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["relation_created", "leader_elected", "config_changed"])
def test_leader_publishes_labels_and_mesh_type_to_every_relation(event: str) -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    a, b = consumer_relation("a"), consumer_relation("b")
    trigger = (
        ctx.on.relation_created(a) if event == "relation_created" else getattr(ctx.on, event)()
    )
    out = ctx.run(trigger, state(a, b))
    for rel in (a, b):
        assert out.get_relation(rel.id).local_app_data == provider_data()


def test_provider_databag_bytes() -> None:
    charm = make_provider({"istio.io/dataplane-mode": "ambient"})
    ctx = provider_context(charm)
    rel = consumer_relation("a")
    out = ctx.run(ctx.on.relation_created(rel), state(rel))
    assert out.get_relation(rel.id).local_app_data == {
        "labels": '{"istio.io/dataplane-mode": "ambient"}',
        "mesh_type": '"istio"',
    }


def test_non_leader_does_not_publish() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    rel = consumer_relation("a")
    out = ctx.run(ctx.on.relation_created(rel), state(rel, leader=False))
    assert out.get_relation(rel.id).local_app_data == {}


def test_set_labels_replaces_the_published_labels() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    rel = testing.Relation("service-mesh", remote_app_name="a", local_app_data=provider_data())
    new = {"istio.io/dataplane-mode": "ambient"}
    st = testing.State(
        leader=True,
        relations=[rel],
        model=testing.Model(name=MODEL),
        config={"labels": json.dumps(new)},
    )
    out = ctx.run(ctx.on.config_changed(), st)
    assert json.loads(out.get_relation(rel.id).local_app_data["labels"]) == new


def test_invalid_labels_are_the_charm_authors_error() -> None:
    with pytest.raises(pydantic.ValidationError, match="not a valid Kubernetes label key"):
        sm.ServiceMeshProviderAppData(labels={"bad key": "x"}, mesh_type=sm.MeshType.istio)
    with pytest.raises(pydantic.ValidationError, match="not a valid Kubernetes label value"):
        sm.ServiceMeshProviderAppData(labels={"k": "v" * 64}, mesh_type=sm.MeshType.istio)


# -- reading ---------------------------------------------------------------------------


def test_a_valid_consumer() -> None:
    rel = consumer_relation("target", GOOD)
    seen = read(rel)
    assert seen["consumers"] == [
        sm.ConsumerPolicies(relation_id=rel.id, app="target", policies=GOOD_MODELS, problems=())
    ]
    assert [p.model_dump(mode="json") for p in seen["mesh_info"]] == GOOD


def test_a_consumer_that_wrote_nothing_yet() -> None:
    rel = consumer_relation("target")
    assert read(rel)["consumers"] == [
        sm.ConsumerPolicies(relation_id=rel.id, app="target", policies=(), problems=())
    ]


def test_no_consumers() -> None:
    assert read() == {"consumers": [], "mesh_info": []}


def bad(**changes: Any) -> dict[str, Any]:
    """A valid app policy with some fields changed."""
    policy = policy_dict("client", endpoints=[endpoint_dict(ports=[8080])])
    policy.update(changes)
    return policy


def bad_endpoint(**changes: Any) -> dict[str, Any]:
    return bad(endpoints=[endpoint_dict(ports=[80]), endpoint_dict(**changes)])


@pytest.mark.parametrize(
    ("policy", "field", "message"),
    [
        (
            bad_endpoint(ports=[80, 0]),
            "endpoints[1].ports[1]",
            "port 0 must be an integer 1-65535",
        ),
        (bad_endpoint(ports=[65536]), "endpoints[1].ports[0]", "port 65536"),
        (bad_endpoint(ports=[True]), "endpoints[1].ports[0]", "valid integer, got True"),
        (bad_endpoint(ports=["80a"]), "endpoints[1].ports[0]", "valid integer, unable to parse"),
        (bad_endpoint(ports=[80.5]), "endpoints[1].ports[0]", "valid integer, got a number"),
        (bad_endpoint(ports=[None]), "endpoints[1].ports[0]", "got None"),
        (bad_endpoint(ports=80), "endpoints[1].ports", "valid list, got 80"),
        (bad_endpoint(methods=["GET", "FETCH"]), "endpoints[1].methods[1]", "got 'FETCH'"),
        (bad_endpoint(methods=["get"]), "endpoints[1].methods[0]", "got 'get'"),
        (bad_endpoint(paths=["api"]), "endpoints[1].paths[0]", "path 'api' must start with '/'"),
        (bad_endpoint(paths=["/a\x00"]), "endpoints[1].paths[0]", "may hold only letters"),
        (
            bad_endpoint(paths=["/data/../admin"]),
            "endpoints[1].paths[0]",
            "path '/data/../admin' must not contain '/../'",
        ),
        (bad_endpoint(hosts=["a b"]), "endpoints[1].hosts[0]", "host 'a b'"),
        (bad(endpoints=[]), "endpoints", "an app policy needs at least one endpoint"),
        (bad(endpoints="all"), "endpoints", "valid list, got 'all'"),
        (bad(endpoints=[7]), "endpoints[0]", "must be a JSON object, got 7"),
        (bad(target_type="pod"), "target_type", "got 'pod'"),
        (bad(target_type=None), "target_type", "got None"),
        (bad(source_app_name=None), "source_app_name", "valid string, got None"),
        (bad(source_app_name=5), "source_app_name", "valid string, got 5"),
        (bad(source_app_name=""), "source_app_name", "'' must be a non-empty string"),
        (bad(source_app_name="cli\x00ent"), "source_app_name", "'cli\\x00ent' is not a valid"),
        (bad(target_namespace="ns/x"), "target_namespace", "'ns/x' is not a valid name"),
        (bad(target_app_name=None), "target_app_name", "needs target_app_name or target_service"),
        (bad(target_selector_labels={"a": "b"}), "target_selector_labels", "cannot select pods"),
        (bad(target_type="unit", target_service="svc"), "target_service", "got 'svc'"),
        (
            bad(target_type="unit", target_app_name=None, target_selector_labels={"a b": "c"}),
            "target_selector_labels",
            "label key 'a b' is not a valid Kubernetes label key",
        ),
        (
            {k: v for k, v in bad().items() if k != "source_namespace"},
            "source_namespace",
            "is required",
        ),
        ([1, 2], "", "must be a JSON object, got [1, 2]"),
        ("policy", "", "must be a JSON object, got 'policy'"),
        (None, "", "must be a JSON object, got None"),
    ],
)
def test_an_invalid_policy_voids_its_consumer(policy: Any, field: str, message: str) -> None:
    good = GOOD[0]
    rel = consumer_relation("target", [good, policy, good])
    [consumer] = read(rel)["consumers"]
    assert consumer.policies == ()
    [problem] = consumer.problems
    expected_field = f"policies[1].{field}" if field else "policies[1]"
    assert (problem.source, problem.app, problem.field) == (
        f"service-mesh:{rel.id}",
        "target",
        expected_field,
    )
    assert message in problem.message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "is not valid JSON"),
        ("", "is not valid JSON"),
        ('{"policies": []}', "must be a JSON list of policies, got an object {'policies': []}"),
        ("null", "must be a JSON list of policies, got null"),
        ("42", "got a number 42"),
        ('"[]"', "got a string '[]'"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("9" * 5000, "is not valid JSON"),
        (json.dumps(["x" * (1 << 20)]), "over the limit of 1048576"),
        (json.dumps([{}] * 10_001), "holds 10001 policies, over the limit of 10000"),
    ],
)
def test_an_unreadable_databag_is_one_problem(raw: str, message: str) -> None:
    rel = consumer_relation("target", raw=raw)
    [consumer] = read(rel)["consumers"]
    assert consumer.policies == ()
    [problem] = consumer.problems
    assert problem.field == "policies"
    assert message in problem.message


def test_multibyte_text_counts_in_bytes() -> None:
    raw = json.dumps(["\u00e9" * 600_000], ensure_ascii=False)  # 600k chars, 1.2 MB
    [consumer] = read(consumer_relation("target", raw=raw))["consumers"]
    assert "1200004 bytes, over the limit" in consumer.problems[0].message


def test_each_bad_policy_is_named() -> None:
    policies = [GOOD[0], bad_endpoint(ports=[0]), GOOD[1], bad(target_type="pod"), "x"]
    [consumer] = read(consumer_relation("target", policies))["consumers"]
    assert [p.field for p in consumer.problems] == [
        "policies[1].endpoints[1].ports[0]",
        "policies[3].target_type",
        "policies[4]",
    ]


def test_problems_are_capped() -> None:
    [consumer] = read(consumer_relation("target", [None] * 500))["consumers"]
    assert len(consumer.problems) == 100
    assert consumer.problems[-1].message == "and 401 more problems"


def test_errors_per_policy_are_capped() -> None:
    policy = bad(endpoints=[endpoint_dict(ports=[True] * 50)])
    [consumer] = read(consumer_relation("target", [policy]))["consumers"]
    assert [p.field for p in consumer.problems][-2:] == [
        "policies[0].endpoints[0].ports[4]",
        "policies[0]",
    ]
    assert consumer.problems[-1].message == "and 45 more errors"


def test_long_values_are_quoted_short() -> None:
    [consumer] = read(consumer_relation("target", [bad(source_app_name="a" * 100_000)]))[
        "consumers"
    ]
    [problem] = consumer.problems
    assert problem.field == "policies[0].source_app_name"
    assert len(problem.message) <= 300
    assert problem.message.endswith("at most 253)")


def test_unknown_keys_are_ignored() -> None:
    policy = {**GOOD[0], "source_service_account": "x", "future": {"a": 1}}
    policy["endpoints"] = [{**GOOD[0]["endpoints"][0], "headers": ["x"]}]
    [consumer] = read(consumer_relation("target", [policy]))["consumers"]
    assert consumer.problems == ()
    assert consumer.policies == GOOD_MODELS[:1]


def test_one_bad_consumer_does_not_affect_another() -> None:
    good = consumer_relation("target", GOOD)
    hostile = consumer_relation("hostile", raw='[{"source_namespace": []}]')
    seen = read(hostile, good)
    by_app = {c.app: c for c in seen["consumers"]}
    assert by_app["target"].policies == GOOD_MODELS
    assert by_app["target"].problems == ()
    assert by_app["hostile"].policies == ()
    assert by_app["hostile"].problems[0].source == f"service-mesh:{hostile.id}"
    assert [p.model_dump(mode="json") for p in seen["mesh_info"]] == GOOD


def test_problems_are_logged_as_warnings() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    rel = consumer_relation("hostile", raw="nope")
    seen = seen_after_update_status(charm, ctx, state(rel))
    [problem] = seen["consumers"][0].problems
    assert problem.source == f"service-mesh:{rel.id}"
    assert any(line.level == "WARNING" and str(problem) in line.message for line in ctx.juju_log)
