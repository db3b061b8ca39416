"""What an ingress gateway's reconcile reads from its settings and tells its users.

Pure, beside :mod:`meshops.plan.ingress` (which plans the objects): the gateway a
charm's options describe, the address of the LoadBalancer in front of it, what a
certificate is requested for, what each requirer is told (a URL, a host, or nothing)
and the words its status shows. Both ingress charms (istio-ingress-k8s and
gateway-api-integrator) read their settings and speak to their users through it.

Example:
    >>> gw = gateway_config("edge", "m", {"http-port": 80, "https-port": 443})
    >>> gw.http_port, gw.hostname
    (80, None)
    >>> load_balancer_address({"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}})
    '10.0.0.9'
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from meshops.model import Problem
from meshops.model.ingress import GatewayConfig, check_hostname
from meshops.plan.ingress import IngressPlan, web_url

__all__ = [
    "CertificateSubject",
    "Told",
    "WebRequirer",
    "certificate_subject",
    "gateway_config",
    "load_balancer_address",
    "notes",
    "what_to_tell",
]

#: How many names a status lists before "...".
SHOWN = 3


def shown(items: Sequence[str]) -> str:
    """The first :data:`SHOWN` of ``items``, with "..." when there are more."""
    return ", ".join(items[:SHOWN]) + ("..." if len(items) > SHOWN else "")


def _int(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{option}: {value!r} must be an integer")
    return value


def gateway_config(name: str, namespace: str, options: Mapping[str, Any]) -> GatewayConfig:
    """The gateway the options describe; raises ValueError naming a bad option.

    Options: ``external-hostname``, ``http-port``, ``https-port``, ``log-level``.
    """
    hostname = str(options.get("external-hostname", "")).strip() or None
    return GatewayConfig(
        name=name,
        namespace=namespace,
        hostname=hostname,
        http_port=_int(options.get("http-port", 80), "http-port"),
        https_port=_int(options.get("https-port", 443), "https-port"),
        log_level=str(options.get("log-level", "info")),
    )


def load_balancer_address(service: Mapping[str, Any] | None) -> str | None:
    """The first LoadBalancer address (hostname, else IP) of a Service, once it has one."""
    status: object = (service or {}).get("status")
    balancer: object = (
        cast("dict[str, object]", status).get("loadBalancer") if isinstance(status, dict) else None
    )
    ingress: object = (
        cast("dict[str, object]", balancer).get("ingress") if isinstance(balancer, dict) else None
    )
    if not isinstance(ingress, list) or not ingress:
        return None
    first: object = cast("list[object]", ingress)[0]
    if not isinstance(first, dict):
        return None
    entry = cast("dict[str, object]", first)
    value = entry.get("hostname") or entry.get("ip")
    return str(value) if value else None


@dataclasses.dataclass(frozen=True)
class CertificateSubject:
    """What the gateway's certificate is requested for.

    Attributes:
        common_name: the host, when it fits a common name (64 characters).
        dns: the DNS name, or None.
        ip: the IP address, or None.
    """

    common_name: str | None
    dns: str | None = None
    ip: str | None = None


def certificate_subject(host: str) -> CertificateSubject | None:
    """The certificate for ``host`` (a DNS name or an IP); None for none.

    Raises:
        ValueError: ``host`` is a name no CA signs (the message says why).
    """
    if not host:
        return None
    common_name = host if len(host) <= 64 else None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        check_hostname(host, "external-hostname")
        return CertificateSubject(common_name, dns=host)
    return CertificateSubject(common_name, ip=host)


@dataclasses.dataclass(frozen=True)
class WebRequirer:
    """An ingress v2 requirer, as far as telling it its URL goes.

    Attributes:
        source: ``<endpoint>:<relation id>``.
        model: its model (its URL's path starts with it).
        name: the name it asked to be served under.
    """

    source: str
    model: str
    name: str


@dataclasses.dataclass(frozen=True)
class Told:
    """What each requirer is told.

    Attributes:
        urls: for each ingress v2 requirer told something, its URL, or None to take it
            back.
        hosts: for each istio-ingress-route requirer told something, True to be told
            the host, False to take it back.
        untold: requirers served but given no URL (the hostname is a wildcard).
    """

    urls: Mapping[str, str | None]
    hosts: Mapping[str, bool]
    untold: tuple[str, ...]


def what_to_tell(
    gateway: GatewayConfig,
    plan: IngressPlan,
    host: str,
    refused: set[str],
    web: Iterable[WebRequirer],
    route_sources: Iterable[str],
) -> Told:
    """What each requirer is told, the gateway's host being ``host``.

    A requirer none of whose routes is served is told nothing (what it was told is
    taken back); one whose input was refused is left out (it keeps what it was told,
    as it keeps its routes).
    """
    urls: dict[str, str | None] = {}
    untold: list[str] = []
    for requirer in web:
        if requirer.source in refused:
            continue
        url = web_url(gateway, host, requirer.model, requirer.name)
        served = bool(plan.served.get(requirer.source))
        urls[requirer.source] = url if url is not None and served else None
        if url is None:
            untold.append(requirer.name)
    hosts = {s: plan.served.get(s) != () for s in route_sources}
    return Told(urls, hosts, tuple(untold))


def notes(
    plan: IngressPlan, misplaced: Sequence[Problem], refused: set[str], untold: Sequence[str]
) -> list[str]:
    """What the active status says of a reconcile: routes served and what was refused."""
    served = [s for s, names in plan.served.items() if names]
    routes = sum(len(names) for names in plan.served.values())
    out = [f"{routes} routes served for {len(served)} requirers"]
    if untold:
        out.append(f"no URL for {shown(list(untold))}: external-hostname is a wildcard")
    if plan.conflicts:
        clashes = [f"{c.app} {c.route!r} vs {c.holder_app}" for c in plan.conflicts]
        out.append(f"conflicting routes refused: {shown(clashes)}")
    if misplaced:
        out.append(shown([p.message for p in misplaced]))
    rest = sorted(refused - {p.source for p in misplaced})
    if rest:
        out.append(f"refused input from {shown(rest)} (see juju debug-log)")
    return out
