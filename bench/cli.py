"""Benchmark of the meshops command on a large platform file.

Builds a platform file of ``--apps`` apps (default 1,000) in namespaces of 50, each
accepting HTTP calls from its two neighbours and one app of the next namespace, every
fifth app behind the ingress gateway with its own hostname, hardened, with an Istio
section; then measures, on this machine:

* ``load_s``: reading and checking the file (``meshops validate``);
* ``render_s``: load, plan and the YAML text (``meshops render``), in process;
* ``render_cli_s``: ``meshops render`` as a command, interpreter start-up included;
* ``objects``: how many objects it renders;
* ``apply_s`` / ``apply_reads`` / ``apply_writes``: ``meshops apply`` into the
  in-process API fake (every object checked against the upstream CRDs), then
  ``noop_s`` / ``noop_reads`` / ``noop_writes`` for a second apply with nothing new;
* ``check_index_s`` and ``route_index_s``: building the evaluators from the rendered
  objects (once per command run), then ``check_ms_mean`` / ``check_ms_max`` and
  ``route_ms_mean`` / ``route_ms_max`` over ``--queries`` questions each.

Prints the figures as one JSON line. Run: ``.venv/bin/python bench/cli.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from meshops import spec
from meshops.cli import main
from meshops.cli.output import objects_yaml
from meshops.cli.render import file_objects
from meshops.crds import ROOT as CRDS
from meshops.plan.istio import istio_operator
from meshops.semantics.authz import Call, Policies, Workload
from meshops.semantics.routing import Request, Routes
from meshops.testing import FakeKubernetes
from meshops.testing.upstream import crd_docs

ROOT = Path(__file__).resolve().parents[1]
PER_NAMESPACE = 50


def platform_file(apps: int) -> str:
    """A platform file with ``apps`` apps (see the module's docstring)."""
    namespaces = (apps + PER_NAMESPACE - 1) // PER_NAMESPACE
    lines = [
        "apiVersion: meshops.io/v1alpha1",
        "kind: Platform",
        "metadata: {name: big}",
        "spec:",
        "  istio: {profile: ambient, hub: registry.local/istio}",
        "  hardened: true",
        "  namespaces:",
        "    - {name: ingress, mesh: off}",
    ]
    lines += [f"    - {{name: ns-{n:03d}}}" for n in range(namespaces)]
    lines.append("  apps:")
    for i in range(apps):
        ns = i // PER_NAMESPACE
        callers = [f"app-{j:04d}" for j in (i - 1, i - 2) if j >= ns * PER_NAMESPACE]
        other = (ns + 1) * PER_NAMESPACE + i % PER_NAMESPACE
        if other < apps:
            callers.append(f"ns-{ns + 1:03d}/app-{other:04d}")
        lines += [
            f"    - name: app-{i:04d}",
            f"      namespace: ns-{ns:03d}",
            "      ports: [{port: 8080, protocol: http}]",
        ]
        if callers:
            lines += [
                "      accepts:",
                f"        - from: [{', '.join(callers)}]",
                "          methods: [GET, POST]",
                "          paths: [/api/*]",
            ]
    lines += [
        "  ingress:",
        '    hostname: "*.example.com"',
        "    tls: {secret: example-com-tls}",
        "    routes:",
    ]
    for i in range(0, apps, 5):
        lines += [
            f"      - app: ns-{i // PER_NAMESPACE:03d}/app-{i:04d}",
            f"        hostnames: [app-{i:04d}.example.com]",
            "        matches: [{path: {type: PathPrefix, value: /api}}]",
        ]
    return "\n".join(lines) + "\n"


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    """``fn(*args)`` and the seconds it took."""
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def fake_cluster() -> FakeKubernetes:
    fake = FakeKubernetes()
    for doc in crd_docs(
        CRDS,
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "grpcroutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
        "authorizationpolicies.security.istio.io",
        "destinationrules.networking.istio.io",
    ):
        fake.install_crd(doc)
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    return fake


def apply_figures(path: Path) -> dict[str, float | int]:
    fake = fake_cluster()
    figures: dict[str, float | int] = {}
    for label in ("apply", "noop"):
        fake.clear_log()
        with fake.installed(), contextlib.redirect_stdout(io.StringIO()):
            status, seconds = timed(lambda: main(["apply", str(path), "--output", "json"]))
        assert status == 0, f"apply exited {status}"
        figures[f"{label}_s"] = round(seconds, 3)
        figures[f"{label}_reads"], figures[f"{label}_writes"] = fake.reads, fake.writes
    return figures


def query_figures(
    objects: list[dict[str, Any]], apps: int, queries: int
) -> dict[str, float | int]:
    policies, check_index = timed(Policies.from_objects, objects)
    routes, route_index = timed(Routes.from_objects, objects)
    check_ms: list[float] = []
    route_ms: list[float] = []
    allowed = routed = 0
    for q in range(queries):
        i = (q * 7919) % apps
        callee = f"app-{i:04d}"
        ns = f"ns-{i // PER_NAMESPACE:03d}"
        caller_i = max(i - 1, 0)
        caller = Workload(f"ns-{caller_i // PER_NAMESPACE:03d}", f"app-{caller_i:04d}")
        call = Call(
            source=caller,
            destination=Workload(ns, callee, {"app.kubernetes.io/name": callee}),
            service=callee,
            port=8080,
            method="GET",
            path="/api/items",
        )
        decision, seconds = timed(policies.check, call)
        check_ms.append(seconds * 1000)
        allowed += decision.allowed
        front = (i // 5) * 5
        url = f"https://app-{front:04d}.example.com/api/items?page=2"
        outcome, seconds = timed(routes.route, Request.from_url(url))
        route_ms.append(seconds * 1000)
        routed += outcome.status == "routed"
    return {
        "check_index_s": round(check_index, 3),
        "check_ms_mean": round(statistics.mean(check_ms), 3),
        "check_ms_max": round(max(check_ms), 3),
        "checks_allowed": allowed,
        "route_index_s": round(route_index, 3),
        "route_ms_mean": round(statistics.mean(route_ms), 3),
        "route_ms_max": round(max(route_ms), 3),
        "routes_routed": routed,
    }


def main_bench() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the meshops command.")
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    figures: dict[str, float | int] = {"apps": args.apps}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(platform_file(args.apps))

        declaration, load = timed(lambda: spec.read_file(path))
        figures["load_s"] = round(load, 3)

        def render() -> str:
            declared = spec.read_file(path)
            objects, _ = file_objects(declared)
            operator = istio_operator(declared.platform)
            return objects_yaml([operator, *objects] if operator else objects)

        text, render_s = timed(render)
        figures["render_s"] = round(render_s, 3)
        figures["render_bytes"] = len(text)
        objects, _ = file_objects(declaration)
        figures["objects"] = len(objects)

        meshops = Path(sys.executable).with_name("meshops")
        command = [str(meshops), "render", str(path)]
        _, cli = timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
        figures["render_cli_s"] = round(cli, 3)

        figures.update(apply_figures(path))
        figures.update(query_figures(objects, args.apps, args.queries))
    print(json.dumps(figures))


if __name__ == "__main__":
    main_bench()
