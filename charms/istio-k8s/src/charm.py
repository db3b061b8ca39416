#!/usr/bin/env python3
# Copyright 2026 meshops contributors
# See LICENSE file for licensing details.

"""istio-k8s: the Istio ambient control plane, and the Gateway API's CRDs.

Glue only: every event runs :meth:`IstioK8sCharm._reconcile` on the leader, which
validates the config (:func:`meshops.plan.control_plane.settings_from_config`), has the
istioctl in the charm's ``bin/`` generate Istio's manifests for it
(:class:`meshops.k8s.istioctl.Istioctl`, cached per istioctl and settings), plans what
to apply (:func:`meshops.plan.control_plane.plan_control_plane`) and makes the cluster
hold it, through three reconcilers: the CRDs (kept when the charm goes), the rest of the
control plane, and hardened mode's policies. Statuses are set in one place, from what
the last reconcile found, including the readiness of istiod, ztunnel and istio-cni.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ops
from charmlibs.interfaces.istio_metadata import IstioMetadataProvider

from meshops.charm.kube import connect, owner
from meshops.charm.outcome import Outcome, add_statuses, share, shared
from meshops.crds import gateway_api_crds
from meshops.k8s import Api, KubernetesError, Reconciler, objects
from meshops.k8s.istioctl import Istioctl, IstioctlError, IstioctlMissing, find_istioctl
from meshops.k8s.kinds import AUTHORIZATION_POLICY, CONTROL_PLANE_KINDS, CRD, kind_of
from meshops.k8s.reconciler import Change, Key
from meshops.plan.control_plane import (
    READINESS,
    ControlPlaneSettings,
    foreign_crds,
    istio_operator,
    not_ready,
    plan_control_plane,
    settings_from_config,
)

log = logging.getLogger(__name__)

PEER_RELATION = "peers"
METADATA_RELATION = "istio-metadata"
#: Where the charm's own istioctl is (the charmcraft part ``istioctl`` puts it there).
ISTIOCTL_DIR = "bin"
#: Where generated manifests are cached, in the charm's directory.
CACHE_DIR = ".istioctl-cache"


class IstioK8sCharm(ops.CharmBase):
    """The istio-k8s charm."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._outcome: Outcome | None = None  # set when this dispatch reconciled
        self._metadata = IstioMetadataProvider(self, self.model.relations, self.app)
        on = self.on
        for event in (
            on.install,
            on.config_changed,
            on.leader_elected,
            on.upgrade_charm,
            on.update_status,
            on[PEER_RELATION].relation_joined,
            on[PEER_RELATION].relation_departed,
            on[METADATA_RELATION].relation_joined,
        ):
            framework.observe(event, self._on_event)
        framework.observe(on.remove, self._on_remove)
        framework.observe(on.collect_unit_status, self._on_collect_status)

    # -- identity ----------------------------------------------------------------------

    def _reconcilers(self, api: Api, namespaces: set[str]) -> dict[str, Reconciler]:
        """The CRDs', the control plane's and the policies' reconcilers, in apply order."""
        own = {self.model.name}
        rest = [k for k in CONTROL_PLANE_KINDS if k != CRD]
        return {
            "crds": Reconciler(api, owner=owner(self), scope="crds", kinds=[CRD], namespaces=None),
            "control-plane": Reconciler(
                api, owner=owner(self), scope="control-plane", kinds=rest,
                namespaces=sorted(own | namespaces),
            ),
            "policies": Reconciler(
                api, owner=owner(self), scope="policies", kinds=[AUTHORIZATION_POLICY],
                namespaces=sorted(own), optional_kinds=[AUTHORIZATION_POLICY],
            ),
        }  # fmt: skip

    def _istioctl(self) -> Istioctl:
        folder = Path(self.charm_dir)
        # Only the charm's own istioctl: the release it was packed with is the one it runs.
        path = find_istioctl(folder / ISTIOCTL_DIR / "istioctl")
        return Istioctl(path, cache_dir=folder / CACHE_DIR)

    # -- events --------------------------------------------------------------------------

    def _on_event(self, _: ops.EventBase) -> None:
        if self.unit.is_leader():
            self._outcome = self._reconcile()
            share(self.model, PEER_RELATION, self._outcome)

    def _reconcile(self) -> Outcome:
        """Make the cluster hold the control plane; return what needs reporting."""
        outcome = Outcome()
        # Istio's root namespace is the model's, whatever else is wrong.
        self._metadata.publish(root_namespace=self.model.name)
        settings, problems = settings_from_config(self.config, self.model.name)
        if settings is None:
            outcome.blocked += [f"{p.message}: fix it with juju config" for p in problems]
            return outcome
        try:
            istioctl = self._istioctl()
            version = istioctl.version()
            generated = istioctl.manifest_generate(istio_operator(settings, version))
        except IstioctlMissing:
            outcome.blocked.append(
                f"no istioctl in the charm ({ISTIOCTL_DIR}/istioctl): repack it with "
                "charms/pack.sh istio-k8s"
            )
            return outcome
        except IstioctlError as e:
            outcome.blocked.append(str(e))
            return outcome
        self.unit.set_workload_version(version)
        replicas = max(1, self.app.planned_units())
        plan = plan_control_plane(
            generated,
            settings,
            replicas=replicas,
            gateway_api_crds=gateway_api_crds(settings.gateway_api_channel),
            prefix=self.app.name,
        )
        try:
            api = connect(self)
            namespaces = {objects.namespace(o) for o in plan.objects if kind_of(o).namespaced}
            reconcilers = self._reconcilers(api, namespaces)
            crds = reconcilers["crds"]
            owned = {key[2] for key in crds.owned()}
            present: dict[str, Mapping[str, Any]] = {}
            if any(objects.name(c) not in owned for c in plan.crds):
                present = {objects.name(c): c for c in api.list(CRD, None)}
                present = {n: c for n, c in present.items() if n not in owned}
            skip, in_the_way = foreign_crds(plan.crds, present)
            if in_the_way:
                outcome.blocked += in_the_way
                return outcome
            # CRDs a new release or channel no longer asks for are kept, as on removal:
            # deleting one would delete every object of its kind.
            results = {
                "crds": crds.reconcile(
                    [c for c in plan.crds if objects.name(c) not in skip], keep=lambda _: True
                ),
                "control-plane": reconcilers["control-plane"].reconcile(plan.objects),
                "policies": reconcilers["policies"].reconcile(plan.policies),
            }
        except KubernetesError as e:
            outcome.kubernetes_failed(e, self.app.name)
            return outcome
        for scope, result in results.items():
            log.info(
                "%s: %d created, %d updated, %d deleted, %d unchanged",
                scope,
                *(len(result.of(a)) for a in ("create", "update", "delete", "unchanged")),
            )
            for change in result.problems:
                self._report(outcome, change)
        self._readiness(outcome, results["control-plane"].live, results["control-plane"].changes)
        if not outcome.blocked and not outcome.waiting:
            outcome.notes.append(_summary(version, replicas, settings))
        return outcome

    def _report(self, outcome: Outcome, change: Change) -> None:
        if change.kind == AUTHORIZATION_POLICY and change.error.startswith("CRD "):
            outcome.waiting.append(f"waiting for the API server to serve {change.kind.kind}")
        else:
            outcome.blocked.append(f"{change}"[:200])

    def _readiness(
        self, outcome: Outcome, live: Mapping[Key, dict[str, Any]], changes: tuple[Change, ...]
    ) -> None:
        """Waiting until istiod, ztunnel and istio-cni are ready (as listed this hook)."""
        changed = {(c.kind.kind, c.name) for c in changes if c.action in ("create", "update")}
        found = {(k.kind, name): obj for (k, ns, name), obj in live.items()
                 if ns == self.model.name and (k.kind, name) in READINESS}  # fmt: skip
        rolling = [name for kind, name in READINESS if (kind, name) in changed]
        if rolling:
            outcome.waiting.append(f"rolling out {', '.join(rolling)}")
        elif waiting := not_ready(found):
            outcome.waiting.append(f"waiting for {'; '.join(waiting)}")

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0 or not self.unit.is_leader():
            return  # a unit is going, not the application: the others keep Istio
        settings = settings_from_config(self.config, self.model.name)[0]
        settings = settings or ControlPlaneSettings(self.model.name)
        try:
            api = connect(self)
            reconcilers = self._reconcilers(api, set())
            scopes = ["policies", "control-plane"]
            if settings.delete_crds_on_remove:
                scopes.append("crds")
            for scope in scopes:
                reconcilers[scope].delete_all()
        except KubernetesError as e:
            log.error("could not remove everything istio-k8s created: %s", e)

    # -- status --------------------------------------------------------------------------

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        outcome = self._outcome or shared(self.model, PEER_RELATION) or Outcome()
        role = "" if self.unit.is_leader() else "standby; "
        summary = outcome.notes[0] if outcome.notes else "not reconciled yet"
        add_statuses(event, Outcome(outcome.blocked, outcome.waiting), f"{role}{summary}")


def _summary(version: str, replicas: int, settings: ControlPlaneSettings) -> str:
    """What runs, e.g. ``Istio 1.30.3 ambient, 3 istiod replicas, hardened``."""
    plural = "replica" if replicas == 1 else "replicas"
    hardened = ", hardened" if settings.hardened else ""
    return f"Istio {version} ambient, {replicas} istiod {plural}{hardened}"


if __name__ == "__main__":  # pragma: nocover
    ops.main(IstioK8sCharm)
