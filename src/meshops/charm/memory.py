"""What the leader remembers between hooks, so that quiet hooks cost few hook tools.

Every hook-tool call (relation-get, relation-set, ...) is a process exec in a unit. A
charm that re-read every relation on every update-status, or read back its own app
databags to see whether they changed, would pay for it on every hook. The leader
keeps a :class:`Memory` in its unit's own state instead (``ops.StoredState``, a file
of the unit: no hook tool to read or write it). Only the leader uses it, and it is
forgotten whenever this unit is elected leader (another leader may have written
since) or cannot be read: a memory that is missing only costs a full reconcile.

* ``complete``: whether the last reconcile finished with nothing left to do (no
  Kubernetes failure, nothing waiting, every object applied); if not, the next event,
  update-status included, reconciles again;
* ``objects``: each object the reconcile left, by a short id, with its generation
  (resourceVersion for kinds without one): update-status lists them again and repairs
  whatever changed or went (:func:`fingerprint`);
* ``published``: for each relation, a digest of what was last written to it, so that a
  reconcile writes only what changed and never reads back what it wrote;
* ``cluster``: a digest of what the reconcile read from the cluster besides its own
  objects (namespaces, Services, addresses), which update-status reads again;
* ``models``: each relation's remote model UUID, which never changes for a relation;
* ``shared``: the outcome last shared with the other units, so that an unchanged one
  is not read back from the peer relation to compare; ``outcome``: the last outcome
  (what a quiet update-status shows, with or without a peer relation);
* ``facts``: small values a charm needs to compare.

Example:
    >>> m = Memory(complete=True, published={"7": digest("http://x/")})
    >>> Memory.from_json(m.to_json()) == m
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, cast

from meshops.k8s import objects as k8s_objects

__all__ = ["Memory", "digest", "fingerprint", "forget", "recall", "remember"]

log = logging.getLogger(__name__)
_VERSION = 1


def digest(*values: Any) -> str:
    """A short digest of JSON-able values (sorted keys: equal values, equal digests)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(live: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each object's short id and its generation (resourceVersion when it has none).

    The generation moves only when an object's spec does, so status written by a
    controller (istiod programming a Gateway) is no change; an edit by hand is.
    """
    found: dict[str, str] = {}
    for obj in live:
        meta = k8s_objects.metadata(obj)
        ident = digest(obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta["name"])
        found[ident[:10]] = str(meta.get("generation") or meta.get("resourceVersion") or "")
    return found


@dataclasses.dataclass
class Memory:
    """What the leader's last reconcile left (see the module's description)."""

    complete: bool = False
    objects: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    published: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    cluster: str = ""
    models: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    shared: str = ""
    outcome: str = ""
    facts: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    wrote: bool = dataclasses.field(default=False, compare=False)
    """Whether this hook's reconcile wrote to the cluster (not kept)."""

    def to_json(self) -> str:
        """The memory as JSON (sorted keys: the same memory is the same bytes)."""
        kept = {k: v for k, v in dataclasses.asdict(self).items() if k != "wrote"}
        return json.dumps({"v": _VERSION, **kept}, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Memory:
        """Read :meth:`to_json`'s output; raises ValueError if it is not that."""
        data: object = json.loads(raw)
        if not isinstance(data, dict) or cast("dict[str, Any]", data).get("v") != _VERSION:
            raise ValueError(f"memory {raw[:80]!r} is not of version {_VERSION}")
        d = cast("dict[str, Any]", data)
        maps: dict[str, dict[str, str]] = {}
        for field in ("objects", "published", "models", "facts"):
            value: object = d.get(field, {})
            if not isinstance(value, dict):
                raise ValueError(f"memory field {field!r} is not an object")
            maps[field] = {str(k): str(v) for k, v in cast("dict[Any, Any]", value).items()}
        return cls(
            complete=d.get("complete") is True,
            objects=maps["objects"],
            published=maps["published"],
            cluster=str(d.get("cluster", "")),
            models=maps["models"],
            shared=str(d.get("shared", "")),
            outcome=str(d.get("outcome", "")),
            facts=maps["facts"],
        )

    def drifted(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` was remembered with another generation (edited by hand since).

        For :meth:`meshops.k8s.Reconciler.reconcile`'s ``stale``.
        """
        return any(self.objects.get(k, v) != v for k, v in fingerprint([obj]).items())


def recall(stored: Any) -> Memory | None:
    """What this unit remembered as the leader (None if nothing, or unreadable).

    ``stored`` is the charm's ``ops.StoredState`` (as bound to the charm).
    """
    raw = getattr(stored, "memory", "")
    if not raw:
        return None
    try:
        return Memory.from_json(str(raw))
    except ValueError as e:
        log.warning("forgetting unreadable memory: %s", e)
        return None


def remember(stored: Any, memory: Memory) -> None:
    """Keep ``memory`` in this unit's state for the next hook."""
    stored.memory = memory.to_json()


def forget(stored: Any) -> None:
    """Forget everything remembered (this unit was just elected leader)."""
    stored.memory = ""
