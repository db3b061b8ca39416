#!/usr/bin/env python3
# Copyright 2026 meshops contributors
# See LICENSE file for licensing details.

"""istio-ingress-k8s: an Istio ingress gateway, configured through the Gateway API.

Glue only: every event runs :meth:`IstioIngressCharm._reconcile` on the leader, which
reads the config, the requirers' relation data and the certificate, asks
:func:`meshops.plan.ingress.plan_ingress` what the cluster should hold, makes it hold
that, and tells each requirer its URL or host. Statuses come from what the last
reconcile found, shared with every unit.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from typing import Any

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    Mode,
    TLSCertificatesRequiresV4,
)

from meshops.charm.certificates import provider_problem
from meshops.charm.outcome import Outcome, add_statuses, share, shared
from meshops.charm.placement import locate, requirers
from meshops.interfaces.hooks import hook_deadline
from meshops.interfaces.ingress import IngressPerAppProvider, IngressRequest
from meshops.interfaces.istio_ingress_route import IstioIngressRouteProvider
from meshops.interfaces.service_mesh import ServiceMeshConsumer
from meshops.k8s import Api, KubernetesError, Reconciler, objects
from meshops.k8s.kinds import (
    AUTHORIZATION_POLICY,
    DESTINATION_RULE,
    GATEWAY,
    GRPC_ROUTE,
    HTTP_ROUTE,
    OPTIONAL_KINDS,
    REFERENCE_GRANT,
    SECRET,
    SERVICE,
    TCP_ROUTE,
    TLS_ROUTE,
)
from meshops.k8s.reconciler import OWNER_LABEL
from meshops.model import Problem, dns_label, label_value
from meshops.model.ingress import GatewayConfig, check_hostname
from meshops.plan.ingress import (
    ROUTE_SOURCE_LABEL,
    IngressPlan,
    plan_ingress,
    tls_secret,
    web_url,
)
from meshops.plan.placement import parse_namespaces

log = logging.getLogger(__name__)

INGRESS_RELATION = "ingress"
ROUTE_RELATION = "istio-ingress-route"
CERTS_RELATION = "certificates"
PEER_RELATION = "ingress-peers"
MESH_RELATION = "service-mesh"
SCOPE = "ingress"
ALLOWED_NAMESPACES = "allowed-requirer-namespaces"
SHOWN = 3
#: Peer app data: the gateway's last seen LoadBalancer address (for the certificate).
ADDRESS_KEY = "address"
KINDS = (
    SECRET,
    GATEWAY,
    REFERENCE_GRANT,
    HTTP_ROUTE,
    GRPC_ROUTE,
    TLS_ROUTE,
    TCP_ROUTE,
    DESTINATION_RULE,
    AUTHORIZATION_POLICY,
)


def _shown(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + ("..." if len(items) > SHOWN else "")


class IstioIngressCharm(ops.CharmBase):
    """The istio-ingress-k8s charm."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._outcome: Outcome | None = None  # set when this dispatch reconciled
        self._routes = IstioIngressRouteProvider(self, ROUTE_RELATION)
        self._ingress = IngressPerAppProvider(self, INGRESS_RELATION)
        self._cert_requests = self._certificate_requests()
        # The TLS library raises, in observers of its own, on some of what a provider
        # may write (a PEM that does not load, JSON nested too deeply): with such data
        # it is not loaded at all this time, and _tls_secret says why.
        self._certs_problem = provider_problem(self.model.get_relation(CERTS_RELATION))
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
    def _owner(self) -> str:
        return label_value(self.app.name, self.model.name)

    @property
    def _secret_name(self) -> str:
        return dns_label(self.app.name, "tls")

    def _api(self) -> Api:
        return Api.connect(
            field_manager=self._owner, namespace=self.model.name, deadline=hook_deadline(self)
        )

    def _reconciler(self, api: Api) -> Reconciler:
        return Reconciler(
            api,
            owner=self._owner,
            scope=SCOPE,
            kinds=KINDS,
            namespaces=None,  # routes go to the requirers' namespaces
            optional_kinds=OPTIONAL_KINDS,
        )

    def _gateway(self) -> GatewayConfig:
        """The gateway the config describes; raises ValueError naming a bad option."""
        hostname = str(self.config["external-hostname"]).strip() or None
        return GatewayConfig(
            name=self.app.name,
            namespace=self.model.name,
            hostname=hostname,
            http_port=_int(self.config["http-port"], "http-port"),
            https_port=_int(self.config["https-port"], "https-port"),
            log_level=str(self.config["log-level"]),
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
            gateway = self._gateway()
            allowed = parse_namespaces(str(self.config[ALLOWED_NAMESPACES]), ALLOWED_NAMESPACES)
        except ValueError as e:
            outcome.blocked.append(f"config: {e}")
            return outcome  # nothing changes until the config is right
        try:
            api = self._api()
            address = self._load_balancer_address(api)
            self._remember(address)
            secret, kept = self._tls_secret(api, outcome)
            if secret is not None or kept:
                gateway = dataclasses.replace(gateway, tls_secret=self._secret_name)
            ingress_requests = self._ingress.requests()
            asked = requirers(self.model, routes=self._routes.requests(), ingress=ingress_requests)
            found = locate(
                api,
                asked.requirers,
                model=self.model.name,
                model_uuid=self.model.uuid,
                allowed=allowed,
            )
            placement = found.placement
            plan = plan_ingress(gateway, placement.route_sets, found.waypoints)
            refused = {p.source for p in asked.problems} | placement.refused | plan.refused_sources
            for problem in (*asked.problems, *placement.problems, *plan.problems, *plan.conflicts):
                log.warning("refused: %s", problem)
            # a refused requirer keeps what it had, where it may have it
            keep = {label_value(s): placement.may_hold.get(s, frozenset()) for s in refused}
            result = self._reconciler(api).reconcile(
                [*([secret] if secret is not None else []), *plan.objects],
                keep=lambda obj: (
                    objects.namespace(obj)
                    in keep.get(objects.labels(obj).get(ROUTE_SOURCE_LABEL, ""), ())
                    or (kept and objects.name(obj) == self._secret_name)
                ),
            )
            log.info(
                "%d created, %d updated, %d deleted, %d unchanged",
                *(len(result.of(a)) for a in ("create", "update", "delete", "unchanged")),
            )
            for change in result.problems:
                where = f"{change.namespace}/{change.name}"
                outcome.blocked.append(f"{change.kind.kind} {where} not applied: {change.error}")
            host = gateway.hostname or address
            untold: list[str] = []
            if host is None:
                outcome.waiting.append("waiting for the gateway's LoadBalancer address")
            else:
                untold = self._publish(gateway, plan, host, refused, ingress_requests)
            self._describe(plan, placement.problems, refused, untold, outcome)
        except KubernetesError as e:
            outcome.blocked, outcome.waiting = [], []
            outcome.kubernetes_failed(e, self.app.name)
        return outcome

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        if self.app.planned_units() > 0:
            return  # a unit is going, not the application
        try:
            self._reconciler(self._api()).delete_all()
        except KubernetesError as e:
            log.error("could not remove everything this gateway created: %s", e)

    # -- steps -----------------------------------------------------------------------------

    def _load_balancer_address(self, api: Api) -> str | None:
        """The address of the Service Istio runs for the Gateway, once it has one."""
        service = api.get(SERVICE, f"{self.app.name}-istio", self.model.name)
        ingress: Any = ((service or {}).get("status") or {}).get("loadBalancer", {}).get("ingress")
        if not isinstance(ingress, list) or not ingress:
            return None
        first: Any = ingress[0]
        if not isinstance(first, dict):
            return None
        value = first.get("hostname") or first.get("ip")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return str(value) if value else None  # pyright: ignore[reportUnknownArgumentType]

    def _remember(self, address: str | None) -> None:
        """Keep the address in peer data: the certificate request is built from it."""
        peers = self.model.get_relation(PEER_RELATION)
        if peers is None:
            return
        data = peers.data[self.app]
        if data.get(ADDRESS_KEY, "") != (address or ""):
            if address:
                data[ADDRESS_KEY] = address
            else:
                data.pop(ADDRESS_KEY, None)

    def _certificate_requests(self) -> list[CertificateRequestAttributes]:
        """One certificate, for the external hostname or else the LoadBalancer address."""
        host = str(self.config.get("external-hostname", "")).strip()
        if not host:
            peers = self.model.get_relation(PEER_RELATION)
            host = peers.data[self.app].get(ADDRESS_KEY, "") if peers is not None else ""
        if not host:
            return []
        common_name = host if len(host) <= 64 else None
        try:
            ipaddress.ip_address(host)
        except ValueError:
            try:  # the TLS library raises, in its own observers, on a name no CA signs
                check_hostname(host, "external-hostname")
            except ValueError as e:
                log.warning("no certificate requested: %s", e)
                return []
            return [CertificateRequestAttributes(common_name=common_name, sans_dns=[host])]
        return [CertificateRequestAttributes(common_name=common_name, sans_ip=[host])]

    def _tls_secret(self, api: Api, outcome: Outcome) -> tuple[dict[str, Any] | None, bool]:
        """The TLS Secret of the provider's certificate, and whether an older one is kept.

        When the provider's data is bad, the Secret of the last good certificate (if
        there is one) is kept rather than replaced.
        """
        relation = self.model.get_relation(CERTS_RELATION)
        if relation is None:
            return None, False
        who = relation.app.name if relation.app is not None else CERTS_RELATION
        if self._certs is None:
            # Keep serving HTTPS with the last good certificate rather than turn every
            # https:// URL handed out into a broken one because of one bad write.
            live = api.get(SECRET, self._secret_name, self.model.name)
            kept = live is not None and objects.labels(live).get(OWNER_LABEL) == self._owner
            problem = f"certificates: {who} sent bad data ({self._certs_problem})"
            if kept:
                outcome.notes.append(f"{problem}; kept the last good certificate")
            else:
                outcome.blocked.append(f"{problem}; serving HTTP")
            log.error("%s", problem)
            return None, kept
        requests = self._cert_requests
        if not requests:
            outcome.waiting.append("waiting for a hostname or address to request TLS for")
            return None, False
        certificate, key = self._certs.get_assigned_certificate(requests[0])
        if certificate is None or key is None:
            outcome.waiting.append(f"waiting for a TLS certificate from {who}")
            return None, False
        leaf = str(certificate.certificate)
        chain = [leaf, *(str(c) for c in certificate.chain if str(c) != leaf)]
        secret = tls_secret(self._secret_name, self.model.name, "\n".join(chain), str(key))
        return secret, False

    def _publish(
        self,
        gateway: GatewayConfig,
        plan: IngressPlan,
        host: str,
        refused: set[str],
        ingress_requests: list[IngressRequest],
    ) -> list[str]:
        """Tell requirers where their served routes are; return what could not be told.

        A requirer none of whose routes is served is told nothing (its data is wiped);
        one whose input was refused keeps what it was told before, as it keeps its
        routes.
        """
        untold: list[str] = []
        if self.model.relations[ROUTE_RELATION]:
            self._routes.update_ingress_address(external_host=host, tls_enabled=gateway.tls)
        for relation in self.model.relations[ROUTE_RELATION]:
            if plan.served.get(f"{ROUTE_RELATION}:{relation.id}") == ():
                self._routes.wipe_ingress_data(relation)
        for request in ingress_requests:
            source = f"{INGRESS_RELATION}:{request.relation_id}"
            relation = self.model.get_relation(INGRESS_RELATION, request.relation_id)
            if relation is None or source in refused:
                continue
            url = web_url(gateway, host, request.model, request.name)
            if url is not None and plan.served.get(source):
                self._ingress.publish_url(relation, url)
                continue
            self._ingress.wipe_ingress_data(relation)
            if url is None:
                untold.append(request.name)
        return untold

    def _describe(
        self,
        plan: IngressPlan,
        misplaced: tuple[Problem, ...],
        refused: set[str],
        untold: list[str],
        outcome: Outcome,
    ) -> None:
        served = [s for s, names in plan.served.items() if names]
        routes = sum(len(names) for names in plan.served.values())
        outcome.notes.append(f"{routes} routes served for {len(served)} requirers")
        if untold:
            outcome.notes.append(f"no URL for {_shown(untold)}: external-hostname is a wildcard")
        if plan.conflicts:
            clashes = [f"{c.app} {c.route!r} vs {c.holder_app}" for c in plan.conflicts]
            outcome.notes.append(f"conflicting routes refused: {_shown(clashes)}")
        if misplaced:
            outcome.notes.append(_shown([p.message for p in misplaced]))
        rest = sorted(refused - {p.source for p in misplaced})
        if rest:
            outcome.notes.append(f"refused input from {_shown(rest)} (see juju debug-log)")

    # -- status --------------------------------------------------------------------------

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        outcome = self._outcome or shared(self.model, PEER_RELATION) or Outcome()
        add_statuses(event, outcome, "" if self.unit.is_leader() else "standby")


def _int(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{option}: {value!r} must be an integer")
    return value


if __name__ == "__main__":  # pragma: nocover
    ops.main(IstioIngressCharm)
