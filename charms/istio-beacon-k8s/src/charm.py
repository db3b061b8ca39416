#!/usr/bin/env python3
# Copyright 2026 meshops contributors
# See LICENSE file for licensing details.

"""istio-beacon-k8s: puts a Juju model on the Istio ambient mesh.

Glue only: every event runs :meth:`IstioBeaconCharm._reconcile`, which reads the
config and relation data, asks :func:`meshops.plan.beacon.plan_beacon` what the model
should hold, and (on the leader) makes the cluster hold it. Statuses are set in one
place, from what the last reconcile found.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import ops

from meshops.charm.outcome import Outcome, add_statuses, share, shared
from meshops.interfaces.hooks import hook_deadline
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
from meshops.k8s.reconciler import Key
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

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._outcome: Outcome | None = None  # set when this dispatch reconciled
        # The provider republishes its labels on some events by itself: give it the
        # labels consumers were last told, so that only a reconcile that has checked
        # the namespace changes what they are told.
        self._mesh = ServiceMeshProvider(self, labels=self._published_labels(), mesh_type="istio")
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

    @property
    def _owner(self) -> str:
        return label_value(self.app.name, self.model.name)

    def _api(self) -> Api:
        return Api.connect(
            field_manager=self._owner, namespace=self.model.name, deadline=hook_deadline(self)
        )

    def _reconciler(self, api: Api) -> Reconciler:
        return Reconciler(
            api,
            owner=self._owner,
            scope=SCOPE,
            kinds=[GATEWAY, AUTHORIZATION_POLICY],
            namespaces=[self.model.name],
        )

    # -- events --------------------------------------------------------------------------

    def _on_event(self, _: ops.EventBase) -> None:
        if self.unit.is_leader():
            self._outcome = self._reconcile()
            share(self.model, PEER_RELATION, self._outcome)

    def _reconcile(self) -> Outcome:
        """Make the cluster hold what the plan wants; return what needs reporting."""
        outcome = Outcome()
        try:
            api = self._api()
            plan = plan_beacon(self._inputs(api))
            if plan.refused_apps:
                apps = sorted(plan.refused_apps)
                shown = ", ".join(apps[:PROBLEMS_SHOWN]) + (
                    "..." if len(apps) > PROBLEMS_SHOWN else ""
                )
                outcome.notes.append(f"refused policies of {shown} (see juju debug-log)")
            for problem in plan.problems:
                log.warning("refused: %s", problem)
            refused = {label_value(app) for app in plan.refused_apps}
            result = self._reconciler(api).reconcile(
                plan.objects,
                keep=lambda obj: objects.labels(obj).get(POLICY_SOURCE_LABEL) in refused,
            )
            for change in result.of("create", "update", "delete"):
                log.debug("%s", change)
            log.info(
                "%d created, %d updated, %d deleted, %d unchanged",
                *(len(result.of(a)) for a in ("create", "update", "delete", "unchanged")),
            )
            for change in result.problems:
                where = f"{change.namespace}/{change.name}"
                outcome.blocked.append(f"{change.kind.kind} {where} not applied: {change.error}")
            programmed = self._waypoint_programmed(result.live, plan.waypoint)
            if not programmed:
                outcome.waiting.append(f"waiting for Istio to program waypoint {plan.waypoint}")
            # Sending the namespace's traffic to the waypoint before Istio runs it would
            # cut that traffic off: the labels are added once the waypoint is programmed.
            held = hold_labels(
                api, NAMESPACE, self.model.name, None, plan.namespace_labels, add=programmed
            )
            for conflict in held.conflicts:
                outcome.blocked.append(
                    f"model-on-mesh: namespace {self.model.name} {conflict}; remove it or set "
                    "model-on-mesh=false"
                )
            labelled = bool(plan.namespace_labels) and held.held == plan.namespace_labels
            self._mesh.set_labels(plan.labels_for_consumers(namespace_labelled=labelled))
        except KubernetesError as e:
            outcome.blocked, outcome.waiting = [], []
            outcome.kubernetes_failed(e, self.app.name)
        return outcome

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0:
            return  # a unit is going, not the application: the others keep the mesh
        try:
            api = self._api()
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

    def _published_labels(self) -> dict[str, str]:
        """The labels consumers were last told (a guess from config before any)."""
        if self.unit.is_leader():
            for relation in self.model.relations[MESH_RELATION]:
                raw = relation.data[self.app].get("labels")
                try:
                    labels = json.loads(raw) if raw else None
                except ValueError:
                    labels = None
                if isinstance(labels, dict):
                    return {str(k): str(v) for k, v in labels.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        return workload_labels(
            self.model.name,
            waypoint_name(self.app.name),
            namespace_on_mesh=bool(self.config["model-on-mesh"]),
        )

    def _waypoint_programmed(self, live: Mapping[Key, dict[str, Any]], name: str) -> bool:
        waypoint = live.get((GATEWAY, self.model.name, name))
        return waypoint is not None and objects.condition_true(waypoint, "Programmed")

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
