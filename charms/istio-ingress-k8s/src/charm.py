#!/usr/bin/env python3
# Copyright 2026 meshops contributors
# See LICENSE file for licensing details.

"""istio-ingress-k8s: an Istio ingress gateway, configured through the Gateway API.

Glue only: every event runs :meth:`IstioIngressCharm._reconcile` on the leader, which
reads the config, the requirers' relation data and the certificate, asks
:func:`meshops.plan.ingress.plan_ingress` what the cluster should hold, makes it hold
that, watches (bounded) for the gateway's address when it has none yet, and tells each
requirer its URL or host (:mod:`meshops.plan.ingress_report`). Statuses come from what
the last reconcile found, shared with every unit. A quiet update-status reads no
relation: it checks the cluster against what the last reconcile left
(:mod:`meshops.charm.memory`) and reconciles only if something calls for it.
"""

from __future__ import annotations

import dataclasses
import logging

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    Mode,
    TLSCertificatesRequiresV4,
)

from meshops.charm import gateway as gateway_relations
from meshops.charm import leader
from meshops.charm.certificates import provider_problem
from meshops.charm.kube import connect, owner
from meshops.charm.memory import Memory, digest, fingerprint
from meshops.charm.outcome import Outcome, add_statuses, shared
from meshops.interfaces.ingress import IngressPerAppProvider
from meshops.interfaces.istio_ingress_route import IstioIngressRouteProvider
from meshops.interfaces.service_mesh import ServiceMeshConsumer
from meshops.k8s import Api, KubernetesError, Reconciler, objects
from meshops.k8s.kinds import OPTIONAL_KINDS
from meshops.model import dns_label
from meshops.plan import ingress_report as report
from meshops.plan.placement import parse_namespaces

log = logging.getLogger(__name__)

INGRESS_RELATION = "ingress"
ROUTE_RELATION = "istio-ingress-route"
CERTS_RELATION = "certificates"
PEER_RELATION = "ingress-peers"
MESH_RELATION = "service-mesh"
SCOPE = "ingress"
ALLOWED_NAMESPACES = "allowed-requirer-namespaces"
#: Peer app data: the gateway's last seen LoadBalancer address (for the certificate).
ADDRESS_KEY = "address"


class IstioIngressCharm(ops.CharmBase):
    """The istio-ingress-k8s charm."""

    _stored = ops.StoredState()  # what the leader remembers (meshops.charm.memory)

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._stored.set_default(memory="")
        self._outcome: Outcome | None = None  # set when this dispatch reconciled
        self._routes = IstioIngressRouteProvider(self, ROUTE_RELATION)
        self._ingress = IngressPerAppProvider(self, INGRESS_RELATION)
        certs = self.model.get_relation(CERTS_RELATION)
        # (no certificate without the relation: the peer address is not even read)
        self._cert_requests = self._certificate_requests() if certs is not None else []
        # The TLS library raises, in observers of its own, on some of what a provider
        # may write (a PEM that does not load, JSON nested too deeply): with such data
        # it is not loaded at all this time, and gateway_tls says why.
        self._certs_problem = provider_problem(certs)
        self._certs: TLSCertificatesRequiresV4 | None = None
        if self._certs_problem is None:
            self._certs = TLSCertificatesRequiresV4(
                self,
                CERTS_RELATION,
                certificate_requests=self._cert_requests,
                mode=Mode.APP,
                # the request follows external-hostname, or the address the leader saw
                refresh_events=[self.on.config_changed, self.on.update_status],
            )
        self._mesh = ServiceMeshConsumer(self, MESH_RELATION, policies=[])
        on = self.on
        for event in (
            on.install,
            on.config_changed,
            on.leader_elected,
            on.upgrade_charm,
            on.update_status,
            on[INGRESS_RELATION].relation_changed,
            on[INGRESS_RELATION].relation_departed,
            on[INGRESS_RELATION].relation_broken,
            on[ROUTE_RELATION].relation_changed,
            on[ROUTE_RELATION].relation_broken,
            on[CERTS_RELATION].relation_created,
            on[CERTS_RELATION].relation_changed,
            on[CERTS_RELATION].relation_broken,
            *([self._certs.on.certificate_available] if self._certs is not None else []),
        ):
            framework.observe(event, self._on_event)
        framework.observe(on.remove, self._on_remove)
        framework.observe(on.collect_unit_status, self._on_collect_status)

    # -- identity ----------------------------------------------------------------------

    @property
    def _secret_name(self) -> str:
        return dns_label(self.app.name, "tls")

    def _reconciler(self, api: Api) -> Reconciler:
        return Reconciler(
            api,
            owner=owner(self),
            scope=SCOPE,
            kinds=gateway_relations.KINDS,
            namespaces=None,  # routes go to the requirers' namespaces
            optional_kinds=OPTIONAL_KINDS,
        )

    # -- events --------------------------------------------------------------------------

    def _on_event(self, event: ops.EventBase) -> None:
        outcome = leader.run(
            self, event, PEER_RELATION, self._stored, self._reconcile, self._unchanged
        )
        self._outcome = outcome or self._outcome

    def _unchanged(self, memory: Memory) -> bool:
        """Whether the cluster is as the last reconcile left it (no event needed)."""
        if memory.facts.get("tls") != digest(self._certs_problem):
            return False  # what the certificates provider wrote changed
        api = connect(self)
        if not leader.objects_unchanged(self._reconciler(api), memory):
            return False
        namespaces, services = gateway_relations.read_cluster(
            api,
            namespaces=memory.facts.get("listed") == "yes",
            wanted=memory.facts.get("namespaces", "").split(),
            query=(memory.facts.get("uuids", "").split(), memory.facts.get("asked", "").split()),
        )
        service = f"{self.app.name}-istio" if memory.facts.get("address") == "yes" else None
        address = gateway_relations.address(api, service, self.model.name)
        return gateway_relations.cluster_digest(namespaces, services, address) == memory.cluster

    def _reconcile(self, memory: Memory) -> Outcome:
        """Make the cluster hold what the plan wants; tell requirers; say what happened.

        ``memory`` is what the last reconcile left; it is updated to what this one leaves.
        """
        outcome = Outcome()
        complete = memory.complete = False
        try:
            gateway = report.gateway_config(self.app.name, self.model.name, self.config)
            allowed = parse_namespaces(str(self.config[ALLOWED_NAMESPACES]), ALLOWED_NAMESPACES)
        except ValueError as e:
            outcome.blocked.append(f"config: {e}")
            return outcome  # nothing changes until the config is right
        try:
            api = connect(self)
            tls = gateway_relations.gateway_tls(
                api,
                self.model.get_relation(CERTS_RELATION),
                self._certs,
                self._certs_problem,
                self._cert_requests,
                secret_name=self._secret_name,
                namespace=self.model.name,
                owner=owner(self),
            )
            tls.report(outcome)
            secret, kept = tls.secret, tls.kept
            if secret is not None or kept:
                gateway = dataclasses.replace(gateway, tls_secret=self._secret_name)
            planned = gateway_relations.plan_requirers(
                self.model,
                api,
                gateway,
                routes=self._routes,
                ingress=self._ingress,
                allowed=allowed,
                models=memory.models,
            )
            plan, placement, refused = planned.plan, planned.placement, set(planned.refused)
            result = self._reconciler(api).reconcile(
                [*([secret] if secret is not None else []), *plan.objects],
                keep=lambda obj: (
                    planned.keep(obj) or (kept and objects.name(obj) == self._secret_name)
                ),
                stale=memory.drifted,
            )
            log.info(
                "reconciled: %d created, %d updated, %d deleted, %d unchanged; %d requirers",
                *(len(result.of(a)) for a in ("create", "update", "delete", "unchanged")),
                planned.requirers,
            )
            memory.wrote = bool(result.writes)
            for change in result.problems:
                where = f"{change.namespace}/{change.name}"
                outcome.blocked.append(f"{change.kind.kind} {where} not applied: {change.error}")
            address, service = None, f"{self.app.name}-istio"
            if not gateway.hostname:  # watched for (bounded) in a hook that wrote the Gateway
                written = any(c.kind.kind == "Gateway" for c in result.of("create", "update"))
                find = gateway_relations.wait_for_address if written else gateway_relations.address
                address = find(api, service, self.model.name)
                if address != (memory.facts.get("peer-address") or None):
                    gateway_relations.share_address(
                        self.model, PEER_RELATION, ADDRESS_KEY, address
                    )
            host = gateway.hostname or address
            untold: tuple[str, ...] = ()
            if host is None:
                outcome.waiting.append("waiting for the gateway's LoadBalancer address")
            else:
                web = [
                    report.WebRequirer(f"{INGRESS_RELATION}:{r.relation_id}", r.model, r.name)
                    for r in planned.ingress
                ]
                routes = [f"{ROUTE_RELATION}:{r.id}" for r in self._routes.relations]
                told = report.what_to_tell(gateway, plan, host, refused, web, routes)
                gateway_relations.tell(
                    told,
                    memory,
                    host=host,
                    tls=gateway.tls,
                    ingress=self._ingress,
                    routes=self._routes,
                )
                untold = told.untold
            outcome.notes.extend(report.notes(plan, placement.problems, refused, untold))
            memory.objects, memory.models = fingerprint(result.left()), dict(planned.models)
            memory.facts = {
                "listed": "yes" if planned.namespaces is not None else "",
                "namespaces": " ".join(sorted(planned.services)),
                "uuids": " ".join(planned.query[0]),
                "asked": " ".join(planned.query[1]),
                "address": "" if gateway.hostname else "yes",
                "peer-address": address or "",
                "tls": digest(self._certs_problem),
            }
            memory.cluster = gateway_relations.cluster_digest(
                planned.namespaces, planned.services, address
            )
            complete = not (outcome.blocked or outcome.waiting)
        except KubernetesError as e:
            outcome.blocked, outcome.waiting = [], []
            outcome.kubernetes_failed(e, self.app.name)
        memory.complete = complete
        return outcome

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0:
            return  # a unit is going, not the application
        try:
            self._reconciler(connect(self)).delete_all()
        except KubernetesError as e:
            log.error("could not remove everything this gateway created: %s", e)

    # -- steps -----------------------------------------------------------------------------

    def _certificate_requests(self) -> list[CertificateRequestAttributes]:
        """One certificate, for the external hostname or else the LoadBalancer address."""
        host = str(self.config.get("external-hostname", "")).strip()
        if not host:
            peers = self.model.get_relation(PEER_RELATION)
            host = peers.data[self.app].get(ADDRESS_KEY, "") if peers is not None else ""
        return gateway_relations.certificate_requests(host)

    # -- status --------------------------------------------------------------------------

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        outcome = self._outcome or shared(self.model, PEER_RELATION) or Outcome()
        add_statuses(event, outcome, "" if self.unit.is_leader() else "standby")


if __name__ == "__main__":  # pragma: nocover
    ops.main(IstioIngressCharm)
