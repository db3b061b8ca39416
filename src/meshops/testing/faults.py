"""Run a charm's hooks against a flaky API server, and check what the cluster ends up holding.

A :class:`FaultRun` runs hooks (any callables: an ``ops.testing`` ``ctx.run``, say) with
the fake failing requests at random (:meth:`FakeKubernetes.fail_randomly`), counting the
hooks, the faults injected, the hooks that raised and the longest hook (in the fake's
time: requests, timeouts and backoff; and in wall time). :func:`owned` and
:func:`foreign` take what the cluster holds apart: the objects meshops manages, as a
value to compare with a run without faults (a run *converged* when its cluster holds the
same once the faults stop), and every other object, which no run may change or delete.

Example:
    >>> fake = FakeKubernetes()
    >>> run = FaultRun(fake, rate=0.3, seed=1)
    >>> run.hook(lambda: "done")
    'done'
    >>> run.hooks, run.raised
    (1, [])
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from meshops.k8s.reconciler import OWNER_LABEL
from meshops.testing.fake_kubernetes import FakeKubernetes

__all__ = ["FaultRun", "Snapshot", "foreign", "lost", "owned"]

T = TypeVar("T")

#: Objects by apiVersion, kind, namespace and name, each as canonical JSON.
Snapshot = Mapping[tuple[str, str, str, str], str]

#: What is compared of an object: everything a writer sets, not what the server does.
_SERVER_SET = frozenset(
    {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"}
)


@dataclasses.dataclass
class FaultRun:
    """Hooks run under random faults, and what became of them.

    Args:
        fake: the cluster.
        rate: the probability that a request fails.
        seed: for the faults drawn.

    Attributes:
        hooks: how many hooks ran.
        raised: what each hook that raised raised (``Type: message``).
        longest_s: the longest hook, in the fake's time (requests, timeouts, backoff).
        longest_wall_s: the longest hook, in wall time.
    """

    fake: FakeKubernetes
    rate: float
    seed: int = 0
    hooks: int = 0
    raised: list[str] = dataclasses.field(default_factory=list[str])
    longest_s: float = 0.0
    longest_wall_s: float = 0.0

    def __post_init__(self) -> None:
        self._faults_before = self.fake.faults_injected

    @property
    def faults(self) -> int:
        """How many requests the faults failed, delayed or dropped so far."""
        return self.fake.faults_injected - self._faults_before

    def hook(self, run: Callable[[], T]) -> T | None:
        """Run one hook with faults on: what it returned, or None if it raised."""
        self.fake.fail_randomly(self.rate, seed=self.seed * 1_000_003 + self.hooks)
        start, wall = self.fake.time.now(), time.perf_counter()
        try:
            return run()
        except Exception as e:  # the point: count hooks that raise, whatever they raise
            self.raised.append(f"{type(e).__name__}: {e}"[:300])
            return None
        finally:
            self.fake.fail_randomly(0)
            self.hooks += 1
            self.longest_s = max(self.longest_s, self.fake.time.now() - start)
            self.longest_wall_s = max(self.longest_wall_s, time.perf_counter() - wall)


def owned(fake: FakeKubernetes) -> Snapshot:
    """The objects carrying a meshops owner label, without what the server sets."""
    return _snapshot(fake, lambda labels: OWNER_LABEL in labels)


def foreign(fake: FakeKubernetes) -> Snapshot:
    """Every other object; of Namespaces, all but their labels (meshops holds some)."""
    return _snapshot(fake, lambda labels: OWNER_LABEL not in labels)


def lost(before: Snapshot, after: Snapshot) -> list[str]:
    """The objects of ``before`` that ``after`` no longer holds, or holds changed."""
    return sorted("/".join(key) for key, value in before.items() if after.get(key) != value)


def _snapshot(fake: FakeKubernetes, keep: Callable[[Mapping[str, str]], bool]) -> Snapshot:
    found: dict[tuple[str, str, str, str], str] = {}
    for obj in fake.objects(crds=False):
        meta: dict[str, Any] = obj.get("metadata") or {}
        labels: dict[str, str] = meta.get("labels") or {}
        kind = str(obj.get("kind", ""))
        if not keep(labels):
            continue
        content = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
        content["metadata"] = {
            k: v
            for k, v in meta.items()
            if k not in _SERVER_SET and not (kind == "Namespace" and k == "labels")
        }
        key = (str(obj.get("apiVersion", "")), kind, str(meta.get("namespace", "")), meta["name"])
        found[key] = json.dumps(content, sort_keys=True)
    return found
