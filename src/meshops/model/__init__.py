"""Domain types shared by every layer: validated once at the edge, frozen inside."""

from meshops.model.mesh import Endpoint, MeshPolicy, Method, TargetType
from meshops.model.names import dns_label, label_value, principal, stable_hash, valid_label_value
from meshops.model.problems import Problem

__all__ = [
    "Endpoint",
    "MeshPolicy",
    "Method",
    "Problem",
    "TargetType",
    "dns_label",
    "label_value",
    "principal",
    "stable_hash",
    "valid_label_value",
]
