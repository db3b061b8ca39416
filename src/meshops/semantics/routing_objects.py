"""Reading Gateway API objects: the values :mod:`meshops.semantics.routing` evaluates.

The routing evaluator's first half: plain Kubernetes objects (Gateways, HTTPRoutes,
GRPCRoutes, their listeners, rules, matches, filters and backendRefs) read once into
frozen values, tolerant of what the API server would have defaulted or refused (a
missing field reads as its default; a field of the wrong type as absent). Which
listener, route and backend serve a request is the evaluator's business, not this
module's. The public value types :class:`HeaderChange`, :class:`Timeouts` and
:class:`Retry` are re-exported by :mod:`meshops.semantics.routing`, where they belong;
the other names here are that module's, not an API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from meshops.model.regex import Regex, check_regex
from meshops.model.selectors import LabelSelector, label_selector

__all__ = [
    "BackendRef",
    "CorsSpec",
    "GRPCMatch",
    "Gateway",
    "HTTPMatch",
    "HeaderChange",
    "Listener",
    "MirrorSpec",
    "Obj",
    "ParentRef",
    "PathModifier",
    "RedirectSpec",
    "Retry",
    "Route",
    "Rule",
    "StringMatch",
    "Timeouts",
    "as_map",
    "as_maps",
    "as_text",
    "flatten",
    "namespace_labels",
    "object_name",
    "object_namespace",
    "parse_gateway",
    "parse_route",
]

_GROUP = "gateway.networking.k8s.io"
_NS_NAME_LABEL = "kubernetes.io/metadata.name"
_L7 = frozenset({"HTTPRoute", "GRPCRoute"})
_DEFAULT_KINDS = {
    "HTTP": frozenset({"HTTPRoute", "GRPCRoute"}),
    "HTTPS": frozenset({"HTTPRoute", "GRPCRoute"}),
    "TLS": frozenset({"TLSRoute"}),
    "TCP": frozenset({"TCPRoute"}),
    "UDP": frozenset({"UDPRoute"}),
}

Obj = Mapping[str, object]
"""A Kubernetes object, or a part of one, as read."""


@dataclass(frozen=True)
class HeaderChange:
    """One header change a RequestHeaderModifier or ResponseHeaderModifier filter makes.

    Attributes:
        phase: ``"request"`` (before forwarding) or ``"response"`` (before answering).
        action: ``"set"`` (overwrite), ``"add"`` (append) or ``"remove"``.
        name: the header name.
        value: the value (None for remove).
    """

    phase: Literal["request", "response"]
    action: Literal["set", "add", "remove"]
    name: str
    value: str | None = None


@dataclass(frozen=True)
class Timeouts:
    """The rule's ``timeouts`` (Gateway API Duration strings; ``0s`` disables one).

    Attributes:
        request: the most the gateway takes to answer the whole request, retries
            included; None when unset (implementation-specific: Istio sets none).
        backend_request: the most one try towards a backend takes; None when unset.
    """

    request: str | None
    backend_request: str | None


@dataclass(frozen=True)
class Retry:
    """The rule's ``retry`` (experimental channel).

    Attributes:
        attempts: the most retries of one request, or None (implementation-specific).
        backoff: the least wait between tries (a Duration), or None.
        codes: the HTTP statuses of a backend's answer that are retried.
    """

    attempts: int | None
    backoff: str | None
    codes: tuple[int, ...]


# --- parsed objects (internal) --------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """A Gateway listener: port, protocol, hostname and the routes it admits."""

    gateway: str
    namespace: str
    name: str
    port: int
    protocol: str
    hostname: str | None
    namespaces_from: str
    selector: LabelSelector | None
    kinds: frozenset[str]
    selector_error: str = ""  # why the selector is no selector (an unknown operator...)

    def describe(self) -> str:
        """One line for the reasons."""
        host = f", hostname {self.hostname!r}" if self.hostname else ", any hostname"
        return f"listener {self.name} ({self.protocol}, port {self.port}{host})"


@dataclass(frozen=True)
class Gateway:
    """A Gateway as ``namespace/name`` and its listeners."""

    key: str
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class StringMatch:
    """A name/value matcher (header, query param, gRPC service or method)."""

    name: str
    value: str
    regex: Regex | None  # None: an Exact match

    def accepts(self, actual: str | None) -> bool:
        """Whether ``actual`` (None: absent) matches."""
        if actual is None:
            return False
        if self.regex is not None:
            return self.regex.fullmatch(actual)
        return actual == self.value

    def describe(self) -> str:
        """One line for the reasons."""
        op = "~" if self.regex is not None else "="
        return f"{self.name}{op}{self.value!r}"


@dataclass(frozen=True)
class HTTPMatch:
    """One ``matches[]`` entry of an HTTPRoute rule."""

    index: int | None
    path_type: str
    path: str
    path_regex: Regex | None
    method: str | None
    headers: tuple[StringMatch, ...]
    query: tuple[StringMatch, ...]

    def describe(self) -> str:
        """One line for the reasons."""
        parts = [f"{self.path_type} {self.path!r}"]
        parts += [f"method {self.method}"] if self.method else []
        parts += [f"header {h.describe()}" for h in self.headers]
        parts += [f"query {q.describe()}" for q in self.query]
        return ", ".join(parts)


@dataclass(frozen=True)
class GRPCMatch:
    """One ``matches[]`` entry of a GRPCRoute rule."""

    index: int | None
    service: StringMatch | None
    method: StringMatch | None
    headers: tuple[StringMatch, ...]

    def describe(self) -> str:
        """One line for the reasons."""
        parts = [m.describe() for m in (self.service, self.method) if m is not None]
        parts += [f"header {h.describe()}" for h in self.headers]
        return ", ".join(parts) or "any gRPC call"


@dataclass(frozen=True)
class PathModifier:
    """An HTTPPathModifier: ``ReplaceFullPath`` or ``ReplacePrefixMatch``."""

    type: str
    value: str


@dataclass(frozen=True)
class RedirectSpec:
    """A RequestRedirect filter."""

    scheme: str | None
    hostname: str | None
    port: int | None
    path: PathModifier | None
    status_code: int


@dataclass(frozen=True)
class _RewriteSpec:
    hostname: str | None
    path: PathModifier | None


@dataclass(frozen=True)
class MirrorSpec:
    """A RequestMirror filter: its backendRef and the share mirrored."""

    group: str
    kind: str
    namespace: str
    name: str
    port: int | None
    percent: float


@dataclass(frozen=True)
class CorsSpec:
    """A CORS filter (``maxAge`` defaulted to 5)."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int


@dataclass(frozen=True)
class _Filters:
    """What a list of filters (a rule's, or a backendRef's) does."""

    redirect: RedirectSpec | None = None
    rewrite: _RewriteSpec | None = None
    header_changes: tuple[HeaderChange, ...] = ()
    mirrors: tuple[MirrorSpec, ...] = ()
    cors: CorsSpec | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendRef:
    """A backendRef of a rule, with its own filters."""

    group: str
    kind: str
    namespace: str
    name: str
    port: int | None
    weight: int
    filters: _Filters = _Filters()


@dataclass(frozen=True)
class Rule:
    """A rule of an HTTPRoute or GRPCRoute, its filters read."""

    index: int
    name: str | None
    matches: tuple[HTTPMatch | GRPCMatch, ...]
    redirect: RedirectSpec | None
    rewrite: _RewriteSpec | None
    header_changes: tuple[HeaderChange, ...]
    notes: tuple[str, ...]
    backend_refs: tuple[BackendRef, ...]
    mirrors: tuple[MirrorSpec, ...] = ()
    cors: CorsSpec | None = None
    timeouts: Timeouts | None = None
    retry: Retry | None = None


@dataclass(frozen=True)
class ParentRef:
    """A parentRef of a route."""

    group: str
    kind: str
    namespace: str
    name: str
    section: str | None
    port: int | None


@dataclass(frozen=True)
class Route:
    """An HTTPRoute, GRPCRoute, TLSRoute or TCPRoute, as read."""

    kind: str
    namespace: str
    name: str
    created: float | None
    hostnames: tuple[str, ...]
    parents: tuple[ParentRef, ...]
    rules: tuple[Rule, ...]

    @property
    def key(self) -> str:
        """The route as ``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @property
    def age(self) -> tuple[int, float, str]:
        """Older first; routes without creationTimestamp last; then by namespace/name."""
        return (0, self.created, self.key) if self.created is not None else (1, 0.0, self.key)


# --- raw object access ----------------------------------------------------------------------


def as_map(value: object) -> Obj:
    """``value`` if it is a mapping, else an empty one."""
    return cast("Obj", value) if isinstance(value, Mapping) else {}


def as_maps(value: object) -> tuple[Obj, ...]:
    """The mappings of a list (other items skipped); none if not a list."""
    if not isinstance(value, list):
        return ()
    return tuple(cast("Obj", v) for v in cast("list[object]", value) if isinstance(v, Mapping))


def as_text(value: object, default: str = "") -> str:
    """``value`` if it is a string, else ``default``."""
    return value if isinstance(value, str) else default


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in cast("list[object]", value) if isinstance(v, str))


def object_namespace(obj: Obj) -> str:
    """An object's namespace (``default`` when it names none)."""
    return as_text(as_map(obj.get("metadata")).get("namespace"), "default")


def object_name(obj: Obj) -> str:
    """An object's name."""
    return as_text(as_map(obj.get("metadata")).get("name"))


def flatten(objects: Iterable[Mapping[str, object]]) -> Iterable[Obj]:
    """The objects, a ``List``'s items read in its place."""
    for obj in objects:
        if as_text(obj.get("kind")).endswith("List"):  # List, HTTPRouteList...
            yield from as_maps(obj.get("items"))
        else:
            yield obj


def _created(obj: Obj, problems: list[str]) -> float | None:
    stamp = _optional_text(as_map(obj.get("metadata")).get("creationTimestamp"))
    if stamp is None:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        problems.append(
            f"{object_namespace(obj)}/{object_name(obj)}: creationTimestamp {stamp!r} ignored"
        )
        return None


# --- parsing --------------------------------------------------------------------------------


def parse_gateway(obj: Obj) -> Gateway:
    """A Gateway object, read."""
    namespace, key = object_namespace(obj), f"{object_namespace(obj)}/{object_name(obj)}"
    listeners = tuple(
        _parse_listener(key, namespace, raw)
        for raw in as_maps(as_map(obj.get("spec")).get("listeners"))
    )
    return Gateway(key, listeners)


def _parse_listener(gateway: str, namespace: str, raw: Obj) -> Listener:
    allowed = as_map(raw.get("allowedRoutes"))
    namespaces = as_map(allowed.get("namespaces"))
    selector = namespaces.get("selector")
    parsed: LabelSelector | None = None
    selector_error = ""
    if selector is not None:
        try:
            parsed = label_selector(selector, "allowedRoutes.namespaces.selector")
        except ValueError as e:
            selector_error = str(e)
    protocol = as_text(raw.get("protocol"))
    kinds = frozenset(
        as_text(k.get("kind"))
        for k in as_maps(allowed.get("kinds"))
        if as_text(k.get("group"), _GROUP) == _GROUP
    )
    if not as_maps(allowed.get("kinds")):
        kinds = _DEFAULT_KINDS.get(protocol, frozenset())
    return Listener(
        gateway=gateway,
        namespace=namespace,
        name=as_text(raw.get("name")),
        port=_int(raw.get("port")) or 0,
        protocol=protocol,
        hostname=_optional_text(raw.get("hostname")),
        namespaces_from=as_text(namespaces.get("from"), "Same"),
        selector=parsed,
        kinds=kinds,
        selector_error=selector_error,
    )


def parse_route(kind: str, obj: Obj, problems: list[str]) -> Route | None:
    """A route object, read; problems found are appended to ``problems``."""
    namespace, name = object_namespace(obj), object_name(obj)
    spec = as_map(obj.get("spec"))
    label = f"{kind} {namespace}/{name}"
    raw_rules = as_maps(spec.get("rules"))
    if kind == "HTTPRoute" and not raw_rules:
        # The API server defaults an HTTPRoute's rules (not a GRPCRoute's) to one rule.
        default: Obj = {}
        raw_rules = (default,)
    rules = tuple(
        rule
        for i, raw in enumerate(raw_rules)
        if kind in _L7 and (rule := _parse_rule(kind, namespace, i, raw, label, problems))
    )
    return Route(
        kind=kind,
        namespace=namespace,
        name=name,
        created=_created(obj, problems),
        hostnames=tuple(h.lower() for h in _strings(spec.get("hostnames"))),
        parents=tuple(_parse_parent(namespace, p) for p in as_maps(spec.get("parentRefs"))),
        rules=rules,
    )


def _parse_parent(namespace: str, raw: Obj) -> ParentRef:
    return ParentRef(
        group=as_text(raw.get("group"), _GROUP),
        kind=as_text(raw.get("kind"), "Gateway"),
        namespace=as_text(raw.get("namespace"), namespace),
        name=as_text(raw.get("name")),
        section=_optional_text(raw.get("sectionName")),
        port=_int(raw.get("port")),
    )


def _parse_rule(
    kind: str, namespace: str, index: int, raw: Obj, label: str, problems: list[str]
) -> Rule | None:
    where = f"{label} rule {index}"
    parse = _parse_http_match if kind == "HTTPRoute" else _parse_grpc_match
    raw_matches = as_maps(raw.get("matches"))
    try:
        matches = tuple(parse(i, m) for i, m in enumerate(raw_matches)) or (
            # The API server defaults an HTTPRoute rule's matches to [PathPrefix "/"].
            (parse(0, {}),) if kind == "HTTPRoute" else (parse(None, {}),)
        )
    except ValueError as e:  # only check_regex raises here
        problems.append(f"{where}: {e}; rule ignored")
        return None
    filters = _parse_filters(as_maps(raw.get("filters")), where, namespace)
    refs = tuple(
        _parse_backend(namespace, b, f"{where} backendRefs[{i}]")
        for i, b in enumerate(as_maps(raw.get("backendRefs")))
    )
    return Rule(
        index=index,
        name=_optional_text(raw.get("name")),
        matches=matches,
        redirect=filters.redirect,
        rewrite=filters.rewrite,
        header_changes=filters.header_changes,
        notes=filters.notes,
        backend_refs=refs,
        mirrors=filters.mirrors,
        cors=filters.cors,
        timeouts=_parse_timeouts(as_map(raw.get("timeouts"))) if kind == "HTTPRoute" else None,
        retry=_parse_retry(raw.get("retry")) if kind == "HTTPRoute" else None,
    )


def _parse_http_match(index: int | None, raw: Obj) -> HTTPMatch:
    path = as_map(raw.get("path"))
    path_type = as_text(path.get("type"), "PathPrefix")
    value = as_text(path.get("value"), "/")
    return HTTPMatch(
        index=index,
        path_type=path_type,
        path=value,
        path_regex=check_regex(value, "path") if path_type == "RegularExpression" else None,
        method=_optional_text(raw.get("method")),
        headers=_string_matches(as_maps(raw.get("headers")), fold=True),
        query=_string_matches(as_maps(raw.get("queryParams")), fold=False),
    )


def _parse_grpc_match(index: int | None, raw: Obj) -> GRPCMatch:
    method = as_map(raw.get("method"))
    # The type is Exact (the default) or RegularExpression.
    is_regex = method.get("type") == "RegularExpression"

    def one(name: str) -> StringMatch | None:
        value = _optional_text(method.get(name))
        if value is None:
            return None
        return StringMatch(name, value, check_regex(value, f"method.{name}") if is_regex else None)

    return GRPCMatch(
        index=index,
        service=one("service"),
        method=one("method"),
        headers=_string_matches(as_maps(raw.get("headers")), fold=True),
    )


def _string_matches(raws: tuple[Obj, ...], *, fold: bool) -> tuple[StringMatch, ...]:
    """Header or query matchers; only the first of equivalent names counts."""
    seen: set[str] = set()
    found: list[StringMatch] = []
    for raw in raws:
        name = as_text(raw.get("name"))
        key = name.lower() if fold else name
        if key in seen:
            continue
        seen.add(key)
        value = as_text(raw.get("value"))
        # The type is Exact (the default) or RegularExpression.
        regex = check_regex(value, name) if raw.get("type") == "RegularExpression" else None
        found.append(StringMatch(name, value, regex))
    return tuple(found)


# The filters of a backendRef that are evaluated ("Support: Implementation-specific" at
# that level): Istio applies header modifiers and mirrors per backend.
_BACKEND_FILTERS = frozenset({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"})


def _parse_filters(
    raws: tuple[Obj, ...], where: str, namespace: str, *, backend: bool = False
) -> _Filters:
    redirect: RedirectSpec | None = None
    rewrite: _RewriteSpec | None = None
    cors: CorsSpec | None = None
    changes: list[HeaderChange] = []
    mirrors: list[MirrorSpec] = []
    notes: list[str] = []
    for raw in raws:
        kind = as_text(raw.get("type"))
        if backend and kind not in _BACKEND_FILTERS:
            notes.append(f"{where}: filter {kind!r} on a backendRef not evaluated")
        elif kind == "RequestRedirect":
            redirect = _parse_redirect(as_map(raw.get("requestRedirect")))
        elif kind == "URLRewrite":
            rewrite = _parse_rewrite(as_map(raw.get("urlRewrite")))
        elif kind == "RequestHeaderModifier":
            changes += _header_changes("request", as_map(raw.get("requestHeaderModifier")))
        elif kind == "ResponseHeaderModifier":
            changes += _header_changes("response", as_map(raw.get("responseHeaderModifier")))
        elif kind == "RequestMirror":
            mirrors.append(_parse_mirror(namespace, as_map(raw.get("requestMirror"))))
        elif kind == "CORS":
            cors = _parse_cors(as_map(raw.get("cors")))
        else:
            notes.append(f"{where}: filter {kind!r} not evaluated")
    return _Filters(redirect, rewrite, tuple(changes), tuple(mirrors), cors, tuple(notes))


def _parse_mirror(namespace: str, raw: Obj) -> MirrorSpec:
    ref = as_map(raw.get("backendRef"))
    percent = 100.0
    if _int(raw.get("percent")) is not None:
        percent = float(_int(raw.get("percent")) or 0)
    elif raw.get("fraction") is not None:
        fraction = as_map(raw.get("fraction"))
        numerator = _int(fraction.get("numerator")) or 0
        denominator = _int(fraction.get("denominator")) or 100
        percent = 100 * numerator / denominator
    return MirrorSpec(
        group=as_text(ref.get("group")),
        kind=as_text(ref.get("kind"), "Service"),
        namespace=as_text(ref.get("namespace"), namespace),
        name=as_text(ref.get("name")),
        port=_int(ref.get("port")),
        percent=round(percent, 2),
    )


def _parse_cors(raw: Obj) -> CorsSpec:
    max_age = _int(raw.get("maxAge"))
    return CorsSpec(
        allow_origins=_strings(raw.get("allowOrigins")),
        allow_methods=_strings(raw.get("allowMethods")),
        allow_headers=_strings(raw.get("allowHeaders")),
        expose_headers=_strings(raw.get("exposeHeaders")),
        allow_credentials=raw.get("allowCredentials") is True,
        max_age=5 if max_age is None else max_age,
    )


def _parse_timeouts(raw: Obj) -> Timeouts | None:
    request = _optional_text(raw.get("request"))
    backend = _optional_text(raw.get("backendRequest"))
    return None if request is None and backend is None else Timeouts(request, backend)


def _parse_retry(value: object) -> Retry | None:
    if not isinstance(value, Mapping):
        return None
    raw = cast("Obj", value)
    codes = raw.get("codes")
    listed = cast("list[object]", codes) if isinstance(codes, list) else []
    return Retry(
        attempts=_int(raw.get("attempts")),
        backoff=_optional_text(raw.get("backoff")),
        codes=tuple(c for c in listed if isinstance(c, int) and not isinstance(c, bool)),
    )


def _parse_path_modifier(raw: Obj) -> PathModifier | None:
    kind = _optional_text(raw.get("type"))
    if kind == "ReplaceFullPath":
        return PathModifier(kind, as_text(raw.get("replaceFullPath"), "/"))
    if kind == "ReplacePrefixMatch":
        return PathModifier(kind, as_text(raw.get("replacePrefixMatch")))
    return None


def _parse_redirect(raw: Obj) -> RedirectSpec:
    return RedirectSpec(
        scheme=_optional_text(raw.get("scheme")),
        hostname=_optional_text(raw.get("hostname")),
        port=_int(raw.get("port")),
        path=_parse_path_modifier(as_map(raw.get("path"))),
        status_code=_int(raw.get("statusCode")) or 302,
    )


def _parse_rewrite(raw: Obj) -> _RewriteSpec:
    return _RewriteSpec(
        hostname=_optional_text(raw.get("hostname")),
        path=_parse_path_modifier(as_map(raw.get("path"))),
    )


def _header_changes(phase: Literal["request", "response"], raw: Obj) -> list[HeaderChange]:
    changes = [
        HeaderChange(phase, action, as_text(h.get("name")), as_text(h.get("value")))
        for action in ("set", "add")
        for h in as_maps(raw.get(action))
    ]
    changes += [HeaderChange(phase, "remove", name) for name in _strings(raw.get("remove"))]
    return changes


def _parse_backend(namespace: str, raw: Obj, where: str) -> BackendRef:
    weight = _int(raw.get("weight"))
    return BackendRef(
        group=as_text(raw.get("group")),
        kind=as_text(raw.get("kind"), "Service"),
        namespace=as_text(raw.get("namespace"), namespace),
        name=as_text(raw.get("name")),
        port=_int(raw.get("port")),
        weight=1 if weight is None else weight,
        filters=_parse_filters(as_maps(raw.get("filters")), where, namespace, backend=True),
    )


def namespace_labels(objects: Iterable[Obj]) -> dict[str, dict[str, str]]:
    """Each Namespace's labels, with the name label the API server adds."""
    labels: dict[str, dict[str, str]] = {}
    for obj in objects:
        raw = as_map(as_map(obj.get("metadata")).get("labels"))
        labels[object_name(obj)] = {k: as_text(v) for k, v in raw.items()} | {
            _NS_NAME_LABEL: object_name(obj)
        }
    return labels
