"""Benchmark: istio-beacon-k8s against the in-process API fake or a real kube-apiserver.

200 related applications, each declaring 5 policies (3 app policies and 2 unit policies,
so 400 AuthorizationPolicies: one on each app's Service, one on its pods), under
ops.testing: one full reconcile (config-changed on a fresh cluster), a reconcile with
nothing new (config-changed again), then a quiet update-status; an istiod stand-in
programs the waypoint as soon as it is made. Prints one JSON line with, for each, the
wall time, the API reads and writes, the juju-log lines Juju records by default and
the hook-tool calls (counted at ops.testing's model backend):

    full_s, full_reads, full_writes, full_log_lines, hook_tools_full,
    noop_s, ..., noop_log_lines, hook_tools_noop,
    update_status_s, ..., update_status_log_lines, hook_tools_update_status

The wall times include everything a hook does in-process: ops reading 200 relations,
parsing and validating the policies, planning, and every API call through lightkube
into the fake (which validates each object against the upstream CRDs).

Usage: .venv/bin/python bench/beacon.py [--apps 200] [--policies 5] [--server fake|real]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from _reconcile import add_server_option, measure, open_server, report
from ops import testing

from meshops.testing import charm, istiod

REPO = Path(__file__).resolve().parents[1]
MODEL = "bench"


def load_charm() -> Any:
    return charm.load_charm(
        REPO / "charms" / "istio-beacon-k8s", "istio_beacon_k8s_charm"
    ).IstioBeaconCharm


CRD_NAMES = ("gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io")


def prepare(server: Any) -> None:
    server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MODEL}})


def relations(apps: int, policies: int) -> list[testing.Relation]:
    rels: list[testing.Relation] = []
    for a in range(apps):
        target = f"app-{a:04d}"
        data = [
            {
                "source_namespace": MODEL,
                "source_app_name": f"client-{a:04d}-{p}",
                "target_namespace": MODEL,
                "target_app_name": target,
                "target_selector_labels": None,
                "target_service": None,
                "target_type": "app" if p % 2 == 0 else "unit",
                "endpoints": [
                    {
                        "hosts": None,
                        "ports": [8080 + p],
                        "methods": ["GET", "POST"] if p % 2 == 0 else None,
                        "paths": ["/api/*", "/metrics"] if p % 2 == 0 else None,
                    }
                ],
            }
            for p in range(policies)
        ]
        rels.append(
            testing.Relation(
                "service-mesh",
                remote_app_name=target,
                remote_app_data={"policies": json.dumps(data)},
            )
        )
    return rels


def main() -> None:
    parser = argparse.ArgumentParser(description="istio-beacon-k8s against an API server")
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--policies", type=int, default=5)
    add_server_option(parser)
    args = parser.parse_args()

    charm = load_charm()
    ctx = testing.Context(charm, app_name="istio-beacon-k8s")
    state = testing.State(
        leader=True,
        relations=[*relations(args.apps, args.policies), testing.PeerRelation("beacon-peers")],
        model=testing.Model(name=MODEL),
    )
    with open_server(args.server, CRD_NAMES) as server:
        prepare(server)
        # istiod programs the waypoint as soon as it is made
        if args.server == "fake":
            istiod.program_later(server, 0, "istio-beacon-k8s-waypoint", MODEL)
        else:
            istiod.program_when_created(server, "istio-beacon-k8s-waypoint", MODEL)
        _, figures = measure(ctx, state, server)
        policies = len(server.list("security.istio.io/v1", "AuthorizationPolicy", MODEL))
    # one on each app's Service; one on its pods when it has unit (odd-numbered) policies
    expected = args.apps * (1 + (args.policies > 1))
    if policies != expected:
        sys.exit(f"expected {expected} AuthorizationPolicies, the server holds {policies}")
    report({"server": args.server, **figures})


if __name__ == "__main__":
    main()
