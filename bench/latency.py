"""Benchmark: how soon after Istio programs the gateway do the charms' users see it?

For each charm and each X in ``--after`` (default 0, 0.5 and 5 s), on a fresh fake
cluster, an istiod stand-in (:mod:`meshops.testing.istiod`) programs the Gateway the
charm creates X seconds after the hook that creates it starts (and, for the ingress,
gives the LoadBalancer Service ``<app>-istio`` its address then). One hook runs
(config-changed); then, if what the users wait for is not there yet, the next event
(update-status, at Juju's default interval of 5 minutes). What is waited for:

* istio-ingress-k8s: the URL told to an ingress v2 requirer;
* istio-beacon-k8s (``model-on-mesh=true``): the model's namespace labelled onto the
  mesh (``istio.io/use-waypoint``), which waits for the waypoint to be programmed.

Prints one JSON line per charm and X:

    {"charm": ..., "programmed_after_s": X, "published_after_s": Y, "same_hook": ...}

A first run of each charm, not printed, warms the process up (the fake compiles
the upstream CRDs' schemas on first use). Y counts the fake's time (which passes at
once while the charm watches: nothing really waits) plus the wall time the hooks took,
from the start of the first hook to the end of the one that published; ``same_hook``
says whether that was the first. The fake's time is that of the Kubernetes API: a hook
that read the status once, before it applied, sees the gateway programmed only at the
next event.

Usage: .venv/bin/python bench/latency.py [--after 0 0.5 5] [--charms DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops import testing

from meshops.crds import ROOT as CRDS
from meshops.testing import FakeKubernetes, charm, istiod
from meshops.testing.juju import app_service, model_namespace, model_uuid
from meshops.testing.upstream import crd_docs

REPO = Path(__file__).resolve().parents[1]
#: Juju's default update-status interval, in seconds.
UPDATE_STATUS_INTERVAL = 300.0
ADDRESS = "10.0.0.9"


def ingress_case(charms: Path) -> tuple[Any, str, testing.State, Callable[..., bool]]:
    cls = charm.load_charm(charms / "istio-ingress-k8s", "latency_ingress_charm").IstioIngressCharm
    ctx = testing.Context(cls, app_name="istio-ingress-k8s")
    web = testing.Relation(
        "ingress",
        remote_app_name="web",
        remote_app_data={"name": '"web"', "model": '"shop"', "port": "8080"},
        remote_units_data={0: {"host": '"web-0.web-endpoints.shop.svc.cluster.local"'}},
        remote_model_uuid=model_uuid("shop"),
    )
    state = testing.State(
        leader=True,
        relations=[web, testing.PeerRelation("ingress-peers")],
        model=testing.Model(name="edge", uuid=model_uuid("edge")),
    )

    def published(out: testing.State, _: FakeKubernetes) -> bool:
        return "ingress" in out.get_relation(web.id).local_app_data

    return ctx, "edge", state, published


def beacon_case(charms: Path) -> tuple[Any, str, testing.State, Callable[..., bool]]:
    cls = charm.load_charm(charms / "istio-beacon-k8s", "latency_beacon_charm").IstioBeaconCharm
    ctx = testing.Context(cls, app_name="istio-beacon-k8s")
    state = testing.State(
        leader=True,
        config={"model-on-mesh": True},
        relations=[testing.PeerRelation("beacon-peers")],
        model=testing.Model(name="shop", uuid=model_uuid("shop")),
    )

    def published(_: testing.State, fake: FakeKubernetes) -> bool:
        namespace = fake.get("v1", "Namespace", "shop") or {"metadata": {}}
        return "istio.io/use-waypoint" in namespace["metadata"].get("labels", {})

    return ctx, "shop", state, published


CASES = {
    "istio-ingress-k8s": (ingress_case, "istio-ingress-k8s", ADDRESS),
    "istio-beacon-k8s": (beacon_case, "istio-beacon-k8s-waypoint", None),
}


def run(name: str, after: float, charms: Path) -> dict[str, Any]:
    make, gateway, address = CASES[name]
    ctx, namespace, state, published = make(charms)
    fake = FakeKubernetes()
    for doc in crd_docs(CRDS, *CRD_NAMES):
        fake.install_crd(doc)
    for model in {namespace, "shop"}:
        fake.add(model_namespace(model))
    fake.add(app_service("web", "shop", 8080))
    istiod.program_later(fake, after, gateway, namespace, address=address)
    elapsed = 0.0
    same_hook = True
    with fake.installed():
        for event in (ctx.on.config_changed, ctx.on.update_status):
            start_fake, start_wall = fake.time.now(), time.perf_counter()
            state = ctx.run(event(), state)
            elapsed += fake.time.now() - start_fake + time.perf_counter() - start_wall
            if published(state, fake):
                break
            same_hook = False
            elapsed += UPDATE_STATUS_INTERVAL  # until the next event
            fake.pass_time(UPDATE_STATUS_INTERVAL)
        else:
            elapsed = float("nan")
    return {
        "charm": name,
        "programmed_after_s": after,
        "published_after_s": round(elapsed, 3),
        "same_hook": same_hook,
    }


CRD_NAMES = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)


def main() -> None:
    parser = argparse.ArgumentParser(description="seconds from programmed to published")
    parser.add_argument("--after", type=float, nargs="+", default=[0.0, 0.5, 5.0])
    parser.add_argument("--charms", type=Path, default=REPO / "charms", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in CASES:
        run(name, 0.0, args.charms)  # warm-up: the fake compiles the CRDs' schemas once
        for after in args.after:
            print(json.dumps(run(name, after, args.charms)))


if __name__ == "__main__":
    main()
