#!/usr/bin/env python3
# Copyright 2026 meshops contributors
# See LICENSE file for licensing details.

"""istio-beacon-k8s: puts a Juju model on the Istio ambient mesh.

Glue only: every event runs :meth:`IstioBeaconCharm._reconcile`, which reads the
config and relation data, asks :func:`meshops.plan.beacon.plan_beacon` what the model
should hold, and (on the leader) makes the cluster hold it. Statuses are set in one
place, from what the last reconcile found. A quiet update-status reads no relation:
it checks the cluster against what the last reconcile left
(:mod:`meshops.charm.memory`) and reconciles only if something calls for it.
"""

from __future__ import annotations

import logging

import ops

from meshops.charm import leader
from meshops.charm.kube import connect, owner
from meshops.charm.memory import Memory, digest, fingerprint
from meshops.charm.outcome import Outcome, add_statuses, shared
from meshops.interfaces.service_mesh import ServiceMeshProvider, cmr_data
from meshops.k8s import (
    Api,
    KubernetesError,
    NotFound,
    Reconciler,
    hold_labels,
    objects,
)
from meshops.k8s.kinds import AUTHORIZATION_POLICY, GATEWAY, NAMESPACE, SERVICE
from meshops.model import Problem, label_value
from meshops.model.mesh import APP_NAME_LABEL
from meshops.plan.beacon import BeaconInputs, foreign_services, plan_beacon
from meshops.plan.mesh import POLICY_SOURCE_LABEL, PolicySet, waypoint_name, workload_labels

log = logging.getLogger(__name__)

MESH_RELATION = "service-mesh"
CMR_RELATION = "provide-cmr-mesh"
PEER_RELATION = "beacon-peers"
SCOPE = "beacon"
PROBLEMS_SHOWN = 3


class IstioBeaconCharm(ops.CharmBase):
    """The istio-beacon-k8s charm."""

    _stored = ops.StoredState()  # what the leader remembers (meshops.charm.memory)

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._stored.set_default(memory="")
        self._outcome: Outcome | None = None  # set when this dispatch reconciled
        # Consumers are told their labels by the reconcile alone (only those told
        # something else: it never reads back what it wrote), once it has checked the
        # namespace.
        labels = workload_labels(
            self.model.name,
            waypoint_name(self.app.name),
            namespace_on_mesh=bool(self.config["model-on-mesh"]),
        )
        self._mesh = ServiceMeshProvider(
            self, labels=labels, mesh_type="istio", auto_publish=False
        )
        on = self.on
        for event in (
            on.install,
            on.config_changed,
            on.leader_elected,
            on.upgrade_charm,
            on.update_status,
            on[MESH_RELATION].relation_created,
            on[MESH_RELATION].relation_changed,
            on[MESH_RELATION].relation_broken,
            on[CMR_RELATION].relation_changed,
            on[CMR_RELATION].relation_broken,
        ):
            framework.observe(event, self._on_event)
        framework.observe(on.remove, self._on_remove)
        framework.observe(on.collect_unit_status, self._on_collect_status)

    # -- identity ----------------------------------------------------------------------

    def _reconciler(self, api: Api) -> Reconciler:
        return Reconciler(
            api,
            owner=owner(self),
            scope=SCOPE,
            kinds=[GATEWAY, AUTHORIZATION_POLICY],
            namespaces=[self.model.name],
        )

    # -- events --------------------------------------------------------------------------

    def _on_event(self, event: ops.EventBase) -> None:
        outcome = leader.run(
            self, event, PEER_RELATION, self._stored, self._reconcile, self._unchanged
        )
        self._outcome = outcome or self._outcome

    def _unchanged(self, memory: Memory) -> bool:
        """Whether the cluster is as the last reconcile left it (no event needed)."""
        api = connect(self)
        services = memory.facts.get("services") == "read"
        return leader.objects_unchanged(self._reconciler(api), memory) and (
            self._cluster(api, services) == memory.cluster
        )

    def _cluster(self, api: Api, services: bool) -> str:
        """A digest of what the plan read from the cluster: namespace labels, Services."""
        namespace = api.get(NAMESPACE, self.model.name)
        labels = objects.labels(namespace) if namespace is not None else {}
        return digest(dict(labels), self._service_apps(api) if services else None)

    def _reconcile(self, memory: Memory) -> Outcome:
        """Make the cluster hold what the plan wants; return what needs reporting.

        ``memory`` is what the last reconcile left; it is updated to what this one leaves.
        """
        outcome = Outcome()
        complete = memory.complete = False
        try:
            api = connect(self)
            inputs = self._inputs(api)
            plan = plan_beacon(inputs)
            if plan.refused_apps:
                apps = sorted(plan.refused_apps)
                shown = ", ".join(apps[:PROBLEMS_SHOWN]) + (
                    "..." if len(apps) > PROBLEMS_SHOWN else ""
                )
                outcome.notes.append(f"refused policies of {shown} (see juju debug-log)")
            logged = {p for _, problems in inputs.refused for p in problems}  # by the library
            for problem in plan.problems:
                if problem not in logged:
                    log.warning("refused: %s", problem)
            refused = {label_value(app) for app in plan.refused_apps}
            result = self._reconciler(api).reconcile(
                plan.objects,
                keep=lambda obj: objects.labels(obj).get(POLICY_SOURCE_LABEL) in refused,
                stale=memory.drifted,
            )
            log.info(
                "reconciled: %d created, %d updated, %d deleted, %d unchanged; %d consumers",
                *(len(result.of(a)) for a in ("create", "update", "delete", "unchanged")),
                len(inputs.consumers) + len(inputs.refused),
            )
            memory.wrote = bool(result.writes)
            if changed := result.of("create", "update", "delete"):
                log.debug("changes: %s", "; ".join(map(str, changed)))
            for change in result.problems:
                where = f"{change.namespace}/{change.name}"
                outcome.blocked.append(f"{change.kind.kind} {where} not applied: {change.error}")
            # Sending the namespace's traffic to the waypoint before Istio runs it would
            # cut that traffic off: the labels are added once the waypoint is programmed,
            # watched for (bounded) in the hook that wrote it; later hooks only look.
            waypoint = result.live.get((GATEWAY, self.model.name, plan.waypoint))
            programmed = waypoint is not None and objects.condition_true(waypoint, "Programmed")
            written = any(c.kind == GATEWAY for c in result.of("create", "update"))
            if not programmed and written:
                _, programmed = api.wait_for(
                    GATEWAY,
                    plan.waypoint,
                    self.model.name,
                    lambda gw: objects.condition_true(gw, "Programmed"),
                )
            if not programmed:
                outcome.waiting.append(f"waiting for Istio to program waypoint {plan.waypoint}")
            held = hold_labels(
                api, NAMESPACE, self.model.name, None, plan.namespace_labels, add=programmed
            )
            for conflict in held.conflicts:
                outcome.blocked.append(
                    f"model-on-mesh: namespace {self.model.name} {conflict}; remove it or set "
                    "model-on-mesh=false"
                )
            labelled = bool(plan.namespace_labels) and held.held == plan.namespace_labels
            self._publish(plan.labels_for_consumers(namespace_labelled=labelled), memory)
            memory.objects = fingerprint(result.left())
            services = inputs.service_apps is not None
            memory.facts = {"services": "read" if services else ""}
            # (as read for the plan, and the namespace's labels as hold_labels left them)
            memory.cluster = digest(dict(held.labels), inputs.service_apps)
            complete = not (outcome.blocked or outcome.waiting)
        except KubernetesError as e:
            outcome.blocked, outcome.waiting = [], []
            outcome.kubernetes_failed(e, self.app.name)
        memory.complete = complete
        return outcome

    def _publish(self, labels: dict[str, str], memory: Memory) -> None:
        """Tell the consumers told something else (or nothing yet) their labels."""
        self._mesh.set_labels(labels, relations=[])
        told = digest(self._mesh.databag())
        relations = self.model.relations[MESH_RELATION]
        stale = [r for r in relations if memory.published.get(str(r.id)) != told]
        if stale:
            self._mesh.update_relations(stale)
        memory.published = {str(r.id): told for r in relations}

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0:
            return  # a unit is going, not the application: the others keep the mesh
        try:
            api = connect(self)
        except KubernetesError as e:
            log.error("cannot reach Kubernetes to remove what this beacon created: %s", e)
            return
        # The namespace labels first: they send traffic to the waypoint about to go.
        try:
            hold_labels(api, NAMESPACE, self.model.name, None, {})
        except NotFound:
            pass  # the namespace is gone, and everything in it
        except KubernetesError as e:
            log.error("could not remove the namespace labels: %s", e)
        try:
            self._reconciler(api).delete_all()
        except KubernetesError as e:
            log.error("could not remove everything this beacon created: %s", e)

    # -- steps -----------------------------------------------------------------------------

    def _inputs(self, api: Api) -> BeaconInputs:
        consumers: list[PolicySet] = []
        refused: list[tuple[str, tuple[Problem, ...]]] = []
        for consumer in self._mesh.consumers():
            source = f"{MESH_RELATION}:{consumer.relation_id}"
            if consumer.problems:
                refused.append((consumer.app, consumer.problems))
            else:
                consumers.append(PolicySet(source, consumer.app, consumer.policies))
        cross_model = {
            alias: (data.app_name, data.juju_model_name)
            for alias, data in cmr_data(self.model.relations[CMR_RELATION]).items()
        }
        return BeaconInputs(
            namespace=self.model.name,
            app=self.app.name,
            model_on_mesh=bool(self.config["model-on-mesh"]),
            manage_authorization_policies=bool(self.config["manage-authorization-policies"]),
            consumers=tuple(consumers),
            refused=tuple(refused),
            cross_model=cross_model,
            service_apps=self._service_apps(api) if foreign_services(consumers) else None,
        )

    def _service_apps(self, api: Api) -> dict[str, str] | None:
        """The model's Services and the app each belongs to; None if they can't be read."""
        try:
            services = api.list(SERVICE, self.model.name)
        except KubernetesError as e:
            log.warning("cannot read the model's Services to check policies' targets: %s", e)
            return None
        return {objects.name(s): objects.labels(s).get(APP_NAME_LABEL, "") for s in services}

    # -- status --------------------------------------------------------------------------

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        # Events this charm does not reconcile on still show the last known outcome.
        outcome = self._outcome or shared(self.model, PEER_RELATION) or Outcome()
        role = "" if self.unit.is_leader() else "standby; "
        on_mesh = "model on mesh" if self.config["model-on-mesh"] else "model off mesh"
        if outcome.notes:
            add_statuses(event, outcome, "")
        else:
            add_statuses(event, outcome, f"{role}{on_mesh}")


if __name__ == "__main__":  # pragma: nocover
    ops.main(IstioBeaconCharm)
