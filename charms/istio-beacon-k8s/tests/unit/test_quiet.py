"""istio-beacon-k8s: effects within the hook, quiet hooks that cost few hook tools.

Covers the namespace put on the mesh in the very hook that creates the waypoint once
Istio programs it (watched for, bounded), the next event carrying on past the bound;
what a reconcile with nothing new and a quiet update-status cost in hook-tool calls
and juju-log lines (counted at ops.testing's model backend); and what update-status
still does without reading a relation: a policy edited or deleted by hand is put back,
and a reconcile that did not finish is run again.

The fake's time passes at once while the charm watches (an istiod stand-in programs
the waypoint after a while): nothing waits.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

from meshops.testing import istiod
from meshops.testing.hooktools import hook_tools, log_lines

pytestmark = pytest.mark.fake_only("the fake's time, its scheduled actions and fault injection")

MODEL = "m"
APP = "istio-beacon-k8s"
WAYPOINT = f"{APP}-waypoint"
AP = "security.istio.io/v1"
ON_MESH = {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": WAYPOINT}


def consumer(app: str) -> testing.Relation:
    policy = {
        "source_namespace": MODEL,
        "source_app_name": f"{app}-client",
        "target_namespace": MODEL,
        "target_app_name": app,
        "target_selector_labels": None,
        "target_service": None,
        "target_type": "app",
        "endpoints": [{"hosts": None, "ports": [80], "methods": ["GET"], "paths": None}],
    }
    return testing.Relation(
        "service-mesh", remote_app_name=app, remote_app_data={"policies": json.dumps([policy])}
    )


def state(*relations: testing.RelationBase, **kw: Any) -> testing.State:
    return testing.State(
        leader=True,
        relations=[*relations, testing.PeerRelation("beacon-peers")],
        model=testing.Model(name=MODEL),
        **kw,
    )


def mesh_labels(fake: Any) -> dict[str, str]:
    labels = fake.get("v1", "Namespace", MODEL)["metadata"].get("labels", {})
    return {k: v for k, v in labels.items() if k in ON_MESH}


def test_the_hook_that_creates_the_waypoint_puts_the_model_on_the_mesh(
    ctx: Any, fake: Any
) -> None:
    istiod.program_later(fake, 2.0, WAYPOINT, MODEL)
    out = ctx.run(ctx.on.config_changed(), state(config={"model-on-mesh": True}))
    assert mesh_labels(fake) == ON_MESH
    assert out.unit_status == testing.ActiveStatus("model on mesh")
    assert fake.time.now() == 2.0


def test_past_the_bound_the_hook_waits_and_the_next_event_carries_on(ctx: Any, fake: Any) -> None:
    istiod.program_later(fake, 45.0, WAYPOINT, MODEL)
    out = ctx.run(ctx.on.config_changed(), state(config={"model-on-mesh": True}))
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for Istio to program waypoint {WAYPOINT}"
    )
    assert mesh_labels(fake) == {}
    fake.pass_time(300.0)
    out = ctx.run(ctx.on.update_status(), out)
    assert mesh_labels(fake) == ON_MESH


def settled(ctx: Any, fake: Any, apps: int) -> testing.State:
    istiod.program_later(fake, 0.0, WAYPOINT, MODEL)
    out = ctx.run(ctx.on.config_changed(), state(*(consumer(f"app-{a:02d}") for a in range(apps))))
    assert out.unit_status == testing.ActiveStatus("model off mesh")
    return out


def test_a_quiet_update_status_reads_no_relation(ctx: Any, fake: Any) -> None:
    out = settled(ctx, fake, 20)
    fake.clear_log()
    ctx.juju_log.clear()
    with hook_tools() as calls:
        ctx.run(ctx.on.update_status(), out)
    assert calls() <= 15  # 20 relations: reading any would cost more
    assert fake.writes == 0
    assert log_lines(ctx) == 0


def test_a_reconcile_with_nothing_new_reads_each_databag_once(ctx: Any, fake: Any) -> None:
    out = settled(ctx, fake, 20)
    fake.clear_log()
    ctx.juju_log.clear()
    with hook_tools() as calls:
        ctx.run(ctx.on.config_changed(), out)
    assert calls() <= 2 * 20 + 10  # Juju's list of its units, and its app databag
    assert fake.writes == 0
    assert log_lines(ctx) == 1


def test_update_status_puts_back_a_policy_edited_or_deleted_by_hand(ctx: Any, fake: Any) -> None:
    out = settled(ctx, fake, 2)
    [edited, deleted] = fake.list(AP, "AuthorizationPolicy", MODEL)
    wanted = json.loads(json.dumps(edited["spec"]))
    edited["spec"]["rules"][0]["to"][0]["operation"]["methods"] = ["DELETE"]  # a field we set
    fake.add(edited)
    fake.delete(AP, "AuthorizationPolicy", deleted["metadata"]["name"], MODEL)
    ctx.run(ctx.on.update_status(), out)
    policies = {p["metadata"]["name"]: p for p in fake.list(AP, "AuthorizationPolicy", MODEL)}
    assert set(policies) == {edited["metadata"]["name"], deleted["metadata"]["name"]}
    assert policies[edited["metadata"]["name"]]["spec"] == wanted


def test_update_status_retries_a_reconcile_that_failed(ctx: Any, fake: Any) -> None:
    istiod.program_later(fake, 0.0, WAYPOINT, MODEL)
    fake.fail_next("PATCH", "/authorizationpolicies/", 503, times=4)  # a try and 3 retries
    out = ctx.run(ctx.on.config_changed(), state(consumer("app")))
    assert isinstance(out.unit_status, testing.WaitingStatus)
    ctx.run(ctx.on.update_status(), out)
    assert len(fake.list(AP, "AuthorizationPolicy", MODEL)) == 1


def test_a_reconcile_logs_a_summary_and_a_line_per_problem(ctx: Any, fake: Any) -> None:
    bad = testing.Relation(
        "service-mesh", remote_app_name="bad", remote_app_data={"policies": "[{"}
    )
    istiod.program_later(fake, 0.0, WAYPOINT, MODEL)
    ctx.run(ctx.on.config_changed(), state(consumer("app"), bad))
    recorded = [line for line in ctx.juju_log if line.level in ("INFO", "WARNING", "ERROR")]
    assert [line.level for line in recorded] == ["WARNING", "INFO"], recorded
    assert "bad" in recorded[0].message and "not valid JSON" in recorded[0].message
    assert recorded[1].message.startswith("reconciled: ")
    assert not any("HTTP Request" in line.message for line in ctx.juju_log)
