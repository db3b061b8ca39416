"""What both charm benchmarks measure: a full reconcile, then one with nothing new.

Each runs against the in-process fake (``--server fake``, the default) or a real
kube-apiserver and etcd on loopback (``--server real``; built by ``gotools/build``),
where reads and writes are counted from the server's audit log.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

from ops import testing
from scenario import mocking

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


#: The model backend's methods that run a hook tool under Juju (ops.model._ModelBackend).
HOOK_TOOLS = (
    "action_fail",
    "action_get",
    "action_log",
    "action_set",
    "add_metrics",
    "application_version_set",
    "close_port",
    "config_get",
    "credential_get",
    "is_leader",
    "juju_log",
    "network_get",
    "open_port",
    "opened_ports",
    "planned_units",
    "pod_spec_set",
    "reboot",
    "relation_get",
    "relation_ids",
    "relation_list",
    "relation_model_get",
    "relation_remote_app_name",
    "relation_set",
    "resource_get",
    "secret_add",
    "secret_get",
    "secret_grant",
    "secret_info_get",
    "secret_remove",
    "secret_revoke",
    "secret_set",
    "status_get",
    "status_set",
    "storage_add",
    "storage_get",
    "storage_list",
)
VERBOSE = bool(os.environ.get("BENCH_HOOK_TOOLS"))
#: Juju's default logging-config records INFO and above.
RECORDED_LEVELS = frozenset({"INFO", "WARNING", "ERROR", "CRITICAL"})


@contextlib.contextmanager
def hook_tools() -> Generator[Callable[[], int]]:
    """Count the hook-tool calls ops makes to ops.testing's model backend.

    Yields a function returning the count so far. Calls the backend makes to itself
    are not counted; ``is_leader`` counts once per hook, as ops's own backend caches it
    for Juju's 30 s lease (ops.testing's does not).
    """
    count = [0]
    depth = [0]
    asked_leader: set[int] = set()
    saved = {name: getattr(mocking._MockModelBackend, name) for name in HOOK_TOOLS}

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0 and not (name == "is_leader" and id(self) in asked_leader):
                count[0] += 1
                if VERBOSE:
                    print("hook tool:", name, args[:2], file=sys.stderr)
                if name == "is_leader":
                    asked_leader.add(id(self))
            depth[0] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapper

    for name, method in saved.items():
        setattr(mocking._MockModelBackend, name, counted(name, method))
    try:
        yield lambda: count[0]
    finally:
        for name, method in saved.items():
            setattr(mocking._MockModelBackend, name, method)


def log_lines(ctx: testing.Context[Any]) -> int:
    """The juju-log lines of the last run at the levels Juju records by default."""
    return sum(1 for line in ctx.juju_log if line.level in RECORDED_LEVELS)


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


def report(figures: dict[str, float | int]) -> None:
    """Print the figures as one JSON line."""
    print(json.dumps(figures))
