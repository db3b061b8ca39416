"""What both charm benchmarks measure: a full reconcile, then one with nothing new.

Each runs against the in-process fake (``--server fake``, the default) or a real
kube-apiserver and etcd on loopback (``--server real``; built by ``gotools/build``),
where reads and writes are counted from the server's audit log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

from ops import testing

from meshops.crds import ROOT as CRDS
from meshops.testing import FakeKubernetes, tools
from meshops.testing.apiserver import LocalApiServer, ServerFailed
from meshops.testing.hooktools import hook_tools, log_lines
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
    """A full reconcile, one with nothing new, then a quiet update-status, against ``fake``.

    config-changed on ``state`` (a fresh cluster: the full reconcile), config-changed
    again on its outcome (nothing new: the no-op), then update-status on that outcome.
    Returns the state after the full reconcile and the figures of each of the three
    (``full_*``, ``noop_*``, ``update_status_*``): wall time, API reads and writes,
    juju-log lines at the levels Juju records by default, and hook-tool calls.
    """
    figures: dict[str, float | int] = {}
    runs: list[tuple[str, Callable[[], Any]]] = [
        ("full", ctx.on.config_changed),
        ("noop", ctx.on.config_changed),
        ("update_status", ctx.on.update_status),
    ]
    outcomes: list[testing.State] = []
    current = state
    logging.getLogger().setLevel(logging.DEBUG)  # as ops sets it in a unit
    with fake.installed():
        for name, event in runs:
            fake.clear_log()
            ctx.juju_log.clear()
            with hook_tools() as calls:
                start = time.perf_counter()
                current = ctx.run(event(), current)
                seconds = time.perf_counter() - start
            outcomes.append(current)
            figures[f"{name}_s"] = round(seconds, 3)
            figures[f"{name}_reads"], figures[f"{name}_writes"] = fake.reads, fake.writes
            figures[f"{name}_log_lines"] = log_lines(ctx)
            figures[f"hook_tools_{name}"] = calls()
    return outcomes[0], figures


def report(figures: dict[str, Any]) -> None:
    """Print the figures as one JSON line."""
    print(json.dumps(figures))
