"""istio-ingress-k8s under a flaky Kubernetes API: random faults on every request.

409, 429 with Retry-After, 500, 503, refused connections, requests never answered
(carried out or not), and a CRD removed and put back mid-run: no hook raises, no hook
takes longer than its deadline, no object that is not the charm's is changed or
deleted, and once the faults stop the cluster holds exactly what a run without faults
leaves.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from ops import testing

from meshops.testing import FakeKubernetes
from meshops.testing.faults import FaultRun, foreign, lost, owned

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
DR_CRD = "destinationrules.networking.istio.io"


def ingress(app: str, model: str, relation_id: int, **extra: Any) -> testing.Relation:
    data = {"name": json.dumps(app), "model": json.dumps(model), "port": "8080"}
    data.update({k: json.dumps(v) for k, v in extra.items()})
    return testing.Relation(
        "ingress",
        id=relation_id,
        remote_app_name=app,
        remote_app_data=data,
        remote_units_data={0: {"host": json.dumps(f"{app}-0.{model}.svc.cluster.local")}},
    )


def routes(app: str, model: str, *paths: str) -> testing.Relation:
    """The istio-ingress-route requirer ``app`` (relation 3), routing ``paths``."""
    config = {
        "model": model,
        "listeners": [{"port": 8080, "protocol": "HTTP"}],
        "http_routes": [
            {
                "name": f"r{i}",
                "listener": {"port": 8080, "protocol": "HTTP"},
                "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                "backends": [{"service": app, "port": 8080}],
            }
            for i, path in enumerate(paths)
        ],
    }
    return testing.Relation(
        "istio-ingress-route",
        id=3,
        remote_app_name=app,
        remote_app_data={"config": json.dumps(config)},
    )


def seed(fake: FakeKubernetes) -> None:
    """The gateway's Service, and objects of others the charm must leave as they are."""
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{APP}-istio", "namespace": MODEL},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
        }
    )
    for name, namespace in (("theirs", "shop"), (f"{APP}-web-http-80", "shop")):
        fake.add(
            {
                "apiVersion": GW_API,
                "kind": "HTTPRoute",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"rules": [{"backendRefs": [{"name": "other", "port": 80}]}]},
            }
        )


def scenario(ctx: Any, fake: FakeKubernetes, hook: Any, dr_crd: dict[str, Any]) -> testing.State:
    """Requirers come, change and go, config changes, a CRD goes and comes back."""
    web = ingress("web", "shop", 1, scheme="https")
    api = ingress("api", "shop", 2)
    blog = routes("blog", "blog", "/b")
    state = testing.State(leader=True, relations=[web, api, blog], model=testing.Model(name=MODEL))

    def run(event: Any, state: testing.State) -> testing.State:
        out: testing.State | None = hook(lambda: ctx.run(event, state))
        return out if out is not None else state

    state = run(ctx.on.config_changed(), state)
    state = run(ctx.on.update_status(), state)
    fake.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", DR_CRD)
    blog2 = dataclasses.replace(
        blog,
        remote_app_data={"config": routes("blog", "blog", "/b", "/c").remote_app_data["config"]},
    )
    state = run(
        ctx.on.relation_changed(blog2), dataclasses.replace(state, relations=[web, api, blog2])
    )
    state = run(
        ctx.on.relation_broken(api), dataclasses.replace(state, relations=[web, api, blog2])
    )
    state = dataclasses.replace(state, relations=[web, blog2])
    fake.install_crd(dr_crd)
    state = run(ctx.on.config_changed(), dataclasses.replace(state, config={"log-level": "debug"}))
    return run(ctx.on.update_status(), state)


@pytest.mark.parametrize("seed_", [1, 2])
def test_random_faults_never_raise_never_touch_others_and_converge(
    ctx: Any, make_fake: Any, ingress_crds: tuple[str, ...], crds: Any, seed_: int
) -> None:
    [dr_crd] = crds(DR_CRD)
    namespaces = [MODEL, "shop", "blog"]
    # without faults: what the cluster should end up holding
    calm = make_fake(*ingress_crds, namespaces=namespaces)
    seed(calm)
    with calm.installed():
        scenario(ctx, calm, lambda run: run(), dr_crd)
    # with faults on one request in three
    flaky: FakeKubernetes = make_fake(*ingress_crds, namespaces=namespaces)
    seed(flaky)
    theirs = foreign(flaky)
    faults = FaultRun(flaky, rate=0.3, seed=seed_)
    with flaky.installed():
        state = scenario(ctx, flaky, faults.hook, dr_crd)
        assert faults.raised == []
        assert faults.faults > 10
        assert round(faults.longest_s, 6) <= 30.0  # the deadline
        # the faults stop: the next event converges
        state = ctx.run(ctx.on.update_status(), state)
    assert lost(theirs, foreign(flaky)) == []
    assert owned(flaky) == owned(calm)
    # the foreign route of our name is still not ours (never adopted)
    taken = flaky.get(GW_API, "HTTPRoute", f"{APP}-web-http-80", "shop")
    assert taken is not None
    assert "meshops.io/owner" not in taken["metadata"].get("labels", {})
