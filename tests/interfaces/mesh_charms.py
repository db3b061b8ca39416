"""Test charms and helpers shared by the service_mesh interface tests.

Each factory builds a fresh, tiny charm class around one side of the relation: ours
(``meshops.interfaces.service_mesh``) or the ecosystem's
(``charmlibs.interfaces.service_mesh``). The charms record what their library read in
a ``seen`` list on the class when ``update-status`` runs, so tests observe the library
through the charm's own glue, never by reaching into the charm object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import ops
from charmlibs.interfaces import service_mesh as eco
from ops import testing

from meshops.interfaces import service_mesh as sm

MODEL = "m"
"""The model (namespace) every test charm runs in."""

CONSUMER_META: dict[str, Any] = {
    "name": "target",
    "requires": {
        "service-mesh": {"interface": "service_mesh", "limit": 1},
        "require-cmr-mesh": {"interface": "cross_model_mesh"},
    },
    "provides": {
        "provide-cmr-mesh": {"interface": "cross_model_mesh"},
        "data": {"interface": "http"},
        "metrics": {"interface": "prometheus_scrape"},
    },
}

PROVIDER_META: dict[str, Any] = {
    "name": "beacon",
    "provides": {"service-mesh": {"interface": "service_mesh"}},
}

LABELS = {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "beacon-waypoint"}


def make_consumer(
    policies: Sequence[sm.AppPolicy | sm.UnitPolicy] = (), *, auto_join: bool = False
) -> type[ops.CharmBase]:
    """A charm using our ServiceMeshConsumer; records labels/enabled/mesh_type/join_error."""

    class Consumer(ops.CharmBase):
        seen: list[dict[str, Any]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.mesh = sm.ServiceMeshConsumer(self, policies=list(policies), auto_join=auto_join)
            framework.observe(self.on.update_status, self._record)
            framework.observe(self.on.collect_unit_status, self._record_join)

        def _record(self, _event: ops.EventBase) -> None:
            type(self).seen.append(
                {
                    "labels": self.mesh.labels(),
                    "enabled": self.mesh.enabled,
                    "mesh_type": self.mesh.mesh_type(),
                }
            )

        def _record_join(self, event: ops.CollectStatusEvent) -> None:
            if self.mesh.join_error:
                event.add_status(ops.WaitingStatus(self.mesh.join_error))
            else:
                event.add_status(ops.ActiveStatus())

    return Consumer


def make_eco_consumer(policies: Sequence[Any] = ()) -> type[ops.CharmBase]:
    """A charm using the ecosystem's ServiceMeshConsumer (auto_join off: no lightkube)."""

    class EcoConsumer(ops.CharmBase):
        seen: list[dict[str, Any]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.mesh = eco.ServiceMeshConsumer(self, policies=list(policies), auto_join=False)
            framework.observe(self.on.update_status, self._record)

        def _record(self, _event: ops.EventBase) -> None:
            type(self).seen.append(
                {
                    "labels": self.mesh.labels(),
                    "enabled": self.mesh.enabled,
                    "mesh_type": self.mesh.mesh_type(),
                }
            )

    return EcoConsumer


def make_provider(labels: Mapping[str, str] = LABELS) -> type[ops.CharmBase]:
    """A charm using our ServiceMeshProvider; records consumers() and mesh_info().

    On config-changed it switches to the labels in the ``labels`` config option (JSON).
    """

    class Provider(ops.CharmBase):
        seen: list[dict[str, Any]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.mesh = sm.ServiceMeshProvider(self, labels=dict(labels))
            framework.observe(self.on.update_status, self._record)
            framework.observe(self.on.config_changed, self._on_config_changed)

        def _on_config_changed(self, _event: ops.EventBase) -> None:
            new = self.config.get("labels")
            if isinstance(new, str):
                self.mesh.set_labels(json.loads(new))

        def _record(self, _event: ops.EventBase) -> None:
            type(self).seen.append(
                {"consumers": self.mesh.consumers(), "mesh_info": self.mesh.mesh_info()}
            )

    return Provider


def make_eco_provider(labels: Mapping[str, str] = LABELS) -> type[ops.CharmBase]:
    """A charm using the ecosystem's ServiceMeshProvider; records mesh_info()."""

    class EcoProvider(ops.CharmBase):
        seen: list[dict[str, Any]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.mesh = eco.ServiceMeshProvider(
                self, labels=dict(labels), mesh_type=eco.MeshType.istio
            )
            framework.observe(self.on.update_status, self._record)

        def _record(self, _event: ops.EventBase) -> None:
            type(self).seen.append({"mesh_info": self.mesh.mesh_info()})

    return EcoProvider


def consumer_context(charm: type[ops.CharmBase]) -> testing.Context[ops.CharmBase]:
    return testing.Context(charm, meta=CONSUMER_META)


def provider_context(charm: type[ops.CharmBase]) -> testing.Context[ops.CharmBase]:
    config = {"options": {"labels": {"type": "string"}}}
    return testing.Context(charm, meta=PROVIDER_META, config=config)


def state(*relations: testing.RelationBase, leader: bool = True) -> testing.State:
    return testing.State(leader=leader, relations=list(relations), model=testing.Model(name=MODEL))


def mesh_relation(**kwargs: Any) -> testing.Relation:
    """The consumer's service-mesh relation (to a provider app called ``beacon``)."""
    kwargs.setdefault("remote_app_name", "beacon")
    return testing.Relation("service-mesh", **kwargs)


def provider_data(labels: Mapping[str, str] = LABELS) -> dict[str, str]:
    """The provider's databag as the ecosystem writes it."""
    return {"labels": json.dumps(dict(labels)), "mesh_type": json.dumps("istio")}


def policies_of(out: testing.State, relation: testing.Relation) -> list[dict[str, Any]]:
    """The decoded ``policies`` our side published on ``relation``."""
    return json.loads(out.get_relation(relation.id).local_app_data["policies"])


def policy_dict(
    source: str,
    *,
    source_namespace: str = MODEL,
    target: str = "target",
    target_type: str = "app",
    service: str | None = None,
    endpoints: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A policy as it appears on the wire (key order included)."""
    return {
        "source_namespace": source_namespace,
        "source_app_name": source,
        "target_namespace": MODEL,
        "target_app_name": target,
        "target_selector_labels": None,
        "target_service": service,
        "target_type": target_type,
        "endpoints": endpoints or [],
    }


def endpoint_dict(**kwargs: Any) -> dict[str, Any]:
    return {"hosts": None, "ports": None, "methods": None, "paths": None, **kwargs}


def seen_after_update_status(
    charm: type[ops.CharmBase], ctx: testing.Context[ops.CharmBase], st: testing.State
) -> dict[str, Any]:
    """Run update-status and return what the charm recorded."""
    ctx.run(ctx.on.update_status(), st)
    seen: list[dict[str, Any]] = charm.seen  # type: ignore[attr-defined]
    return seen[-1]
