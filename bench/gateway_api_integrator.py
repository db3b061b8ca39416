"""Benchmark: gateway-api-integrator against the in-process API fake or a real kube-apiserver.

200 related applications (``--apps``) from 20 Juju models of their own (cross-model
relations: each requirer's namespace found by its model's UUID, its backend checked
against its Service's labels), under ops.testing: nine in ten over ``gateway``
(ingress v2: an HTTPRoute each, in its own namespace), one in ten over
``gateway-route`` claiming a hostname (a listener of its own on the Gateway, which holds
at most 64), for a Gateway class that is not Istio's. One full reconcile (config-changed on a fresh
cluster), then the Gateway's controller gives it an address (not timed), then a
reconcile with nothing new for the cluster (update-status; it hands out the URLs, which
is relation data, not API writes). Prints one JSON line:

    full_s, full_reads, full_writes, noop_s, noop_reads, noop_writes

Usage: .venv/bin/python bench/gateway_api_integrator.py [--apps 200] [--server fake|real]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _reconcile import add_server_option, open_server, report
from ops import testing

from meshops.testing import charm
from meshops.testing.juju import app_service, model_namespace, model_uuid

REPO = Path(__file__).resolve().parents[1]
MODEL = "edge"
APP = "gateway-api-integrator"
NAMESPACES = 20
GW_API = "gateway.networking.k8s.io/v1"
KINDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
)


def load_charm() -> Any:
    root = REPO / "charms" / "gateway-api-integrator"
    return charm.load_charm(root, "gateway_api_integrator_charm").GatewayApiIntegratorCharm


def prepare(server: Any, apps: int) -> None:
    for ns in [MODEL, *(f"team-{n:02d}" for n in range(NAMESPACES))]:
        server.add(model_namespace(ns))
    for a in range(apps):
        server.add(app_service(f"app-{a:04d}", f"team-{a % NAMESPACES:02d}", 8080))
    server.add(
        {
            "apiVersion": GW_API,
            "kind": "GatewayClass",
            "metadata": {"name": "cilium"},
            "spec": {"controllerName": "io.cilium/gateway-controller"},
        }
    )


def relations(apps: int) -> list[testing.Relation]:
    found: list[testing.Relation] = []
    for a in range(apps):
        app, model = f"app-{a:04d}", f"team-{a % NAMESPACES:02d}"
        if a % 10 == 9:
            found.append(
                testing.Relation(
                    "gateway-route",
                    remote_app_name=f"remote-{a:032x}",
                    remote_app_data={
                        "additional_hostnames": "[]",
                        "hostname": json.dumps(f"{app}.example.com"),
                    },
                    remote_model_uuid=model_uuid(model),
                )
            )
            continue
        found.append(
            testing.Relation(
                "gateway",
                remote_app_name=f"remote-{a:032x}",  # as Juju shows a consuming application
                remote_app_data={
                    "model": json.dumps(model),
                    "name": json.dumps(app),
                    "port": "8080",
                },
                remote_units_data={0: {"host": json.dumps(f"{app}-0.{app}-endpoints")}},
                remote_model_uuid=model_uuid(model),
            )
        )
    return found


def give_address(server: Any) -> None:
    gw = server.get(GW_API, "Gateway", APP, MODEL)
    gw["metadata"].pop("managedFields", None)
    gw["status"] = {"addresses": [{"type": "IPAddress", "value": "203.0.113.7"}]}
    server.add(gw)


def main() -> None:
    parser = argparse.ArgumentParser(description="gateway-api-integrator against an API server")
    parser.add_argument("--apps", type=int, default=200)
    add_server_option(parser)
    args = parser.parse_args()

    ctx = testing.Context(load_charm(), app_name=APP)
    model = testing.Model(name=MODEL, uuid=model_uuid(MODEL))
    config = {"gateway-class": "cilium", "enforce-https": False}
    state = testing.State(leader=True, relations=relations(args.apps), model=model, config=config)
    figures: dict[str, float | int] = {}
    with open_server(args.server, KINDS) as server:
        prepare(server, args.apps)
        with server.installed():
            server.clear_log()
            start = time.perf_counter()
            out = ctx.run(ctx.on.config_changed(), state)
            figures["full_s"] = round(time.perf_counter() - start, 3)
            figures["full_reads"], figures["full_writes"] = server.reads, server.writes
            if server.get(GW_API, "Gateway", APP, MODEL) is None:
                sys.exit(f"no Gateway after the full reconcile: {out.unit_status}")
            give_address(server)
            server.clear_log()
            start = time.perf_counter()
            out = ctx.run(ctx.on.update_status(), out)
            figures["noop_s"] = round(time.perf_counter() - start, 3)
            figures["noop_reads"], figures["noop_writes"] = server.reads, server.writes
            routes = sum(
                len(server.list(GW_API, "HTTPRoute", f"team-{n:02d}")) for n in range(NAMESPACES)
            )
            [gateway] = server.list(GW_API, "Gateway", MODEL)
    claimants = args.apps // 10
    if routes != args.apps - claimants:
        sys.exit(f"expected {args.apps - claimants} HTTPRoutes, the server holds {routes}")
    if len(gateway["spec"]["listeners"]) != 1 + claimants:
        sys.exit(f"expected {1 + claimants} listeners: {len(gateway['spec']['listeners'])}")
    if not isinstance(out.unit_status, testing.ActiveStatus):
        sys.exit(f"the charm is not active: {out.unit_status}")
    urls = sum(1 for r in out.relations if "ingress" in r.local_app_data)
    if urls != args.apps - claimants:
        sys.exit(f"expected {args.apps - claimants} URLs handed out, got {urls}")
    report(
        {
            "server": args.server,
            "requirers": args.apps,
            "gateway": args.apps - claimants,
            "gateway_route": claimants,
            **figures,
        }
    )


if __name__ == "__main__":
    main()
