"""The provider side of ``service_mesh``: publish the mesh labels, read consumers' policies."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

import ops

from meshops import model
from meshops.interfaces.service_mesh._cmr import remote_app
from meshops.interfaces.service_mesh._consumer import POLICIES_KEY
from meshops.interfaces.service_mesh._read import PolicyRead, read_policies
from meshops.interfaces.service_mesh._wire import MeshPolicy, MeshType, ServiceMeshProviderAppData

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ConsumerPolicies:
    """What one related consumer asked for.

    All or nothing: if any policy in the consumer's databag is invalid, ``policies`` is
    empty and ``problems`` names each bad one (a half-read list could grant access
    the consumer never meant, or drop access it relies on, silently).

    Attributes:
        relation_id: the ``service_mesh`` relation's id.
        app: the consumer application, as this model sees it.
        policies: its policies, validated.
        problems: why its databag could not be used (empty when it could).
    """

    relation_id: int
    app: str
    policies: tuple[model.MeshPolicy, ...]
    problems: tuple[model.Problem, ...]


class ServiceMeshProvider(ops.Object):
    """Offer a service mesh: publish the labels that join it, and read who may call whom.

    The leader writes ``labels`` (a JSON object) and ``mesh_type`` (a JSON string) to
    every consumer's relation, exactly as the ecosystem's provider does, when a
    relation is created, on config-changed and on leader election; call
    :meth:`update_relations` (or :meth:`set_labels`) when they change otherwise.

    Reading never raises, whatever a consumer wrote: :meth:`consumers` reports each
    consumer's policies or its problems; :meth:`mesh_info` returns the policies of the
    consumers whose data is valid.

    Args:
        charm: the charm.
        labels: the labels a workload must carry to be on the mesh.
        mesh_type: the mesh this charm runs.
        mesh_relation_name: the ``service_mesh`` relation endpoint (a provider).
        auto_publish: write on those events by itself (default, as the ecosystem's
            provider does); False for a charm that publishes through
            :meth:`set_labels` alone, e.g. to write only the relations it knows are
            out of date.

    Raises:
        pydantic.ValidationError: ``labels`` are not valid Kubernetes labels.
        ValueError: ``mesh_type`` is not a :class:`MeshType`.
    """

    def __init__(
        self,
        charm: ops.CharmBase,
        labels: Mapping[str, str],
        mesh_type: MeshType | str = MeshType.istio,
        mesh_relation_name: str = "service-mesh",
        *,
        auto_publish: bool = True,
    ) -> None:
        super().__init__(charm, mesh_relation_name)
        self._charm = charm
        self._relation_name = mesh_relation_name
        self._data = ServiceMeshProviderAppData(labels=dict(labels), mesh_type=MeshType(mesh_type))
        if auto_publish:
            self.framework.observe(charm.on[mesh_relation_name].relation_created, self._on_change)
            self.framework.observe(charm.on.config_changed, self._on_change)
            self.framework.observe(charm.on.leader_elected, self._on_change)

    def _on_change(self, _event: ops.EventBase) -> None:
        self.update_relations()

    def set_labels(
        self, labels: Mapping[str, str], relations: Iterable[ops.Relation] | None = None
    ) -> None:
        """Publish ``labels`` from now on, and update every relation (or ``relations``) at once.

        Raises:
            pydantic.ValidationError: ``labels`` are not valid Kubernetes labels.
        """
        self._data = ServiceMeshProviderAppData(
            labels=dict(labels), mesh_type=self._data.mesh_type
        )
        self.update_relations(relations)

    def databag(self) -> dict[str, str]:
        """What :meth:`update_relations` writes to each relation."""
        return self._data.databag()

    def update_relations(self, relations: Iterable[ops.Relation] | None = None) -> None:
        """Write the labels and mesh type to every relation (leader only; else a no-op).

        Args:
            relations: only these (default: every relation of the endpoint), e.g. those
                a charm knows were told something else (it then reads no other).
        """
        if not self._charm.unit.is_leader():
            return
        content = self._data.databag()
        chosen = (
            self._charm.model.relations[self._relation_name] if relations is None else relations
        )
        for relation in chosen:
            bag = relation.data[self._charm.app]
            changed = {k: v for k, v in content.items() if bag.get(k) != v}
            if changed:
                bag.update(changed)

    def _reads(self) -> list[tuple[ops.Relation, str, PolicyRead]]:
        reads: list[tuple[ops.Relation, str, PolicyRead]] = []
        for relation in self._charm.model.relations[self._relation_name]:
            app = remote_app(relation)
            if app is None:
                continue
            read = read_policies(
                relation.data[app].get(POLICIES_KEY),
                source=f"{relation.name}:{relation.id}",
                app=app.name,
            )
            for problem in read.problems:
                log.warning("ignoring the mesh policies of %s: %s", app.name, problem)
            reads.append((relation, app.name, read))
        return reads

    def consumers(self) -> list[ConsumerPolicies]:
        """Every related consumer's policies, or the problems that void them."""
        return [
            ConsumerPolicies(
                relation_id=relation.id,
                app=app,
                policies=read.policies,
                problems=read.problems,
            )
            for relation, app, read in self._reads()
        ]

    def mesh_info(self) -> list[MeshPolicy]:
        """The policies of every consumer whose data is valid, as the ecosystem returns them.

        Consumers with problems contribute nothing (see :meth:`consumers` for why).
        """
        return [policy for _, _, read in self._reads() for policy in read.wire]
