"""Benchmark: both charms' hooks against a flaky Kubernetes API.

For ``--runs`` runs per charm (default 30), a scenario of hooks runs under ops.testing
against the in-process API fake failing ``--rate`` of the requests (default 0.3) at
random: 409, 429 with a Retry-After of 1-3 s, 500, 503, refused connections, requests
never answered (carried out or not). Each run seeds objects that are not the charm's
(one with the very name of a route the charm wants). Istio-ingress-k8s: three
requirers over ingress and istio-ingress-route in two namespaces, one changing its
routes, one leaving, a config change, and the DestinationRule CRD removed mid-run and
put back. Istio-beacon-k8s: two consumers, one changing its policies, one leaving, the
model put on the mesh. After the faults stop one update-status runs; the run
*converged* when the cluster then holds exactly the objects a run without faults
leaves.

Prints one JSON line: ``hooks`` (run under faults), ``faults`` (requests failed,
delayed or dropped), ``raised`` (hooks that raised), ``runs`` and ``converged``,
``foreign_lost`` (objects not the charms' that were changed or deleted),
``longest_hook_s`` (in the fake's time: requests, timeouts, backoff; the deadline is
30 s) and ``longest_hook_wall_s``.

Usage: .venv/bin/python bench/faults.py [--runs 30] [--rate 0.3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops import testing

from meshops.testing import FakeKubernetes, charm
from meshops.testing.faults import FaultRun, foreign, lost, owned
from meshops.testing.upstream import crd_docs

REPO = Path(__file__).resolve().parents[1]
CRDS = Path(os.environ.get("MESHOPS_CRDS", REPO.parent / "shared" / "crds"))
GW_API = "gateway.networking.k8s.io/v1"
INGRESS_CRDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)
DR_CRD = "destinationrules.networking.istio.io"
MESH_CRDS = ("gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io")
Hook = Callable[[Callable[[], testing.State]], "testing.State | None"]


def cluster(crds: tuple[str, ...], namespaces: list[str]) -> FakeKubernetes:
    fake = FakeKubernetes()
    for doc in crd_docs(CRDS, *crds):
        fake.install_crd(doc)
    for ns in namespaces:
        fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    return fake


# -- istio-ingress-k8s ----------------------------------------------------------------------


def ingress_cluster() -> FakeKubernetes:
    fake = cluster(INGRESS_CRDS, ["edge", "shop", "blog"])
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "istio-ingress-k8s-istio", "namespace": "edge"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
        }
    )
    for name in ("theirs", "istio-ingress-k8s-web-http-80"):
        fake.add(
            {
                "apiVersion": GW_API,
                "kind": "HTTPRoute",
                "metadata": {"name": name, "namespace": "shop"},
                "spec": {"rules": [{"backendRefs": [{"name": "other", "port": 80}]}]},
            }
        )
    return fake


def ingress(app: str, model: str, relation_id: int, **extra: Any) -> testing.Relation:
    data = {"name": json.dumps(app), "model": json.dumps(model), "port": "8080"}
    data.update({k: json.dumps(v) for k, v in extra.items()})
    host = json.dumps(f"{app}-0.{model}.svc.cluster.local")
    return testing.Relation(
        "ingress",
        id=relation_id,
        remote_app_name=app,
        remote_app_data=data,
        remote_units_data={0: {"host": host}},
    )


def routes(app: str, model: str, *paths: str) -> testing.Relation:
    listener = {"port": 8080, "protocol": "HTTP"}
    config = {
        "model": model,
        "listeners": [listener],
        "http_routes": [
            {
                "name": f"r{i}",
                "listener": listener,
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


def ingress_scenario(ctx: Any, fake: FakeKubernetes, hook: Hook) -> testing.State:
    web, api = ingress("web", "shop", 1, scheme="https"), ingress("api", "shop", 2)
    blog = routes("blog", "blog", "/b")
    state = testing.State(
        leader=True, relations=[web, api, blog], model=testing.Model(name="edge")
    )
    [dr_crd] = crd_docs(CRDS, DR_CRD)

    def run(event: Any, state: testing.State) -> testing.State:
        return hook(lambda: ctx.run(event, state)) or state

    state = run(ctx.on.config_changed(), state)
    state = run(ctx.on.update_status(), state)
    fake.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", DR_CRD)
    blog = routes("blog", "blog", "/b", "/c")
    state = testing.State(
        leader=True, relations=[web, api, blog], model=testing.Model(name="edge")
    )
    state = run(ctx.on.relation_changed(blog), state)
    state = run(ctx.on.relation_broken(state.get_relation(api.id)), state)
    fake.install_crd(dr_crd)
    state = testing.State(
        leader=True,
        relations=[web, blog],
        model=testing.Model(name="edge"),
        config={"log-level": "debug"},
    )
    state = run(ctx.on.config_changed(), state)
    return run(ctx.on.update_status(), state)


# -- istio-beacon-k8s -----------------------------------------------------------------------


def beacon_cluster() -> FakeKubernetes:
    fake = cluster(MESH_CRDS, ["m"])
    fake.add(
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "theirs", "namespace": "m"},
            "spec": {"action": "DENY", "rules": [{}]},
        }
    )
    return fake


def consumer(app: str, relation_id: int, *callers: str) -> testing.Relation:
    policies = [
        {
            "source_namespace": "m",
            "source_app_name": caller,
            "target_namespace": "m",
            "target_app_name": app,
            "target_selector_labels": None,
            "target_service": None,
            "target_type": "app",
            "endpoints": [{"hosts": None, "ports": [80], "methods": ["GET"], "paths": None}],
        }
        for caller in callers
    ]
    return testing.Relation(
        "service-mesh",
        id=relation_id,
        remote_app_name=app,
        remote_app_data={"policies": json.dumps(policies)},
    )


def beacon_scenario(ctx: Any, fake: FakeKubernetes, hook: Hook) -> testing.State:
    del fake  # the beacon's scenario changes nothing in the cluster by hand
    prometheus, loki = consumer("prometheus", 1, "grafana"), consumer("loki", 2, "grafana")
    model = testing.Model(name="m")
    state = testing.State(leader=True, relations=[prometheus, loki], model=model)

    def run(event: Any, state: testing.State) -> testing.State:
        return hook(lambda: ctx.run(event, state)) or state

    state = run(ctx.on.install(), state)
    state = run(ctx.on.update_status(), state)
    loki = consumer("loki", 2, "alertmanager")
    state = run(
        ctx.on.relation_changed(loki),
        testing.State(leader=True, relations=[prometheus, loki], model=model),
    )
    on_mesh = {"model-on-mesh": True}
    state = run(
        ctx.on.relation_broken(prometheus),
        testing.State(leader=True, relations=[prometheus, loki], model=model, config=on_mesh),
    )
    state = testing.State(leader=True, relations=[loki], model=model, config=on_mesh)
    return run(ctx.on.update_status(), state)


# -- the runs -------------------------------------------------------------------------------


def campaign(
    name: str,
    make: Callable[[], FakeKubernetes],
    scenario: Callable[[Any, FakeKubernetes, Hook], testing.State],
    runs: int,
    rate: float,
) -> dict[str, Any]:
    charm_class = charm.load_charm(
        REPO / "charms" / name, name.replace("-", "_") + "_charm"
    ).__dict__["IstioIngressCharm" if name == "istio-ingress-k8s" else "IstioBeaconCharm"]
    ctx = testing.Context(charm_class, app_name=name)
    calm = make()
    with calm.installed():
        scenario(ctx, calm, lambda run: run())
    expected = owned(calm)
    totals: dict[str, Any] = {
        "hooks": 0,
        "faults": 0,
        "raised": 0,
        "runs": 0,
        "converged": 0,
        "foreign_lost": 0,
        "longest_hook_s": 0.0,
        "longest_hook_wall_s": 0.0,
    }
    for seed in range(runs):
        fake = make()
        theirs = foreign(fake)
        faults = FaultRun(fake, rate=rate, seed=seed)
        with fake.installed():
            state = scenario(ctx, fake, faults.hook)
            try:
                ctx.run(ctx.on.update_status(), state)
            except Exception as e:  # counted like the others, and said
                faults.raised.append(f"{type(e).__name__}: {e}")
        for message in faults.raised:
            print(f"{name}, run {seed}: {message}", file=sys.stderr)
        totals["hooks"] += faults.hooks
        totals["faults"] += faults.faults
        totals["raised"] += len(faults.raised)
        totals["runs"] += 1
        totals["converged"] += owned(fake) == expected
        totals["foreign_lost"] += len(lost(theirs, foreign(fake)))
        totals["longest_hook_s"] = max(totals["longest_hook_s"], faults.longest_s)
        totals["longest_hook_wall_s"] = max(totals["longest_hook_wall_s"], faults.longest_wall_s)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description="Both charms' hooks against a flaky API.")
    parser.add_argument("--runs", type=int, default=30, help="runs per charm (default 30)")
    parser.add_argument("--rate", type=float, default=0.3, help="requests failed (0.3)")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # the charms log every fault they meet: thousands
    figures: dict[str, Any] = {}
    for name, make, scenario in (
        ("istio-ingress-k8s", ingress_cluster, ingress_scenario),
        ("istio-beacon-k8s", beacon_cluster, beacon_scenario),
    ):
        for key, value in campaign(name, make, scenario, args.runs, args.rate).items():
            figures[key] = (
                max(figures.get(key, 0), value)
                if "longest" in key
                else (figures.get(key, 0) + value)
            )
    figures["longest_hook_s"] = round(figures["longest_hook_s"], 3)
    figures["longest_hook_wall_s"] = round(figures["longest_hook_wall_s"], 3)
    figures["rate"] = args.rate
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
