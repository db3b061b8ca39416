"""The platform file's ``ingress`` section into a gateway and the routes it serves.

The section becomes a :class:`~meshops.model.ingress.GatewayConfig` and one
:class:`~meshops.plan.ingress.RouteSet` per route, which
:func:`~meshops.plan.ingress.plan_ingress` turns into objects exactly as it does for the
istio-ingress-k8s charm's related applications:

* each route is a requirer of its own: its ``source`` is the route's name (unique in
  the file), its ``app`` and ``namespace`` those of the app it names, and its ``order``
  its place in the file, so that when a route of another app could take requests a
  route written before it serves (an overlapping path, method, headers or hostname), or
  claims the same TCP port or SNI name, **the route written first keeps it**, and the
  later one is an error naming both places; routes of one app never conflict;
* a route's backends default to its app's Service on the app's only port; a backend in
  the route's own namespace must be its app (the gateway's AuthorizationPolicy there
  opens that app's pods), one in another namespace must be an app of the file (the plan
  adds a ReferenceGrant there);
* TLS names an existing ``kubernetes.io/tls`` Secret in the gateway's namespace; the file
  holds no certificate, and ``meshops render`` renders no Secret.

What is checked here, beyond the schema: the model's own rules (through its
constructors, each error mapped back to its key in the file), the apps and namespaces a
route names, and what the plan would refuse about a single route (a TCP route on a web
port, a hostname the gateway does not answer), so that it is said in the file's words.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import ParamSpec, TypeVar

from meshops.model import ingress as model
from meshops.model.mesh import Method
from meshops.model.problems import closest, did_you_mean
from meshops.plan.ingress import IngressPlan, RouteSet
from meshops.plan.platform import WAYPOINT
from meshops.platform_file import schema
from meshops.platform_file.errors import SpecError, format_path
from meshops.platform_file.source import Document, Path

__all__ = ["Ingress", "build_ingress", "plan_errors"]

P = ParamSpec("P")
T = TypeVar("T")

_ROUTES: Path = ("spec", "ingress", "routes")
_FIELD = re.compile(r"(?:[A-Za-z_][\w-]*|\[\d+\]|\['[^']*'\]|\[\"[^\"]*\"\]|\.)+")
_SEGMENT = re.compile(r"([A-Za-z_][\w-]*)|\[(\d+)\]|\[(?:'[^']*'|\"[^\"]*\")\]")
#: GatewayConfig's field names, as the file spells them.
_GATEWAY_FIELDS: dict[str, Path] = {
    "gateway name": ("gateway", "name"),
    "gateway namespace": ("gateway", "namespace"),
    "external-hostname": ("hostname",),
    "http-port": ("httpPort",),
    "https-port": ("httpsPort",),
    "log-level": ("logLevel",),
    "tls secret": ("tls", "secret"),
}
#: The longest gateway name whose Istio Service, ``<name>-istio``, is a DNS label.
_GATEWAY_NAME_MAX = 63 - len("-istio")


@dataclasses.dataclass(frozen=True)
class Ingress:
    """What a platform file's ``ingress`` section asks for.

    Attributes:
        gateway: the gateway.
        route_sets: one per route of the file, in the file's order (``order`` is the
            route's index in ``spec.ingress.routes``, ``source`` its name).
        waypoints: the waypoint of each namespace on the mesh.
    """

    gateway: model.GatewayConfig
    route_sets: tuple[RouteSet, ...] = ()
    waypoints: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])


def build_ingress(
    doc: Document, spec: schema.PlatformFile, errors: list[SpecError]
) -> Ingress | None:
    """The ingress ``spec`` declares, or None with every reason added to ``errors``.

    Args:
        doc: the parsed file, for the places of errors.
        spec: the file, as the schema read it; its ``spec.ingress`` is not None.
        errors: where the errors go.
    """
    section = spec.spec.ingress
    if section is None:  # pragma: no cover - the loader only calls with a section
        return None
    builder = _Builder(doc, spec, errors)
    gateway = builder.gateway(section)
    route_sets = [builder.route_set(i, route, gateway) for i, route in enumerate(section.routes)]
    if builder.failed or gateway is None:
        return None
    waypoints = {ns.name: WAYPOINT for ns in spec.spec.namespaces if ns.mesh == "ambient"}
    return Ingress(gateway, tuple(s for s in route_sets if s is not None), waypoints)


def plan_errors(doc: Document, ingress: Ingress, plan: IngressPlan) -> list[SpecError]:
    """What :func:`~meshops.plan.ingress.plan_ingress` refused, at the routes' places."""
    index = {s.source: s.order for s in ingress.route_sets}
    errors: list[SpecError] = []
    for problem in plan.problems:
        where = index.get(problem.source)
        if where is None:  # pragma: no cover - every set the plan sees comes from the file
            errors.append(SpecError(doc.file, message=str(problem)))
            continue
        errors.append(doc.error((*_ROUTES, where), problem.message))
    for conflict in plan.conflicts:
        mine, theirs = index.get(conflict.source), index.get(conflict.holder_source)
        if mine is None or theirs is None:  # pragma: no cover - as above
            errors.append(SpecError(doc.file, message=str(conflict)))
            continue
        holder = (*_ROUTES, theirs)
        at = doc.position(holder)
        line = f", line {at.line}" if at else ""
        errors.append(
            doc.error(
                (*_ROUTES, mine),
                f"route {conflict.route!r} conflicts with route {conflict.holder_source!r} "
                f"({format_path(holder)}{line}) on {conflict.claim}; the route written "
                "first keeps it",
            )
        )
    return errors


class _Builder:
    """Turns the schema's ingress section into model objects, collecting errors."""

    def __init__(self, doc: Document, spec: schema.PlatformFile, errors: list[SpecError]) -> None:
        self.doc = doc
        self.errors = errors
        self.failed = False
        self.platform_name = spec.metadata.name
        self.namespaces = {ns.name: ns for ns in reversed(spec.spec.namespaces)}
        self.apps: dict[tuple[str, str], schema.AppSpec] = {}
        for app in spec.spec.apps:
            self.apps.setdefault((app.namespace, app.name), app)
        self.names: dict[str, int] = {}

    # -- errors ----------------------------------------------------------------------------

    def error(self, path: Path, message: str) -> None:
        self.failed = True
        self.errors.append(self.doc.error(path, message))

    def make(
        self,
        path: Path,
        where: Callable[[str], Path | None],
        make: Callable[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | None:
        """``make(*args, **kwargs)``, or None with its ValueError recorded at its place.

        The model's errors start with the field they are about; ``where`` turns that
        field into a path below ``path`` (None: the error is about ``path`` itself).
        """
        try:
            return make(*args, **kwargs)
        except ValueError as e:
            field, sep, message = str(e).partition(": ")
            sub = where(field) if sep else None
            if sub is None:
                self.error(path, str(e))
            else:
                self.error((*path, *sub), message)
            return None

    # -- the gateway -----------------------------------------------------------------------

    def gateway(self, section: schema.IngressSpec) -> model.GatewayConfig | None:
        here: Path = ("spec", "ingress")
        name = section.gateway.name or self.platform_name
        namespace = section.gateway.namespace
        if section.http_port == section.https_port:
            key = "httpsPort" if (*here, "httpsPort") in self.doc.values else "httpPort"
            self.error((*here, key), f"httpPort and httpsPort are both {section.http_port}")
        given = section.gateway.model_fields_set
        declared = self.namespaces.get(namespace)
        if declared is None:
            default = "" if "namespace" in given else " (the default)"
            self.error(
                (*here, "gateway", "namespace"),
                f"namespace {namespace!r}{default} is not declared in namespaces"
                + did_you_mean(namespace, sorted(self.namespaces)),
            )
        if len(name) > _GATEWAY_NAME_MAX:
            default = "" if "name" in given else " (the platform's name, by default)"
            self.error(
                (*here, "gateway", "name"),
                f"gateway name {name!r}{default} is longer than {_GATEWAY_NAME_MAX} "
                "characters: Istio names the gateway's Service '<name>-istio', a DNS label",
            )
        if declared is not None and name == WAYPOINT and declared.mesh != "off":
            self.error(
                (*here, "gateway", "name"),
                f"gateway name {name!r} is taken by the waypoint of namespace {namespace!r}",
            )
        if self.failed:
            return None
        return self.make(
            here,
            lambda field: _GATEWAY_FIELDS.get(field),
            model.GatewayConfig,
            name,
            namespace,
            hostname=section.hostname,
            http_port=section.http_port,
            https_port=section.https_port,
            tls_secret=section.tls.secret if section.tls else None,
            log_level=section.log_level,
        )

    # -- routes ----------------------------------------------------------------------------

    def route_set(
        self, i: int, spec: schema.RouteSpec, gateway: model.GatewayConfig | None
    ) -> RouteSet | None:
        path: Path = (*_ROUTES, i)
        count = len(self.errors)
        app = self.app(path, spec.app)
        name = self.name(i, spec, app)
        protocol = model.Protocol(spec.protocol.upper())
        matches = self.matches(path, spec, protocol)
        filters = [self.filter((*path, "filters", k), f) for k, f in enumerate(spec.filters)]
        backends = self.backends(path, spec, app, filters)
        if len(self.errors) > count or app is None or name is None:
            return None
        route = self.make(
            path,
            _relative({"scheme": ("backendScheme",)}),
            model.Route,
            name,
            protocol,
            spec.port,
            hostnames=tuple(spec.hostnames),
            matches=tuple(m for m in matches if m is not None),
            filters=tuple(f for f in filters if f is not None),
            backends=tuple(backends),
            backend_scheme=spec.backend_scheme,
        )
        if route is None:
            return None
        if gateway is not None:
            self.check_against(path, route, gateway)
        if len(self.errors) > count:
            return None
        return RouteSet(
            source=name, app=app.name, namespace=app.namespace, order=i, routes=(route,)
        )

    def app(self, path: Path, ref: str) -> schema.AppSpec | None:
        """The app a route's ``app`` names."""
        namespace, slash, name = ref.rpartition("/")
        if slash:
            found = self.apps.get((namespace, name))
            if found is None:
                self.error((*path, "app"), f"unknown app {ref!r}" + self.suggest(namespace, name))
            return found
        matching = sorted(ns for ns, n in self.apps if n == name)
        if not matching:
            known = sorted({n for _, n in self.apps})
            self.error((*path, "app"), f"unknown app {ref!r}" + did_you_mean(ref, known))
            return None
        if len(matching) > 1:
            self.error(
                (*path, "app"),
                f"app {ref!r} is in more than one namespace ({', '.join(matching)}): "
                f"write {matching[0] + '/' + ref!r} or another",
            )
            return None
        return self.apps[(matching[0], name)]

    def suggest(self, namespace: str, name: str) -> str:
        """``"; did you mean ...?"``: the app of that name elsewhere, or a close one there."""
        same = sorted(f"{ns}/{n}" for ns, n in self.apps if n == name)
        strays = sorted({ns for ns, n in self.apps if n == name and ns not in self.namespaces})
        if same and len(strays) == len(same):
            # The reference is likely right and the app's namespace the typo: say so.
            where = ", ".join(repr(ns) for ns in strays)
            return (
                f": app {name!r} is declared in namespace {where}, which is not declared "
                "in namespaces (see that app's namespace)"
            )
        if same:
            return f"; did you mean {' or '.join(repr(s) for s in same)}?"
        there = sorted(n for ns, n in self.apps if ns == namespace)
        close = closest(name, there)
        return f"; did you mean {namespace + '/' + close!r}?" if close is not None else ""

    def name(self, i: int, spec: schema.RouteSpec, app: schema.AppSpec | None) -> str | None:
        """The route's name, unique in the file (default: its app's name)."""
        path: Path = (*_ROUTES, i)
        if spec.name is not None:
            name = spec.name
        elif app is not None:
            name = app.name
        else:
            return None
        first = self.names.setdefault(name, i)
        if first != i:
            other = format_path((*_ROUTES, first))
            if spec.name is not None:
                self.error(
                    (*path, "name"),
                    f"route name {name!r} is used by {other} too: each route needs a name "
                    "of its own",
                )
            else:
                self.error(
                    path,
                    f"route name {name!r} (by default, its app's name) is used by {other} "
                    "too: give this route a name",
                )
            return None
        return name

    def matches(
        self, path: Path, spec: schema.RouteSpec, protocol: model.Protocol
    ) -> list[model.Match | None]:
        if spec.matches and protocol in (model.Protocol.TCP, model.Protocol.TLS):
            self.error(
                (*path, "matches"),
                f"a {spec.protocol} route has no matches (it is chosen by "
                f"{'its port' if protocol is model.Protocol.TCP else 'SNI hostname'})",
            )
            return []
        return [
            self.match((*path, "matches", j), m, spec.protocol) for j, m in enumerate(spec.matches)
        ]

    def match(self, path: Path, spec: schema.MatchSpec, protocol: str) -> model.Match | None:
        headers = self.header_matches((*path, "headers"), spec.headers)
        if protocol == "grpc":
            if spec.path is not None:
                self.error(
                    (*path, "path"),
                    "path is for http routes: a grpc route matches service, method and headers",
                )
                return None
            if headers is None:
                return None
            return self.make(
                path,
                _relative({"method.service": ("service",), "method.method": ("method",)}),
                model.GRPCMatch,
                spec.service,
                spec.method,
                headers,
            )
        if spec.service is not None:
            self.error(
                (*path, "service"),
                "service is for grpc routes: an http route matches path, method and headers",
            )
            return None
        method = None
        if spec.method is not None:
            try:
                method = Method(schema.check_http_method(spec.method))
            except ValueError as e:
                self.error((*path, "method"), str(e))
                return None
        path_match = None
        if spec.path is not None:
            path_match = self.make(
                path,
                _relative(),
                model.PathMatch,
                model.PathMatchType(spec.path.type),
                spec.path.value,
            )
            if path_match is None:
                return None
        if headers is None:
            return None
        return self.make(path, _relative(), model.HTTPMatch, path_match, method, headers)

    def header_matches(
        self, path: Path, spec: dict[str, str] | list[schema.HeaderMatchSpec]
    ) -> tuple[model.HeaderMatch, ...] | None:
        items = (
            [((*path, n), n, v, "Exact") for n, v in spec.items()]
            if isinstance(spec, dict)
            else [((*path, k), h.name, h.value, h.type) for k, h in enumerate(spec)]
        )
        found = [
            self.make(
                where, lambda _: (), model.HeaderMatch, n, v, model.HeaderMatchType(match_type)
            )
            for where, n, v, match_type in items
        ]
        if any(h is None for h in found):
            return None
        return tuple(h for h in found if h is not None)

    def filter(self, path: Path, spec: schema.FilterSpec) -> model.Filter | None:
        if spec.url_rewrite is not None:
            rewrite = spec.url_rewrite
            new_path = self.path_modifier((*path, "urlRewrite", "path"), rewrite.path)
            if rewrite.path is not None and new_path is None:
                return None
            return self.make(path, _relative(), model.URLRewrite, rewrite.hostname, new_path)
        if spec.request_redirect is not None:
            redirect = spec.request_redirect
            new_path = self.path_modifier((*path, "requestRedirect", "path"), redirect.path)
            if redirect.path is not None and new_path is None:
                return None
            return self.make(
                path,
                _relative(),
                model.RequestRedirect,
                redirect.scheme,
                redirect.hostname,
                new_path,
                redirect.port,
                redirect.status_code,
            )
        modifier = spec.request_header_modifier or spec.response_header_modifier
        if modifier is None:  # pragma: no cover - the schema needs one filter key
            return None
        return self.make(
            path,
            _relative(),
            model.HeaderModifier,
            set=_pairs(modifier.set),
            add=_pairs(modifier.add),
            remove=tuple(modifier.remove),
            response=spec.response_header_modifier is not None,
        )

    def path_modifier(
        self, path: Path, spec: schema.PathModifierSpec | None
    ) -> model.PathModifier | None:
        if spec is None:
            return None
        if spec.replace_prefix_match is not None:
            kind, key = model.PathModifierType.ReplacePrefixMatch, "replacePrefixMatch"
        else:
            kind, key = model.PathModifierType.ReplaceFullPath, "replaceFullPath"
        return self.make(path, lambda _: (key,), model.PathModifier, kind, spec.value)

    def backends(
        self,
        path: Path,
        spec: schema.RouteSpec,
        app: schema.AppSpec | None,
        filters: Sequence[model.Filter | None],
    ) -> list[model.Backend]:
        if app is None:
            return []
        if not spec.backends:
            if any(isinstance(f, model.RequestRedirect) for f in filters):
                return []  # a redirect answers by itself
            port = self.port_of(path, app, None, "backends")
            return [] if port is None else [model.Backend(app.name, port)]
        backends: list[model.Backend] = []
        for k, backend in enumerate(spec.backends):
            built = self.backend((*path, "backends", k), backend, app)
            if built is not None:
                backends.append(built)
        return backends

    def backend(
        self, path: Path, spec: schema.BackendSpec, app: schema.AppSpec
    ) -> model.Backend | None:
        service = spec.service or app.name
        namespace = spec.namespace or app.namespace
        if namespace == app.namespace and service != app.name:
            self.error(
                (*path, "service"),
                f"service {service!r} is in the route's namespace {namespace!r} but is not "
                f"its app {app.name!r}: a route's backends there are its own app's (give "
                f"{service!r} a route of its own)",
            )
            return None
        target = self.apps.get((namespace, service))
        if target is None:
            where: Path = (*path, "service") if spec.service else (*path, "namespace")
            self.error(
                where,
                f"unknown app {namespace + '/' + service!r} (a backend is an app of the file)"
                + self.suggest(namespace, service),
            )
            return None
        port = self.port_of(path, target, spec.port, "port")
        if port is None:
            return None
        return self.make(
            path,
            lambda _: (),
            model.Backend,
            service,
            port,
            spec.weight,
            namespace if namespace != app.namespace else None,
        )

    def port_of(self, path: Path, app: schema.AppSpec, port: int | None, key: str) -> int | None:
        """``port`` if ``app`` declares it; without one, the app's only port."""
        ports = [p.port for p in app.ports]
        listed = ", ".join(str(p) for p in ports)
        if port is not None:
            if port not in ports:
                its = f"its ports: {listed}" if ports else "it declares none"
                self.error(
                    (*path, "port"), f"port {port} is not a port of app {app.name!r} ({its})"
                )
                return None
            return port
        if len(ports) == 1:
            return ports[0]
        if ports:
            self.error(
                (*path, key),
                f"app {app.name!r} has ports {listed}: say which with "
                + ("backends: [{port: ...}]" if key == "backends" else "port"),
            )
        else:
            self.error(
                (*path, key),
                f"app {app.name!r} declares no ports: declare the port it serves on",
            )
        return None

    def check_against(self, path: Path, route: model.Route, gateway: model.GatewayConfig) -> None:
        """What the plan would refuse about this route on this gateway, in the file's words."""
        web = {gateway.http_port: "httpPort", gateway.https_port: "httpsPort"}
        if route.protocol in (model.Protocol.TCP, model.Protocol.TLS) and route.port in web:
            self.error(
                (*path, "port"),
                f"port {route.port} is the gateway's {web[route.port]}: a "
                f"{route.protocol.value.lower()} route needs a port of its own",
            )
        host = gateway.hostname
        if host is None or route.protocol not in (model.Protocol.HTTP, model.Protocol.GRPC):
            return
        for k, hostname in enumerate(route.hostnames):
            if not model.hostnames_intersect(hostname, host):
                self.error(
                    (*path, "hostnames", k),
                    f"hostname {hostname!r} is not one the gateway answers "
                    f"(spec.ingress.hostname is {host!r})",
                )


def _relative(renames: Mapping[str, Path] | None = None) -> Callable[[str], Path | None]:
    """Where a model field is below the object's place: renamed, or as the model says.

    Quoted indexes (``headers['x-id']``) are dropped: they name an entry the file may
    write as a key or as a list item.
    """
    table = dict(renames or {})

    def where(field: str) -> Path | None:
        if field in table:
            return table[field]
        if not _FIELD.fullmatch(field):
            return None
        path: list[str | int] = []
        for name, index in _SEGMENT.findall(field):
            if name:
                path.append(name)
            elif index:
                path.append(int(index))
        return tuple(path)

    return where


def _pairs(headers: dict[str, str] | list[schema.HeaderSpec]) -> tuple[tuple[str, str], ...]:
    if isinstance(headers, dict):
        return tuple(headers.items())
    return tuple((h.name, h.value) for h in headers)
