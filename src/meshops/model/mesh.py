"""Mesh authorization: who may call which workload, on which ports, methods and paths.

These are the domain types behind the ``service_mesh`` relation and the platform file's
``accepts`` lists. They validate themselves on construction (raising :class:`ValueError`
whose message names the field and quotes the value), so anything holding one can trust it.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping

from meshops.model.paths import check_policy_path

__all__ = [
    "APP_NAME_LABEL",
    "Endpoint",
    "MeshPolicy",
    "Method",
    "TargetType",
    "check_host",
    "check_label",
    "check_method",
    "check_name",
    "check_namespace",
    "check_port",
]

# A Kubernetes label key: optional DNS-subdomain prefix and '/', then a name of 1-63.
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
# What Istio accepts in an AuthorizationPolicy operation's hosts: a host with an optional
# port, or a leading/trailing '*' wildcard.  No whitespace, no control characters.
_HOST = re.compile(r"^(\*|\*?[A-Za-z0-9.:\[\]_-]+\*?)$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


#: The label Juju (and the Kubernetes conventions) put on an application's pods and Services.
APP_NAME_LABEL = "app.kubernetes.io/name"


class Method(str, enum.Enum):
    """An HTTP method, as the ecosystem's service_mesh interface spells it."""

    connect = "CONNECT"
    delete = "DELETE"
    get = "GET"
    head = "HEAD"
    options = "OPTIONS"
    patch = "PATCH"
    post = "POST"
    put = "PUT"
    trace = "TRACE"


class TargetType(str, enum.Enum):
    """What a policy protects: the app's Service (L7, at the waypoint) or its pods (L4)."""

    app = "app"
    unit = "unit"


def check_label(key: object, value: object, field: str) -> tuple[str, str]:
    """Return ``(key, value)`` if they make a valid Kubernetes label, else raise naming it."""
    if not isinstance(key, str) or not isinstance(value, str):
        raise ValueError(f"{field}: label {key!r}: {value!r} must be strings")
    prefix = key.rpartition("/")[0]  # (the pattern holds the name after it)
    if not _LABEL_KEY.fullmatch(key) or len(prefix) > 253:
        raise ValueError(f"{field}: label key {key!r} is not a valid Kubernetes label key")
    if not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"{field}: {value!r} is not a valid Kubernetes label value")
    return key, value


def check_port(port: object, field: str) -> int:
    """Return ``port`` if it is an int in 1-65535, else raise naming ``field``."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{field}: port {port!r} must be an integer 1-65535")
    return port


def check_host(host: object, field: str) -> str:
    """Return ``host`` if it is a host (optionally ``:port``, with a '*' at one end)."""
    if not isinstance(host, str) or not _HOST.fullmatch(host) or len(host) > 253:
        raise ValueError(f"{field}: host {host!r} must be a host name, optionally with a port")
    return host


def check_method(method: object, field: str) -> Method:
    """Return ``method`` as a :class:`Method`, else raise listing the known ones."""
    try:
        return Method(method)
    except ValueError:
        known = ", ".join(m.value for m in Method)
        raise ValueError(f"{field}: method {method!r} is not one of {known}") from None


def check_name(value: object, field: str) -> str:
    """Return ``value`` if it is a Kubernetes object name (an RFC 1123 subdomain).

    Application, service-account and Service names all become parts of Kubernetes
    names and of SPIFFE identities, so they must be lowercase letters, digits, '-' and
    '.', start and end with a letter or digit, and hold at most 253 characters. This
    also keeps out '*', which Istio would read as a wildcard in a principal.
    """
    return _check_dns(
        value, field, _SUBDOMAIN, 253, "name", "lowercase letters, digits, '-' and '.'"
    )


def check_namespace(value: object, field: str) -> str:
    """Return ``value`` if it is a namespace name (an RFC 1123 label, at most 63)."""
    return _check_dns(
        value, field, _DNS_LABEL, 63, "namespace", "lowercase letters, digits and '-'"
    )


def _check_dns(
    value: object, field: str, pattern: re.Pattern[str], limit: int, what: str, chars: str
) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: {value!r} must be a non-empty string")
    if len(value) > limit or not pattern.fullmatch(value):
        raise ValueError(
            f"{field}: {value!r} is not a valid {what} ({chars}, "
            f"starting and ending with a letter or digit, at most {limit})"
        )
    return value


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A set of requests: any host/port/method/path listed (an empty tuple means any).

    Attributes:
        hosts: ``Host`` header values.
        ports: destination ports.
        methods: HTTP methods.
        paths: HTTP paths; ``/api/*`` is a prefix, ``*.json`` a suffix.
    """

    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    methods: tuple[Method, ...] = ()
    paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for i, port in enumerate(self.ports):
            check_port(port, f"ports[{i}]")
        for i, method in enumerate(self.methods):
            # the type says Method, but data from outside may say otherwise
            if not isinstance(method, Method):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"methods[{i}]: {method!r} is not a Method")
        for i, path in enumerate(self.paths):
            check_policy_path(path, f"paths[{i}]")
        for i, host in enumerate(self.hosts):
            check_host(host, f"hosts[{i}]")

    @property
    def is_l7(self) -> bool:
        """Whether this endpoint needs an L7 proxy (a waypoint) to be enforced."""
        return bool(self.hosts or self.methods or self.paths)


@dataclasses.dataclass(frozen=True)
class MeshPolicy:
    """Allow ``source`` to call ``target`` on ``endpoints``.

    An app policy (``target_type=app``) protects the target's Service and is enforced
    at the waypoint, so it may use hosts, methods and paths. A unit policy
    (``target_type=unit``) protects the target's pods and is enforced by ztunnel, which
    only sees ports.

    Attributes:
        source_namespace: the caller's namespace (its Juju model).
        source_app_name: the calling application.
        target_namespace: the called application's namespace.
        target_type: app or unit (see above).
        target_app_name: the called application.
        target_service: the Service to protect, when not named after the application.
        target_selector_labels: for unit policies, the pods to protect, instead of the app.
        endpoints: what may be called; an app policy needs at least one.
        source_service_account: the caller's service account (default: the app's name,
            as Juju creates it).
    """

    source_namespace: str
    source_app_name: str
    target_namespace: str
    target_type: TargetType = TargetType.app
    target_app_name: str | None = None
    target_service: str | None = None
    target_selector_labels: tuple[tuple[str, str], ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    source_service_account: str | None = None

    def __post_init__(self) -> None:
        check_namespace(self.source_namespace, "source_namespace")
        check_name(self.source_app_name, "source_app_name")
        check_namespace(self.target_namespace, "target_namespace")
        if self.source_service_account is not None:
            check_name(self.source_service_account, "source_service_account")
        for field in ("target_app_name", "target_service"):
            value = getattr(self, field)
            if value is not None:
                check_name(value, field)
        for key, value in self.target_selector_labels:
            check_label(key, value, "target_selector_labels")
        if self.target_type is TargetType.app:
            self._check_app_policy()
        else:
            self._check_unit_policy()

    def _check_app_policy(self) -> None:
        if not (self.target_app_name or self.target_service):
            raise ValueError(
                "target_app_name: an app policy needs target_app_name or target_service"
            )
        if self.target_selector_labels:
            raise ValueError("target_selector_labels: an app policy cannot select pods by label")
        if not self.endpoints:
            raise ValueError("endpoints: an app policy needs at least one endpoint")

    def _check_unit_policy(self) -> None:
        if self.target_app_name and self.target_selector_labels:
            raise ValueError(
                "target_selector_labels: a unit policy takes target_app_name "
                "or target_selector_labels, not both"
            )
        if not (self.target_app_name or self.target_selector_labels):
            raise ValueError(
                "target_app_name: a unit policy needs target_app_name or target_selector_labels"
            )
        if self.target_service:
            raise ValueError("target_service: a unit policy protects pods, not a Service")

    @property
    def service(self) -> str:
        """The Service an app policy protects (``target_service``, else the app's name)."""
        return self.target_service or self.target_app_name or ""

    @property
    def selector(self) -> Mapping[str, str]:
        """The pod labels a unit policy selects (Juju labels pods with the app's name)."""
        if self.target_selector_labels:
            return dict(self.target_selector_labels)
        return {APP_NAME_LABEL: self.target_app_name or ""}

    @property
    def service_account(self) -> str:
        """The caller's service account."""
        return self.source_service_account or self.source_app_name
