"""Labels that meshops holds on objects it does not own (a namespace, a pod, a Service).

We hold such labels through server-side apply with our own field manager and a body
that carries nothing but ``metadata.labels``: re-applying a smaller set removes exactly
the labels we set earlier and nothing anyone else set. Before writing, the live object's
``managedFields`` tell whether a label we want was already set by someone else; we do
not take it over (the caller reports it), and we write nothing when our labels are
already in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from meshops.k8s import objects
from meshops.k8s.api import Api, label_patch, owners_of_labels
from meshops.k8s.errors import NotFound
from meshops.k8s.kinds import Kind

__all__ = [
    "HeldLabels",
    "LabelConflict",
    "hold_labels",
]


@dataclasses.dataclass(frozen=True)
class LabelConflict:
    """A label we want that someone else already set.

    Attributes:
        key: the label.
        value: its current value.
        owners: the field managers that set it.
    """

    key: str
    value: str
    owners: tuple[str, ...]

    def __str__(self) -> str:
        by = f" by {', '.join(self.owners)}" if self.owners else ""
        return f"label {self.key}={self.value} was set{by}"


@dataclasses.dataclass(frozen=True)
class HeldLabels:
    """What :func:`hold_labels` found and did.

    Attributes:
        held: the labels our field manager holds on the object now.
        conflicts: labels we wanted that someone else set (then nothing was written).
        labels: every label the object carries now (ours and others'; not compared).
    """

    held: Mapping[str, str]
    conflicts: tuple[LabelConflict, ...] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str], compare=False)


def hold_labels(
    api: Api,
    kind: Kind,
    name: str,
    namespace: str | None,
    labels: Mapping[str, str],
    *,
    add: bool = True,
) -> HeldLabels:
    """Make ``labels`` exactly the set of labels ``api``'s field manager holds on an object.

    Args:
        api: Kubernetes access; its field manager is the holder.
        kind: the object's kind.
        name: the object's name.
        namespace: its namespace (None when cluster-scoped).
        labels: the labels to hold.
        add: when False, labels we do not hold yet are not added (those we hold and no
            longer want are still removed): for labels that must wait for something.

    Raises:
        NotFound: the object does not exist.
    """
    obj = api.get(kind, name, namespace)
    if obj is None:
        raise NotFound(f"{kind.kind} {name!r} not found", code=404, reason="NotFound")
    live = objects.labels(obj)
    owners = owners_of_labels(obj)
    manager = api.field_manager
    ours = {
        key: live[key] for key, managers in owners.items() if manager in managers and key in live
    }
    if not add:
        labels = {k: v for k, v in labels.items() if k in ours}
    conflicts = tuple(
        LabelConflict(key, live[key], tuple(sorted(owners.get(key, set()) - {manager})))
        for key in sorted(labels)
        if key in live and key not in ours
    )
    if conflicts:
        return HeldLabels(ours, conflicts, dict(live))
    if ours != dict(labels):
        live = objects.labels(api.apply(label_patch(kind, name, namespace, labels), kind))
    return HeldLabels(dict(labels), (), dict(live))
