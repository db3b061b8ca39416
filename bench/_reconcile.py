"""What both charm benchmarks measure: a full reconcile, then one with nothing new.

Each runs against the in-process fake (``--server fake``, the default) or a real
kube-apiserver and etcd on loopback (``--server real``; built by ``gotools/build``),
where reads and writes are counted from the server's audit log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from ops import testing

from meshops.crds import ROOT as CRDS
from meshops.testing import FakeKubernetes, tools
from meshops.testing.apiserver import LocalApiServer, ServerFailed
from meshops.testing.upstream import crd_docs

REPO = Path(__file__).resolve().parents[1]


def add_server_option(parser: argparse.ArgumentParser) -> None:
    """``--server fake|real``."""
    parser.add_argument(
        "--server",
        choices=("fake", "real"),
        default="fake",
        help="the in-process fake (default) or a real kube-apiserver on loopback",
    )


@contextlib.contextmanager
def open_server(which: str, crd_names: Iterable[str]) -> Generator[Any]:
    """The fake with these CRDs, or a real API server (with every upstream CRD)."""
    if which == "fake":
        fake = FakeKubernetes()
        for doc in crd_docs(CRDS, *crd_names):
            fake.install_crd(doc)
        yield fake
        return
    try:
        server = LocalApiServer(tools.bin_dir(REPO, "etcd", "kube-apiserver"))
        server.start()
    except (tools.ToolsMissing, ServerFailed) as e:
        sys.exit(f"no real API server: {e}")
    try:
        yield server
    finally:
        server.stop()


def measure(
    ctx: testing.Context[Any], state: testing.State, fake: Any
) -> tuple[testing.State, dict[str, float | int]]:
    """Run config-changed on ``state``, then update-status on its outcome, against ``fake``.

    Returns the state after the full reconcile and the figures: wall time, API reads and
    writes of each (``full_s``, ``full_reads``, ``full_writes``, ``noop_s``, ...).
    """
    figures: dict[str, float | int] = {}
    with fake.installed():
        fake.clear_log()
        start = time.perf_counter()
        out = ctx.run(ctx.on.config_changed(), state)
        figures["full_s"] = round(time.perf_counter() - start, 3)
        figures["full_reads"], figures["full_writes"] = fake.reads, fake.writes

        fake.clear_log()
        start = time.perf_counter()
        ctx.run(ctx.on.update_status(), out)
        figures["noop_s"] = round(time.perf_counter() - start, 3)
        figures["noop_reads"], figures["noop_writes"] = fake.reads, fake.writes
    return out, figures


def report(figures: dict[str, float | int]) -> None:
    """Print the figures as one JSON line."""
    print(json.dumps(figures))
