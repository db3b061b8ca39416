"""Benchmark: deciding who owns which requests, for many requirers on one listener.

Plans (``meshops.plan.ingress.plan_ingress``, no cluster) 200 requirers of 5 HTTP routes
each on the gateway's web listener, laid out five ways, and prints one JSON line with
the best wall time of 5 runs of each, in seconds, and the routes refused:

    own_elements_s   every app under its own first path element (/app-0001/v0 ...)
    one_prefix_s     every app under one shared prefix (/api/app-0001/v0 ...)
    regexes_s        a regex per route, each under its own elements (/r1x0/[0-9]+ ...)
    own_hosts_s      every app on a hostname of its own, at / (a1.example.com ...)
    overlapping_s    regexes that may all match one path (/.*1x0 ...): all but 5 refused

Usage: .venv/bin/python bench/claims.py [--apps 200] [--routes 5]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from meshops.model.ingress import (
    Backend,
    GatewayConfig,
    HTTPMatch,
    PathMatch,
    PathMatchType,
    Protocol,
    Route,
)
from meshops.plan.ingress import RouteSet, plan_ingress

GATEWAY = GatewayConfig("ingress", "edge")
Layout = Callable[[int, int], tuple[PathMatchType, str, tuple[str, ...]]]
LAYOUTS: dict[str, Layout] = {
    "own_elements": lambda a, r: (PathMatchType.PathPrefix, f"/app-{a:04d}/v{r}", ()),
    "one_prefix": lambda a, r: (PathMatchType.PathPrefix, f"/api/app-{a:04d}/v{r}", ()),
    "regexes": lambda a, r: (PathMatchType.RegularExpression, f"/r{a}x{r}/[0-9]+", ()),
    "own_hosts": lambda a, r: (PathMatchType.PathPrefix, f"/v{r}", (f"a{a}.example.com",)),
    "overlapping": lambda a, r: (PathMatchType.RegularExpression, f"/.*{a}x{r}", ()),
}


def route_sets(layout: Layout, apps: int, routes: int) -> list[RouteSet]:
    sets: list[RouteSet] = []
    for a in range(apps):
        app = f"app-{a:04d}"
        made: list[Route] = []
        for r in range(routes):
            kind, value, hostnames = layout(a, r)
            made.append(
                Route(
                    f"r{r}",
                    Protocol.HTTP,
                    None,
                    hostnames=hostnames,
                    matches=(HTTPMatch(PathMatch(kind, value)),),
                    backends=(Backend(app, 8080),),
                )
            )
        sets.append(RouteSet(f"istio-ingress-route:{a}", app, "team", a, tuple(made)))
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description="ingress ownership, planned without a cluster")
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--routes", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, float | int] = {"routes": args.apps * args.routes}
    for name, layout in LAYOUTS.items():
        sets = route_sets(layout, args.apps, args.routes)
        best, refused = float("inf"), 0
        for _ in range(5):
            start = time.perf_counter()
            plan = plan_ingress(GATEWAY, sets)
            best = min(best, time.perf_counter() - start)
            refused = len(plan.conflicts)
        figures[f"{name}_s"] = round(best, 3)
        figures[f"{name}_refused"] = refused
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
