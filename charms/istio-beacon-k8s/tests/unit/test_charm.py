"""istio-beacon-k8s under ops.testing, against the in-process Kubernetes API fake.

Covers every event the charm observes (install, config-changed, leader-elected,
upgrade-charm, update-status, service-mesh created/changed/broken, provide-cmr-mesh,
peer changes, remove), the objects that reach the API (validated by the fake against
the upstream CRDs), the statuses, and what the consumers are told.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from ops import testing

MODEL = "m"
APP = "istio-beacon-k8s"
OWNER = f"{APP}.{MODEL}"
WAYPOINT = f"{APP}-waypoint"
GW = "gateway.networking.k8s.io/v1"
AP = "security.istio.io/v1"


def policy(
    source: str,
    target: str,
    *,
    ports: list[int] | None = None,
    methods: list[str] | None = None,
    paths: list[str] | None = None,
    target_type: str = "app",
    source_namespace: str = MODEL,
    target_namespace: str = MODEL,
) -> dict[str, Any]:
    """One MeshPolicy as the ecosystem's consumers write it."""
    return {
        "source_namespace": source_namespace,
        "source_app_name": source,
        "target_namespace": target_namespace,
        "target_app_name": target,
        "target_selector_labels": None,
        "target_service": None,
        "target_type": target_type,
        "endpoints": [{"hosts": None, "ports": ports or [80], "methods": methods, "paths": paths}],
    }


def mesh_relation(app: str, policies: Any, **kw: Any) -> testing.Relation:
    data = policies if isinstance(policies, str) else json.dumps(policies)
    return testing.Relation(
        "service-mesh", remote_app_name=app, remote_app_data={"policies": data}, **kw
    )


def state(*relations: testing.RelationBase, leader: bool = True, **kw: Any) -> testing.State:
    return testing.State(
        leader=leader, relations=list(relations), model=testing.Model(name=MODEL), **kw
    )


def policies_in(fake: Any) -> list[dict[str, Any]]:
    return fake.list(AP, "AuthorizationPolicy", MODEL)


def sources_of(fake: Any) -> list[str]:
    """Every caller some AuthorizationPolicy of ours allows (the waypoint aside)."""
    return sorted(
        {
            principal
            for p in policies_in(fake)
            for rule in p["spec"]["rules"]
            for principal in rule["from"][0]["source"]["principals"]
            if not principal.endswith(f"/sa/{WAYPOINT}")
        }
    )


def settle(ctx: Any, fake: Any, *relations: testing.RelationBase, **kw: Any) -> None:
    """Deploy, and let Istio program the waypoint."""
    ctx.run(ctx.on.install(), state(*relations, **kw))
    program_waypoint(fake)


def program_waypoint(fake: Any) -> None:
    """Play Istio: mark the waypoint Programmed."""
    gw = fake.get(GW, "Gateway", WAYPOINT, MODEL)
    gw["status"] = {
        "conditions": [
            {
                "type": "Programmed",
                "status": "True",
                "reason": "Programmed",
                "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    fake.add(gw)


def ns_labels(fake: Any) -> dict[str, str]:
    """The namespace's labels, less the one the API server always sets."""
    labels = dict(fake.get("v1", "Namespace", MODEL)["metadata"].get("labels", {}))
    assert labels.pop("kubernetes.io/metadata.name") == MODEL
    return labels


# -- the waypoint and the basics -------------------------------------------------------


@pytest.mark.parametrize("event", ["install", "config_changed", "leader_elected", "upgrade_charm"])
def test_lifecycle_events_create_the_waypoint(ctx: Any, fake: Any, event: str) -> None:
    out = ctx.run(getattr(ctx.on, event)(), state())
    gw = fake.get(GW, "Gateway", WAYPOINT, MODEL)
    assert gw["spec"]["gatewayClassName"] == "istio-waypoint"
    assert gw["spec"]["listeners"][0]["port"] == 15008
    assert gw["spec"]["listeners"][0]["protocol"] == "HBONE"
    assert gw["metadata"]["labels"]["istio.io/waypoint-for"] == "service"
    assert gw["metadata"]["labels"]["meshops.io/owner"] == OWNER
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for Istio to program waypoint {WAYPOINT}"
    )


def test_active_once_istio_programmed_the_waypoint(ctx: Any, fake: Any) -> None:
    ctx.run(ctx.on.install(), state())
    program_waypoint(fake)
    out = ctx.run(ctx.on.update_status(), state())
    assert out.unit_status == testing.ActiveStatus("model off mesh")


def test_a_reconcile_with_nothing_new_writes_nothing(ctx: Any, fake: Any) -> None:
    rel = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    ctx.run(ctx.on.config_changed(), state(rel))
    program_waypoint(fake)
    fake.clear_log()
    ctx.run(ctx.on.update_status(), state(rel))
    assert fake.writes == 0
    # one list per managed kind in the one namespace, one read of the namespace
    assert fake.reads == 3


def test_non_leader_writes_nothing_and_shows_the_leaders_outcome(ctx: Any, fake: Any) -> None:
    peers = testing.PeerRelation(
        "beacon-peers",
        local_app_data={"outcome": json.dumps({"blocked": ["leader says no"], "waiting": []})},
    )
    out = ctx.run(ctx.on.config_changed(), state(peers, leader=False))
    assert fake.writes == 0
    assert out.unit_status == testing.BlockedStatus("leader says no")


def test_non_leader_without_leader_outcome_is_standby(ctx: Any, fake: Any) -> None:
    out = ctx.run(ctx.on.update_status(), state(leader=False))
    assert fake.writes == 0
    assert out.unit_status == testing.ActiveStatus("standby; model off mesh")


def test_leader_shares_its_outcome_with_peers(ctx: Any, fake: Any) -> None:
    peers = testing.PeerRelation("beacon-peers")
    out = ctx.run(ctx.on.config_changed(), state(peers))
    shared = json.loads(out.get_relation(peers.id).local_app_data["outcome"])
    assert shared == {
        "blocked": [],
        "notes": [],
        "waiting": [f"waiting for Istio to program waypoint {WAYPOINT}"],
    }


def test_events_the_charm_does_not_reconcile_on_keep_the_last_status(ctx: Any, fake: Any) -> None:
    peers = testing.PeerRelation("beacon-peers")
    out = ctx.run(ctx.on.config_changed(), state(peers))
    waiting = testing.WaitingStatus(f"waiting for Istio to program waypoint {WAYPOINT}")
    assert out.unit_status == waiting
    fake.clear_log()
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status == waiting
    assert fake.requests == []


# -- model-on-mesh ---------------------------------------------------------------------


def test_model_on_mesh_labels_the_namespace_and_tells_consumers_none_needed(
    ctx: Any, fake: Any
) -> None:
    rel = testing.Relation("service-mesh", remote_app_name="prometheus")
    on_mesh = state(rel, config={"model-on-mesh": True})
    out = ctx.run(ctx.on.config_changed(), on_mesh)
    # not before Istio runs the waypoint: the namespace's traffic would go nowhere
    assert ns_labels(fake) == {}
    assert json.loads(out.get_relation(rel.id).local_app_data["labels"])["istio.io/use-waypoint"]
    program_waypoint(fake)
    out = ctx.run(ctx.on.update_status(), on_mesh)
    assert ns_labels(fake) == {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": WAYPOINT,
    }
    assert json.loads(out.get_relation(rel.id).local_app_data["labels"]) == {}
    assert json.loads(out.get_relation(rel.id).local_app_data["mesh_type"]) == "istio"


def test_model_off_mesh_consumers_get_labels_to_join(ctx: Any, fake: Any) -> None:
    rel = testing.Relation("service-mesh", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_created(rel), state(rel))
    assert json.loads(out.get_relation(rel.id).local_app_data["labels"]) == {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": WAYPOINT,
        "istio.io/use-waypoint-namespace": MODEL,
    }
    assert "istio.io/dataplane-mode" not in ns_labels(fake)


def test_model_on_mesh_back_to_false_removes_only_our_labels(ctx: Any, fake: Any) -> None:
    ns = fake.get("v1", "Namespace", MODEL)
    ns["metadata"]["labels"] = {"team": "observability"}
    fake.add(ns)
    settle(ctx, fake)
    ctx.run(ctx.on.config_changed(), state(config={"model-on-mesh": True}))
    assert ns_labels(fake)["istio.io/dataplane-mode"] == "ambient"
    ctx.run(ctx.on.config_changed(), state(config={"model-on-mesh": False}))
    assert ns_labels(fake) == {"team": "observability"}


def test_someone_elses_mesh_label_blocks_and_is_left_alone(ctx: Any, fake: Any) -> None:
    ns = fake.get("v1", "Namespace", MODEL)
    ns["metadata"]["labels"] = {"istio.io/dataplane-mode": "none"}
    del ns["metadata"]["managedFields"]  # so the fake records "test" as having set it
    fake.add(ns)
    rel = testing.Relation("service-mesh", remote_app_name="prometheus")
    settle(ctx, fake, rel)
    out = ctx.run(ctx.on.config_changed(), state(rel, config={"model-on-mesh": True}))
    assert out.unit_status == testing.BlockedStatus(
        f"model-on-mesh: namespace {MODEL} label istio.io/dataplane-mode=none was set by test; "
        "remove it or set model-on-mesh=false"
    )
    assert ns_labels(fake) == {"istio.io/dataplane-mode": "none"}
    # consumers are told to join on their own, since the namespace is not ours to label
    labels = json.loads(out.get_relation(rel.id).local_app_data["labels"])
    assert labels["istio.io/dataplane-mode"] == "ambient"


# -- policies ---------------------------------------------------------------------------


def test_consumer_policies_become_authorization_policies(ctx: Any, fake: Any) -> None:
    rel = mesh_relation(
        "prometheus",
        [
            policy("grafana", "prometheus", ports=[9090], methods=["GET"], paths=["/api/v1/*"]),
            policy("alertmanager", "prometheus", ports=[9090], target_type="unit"),
        ],
    )
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    by_name = {p["metadata"]["name"]: p["spec"] for p in policies_in(fake)}
    assert sorted(by_name) == [f"{APP}-prometheus-pods", f"{APP}-prometheus-svc"]
    grafana = {"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/grafana"]}}
    alertmanager = {"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/alertmanager"]}}
    # at the waypoint, on the Service: grafana's L7 rule, and alertmanager's twin rule
    assert by_name[f"{APP}-prometheus-svc"] == {
        "targetRefs": [{"kind": "Service", "group": "", "name": "prometheus"}],
        "action": "ALLOW",
        "rules": [
            {
                "from": [grafana],
                "to": [
                    {"operation": {"ports": ["9090"], "methods": ["GET"], "paths": ["/api/v1/*"]}}
                ],
            },
            {"from": [alertmanager], "to": [{"operation": {"ports": ["9090"]}}]},
        ],
    }
    # at ztunnel, on the pods: alertmanager, and whatever the waypoint lets through
    assert by_name[f"{APP}-prometheus-pods"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        "action": "ALLOW",
        "rules": [
            {"from": [alertmanager], "to": [{"operation": {"ports": ["9090"]}}]},
            {"from": [{"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/{WAYPOINT}"]}}]},
        ],
    }


def test_relation_broken_removes_that_relations_policies(ctx: Any, fake: Any) -> None:
    prom = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    loki = mesh_relation("loki", [policy("promtail", "loki")])
    ctx.run(ctx.on.relation_changed(prom), state(prom, loki))
    assert len(policies_in(fake)) == 2
    ctx.run(ctx.on.relation_broken(prom), state(prom, loki))
    assert sources_of(fake) == [f"cluster.local/ns/{MODEL}/sa/promtail"]


def test_manage_authorization_policies_false_removes_ours(ctx: Any, fake: Any) -> None:
    rel = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    loki = mesh_relation("loki", [policy("promtail", "loki")])
    ctx.run(ctx.on.relation_changed(rel), state(rel, loki))
    assert len(policies_in(fake)) == 2
    # loki's data turns bad: its last good policy is kept while policies are managed...
    broken = mesh_relation("loki", "{", id=loki.id)
    ctx.run(ctx.on.relation_changed(broken), state(rel, broken))
    assert len(policies_in(fake)) == 2
    # ... and goes with all the others when they are not
    off = {"manage-authorization-policies": False}
    out = ctx.run(ctx.on.config_changed(), state(rel, broken, config=off))
    assert policies_in(fake) == []
    assert "refused" not in out.unit_status.message


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ("{not json", "policies"),
        (json.dumps({"a": 1}), "policies"),
        (json.dumps([policy("x", "bad", methods=["FETCH"])]), "methods"),
        (json.dumps([policy("x", "bad", ports=[70000])]), "ports"),
        (json.dumps([policy("x", "bad", paths=["api"])]), "paths"),
        (json.dumps([{**policy("x", "bad"), "endpoints": []}]), "endpoints"),
        (json.dumps([{**policy("x", "bad"), "source_app_name": 7}]), "source_app_name"),
        (json.dumps([policy("x", "bad", methods=["GET"], target_type="unit")]), "policies[0]"),
        (json.dumps([policy("x", "bad", target_namespace="other")]), "target_namespace"),
        (json.dumps([policy("x", "prometheus")]), "target_app_name"),
    ],
)
def test_bad_consumer_data_is_refused_and_named_others_apply(
    ctx: Any, fake: Any, bad: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    evil = mesh_relation("bad", bad)
    before_programmed = ctx.run(ctx.on.relation_changed(evil), state(good, evil))
    assert sources_of(fake) == [f"cluster.local/ns/{MODEL}/sa/grafana"]
    # the waypoint is not programmed yet: that is what the charm waits for first
    assert before_programmed.unit_status == testing.WaitingStatus(
        f"waiting for Istio to program waypoint {WAYPOINT}"
    )
    program_waypoint(fake)
    out = ctx.run(ctx.on.update_status(), state(good, evil))
    assert out.unit_status == testing.ActiveStatus("refused policies of bad (see juju debug-log)")
    refusals = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "(bad): " in r.getMessage()
    ]
    assert refusals and len(set(refusals)) == 1, "the refusal is logged, in one line"
    assert all("(bad)" in m for m in refusals)
    assert any(field in m.split("(bad): ", 1)[1] for m in refusals)


def test_a_consumer_turning_bad_keeps_its_last_good_policies(ctx: Any, fake: Any) -> None:
    good = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    ctx.run(ctx.on.relation_changed(good), state(good))
    before = policies_in(fake)
    turned = mesh_relation("prometheus", "[{broken", id=good.id)
    ctx.run(ctx.on.relation_changed(turned), state(turned))
    assert policies_in(fake) == before
    # and when it is fixed, its new policies replace the old ones
    fixed = mesh_relation("prometheus", [policy("loki", "prometheus")], id=good.id)
    ctx.run(ctx.on.relation_changed(fixed), state(fixed))
    assert sources_of(fake) == [f"cluster.local/ns/{MODEL}/sa/loki"]


def test_changing_a_policy_updates_its_object_in_place(ctx: Any, fake: Any) -> None:
    rel = mesh_relation("prometheus", [policy("grafana", "prometheus", ports=[80])])
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    (before,) = policies_in(fake)
    fake.clear_log()
    rel2 = mesh_relation("prometheus", [policy("grafana", "prometheus", ports=[81])], id=rel.id)
    ctx.run(ctx.on.relation_changed(rel2), state(rel2))
    (after,) = policies_in(fake)
    assert after["metadata"]["name"] == before["metadata"]["name"]
    assert after["spec"]["rules"][0]["to"] == [{"operation": {"ports": ["81"]}}]
    assert [r.method for r in fake.requests if r.is_write] == ["PATCH"]


# -- Kubernetes trouble ------------------------------------------------------------------


def test_missing_crd_blocks_naming_it(ctx: Any, make_fake: Any) -> None:
    bare = make_fake(namespaces=[MODEL])
    with bare.installed():
        out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.BlockedStatus(
        "gateways.gateway.networking.k8s.io missing (a Gateway API CRD): deploy istio-k8s"
    )


@pytest.mark.fake_only("injects API faults")
def test_unavailable_api_waits_and_the_next_event_recovers(ctx: Any, fake: Any) -> None:
    # the first try and three retries, each told by the server to come back at once
    fake.fail_next("GET", "/namespaces/m", 503, times=4, retry_after=0)
    out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.WaitingStatus("Kubernetes API unavailable (503); will retry")
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is None
    out = ctx.run(ctx.on.update_status(), state())
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is not None


@pytest.mark.fake_only("injects API faults")
def test_a_passing_failure_is_retried_within_the_hook(ctx: Any, fake: Any) -> None:
    fake.fail_next("PATCH", "/gateways/", 503, times=2, retry_after=0)
    ctx.run(ctx.on.config_changed(), state())
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is not None


@pytest.mark.fake_only("injects API faults")
def test_a_failing_api_does_not_change_what_consumers_are_told(ctx: Any, fake: Any) -> None:
    ns = fake.get("v1", "Namespace", MODEL)
    ns["metadata"]["labels"] = {"istio.io/use-waypoint": "theirs"}
    del ns["metadata"]["managedFields"]
    fake.add(ns)
    rel = testing.Relation("service-mesh", remote_app_name="prometheus")
    on_mesh = {"model-on-mesh": True}
    settle(ctx, fake, rel, config=on_mesh)
    out = ctx.run(ctx.on.update_status(), state(rel, config=on_mesh))
    told = json.loads(out.get_relation(rel.id).local_app_data["labels"])
    assert told["istio.io/dataplane-mode"] == "ambient"  # the namespace is not ours to label
    fake.fail_next("*", "", 503, times=100, retry_after=0)
    out = ctx.run(ctx.on.leader_elected(), out)
    assert out.unit_status.name == "waiting"
    assert json.loads(out.get_relation(rel.id).local_app_data["labels"]) == told


@pytest.mark.fake_only("injects API faults")
def test_forbidden_asks_for_trust(ctx: Any, fake: Any) -> None:
    fake.fail_next("GET", "/namespaces/m", 403, times=1)
    out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.BlockedStatus(
        f"Kubernetes API refused access: deploy with --trust (juju trust {APP} --scope=cluster)"
    )


def test_an_object_of_ours_name_that_is_not_ours_is_left_alone(ctx: Any, fake: Any) -> None:
    fake.add(
        {
            "apiVersion": GW,
            "kind": "Gateway",
            "metadata": {"name": WAYPOINT, "namespace": MODEL},
            "spec": {
                "gatewayClassName": "someone-else",
                "listeners": [{"name": "x", "port": 80, "protocol": "HTTP"}],
            },
        }
    )
    out = ctx.run(ctx.on.config_changed(), state())
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL)["spec"]["gatewayClassName"] == "someone-else"
    assert out.unit_status == testing.BlockedStatus(
        f"Gateway {MODEL}/{WAYPOINT} not applied: an object of that name exists and is not ours"
    )


# -- removal ------------------------------------------------------------------------------


def test_remove_deletes_everything_we_created_and_nothing_else(ctx: Any, fake: Any) -> None:
    foreign = {
        "apiVersion": AP,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "theirs", "namespace": MODEL},
        "spec": {"action": "DENY", "rules": [{}]},
    }
    fake.add(foreign)
    ns = fake.get("v1", "Namespace", MODEL)
    ns["metadata"]["labels"] = {"team": "o11y"}
    fake.add(ns)
    rel = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    settle(ctx, fake, rel)
    ctx.run(ctx.on.config_changed(), state(rel, config={"model-on-mesh": True}))
    assert len(policies_in(fake)) == 2
    assert ns_labels(fake)["istio.io/use-waypoint"] == WAYPOINT
    ctx.run(ctx.on.remove(), state(rel, config={"model-on-mesh": True}, planned_units=0))
    assert [p["metadata"]["name"] for p in policies_in(fake)] == ["theirs"]
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is None
    assert ns_labels(fake) == {"team": "o11y"}


def test_remove_after_the_gateway_crd_went_still_cleans_up(ctx: Any, fake: Any) -> None:
    rel = mesh_relation("prometheus", [policy("grafana", "prometheus")])
    settle(ctx, fake, rel)
    ctx.run(ctx.on.config_changed(), state(rel, config={"model-on-mesh": True}))
    # istio-k8s removed first: the Gateway API CRDs (and with them the waypoint) are gone
    fake.delete(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "gateways.gateway.networking.k8s.io"
    )
    ctx.run(ctx.on.remove(), state(rel, config={"model-on-mesh": True}, planned_units=0))
    assert policies_in(fake) == []
    assert ns_labels(fake) == {}


@pytest.mark.fake_only("injects API faults")
def test_remove_with_the_api_down_does_not_fail_the_hook(
    ctx: Any, fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settle(ctx, fake)
    fake.clear_log()
    fake.fail_next("*", "", 503, times=100, retry_after=0)
    ctx.run(ctx.on.remove(), state(planned_units=0))  # raising here would fail the hook
    assert fake.reads > 0, "the hook tried"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("could not remove everything this beacon created" in m for m in errors), errors
    # nothing was removed, and a later remove, with the API back, removes it all
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is not None
    fake.clear_faults()
    ctx.run(ctx.on.remove(), state(planned_units=0))
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is None


def test_removing_one_unit_keeps_the_mesh(ctx: Any, fake: Any) -> None:
    ctx.run(ctx.on.config_changed(), state())
    fake.clear_log()
    ctx.run(ctx.on.remove(), state(leader=False, planned_units=2))
    assert fake.writes == 0
    assert fake.get(GW, "Gateway", WAYPOINT, MODEL) is not None


def test_every_object_validates_against_the_upstream_crds(ctx: Any, fake: Any) -> None:
    """The fake rejects (422) anything its CRD's schema or CEL rules refuse."""
    rel = mesh_relation(
        "prometheus",
        [
            policy(
                "grafana",
                "prometheus",
                ports=[9090],
                methods=["GET", "POST"],
                paths=["/x", "*.json"],
            ),
            policy("a" * 60, "prometheus", target_type="unit"),
        ],
    )
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    assert out.unit_status.name != "blocked"
    # one on the Service (the app policy and the unit policy's twin), one on the pods
    assert len(policies_in(fake)) == 2
    assert all(r.status < 400 for r in fake.requests)


def test_cross_model_source_uses_the_cmr_data_while_the_relation_lasts(
    ctx: Any, fake: Any
) -> None:
    peers = testing.PeerRelation("beacon-peers")
    cmr = testing.Relation(
        "provide-cmr-mesh",
        remote_app_name="remote-grafana",
        remote_app_data={
            "cmr_data": json.dumps({"app_name": "grafana", "juju_model_name": "cos"})
        },
    )
    rel = mesh_relation("prometheus", [policy("remote-grafana", "prometheus")])
    ctx.run(ctx.on.relation_changed(cmr), state(peers, cmr, rel))
    assert sources_of(fake) == ["cluster.local/ns/cos/sa/grafana"]
    # once the cross-model relation goes, the alias is taken as an app of this model
    ctx.run(ctx.on.relation_broken(cmr), state(peers, cmr, rel))
    assert sources_of(fake) == [f"cluster.local/ns/{MODEL}/sa/remote-grafana"]


def test_unreadable_cross_model_data_is_ignored(ctx: Any, fake: Any) -> None:
    cmr = testing.Relation(
        "provide-cmr-mesh", remote_app_name="remote-grafana", remote_app_data={"cmr_data": "{nope"}
    )
    rel = mesh_relation("prometheus", [policy("remote-grafana", "prometheus")])
    ctx.run(ctx.on.relation_changed(cmr), state(cmr, rel))
    assert sources_of(fake) == [f"cluster.local/ns/{MODEL}/sa/remote-grafana"]
