"""Table tests for meshops.plan.mesh: waypoints, mesh labels and AuthorizationPolicies."""

from __future__ import annotations

from typing import Any

import pytest

from meshops.k8s import Api, make_client
from meshops.k8s.kinds import AUTHORIZATION_POLICY, GATEWAY
from meshops.model import Endpoint, MeshPolicy, Method, TargetType
from meshops.plan.mesh import (
    POLICY_SOURCE_LABEL,
    PolicySet,
    authorization_policies,
    authorization_policy,
    namespace_labels,
    waypoint,
    workload_labels,
)


def app_policy(**kw: object) -> MeshPolicy:
    base: dict[str, object] = {
        "source_namespace": "m",
        "source_app_name": "grafana",
        "target_namespace": "m",
        "target_app_name": "prometheus",
        "endpoints": (Endpoint(ports=(9090,), methods=(Method.get,), paths=("/api/v1/*",)),),
    }
    base.update(kw)
    return MeshPolicy(**base)  # type: ignore[arg-type]


def test_waypoint_is_an_hbone_gateway_for_services() -> None:
    assert waypoint("m", "beacon-waypoint") == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": "beacon-waypoint",
            "namespace": "m",
            "labels": {"istio.io/waypoint-for": "service"},
        },
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        },
    }


def test_namespace_and_workload_labels() -> None:
    assert namespace_labels("w") == {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": "w",
    }
    assert workload_labels("m", "w", namespace_on_mesh=True) == {}
    assert workload_labels("m", "w", namespace_on_mesh=False) == {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": "w",
        "istio.io/use-waypoint-namespace": "m",
    }


SPEC_CASES = [
    pytest.param(
        app_policy(),
        {
            "targetRefs": [{"kind": "Service", "group": "", "name": "prometheus"}],
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}],
                    "to": [
                        {
                            "operation": {
                                "ports": ["9090"],
                                "methods": ["GET"],
                                "paths": ["/api/v1/*"],
                            }
                        }
                    ],
                }
            ],
        },
        id="app policy: L7 at the waypoint, targeting the Service",
    ),
    pytest.param(
        app_policy(target_service="prom-svc", source_namespace="other"),
        {
            "targetRefs": [{"kind": "Service", "group": "", "name": "prom-svc"}],
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/other/sa/grafana"]}}],
                    "to": [
                        {
                            "operation": {
                                "ports": ["9090"],
                                "methods": ["GET"],
                                "paths": ["/api/v1/*"],
                            }
                        }
                    ],
                }
            ],
        },
        id="explicit service, cross-namespace source",
    ),
    pytest.param(
        app_policy(
            endpoints=(
                Endpoint(hosts=("prom.example",), ports=(80,)),
                Endpoint(ports=(9090,), methods=(Method.post, Method.put)),
            )
        ),
        {
            "targetRefs": [{"kind": "Service", "group": "", "name": "prometheus"}],
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}],
                    "to": [
                        {"operation": {"hosts": ["prom.example"], "ports": ["80"]}},
                        {"operation": {"ports": ["9090"], "methods": ["POST", "PUT"]}},
                    ],
                }
            ],
        },
        id="several endpoints become several operations (OR)",
    ),
    pytest.param(
        app_policy(endpoints=(Endpoint(),)),
        {
            "targetRefs": [{"kind": "Service", "group": "", "name": "prometheus"}],
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}]}],
        },
        id="an endpoint with no constraint allows every operation",
    ),
    pytest.param(
        app_policy(
            target_type=TargetType.unit,
            endpoints=(Endpoint(ports=(9090, 9091)),),
        ),
        {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}],
                    "to": [{"operation": {"ports": ["9090", "9091"]}}],
                }
            ],
        },
        id="unit policy: L4 at ztunnel, selecting the pods",
    ),
    pytest.param(
        app_policy(
            target_type=TargetType.unit,
            target_app_name=None,
            target_selector_labels=(("tier", "db"), ("app", "pg")),
            endpoints=(),
        ),
        {
            "selector": {"matchLabels": {"app": "pg", "tier": "db"}},
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}]}],
        },
        id="unit policy by labels, every port",
    ),
    pytest.param(
        app_policy(source_service_account="grafana-sa"),
        {
            "targetRefs": [{"kind": "Service", "group": "", "name": "prometheus"}],
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana-sa"]}}],
                    "to": [
                        {
                            "operation": {
                                "ports": ["9090"],
                                "methods": ["GET"],
                                "paths": ["/api/v1/*"],
                            }
                        }
                    ],
                }
            ],
        },
        id="a service account other than the app's name",
    ),
]


@pytest.mark.parametrize(("policy", "spec"), SPEC_CASES)
def test_authorization_policy_spec(policy: MeshPolicy, spec: dict[str, object]) -> None:
    obj = authorization_policy(policy, prefix="beacon", source="grafana")
    assert obj["apiVersion"] == "security.istio.io/v1"
    assert obj["kind"] == "AuthorizationPolicy"
    assert obj["metadata"]["namespace"] == policy.target_namespace
    assert obj["metadata"]["labels"] == {POLICY_SOURCE_LABEL: "grafana"}
    assert obj["spec"] == spec


def test_unit_policy_with_l7_fields_is_a_problem_not_dropped() -> None:
    bad = app_policy(
        target_type=TargetType.unit, endpoints=(Endpoint(ports=(80,), paths=("/x",)),)
    )
    good = app_policy(source_app_name="loki")
    objects, problems = authorization_policies(
        [
            PolicySet("service-mesh:1", "grafana", (app_policy(), bad)),
            PolicySet("service-mesh:2", "loki", (good,)),
        ],
        prefix="beacon",
    )
    # grafana's whole set is refused: half of what it asked for is not what it asked for
    assert [o["metadata"]["labels"][POLICY_SOURCE_LABEL] for o in objects] == ["loki"]
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.source, problem.app, problem.field) == (
        "service-mesh:1",
        "grafana",
        "policies[1]",
    )
    assert "paths=['/x']" in problem.message
    assert "unit policy" in problem.message


def test_names_are_stable_valid_and_distinct() -> None:
    long = "a" * 60
    p1 = app_policy(source_app_name=long, target_app_name=long + "b")
    p2 = app_policy(
        source_app_name=long, target_app_name=long + "b", endpoints=(Endpoint(ports=(1,)),)
    )
    n1 = authorization_policy(p1, prefix="istio-beacon-k8s", source=long)["metadata"]["name"]
    n2 = authorization_policy(p2, prefix="istio-beacon-k8s", source=long)["metadata"]["name"]
    assert n1 != n2
    assert (
        n1 == authorization_policy(p1, prefix="istio-beacon-k8s", source=long)["metadata"]["name"]
    )
    for name in (n1, n2):
        assert len(name) <= 63
        assert name.replace("-", "").isalnum() and name.islower()


def test_unicode_and_odd_names_still_give_valid_objects() -> None:
    p = app_policy(source_app_name="grafäna_Ü", target_app_name="prö")
    obj = authorization_policy(p, prefix="beacon", source="grafäna_Ü")
    name = obj["metadata"]["name"]
    assert len(name) <= 63 and all(c.isascii() and (c.isalnum() or c == "-") for c in name)
    label = obj["metadata"]["labels"][POLICY_SOURCE_LABEL]
    assert len(label) <= 63 and label.isascii()


def test_identical_policies_collapse_into_one_object() -> None:
    objects, problems = authorization_policies(
        [PolicySet("s", "grafana", (app_policy(), app_policy()))], prefix="beacon"
    )
    assert len(objects) == 1
    assert problems == []


def test_objects_are_sorted_by_namespace_and_name() -> None:
    sets = [
        PolicySet("s", app, (app_policy(source_app_name=app),)) for app in ("zeta", "alpha", "mid")
    ]
    objects, _ = authorization_policies(sets, prefix="beacon")
    names = [o["metadata"]["name"] for o in objects]
    assert names == sorted(names)


def test_unit_policy_also_allows_the_waypoint_in_front_of_the_service() -> None:
    unit = app_policy(target_type=TargetType.unit, endpoints=(Endpoint(ports=(9090,)),))
    objects, _ = authorization_policies(
        [PolicySet("s", "grafana", (unit, app_policy()))],
        prefix="b",
        waypoints={"m": "b-waypoint"},
    )
    by_kind = {"selector" in o["spec"]: o["spec"]["rules"] for o in objects}
    assert by_kind[True][1] == {
        "from": [{"source": {"principals": ["cluster.local/ns/m/sa/b-waypoint"]}}]
    }
    # an app policy is enforced at the waypoint itself: nothing to add
    assert len(by_kind[False]) == 1
    # a namespace without a waypoint: only the caller
    objects, _ = authorization_policies([PolicySet("s", "grafana", (unit,))], prefix="b")
    assert len(objects[0]["spec"]["rules"]) == 1


@pytest.mark.parametrize(("policy", "spec"), SPEC_CASES)
def test_objects_validate_against_the_upstream_crds(
    policy: MeshPolicy, spec: dict[str, object], make_fake: Any
) -> None:
    fake = make_fake(
        "gateways.gateway.networking.k8s.io",
        "authorizationpolicies.security.istio.io",
        namespaces=[policy.target_namespace],
    )
    api = Api(make_client(fake.transport, field_manager="t"), field_manager="t")
    obj = authorization_policy(
        policy, prefix="beacon", source="grafana", waypoint="beacon-waypoint"
    )
    api.apply(obj, AUTHORIZATION_POLICY)  # a 422 raises meshops.k8s.Invalid
    api.apply(waypoint(policy.target_namespace, "beacon-waypoint"), GATEWAY)
