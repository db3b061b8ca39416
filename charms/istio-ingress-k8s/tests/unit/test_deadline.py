"""istio-ingress-k8s against a slow and a timing-out Kubernetes API (the fake's delays).

One deadline covers every request of a hook, the charm's and its service-mesh
library's together; past it the hook succeeds and the charm is Waiting; a hook cut
short while deleting a requirer's objects leaves no route without its policy, and the
next event finishes. The fake's clock counts the time: nothing really waits.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from ops import testing

from meshops.testing.juju import model_uuid

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
AP = "security.istio.io/v1"
LATE = "the Kubernetes API did not answer in time; retrying on the next event"


def state(*relations: testing.RelationBase) -> testing.State:
    return testing.State(
        leader=True,
        relations=list(relations),
        model=testing.Model(name=MODEL, uuid=model_uuid(MODEL)),
    )


def ingress(app: str, model: str = "shop") -> testing.Relation:
    return testing.Relation(
        "ingress",
        remote_app_name=app,
        remote_app_data={"name": json.dumps(app), "model": json.dumps(model), "port": "8080"},
        remote_units_data={0: {"host": json.dumps(f"{app}-0.{model}.svc.cluster.local")}},
        remote_model_uuid=model_uuid(model),
    )


def load_balancer(fake: Any) -> None:
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{APP}-istio", "namespace": MODEL},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
        }
    )


@pytest.mark.fake_only("injects API faults or delays, as only the fake can")
def test_a_server_that_never_answers_ends_the_hook_in_time_waiting(ctx: Any, fake: Any) -> None:
    fake.delay_next("*", "", math.inf, times=1000)
    out = ctx.run(ctx.on.update_status(), state(ingress("web")))
    assert out.unit_status == testing.WaitingStatus(LATE)
    assert fake.time.now() <= 30.0


@pytest.mark.fake_only("injects API faults or delays, as only the fake can")
def test_a_slow_server_is_one_deadline_for_the_charm_and_its_mesh_library(
    ctx: Any, fake: Any
) -> None:
    load_balancer(fake)
    mesh = testing.Relation(
        "service-mesh",
        remote_app_name="beacon",
        remote_app_data={
            "labels": json.dumps({"istio.io/dataplane-mode": "ambient"}),
            "mesh_type": json.dumps("istio"),
        },
    )
    fake.delay_next("*", "", 6.0, times=1000)  # every request answered, after 6 s
    # on upgrade-charm the library labels the charm's pod, and the charm reconciles
    out = ctx.run(ctx.on.upgrade_charm(), state(ingress("web"), mesh))
    assert any("/pods/" in r.path for r in fake.requests)
    assert out.unit_status == testing.WaitingStatus(LATE)
    assert fake.time.now() <= 30.0


@pytest.mark.fake_only("injects API faults or delays, as only the fake can")
def test_a_hook_cut_short_while_deleting_leaves_no_route_without_its_policy(
    ctx: Any, fake: Any
) -> None:
    load_balancer(fake)
    web, blog = ingress("web"), ingress("blog", model="blog")
    ctx.run(ctx.on.config_changed(), state(web, blog))
    # web leaves; the API stops answering once its route is deleted
    fake.delay_next("DELETE", "/authorizationpolicies/", math.inf, times=1000)
    out = ctx.run(ctx.on.relation_broken(web), state(web, blog))
    assert out.unit_status == testing.WaitingStatus(LATE)
    assert fake.list(GW_API, "HTTPRoute", "shop") == []
    assert fake.list(AP, "AuthorizationPolicy", "shop") != []  # not yet: next event
    assert fake.list(GW_API, "HTTPRoute", "blog") != []
    # the API answers again: the next event finishes
    fake.clear_faults()
    out = ctx.run(ctx.on.update_status(), state(blog))
    assert fake.list(AP, "AuthorizationPolicy", "shop") == []
    assert fake.list(GW_API, "HTTPRoute", "blog") != []
    assert out.unit_status == testing.ActiveStatus("1 routes served for 1 requirers")
