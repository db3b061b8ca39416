"""What an ingress gateway charm asks of its relations and tells them.

For the charms that serve requirers through a Gateway (istio-ingress-k8s,
gateway-api-integrator), beside :mod:`meshops.plan.ingress_report`, which decides it:

* :func:`certificate_requests`: the certificate to ask the ``tls-certificates``
  provider for (the external hostname, else the LoadBalancer address);
* :func:`gateway_tls`: the TLS Secret of the certificate the provider gave, or why
  there is none (waiting, or bad provider data, the last good Secret then kept);
* :func:`plan_requirers`: the requirers' routes, placed in their namespaces and
  planned onto the gateway, with what is refused and what a refused one keeps;
* :func:`wait_for_address`: the gateway's LoadBalancer address, watched for (bounded);
* :func:`cluster_digest`: what the plan read from the cluster besides its own objects;
* :func:`tell`: what each requirer is told (its URL, the gateway's host), written only
  to the relations told something else before (:class:`~meshops.charm.memory.
  Memory`): a reconcile with nothing new reads back nothing it wrote.

Example:
    >>> [sorted(r.sans_ip) for r in certificate_requests("10.0.0.9")]
    [['10.0.0.9']]
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    TLSCertificatesRequiresV4,
)

from meshops.charm.memory import Memory, digest
from meshops.charm.outcome import Outcome
from meshops.charm.placement import locate, read_namespaces, requirers, service_apps
from meshops.interfaces.ingress import IngressPerAppProvider, IngressRequest
from meshops.interfaces.istio_ingress_route import IstioIngressRouteProvider
from meshops.k8s import Api, objects
from meshops.k8s.kinds import (
    AUTHORIZATION_POLICY,
    DESTINATION_RULE,
    GATEWAY,
    GRPC_ROUTE,
    HTTP_ROUTE,
    REFERENCE_GRANT,
    SECRET,
    SERVICE,
    TCP_ROUTE,
    TLS_ROUTE,
)
from meshops.k8s.reconciler import OWNER_LABEL
from meshops.model import Problem, label_value
from meshops.model.ingress import GatewayConfig
from meshops.plan.ingress import ROUTE_SOURCE_LABEL, IngressPlan, plan_ingress, tls_secret
from meshops.plan.ingress_report import Told, certificate_subject, load_balancer_address
from meshops.plan.placement import Placement

__all__ = [
    "KINDS",
    "GatewayTLS",
    "Planned",
    "address",
    "certificate_requests",
    "cluster_digest",
    "gateway_tls",
    "plan_requirers",
    "read_cluster",
    "share_address",
    "tell",
    "wait_for_address",
]

log = logging.getLogger(__name__)
#: Every kind an ingress gateway charm's reconciler manages.
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


class _NoRelationYet(logging.Filter):
    """Drops the TLS library's "TLS relation not created yet.".

    It is a juju-log on every hook of a gateway without a certificates relation, and
    says nothing a user needs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "TLS relation not created yet."


logging.getLogger(TLSCertificatesRequiresV4.__module__).addFilter(_NoRelationYet())


def certificate_requests(host: str) -> list[CertificateRequestAttributes]:
    """One certificate request for ``host`` (a DNS name or IP); none for none.

    A name no CA signs is logged and asked for nothing: the TLS library would raise
    on it in its own observers.
    """
    try:
        subject = certificate_subject(host)
    except ValueError as e:
        log.warning("no certificate requested: %s", e)
        return []
    if subject is None:
        return []
    if subject.dns is not None:
        return [
            CertificateRequestAttributes(common_name=subject.common_name, sans_dns=[subject.dns])
        ]
    return [
        CertificateRequestAttributes(common_name=subject.common_name, sans_ip=[str(subject.ip)])
    ]


@dataclasses.dataclass(frozen=True)
class GatewayTLS:
    """The gateway's TLS Secret, or why there is none.

    Attributes:
        secret: the Secret to apply, or None.
        kept: whether the Secret applied before is kept (the provider's new data is bad).
        blocked: what needs a human, if anything.
        waiting: what a later event brings, if anything.
        note: a word for the active status, if any.
    """

    secret: dict[str, Any] | None = None
    kept: bool = False
    blocked: str = ""
    waiting: str = ""
    note: str = ""

    def report(self, outcome: Outcome) -> None:
        """Add what this says to ``outcome``."""
        outcome.blocked += [self.blocked] if self.blocked else []
        outcome.waiting += [self.waiting] if self.waiting else []
        outcome.notes += [self.note] if self.note else []


def gateway_tls(
    api: Api,
    relation: ops.Relation | None,
    certs: TLSCertificatesRequiresV4 | None,
    problem: str | None,
    requests: list[CertificateRequestAttributes],
    *,
    secret_name: str,
    namespace: str,
    owner: str,
) -> GatewayTLS:
    """The TLS Secret of the certificate on ``relation`` (``certs``), or why there is none.

    Args:
        api: Kubernetes access (to find the last good Secret).
        relation: the ``tls-certificates`` relation, if any.
        certs: the TLS library, or None when ``problem`` kept it from loading.
        problem: what is wrong with the provider's data (see
            :func:`meshops.charm.certificates.provider_problem`).
        requests: what :func:`certificate_requests` asked for.
        secret_name: the Secret's name.
        namespace: the gateway's namespace.
        owner: the owner label value of the charm's objects.
    """
    if relation is None:
        return GatewayTLS()
    who = relation.app.name
    if certs is None:
        # Keep serving HTTPS with the last good certificate rather than turn every
        # https:// URL handed out into a broken one because of one bad write.
        live = api.get(SECRET, secret_name, namespace)
        kept = live is not None and objects.labels(live).get(OWNER_LABEL) == owner
        why = f"certificates: {who} sent bad data ({problem})"
        log.error("%s", why)
        if kept:
            return GatewayTLS(kept=True, note=f"{why}; kept the last good certificate")
        return GatewayTLS(blocked=f"{why}; serving HTTP")
    if not requests:
        return GatewayTLS(waiting="waiting for a hostname or address to request TLS for")
    certificate, key = certs.get_assigned_certificate(requests[0])
    if certificate is None or key is None:
        return GatewayTLS(waiting=f"waiting for a TLS certificate from {who}")
    leaf = str(certificate.certificate)
    chain = [leaf, *(str(c) for c in certificate.chain if str(c) != leaf)]
    return GatewayTLS(secret=tls_secret(secret_name, namespace, "\n".join(chain), str(key)))


def tell(
    told: Told,
    memory: Memory,
    *,
    host: str,
    tls: bool,
    ingress: IngressPerAppProvider,
    routes: IstioIngressRouteProvider,
) -> None:
    """Write what each requirer is told where it differs from what it was told last.

    ``memory.published`` says what each relation was last told (a digest); it is
    updated, and relations gone are forgotten. A requirer left out of ``told`` (its
    input was refused) keeps what it was told.
    """
    published: dict[str, str] = dict(memory.published)
    alive: set[str] = set()
    for relation in ingress.relations:
        alive.add(str(relation.id))
        source = f"{relation.name}:{relation.id}"
        if source not in told.urls:
            continue
        url = told.urls[source]
        if published.get(str(relation.id)) != (now := digest(url)):
            if url is not None:
                ingress.publish_url(relation, url)
            else:
                ingress.wipe_ingress_data(relation)
            published[str(relation.id)] = now
    for relation in routes.relations:
        alive.add(str(relation.id))
        serve = told.hosts.get(f"{relation.name}:{relation.id}", True)
        if published.get(str(relation.id)) != (now := digest(host, tls, serve)):
            if serve:
                routes.update_ingress_address(
                    external_host=host, tls_enabled=tls, relations=[relation]
                )
            else:
                routes.wipe_ingress_data(relation)
            published[str(relation.id)] = now
    memory.published = {k: v for k, v in published.items() if k in alive}


@dataclasses.dataclass(frozen=True)
class Planned:
    """What :func:`plan_requirers` found.

    Attributes:
        plan: the gateway's objects and what is served.
        placement: where each requirer's routes go, and who was refused.
        ingress: the ingress v2 requests, as read.
        requirers: how many requirers there are.
        problems: every problem found (each logged once as a warning).
        refused: the requirers whose input was refused.
        keeps: for each refused requirer's source label value, the namespaces where it
            keeps the objects it had.
        namespaces: the namespaces read to place the requirers (None: none read).
        services: the Services' applications read, by namespace.
        models: each relation's remote model UUID, by relation id (as Juju said).
        query: what was read of the namespaces (model UUIDs, names asked for).
    """

    plan: IngressPlan
    placement: Placement
    ingress: tuple[IngressRequest, ...]
    requirers: int
    problems: tuple[Problem, ...]
    refused: frozenset[str]
    keeps: Mapping[str, frozenset[str]]
    namespaces: tuple[Mapping[str, Any], ...] | None
    services: Mapping[str, Mapping[str, str]]
    models: Mapping[str, str]
    query: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def keep(self, obj: Mapping[str, Any]) -> bool:
        """Whether an owned object no longer wanted is kept (a refused requirer's)."""
        source = objects.labels(obj).get(ROUTE_SOURCE_LABEL, "")
        return objects.namespace(obj) in self.keeps.get(source, ())


def plan_requirers(
    model: ops.Model,
    api: Api,
    gateway: GatewayConfig,
    *,
    routes: IstioIngressRouteProvider,
    ingress: IngressPerAppProvider,
    allowed: frozenset[str],
    models: Mapping[str, str] | None = None,
) -> Planned:
    """Read every requirer once, place it in its namespace and plan the gateway for all.

    Each problem (bad input, a namespace it may not use, a conflict) is logged once.
    ``models``: remote model UUIDs known already, by relation id (not asked of Juju
    again: a relation's remote model never changes).
    """
    ingress_requests = ingress.requests()
    route_requests = routes.requests()
    asked = requirers(model, routes=route_requests, ingress=ingress_requests, known_models=models)
    # (the libraries logged what they could not read already: one line per problem)
    logged = {id(p) for r in (*route_requests, *ingress_requests) for p in r.problems}
    found = locate(api, asked.requirers, model=model.name, model_uuid=model.uuid, allowed=allowed)
    placement = found.placement
    plan = plan_ingress(gateway, placement.route_sets, found.waypoints)
    refused = {p.source for p in asked.problems} | placement.refused | plan.refused_sources
    problems = (*asked.problems, *placement.problems, *plan.problems)
    for problem in (*problems, *plan.conflicts):
        if id(problem) not in logged:
            log.warning("refused: %s", problem)
    # a refused requirer keeps what it had, where it may have it
    keeps = {label_value(s): placement.may_hold.get(s, frozenset()) for s in refused}
    return Planned(
        plan,
        placement,
        tuple(ingress_requests),
        len(asked.requirers),
        problems,
        frozenset(refused),
        keeps,
        found.namespaces,
        found.services,
        {r.source.rsplit(":", 1)[1]: r.model_uuid for r in asked.requirers if r.model_uuid},
        found.query,
    )


def address(api: Api, service: str | None, namespace: str) -> str | None:
    """The LoadBalancer address of ``service`` now (None for no Service, or no address)."""
    return load_balancer_address(api.get(SERVICE, service, namespace)) if service else None


def share_address(model: ops.Model, peer_relation: str, key: str, address: str | None) -> None:
    """Keep the gateway's address in the peer relation (the certificate is asked for it)."""
    peers = model.get_relation(peer_relation)
    if peers is not None and peers.data[model.app].get(key, "") != (address or ""):
        if address:
            peers.data[model.app][key] = address
        else:
            del peers.data[model.app][key]


def wait_for_address(api: Api, service: str, namespace: str) -> str | None:
    """The LoadBalancer address of ``service``, watched for (bounded) until it has one."""
    found, _ = api.wait_for(
        SERVICE, service, namespace, lambda svc: load_balancer_address(svc) is not None
    )
    return load_balancer_address(found)


def cluster_digest(
    namespaces: Sequence[Mapping[str, Any]] | None,
    services: Mapping[str, Mapping[str, str]],
    address: str | None,
) -> str:
    """A digest of what a plan read from the cluster besides its own objects.

    The namespaces (names, labels and annotations: where each model is; None when
    none were read), the applications of the Services in the namespaces requirers may
    use, and the gateway's address: what changes without a Juju event.
    """
    seen = [(objects.name(n), objects.labels(n), objects.annotations(n)) for n in namespaces or ()]
    return digest(namespaces is not None, seen, sorted(services.items()), address)


def read_cluster(
    api: Api,
    *,
    namespaces: bool,
    wanted: Sequence[str],
    query: tuple[Sequence[str], Sequence[str]] = ((), ()),
) -> tuple[list[dict[str, Any]] | None, dict[str, dict[str, str]]]:
    """Read again what :func:`meshops.charm.placement.locate` read.

    The namespaces (if ``namespaces``, as ``query`` says: :attr:`Planned.query`) and the
    Services' applications of ``wanted``.
    """
    listed = read_namespaces(api, *query) if namespaces else None
    return listed, {ns: service_apps(api.list(SERVICE, ns)) for ns in wanted}
