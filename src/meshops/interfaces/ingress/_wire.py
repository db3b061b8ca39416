"""The ingress v2 wire: databag keys, value checks, and the models that write databags.

Every databag value is JSON-encoded. The requirer's app databag holds ``model``,
``name`` and ``port``, plus ``is_port_open``, ``healthcheck_params``, ``strip-prefix``,
``redirect-https`` and ``scheme`` when they differ from their defaults (``false``, none,
``false``, ``false``, ``"http"``; in ``healthcheck_params`` too, only what differs from
the defaults is written); each of its units
writes ``host`` and, when known, ``ip``. The provider's app databag holds ``ingress``,
a JSON object ``{"url": ...}``.

The models' :meth:`databag` methods produce, byte for byte, what traefik-k8s's
``charms.traefik_k8s.v2.ingress`` (pydantic 2) writes: ``json.dumps`` of each value of
``model_dump(mode="json", by_alias=True, exclude_defaults=True)``. The URL is an
:class:`pydantic.AnyHttpUrl`, so it is normalised the same way (``http://10.0.0.1``
becomes ``http://10.0.0.1/``). The models are frozen and ignore unknown keys; they are
for writing and for :meth:`IngressPerAppProvider.get_data`; reading what a remote app
wrote goes through :func:`meshops.interfaces.ingress.read_request`, which never raises.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from typing import Annotated, Literal

import pydantic

__all__ = [
    "APP_KEYS",
    "DEFAULT_RELATION_NAME",
    "RELATION_INTERFACE",
    "SCHEMES",
    "IngressHealthCheck",
    "IngressProviderAppData",
    "IngressRequirerAppData",
    "IngressRequirerData",
    "IngressRequirerUnitData",
    "IngressUrl",
    "Scheme",
    "is_dns_label",
    "is_host",
    "is_ip",
]

DEFAULT_RELATION_NAME = "ingress"
RELATION_INTERFACE = "ingress"

Scheme = Literal["http", "https", "h2c"]
"""How the proxy talks to the backend: plain HTTP, TLS, or HTTP/2 without TLS."""
SCHEMES: tuple[Scheme, ...] = ("http", "https", "h2c")

MODEL_KEY = "model"
NAME_KEY = "name"
PORT_KEY = "port"
IS_PORT_OPEN_KEY = "is_port_open"
HEALTHCHECK_KEY = "healthcheck_params"
STRIP_PREFIX_KEY = "strip-prefix"
REDIRECT_HTTPS_KEY = "redirect-https"
SCHEME_KEY = "scheme"
APP_KEYS = (MODEL_KEY, NAME_KEY, PORT_KEY, STRIP_PREFIX_KEY, REDIRECT_HTTPS_KEY, SCHEME_KEY)
"""The requirer app databag's keys a provider reads (one of them present: a request)."""
OPTIONAL_APP_KEYS = (IS_PORT_OPEN_KEY, HEALTHCHECK_KEY)
"""Keys the traefik library also writes, which the istio-ingress-k8s charm does not act on."""
HOST_KEY = "host"
IP_KEY = "ip"
UNIT_KEYS = (HOST_KEY, IP_KEY)
INGRESS_KEY = "ingress"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Host names as resolvers accept them: letters, digits, '-' and '_' (Kubernetes and some
# DNS setups use '_'), dot-separated labels of at most 63, a trailing dot allowed.
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?")

_WIRE = pydantic.ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

Port = Annotated[int, pydantic.Strict(), pydantic.Field(ge=1, le=65535)]
Flag = Annotated[bool, pydantic.Strict()]


def is_dns_label(value: str) -> bool:
    """Whether ``value`` is an RFC 1123 label: 1-63 of ``a-z0-9-``, alphanumeric at both ends.

    Example:
        >>> is_dns_label("my-app"), is_dns_label("My_App"), is_dns_label("-x")
        (True, False, False)
    """
    return len(value) <= 63 and _DNS_LABEL.fullmatch(value) is not None


def is_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_host(value: str) -> bool:
    """Whether ``value`` is a host name (up to 253 characters) or an IP address.

    Example:
        >>> is_host("shop-0.shop-endpoints.prod.svc.cluster.local"), is_host("10.1.2.3")
        (True, True)
        >>> is_host("a b"), is_host("")
        (False, False)
    """
    if is_ip(value):
        return True
    name = value.removesuffix(".")
    return 0 < len(name) <= 253 and all(
        len(label) <= 63 and _HOST_LABEL.fullmatch(label) is not None for label in name.split(".")
    )


def _check_label(value: str, what: str) -> str:
    if not is_dns_label(value):
        raise ValueError(
            f"{what} {value!r} must be a DNS label (1-63 characters of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit)"
        )
    return value


def _dump(model: pydantic.BaseModel) -> dict[str, str]:
    """``json.dumps`` of each non-default field, by alias: the traefik library's encoding."""
    dumped = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return {key: json.dumps(value) for key, value in dumped.items()}


class IngressHealthCheck(pydantic.BaseModel):
    """How the proxy checks the app's health, as the traefik library's ``healthcheck_params``.

    Attributes:
        path: the path to request (required).
        scheme: the scheme to check with, instead of the app's.
        hostname: the Host header of the check.
        port: the port to check, instead of the app's.
        interval: how often to check, as a duration (``"30s"``).
        timeout: how long a check may take (``"5s"``).

    Example:
        >>> IngressHealthCheck(path="/healthz").model_dump(exclude_defaults=True)
        {'path': '/healthz'}
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    path: str
    scheme: str | None = None
    hostname: str | None = None
    # A lax int, as the traefik library's: "8080" and 8080.0 are port 8080.
    port: Annotated[int, pydantic.Field(ge=1, le=65535)] | None = None
    interval: str = "30s"
    timeout: str = "5s"


class IngressRequirerAppData(pydantic.BaseModel):
    """The requirer's app databag: which app wants ingress, and how.

    Attributes:
        model: the requirer's model (the namespace of its Service).
        name: the requirer's application name (its Service's name).
        port: the port of its Service to route to.
        is_port_open: whether the unit has opened ``port`` (``ops.Unit.opened_ports``).
        healthcheck_params: how the proxy should check the app's health.
        strip_prefix: strip the ``/<model>-<name>`` path prefix before forwarding.
        redirect_https: redirect plain HTTP requests to HTTPS.
        scheme: how the proxy talks to the backend.

    Example:
        >>> IngressRequirerAppData(model="prod", name="shop", port=8080).databag()
        {'model': '"prod"', 'name': '"shop"', 'port': '8080'}
    """

    model_config = _WIRE

    model: str
    name: str
    port: Port
    is_port_open: Flag = False
    healthcheck_params: IngressHealthCheck | None = None
    strip_prefix: Flag = pydantic.Field(default=False, alias=STRIP_PREFIX_KEY)
    redirect_https: Flag = pydantic.Field(default=False, alias=REDIRECT_HTTPS_KEY)
    scheme: Scheme = "http"

    @pydantic.field_validator("model", "name")
    @classmethod
    def _check_names(cls, value: str, info: pydantic.ValidationInfo) -> str:
        return _check_label(value, info.field_name or "name")

    def databag(self) -> dict[str, str]:
        """The databag content; fields left at their defaults are left out."""
        return _dump(self)


class IngressRequirerUnitData(pydantic.BaseModel):
    """One requirer unit's databag: where that unit can be reached.

    Attributes:
        host: the unit's host name (or address).
        ip: the unit's IP address, when known.

    Example:
        >>> IngressRequirerUnitData(host="shop-0.shop-endpoints").databag()
        {'host': '"shop-0.shop-endpoints"'}
    """

    model_config = _WIRE

    host: str
    ip: str | None = None

    @pydantic.field_validator("host")
    @classmethod
    def _check_host(cls, host: str) -> str:
        if not is_host(host):
            raise ValueError(f"host {host!r} must be a host name or an IP address")
        return host

    @pydantic.field_validator("ip")
    @classmethod
    def _check_ip(cls, ip: str | None) -> str | None:
        if ip is not None and not is_ip(ip):
            raise ValueError(f"ip {ip!r} must be an IPv4 or IPv6 address")
        return ip

    def databag(self) -> dict[str, str]:
        """The databag content; ``ip`` is left out when unknown."""
        return _dump(self)


class IngressUrl(pydantic.BaseModel):
    """Where the provider serves the requirer: an absolute ``http``/``https`` URL.

    Attributes:
        url: the URL, normalised as pydantic does (a bare host gains a ``/``).
    """

    model_config = _WIRE

    url: pydantic.AnyHttpUrl


class IngressProviderAppData(pydantic.BaseModel):
    """The provider's app databag: the requirer's URL, once there is one.

    Example:
        >>> IngressProviderAppData(ingress=IngressUrl(url="http://gw/prod-shop")).databag()
        {'ingress': '{"url": "http://gw/prod-shop"}'}
    """

    model_config = _WIRE

    ingress: IngressUrl | None = None

    def databag(self) -> dict[str, str]:
        """The databag content (empty when there is no URL)."""
        return _dump(self)


@dataclasses.dataclass(frozen=True)
class IngressRequirerData:
    """What a requirer published: its app data and the data of each unit that wrote some.

    Attributes:
        app: the app databag.
        units: the units' databags, ordered by unit number.
    """

    app: IngressRequirerAppData
    units: list[IngressRequirerUnitData]
