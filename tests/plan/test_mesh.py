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


def one(policy: MeshPolicy, *, app: str = "prometheus", **kw: Any) -> dict[str, Any]:
    """The one AuthorizationPolicy a set of one policy gives."""
    objects, problems = authorization_policies(
        [PolicySet("s", app, (policy,))], prefix="beacon", **kw
    )
    assert problems == []
    (obj,) = objects
    return obj


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
    obj = one(policy)
    assert obj["apiVersion"] == "security.istio.io/v1"
    assert obj["kind"] == "AuthorizationPolicy"
    assert obj["metadata"]["namespace"] == policy.target_namespace
    assert obj["metadata"]["labels"] == {POLICY_SOURCE_LABEL: "prometheus"}
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


def test_names_are_readable_stable_and_distinct() -> None:
    app = one(app_policy())
    assert app["metadata"]["name"] == "beacon-prometheus-svc"
    pods = one(app_policy(target_type=TargetType.unit, endpoints=()))
    assert pods["metadata"]["name"] == "beacon-prometheus-pods"
    other_service = one(app_policy(target_service="prometheus-web"))
    assert other_service["metadata"]["name"] == "beacon-prometheus-svc-prometheus-web"
    # the name does not depend on what the policies say: a change updates the object
    changed = one(app_policy(endpoints=(Endpoint(ports=(1,)),)))
    assert changed["metadata"]["name"] == app["metadata"]["name"]


def test_long_names_stay_valid_and_distinct() -> None:
    long = "a" * 60
    names = {
        one(app_policy(target_app_name=long + s), app=long + s)["metadata"]["name"]
        for s in ("b", "c")
    }
    assert len(names) == 2
    for name in names:
        assert len(name) <= 63
        assert name.replace("-", "").isalnum() and name.islower()


def test_policies_of_one_target_are_rules_of_one_object() -> None:
    sources = ("grafana", "loki", "tempo")
    objects, _ = authorization_policies(
        [PolicySet("s", "prometheus", tuple(app_policy(source_app_name=s) for s in sources))],
        prefix="beacon",
    )
    (obj,) = objects
    principals = [r["from"][0]["source"]["principals"][0] for r in obj["spec"]["rules"]]
    assert principals == [f"cluster.local/ns/m/sa/{s}" for s in sources]


@pytest.mark.parametrize(
    "name", ["grafäna", "Grafana", "*", "graf*", "a b", "x\n", "\ud800", "-a", "a" * 254]
)
def test_names_that_are_no_kubernetes_name_are_refused(name: str) -> None:
    """Such names would make invalid objects, or wildcard principals (``sa/*``)."""
    with pytest.raises(ValueError, match=r"source_app_name: .* is not a valid name"):
        app_policy(source_app_name=name)


def test_identical_policies_collapse_into_one_rule() -> None:
    objects, problems = authorization_policies(
        [PolicySet("s", "prometheus", (app_policy(), app_policy()))], prefix="beacon"
    )
    assert problems == []
    (obj,) = objects
    assert len(obj["spec"]["rules"]) == 1


def test_objects_are_sorted_by_namespace_and_name() -> None:
    sets = [
        PolicySet("s", app, (app_policy(target_app_name=app),)) for app in ("zeta", "alpha", "mid")
    ]
    objects, _ = authorization_policies(sets, prefix="beacon")
    names = [o["metadata"]["name"] for o in objects]
    assert names == sorted(names)


def test_unit_policy_behind_a_waypoint_allows_it_and_gets_a_twin_on_the_service() -> None:
    unit = app_policy(target_type=TargetType.unit, endpoints=(Endpoint(ports=(9090,)),))
    objects, problems = authorization_policies(
        [PolicySet("s", "prometheus", (unit,))], prefix="b", waypoints={"m": "b-waypoint"}
    )
    assert problems == []
    (at_pods,) = [o["spec"] for o in objects if "selector" in o["spec"]]
    (twin,) = [o["spec"] for o in objects if "targetRefs" in o["spec"]]
    grafana = [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}]
    # the pods accept the caller, and whatever the waypoint lets through...
    assert at_pods["rules"] == [
        {"from": grafana, "to": [{"operation": {"ports": ["9090"]}}]},
        {"from": [{"source": {"principals": ["cluster.local/ns/m/sa/b-waypoint"]}}]},
    ]
    # ... and the waypoint lets through only the same caller, on the same ports
    assert twin == {
        "targetRefs": [{"kind": "Service", "group": "", "name": "prometheus"}],
        "action": "ALLOW",
        "rules": [{"from": grafana, "to": [{"operation": {"ports": ["9090"]}}]}],
    }


def test_unit_policy_for_every_port_has_a_twin_for_every_port() -> None:
    unit = app_policy(target_type=TargetType.unit, endpoints=())
    objects, _ = authorization_policies(
        [PolicySet("s", "prometheus", (unit,))], prefix="b", waypoints={"m": "w"}
    )
    (twin,) = [o["spec"] for o in objects if "targetRefs" in o["spec"]]
    assert twin["rules"] == [
        {"from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}]}
    ]


def test_unit_policy_without_a_waypoint_is_enforced_at_the_pods_only() -> None:
    unit = app_policy(target_type=TargetType.unit, endpoints=(Endpoint(ports=(9090,)),))
    objects, _ = authorization_policies([PolicySet("s", "prometheus", (unit,))], prefix="b")
    assert len(objects) == 1
    assert len(objects[0]["spec"]["rules"]) == 1


def test_two_parties_whose_objects_would_share_a_name_are_a_problem() -> None:
    # "a-svc" protecting its Service, and "a" protecting its Service "svc": both "p-a-svc-svc"
    first = PolicySet("s1", "a-svc", (app_policy(target_app_name="a-svc"),))
    second = PolicySet("s2", "a", (app_policy(target_app_name="a", target_service="svc"),))
    objects, problems = authorization_policies([first, second], prefix="p")
    assert [o["metadata"]["name"] for o in objects] == ["p-a-svc-svc"]
    assert objects[0]["spec"]["targetRefs"][0]["name"] == "a-svc"
    (problem,) = problems
    assert problem.app == "a"
    assert "'p-a-svc-svc' is already taken" in problem.message


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
    objects, _ = authorization_policies(
        [PolicySet("s", "prometheus", (policy,))],
        prefix="beacon",
        waypoints={policy.target_namespace: "beacon-waypoint"},
    )
    for obj in objects:
        api.apply(obj, AUTHORIZATION_POLICY)  # a 422 raises meshops.k8s.Invalid
    api.apply(waypoint(policy.target_namespace, "beacon-waypoint"), GATEWAY)


def test_two_pod_groups_of_one_party_get_an_object_each_with_its_own_name() -> None:
    db = app_policy(
        target_type=TargetType.unit,
        target_app_name=None,
        target_selector_labels=(("tier", "db"),),
        endpoints=(Endpoint(ports=(5432,)),),
    )
    cache = app_policy(
        target_type=TargetType.unit,
        target_app_name=None,
        target_selector_labels=(("tier", "cache"),),
        endpoints=(Endpoint(ports=(6379,)),),
    )
    objects, problems = authorization_policies(
        [PolicySet("s", "prometheus", (db, cache))], prefix="beacon"
    )
    assert problems == []
    # named after the party and a hash of the pods' labels: stable from one run to the next
    assert [o["metadata"]["name"] for o in objects] == [
        "beacon-prometheus-pods-485b710c",
        "beacon-prometheus-pods-7fce3a08",
    ]
    selectors = sorted(o["spec"]["selector"]["matchLabels"]["tier"] for o in objects)
    assert selectors == ["cache", "db"]
    ports = {
        o["spec"]["selector"]["matchLabels"]["tier"]: o["spec"]["rules"][0]["to"] for o in objects
    }
    assert ports == {
        "db": [{"operation": {"ports": ["5432"]}}],
        "cache": [{"operation": {"ports": ["6379"]}}],
    }


def test_a_pod_group_name_does_not_depend_on_the_order_of_its_labels() -> None:
    def named(labels: tuple[tuple[str, str], ...]) -> str:
        policy = app_policy(
            target_type=TargetType.unit,
            target_app_name=None,
            target_selector_labels=labels,
            endpoints=(),
        )
        return one(policy)["metadata"]["name"]

    assert named((("tier", "db"), ("app", "pg"))) == named((("app", "pg"), ("tier", "db")))
    assert named((("tier", "db"),)) != named((("tier", "cache"),))


def test_every_bad_policy_of_a_set_is_reported_with_its_field() -> None:
    def bad(**endpoint: Any) -> MeshPolicy:
        return app_policy(target_type=TargetType.unit, endpoints=(Endpoint(**endpoint),))

    policies = (
        bad(ports=(80,), paths=("/x",)),
        app_policy(),
        app_policy(
            target_type=TargetType.unit,
            endpoints=(Endpoint(ports=(81,)), Endpoint(methods=(Method.get,), hosts=("h",))),
        ),
    )
    objects, problems = authorization_policies(
        [PolicySet("service-mesh:7", "grafana", policies)], prefix="beacon"
    )
    assert objects == []
    assert [(p.source, p.app, p.field) for p in problems] == [
        ("service-mesh:7", "grafana", "policies[0]"),
        ("service-mesh:7", "grafana", "policies[2]"),
    ]
    assert problems[0].message == (
        "endpoints[0]: a unit policy is enforced at L4 (ztunnel) and can only name ports, "
        "not hosts, methods or paths: paths=['/x']"
    )
    assert problems[1].message.startswith("endpoints[1]: a unit policy")
    assert problems[1].message.endswith(": hosts=['h'], methods=['GET']")


def test_a_name_taken_by_another_party_is_a_problem_of_the_policies_field() -> None:
    first = PolicySet("s1", "a-svc", (app_policy(target_app_name="a-svc"),))
    second = PolicySet("s2", "a", (app_policy(target_app_name="a", target_service="svc"),))
    _, problems = authorization_policies([first, second], prefix="p")
    assert [(p.source, p.app, p.field) for p in problems] == [("s2", "a", "policies")]
    assert problems[0].message == (
        "its AuthorizationPolicy name 'p-a-svc-svc' is already taken by another party's"
    )


def test_a_unit_policy_by_labels_behind_a_waypoint_has_no_twin() -> None:
    # No application is named, so no Service is known to put a twin rule on.
    unit = app_policy(
        target_type=TargetType.unit,
        target_app_name=None,
        target_selector_labels=(("tier", "db"),),
        endpoints=(Endpoint(ports=(5432,)),),
    )
    objects, _ = authorization_policies(
        [PolicySet("s", "prometheus", (unit,))], prefix="b", waypoints={"m": "w"}
    )
    (obj,) = objects
    assert obj["spec"]["rules"][1] == {
        "from": [{"source": {"principals": ["cluster.local/ns/m/sa/w"]}}]
    }


def test_a_waypoint_of_another_namespace_changes_nothing() -> None:
    unit = app_policy(target_type=TargetType.unit, endpoints=(Endpoint(ports=(9090,)),))
    objects, _ = authorization_policies(
        [PolicySet("s", "prometheus", (unit,))], prefix="b", waypoints={"other": "w"}
    )
    (obj,) = objects
    assert obj["spec"]["rules"] == [
        {
            "from": [{"source": {"principals": ["cluster.local/ns/m/sa/grafana"]}}],
            "to": [{"operation": {"ports": ["9090"]}}],
        }
    ]
