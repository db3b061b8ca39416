"""Benchmark: the Istio control plane, installed by the istio-k8s charm and by ``meshops apply``.

Needs istioctl (and, with ``--server real``, etcd and kube-apiserver) as ``gotools/build``
makes them. Against the in-process fake (default) or a real kube-apiserver on loopback
(``--server real``; reads and writes then counted from the server's audit log):

* the istio-k8s charm under ops.testing: a full reconcile of the control plane
  (config-changed on a fresh cluster, istioctl generating its manifests, the cache
  empty) and one with nothing new (update-status): ``charm_full_s``,
  ``charm_full_reads``, ``charm_full_writes``, ``charm_noop_s``, ``charm_noop_reads``,
  ``charm_noop_writes``; ``generate_s`` is one ``istioctl manifest generate`` alone;
* ``meshops apply`` of bench/cli.py's platform file (``--apps`` apps, default 1,000,
  hardened, with an istio section) with ``--istioctl``, into a fresh cluster: the
  control plane, then the mesh and ingress objects (``apply_s``, ``apply_reads``,
  ``apply_writes``, ``objects``), then a second apply with nothing new (``noop_s``,
  ``noop_reads``, ``noop_writes``).

On the real server the upstream CRDs are installed before the run (the local API
server installs them), so neither the charm nor apply creates CRDs there (they are
others'); on the fake both do (``crds_created``).

Usage: .venv/bin/python bench/control_plane.py [--apps 1000] [--server fake|real]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _reconcile import REPO, add_server_option, measure, open_server
from cli import platform_text
from ops import testing

from meshops.cli import main
from meshops.k8s.istioctl import Istioctl
from meshops.plan.control_plane import ControlPlaneSettings, istio_operator
from meshops.testing import charm, tools

MODEL = "istio-bench"


def charm_figures(server: Any, istioctl: Path, folder: Path) -> dict[str, float | int]:
    root = folder / "charm"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "istioctl").symlink_to(istioctl)
    cls = charm.load_charm(REPO / "charms" / "istio-k8s", "istio_k8s_charm").IstioK8sCharm
    ctx = testing.Context(cls, app_name="istio-k8s", charm_root=root)
    server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MODEL}})
    state = testing.State(
        leader=True,
        planned_units=3,
        model=testing.Model(name=MODEL),
        relations=[testing.PeerRelation("peers")],
    )
    crds_before = len(server.list("apiextensions.k8s.io/v1", "CustomResourceDefinition"))
    _, figures = measure(ctx, state, server)
    crds_after = len(server.list("apiextensions.k8s.io/v1", "CustomResourceDefinition"))
    out = {f"charm_{k}": v for k, v in figures.items()}
    out["crds_created"] = crds_after - crds_before
    return out


def apply_figures(server: Any, istioctl: Path, folder: Path, apps: int) -> dict[str, float | int]:
    path = folder / "big.yaml"
    path.write_text(platform_text(apps))
    figures: dict[str, float | int] = {}
    argv = ["apply", str(path), "--istioctl", str(istioctl), "--output", "json"]
    for label in ("apply", "noop"):
        server.clear_log()
        output = io.StringIO()
        with server.installed(), contextlib.redirect_stdout(output):
            start = time.perf_counter()
            status = main(argv)
            seconds = time.perf_counter() - start
        if status != 0:
            sys.exit(f"meshops apply exited {status}: {output.getvalue()[-500:]}")
        figures[f"{label}_s"] = round(seconds, 3)
        figures[f"{label}_reads"], figures[f"{label}_writes"] = server.reads, server.writes
        if label == "apply":
            figures["objects"] = len(json.loads(output.getvalue())["changes"])
    return figures


def main_bench() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the Istio control plane's install.")
    parser.add_argument("--apps", type=int, default=1000)
    add_server_option(parser)
    args = parser.parse_args()
    try:
        istioctl = tools.bin_dir(REPO, "istioctl") / "istioctl"
    except tools.ToolsMissing as e:
        sys.exit(str(e))
    figures: dict[str, Any] = {"server": args.server, "apps": args.apps}
    start = time.perf_counter()
    ctl = Istioctl(istioctl)
    ctl.manifest_generate(istio_operator(ControlPlaneSettings(MODEL), ctl.version()))
    figures["generate_s"] = round(time.perf_counter() - start, 3)
    with tempfile.TemporaryDirectory() as tmp:
        with open_server(args.server, ()) as server:
            figures.update(charm_figures(server, istioctl, Path(tmp)))
        with open_server(args.server, ()) as server:
            figures.update(apply_figures(server, istioctl, Path(tmp), args.apps))
    print(json.dumps(figures))


if __name__ == "__main__":
    main_bench()
