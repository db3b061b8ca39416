#!/usr/bin/env python3
# Copyright 2026 meshops contributors
# See LICENSE file for licensing details.

"""gateway-api-integrator: ingress through whatever Gateway API implementation the cluster runs.

Glue only: every event runs :meth:`GatewayApiIntegratorCharm._reconcile` on the leader,
which checks the config against the cluster's GatewayClasses, reads the requirers'
relation data and the certificates, asks :func:`meshops.plan.ingress.plan_ingress` what
the cluster should hold, makes it hold that, and tells each requirer (and the DNS
provider) what it needs. Statuses come from what the last reconcile found, shared with
every unit.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import ops
from charmlibs.interfaces.tls_certificates import Mode, TLSCertificatesRequiresV4

from meshops.charm.certificates import (
    certificate_for,
    certificate_request,
    issued_secrets,
    provider_problem,
)
from meshops.charm.kube import connect, owner
from meshops.charm.outcome import Outcome, add_statuses, share, shared
from meshops.charm.placement import claimants, hostname_sets, locate, requirers
from meshops.interfaces.dns_record import DNSRecordRequirer, a_record
from meshops.interfaces.gateway_route import GatewayRouteProvider
from meshops.interfaces.ingress import IngressPerAppProvider
from meshops.k8s import Api, CrdMissing, KubernetesError, Reconciler, objects
from meshops.k8s.kinds import (
    AUTHORIZATION_POLICY,
    DESTINATION_RULE,
    GATEWAY,
    GATEWAY_CLASS,
    HTTP_ROUTE,
    OPTIONAL_KINDS,
    REFERENCE_GRANT,
    SECRET,
)
from meshops.model import label_value
from meshops.model.ingress import GatewayConfig
from meshops.plan import gateway_api
from meshops.plan.ingress import ROUTE_SOURCE_LABEL, IngressPlan, plan_ingress, web_url

log = logging.getLogger(__name__)

INGRESS_RELATION = "gateway"
ROUTE_RELATION = "gateway-route"
CERTS_RELATION = "certificates"
PEER_RELATION = "gateway-peers"
SCOPE = "gateway"
SHOWN = 3
KINDS = (SECRET, GATEWAY, REFERENCE_GRANT, HTTP_ROUTE, DESTINATION_RULE, AUTHORIZATION_POLICY)


def _shown(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + ("..." if len(items) > SHOWN else "")


class GatewayApiIntegratorCharm(ops.CharmBase):
    """The gateway-api-integrator charm."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._outcome: Outcome | None = None  # set when this dispatch reconciled
        self._ingress = IngressPerAppProvider(self, INGRESS_RELATION)
        self._routes = GatewayRouteProvider(self, ROUTE_RELATION)
        self._dns = DNSRecordRequirer(self)
        self._hostnames = gateway_api.certificate_hostnames(
            self._external_hostname(), (h for r in self._routes.requests() for h in r.hostnames)
        )
        # The TLS library raises in observers of its own on some of what a provider may
        # write: with such data it is not loaded this time (see meshops.charm.certificates).
        self._certs_problem = provider_problem(self.model.get_relation(CERTS_RELATION))
        self._certs: TLSCertificatesRequiresV4 | None = None
        if self._certs_problem is None:
            self._certs = TLSCertificatesRequiresV4(
                self,
                CERTS_RELATION,
                certificate_requests=[certificate_request(h) for h in self._hostnames],
                mode=Mode.APP,
                refresh_events=[self.on.config_changed, self.on.update_status],
            )
        on = self.on
        for event in (
            on.install,
            on.config_changed,
            on.leader_elected,
            on.upgrade_charm,
            on.update_status,
            *(
                on[name].relation_changed
                for name in (INGRESS_RELATION, ROUTE_RELATION, CERTS_RELATION, "dns-record")
            ),
            *(on[name].relation_broken for name in (INGRESS_RELATION, ROUTE_RELATION)),
            on[INGRESS_RELATION].relation_departed,
            on[CERTS_RELATION].relation_created,
            on[CERTS_RELATION].relation_broken,
            on["dns-record"].relation_created,
            *([self._certs.on.certificate_available] if self._certs is not None else []),
        ):
            framework.observe(event, self._on_event)
        framework.observe(on.remove, self._on_remove)
        framework.observe(on.get_certificate_action, self._on_get_certificate)
        framework.observe(on.collect_unit_status, self._on_collect_status)

    def _external_hostname(self) -> str | None:
        return str(self.config.get("external-hostname", "")).strip() or None

    def _reconciler(self, api: Api) -> Reconciler:
        return Reconciler(
            api,
            owner=owner(self),
            scope=SCOPE,
            kinds=KINDS,
            namespaces=None,  # routes go to the requirers' namespaces
            optional_kinds=OPTIONAL_KINDS,
        )

    # -- events --------------------------------------------------------------------------

    def _on_event(self, _: ops.EventBase) -> None:
        if self.unit.is_leader():
            self._outcome = self._reconcile()
            share(self.model, PEER_RELATION, self._outcome)

    def _reconcile(self) -> Outcome:
        """Make the cluster hold what the plan wants; tell requirers; say what happened."""
        outcome = Outcome()
        try:
            api = connect(self)
            try:
                gateway = gateway_api.gateway_config(
                    self.app.name,
                    self.model.name,
                    self.config,
                    gateway_api.gateway_classes(api.list(GATEWAY_CLASS, None)),
                    certificates=self.model.get_relation(CERTS_RELATION) is not None,
                    ingress_requirers=bool(self.model.relations[INGRESS_RELATION]),
                )
                secrets = self._tls_secrets(outcome)
            except ValueError as e:
                outcome.blocked.append(str(e))
                return outcome  # nothing changes until the config (or the data) is right
            if gateway.hostname in secrets:
                name = gateway_api.secret_name(self.app.name, gateway.hostname or "")
                gateway = dataclasses.replace(gateway, tls_secret=name)
            ingress = self._ingress.requests()
            asked = requirers(self.model, ingress=ingress, ingress_endpoint=INGRESS_RELATION)
            hostname_requests = self._routes.requests()
            claiming = claimants(self.model, hostname_requests, ROUTE_RELATION)
            found = locate(
                api,
                [*asked.requirers, *claiming],
                model=self.model.name,
                model_uuid=self.model.uuid,
            )
            sets, unplaced = hostname_sets(hostname_requests, claiming, found)
            placement = found.placement
            plan = plan_ingress(
                gateway,
                placement.route_sets,
                found.waypoints if gateway.istio else None,
                hostname_sets=sets,
                hostname_secrets={h: gateway_api.secret_name(self.app.name, h) for h in secrets},
            )
            problems = [*asked.problems, *placement.problems, *unplaced, *plan.problems]
            refused = {p.source for p in problems} | plan.refused_sources
            for problem in (*problems, *plan.conflicts):
                log.warning("refused: %s", problem)
            # a refused requirer keeps what it had, where it may have it
            keep = {label_value(s): placement.may_hold.get(s, frozenset()) for s in refused}
            # only the certificates of hostnames served (a refused claim's is not kept)
            served = {gateway.hostname, *plan.hostnames}
            kept = [secret for hostname, secret in secrets.items() if hostname in served]
            result = self._reconciler(api).reconcile(
                [*kept, *plan.objects],
                keep=lambda obj: (
                    objects.namespace(obj)
                    in keep.get(objects.labels(obj).get(ROUTE_SOURCE_LABEL, ""), ())
                ),
            )
            for change in result.problems:
                where = f"{change.namespace}/{change.name}"
                outcome.blocked.append(f"{change.kind.kind} {where} not applied: {change.error}")
            address = gateway_api.gateway_address(
                result.live.get((GATEWAY, self.model.name, self.app.name))
            )
            if address is None:
                outcome.waiting.append("waiting for the Gateway's address from its controller")
            self._publish(gateway, plan, address, refused, set(secrets))
            outcome.notes.extend(gateway_api.summary(plan, problems, address, INGRESS_RELATION))
            for status in self._dns.statuses().values():
                if status.status not in ("approved", "pending"):
                    outcome.notes.append(f"dns-record: {status.status} {status.description or ''}")
        except CrdMissing as e:
            outcome.blocked = [f"{e.crd} missing: install the Gateway API CRDs and a controller"]
        except KubernetesError as e:
            outcome.blocked, outcome.waiting = [], []
            outcome.kubernetes_failed(e, self.app.name)
        return outcome

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0:
            return  # a unit is going, not the application
        try:
            self._reconciler(connect(self)).delete_all()
        except KubernetesError as e:
            log.error("could not remove everything this gateway created: %s", e)

    # -- steps -----------------------------------------------------------------------------

    def _tls_secrets(self, outcome: Outcome) -> dict[str, dict[str, Any]]:
        """The TLS Secret of each hostname whose certificate the provider has issued."""
        relation = self.model.get_relation(CERTS_RELATION)
        if relation is None:
            return {}
        who = relation.app.name if relation.app is not None else CERTS_RELATION
        if self._certs is None:  # nothing changes, HTTPS included, until the data is good
            raise ValueError(f"certificates: {who} sent bad data ({self._certs_problem})")
        secrets = issued_secrets(
            self._certs,
            self._hostnames,
            lambda hostname: gateway_api.secret_name(self.app.name, hostname),
            self.model.name,
        )
        missing = [h for h in self._hostnames if h not in secrets]
        if missing:
            outcome.waiting.append(
                f"waiting for TLS certificates from {who} for {_shown(missing)}"
            )
        return secrets

    def _publish(
        self,
        gateway: GatewayConfig,
        plan: IngressPlan,
        address: str | None,
        refused: set[str],
        certified: set[str],
    ) -> None:
        """Tell requirers where they are served, and the DNS provider what to point here."""
        host = gateway.hostname or address
        for request in self._ingress.requests():
            source = f"{INGRESS_RELATION}:{request.relation_id}"
            relation = self.model.get_relation(INGRESS_RELATION, request.relation_id)
            if relation is None or source in refused:
                continue  # a refused requirer keeps what it was told, as it keeps its routes
            url = web_url(gateway, host, request.model, request.name) if host else None
            if url is not None and plan.served.get(source):
                self._ingress.publish_url(relation, url)
            else:
                self._ingress.wipe_ingress_data(relation)
        self._routes.answer(
            gateway_api.hostname_answers(gateway, plan, certified),
            gateway=gateway.name,
            model=gateway.namespace,
            address=address,
            keep=refused,  # a refused requirer keeps what it was told
        )
        if address is not None and self._dns.relations:
            names = gateway_api.dns_hostnames(gateway, plan)
            try:
                self._dns.publish(a_record(h, address) for h in names)
            except ValueError as e:
                log.warning("no DNS records: %s", e)

    # -- action and status -------------------------------------------------------------

    def _on_get_certificate(self, event: ops.ActionEvent) -> None:
        if self._certs is None or self.model.get_relation(CERTS_RELATION) is None:
            event.fail("no certificates relation: relate a certificates provider first")
            return
        found = certificate_for(self._certs.get_provider_certificates(), event.params["hostname"])
        if isinstance(found, str):
            event.fail(found)
        else:
            event.set_results(found)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        outcome = self._outcome or shared(self.model, PEER_RELATION) or Outcome()
        add_statuses(event, outcome, "" if self.unit.is_leader() else "standby")


if __name__ == "__main__":  # pragma: nocover
    ops.main(GatewayApiIntegratorCharm)
