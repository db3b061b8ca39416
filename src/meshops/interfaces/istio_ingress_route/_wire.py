"""The istio_ingress_route wire models: what the requirer's ``config`` key holds.

The models keep the ecosystem library's names, field order and defaults, so
``config.model_dump_json()`` produces the very bytes the ecosystem writes for the same
configuration: filters carry their computed ``type`` after their spec, and a
:class:`PathModifier` is written the Gateway API way, ``{"type": ..., "replaceFullPath":
...}`` or ``{"type": ..., "replacePrefixMatch": ...}``.

They are frozen, and ignore unknown keys (the other side may be a newer library).
Where they read differently from the ecosystem's, it is to refuse what cannot be meant:

* integers are strict: ``true``, ``"80"`` and ``80.0`` are not ports (a lax integer
  would read ``true`` as port 1);
* a filter holds exactly one spec (``urlRewrite`` or ``requestRedirect``), and its
  ``type``, when present, names that spec; a path modifier's ``type`` agrees with its
  ``replaceFullPath``/``replacePrefixMatch`` key.

Extensions of the wire format (meshops only) live in keys the ecosystem's models do not
know, so an ecosystem provider reading them ignores them and still reads the rest; each
is left out of the JSON entirely when unused, so a configuration without extensions is
written byte for byte as the ecosystem writes it:

* ``tcp_routes`` and ``tls_routes`` on :class:`IstioIngressRouteConfig`: L4 routes, each
  with its own :class:`L4Listener`;
* ``header_filters`` on :class:`HTTPRoute` and :class:`GRPCRoute`: request and response
  header modifiers, shaped as in the Gateway API.

These models check the shape of the data; ``read_config`` checks the rest (names,
paths, hostnames, how routes and listeners fit together) while turning a configuration
into :class:`meshops.model.ingress.Route` values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

import pydantic

from meshops.interfaces.istio_ingress_route._errors import FieldError, quote

__all__ = [
    "BackendRef",
    "FilterType",
    "GRPCMethodMatch",
    "GRPCRoute",
    "GRPCRouteMatch",
    "HTTPHeader",
    "HTTPMethod",
    "HTTPPathMatch",
    "HTTPPathMatchType",
    "HTTPRoute",
    "HTTPRouteMatch",
    "HeaderModifierSpec",
    "IstioIngressRouteConfig",
    "L4Listener",
    "L4ProtocolType",
    "Listener",
    "PathModifier",
    "PathModifierType",
    "ProtocolType",
    "RequestHeaderModifierFilter",
    "RequestRedirectFilter",
    "RequestRedirectSpec",
    "ResponseHeaderModifierFilter",
    "TCPRoute",
    "TLSRoute",
    "URLRewriteFilter",
    "URLRewriteSpec",
    "to_gateway_protocol",
]

# We read what another charm wrote: unknown keys are ignored, never an error.
_WIRE = pydantic.ConfigDict(frozen=True, extra="ignore")

Port = Annotated[int, pydantic.Strict(), pydantic.Field(ge=1, le=65535)]
Weight = Annotated[int, pydantic.Strict(), pydantic.Field(ge=1, le=100)]
StrictInt = Annotated[int, pydantic.Strict()]


def _drop_unused(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``data`` without the ``keys`` whose value is None or empty (extensions left unused)."""
    for key in keys:
        if key in data and not data[key]:
            del data[key]
    return data


class ProtocolType(str, enum.Enum):
    """The application protocol an L7 listener carries.

    The gateway terminates TLS when it has a certificate, turning HTTP into HTTPS and
    gRPC into gRPC over TLS; the requirer never asks for TLS itself.
    """

    HTTP = "HTTP"
    GRPC = "GRPC"


class L4ProtocolType(str, enum.Enum):
    """The protocol an L4 listener carries (meshops extension).

    TCP is forwarded as is; TLS is passed through, chosen by SNI, and terminated by the
    backend.
    """

    TCP = "TCP"
    TLS = "TLS"


def to_gateway_protocol(protocol: ProtocolType, tls_enabled: bool = False) -> str:
    """The Gateway listener protocol that carries ``protocol``.

    The Gateway API has no gRPC listener: gRPC rides on HTTP/2, so both application
    protocols map to HTTP, or HTTPS when the gateway terminates TLS. The route kind
    (HTTPRoute or GRPCRoute) is what tells them apart.

    Example:
        >>> to_gateway_protocol(ProtocolType.GRPC)
        'HTTP'
        >>> to_gateway_protocol(ProtocolType.HTTP, tls_enabled=True)
        'HTTPS'
    """
    del protocol  # both protocols map alike; kept for the signature's sake
    return "HTTPS" if tls_enabled else "HTTP"


class Listener(pydantic.BaseModel):
    """A Gateway listener for HTTP or gRPC traffic on ``port``.

    Example:
        >>> listener = Listener(port=9090, protocol=ProtocolType.GRPC)
        >>> listener.name, listener.gateway_protocol
        ('grpc-9090', 'HTTP')
    """

    model_config = _WIRE

    port: Port
    protocol: ProtocolType

    @property
    def name(self) -> str:
        """The listener's name: ``<protocol>-<port>``, lowercase."""
        return f"{self.protocol.value.lower()}-{self.port}"

    @property
    def gateway_protocol(self) -> str:
        """The Gateway API protocol of the listener, before TLS (always ``HTTP``)."""
        return to_gateway_protocol(self.protocol, tls_enabled=False)


class L4Listener(pydantic.BaseModel):
    """A Gateway listener for TCP or TLS-passthrough traffic on ``port`` (meshops extension).

    Example:
        >>> L4Listener(port=5432, protocol=L4ProtocolType.TCP).name
        'tcp-5432'
    """

    model_config = _WIRE

    port: Port
    protocol: L4ProtocolType

    @property
    def name(self) -> str:
        """The listener's name: ``<protocol>-<port>``, lowercase."""
        return f"{self.protocol.value.lower()}-{self.port}"

    @property
    def gateway_protocol(self) -> str:
        """The Gateway API protocol of the listener: ``TCP`` or ``TLS``."""
        return self.protocol.value


class BackendRef(pydantic.BaseModel):
    """A Service port in the configuration's model, and its share of the traffic.

    Attributes:
        service: the Service's name.
        port: the Service's port.
        weight: its relative share (1-100) among the route's backends; None is 1.
    """

    model_config = _WIRE

    service: str
    port: Port
    weight: Weight | None = None


class HTTPMethod(str, enum.Enum):
    """An HTTP method a route may match."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    PATCH = "PATCH"
    HEAD = "HEAD"
    OPTIONS = "OPTIONS"
    CONNECT = "CONNECT"
    TRACE = "TRACE"


class HTTPPathMatchType(str, enum.Enum):
    """How a request path is compared: whole, by '/'-separated prefix, or by RE2 regex."""

    Exact = "Exact"
    PathPrefix = "PathPrefix"
    RegularExpression = "RegularExpression"


class HTTPPathMatch(pydantic.BaseModel):
    """A path condition (a prefix match unless ``type`` says otherwise)."""

    model_config = _WIRE

    type: HTTPPathMatchType = HTTPPathMatchType.PathPrefix
    value: str


class GRPCMethodMatch(pydantic.BaseModel):
    """A gRPC call's service (``package.Service``) and, optionally, its method.

    Example:
        >>> GRPCMethodMatch(service="shop.Orders", method="Get").method
        'Get'
    """

    model_config = _WIRE

    service: str
    method: str | None = None


class HTTPRouteMatch(pydantic.BaseModel):
    """Conditions an HTTP request must all meet; a condition left None matches anything.

    Attributes:
        headers: header values that must match exactly, by header name.
        path: the path condition.
        method: the method.
    """

    model_config = _WIRE

    # The ecosystem declares ``headers`` on a shared base class, so it comes first.
    headers: dict[str, str] | None = None
    path: HTTPPathMatch | None = None
    method: HTTPMethod | None = None


class GRPCRouteMatch(pydantic.BaseModel):
    """Conditions a gRPC call must all meet: its metadata and its method."""

    model_config = _WIRE

    headers: dict[str, str] | None = None
    method: GRPCMethodMatch | None = None


class PathModifierType(str, enum.Enum):
    """How a rewrite or redirect changes the path."""

    ReplaceFullPath = "ReplaceFullPath"
    ReplacePrefixMatch = "ReplacePrefixMatch"


_PATH_KEYS = {
    "replaceFullPath": PathModifierType.ReplaceFullPath,
    "replacePrefixMatch": PathModifierType.ReplacePrefixMatch,
}


class PathModifier(pydantic.BaseModel):
    """A new path: the whole of it, or what replaces the matched prefix.

    Read from ``{"type", "value"}`` or from the Gateway API's own form; always written
    in the Gateway API's form.

    Example:
        >>> modifier = PathModifier(type=PathModifierType.ReplacePrefixMatch, value="/")
        >>> modifier.model_dump_json()
        '{"type":"ReplacePrefixMatch","replacePrefixMatch":"/"}'
    """

    model_config = _WIRE

    type: PathModifierType
    value: str

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_gateway_api(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cast("dict[str, Any]", data)
        keys = [key for key in _PATH_KEYS if key in fields]
        if not keys:
            return fields
        if len(keys) > 1:
            raise FieldError("", "holds both replaceFullPath and replacePrefixMatch; give one")
        key = keys[0]
        implied = _PATH_KEYS[key]
        declared = fields.get("type", implied)
        if declared != implied:
            raise FieldError("type", f"{quote(declared)} disagrees with the key {key!r}")
        return {"type": declared, "value": fields[key]}

    @pydantic.model_serializer(mode="plain")
    def _to_gateway_api(self) -> dict[str, str]:
        if self.type is PathModifierType.ReplaceFullPath:
            return {"type": self.type.value, "replaceFullPath": self.value}
        return {"type": self.type.value, "replacePrefixMatch": self.value}


class FilterType(str, enum.Enum):
    """The kind of a filter in a route's ``filters`` list."""

    URLRewrite = "URLRewrite"
    RequestRedirect = "RequestRedirect"


def _check_declared_type(data: Any, kind: str) -> None:
    """Refuse a filter whose ``type`` key names another kind than its spec."""
    declared = cast("dict[str, Any]", data).get("type", kind) if isinstance(data, dict) else kind
    if declared != kind:
        raise FieldError("type", f"{quote(declared)} disagrees with the filter's spec {kind!r}")


class URLRewriteSpec(pydantic.BaseModel):
    """Rewrite the host and/or the path before the request goes to the backend."""

    model_config = _WIRE

    hostname: str | None = None
    path: PathModifier | None = None


class URLRewriteFilter(pydantic.BaseModel):
    """A filter that rewrites the request URL."""

    model_config = _WIRE

    urlRewrite: URLRewriteSpec  # noqa: N815 - the Gateway API's name

    @pydantic.model_validator(mode="before")
    @classmethod
    def _check_type(cls, data: Any) -> Any:
        _check_declared_type(data, FilterType.URLRewrite.value)
        return data

    @pydantic.computed_field
    @property
    def type(self) -> FilterType:
        """Always :attr:`FilterType.URLRewrite`."""
        return FilterType.URLRewrite


class RequestRedirectSpec(pydantic.BaseModel):
    """Answer with a redirect; each field left None keeps the request's own."""

    model_config = _WIRE

    scheme: str | None = None
    hostname: str | None = None
    path: PathModifier | None = None
    port: Port | None = None
    statusCode: StrictInt = 301  # noqa: N815 - the Gateway API's name


class RequestRedirectFilter(pydantic.BaseModel):
    """A filter that answers with a redirect instead of forwarding the request."""

    model_config = _WIRE

    requestRedirect: RequestRedirectSpec  # noqa: N815 - the Gateway API's name

    @pydantic.model_validator(mode="before")
    @classmethod
    def _check_type(cls, data: Any) -> Any:
        _check_declared_type(data, FilterType.RequestRedirect.value)
        return data

    @pydantic.computed_field
    @property
    def type(self) -> FilterType:
        """Always :attr:`FilterType.RequestRedirect`."""
        return FilterType.RequestRedirect


class HTTPHeader(pydantic.BaseModel):
    """A header name and value (meshops extension)."""

    model_config = _WIRE

    name: str
    value: str


class HeaderModifierSpec(pydantic.BaseModel):
    """Headers to set (replacing), add (appending) and remove (meshops extension).

    Fields left None are left out of the JSON, as in the Gateway API.
    """

    model_config = _WIRE

    set: list[HTTPHeader] | None = None
    add: list[HTTPHeader] | None = None
    remove: list[str] | None = None

    @pydantic.model_serializer(mode="wrap")
    def _leave_out_unused(self, handler: pydantic.SerializerFunctionWrapHandler) -> Any:
        data: Any = handler(self)
        if not isinstance(data, dict):  # pragma: no cover - a model always dumps to a dict
            return data
        return {k: v for k, v in cast("dict[str, Any]", data).items() if v is not None}


class RequestHeaderModifierFilter(pydantic.BaseModel):
    """Change the request's headers before it goes to the backend (meshops extension).

    Example:
        >>> f = RequestHeaderModifierFilter(
        ...     requestHeaderModifier=HeaderModifierSpec(remove=["X-Debug"])
        ... )
        >>> f.model_dump_json()
        '{"type":"RequestHeaderModifier","requestHeaderModifier":{"remove":["X-Debug"]}}'
    """

    model_config = _WIRE

    type: Literal["RequestHeaderModifier"] = "RequestHeaderModifier"
    requestHeaderModifier: HeaderModifierSpec  # noqa: N815 - the Gateway API's name


class ResponseHeaderModifierFilter(pydantic.BaseModel):
    """Change the response's headers before it goes to the client (meshops extension)."""

    model_config = _WIRE

    type: Literal["ResponseHeaderModifier"] = "ResponseHeaderModifier"
    responseHeaderModifier: HeaderModifierSpec  # noqa: N815 - the Gateway API's name


def _by_spec_key(kinds: dict[str, str]) -> Callable[[Any], str | None]:
    """A discriminator choosing a filter's kind by which spec key it holds.

    ``kinds`` maps a spec key (``"urlRewrite"``) to its kind (``"URLRewrite"``). A filter
    holding none of the keys, or several, has no kind.
    """

    def kind_of(value: Any) -> str | None:
        if isinstance(value, pydantic.BaseModel):
            found = [kind for key, kind in kinds.items() if hasattr(value, key)]
        elif isinstance(value, dict):
            found = [kind for key, kind in kinds.items() if key in value]
        else:
            return None
        return found[0] if len(found) == 1 else None

    return kind_of


def _filter_union(kinds: dict[str, str]) -> pydantic.Discriminator:
    keys = " or ".join(kinds)
    return pydantic.Discriminator(
        _by_spec_key(kinds),
        custom_error_type="filter_kind",
        custom_error_message=f"a filter must hold exactly one of {keys}",
    )


HTTPRouteFilter = Annotated[
    Annotated[URLRewriteFilter, pydantic.Tag("URLRewrite")]
    | Annotated[RequestRedirectFilter, pydantic.Tag("RequestRedirect")],
    _filter_union({"urlRewrite": "URLRewrite", "requestRedirect": "RequestRedirect"}),
]
GRPCRouteFilter = RequestRedirectFilter
HeaderFilter = Annotated[
    Annotated[RequestHeaderModifierFilter, pydantic.Tag("RequestHeaderModifier")]
    | Annotated[ResponseHeaderModifierFilter, pydantic.Tag("ResponseHeaderModifier")],
    _filter_union(
        {
            "requestHeaderModifier": "RequestHeaderModifier",
            "responseHeaderModifier": "ResponseHeaderModifier",
        }
    ),
]
#: The tags pydantic puts in an error's location inside a filter union.
FILTER_TAGS = frozenset(
    {"URLRewrite", "RequestRedirect", "RequestHeaderModifier", "ResponseHeaderModifier"}
)


class HTTPRoute(pydantic.BaseModel):
    """An HTTP route: requests on ``listener`` that meet ``matches`` go to ``backends``.

    Attributes:
        name: the route's name, unique among the configuration's routes (a DNS label).
        listener: the listener it attaches to; one of the configuration's ``listeners``.
        backends: where matching requests go, weighted.
        hostnames: the ``Host`` names it answers; None answers the listener's.
        matches: conditions, any of which a request may meet; None matches every request.
        filters: a URL rewrite or a redirect.
        header_filters: request and response header modifiers (meshops extension).
    """

    model_config = _WIRE

    name: str
    listener: Listener
    backends: list[BackendRef]
    hostnames: list[str] | None = None
    matches: list[HTTPRouteMatch] | None = None
    filters: list[HTTPRouteFilter] | None = None
    header_filters: list[HeaderFilter] | None = None

    @property
    def protocol(self) -> ProtocolType:
        """Always :attr:`ProtocolType.HTTP`."""
        return ProtocolType.HTTP

    @pydantic.model_serializer(mode="wrap")
    def _leave_out_unused(self, handler: pydantic.SerializerFunctionWrapHandler) -> Any:
        return _drop_unused(handler(self), "header_filters")


class GRPCRoute(pydantic.BaseModel):
    """A gRPC route: calls on ``listener`` that meet ``matches`` go to ``backends``.

    Attributes:
        name: the route's name, unique among the configuration's routes (a DNS label).
        listener: the listener it attaches to; one of the configuration's ``listeners``.
        backends: where matching calls go, weighted.
        hostnames: the ``Host`` names it answers; None answers the listener's.
        matches: conditions, any of which a call may meet; None matches every call.
        filters: accepted as the ecosystem does, but a GRPCRoute cannot redirect, so
            a route with filters is refused when read.
        header_filters: request and response header modifiers (meshops extension).
    """

    model_config = _WIRE

    name: str
    listener: Listener
    backends: list[BackendRef]
    hostnames: list[str] | None = None
    matches: list[GRPCRouteMatch] | None = None
    filters: list[GRPCRouteFilter] | None = None
    header_filters: list[HeaderFilter] | None = None

    @property
    def protocol(self) -> ProtocolType:
        """Always :attr:`ProtocolType.GRPC`."""
        return ProtocolType.GRPC

    @pydantic.model_serializer(mode="wrap")
    def _leave_out_unused(self, handler: pydantic.SerializerFunctionWrapHandler) -> Any:
        return _drop_unused(handler(self), "header_filters")


class TCPRoute(pydantic.BaseModel):
    """A TCP route: connections to ``listener``'s port go to ``backends`` (meshops extension).

    TCP carries no hostname, so a TCP listener serves a single route.
    """

    model_config = _WIRE

    name: str
    listener: L4Listener
    backends: list[BackendRef]

    @pydantic.model_validator(mode="after")
    def _check_listener(self) -> TCPRoute:
        if self.listener.protocol is not L4ProtocolType.TCP:
            raise FieldError(
                "listener.protocol",
                f"a TCP route needs a TCP listener, got {self.listener.protocol.value!r}",
            )
        return self


class TLSRoute(pydantic.BaseModel):
    """A TLS passthrough route, chosen by SNI (meshops extension).

    The gateway does not terminate TLS: the backend does, so it holds the certificate
    for ``hostnames``.

    Attributes:
        name: the route's name, unique among the configuration's routes (a DNS label).
        listener: a TLS listener.
        backends: where matching connections go, weighted.
        hostnames: the SNI names it answers; at least one.
    """

    model_config = _WIRE

    name: str
    listener: L4Listener
    backends: list[BackendRef]
    hostnames: list[str]

    @pydantic.model_validator(mode="after")
    def _check_listener(self) -> TLSRoute:
        if self.listener.protocol is not L4ProtocolType.TLS:
            raise FieldError(
                "listener.protocol",
                f"a TLS route needs a TLS listener, got {self.listener.protocol.value!r}",
            )
        return self


def _no_listeners() -> list[Listener]:
    return []


def _no_http_routes() -> list[HTTPRoute]:
    return []


def _no_grpc_routes() -> list[GRPCRoute]:
    return []


def _no_tcp_routes() -> list[TCPRoute]:
    return []


def _no_tls_routes() -> list[TLSRoute]:
    return []


class IstioIngressRouteConfig(pydantic.BaseModel):
    """Everything one requirer asks the gateway for (the ``config`` key).

    Attributes:
        model: the requirer's model, the namespace its backend Services live in.
        listeners: the HTTP and gRPC listeners its HTTP and gRPC routes attach to.
        http_routes: HTTP routes.
        grpc_routes: gRPC routes.
        tcp_routes: TCP routes (meshops extension; left out of the JSON when empty).
        tls_routes: TLS passthrough routes (meshops extension; left out when empty).

    Example:
        >>> listener = Listener(port=80, protocol=ProtocolType.HTTP)
        >>> config = IstioIngressRouteConfig(
        ...     model="shop",
        ...     listeners=[listener],
        ...     http_routes=[
        ...         HTTPRoute(
        ...             name="web",
        ...             listener=listener,
        ...             backends=[BackendRef(service="web", port=8080)],
        ...         )
        ...     ],
        ... )
        >>> config.model_dump_json()[:64]
        '{"model":"shop","listeners":[{"port":80,"protocol":"HTTP"}],"htt'
    """

    model_config = _WIRE

    model: str
    listeners: list[Listener] = pydantic.Field(default_factory=_no_listeners)
    http_routes: list[HTTPRoute] = pydantic.Field(default_factory=_no_http_routes)
    grpc_routes: list[GRPCRoute] = pydantic.Field(default_factory=_no_grpc_routes)
    tcp_routes: list[TCPRoute] = pydantic.Field(default_factory=_no_tcp_routes)
    tls_routes: list[TLSRoute] = pydantic.Field(default_factory=_no_tls_routes)

    @pydantic.model_serializer(mode="wrap")
    def _leave_out_unused(self, handler: pydantic.SerializerFunctionWrapHandler) -> Any:
        return _drop_unused(handler(self), "tcp_routes", "tls_routes")
