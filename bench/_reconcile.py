"""What both charm benchmarks measure: a full reconcile, then one with nothing new."""

from __future__ import annotations

import json
import time
from typing import Any

from ops import testing

from meshops.testing import FakeKubernetes


def measure(
    ctx: testing.Context[Any], state: testing.State, fake: FakeKubernetes
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
