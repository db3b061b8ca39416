"""Kubernetes access: kinds, a dict-based API facade, the reconciler and typed errors.

This is the only part of meshops that imports lightkube.
"""

from meshops.k8s.api import Api
from meshops.k8s.client import Clock, connect, make_client, use_transport
from meshops.k8s.deadline import Deadline
from meshops.k8s.errors import (
    Conflict,
    CrdMissing,
    DeadlineExceeded,
    Forbidden,
    Invalid,
    KubernetesError,
    NotFound,
    Unavailable,
)
from meshops.k8s.labels import HeldLabels, LabelConflict, hold_labels
from meshops.k8s.logs import gathered
from meshops.k8s.reconciler import Change, Reconciler, ReconcileResult

__all__ = [
    "Api",
    "Change",
    "Clock",
    "Conflict",
    "CrdMissing",
    "Deadline",
    "DeadlineExceeded",
    "Forbidden",
    "HeldLabels",
    "Invalid",
    "KubernetesError",
    "LabelConflict",
    "NotFound",
    "ReconcileResult",
    "Reconciler",
    "Unavailable",
    "connect",
    "gathered",
    "hold_labels",
    "make_client",
    "use_transport",
]
