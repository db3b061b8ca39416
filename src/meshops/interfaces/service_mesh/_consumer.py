"""The requirer side of ``service_mesh``: publish who may call us, and join the mesh."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import ops

from meshops.interfaces.hooks import hook_deadline
from meshops.interfaces.service_mesh import _labels
from meshops.interfaces.service_mesh._cmr import CrossModelMeshRequirer, cmr_data, remote_app
from meshops.interfaces.service_mesh._read import read_provider_data
from meshops.interfaces.service_mesh._wire import (
    AppPolicy,
    CMRData,
    Endpoint,
    MeshPolicy,
    MeshType,
    PolicyTargetType,
    ServiceMeshProviderAppData,
    UnitPolicy,
)
from meshops.k8s import api as k8s_api
from meshops.k8s import kinds
from meshops.k8s.errors import KubernetesError
from meshops.model import Problem

log = logging.getLogger(__name__)

POLICIES_KEY = "policies"

_ProviderRead: TypeAlias = tuple[ServiceMeshProviderAppData | None, tuple[Problem, ...]]


def build_mesh_policies(
    relation_mapping: Mapping[str, Sequence[ops.Relation]],
    target_app_name: str,
    target_namespace: str,
    policies: Sequence[AppPolicy | UnitPolicy],
    cmr_application_data: Mapping[str, CMRData] | None = None,
) -> list[MeshPolicy]:
    """One :class:`MeshPolicy` per declared policy and app currently related over its relation.

    An app related across models is named by what it published over
    ``cross_model_mesh`` (``cmr_application_data``, keyed by its local alias); any other
    app is taken to live in ``target_namespace``. Same behaviour and signature as the
    ecosystem library's function of the same name.

    Args:
        relation_mapping: the charm's relations, e.g. ``self.model.relations``.
        target_app_name: this app's name.
        target_namespace: this app's namespace (its model's name).
        policies: the policies the charm declares.
        cmr_application_data: what cross-model peers said about themselves.
    """
    cmr = cmr_application_data or {}
    result: list[MeshPolicy] = []
    for policy in policies:
        for relation in relation_mapping[policy.relation]:
            app = remote_app(relation)
            if app is None:
                continue
            peer = cmr.get(app.name)
            if peer is not None:
                source_app, source_namespace = peer.app_name, peer.juju_model_name
            else:
                source_app, source_namespace = app.name, target_namespace
            if isinstance(policy, UnitPolicy):
                target_type, service = PolicyTargetType.unit, None
                endpoints = [Endpoint(ports=policy.ports)] if policy.ports else []
            else:
                target_type, service, endpoints = (
                    PolicyTargetType.app,
                    policy.service,
                    policy.endpoints,
                )
            result.append(
                MeshPolicy(
                    source_namespace=source_namespace,
                    source_app_name=source_app,
                    target_namespace=target_namespace,
                    target_app_name=target_app_name,
                    target_service=service,
                    target_type=target_type,
                    endpoints=endpoints,
                )
            )
    return result


class ServiceMeshConsumer(ops.Object):
    """Join a service mesh and tell it which related apps may call this one.

    The leader publishes, on the mesh relation, one policy per declared
    :class:`AppPolicy`/:class:`UnitPolicy` and per app related over its relation (apps
    in other models named by their ``cross_model_mesh`` data). It republishes when the
    mesh relation or a policy's relation is created or broken, when cross-model data
    changes, on upgrade and on leader election. A declared policy the domain model
    rejects (say, an :class:`AppPolicy` without endpoints) is left out and logged as
    an error, so one bad declaration does not void the others at the provider.

    With ``auto_join`` (the default) the charm's workload joins the mesh by labels:
    each unit applies the provider's labels to its own Pod, and the leader to the
    app's Service (named after the app), by server-side apply under the field manager
    ``<app>-mesh-labels``, which carries nothing but ``metadata.labels``. Re-applying
    a new set removes exactly the labels we set before; when the mesh relation is
    broken we apply an empty set, removing ours and keeping every label others set.
    Labels are re-applied on start, upgrade-charm, leader-elected and on the mesh
    relation's changed and broken events (without a mesh relation, only its
    broken event touches the Kubernetes API).

    What restarts: nothing. The StatefulSet's pod template is never touched, so no
    pod is rolled; Istio ambient reads the labels from the running Pods and Service.
    The trade-off: a pod that Kubernetes recreates (eviction, node drain) runs
    without the mesh labels until its unit's charm starts and re-applies them.

    Kubernetes failures never escape a hook: they are logged and kept in
    :attr:`join_error` for the charm's status; a Pod or Service that does not exist
    is skipped, not an error. Malformed provider data never escapes either:
    :meth:`labels` returns ``{}`` and :meth:`mesh_type` None, with a warning, and the
    labels already on the pods are left as they were.

    Args:
        charm: the charm.
        mesh_relation_name: the ``service_mesh`` relation endpoint (a requirer).
        cross_model_mesh_requires_name: the ``cross_model_mesh`` requirer endpoint, over
            which we publish our own name and model (skipped if the charm lacks it).
        cross_model_mesh_provides_name: the ``cross_model_mesh`` provider endpoint, over
            which callers in other models tell us theirs (skipped if the charm lacks it).
        policies: who may call this app, per relation endpoint.
        auto_join: label this app's Pods and Service with the provider's labels.
        lightkube_client: a ``lightkube.Client`` to set the labels with, as the
            ecosystem's library takes (its field manager is replaced by ours, since
            server-side apply tracks our labels by it); default: one for the configured
            cluster, sharing the hook's deadline.
        label_configmap_name_template: taken for the ecosystem's signature, whose
            library keeps the labels it set in a ConfigMap of this name; this one keeps
            no ConfigMap (the field manager is the record), so the name is not used.

    Attributes:
        join_error: why the last attempt to set the mesh labels failed, or None.

    Raises:
        ValueError: a policy names a relation endpoint the charm does not declare.
    """

    def __init__(
        self,
        charm: ops.CharmBase,
        mesh_relation_name: str = "service-mesh",
        cross_model_mesh_requires_name: str = "require-cmr-mesh",
        cross_model_mesh_provides_name: str = "provide-cmr-mesh",
        policies: Sequence[AppPolicy | UnitPolicy] | None = None,
        auto_join: bool = True,
        # A lightkube.Client; typed loosely so that this layer does not import lightkube.
        lightkube_client: Any = None,
        label_configmap_name_template: str | None = None,
    ) -> None:
        super().__init__(charm, mesh_relation_name)
        self._charm = charm
        self._mesh_relation_name = mesh_relation_name
        self._cmr_provides_name = cross_model_mesh_provides_name
        self._policies: list[AppPolicy | UnitPolicy] = list(policies or [])
        self._api: k8s_api.Api | None = None
        self._lightkube_client: Any = lightkube_client
        del label_configmap_name_template  # see the docstring: no ConfigMap is kept
        self._provider_cache: dict[tuple[tuple[str, str], ...], _ProviderRead] = {}
        self._cmr_requirer: CrossModelMeshRequirer | None = None
        self.join_error: str | None = None

        declared = charm.meta.relations
        relations = sorted({policy.relation for policy in self._policies})
        for name in relations:
            if name not in declared:
                raise ValueError(f"policy relation {name!r} is not a relation of this charm")

        on = charm.on
        observe = self.framework.observe
        observe(on[mesh_relation_name].relation_created, self._on_policies_changed)
        observe(on.upgrade_charm, self._on_policies_changed)
        observe(on.leader_elected, self._on_policies_changed)
        if cross_model_mesh_requires_name in declared:
            self._cmr_requirer = CrossModelMeshRequirer(charm, cross_model_mesh_requires_name)
        if cross_model_mesh_provides_name in declared:
            observe(on[cross_model_mesh_provides_name].relation_changed, self._on_policies_changed)
            observe(on[cross_model_mesh_provides_name].relation_broken, self._on_policies_changed)
        for name in relations:
            observe(on[name].relation_created, self._on_policies_changed)
            observe(on[name].relation_broken, self._on_policies_changed)
        if auto_join:
            observe(on[mesh_relation_name].relation_changed, self._on_labels_changed)
            observe(on[mesh_relation_name].relation_broken, self._on_mesh_broken)
            observe(on.start, self._on_labels_changed)
            observe(on.upgrade_charm, self._on_labels_changed)
            observe(on.leader_elected, self._on_labels_changed)

    # -- policies --------------------------------------------------------------------

    def _on_policies_changed(self, _event: ops.EventBase) -> None:
        self.update_service_mesh()

    def update_service_mesh(self) -> None:
        """Publish the policies for the apps related now (leader only; else a no-op)."""
        relation = self._mesh_relation()
        if relation is None or not self._charm.unit.is_leader():
            return
        value = json.dumps([p.model_dump() for p in self.mesh_policies()])
        bag = relation.data[self._charm.app]
        if bag.get(POLICIES_KEY) != value:
            log.debug("publishing mesh policies on %s:%s", relation.name, relation.id)
            bag[POLICIES_KEY] = value

    def mesh_policies(self) -> list[MeshPolicy]:
        """The policies :meth:`update_service_mesh` publishes, without the invalid ones."""
        peers = (
            cmr_data(self._charm.model.relations[self._cmr_provides_name])
            if self._cmr_provides_name in self._charm.meta.relations
            else {}
        )
        built = build_mesh_policies(
            self._charm.model.relations,
            self._charm.app.name,
            self._charm.model.name,
            self._policies,
            peers,
        )
        valid: list[MeshPolicy] = []
        for policy in built:
            try:
                policy.to_model()
            except ValueError as e:
                log.error(
                    "not publishing the mesh policy for %s -> %s: %s",
                    policy.source_app_name,
                    policy.target_app_name,
                    e,
                )
                continue
            valid.append(policy)
        return valid

    # -- provider data ---------------------------------------------------------------

    def _mesh_relation(self) -> ops.Relation | None:
        relations = self._charm.model.relations[self._mesh_relation_name]
        return relations[0] if relations else None

    def _provider_data(
        self, relation: ops.Relation | None
    ) -> tuple[ServiceMeshProviderAppData | None, tuple[Problem, ...]]:
        app = remote_app(relation) if relation is not None else None
        if relation is None or app is None:
            return None, ()
        bag = relation.data[app]
        key = tuple(sorted(bag.items()))
        if key not in self._provider_cache:
            read = read_provider_data(bag, source=f"{relation.name}:{relation.id}", app=app.name)
            for problem in read[1]:
                log.warning("ignoring the mesh provider's data: %s", problem)
            # One entry: read once per hook and databag content, warned about once.
            self._provider_cache = {key: read}
        return self._provider_cache[key]

    def labels(self) -> dict[str, str]:
        """The labels the provider asks a pod to carry to join the mesh ({} if unknown)."""
        data, _ = self._provider_data(self._mesh_relation())
        return dict(data.labels) if data is not None else {}

    @property
    def enabled(self) -> bool:
        """Whether this app is related to a mesh provider."""
        relation = self._mesh_relation()
        return relation is not None and remote_app(relation) is not None

    def mesh_type(self) -> MeshType | None:
        """The provider's mesh type (None if not related or unknown)."""
        data, _ = self._provider_data(self._mesh_relation())
        return data.mesh_type if data is not None else None

    # -- labels on our own objects ---------------------------------------------------

    def _on_labels_changed(self, _event: ops.EventBase) -> None:
        # Off the mesh, stay off the Kubernetes API: a charm that never joined a mesh
        # (and may lack the trust to label pods) must not report label errors.
        if self._mesh_relation() is not None:
            self.apply_labels()

    def _on_mesh_broken(self, _event: ops.EventBase) -> None:
        # The broken relation is no longer listed, so this removes our labels.
        self.apply_labels()

    def apply_labels(self) -> bool:
        """Set the provider's labels on this unit's Pod (and, on the leader, the Service).

        Without a mesh relation the labels we set are removed. When the provider's data
        is malformed nothing is changed: taking a workload off the mesh because of a
        bad databag would turn its authorization policies off.

        Returns:
            Whether it succeeded; if not, :attr:`join_error` says why.
        """
        relation = self._mesh_relation()
        data, problems = self._provider_data(relation)
        if problems:
            self.join_error = f"mesh labels left unchanged: {problems[0]}"
            return False
        labels = dict(data.labels) if data is not None else {}
        namespace = self._charm.model.name
        targets = [(kinds.POD, _labels.pod_name(self._charm.unit.name))]
        if self._charm.unit.is_leader():
            targets.append((kinds.SERVICE, self._charm.app.name))
        errors: list[str] = []
        for kind, name in targets:
            try:
                _labels.reconcile_labels(self._k8s(), kind, name, namespace, labels)
            except KubernetesError as e:
                errors.append(f"cannot set mesh labels on {kind.kind} {namespace}/{name}: {e}")
        for error in errors:
            log.warning("%s", error)
        self.join_error = "; ".join(errors) or None
        return not errors

    def _k8s(self) -> k8s_api.Api:
        if self._api is None and self._lightkube_client is not None:
            self._api = k8s_api.Api(
                self._lightkube_client,
                field_manager=_labels.labels_field_manager(self._charm.app.name),
                deadline=hook_deadline(self._charm),
            )
        if self._api is None:
            self._api = k8s_api.Api.connect(
                field_manager=_labels.labels_field_manager(self._charm.app.name),
                namespace=self._charm.model.name,
                deadline=hook_deadline(self._charm),
            )
        return self._api
