"""Benchmark: istio-ingress-k8s against the in-process API fake or a real kube-apiserver.

200 related applications over ``istio-ingress-route``, each asking for 5 HTTP routes
on its own listener port, spread over 20 Juju models of their own (cross-model
relations: each requirer's namespace is found by its model's UUID, and its backend
checked against its Service's labels), under ops.testing: one full
reconcile (config-changed on a fresh cluster: a Gateway with a listener per port, and
per requirer an HTTPRoute holding its 5 routes as rules and an AuthorizationPolicy),
then a reconcile with nothing new (config-changed again), then a quiet update-status.
Prints one JSON line with, for each, the wall time, the API reads and writes, the
juju-log lines Juju records by default and the hook-tool calls (counted at
ops.testing's model backend):

    full_s, full_reads, full_writes, full_log_lines, hook_tools_full,
    noop_s, ..., noop_log_lines, hook_tools_noop,
    update_status_s, ..., update_status_log_lines, hook_tools_update_status

The wall times include everything a hook does in-process: ops reading 200 relations,
parsing and validating each requirer's config, planning (conflict checks included),
and every API call through lightkube into the fake, which validates each object
against the upstream CRDs and their CEL rules.

Usage: .venv/bin/python bench/ingress.py [--apps 200] [--routes 5] [--server fake|real]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from _reconcile import add_server_option, measure, open_server, report
from ops import testing

from meshops.testing import charm
from meshops.testing.juju import app_service, model_namespace, model_uuid

REPO = Path(__file__).resolve().parents[1]
MODEL = "edge"
APP = "istio-ingress-k8s"
NAMESPACES = 20
KINDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)


def load_charm() -> Any:
    return charm.load_charm(
        REPO / "charms" / "istio-ingress-k8s", "istio_ingress_k8s_charm"
    ).IstioIngressCharm


def prepare(fake: Any, apps: int) -> None:
    for ns in [MODEL, *(f"team-{n:02d}" for n in range(NAMESPACES))]:
        fake.add(model_namespace(ns))
    for a in range(apps):
        fake.add(app_service(f"app-{a:04d}", f"team-{a % NAMESPACES:02d}", 8080))
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{APP}-istio", "namespace": MODEL},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
        }
    )


def config(app: str, namespace: str, port: int, routes: int) -> str:
    """A requirer's ``config``, as the ecosystem's istio_ingress_route library writes it."""
    listener = {"port": port, "protocol": "HTTP"}
    return json.dumps(
        {
            "model": namespace,
            "listeners": [listener],
            "http_routes": [
                {
                    "name": f"r{r}",
                    "listener": listener,
                    "backends": [{"service": app, "port": 8080, "weight": None}],
                    "hostnames": None,
                    "matches": [
                        {
                            "headers": None,
                            "path": {"type": "PathPrefix", "value": f"/{app}/v{r}"},
                            "method": "GET" if r % 2 else None,
                        }
                    ],
                    "filters": None,
                }
                for r in range(routes)
            ],
            "grpc_routes": [],
        },
        separators=(",", ":"),
    )


def relations(apps: int, routes: int) -> list[testing.Relation]:
    return [
        testing.Relation(
            "istio-ingress-route",
            remote_app_name=f"remote-{a:032x}",  # as Juju shows a consuming application
            remote_app_data={
                "config": config(
                    f"app-{a:04d}", f"team-{a % NAMESPACES:02d}", 9000 + a % 50, routes
                )
            },
            remote_model_uuid=model_uuid(f"team-{a % NAMESPACES:02d}"),
        )
        for a in range(apps)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="istio-ingress-k8s against an API server")
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--routes", type=int, default=5)
    add_server_option(parser)
    args = parser.parse_args()

    charm = load_charm()
    ctx = testing.Context(charm, app_name=APP)
    model = testing.Model(name=MODEL, uuid=model_uuid(MODEL))
    peers = testing.PeerRelation("ingress-peers")
    state = testing.State(
        leader=True, relations=[*relations(args.apps, args.routes), peers], model=model
    )
    with open_server(args.server, KINDS) as server:
        prepare(server, args.apps)
        out, figures = measure(ctx, state, server)
        rules = sum(
            len(route["spec"]["rules"])
            for n in range(NAMESPACES)
            for route in server.list("gateway.networking.k8s.io/v1", "HTTPRoute", f"team-{n:02d}")
        )
    if rules != args.apps * args.routes:
        sys.exit(f"expected {args.apps * args.routes} HTTPRoute rules, the server holds {rules}")
    if not isinstance(out.unit_status, testing.ActiveStatus):
        sys.exit(f"the charm is not active: {out.unit_status}")
    report({"server": args.server, **figures})


if __name__ == "__main__":
    main()
