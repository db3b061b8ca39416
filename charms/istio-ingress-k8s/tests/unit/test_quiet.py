"""istio-ingress-k8s: effects within the hook, quiet hooks that cost few hook tools.

Covers the URL told in the very hook that creates the Gateway once Istio gives it an
address (watched for, bounded), the next event carrying on past the bound; what a
reconcile with nothing new and a quiet update-status cost in hook-tool calls and
juju-log lines (counted at ops.testing's model backend); and what update-status still
does without reading a relation: a reconcile that did not finish is run again, an
object edited or deleted by hand is put back, a new address is told.

The fake's time passes at once while the charm watches (an istiod stand-in programs
the Gateway after a while): nothing waits.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

from meshops.testing import istiod
from meshops.testing.hooktools import hook_tools, log_lines
from meshops.testing.juju import app_service, model_uuid

pytestmark = pytest.mark.fake_only("the fake's time, its scheduled actions and fault injection")

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
LB_IP = "10.0.0.9"


def ingress(app: str, model: str = "shop", port: str = "8080") -> testing.Relation:
    data = {"name": json.dumps(app), "model": json.dumps(model), "port": port}
    host = json.dumps(f"{app}-0.{app}-endpoints.{model}.svc.cluster.local")
    return testing.Relation(
        "ingress",
        remote_app_name=app,
        remote_app_data=data,
        remote_units_data={0: {"host": host}},
        remote_model_uuid=model_uuid(model),
    )


def state(*relations: testing.RelationBase, **kw: Any) -> testing.State:
    return testing.State(
        leader=True,
        relations=[*relations, testing.PeerRelation("ingress-peers")],
        model=testing.Model(name=MODEL, uuid=model_uuid(MODEL)),
        **kw,
    )


def url_of(out: testing.State, relation: testing.Relation) -> str | None:
    raw = out.get_relation(relation.id).local_app_data.get("ingress")
    return json.loads(raw)["url"] if raw else None


def test_the_hook_that_creates_the_gateway_tells_the_url_once_istio_programs_it(
    ctx: Any, fake: Any
) -> None:
    web = ingress("web")
    istiod.program_later(fake, 3.0, APP, MODEL, address=LB_IP)
    out = ctx.run(ctx.on.config_changed(), state(web))
    assert url_of(out, web) == f"http://{LB_IP}/shop-web"
    assert out.unit_status == testing.ActiveStatus("1 routes served for 1 requirers")
    assert fake.time.now() == 3.0  # it returned the moment the address came


def test_past_the_bound_the_hook_waits_and_the_next_event_carries_on(ctx: Any, fake: Any) -> None:
    web = ingress("web")
    istiod.program_later(fake, 60.0, APP, MODEL, address=LB_IP)
    out = ctx.run(ctx.on.config_changed(), state(web))
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the gateway's LoadBalancer address"
    )
    assert url_of(out, web) is None
    assert fake.time.now() == 20.0  # the bound, within the hook's deadline
    fake.pass_time(60.0)
    out = ctx.run(ctx.on.update_status(), out)
    assert url_of(out, web) == f"http://{LB_IP}/shop-web"


def settled(ctx: Any, fake: Any, apps: int) -> tuple[testing.State, list[testing.Relation]]:
    """``apps`` ingress requirers, served, the gateway programmed."""
    for a in range(apps):
        fake.add(app_service(f"app-{a:02d}", "shop", 8080))
    relations = [ingress(f"app-{a:02d}") for a in range(apps)]
    istiod.program_later(fake, 0.0, APP, MODEL, address=LB_IP)
    out = ctx.run(ctx.on.config_changed(), state(*relations))
    assert all(url_of(out, r) for r in relations)
    return out, relations


def test_a_quiet_update_status_reads_no_relation(ctx: Any, fake: Any) -> None:
    out, _ = settled(ctx, fake, 20)
    fake.clear_log()
    ctx.juju_log.clear()
    with hook_tools() as calls:
        after = ctx.run(ctx.on.update_status(), out)
    assert calls() <= 15  # 20 relations: reading any would cost more
    assert fake.writes == 0
    assert log_lines(ctx) == 0
    assert after.unit_status == out.unit_status


def test_a_reconcile_with_nothing_new_reads_each_databag_once(ctx: Any, fake: Any) -> None:
    out, relations = settled(ctx, fake, 20)
    fake.clear_log()
    ctx.juju_log.clear()
    with hook_tools() as calls:
        after = ctx.run(ctx.on.config_changed(), out)
    # the app databag and the unit's (its host), and Juju's list of its units
    assert calls() <= 3 * len(relations) + 10
    assert fake.writes == 0
    assert log_lines(ctx) == 1  # the summary
    assert [url_of(after, r) for r in relations] == [url_of(out, r) for r in relations]


def test_a_full_reconcile_logs_a_summary_and_a_line_per_problem(ctx: Any, fake: Any) -> None:
    fake.add(app_service("web", "shop", 8080))
    bad = ingress("blog", port='"eighty"')
    istiod.program_later(fake, 0.0, APP, MODEL, address=LB_IP)
    ctx.run(ctx.on.config_changed(), state(ingress("web"), bad))
    recorded = [line for line in ctx.juju_log if line.level in ("INFO", "WARNING", "ERROR")]
    assert [line.level for line in recorded] == ["WARNING", "INFO"], recorded
    assert "blog" in recorded[0].message
    assert recorded[1].message.startswith("reconciled: ")
    assert not any("HTTP Request" in line.message for line in ctx.juju_log)


def test_update_status_retries_a_reconcile_that_failed(ctx: Any, fake: Any) -> None:
    web = ingress("web")
    istiod.program_later(fake, 0.0, APP, MODEL, address=LB_IP)
    fake.fail_next("PATCH", "/httproutes/", 503, times=4)  # the first try and its 3 retries
    out = ctx.run(ctx.on.config_changed(), state(web))
    assert isinstance(out.unit_status, testing.WaitingStatus)
    fake.pass_time(300.0)  # until update-status (istiod programs the Gateway meanwhile)
    out = ctx.run(ctx.on.update_status(), out)
    assert fake.list(GW_API, "HTTPRoute", "shop")
    assert url_of(out, web) == f"http://{LB_IP}/shop-web"


def test_update_status_puts_back_what_was_edited_or_deleted_by_hand(ctx: Any, fake: Any) -> None:
    out, _ = settled(ctx, fake, 2)
    [route, other] = fake.list(GW_API, "HTTPRoute", "shop")
    wanted = json.loads(json.dumps(route["spec"]))
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/elsewhere"  # a field we set
    fake.add(route)
    fake.delete(GW_API, "HTTPRoute", other["metadata"]["name"], "shop")
    ctx.run(ctx.on.update_status(), out)
    routes = {r["metadata"]["name"]: r for r in fake.list(GW_API, "HTTPRoute", "shop")}
    assert set(routes) == {route["metadata"]["name"], other["metadata"]["name"]}
    assert routes[route["metadata"]["name"]]["spec"] == wanted


def test_update_status_tells_a_new_address(ctx: Any, fake: Any) -> None:
    out, relations = settled(ctx, fake, 2)
    istiod.program(fake, APP, MODEL, address="10.0.0.77")
    out = ctx.run(ctx.on.update_status(), out)
    assert [url_of(out, r) for r in relations] == [
        "http://10.0.0.77/shop-app-00",
        "http://10.0.0.77/shop-app-01",
    ]
