"""What the gateway-api-integrator decides beside the ingress plan: class, TLS, HTTPS mode.

The charm serves ingress through whatever Gateway API implementation the cluster runs.
These pure functions turn what it reads (its config, the cluster's GatewayClasses, which
hostnames have a certificate) into a :class:`~meshops.model.ingress.GatewayConfig` for
:func:`meshops.plan.ingress.plan_ingress`, and say what each requirer is told.

Example:
    >>> classes = {"cilium": "io.cilium/gateway-controller"}
    >>> gateway_class("cilium", classes)
    False
    >>> gateway_class("nginx", classes)
    Traceback (most recent call last):
    ...
    ValueError: gateway-class: 'nginx' is not a GatewayClass of this cluster; set it to one of: cilium
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meshops.model.ingress import GatewayConfig, check_hostname
from meshops.model.names import dns_label
from meshops.model.problems import Problem
from meshops.plan.ingress import IngressPlan
from meshops.plan.ingress_report import shown

__all__ = [
    "ISTIO_CONTROLLER",
    "certificate_hostnames",
    "dns_hostnames",
    "gateway_address",
    "gateway_class",
    "gateway_classes",
    "gateway_config",
    "hostname_answers",
    "https_mode",
    "secret_name",
    "summary",
]

#: The controllerName of the GatewayClasses Istio programs.
ISTIO_CONTROLLER = "istio.io/gateway-controller"


def gateway_classes(objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each GatewayClass's name, with its ``spec.controllerName``."""
    found: dict[str, str] = {}
    for obj in objects:
        meta: Mapping[str, Any] = obj.get("metadata") or {}
        spec: Mapping[str, Any] = obj.get("spec") or {}
        name, controller = meta.get("name"), spec.get("controllerName")
        if isinstance(name, str):
            found[name] = controller if isinstance(controller, str) else ""
    return found


def gateway_class(configured: str, classes: Mapping[str, str]) -> bool:
    """Check ``configured`` against the cluster's GatewayClasses; whether Istio runs it.

    Raises:
        ValueError: it is unset or not there, saying what to set it to.
    """
    there = ", ".join(sorted(classes))
    if not classes:
        raise ValueError(
            "gateway-class: this cluster has no GatewayClass; install a Gateway API "
            "implementation (e.g. Cilium, Envoy Gateway, Istio, NGINX Gateway Fabric)"
        )
    if not configured:
        raise ValueError(f"gateway-class: not set; set it to one of: {there}")
    if configured not in classes:
        raise ValueError(
            f"gateway-class: {configured!r} is not a GatewayClass of this cluster; "
            f"set it to one of: {there}"
        )
    return classes[configured] == ISTIO_CONTROLLER


def secret_name(app: str, hostname: str) -> str:
    """The name of the ``kubernetes.io/tls`` Secret of ``hostname``'s certificate.

    Example:
        >>> secret_name("gw", "shop.example.com")[:10]
        'gw-tls-sho'
    """
    return dns_label(app, "tls", hostname.replace("*", "wildcard"))


def certificate_hostnames(external: str | None, claimed: Iterable[str]) -> list[str]:
    """The hostnames to ask certificates for: the external one and every claimed one.

    Those that are no hostname a CA signs are left out (the TLS library would raise).
    """
    wanted: set[str] = set()
    for hostname in (*([external] if external else []), *claimed):
        try:
            wanted.add(check_hostname(hostname, "hostname"))
        except ValueError:
            continue
    return sorted(wanted)


def https_mode(enforce: bool, certified: bool) -> str:
    """What a gateway-route requirer is told: ``disabled``, ``enabled`` or ``enforced``.

    ``certified``: every hostname it holds has its certificate (until then it is served
    over HTTP only, and told so).

    Example:
        >>> https_mode(True, False), https_mode(False, True), https_mode(True, True)
        ('disabled', 'enabled', 'enforced')
    """
    if not certified:
        return "disabled"
    return "enforced" if enforce else "enabled"


def gateway_config(
    app: str,
    model: str,
    config: Mapping[str, object],
    classes: Mapping[str, str],
    *,
    certificates: bool,
    ingress_requirers: bool,
) -> GatewayConfig:
    """The gateway the charm's config describes, checked against the cluster's classes.

    Args:
        app: the charm's application (the Gateway's name).
        model: its model (the Gateway's namespace).
        config: the charm's config.
        classes: the cluster's GatewayClasses (:func:`gateway_classes`).
        certificates: whether a certificates relation exists.
        ingress_requirers: whether any ingress requirer is related.

    Raises:
        ValueError: what to set, naming the option and quoting the value.
    """
    enforce = config.get("enforce-https", True)
    age = config.get("hsts-max-age", 31536000)
    if not isinstance(enforce, bool):
        raise ValueError(f"enforce-https: {enforce!r} must be true or false")
    if isinstance(age, bool) or not isinstance(age, int):
        raise ValueError(f"hsts-max-age: {age!r} must be an integer of seconds, 0 or more")
    if enforce and not certificates:
        raise ValueError("relate a certificates provider, or set enforce-https=false")
    configured = str(config.get("gateway-class", "")).strip()
    istio = gateway_class(configured, classes)
    hostname = str(config.get("external-hostname", "")).strip() or None
    gateway = GatewayConfig(
        name=app,
        namespace=model,
        hostname=hostname,
        gateway_class=configured,
        istio=istio,
        redirect_http=enforce,
        hsts_max_age=age,
    )
    if enforce and hostname is None and ingress_requirers:
        raise ValueError(
            "set external-hostname (gateway requirers are served over HTTPS under it), "
            "or set enforce-https=false"
        )
    return gateway


def gateway_address(gateway: Mapping[str, Any] | None) -> str | None:
    """The first address the implementation gave a Gateway (in its status), if any."""
    status: Mapping[str, Any] = (gateway or {}).get("status") or {}
    addresses: Any = status.get("addresses")
    if not isinstance(addresses, list) or not addresses:
        return None
    first: Any = addresses[0]  # pyright: ignore[reportUnknownVariableType]
    value = first.get("value") if isinstance(first, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return value if isinstance(value, str) and value else None


def hostname_answers(
    gateway: GatewayConfig, plan: IngressPlan, certified: Iterable[str]
) -> dict[str, tuple[str, int | None]]:
    """For each requirer holding hostnames: its HTTPS mode and HSTS max-age (when enforced)."""
    have = set(certified)
    held: dict[str, list[str]] = {}
    for hostname, source in plan.hostnames.items():
        held.setdefault(source, []).append(hostname)
    answers: dict[str, tuple[str, int | None]] = {}
    for source, hostnames in held.items():
        mode = https_mode(gateway.redirect_http, set(hostnames) <= have)
        hsts = gateway.hsts_max_age or None if mode == "enforced" else None
        answers[source] = (mode, hsts)
    return answers


def dns_hostnames(gateway: GatewayConfig, plan: IngressPlan) -> list[str]:
    """The hostnames that get a DNS record: the external one (no wildcard), and those held."""
    names = [gateway.hostname] if gateway.hostname and "*" not in gateway.hostname else []
    return sorted({*names, *plan.hostnames})


def summary(
    plan: IngressPlan, problems: Sequence[Problem], address: str | None, web_endpoint: str
) -> list[str]:
    """What the active status says: what is served, and what was refused and why."""
    apps = sum(1 for k, v in plan.served.items() if k.startswith(f"{web_endpoint}:") and v)
    notes = [f"{apps} apps and {len(plan.hostnames)} hostnames served at {address or '?'}"]
    if plan.conflicts:
        clashes = [f"{c.app} {c.route!r} vs {c.holder_app}" for c in plan.conflicts]
        notes.append(f"conflicts refused: {shown(clashes)}")
    if problems:
        notes.append(f"refused: {shown([str(p) for p in problems])}")
    return notes
