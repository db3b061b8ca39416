"""The Kubernetes identity of one of the project's charms, and its client for a hook.

Each charm owns what it writes as ``<app>.<model>`` (the field manager and the owner
label value) and reaches the API from its model's namespace within the hook's deadline.
"""

from __future__ import annotations

import ops

from meshops.interfaces.hooks import hook_deadline
from meshops.k8s import Api
from meshops.model import label_value

__all__ = ["connect", "owner"]


def owner(charm: ops.CharmBase) -> str:
    """The owner (and field manager) of what ``charm`` writes: ``<app>.<model>``."""
    return label_value(charm.app.name, charm.model.name)


def connect(charm: ops.CharmBase) -> Api:
    """An API client for this hook: ``charm``'s field manager, namespace and deadline."""
    return Api.connect(
        field_manager=owner(charm), namespace=charm.model.name, deadline=hook_deadline(charm)
    )
