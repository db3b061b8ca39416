"""Read a requirer's ``config``: its routes as domain values, or the problems with it.

:func:`read_config` is pure (no ``ops``, no I/O) and never raises, whatever the string
holds. It parses the JSON into :class:`IstioIngressRouteConfig`, then turns each route
into a :class:`meshops.model.ingress.Route`, checking on the way what the Gateway API
would refuse and how routes and listeners fit together. It is all or nothing: one bad
field voids the requirer's whole configuration (a half-read configuration could send
traffic where the requirer never meant it to go), and each problem names the relation,
the field path and the bad value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import pydantic
import pydantic_core

from meshops.interfaces._fields import json_type
from meshops.interfaces.istio_ingress_route._errors import as_field_error, clip, join_field, quote
from meshops.interfaces.istio_ingress_route._wire import (
    FILTER_TAGS,
    BackendRef,
    GRPCRoute,
    GRPCRouteMatch,
    HTTPRoute,
    HTTPRouteMatch,
    IstioIngressRouteConfig,
    Listener,
    PathModifier,
    RequestHeaderModifierFilter,
    RequestRedirectFilter,
    ResponseHeaderModifierFilter,
    TCPRoute,
    TLSRoute,
    URLRewriteFilter,
)
from meshops.model import ingress
from meshops.model.mesh import Method, check_namespace
from meshops.model.problems import Problem

__all__ = ["MAX_CONFIG_BYTES", "MAX_PROBLEMS", "ConfigRead", "read_config"]

MAX_CONFIG_BYTES = 1 << 20
"""A ``config`` larger than this (1 MiB of UTF-8) is refused without parsing."""
MAX_PROBLEMS = 50
"""Problems kept per configuration; the rest are counted in one last problem."""

# A Kubernetes Service name: an RFC 1035 label.
_SERVICE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_T = TypeVar("_T")


class ConfigRead(NamedTuple):
    """What one requirer's ``config`` held.

    All or nothing: when ``problems`` is not empty, ``config`` is None and ``routes`` is
    empty; when the requirer has not written a config yet, all three are empty.

    Attributes:
        config: the configuration as the wire model, exactly as written.
        routes: its routes as validated domain values: HTTP, then gRPC, TCP and TLS
            routes, each kind in the configuration's order.
        problems: what could not be used, naming the field and quoting the value.
    """

    config: IstioIngressRouteConfig | None
    routes: tuple[ingress.Route, ...]
    problems: tuple[Problem, ...]


def read_config(raw: str | None, *, source: str, app: str) -> ConfigRead:
    """Read a requirer's ``config`` value (None when the key is absent).

    Args:
        raw: the value of the ``config`` key in the requirer's app databag.
        source: where it came from, for the problems: ``"<relation name>:<id>"``.
        app: the requirer application, for the problems.

    Returns:
        The configuration and its routes, or the problems that void them. A route's
        filters are its ``filters``, then its ``header_filters``.

    Example:
        >>> read = read_config(
        ...     '{"model": "shop", "listeners": [{"port": 0, "protocol": "HTTP"}]}',
        ...     source="istio-ingress-route:7",
        ...     app="web",
        ... )
        >>> read.routes
        ()
        >>> problem = read.problems[0]
        >>> problem.source, problem.field
        ('istio-ingress-route:7', 'config.listeners[0].port')
        >>> problem.message
        'Input should be greater than or equal to 1, got 0'
    """
    if raw is None:
        return ConfigRead(None, (), ())
    reader = _Reader(source, app)
    value = reader.load(raw)
    if value is None:
        return reader.failed()
    try:
        config = IstioIngressRouteConfig.model_validate(value)
    except pydantic.ValidationError as e:
        reader.validation_error(e, "config")
        return reader.failed()
    routes = reader.routes(config)
    if reader.found:
        return reader.failed()
    return ConfigRead(config, tuple(routes), ())


def _loc(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a field path: ``http_routes[0].matches[1].path``."""
    out = ""
    in_headers = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif in_headers:  # a key of a headers object, whatever it spells
            out += f"[{quote(part)}]"
        elif part not in FILTER_TAGS:  # the union member pydantic tried; not a field
            out += f".{part}"
        in_headers = part == "headers" and not in_headers
    return out.lstrip(".")


class _Reader:
    """Collects the problems of one configuration while it is read."""

    def __init__(self, source: str, app: str) -> None:
        self.source = source
        self.app = app
        self.problems: list[Problem] = []
        self.more = 0  # problems beyond MAX_PROBLEMS: counted, not built

    @property
    def found(self) -> int:
        """How many problems were found so far (kept or only counted)."""
        return len(self.problems) + self.more

    def problem(self, field: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.source, field, clip(message), self.app))
        else:
            self.more += 1

    def failed(self) -> ConfigRead:
        problems = self.problems
        if self.more:
            more = self.more + 1  # the last one kept gives way to the count
            summary = Problem(self.source, "config", f"and {more} more problems", self.app)
            problems = [*problems[: MAX_PROBLEMS - 1], summary]
        return ConfigRead(None, (), tuple(problems))

    def attempt(self, field: str, build: Callable[[], _T]) -> _T | None:
        """``build()``, or None with a problem at ``field`` + the error's own field path."""
        try:
            return build()
        except ValueError as e:
            error = as_field_error(e)
            self.problem(join_field(field, error.field), error.detail)
            return None

    # -- parsing ---------------------------------------------------------------------

    def load(self, raw: str) -> dict[str, Any] | None:
        """The JSON object ``raw`` holds, or None with a problem."""
        limit = f"over the limit of {MAX_CONFIG_BYTES} bytes; refused unread"
        if len(raw) > MAX_CONFIG_BYTES:  # every character is at least one byte
            self.problem("config", f"holds {len(raw)} characters, {limit}")
            return None
        size = len(raw.encode("utf-8", "surrogatepass"))
        if size > MAX_CONFIG_BYTES:
            self.problem("config", f"is {size} bytes, {limit}")
            return None
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            self.problem("config", f"is not valid UTF-8 (a lone surrogate): {quote(raw)}")
            return None
        try:
            # The JSON parser the ecosystem's models use, so the same documents parse.
            value = pydantic_core.from_json(raw)
        except ValueError as e:
            self.problem("config", f"is not valid JSON ({clip(str(e))}): {quote(raw)}")
            return None
        if not isinstance(value, dict):
            self.problem("config", f"must be a JSON object, got {json_type(value)}")
            return None
        return value  # pyright: ignore[reportUnknownVariableType]

    def validation_error(self, error: pydantic.ValidationError, field: str) -> None:
        details = error.errors(include_url=False)
        for k, detail in enumerate(details):
            if len(self.problems) >= MAX_PROBLEMS:
                self.more += len(details) - k
                return
            where = join_field(field, _loc(detail["loc"]))
            ctx: dict[str, Any] = detail.get("ctx") or {}
            cause = ctx.get("error")
            if detail["type"] == "value_error" and isinstance(cause, ValueError):
                found = as_field_error(cause)
                where, message = join_field(where, found.field), found.detail
            elif detail["type"] == "missing":
                message = "is required"
            elif detail["type"] in ("model_type", "model_attributes_type", "dict_type"):
                message = f"must be a JSON object, got {json_type(detail['input'])}"
            elif detail["type"] == "list_type":
                message = f"must be a JSON array, got {json_type(detail['input'])}"
            else:
                message = f"{detail['msg']}, got {quote(detail['input'])}"
            self.problem(where, message)

    # -- the whole configuration -----------------------------------------------------

    def routes(self, config: IstioIngressRouteConfig) -> list[ingress.Route]:
        """Every route of ``config`` as a domain value (problems recorded, not raised)."""
        self.attempt("", lambda: check_namespace(config.model, "config.model"))
        self.check_ports(config)
        self.check_names(config)
        listeners = set(config.listeners)
        routes: list[ingress.Route | None] = []
        for i, route in enumerate(config.http_routes):
            routes.append(self.l7_route(route, f"config.http_routes[{i}]", listeners))
        for i, route in enumerate(config.grpc_routes):
            routes.append(self.l7_route(route, f"config.grpc_routes[{i}]", listeners))
        for i, route in enumerate(config.tcp_routes):
            routes.append(self.l4_route(route, f"config.tcp_routes[{i}]"))
        for i, route in enumerate(config.tls_routes):
            routes.append(self.l4_route(route, f"config.tls_routes[{i}]"))
        return [route for route in routes if route is not None]

    def check_ports(self, config: IstioIngressRouteConfig) -> None:
        """Refuse listeners that cannot share a Gateway port, and TCP routes sharing one.

        HTTP and gRPC both ride on one HTTP(S) Gateway listener, so they may share a
        port; a TCP or TLS listener is a different Gateway listener, and a port has one.
        TCP carries no hostname, so a TCP port serves one route; TLS routes on a port
        are told apart by SNI, so their hostnames must not overlap.
        """
        family = {"HTTP": "HTTP", "GRPC": "HTTP", "TCP": "TCP", "TLS": "TLS"}
        first: dict[int, tuple[str, str]] = {}  # port -> (protocol, field) that took it
        claims = [
            (f"config.listeners[{i}]", listener.port, listener.protocol.value)
            for i, listener in enumerate(config.listeners)
        ]
        for kind, l4_routes in (("tcp", config.tcp_routes), ("tls", config.tls_routes)):
            claims += [
                (f"config.{kind}_routes[{i}].listener", route.listener.port, kind.upper())
                for i, route in enumerate(l4_routes)
            ]
        for field, port, protocol in claims:
            taken = first.setdefault(port, (protocol, field))
            if family[taken[0]] != family[protocol]:
                self.problem(
                    field,
                    f"port {port} is asked for as {protocol} and as {taken[0]} "
                    f"({taken[1]}); HTTP and GRPC may share a port, TCP and TLS share "
                    "one with no other protocol",
                )

        tcp_ports: dict[int, str] = {}  # port -> the TCP route that took it
        for i, route in enumerate(config.tcp_routes):
            port, field = route.listener.port, f"config.tcp_routes[{i}]"
            taken = tcp_ports.setdefault(port, field)
            if taken != field:
                self.problem(
                    f"{field}.listener",
                    f"port {port} already serves the TCP route {taken}; TCP carries no "
                    "hostname to tell routes apart, so a port serves one TCP route",
                )
        sni: dict[int, _SNINames] = {}
        for i, route in enumerate(config.tls_routes):
            port, field = route.listener.port, f"config.tls_routes[{i}]"
            names = sni.setdefault(port, _SNINames())
            for name in route.hostnames:
                clash = names.overlap(name)
                if clash is not None:
                    self.problem(
                        f"{field}.hostnames",
                        f"{quote(name)} overlaps {quote(clash[0])} of the TLS route {clash[1]} "
                        f"on port {port}; SNI could not tell them apart",
                    )
                    break
            for name in route.hostnames:
                names.add(name, field)

    def check_names(self, config: IstioIngressRouteConfig) -> None:
        """Refuse two routes with one name (of any kind: they name one requirer's routes)."""
        seen: dict[str, str] = {}
        kinds: list[tuple[str, Sequence[HTTPRoute | GRPCRoute | TCPRoute | TLSRoute]]] = [
            ("http_routes", config.http_routes),
            ("grpc_routes", config.grpc_routes),
            ("tcp_routes", config.tcp_routes),
            ("tls_routes", config.tls_routes),
        ]
        for key, routes in kinds:
            for i, route in enumerate(routes):
                field = f"config.{key}[{i}]"
                first = seen.setdefault(route.name, field)
                if first != field:
                    self.problem(
                        f"{field}.name",
                        f"route name {quote(route.name)} is already the name of {first}",
                    )

    # -- one route -------------------------------------------------------------------

    def l7_route(
        self, route: HTTPRoute | GRPCRoute, field: str, listeners: set[Listener]
    ) -> ingress.Route | None:
        before = self.found
        if route.listener not in listeners:
            self.problem(
                f"{field}.listener",
                f"{route.listener.name} (port {route.listener.port}, protocol "
                f"{route.listener.protocol.value}) is not one of config.listeners",
            )
        matches: list[ingress.Match | None] = []
        for j, match in enumerate(route.matches or ()):
            where = f"{field}.matches[{j}]"
            if isinstance(match, HTTPRouteMatch):
                matches.append(self.attempt(where, lambda m=match: _http_match(m)))
            else:
                matches.append(self.attempt(where, lambda m=match: _grpc_match(m)))
        filters: list[ingress.Filter | None] = []
        for j, wire_filter in enumerate(route.filters or ()):
            where = f"{field}.filters[{j}]"
            filters.append(self.attempt(where, lambda f=wire_filter: _route_filter(f)))
        for j, header_filter in enumerate(route.header_filters or ()):
            where = f"{field}.header_filters[{j}]"
            filters.append(self.attempt(where, lambda f=header_filter: _header_filter(f)))
        backends = self.backends(route.backends, field)
        if self.found > before:
            return None
        protocol = ingress.Protocol.HTTP if isinstance(route, HTTPRoute) else ingress.Protocol.GRPC
        return self.attempt(
            field,
            lambda: ingress.Route(
                name=route.name,
                protocol=protocol,
                port=route.listener.port,
                hostnames=tuple(route.hostnames or ()),
                matches=tuple(m for m in matches if m is not None),
                filters=tuple(f for f in filters if f is not None),
                backends=backends,
            ),
        )

    def l4_route(self, route: TCPRoute | TLSRoute, field: str) -> ingress.Route | None:
        before = self.found
        backends = self.backends(route.backends, field)
        if self.found > before:
            return None
        tls = isinstance(route, TLSRoute)
        return self.attempt(
            field,
            lambda: ingress.Route(
                name=route.name,
                protocol=ingress.Protocol.TLS if tls else ingress.Protocol.TCP,
                port=route.listener.port,
                hostnames=tuple(route.hostnames) if isinstance(route, TLSRoute) else (),
                backends=backends,
            ),
        )

    def backends(self, backends: Sequence[BackendRef], field: str) -> tuple[ingress.Backend, ...]:
        result: list[ingress.Backend] = []
        for j, ref in enumerate(backends):
            where = f"{field}.backends[{j}]"
            if len(ref.service) > 63 or not _SERVICE.fullmatch(ref.service):
                self.problem(
                    f"{where}.service",
                    f"{quote(ref.service)} is not a Kubernetes Service name (1-63 lowercase "
                    "letters, digits and '-', starting with a letter and ending with a letter "
                    "or digit)",
                )
                continue
            backend = self.attempt(
                where, lambda r=ref: ingress.Backend(r.service, r.port, weight=r.weight)
            )
            if backend is not None:
                result.append(backend)
        return tuple(result)


class _SNINames:
    """The SNI names the TLS routes on one port answer, indexed to find overlaps.

    Two names overlap when one request could match both (as
    :func:`meshops.model.ingress.hostnames_intersect` says); looking each name's parent
    domains up in dicts finds that without comparing every pair. Names that are not
    valid hostnames are left out: the route holding them is refused anyway.
    """

    def __init__(self) -> None:
        self._names: dict[str, tuple[str, str]] = {}  # name -> (name, route)
        self._wildcards: dict[str, tuple[str, str]] = {}  # "x.com" of "*.x.com" -> same
        self._parents: dict[str, tuple[str, str]] = {}  # "x.com" of "a.x.com" -> same

    @staticmethod
    def _parents_of(name: str) -> list[str]:
        labels = name.removeprefix("*.").split(".")
        return [".".join(labels[k:]) for k in range(1, len(labels))]

    def overlap(self, name: str) -> tuple[str, str] | None:
        """The name and route an earlier route answers that overlaps ``name``, if any."""
        try:
            ingress.check_hostname(name, "hostname")
        except ValueError:
            return None
        if name in self._names:
            return self._names[name]
        for parent in self._parents_of(name):
            if parent in self._wildcards:  # an earlier "*.parent" matches name
                return self._wildcards[parent]
        if name.startswith("*."):  # name matches an earlier name below it
            return self._parents.get(name.removeprefix("*."))
        return None

    def add(self, name: str, route: str) -> None:
        """Record that ``route`` answers ``name``."""
        try:
            ingress.check_hostname(name, "hostname")
        except ValueError:
            return
        owner = (name, route)
        self._names.setdefault(name, owner)
        if name.startswith("*."):
            self._wildcards.setdefault(name.removeprefix("*."), owner)
        for parent in self._parents_of(name):
            self._parents.setdefault(parent, owner)


# Each builder below raises ValueError naming a field relative to what it builds.


def _http_match(match: HTTPRouteMatch) -> ingress.HTTPMatch:
    path = None
    if match.path is not None:
        kind = ingress.PathMatchType(match.path.type.value)
        path = ingress.PathMatch(kind, match.path.value)
    return ingress.HTTPMatch(
        path=path,
        method=Method(match.method.value) if match.method is not None else None,
        headers=_header_matches(match.headers),
    )


def _grpc_match(match: GRPCRouteMatch) -> ingress.GRPCMatch:
    method = match.method
    return ingress.GRPCMatch(
        service=method.service if method is not None else None,
        method=method.method if method is not None else None,
        headers=_header_matches(match.headers),
    )


def _route_filter(wire: URLRewriteFilter | RequestRedirectFilter) -> ingress.Filter:
    if isinstance(wire, URLRewriteFilter):
        spec = wire.urlRewrite
        path = _path_modifier(spec.path, "urlRewrite.path")
        return ingress.URLRewrite(hostname=spec.hostname, path=path)
    redirect = wire.requestRedirect
    return ingress.RequestRedirect(
        scheme=redirect.scheme,
        hostname=redirect.hostname,
        path=_path_modifier(redirect.path, "requestRedirect.path"),
        port=redirect.port,
        status_code=redirect.statusCode,
    )


def _header_filter(
    wire: RequestHeaderModifierFilter | ResponseHeaderModifierFilter,
) -> ingress.HeaderModifier:
    response = isinstance(wire, ResponseHeaderModifierFilter)
    spec = wire.responseHeaderModifier if response else wire.requestHeaderModifier
    return ingress.HeaderModifier(
        set=tuple((h.name, h.value) for h in spec.set or ()),
        add=tuple((h.name, h.value) for h in spec.add or ()),
        remove=tuple(spec.remove or ()),
        response=response,
    )


def _header_matches(headers: dict[str, str] | None) -> tuple[ingress.HeaderMatch, ...]:
    return tuple(ingress.HeaderMatch(name, value) for name, value in (headers or {}).items())


def _path_modifier(wire: PathModifier | None, field: str) -> ingress.PathModifier | None:
    """The domain path modifier, its errors named by the wire's key (``replaceFullPath``)."""
    if wire is None:
        return None
    key = "replaceFullPath" if wire.type.value == "ReplaceFullPath" else "replacePrefixMatch"
    try:
        return ingress.PathModifier(ingress.PathModifierType(wire.type.value), wire.value)
    except ValueError as e:
        detail = as_field_error(e).detail
        raise ValueError(f"{field}.{key}: {detail}") from None
