"""Ingress: which requests reaching the gateway go to which backend, and how.

These are the domain types behind the ``ingress`` (v2) and ``istio_ingress_route``
relations and the platform file's ``ingress`` section. Like :mod:`meshops.model.mesh`
they validate themselves on construction, raising :class:`ValueError` whose message
names the field and quotes the value, and they check what the Gateway API's own schema
would refuse (the CRDs' CEL rules included), so a route that constructs also renders.

A :class:`Route` asks for a port and an application protocol; the gateway decides the
listener (see :mod:`meshops.plan.ingress`): HTTP and gRPC are upgraded to HTTPS when
the gateway has TLS, TCP is forwarded as is, and TLS is passed through by SNI.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re

from meshops.model.mesh import Method, check_port
from meshops.model.paths import check_path
from meshops.model.regex import Regex, check_regex

__all__ = [
    "LOG_LEVELS",
    "Backend",
    "Filter",
    "GRPCMatch",
    "GatewayConfig",
    "GatewayProtocol",
    "HTTPMatch",
    "HeaderMatch",
    "HeaderMatchType",
    "HeaderModifier",
    "Match",
    "PathMatch",
    "PathMatchType",
    "PathModifier",
    "PathModifierType",
    "Protocol",
    "RequestRedirect",
    "Route",
    "URLRewrite",
    "check_hostname",
    "check_route_name",
    "hostnames_intersect",
]

# Gateway API's Hostname: an RFC 1123 subdomain, optionally with a leading "*." label.
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ROUTE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# RFC 7230 token: what an HTTP header name may hold.
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
_GRPC_SERVICE = re.compile(r"^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$")
_GRPC_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A Service's name: an RFC 1035 label (starts with a letter).
_SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

#: Envoy's log levels, which the gateway's proxy accepts.
LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "critical", "off")
#: Limits from the Gateway API CRDs.
MAX_HOSTNAMES = 16
MAX_MATCHES = 64
MAX_BACKENDS = 16
MAX_FILTERS = 16
MAX_WEIGHT = 1_000_000


class Protocol(str, enum.Enum):
    """What a route carries, as a requirer asks for it.

    HTTP and GRPC become HTTPRoutes and GRPCRoutes on an HTTP listener (HTTPS when the
    gateway has TLS); TCP becomes a TCPRoute; TLS becomes a TLSRoute on a passthrough
    listener, chosen by SNI (the backend terminates TLS itself).
    """

    HTTP = "HTTP"
    GRPC = "GRPC"
    TCP = "TCP"
    TLS = "TLS"

    @property
    def route_kind(self) -> str:
        """The Gateway API kind this protocol's routes are."""
        return {"HTTP": "HTTPRoute", "GRPC": "GRPCRoute", "TCP": "TCPRoute", "TLS": "TLSRoute"}[
            self.value
        ]


class GatewayProtocol(str, enum.Enum):
    """A Gateway listener's protocol."""

    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TLS = "TLS"
    TCP = "TCP"


class PathMatchType(str, enum.Enum):
    """How a request path is compared: whole, by '/'-separated prefix, or by regex."""

    Exact = "Exact"
    PathPrefix = "PathPrefix"
    RegularExpression = "RegularExpression"


class HeaderMatchType(str, enum.Enum):
    """How a header value is compared."""

    Exact = "Exact"
    RegularExpression = "RegularExpression"


class PathModifierType(str, enum.Enum):
    """How a rewrite or redirect changes the path."""

    ReplaceFullPath = "ReplaceFullPath"
    ReplacePrefixMatch = "ReplacePrefixMatch"


def check_hostname(hostname: object, field: str, *, wildcard: bool = True) -> str:
    """Return ``hostname`` if it is a Gateway API hostname, else raise naming ``field``.

    A hostname is a lowercase RFC 1123 name of at most 253 characters; a leading
    ``*.`` label is a wildcard (when ``wildcard``). IP addresses are not hostnames.

    Example:
        >>> check_hostname("*.example.com", "hostname")
        '*.example.com'
    """
    allowed = "with an optional leading '*.'" if wildcard else "without wildcards"
    bad = f"{field}: {hostname!r} must be a lowercase RFC 1123 hostname {allowed}"
    if not isinstance(hostname, str) or len(hostname) > 253 or not _HOSTNAME.fullmatch(hostname):
        raise ValueError(bad)
    if not wildcard and hostname.startswith("*"):
        raise ValueError(bad)
    if all(label.isdigit() for label in hostname.removeprefix("*.").split(".")):
        raise ValueError(f"{field}: {hostname!r} is an IP address, not a hostname")
    return hostname


def check_route_name(name: object, field: str) -> str:
    """Return ``name`` if it is a DNS label (what route names become part of)."""
    if not isinstance(name, str) or len(name) > 63 or not _ROUTE_NAME.fullmatch(name):
        raise ValueError(
            f"{field}: route name {name!r} must be 1-63 lowercase letters, digits and '-'"
        )
    return name


def hostnames_intersect(a: str, b: str) -> bool:
    """Whether a request could match both hostnames (each may be a ``*.`` wildcard).

    Example:
        >>> hostnames_intersect("*.example.com", "shop.example.com")
        True
        >>> hostnames_intersect("*.example.com", "example.com")
        False
    """
    if a == b:
        return True
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*."):
        return b.endswith(a[1:])
    if b.startswith("*."):
        return a.endswith(b[1:])
    return False


def _check_header_name(name: object, field: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 256 or not _HEADER_NAME.fullmatch(name):
        raise ValueError(
            f"{field}: header name {name!r} must be an HTTP token of 1-256 characters"
        )
    return name


def _check_header_value(value: object, field: str) -> str:
    bad = f"{field}: header value {value!r} must be 1-4096 visible characters"
    if not isinstance(value, str) or not 1 <= len(value) <= 4096:
        raise ValueError(bad)
    if any(
        (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F or 0xD800 <= ord(c) < 0xE000 for c in value
    ):
        raise ValueError(bad)
    return value


@dataclasses.dataclass(frozen=True, order=True)
class PathMatch:
    """A path condition.

    Example:
        >>> PathMatch(PathMatchType.PathPrefix, "/api")
        PathMatch(type=<PathMatchType.PathPrefix: 'PathPrefix'>, value='/api')
    """

    type: PathMatchType
    value: str

    def __post_init__(self) -> None:
        field = "path"
        if not isinstance(self.type, PathMatchType):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"{field}.type: {self.type!r} is not one of Exact, PathPrefix, ...")
        if not isinstance(self.value, str) or not 1 <= len(self.value) <= 1024:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"{field}.value: {self.value!r} must be a string of 1-1024 chars")
        if self.type is PathMatchType.RegularExpression:
            check_regex(self.value, f"{field}.value")
        else:
            check_path(self.value, f"{field}.value")

    @functools.cached_property
    def regex(self) -> Regex | None:
        """The compiled expression of a ``RegularExpression`` path, else None."""
        if self.type is not PathMatchType.RegularExpression:
            return None
        return check_regex(self.value, "path.value")


@dataclasses.dataclass(frozen=True, order=True)
class HeaderMatch:
    """A request header condition (names compare case-insensitively)."""

    name: str
    value: str
    type: HeaderMatchType = HeaderMatchType.Exact

    def __post_init__(self) -> None:
        _check_header_name(self.name, "headers")
        _check_header_value(self.value, f"headers[{self.name!r}]")
        if self.type is HeaderMatchType.RegularExpression:
            check_regex(self.value, f"headers[{self.name!r}]")

    @functools.cached_property
    def regex(self) -> Regex | None:
        """The compiled expression of a ``RegularExpression`` match, else None."""
        if self.type is not HeaderMatchType.RegularExpression:
            return None
        return check_regex(self.value, f"headers[{self.name!r}]")


def _check_headers(headers: tuple[HeaderMatch, ...]) -> None:
    if len(headers) > 16:
        raise ValueError(f"headers: {len(headers)} header matches, at most 16")
    seen: set[str] = set()
    for header in headers:
        if header.name.lower() in seen:
            raise ValueError(f"headers: {header.name!r} is matched twice")
        seen.add(header.name.lower())


@dataclasses.dataclass(frozen=True, order=True)
class HTTPMatch:
    """Conditions an HTTP request must all meet; no path means every path (prefix '/')."""

    path: PathMatch | None = None
    method: Method | None = None
    headers: tuple[HeaderMatch, ...] = ()

    def __post_init__(self) -> None:
        _check_headers(self.headers)

    @property
    def effective_path(self) -> PathMatch:
        """The path condition, with the Gateway API default for none."""
        return self.path or PathMatch(PathMatchType.PathPrefix, "/")


@dataclasses.dataclass(frozen=True, order=True)
class GRPCMatch:
    """Conditions a gRPC call must all meet: its service and method, its metadata."""

    service: str | None = None
    method: str | None = None
    headers: tuple[HeaderMatch, ...] = ()

    def __post_init__(self) -> None:
        if self.service is not None and not _GRPC_SERVICE.fullmatch(self.service):
            raise ValueError(f"method.service: {self.service!r} is not a gRPC service name")
        if self.method is not None and not _GRPC_METHOD.fullmatch(self.method):
            raise ValueError(f"method.method: {self.method!r} is not a gRPC method name")
        for what, value in (("service", self.service), ("method", self.method)):
            if value is not None and len(value) > 1024:
                raise ValueError(f"method.{what}: {value[:40]!r}... is over 1024 characters")
        _check_headers(self.headers)


Match = HTTPMatch | GRPCMatch


@dataclasses.dataclass(frozen=True)
class PathModifier:
    """A new path: the whole of it, or what replaces the matched prefix."""

    type: PathModifierType
    value: str

    def __post_init__(self) -> None:
        check_path(self.value, "path.value")


@dataclasses.dataclass(frozen=True)
class URLRewrite:
    """Rewrite the host and/or path before the request goes to the backend."""

    hostname: str | None = None
    path: PathModifier | None = None

    def __post_init__(self) -> None:
        if self.hostname is None and self.path is None:
            raise ValueError("urlRewrite: needs a hostname or a path")
        if self.hostname is not None:
            check_hostname(self.hostname, "urlRewrite.hostname", wildcard=False)


@dataclasses.dataclass(frozen=True)
class RequestRedirect:
    """Answer with a redirect instead of forwarding the request."""

    scheme: str | None = None
    hostname: str | None = None
    path: PathModifier | None = None
    port: int | None = None
    status_code: int = 301

    def __post_init__(self) -> None:
        if self.scheme is not None and self.scheme not in ("http", "https"):
            raise ValueError(f"requestRedirect.scheme: {self.scheme!r} must be http or https")
        if self.hostname is not None:
            check_hostname(self.hostname, "requestRedirect.hostname", wildcard=False)
        if self.port is not None:
            check_port(self.port, "requestRedirect.port")
        if self.status_code not in (301, 302, 303, 307, 308):
            raise ValueError(
                f"requestRedirect.statusCode: {self.status_code!r} must be 301, 302, 303, 307 "
                "or 308"
            )


@dataclasses.dataclass(frozen=True)
class HeaderModifier:
    """Set, add or remove request (or, with ``response``, response) headers."""

    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()
    response: bool = False

    @property
    def field(self) -> str:
        """The filter's field name in the Gateway API."""
        return "responseHeaderModifier" if self.response else "requestHeaderModifier"

    def __post_init__(self) -> None:
        field = self.field
        if not (self.set or self.add or self.remove):
            raise ValueError(f"{field}: needs headers to set, add or remove")
        for what, pairs in (("set", self.set), ("add", self.add)):
            names = [_check_header_name(n, f"{field}.{what}").lower() for n, _ in pairs]
            for name, value in pairs:
                _check_header_value(value, f"{field}.{what}[{name!r}]")
            if len(set(names)) != len(names) or len(names) > 16:
                raise ValueError(f"{field}.{what}: at most 16 headers, each once")
        removed = [_check_header_name(n, f"{field}.remove").lower() for n in self.remove]
        if len(set(removed)) != len(removed) or len(removed) > 16:
            raise ValueError(f"{field}.remove: at most 16 headers, each once")


Filter = URLRewrite | RequestRedirect | HeaderModifier


@dataclasses.dataclass(frozen=True, order=True)
class Backend:
    """A Service port that serves a route, and its share of the traffic.

    ``namespace`` is the Service's namespace when it is not the route's own (the plan
    then adds a ReferenceGrant there).
    """

    service: str
    port: int
    weight: int | None = None
    namespace: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.service, str) or not _SERVICE_NAME.fullmatch(self.service):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(
                f"backends: service {self.service!r} must be a Service name (RFC 1035 label: "
                "a letter, then up to 62 lowercase letters, digits and '-')"
            )
        check_port(self.port, f"backends[{self.service!r}].port")
        weight = self.weight
        if weight is not None and (
            isinstance(weight, bool)
            or not isinstance(weight, int)  # pyright: ignore[reportUnnecessaryIsInstance]
            or not 0 <= weight <= MAX_WEIGHT
        ):
            raise ValueError(
                f"backends[{self.service!r}].weight: {weight!r} must be an integer 0-{MAX_WEIGHT}"
            )
        if self.namespace is not None and not _DNS_LABEL.fullmatch(self.namespace):
            raise ValueError(f"backends[{self.service!r}].namespace: {self.namespace!r}")


@dataclasses.dataclass(frozen=True)
class Route:
    """One route a requirer asks for.

    Attributes:
        name: the requirer's name for it (unique among its routes).
        protocol: what it carries; decides the route kind and the listener.
        port: the gateway port; None means the gateway's web ports (``http-port``, and
            ``https-port`` with an HTTP → HTTPS redirect when the gateway has TLS).
        hostnames: the Host (or SNI) names it answers; empty means the listener's.
        matches: HTTP or gRPC conditions (any may match); empty matches everything.
        filters: what to do to a matching request, in order.
        backends: where matching requests go, weighted.
        backend_scheme: how the gateway talks to the backends: ``http``, ``https``
            (TLS to the backend) or ``h2c`` (HTTP/2 without TLS).

    Example:
        >>> Route("api", Protocol.HTTP, None, backends=(Backend("shop", 8080),)).kind
        'HTTPRoute'
    """

    name: str
    protocol: Protocol
    port: int | None
    hostnames: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()
    filters: tuple[Filter, ...] = ()
    backends: tuple[Backend, ...] = ()
    backend_scheme: str = "http"

    def __post_init__(self) -> None:
        check_route_name(self.name, "name")
        if not isinstance(self.protocol, Protocol):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"protocol: {self.protocol!r} must be HTTP, GRPC, TCP or TLS")
        if self.port is not None:
            check_port(self.port, "port")
        elif self.protocol in (Protocol.TCP, Protocol.TLS):
            raise ValueError(f"port: a {self.protocol.value} route needs a port")
        if self.backend_scheme not in ("http", "https", "h2c"):
            raise ValueError(f"scheme: {self.backend_scheme!r} must be http, https or h2c")
        self._check_hostnames()
        self._check_matches()
        self._check_filters()
        self._check_backends()

    @property
    def kind(self) -> str:
        """The Gateway API kind of this route."""
        return self.protocol.route_kind

    def _check_hostnames(self) -> None:
        if len(self.hostnames) > MAX_HOSTNAMES:
            raise ValueError(f"hostnames: {len(self.hostnames)} given, at most {MAX_HOSTNAMES}")
        for i, hostname in enumerate(self.hostnames):
            check_hostname(hostname, f"hostnames[{i}]")
        if len(set(self.hostnames)) != len(self.hostnames):
            raise ValueError(f"hostnames: {list(self.hostnames)!r} repeats a hostname")
        if self.protocol is Protocol.TCP and self.hostnames:
            raise ValueError("hostnames: a TCP route has no hostnames (TCP carries none)")
        if self.protocol is Protocol.TLS and not self.hostnames:
            raise ValueError("hostnames: a TLS route is chosen by SNI and needs a hostname")

    def _check_matches(self) -> None:
        if len(self.matches) > MAX_MATCHES:
            raise ValueError(f"matches: {len(self.matches)} given, at most {MAX_MATCHES}")
        want = {Protocol.HTTP: HTTPMatch, Protocol.GRPC: GRPCMatch}.get(self.protocol)
        for i, match in enumerate(self.matches):
            if want is None:
                raise ValueError(f"matches[{i}]: a {self.protocol.value} route has no matches")
            if not isinstance(match, want):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"matches[{i}]: {match!r} is not a {want.__name__}")

    def _check_filters(self) -> None:
        filters = self.filters
        if len(filters) > MAX_FILTERS:
            raise ValueError(f"filters: {len(filters)} given, at most {MAX_FILTERS}")
        if self.protocol in (Protocol.TCP, Protocol.TLS) and filters:
            raise ValueError(f"filters: a {self.protocol.value} route has no filters")
        types = [
            type(f).__name__ + (":r" if isinstance(f, HeaderModifier) and f.response else "")
            for f in filters
        ]
        if len(set(types)) != len(types):
            raise ValueError("filters: each kind of filter may appear once")
        redirect = any(isinstance(f, RequestRedirect) for f in filters)
        if self.protocol is Protocol.GRPC and (
            redirect or any(isinstance(f, URLRewrite) for f in filters)
        ):
            raise ValueError(
                "filters: a gRPC route takes header modifiers only, no redirect or rewrite"
            )
        if redirect and any(isinstance(f, URLRewrite) for f in filters):
            raise ValueError("filters: a redirect and a rewrite cannot go together")
        for f in filters:
            path = getattr(f, "path", None)
            if isinstance(path, PathModifier) and path.type is PathModifierType.ReplacePrefixMatch:
                ok = len(self.matches) == 1 and isinstance(self.matches[0], HTTPMatch)
                ok = ok and self.matches[0].path is not None  # type: ignore[union-attr]
                ok = ok and self.matches[0].path.type is PathMatchType.PathPrefix  # type: ignore[union-attr]
                if not ok:
                    raise ValueError(
                        "filters: ReplacePrefixMatch needs exactly one match, on a PathPrefix"
                    )

    def _check_backends(self) -> None:
        redirect = any(isinstance(f, RequestRedirect) for f in self.filters)
        if len(self.backends) > MAX_BACKENDS:
            raise ValueError(f"backends: {len(self.backends)} given, at most {MAX_BACKENDS}")
        if redirect and self.backends:
            raise ValueError("backends: a route that redirects sends nothing to backends")
        if not redirect and not self.backends:
            raise ValueError("backends: a route needs at least one backend")
        seen: set[tuple[str | None, str, int]] = set()
        for backend in self.backends:
            key = (backend.namespace, backend.service, backend.port)
            if key in seen:
                raise ValueError(f"backends: {backend.service}:{backend.port} is listed twice")
            seen.add(key)


@dataclasses.dataclass(frozen=True)
class GatewayConfig:
    """The gateway every route attaches to.

    Attributes:
        name: the Gateway object's name (Istio names its Deployment, Service and
            ServiceAccount ``<name>-istio``).
        namespace: where the Gateway lives.
        hostname: the external hostname its listeners answer (a leading ``*.`` allowed);
            None answers any host.
        http_port: the plain web port.
        https_port: the TLS web port, used when ``tls_secret`` is set.
        tls_secret: a ``kubernetes.io/tls`` Secret in ``namespace``; setting it turns TLS on.
        log_level: the gateway proxy's log level.
        gateway_class: the GatewayClass.
        istio: whether Istio runs the gateway (its class is one Istio's controller
            programs). Only then does the plan add what only Istio reads: the
            AuthorizationPolicies letting the gateway's ServiceAccount reach the backends,
            the DestinationRules for TLS or HTTP/2 towards them, and the proxy's log level.
        redirect_http: with TLS, whether the HTTP listener only redirects to HTTPS (True)
            or serves the web routes as well (False).
        hsts_max_age: with TLS and ``redirect_http``, the ``max-age`` of the
            Strict-Transport-Security header set on every web route served over HTTPS;
            None (or 0) sets none.
    """

    name: str
    namespace: str
    hostname: str | None = None
    http_port: int = 80
    https_port: int = 443
    tls_secret: str | None = None
    log_level: str = "info"
    gateway_class: str = "istio"
    istio: bool = True
    redirect_http: bool = True
    hsts_max_age: int | None = None

    def __post_init__(self) -> None:
        for what, value in (("name", self.name), ("namespace", self.namespace)):
            if not _DNS_LABEL.fullmatch(value) or len(value) > 63:
                raise ValueError(f"gateway {what}: {value!r} must be a DNS label")
        if self.hostname is not None:
            check_hostname(self.hostname, "external-hostname")
        check_port(self.http_port, "http-port")
        check_port(self.https_port, "https-port")
        if self.http_port == self.https_port:
            raise ValueError(f"http-port and https-port are both {self.http_port}")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(
                f"log-level: {self.log_level!r} must be one of {', '.join(LOG_LEVELS)}"
            )
        if self.tls_secret is not None and not _DNS_LABEL.fullmatch(self.tls_secret):
            raise ValueError(f"tls secret: {self.tls_secret!r} must be a DNS label")
        if not _DNS_SUBDOMAIN.fullmatch(self.gateway_class) or len(self.gateway_class) > 253:
            raise ValueError(
                f"gateway-class: {self.gateway_class!r} must be a GatewayClass name "
                "(lowercase letters, digits, '-' and '.')"
            )
        age = self.hsts_max_age
        if age is not None and (type(age) is not int or age < 0):
            raise ValueError(f"hsts-max-age: {age!r} must be an integer of seconds, 0 or more")

    @property
    def hsts(self) -> int | None:
        """The HSTS max-age the web routes served over HTTPS carry, or None."""
        if self.tls and self.redirect_http and self.hsts_max_age:
            return self.hsts_max_age
        return None

    @property
    def tls(self) -> bool:
        """Whether the gateway terminates TLS."""
        return self.tls_secret is not None

    @property
    def service_account(self) -> str:
        """The ServiceAccount Istio gives the gateway's pods."""
        return f"{self.name}-istio"
