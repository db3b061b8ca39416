"""Table tests for meshops.plan.beacon: the beacon's whole desired state from its inputs."""

from __future__ import annotations

import pytest

from meshops.model import Endpoint, MeshPolicy, Method, Problem, TargetType
from meshops.plan.beacon import BeaconInputs, foreign_services, plan_beacon
from meshops.plan.mesh import POLICY_SOURCE_LABEL, PolicySet


def policy(source: str, target: str = "prometheus", ns: str = "m", **kw: object) -> MeshPolicy:
    args: dict[str, object] = {
        "source_namespace": ns,
        "source_app_name": source,
        "target_namespace": ns,
        "target_app_name": target,
        "endpoints": (Endpoint(ports=(9090,), methods=(Method.get,)),),
    }
    args.update(kw)
    return MeshPolicy(**args)  # type: ignore[arg-type]


def kinds(objects: tuple[dict[str, object], ...]) -> list[str]:
    return [str(o["kind"]) for o in objects]


def test_no_consumers_only_the_waypoint() -> None:
    plan = plan_beacon(BeaconInputs(namespace="m", app="beacon"))
    assert kinds(plan.objects) == ["Gateway"]
    assert plan.waypoint == "beacon-waypoint"
    assert plan.namespace_labels == {}
    assert plan.labels_for_consumers(namespace_labelled=False) == {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": "beacon-waypoint",
        "istio.io/use-waypoint-namespace": "m",
    }
    assert plan.problems == ()


def test_model_on_mesh_labels_the_namespace_and_consumers_need_nothing() -> None:
    plan = plan_beacon(BeaconInputs(namespace="m", app="beacon", model_on_mesh=True))
    assert plan.namespace_labels == {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": "beacon-waypoint",
    }
    assert plan.labels_for_consumers(namespace_labelled=True) == {}
    # when someone else holds the namespace labels, consumers still join on their own
    assert (
        plan.labels_for_consumers(namespace_labelled=False)["istio.io/dataplane-mode"] == "ambient"
    )


def test_policies_become_authorization_policies() -> None:
    consumers = (
        PolicySet("service-mesh:1", "prometheus", (policy("grafana"), policy("alertmanager"))),
        PolicySet("service-mesh:2", "loki", (policy("promtail", "loki"),)),
    )
    plan = plan_beacon(BeaconInputs(namespace="m", app="beacon", consumers=consumers))
    assert kinds(plan.objects) == ["Gateway", "AuthorizationPolicy", "AuthorizationPolicy"]
    by_name = {o["metadata"]["name"]: o for o in plan.objects[1:]}  # type: ignore[index]
    assert sorted(by_name) == ["beacon-loki-svc", "beacon-prometheus-svc"]
    prometheus = by_name["beacon-prometheus-svc"]
    assert prometheus["metadata"]["labels"][POLICY_SOURCE_LABEL] == "prometheus"
    assert [r["from"][0]["source"]["principals"][0] for r in prometheus["spec"]["rules"]] == [
        "cluster.local/ns/m/sa/grafana",
        "cluster.local/ns/m/sa/alertmanager",
    ]


def test_manage_authorization_policies_off_builds_none() -> None:
    consumers = (PolicySet("service-mesh:1", "prometheus", (policy("grafana"),)),)
    plan = plan_beacon(
        BeaconInputs(
            namespace="m", app="beacon", consumers=consumers, manage_authorization_policies=False
        )
    )
    assert kinds(plan.objects) == ["Gateway"]


def test_cross_model_sources_take_the_real_app_and_model() -> None:
    consumers = (PolicySet("service-mesh:1", "prometheus", (policy("remote-grafana"),)),)
    plan = plan_beacon(
        BeaconInputs(
            namespace="m",
            app="beacon",
            consumers=consumers,
            cross_model={"remote-grafana": ("grafana", "cos")},
        )
    )
    rule = plan.objects[1]["spec"]["rules"][0]  # type: ignore[index]
    assert rule["from"] == [{"source": {"principals": ["cluster.local/ns/cos/sa/grafana"]}}]


def test_a_consumer_cannot_open_another_namespace() -> None:
    consumers = (
        PolicySet("service-mesh:1", "evil", (policy("evil", "evil", ns="other"),)),
        PolicySet("service-mesh:2", "good", (policy("grafana", "good"),)),
    )
    plan = plan_beacon(BeaconInputs(namespace="m", app="beacon", consumers=consumers))
    assert kinds(plan.objects) == ["Gateway", "AuthorizationPolicy"]
    assert plan.refused_apps == frozenset({"evil"})
    (problem,) = plan.problems
    assert problem.app == "evil" and problem.field == "policies[0].target_namespace"
    assert "'other'" in problem.message


def test_refused_and_invalid_sets_are_reported_and_kept_apart() -> None:
    bad_unit = policy(
        "grafana",
        target_type=TargetType.unit,
        endpoints=(Endpoint(ports=(1,), methods=(Method.get,)),),
    )
    read_problem = Problem("service-mesh:3", "policies", "not JSON", app="broken")
    plan = plan_beacon(
        BeaconInputs(
            namespace="m",
            app="beacon",
            consumers=(
                PolicySet("service-mesh:1", "prometheus", (bad_unit,)),
                PolicySet("service-mesh:2", "loki", (policy("promtail", "loki"),)),
            ),
            refused=(("broken", (read_problem,)),),
        )
    )
    assert kinds(plan.objects) == ["Gateway", "AuthorizationPolicy"]
    assert plan.refused_apps == frozenset({"broken", "prometheus"})
    assert read_problem in plan.problems
    assert len(plan.problems) == 2


def test_a_consumer_cannot_open_another_application() -> None:
    consumers = (
        PolicySet("service-mesh:1", "evil", (policy("evil", "postgresql"),)),
        PolicySet("service-mesh:2", "good", (policy("grafana", "good"),)),
    )
    plan = plan_beacon(BeaconInputs(namespace="m", app="beacon", consumers=consumers))
    assert kinds(plan.objects) == ["Gateway", "AuthorizationPolicy"]
    (problem,) = plan.problems
    assert (problem.app, problem.field) == ("evil", "policies[0].target_app_name")
    assert "'postgresql' is not the related application 'evil'" in problem.message


def test_unmanaged_policies_keep_nothing_and_report_nothing() -> None:
    read_problem = Problem("service-mesh:3", "policies", "not JSON", app="broken")
    plan = plan_beacon(
        BeaconInputs(
            namespace="m",
            app="beacon",
            manage_authorization_policies=False,
            refused=(("broken", (read_problem,)),),
        )
    )
    assert plan.refused_apps == frozenset()
    assert plan.problems == ()


def svc_policy(service: str | None = None, **kw: object) -> MeshPolicy:
    return policy("grafana", "prometheus", target_service=service, **kw)


def test_a_consumer_may_target_its_own_services_only() -> None:
    consumers = (
        PolicySet(
            "service-mesh:1",
            "prometheus",
            (svc_policy(), svc_policy("prometheus"), svc_policy("prometheus-web")),
        ),
    )
    known = {"prometheus-web": "prometheus", "postgresql": "postgresql"}
    plan = plan_beacon(
        BeaconInputs(namespace="m", app="beacon", consumers=consumers, service_apps=known)
    )
    assert plan.problems == ()
    targets = {o["spec"]["targetRefs"][0]["name"] for o in plan.objects[1:]}  # type: ignore[index]
    assert targets == {"prometheus", "prometheus-web"}


@pytest.mark.parametrize(
    ("service_apps", "seen"),
    [
        ({"postgresql": "postgresql"}, "belongs to 'postgresql'"),
        ({}, "belongs to None"),
        (None, "could not be read"),
    ],
)
def test_a_consumer_cannot_target_someone_elses_service(
    service_apps: dict[str, str] | None, seen: str
) -> None:
    consumers = (
        PolicySet("service-mesh:1", "prometheus", (svc_policy("postgresql"),)),
        PolicySet("service-mesh:2", "loki", (policy("promtail", "loki"),)),
    )
    plan = plan_beacon(
        BeaconInputs(namespace="m", app="beacon", consumers=consumers, service_apps=service_apps)
    )
    assert kinds(plan.objects) == ["Gateway", "AuthorizationPolicy"]
    (problem,) = plan.problems
    assert (problem.app, problem.field) == ("prometheus", "policies[0].target_service")
    assert problem.message == (
        f"Service 'postgresql' is not labelled app.kubernetes.io/name=prometheus ({seen}); "
        "a consumer may only open its own workloads"
    )


@pytest.mark.parametrize(
    ("labels", "ok"),
    [
        ((("app.kubernetes.io/name", "prometheus"),), True),
        ((("app.kubernetes.io/name", "prometheus"), ("tier", "web")), True),
        ((("app.kubernetes.io/name", "postgresql"),), False),
        ((("tier", "web"),), False),
        ((("istio.io/gateway-name", "beacon-waypoint"),), False),
    ],
)
def test_selector_labels_must_pick_the_consumers_own_pods(
    labels: tuple[tuple[str, str], ...], ok: bool
) -> None:
    unit = MeshPolicy(
        "m",
        "grafana",
        "m",
        target_type=TargetType.unit,
        target_selector_labels=labels,
        endpoints=(Endpoint(ports=(9090,)),),
    )
    plan = plan_beacon(
        BeaconInputs(
            namespace="m", app="beacon", consumers=(PolicySet("s", "prometheus", (unit,)),)
        )
    )
    assert (plan.problems == ()) is ok
    if not ok:
        assert plan.problems[0].field == "policies[0].target_selector_labels"


def test_foreign_services_lists_only_what_needs_a_look_up() -> None:
    consumers = (
        PolicySet("s", "prometheus", (svc_policy(), svc_policy("prometheus"), svc_policy("x"))),
    )
    assert foreign_services(consumers) == {"x"}


def test_each_policy_reaching_beyond_the_consumer_is_refused_in_full() -> None:
    tail = "a consumer may only open its own workloads"
    unit = MeshPolicy(
        "m",
        "grafana",
        "m",
        target_type=TargetType.unit,
        target_selector_labels=(("tier", "web"),),
        endpoints=(Endpoint(ports=(9090,)),),
    )
    policies = (
        policy("grafana", "prometheus", ns="other"),
        policy("grafana", "postgresql"),
        svc_policy("postgresql"),
        policy("grafana", "prometheus"),  # its own: kept, but the set is refused
        unit,
    )
    plan = plan_beacon(
        BeaconInputs(
            namespace="m",
            app="beacon",
            consumers=(PolicySet("service-mesh:1", "prometheus", policies),),
            service_apps={"postgresql": "postgresql"},
        )
    )
    assert kinds(plan.objects) == ["Gateway"]
    assert plan.problems == (
        Problem(
            "service-mesh:1",
            "policies[0].target_namespace",
            f"'other' is not this model's namespace 'm'; {tail}",
            app="prometheus",
        ),
        Problem(
            "service-mesh:1",
            "policies[1].target_app_name",
            f"'postgresql' is not the related application 'prometheus'; {tail}",
            app="prometheus",
        ),
        Problem(
            "service-mesh:1",
            "policies[2].target_service",
            "Service 'postgresql' is not labelled app.kubernetes.io/name=prometheus "
            f"(belongs to 'postgresql'); {tail}",
            app="prometheus",
        ),
        Problem(
            "service-mesh:1",
            "policies[4].target_selector_labels",
            "{'tier': 'web'} must include app.kubernetes.io/name: 'prometheus', to select "
            f"only its pods; {tail}",
            app="prometheus",
        ),
    )


def test_the_waypoint_is_the_beacons_and_lets_through_to_pods_what_they_allow() -> None:
    unit = policy("grafana", target_type=TargetType.unit, endpoints=(Endpoint(ports=(9090,)),))
    plan = plan_beacon(
        BeaconInputs(
            namespace="m", app="beacon", consumers=(PolicySet("s", "prometheus", (unit,)),)
        )
    )
    gateway, *policies = plan.objects
    assert (gateway["metadata"]["namespace"], gateway["metadata"]["name"]) == (
        "m",
        "beacon-waypoint",
    )  # type: ignore[index]
    pods = next(p for p in policies if p["metadata"]["name"] == "beacon-prometheus-pods")  # type: ignore[index]
    principals = [r["from"][0]["source"]["principals"][0] for r in pods["spec"]["rules"]]  # type: ignore[index]
    assert principals == ["cluster.local/ns/m/sa/grafana", "cluster.local/ns/m/sa/beacon-waypoint"]
