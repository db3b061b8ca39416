"""Kubernetes objects as Juju makes them, for a cluster fake that holds Juju models.

Juju names a model's namespace after the model and marks it with the model's name and
UUID; it gives each application a Service named after it, labelled with its name (see
:mod:`meshops.model.juju` for the keys and where Juju sets them).

Example:
    >>> from meshops.testing import FakeKubernetes
    >>> fake = FakeKubernetes()
    >>> _ = fake.add(model_namespace("shop", "2a1ee3a0-0d4e-4b8e-9f9e-2c3b4d5e6f70"))
    >>> model_uuid("shop") == model_uuid("shop")
    True
    >>> _ = fake.add(app_service("web", "shop", 8080))
    >>> sorted(fake.get("v1", "Service", "web", "shop")["metadata"]["labels"].items())
    [('app.kubernetes.io/managed-by', 'juju'), ('app.kubernetes.io/name', 'web')]
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from meshops.model.juju import APP_NAME_LABEL, MANAGED_BY_LABEL, MODEL_NAME_LABEL, MODEL_UUID_KEY

__all__ = ["app_service", "model_namespace", "model_uuid"]


def model_uuid(name: str) -> str:
    """A UUID for the model ``name``, the same on every run (Juju's are random)."""
    return str(uuid5(NAMESPACE_URL, f"juju-model:{name}"))


def model_namespace(
    name: str, uuid: str | None = None, *, label_version: int = 2
) -> dict[str, Any]:
    """A Juju model's namespace.

    Args:
        name: the model's name.
        uuid: the model's UUID; by default :func:`model_uuid`'s.
        label_version: Juju's labelling of it: 2 (today's) labels it with the UUID; 1
            (models created by older Juju keep it) carries the UUID in an annotation only.
    """
    uuid = uuid or model_uuid(name)
    labels = {MODEL_NAME_LABEL: name}
    if label_version >= 2:
        labels[MODEL_UUID_KEY] = uuid
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "annotations": {MODEL_UUID_KEY: uuid}},
    }


def app_service(app: str, namespace: str, port: int, *, name: str | None = None) -> dict[str, Any]:
    """A Juju application's Service, or (with ``name``) another Service labelled as its."""
    labels = {APP_NAME_LABEL: app, MANAGED_BY_LABEL: "juju"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name or app, "namespace": namespace, "labels": labels},
        "spec": {"selector": {APP_NAME_LABEL: app}, "ports": [{"port": port}]},
    }
