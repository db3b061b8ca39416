"""The platform file's schema, ``meshops.io/v1alpha1``: what each key holds.

Pydantic models, frozen and strict: an unknown key is an error, ``"8080"`` is not a
port and ``yes`` is not a boolean. Values that the domain model also checks (ports,
paths, hosts, methods, hostnames, route names) are checked here with the model's own
functions, so the file and the model reject the same things with the same words.

Keys are camelCase, as in Kubernetes (``serviceAccount``, ``httpPort``); the parts of
``spec.ingress`` that mirror the Gateway API (matches, filters) use its names and
values (``PathPrefix``, ``urlRewrite``, ``replacePrefixMatch``, ``statusCode``).

``spec.istio`` describes the Istio installation (rendered as an IstioOperator for
``istioctl install``) and ``spec.hardened`` turns on deny-by-default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

import pydantic
from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag

import meshops
from meshops.model import ingress, mesh, paths
from meshops.model.problems import did_you_mean
from meshops.platform_file.errors import quote

__all__ = [
    "API_VERSION",
    "DEFAULT_GATEWAY_NAMESPACE",
    "KIND",
    "UNION_TAGS",
    "AcceptSpec",
    "AppSpec",
    "BackendSpec",
    "FilterSpec",
    "GatewaySpec",
    "HeaderMatchSpec",
    "HeaderModifierSpec",
    "HeaderSpec",
    "IngressSpec",
    "IstioSpec",
    "MatchSpec",
    "Metadata",
    "NamespaceSpec",
    "PathMatchSpec",
    "PathModifierSpec",
    "PlatformFile",
    "PlatformSpec",
    "PortSpec",
    "RedirectSpec",
    "RouteSpec",
    "TLSSpec",
    "URLRewriteSpec",
    "check_http_method",
]

#: The apiVersion this version of meshops reads.
API_VERSION = "meshops.io/v1alpha1"
#: The kind of a platform file.
KIND = "Platform"
#: The gateway's namespace when ``spec.ingress.gateway.namespace`` is not given.
DEFAULT_GATEWAY_NAMESPACE = "ingress"
#: Names that tell apart the forms of a value written either as a mapping or as a list;
#: pydantic puts them in an error's location, the loader takes them out again.
UNION_TAGS = ("<mapping>", "<list>")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _label(what: str, *, letter_first: bool = False) -> Callable[[str], str]:
    """A check that a name is a DNS label (RFC 1123; RFC 1035 with ``letter_first``)."""
    pattern = _DNS_1035_LABEL if letter_first else _DNS_LABEL
    ends = (
        "starting with a letter and ending with a letter or digit"
        if letter_first
        else "starting and ending with a letter or digit"
    )

    def check(value: str) -> str:
        if len(value) > 63 or not pattern.fullmatch(value):
            raise ValueError(
                f"{what} {quote(value)} must be a DNS label: at most 63 lowercase letters, "
                f"digits and '-', {ends}"
            )
        return value

    return check


def _service_account(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(
            f"service account {quote(value)} must be a DNS subdomain: lowercase letters, "
            "digits, '-' and '.', at most 253"
        )
    return value


def _model_check(check: Callable[[object, str], object]) -> Callable[[Any], Any]:
    """A validator running one of the model's checks on a value."""

    def validate(value: Any) -> Any:
        try:
            check(value, "")
        except ValueError as e:
            raise ValueError(str(e).removeprefix(": ")) from None
        return value

    return validate


def check_http_method(value: str) -> str:
    """Return ``value`` if it is an HTTP method, else raise (suggesting its upper case).

    Example:
        >>> try:
        ...     check_http_method("post")
        ... except ValueError as e:
        ...     print(str(e).split("; ")[-1])
        did you mean 'POST'?
    """
    try:
        return mesh.check_method(value, "").value
    except ValueError as e:
        hint = did_you_mean(value, [m.value for m in mesh.Method])
        raise ValueError(str(e).removeprefix(": ") + hint) from None


def _one_of(options: Any, what: str) -> Callable[[Any], Any]:
    """A check that a value is one of a ``Literal``'s options, suggesting the closest."""
    return _choice(get_args(options), what)


def _choice(choices: tuple[Any, ...], what: str) -> Callable[[Any], Any]:
    """A check that a value is one of ``choices`` (and of its type), suggesting the closest."""

    def check(value: Any) -> Any:
        if any(type(value) is type(c) and value == c for c in choices):
            return value
        hint = ""
        if isinstance(value, str):
            hint = did_you_mean(value, [c for c in choices if isinstance(c, str)])
        known = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{what} {quote(value)} must be one of {known}{hint}")

    return check


def _caller(value: str) -> str:
    """Check a ``from`` entry: ``app`` (same namespace) or ``namespace/app``."""
    if "*" in value:
        raise ValueError(
            f"caller {quote(value)}: wildcards are not supported yet; list the calling apps"
        )
    parts = value.split("/")
    if len(parts) > 2:
        raise ValueError(f"caller {quote(value)} must be 'app' or 'namespace/app'")
    if len(parts) == 2:
        _label("namespace")(parts[0])
    _label("app name", letter_first=True)(parts[-1])
    return value


MeshModeName = Literal["ambient", "sidecar", "off"]
ProtocolName = Literal["http", "grpc", "tcp"]
LevelName = Literal["l7", "l4"]

Port = Annotated[int, BeforeValidator(_model_check(mesh.check_port))]
NamespaceName = Annotated[str, AfterValidator(_label("namespace"))]
AppName = Annotated[str, AfterValidator(_label("app name", letter_first=True))]
Caller = Annotated[str, AfterValidator(_caller)]
HttpMethod = Annotated[str, AfterValidator(check_http_method)]
HttpPath = Annotated[str, AfterValidator(_model_check(paths.check_policy_path))]
Host = Annotated[str, AfterValidator(_model_check(mesh.check_host))]


def _app_ref(value: str) -> str:
    """Check a route's ``app``: ``app``, or ``namespace/app`` when the name is not enough."""
    parts = value.split("/")
    if len(parts) > 2:
        raise ValueError(f"app {quote(value)} must be 'app' or 'namespace/app'")
    if len(parts) == 2:
        _label("namespace")(parts[0])
    _label("app name", letter_first=True)(parts[-1])
    return value


def _weight(value: int) -> int:
    if not 0 <= value <= ingress.MAX_WEIGHT:
        raise ValueError(f"weight {quote(value)} must be an integer 0-{ingress.MAX_WEIGHT}")
    return value


def _hostname(*, wildcard: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return ingress.check_hostname(value, "hostname", wildcard=wildcard)
        except ValueError as e:
            raise ValueError(str(e).removeprefix("hostname: ")) from None

    return check


def _route_name(value: str) -> str:
    try:
        return ingress.check_route_name(value, "")
    except ValueError as e:
        raise ValueError(str(e).removeprefix(": ")) from None


RouteProtocolName = Literal["http", "grpc", "tcp", "tls"]
BackendSchemeName = Literal["http", "https", "h2c"]
PathMatchTypeName = Literal["PathPrefix", "Exact", "RegularExpression"]
HeaderMatchTypeName = Literal["Exact", "RegularExpression"]
PathModifierTypeName = Literal["ReplacePrefixMatch", "ReplaceFullPath"]
FilterTypeName = Literal[
    "URLRewrite", "RequestRedirect", "RequestHeaderModifier", "ResponseHeaderModifier"
]
RedirectSchemeName = Literal["http", "https"]

AppRefText = Annotated[str, AfterValidator(_app_ref)]
Hostname = Annotated[str, AfterValidator(_hostname(wildcard=True))]
ExactHostname = Annotated[str, AfterValidator(_hostname(wildcard=False))]
RouteName = Annotated[str, AfterValidator(_route_name)]
ObjectName = Annotated[str, AfterValidator(_label("name"))]
Weight = Annotated[int, AfterValidator(_weight)]
LogLevel = Annotated[str, BeforeValidator(_choice(ingress.LOG_LEVELS, "log level"))]
RouteProtocol = Annotated[
    RouteProtocolName, BeforeValidator(_one_of(RouteProtocolName, "protocol"))
]
BackendScheme = Annotated[
    BackendSchemeName, BeforeValidator(_one_of(BackendSchemeName, "backendScheme"))
]
PathMatchType = Annotated[PathMatchTypeName, BeforeValidator(_one_of(PathMatchTypeName, "type"))]
HeaderMatchType = Annotated[
    HeaderMatchTypeName, BeforeValidator(_one_of(HeaderMatchTypeName, "type"))
]
PathModifierType = Annotated[
    PathModifierTypeName, BeforeValidator(_one_of(PathModifierTypeName, "type"))
]
FilterType = Annotated[FilterTypeName, BeforeValidator(_one_of(FilterTypeName, "type"))]
RedirectScheme = Annotated[
    RedirectSchemeName, BeforeValidator(_one_of(RedirectSchemeName, "scheme"))
]
StatusCode = Annotated[int, BeforeValidator(_choice((301, 302, 303, 307, 308), "statusCode"))]


class _Spec(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", strict=True)


class Metadata(_Spec):
    """``metadata``: the platform's name, which starts the names of its policies."""

    name: Annotated[str, AfterValidator(_label("platform name"))]


class NamespaceSpec(_Spec):
    """``spec.namespaces[]``: a namespace and whether it is on the mesh."""

    name: NamespaceName
    mesh: Annotated[MeshModeName, BeforeValidator(_one_of(MeshModeName, "mesh"))] = "ambient"


class PortSpec(_Spec):
    """``spec.apps[].ports[]``: a port of the app's Service and what it speaks."""

    port: Port
    protocol: Annotated[ProtocolName, BeforeValidator(_one_of(ProtocolName, "protocol"))] = "tcp"


class AcceptSpec(_Spec):
    """``spec.apps[].accepts[]``: calls the app accepts."""

    from_: Annotated[list[Caller], Field(alias="from", min_length=1)]
    level: Annotated[LevelName, BeforeValidator(_one_of(LevelName, "level"))] = "l7"
    ports: list[Port] = []
    methods: list[HttpMethod] = []
    paths: list[HttpPath] = []
    hosts: list[Host] = []


class AppSpec(_Spec):
    """``spec.apps[]``: a workload, its ports, and the calls it accepts."""

    name: AppName
    namespace: NamespaceName
    service_account: Annotated[
        str | None, AfterValidator(lambda v: v if v is None else _service_account(v))
    ] = Field(default=None, alias="serviceAccount")
    ports: list[PortSpec] = []
    accepts: list[AcceptSpec] = []


def _form(value: object) -> str:
    """Which form a mapping-or-list value is written in."""
    return UNION_TAGS[0] if isinstance(value, dict) else UNION_TAGS[1]


def _one_key(model: pydantic.BaseModel, keys: dict[str, str], what: str) -> str | None:
    """The one of ``keys`` (field name: file key) set on ``model``, else raise; None if none."""
    given = [key for field, key in keys.items() if getattr(model, field) is not None]
    if len(given) > 1:
        raise ValueError(f"{what} takes one of {', '.join(given)}, not several")
    return given[0] if given else None


class HeaderMatchSpec(_Spec):
    """A header condition, in the list form of ``headers``."""

    name: str
    value: str
    type: HeaderMatchType = "Exact"


class HeaderSpec(_Spec):
    """A header to set or add, in the list form of ``set`` and ``add``."""

    name: str
    value: str


#: ``headers``: ``{name: value}`` (exact matches) or ``[{name, value, type}]``.
HeaderMatches = Annotated[
    Annotated[dict[str, str], Tag(UNION_TAGS[0])]
    | Annotated[list[HeaderMatchSpec], Tag(UNION_TAGS[1])],
    Discriminator(_form),
]
#: ``set`` and ``add``: ``{name: value}`` or ``[{name, value}]``.
Headers = Annotated[
    Annotated[dict[str, str], Tag(UNION_TAGS[0])]
    | Annotated[list[HeaderSpec], Tag(UNION_TAGS[1])],
    Discriminator(_form),
]


class PathMatchSpec(_Spec):
    """``matches[].path``: how the request path is compared (Gateway API's HTTPPathMatch)."""

    type: PathMatchType = "PathPrefix"
    value: str


class MatchSpec(_Spec):
    """``spec.ingress.routes[].matches[]``: conditions a request must all meet.

    An HTTP route matches ``path``, ``method`` (an HTTP method) and ``headers``; a gRPC
    route ``service``, ``method`` (a gRPC method name) and ``headers``.
    """

    path: PathMatchSpec | None = None
    method: str | None = None
    service: str | None = None
    headers: HeaderMatches = {}


class PathModifierSpec(_Spec):
    """A new path: ``replacePrefixMatch`` (the matched prefix) or ``replaceFullPath``."""

    type: PathModifierType | None = None
    replace_prefix_match: str | None = Field(default=None, alias="replacePrefixMatch")
    replace_full_path: str | None = Field(default=None, alias="replaceFullPath")

    @pydantic.model_validator(mode="after")
    def one_path(self) -> PathModifierSpec:
        """Exactly one of the two keys, agreeing with ``type`` when it is given."""
        key = _one_key(self, _PATH_KEYS, "a path")
        if key is None:
            raise ValueError("a path needs replacePrefixMatch or replaceFullPath")
        if self.type is not None and self.type[0].lower() + self.type[1:] != key:
            raise ValueError(f"type {self.type!r} does not go with {key}")
        return self

    @property
    def value(self) -> str:
        """The new path (or prefix)."""
        return self.replace_prefix_match or self.replace_full_path or ""


_PATH_KEYS = {"replace_prefix_match": "replacePrefixMatch", "replace_full_path": "replaceFullPath"}


class URLRewriteSpec(_Spec):
    """``urlRewrite``: a new host and/or path before the request goes to the backend."""

    hostname: ExactHostname | None = None
    path: PathModifierSpec | None = None


class RedirectSpec(_Spec):
    """``requestRedirect``: answer with a redirect instead of forwarding."""

    scheme: RedirectScheme | None = None
    hostname: ExactHostname | None = None
    path: PathModifierSpec | None = None
    port: Port | None = None
    status_code: StatusCode = Field(default=301, alias="statusCode")


class HeaderModifierSpec(_Spec):
    """``requestHeaderModifier`` / ``responseHeaderModifier``: headers to set, add, remove."""

    set: Headers = {}
    add: Headers = {}
    remove: list[str] = []


_FILTER_KEYS = {
    "url_rewrite": "urlRewrite",
    "request_redirect": "requestRedirect",
    "request_header_modifier": "requestHeaderModifier",
    "response_header_modifier": "responseHeaderModifier",
}


class FilterSpec(_Spec):
    """``spec.ingress.routes[].filters[]``: one filter, by its Gateway API key.

    ``type`` may be given too, as in the Gateway API (``type: URLRewrite``), and must
    then agree with the key.
    """

    type: FilterType | None = None
    url_rewrite: URLRewriteSpec | None = Field(default=None, alias="urlRewrite")
    request_redirect: RedirectSpec | None = Field(default=None, alias="requestRedirect")
    request_header_modifier: HeaderModifierSpec | None = Field(
        default=None, alias="requestHeaderModifier"
    )
    response_header_modifier: HeaderModifierSpec | None = Field(
        default=None, alias="responseHeaderModifier"
    )

    @pydantic.model_validator(mode="after")
    def one_filter(self) -> FilterSpec:
        """Exactly one filter key, agreeing with ``type`` when it is given."""
        key = _one_key(self, _FILTER_KEYS, "a filter")
        if key is None:
            raise ValueError(f"a filter needs one of {', '.join(_FILTER_KEYS.values())}")
        wanted = "URLRewrite" if key == "urlRewrite" else key[0].upper() + key[1:]
        if self.type is not None and self.type != wanted:
            raise ValueError(f"type {self.type!r} does not go with {key}")
        return self


class BackendSpec(_Spec):
    """``spec.ingress.routes[].backends[]``: an app's Service port serving the route.

    ``service`` defaults to the route's app, ``namespace`` to the route's namespace and
    ``port`` to the app's only port.
    """

    service: AppName | None = None
    namespace: NamespaceName | None = None
    port: Port | None = None
    weight: Weight | None = None


class RouteSpec(_Spec):
    """``spec.ingress.routes[]``: requests the gateway sends to an app."""

    app: AppRefText
    name: RouteName | None = None
    protocol: RouteProtocol = "http"
    port: Port | None = None
    hostnames: list[Hostname] = []
    matches: list[MatchSpec] = []
    filters: list[FilterSpec] = []
    backends: list[BackendSpec] = []
    backend_scheme: BackendScheme = Field(default="http", alias="backendScheme")


class GatewaySpec(_Spec):
    """``spec.ingress.gateway``: the Gateway object; None name means the platform's name."""

    name: ObjectName | None = None
    namespace: NamespaceName = DEFAULT_GATEWAY_NAMESPACE


class TLSSpec(_Spec):
    """``spec.ingress.tls``: the ``kubernetes.io/tls`` Secret the gateway serves HTTPS with."""

    secret: ObjectName


class IngressSpec(_Spec):
    """``spec.ingress``: the gateway, and the routes from it to the apps."""

    gateway: GatewaySpec = GatewaySpec()
    hostname: Hostname | None = None
    http_port: Port = Field(default=80, alias="httpPort")
    https_port: Port = Field(default=443, alias="httpsPort")
    tls: TLSSpec | None = None
    log_level: LogLevel = Field(default="info", alias="logLevel")
    routes: list[RouteSpec] = []


def _hub(value: str) -> str:
    """Check an image registry: ``host[:port][/path]``, no scheme, no tag."""
    if not _HUB.fullmatch(value):
        raise ValueError(
            f"hub {quote(value)} must be an image registry such as 'registry.local:5000/istio' "
            "(host, optional port and path; no scheme, no tag)"
        )
    return value


def _tag(value: str) -> str:
    if not _TAG.fullmatch(value):
        raise ValueError(
            f"tag {quote(value)} must be an image tag: letters, digits, '_', '.' and '-', "
            "at most 128, not starting with '.' or '-'"
        )
    return value


_HUB = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

ProfileName = Literal["default", "minimal", "ambient", "demo", "empty"]


class IstioSpec(_Spec):
    """``spec.istio``: the Istio control plane, installed with ``istioctl install``."""

    enabled: bool = True
    profile: Annotated[ProfileName, BeforeValidator(_one_of(ProfileName, "profile"))] = "ambient"
    hub: Annotated[str, AfterValidator(_hub)] | None = None
    tag: Annotated[str, AfterValidator(_tag)] | None = None
    namespace: NamespaceName = "istio-system"
    watched_namespaces: list[NamespaceName] | None = Field(default=None, alias="watchedNamespaces")


class PlatformSpec(_Spec):
    """``spec``: Istio, the namespaces, the apps, the ingress, and deny-by-default."""

    istio: IstioSpec | None = None
    namespaces: list[NamespaceSpec] = []
    apps: list[AppSpec] = []
    ingress: IngressSpec | None = None
    hardened: bool = False


def _api_version(value: str) -> str:
    if value != API_VERSION:
        raise ValueError(
            f"apiVersion {quote(value)} is not supported: "
            f"meshops {meshops.__version__} reads {API_VERSION!r}"
        )
    return value


def _kind(value: str) -> str:
    if value != KIND:
        raise ValueError(f"kind {quote(value)} must be {KIND!r}")
    return value


class PlatformFile(_Spec):
    """A whole platform file."""

    api_version: Annotated[str, AfterValidator(_api_version)] = Field(alias="apiVersion")
    kind: Annotated[str, AfterValidator(_kind)]
    metadata: Metadata
    spec: PlatformSpec
