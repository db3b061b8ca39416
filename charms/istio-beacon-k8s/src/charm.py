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

import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any

import ops

from meshops.interfaces.service_mesh import ServiceMeshProvider, cmr_data
from meshops.k8s import (
    Api,
    CrdMissing,
    Forbidden,
    KubernetesError,
    NotFound,
    Reconciler,
    hold_labels,
    objects,
)
from meshops.k8s.kinds import AUTHORIZATION_POLICY, GATEWAY, NAMESPACE
from meshops.k8s.reconciler import Key
from meshops.model import Problem, label_value
from meshops.plan.beacon import BeaconInputs, BeaconPlan, plan_beacon
from meshops.plan.mesh import POLICY_SOURCE_LABEL, PolicySet, waypoint_name, workload_labels

log = logging.getLogger(__name__)

MESH_RELATION = "service-mesh"
CMR_RELATION = "provide-cmr-mesh"
PEER_RELATION = "beacon-peers"
SCOPE = "beacon"
PROBLEMS_SHOWN = 3


@dataclasses.dataclass
class _Outcome:
    """What the last reconcile found, for collect-status."""

    blocked: list[str] = dataclasses.field(default_factory=list[str])
    waiting: list[str] = dataclasses.field(default_factory=list[str])
    problems: list[Problem] = dataclasses.field(default_factory=list[Problem])


class IstioBeaconCharm(ops.CharmBase):
    """The istio-beacon-k8s charm."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._outcome = _Outcome()
        # Until a reconcile has checked the namespace, assume its labels are in place
        # exactly when the config asks for them.
        initial = workload_labels(
            self.model.name,
            waypoint_name(self.app.name),
            namespace_on_mesh=bool(self.config["model-on-mesh"]),
        )
        self._mesh = ServiceMeshProvider(self, labels=initial, mesh_type="istio")
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
            on[PEER_RELATION].relation_changed,
        ):
            framework.observe(event, self._on_event)
        framework.observe(on.remove, self._on_remove)
        framework.observe(on.collect_unit_status, self._on_collect_status)

    # -- identity ----------------------------------------------------------------------

    @property
    def _owner(self) -> str:
        return label_value(self.app.name, self.model.name)

    def _api(self) -> Api:
        return Api.connect(field_manager=self._owner, namespace=self.model.name)

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
        self._reconcile()

    def _reconcile(self) -> None:
        plan = plan_beacon(self._inputs())
        self._outcome = _Outcome(problems=list(plan.problems))
        for problem in plan.problems:
            log.warning("refused: %s", problem)
        if not self.unit.is_leader():
            return
        try:
            api = self._api()
            labelled = self._hold_namespace_labels(api, plan)
            self._mesh.set_labels(plan.labels_for_consumers(namespace_labelled=labelled))
            refused = {label_value(app) for app in plan.refused_apps}
            result = self._reconciler(api).reconcile(
                plan.objects,
                keep=lambda obj: objects.labels(obj).get(POLICY_SOURCE_LABEL) in refused,
            )
        except KubernetesError as e:
            self._kubernetes_failed(e)
        else:
            for change in result.problems:
                where = f"{change.namespace}/{change.name}"
                self._outcome.blocked.append(
                    f"{change.kind.kind} {where} not applied: {change.error}"
                )
            for change in result.of("create", "update", "delete"):
                log.info("%s", change)
            if not self._waypoint_programmed(result.live, plan.waypoint):
                self._outcome.waiting.append(
                    f"waiting for Istio to program waypoint {plan.waypoint}"
                )
        self._publish_outcome()

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0:
            return  # a unit is going, not the application: the others keep the mesh
        try:
            api = self._api()
            self._reconciler(api).delete_all()
            hold_labels(api, NAMESPACE, self.model.name, None, {})
        except NotFound:
            pass  # the namespace is already gone, and everything in it
        except KubernetesError as e:
            log.error("could not remove everything this beacon created: %s", e)

    # -- steps -----------------------------------------------------------------------------

    def _inputs(self) -> BeaconInputs:
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
        )

    def _hold_namespace_labels(self, api: Api, plan: BeaconPlan) -> bool:
        """Hold the namespace labels the plan wants; False when someone else holds them."""
        conflicts = hold_labels(api, NAMESPACE, self.model.name, None, plan.namespace_labels)
        for conflict in conflicts:
            self._outcome.blocked.append(
                f"model-on-mesh: namespace {self.model.name} {conflict}; remove it or set "
                "model-on-mesh=false"
            )
        return not conflicts

    def _waypoint_programmed(self, live: Mapping[Key, dict[str, Any]], name: str) -> bool:
        waypoint = live.get((GATEWAY, self.model.name, name))
        return waypoint is not None and objects.condition_true(waypoint, "Programmed")

    def _kubernetes_failed(self, error: KubernetesError) -> None:
        log.error("Kubernetes: %s", error)
        if isinstance(error, CrdMissing):
            self._outcome.blocked.append(f"{error.crd} missing: deploy istio-k8s (Istio ambient)")
        elif isinstance(error, Forbidden):
            self._outcome.blocked.append(
                "Kubernetes API refused access: deploy with --trust (juju trust "
                f"{self.app.name} --scope=cluster)"
            )
        elif error.temporary:
            self._outcome.waiting.append(
                f"Kubernetes API unavailable ({error.code or 'no answer'}); will retry"
            )
        else:
            self._outcome.blocked.append(f"Kubernetes API error: {error.message[:80]}")

    # -- status --------------------------------------------------------------------------

    def _publish_outcome(self) -> None:
        """Share the leader's outcome with the other units through the peer relation."""
        peers = self.model.get_relation(PEER_RELATION)
        if peers is None:
            return
        data = {"blocked": self._outcome.blocked, "waiting": self._outcome.waiting}
        peers.data[self.app]["outcome"] = json.dumps(data, sort_keys=True)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        if not self.unit.is_leader():
            self._collect_leader_outcome()
        outcome = self._outcome
        for message in outcome.blocked:
            event.add_status(ops.BlockedStatus(message))
        for message in outcome.waiting:
            event.add_status(ops.WaitingStatus(message))
        if outcome.problems:
            apps = sorted({p.app or p.source for p in outcome.problems})
            shown = ", ".join(apps[:PROBLEMS_SHOWN]) + (
                "..." if len(apps) > PROBLEMS_SHOWN else ""
            )
            event.add_status(ops.ActiveStatus(f"refused policies of {shown} (see juju debug-log)"))
        role = "" if self.unit.is_leader() else "standby; "
        on_mesh = "model on mesh" if self.config["model-on-mesh"] else "model off mesh"
        event.add_status(ops.ActiveStatus(f"{role}{on_mesh}"))

    def _collect_leader_outcome(self) -> None:
        peers = self.model.get_relation(PEER_RELATION)
        raw = peers.data[self.app].get("outcome") if peers is not None else None
        if not raw:
            return
        try:
            data = json.loads(raw)
            self._outcome.blocked.extend(str(m) for m in data.get("blocked", []))
            self._outcome.waiting.extend(str(m) for m in data.get("waiting", []))
        except (ValueError, AttributeError):
            log.warning("unreadable outcome in peer data: %r", raw)


if __name__ == "__main__":  # pragma: nocover
    ops.main(IstioBeaconCharm)
