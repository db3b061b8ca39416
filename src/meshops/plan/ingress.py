"""Ingress: the Gateway, and the routes, grants and policies that serve what requirers ask.

Input is a :class:`~meshops.model.ingress.GatewayConfig` and one :class:`RouteSet` per
requirer (a related application, or an app in the platform file); output is every
object the gateway needs, the problems found, and which routes are served.

Listeners. The gateway always listens on ``http-port``; with TLS also on ``https-port``
(HTTPS, terminated with the configured Secret), and then the HTTP listener only
redirects (301) to HTTPS. A route with no port, or on ``http-port``, is a *web* route:
it is served on the HTTP listener, or on the HTTPS one when the gateway has TLS. HTTP
and gRPC routes on any other port get a listener of their own on that port, HTTPS when
the gateway has TLS; TCP routes a TCP listener; TLS routes a passthrough listener,
chosen by SNI. HTTP(S) listeners carry the gateway's external hostname, if it has one.
Each listener is named ``<protocol>-<port>`` (``http-80``, ``https-443``, ``tcp-5432``).

Where objects go. Routes live in the requirer's namespace: a requirer's HTTP routes on
one listener and for the same hostnames are the rules of one HTTPRoute (likewise gRPC),
named ``<gateway>-<app>-<listener>``; each rule carries its route's name (a cross-namespace backend
gets a ReferenceGrant in its own namespace); the Gateway, the redirect route and the
DestinationRules (TLS or HTTP/2 towards a backend, for the gateway only) live in the
gateway's namespace; each backend app gets an AuthorizationPolicy in its namespace that
lets the gateway, by its service account, reach the backend's ports (and, where the
namespace uses a waypoint, lets the waypoint in too: an ALLOW policy on pods denies what
no ALLOW policy allows, and calls through the Service reach the pods from the waypoint).

Ownership, decided per route. Requirers are taken in ``order`` (a relation's id, which
Juju hands out in creation order: the older relation first; a platform file's route,
its place in the file). On a listener, the first application whose route takes a
request owns it: a later route of another application is refused when any request
could meet both it and a route already accepted, whichever the Gateway API's precedence
would pick (:mod:`meshops.model.overlap` decides, and says yes whenever overlap cannot
be ruled out). So a longer prefix or an exact path inside an owned prefix, the same
prefix narrowed by a method or a header, a regex that may match inside it, and ``/``
(or a wildcard hostname) over a host another application serves are all refused. Routes
of one application (by namespace and name) never conflict with each other: the
Gateway API's precedence decides among them. Beyond requests, a TCP route claims its
listener, a TLS route its SNI hostname (a ``*.`` wildcard claims the names it covers),
and a port claims its protocol; and an HTTP and a gRPC route may not share a listener
and hostname (the Gateway API accepts only one of them). A route that claims what an
earlier requirer holds is refused, and only that route: the earlier requirer keeps it,
every other route of both keeps serving.

Hostnames of their own. A requirer may instead claim whole hostnames
(:class:`HostnameSet`: the gateway-route interface, whose requirers write their own
routes). Each claimed hostname gets listeners of its own, named as that interface's
requirers expect them: ``<gateway>-http-<hostname with '-' for '.'>`` on ``http-port``
and, once its certificate's Secret is given, ``<gateway>-https-<...>`` on ``https-port``;
both admit routes from the claimant's namespace only, so no other application can attach
to them. A hostname belongs to its first claimant (a later one is a :class:`Conflict`); a
claim past the Gateway API's 64 listeners (31 hostnames), or on the gateway's own
``external-hostname`` (or a name under its wildcard), or on a hostname an accepted route
names, or whose listener names would pass the Gateway API's 253 characters, is refused,
and a later route naming a claimed hostname is a conflict too. The web listeners,
without a hostname, still answer every host no listener names.

What is Istio's. With ``gateway.istio`` (an Istio class) the plan adds what only Istio
reads: the AuthorizationPolicies, the DestinationRules, the proxy's log-level
annotation. For any other implementation it leaves them out, and a route asking for a
backend scheme only a DestinationRule gives (``https``, ``h2c``) is bad input.

Bad input (a route whose hostname the gateway does not answer, a TCP route on a web
port, two of one requirer's routes on one port with protocols that cannot share it)
refuses every route of that requirer, with a problem naming it; the caller may keep
what that requirer had before (see :data:`ROUTE_SOURCE_LABEL`).

Example:
    >>> from meshops.model.ingress import Backend, GatewayConfig, Protocol, Route
    >>> gw = GatewayConfig("ingress", "edge")
    >>> shop = RouteSet("ingress:3", "shop", "prod", 3,
    ...                 (web_route("shop", "prod", 8080, strip_prefix=True),))
    >>> plan = plan_ingress(gw, [shop])
    >>> [(o["kind"], o["metadata"]["name"]) for o in plan.objects]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('Gateway', 'ingress'), ('HTTPRoute', 'ingress-shop-http-80'),
     ('AuthorizationPolicy', 'ingress-shop-ingress-3')]
    >>> plan.served["ingress:3"]
    ('ingress',)
"""

from __future__ import annotations

import base64
import dataclasses
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from meshops.model.ingress import (
    Backend,
    GatewayConfig,
    GatewayProtocol,
    GRPCMatch,
    HeaderModifier,
    HTTPMatch,
    PathMatch,
    PathMatchType,
    PathModifier,
    PathModifierType,
    Protocol,
    RequestRedirect,
    Route,
    URLRewrite,
    hostnames_intersect,
)
from meshops.model.mesh import APP_NAME_LABEL
from meshops.model.names import dns_label, label_value, principal, stable_hash
from meshops.model.overlap import (
    grpc_matches_overlap,
    hostnames_overlap,
    http_matches_overlap,
    path_elements,
)
from meshops.model.problems import Problem

__all__ = [
    "ROUTE_SOURCE_LABEL",
    "Conflict",
    "HostnameSet",
    "IngressPlan",
    "Listener",
    "RouteSet",
    "hostname_listener_names",
    "plan_ingress",
    "tls_secret",
    "web_path",
    "web_route",
    "web_url",
]

Obj = dict[str, Any]

#: Label on each object naming the requirer (its :attr:`RouteSet.source`) it serves.
ROUTE_SOURCE_LABEL = "meshops.io/route-source"
GATEWAY_GROUP = "gateway.networking.k8s.io"
_API = f"{GATEWAY_GROUP}/v1"
_API_VERSION = {
    "HTTPRoute": _API,
    "GRPCRoute": _API,
    "TLSRoute": _API,
    "TCPRoute": f"{GATEWAY_GROUP}/v1alpha2",
}
#: The Gateway API's limit on rules per HTTPRoute and GRPCRoute.
MAX_RULES = 16
#: The Gateway API's limit on listeners per Gateway, and on a listener's name.
MAX_LISTENERS = 64
MAX_NAME = 253
#: The hostnames that may be claimed whole: two listeners each (HTTP and HTTPS), beside
#: the two web listeners.
MAX_CLAIMED_HOSTNAMES = MAX_LISTENERS // 2 - 1
#: The header HSTS is sent in (RFC 6797).
HSTS_HEADER = "Strict-Transport-Security"
#: Istio's annotation for its proxies' log level, honoured on a Gateway's infrastructure.
LOG_LEVEL_ANNOTATION = "sidecar.istio.io/logLevel"


@dataclasses.dataclass(frozen=True)
class RouteSet:
    """The routes one requirer asks for.

    Attributes:
        source: who asked, e.g. ``"ingress:4"`` (relation name and id) or a file place.
        app: the requirer's application; its pods are labelled
            ``app.kubernetes.io/name=<app>``.
        namespace: where its routes go (its model), and its backends live.
        order: precedence in conflicts: the lower claims first.
        routes: what it asks for.
    """

    source: str
    app: str
    namespace: str
    order: int
    routes: tuple[Route, ...]


@dataclasses.dataclass(frozen=True)
class HostnameSet:
    """The hostnames one requirer claims whole (it writes its own routes for them).

    Attributes:
        source: who asked, e.g. ``"gateway-route:7"``.
        app: the requirer's application.
        namespace: the namespace its routes attach from (its model's).
        order: precedence in conflicts: the lower claims first.
        hostnames: what it claims, each a hostname without wildcards.
    """

    source: str
    app: str
    namespace: str
    order: int
    hostnames: tuple[str, ...]


@dataclasses.dataclass(frozen=True, order=True)
class Listener:
    """One of the Gateway's listeners.

    Attributes:
        port: its port.
        protocol: its protocol.
        hostname: the hostname it answers; None for any.
        label: its name, when it is not ``<protocol>-<port>`` (a claimed hostname's).
    """

    port: int
    protocol: GatewayProtocol
    hostname: str | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        """``<protocol>-<port>``, e.g. ``https-443``, or its label."""
        return self.label or f"{self.protocol.value.lower()}-{self.port}"


def hostname_listener_names(gateway: str, hostname: str) -> tuple[str, str]:
    """The names of a claimed hostname's HTTP and HTTPS listeners.

    Example:
        >>> hostname_listener_names("gw", "shop.example.com")
        ('gw-http-shop-example-com', 'gw-https-shop-example-com')
    """
    dashed = hostname.replace(".", "-")
    return f"{gateway}-http-{dashed}", f"{gateway}-https-{dashed}"


@dataclasses.dataclass(frozen=True)
class Conflict:
    """A route refused because an earlier requirer holds what it claims."""

    source: str
    app: str
    route: str
    claim: str
    holder_source: str
    holder_app: str

    def __str__(self) -> str:
        return (
            f"route {self.route!r} of {self.app} conflicts with {self.holder_app} "
            f"({self.holder_source}) on {self.claim}"
        )


@dataclasses.dataclass
class IngressPlan:
    """What the gateway should hold, and what was refused.

    Attributes:
        objects: every object, in a stable order (Gateway first).
        problems: bad input, per requirer.
        conflicts: routes refused because another requirer holds what they claim.
        served: for each requirer (source), the names of its routes that are served.
        refused_sources: requirers whose every route was refused for bad input.
        listeners: the Gateway's listeners.
        hostnames: for each hostname claimed and granted, the source that holds it.
    """

    objects: list[Obj]
    problems: list[Problem]
    conflicts: list[Conflict]
    served: dict[str, tuple[str, ...]]
    refused_sources: set[str]
    listeners: tuple[Listener, ...]
    hostnames: dict[str, str] = dataclasses.field(default_factory=dict[str, str])


def web_path(namespace: str, app: str) -> str:
    """The path prefix an ingress v2 requirer is served under: ``/<model>-<app>``."""
    return f"/{namespace}-{app}"


def web_route(
    app: str, namespace: str, port: int, *, strip_prefix: bool = False, scheme: str = "http"
) -> Route:
    """The route an ``ingress`` (v2) requirer gets: ``/<model>-<app>`` on the web ports.

    Example:
        >>> r = web_route("shop", "prod", 8080, strip_prefix=True)
        >>> r.matches[0].path.value, type(r.filters[0]).__name__
        ('/prod-shop', 'URLRewrite')
    """
    match = HTTPMatch(path=PathMatch(PathMatchType.PathPrefix, web_path(namespace, app)))
    rewrite = URLRewrite(path=PathModifier(PathModifierType.ReplacePrefixMatch, "/"))
    return Route(
        name="ingress",
        protocol=Protocol.HTTP,
        port=None,
        matches=(match,),
        filters=(rewrite,) if strip_prefix else (),
        backends=(Backend(app, port),),
        backend_scheme=scheme,
    )


def web_url(gateway: GatewayConfig, host: str, namespace: str, app: str) -> str | None:
    """The URL of an ingress v2 requirer's route, or None if ``host`` is not one host.

    Example:
        >>> web_url(GatewayConfig("gw", "edge", http_port=8080), "10.0.0.1", "prod", "shop")
        'http://10.0.0.1:8080/prod-shop'
    """
    if not host or "*" in host:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    scheme, port, default = (
        ("https", gateway.https_port, 443) if gateway.tls else ("http", gateway.http_port, 80)
    )
    where = host if port == default else f"{host}:{port}"
    return f"{scheme}://{where}{web_path(namespace, app)}"


def tls_secret(name: str, namespace: str, certificate_chain: str, private_key: str) -> Obj:
    """A ``kubernetes.io/tls`` Secret holding a certificate (with its chain) and its key."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {
            "tls.crt": base64.b64encode(certificate_chain.encode()).decode(),
            "tls.key": base64.b64encode(private_key.encode()).decode(),
        },
    }


# -- planning ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Holder:
    """Who holds a claim: a requirer's route (by name), or a hostname it claims whole.

    A hostname claim has no route, and no ``namespace``: what meets it conflicts,
    whoever the owner.
    """

    source: str
    app: str
    route: str | None = None
    namespace: str = ""

    @property
    def owner(self) -> tuple[str, str]:
        """The application, by namespace and name: its routes never conflict."""
        return (self.namespace, self.app)


@dataclasses.dataclass
class _Accepted:
    route_set: RouteSet
    route: Route
    listeners: tuple[Listener, ...]


@dataclasses.dataclass(frozen=True)
class _Take:
    """Requests an accepted HTTP or gRPC route takes on a listener: a hostname, a match."""

    hostname: str
    match: HTTPMatch | GRPCMatch
    holder: _Holder
    seq: int

    @property
    def text(self) -> str:
        return f"{self.hostname} {_describe(self.match)}"

    def overlaps(self, hostname: str, match: HTTPMatch | GRPCMatch) -> bool:
        if not hostnames_overlap(hostname, self.hostname):
            return False
        if isinstance(match, HTTPMatch) and isinstance(self.match, HTTPMatch):
            return http_matches_overlap(match, self.match)
        if isinstance(match, GRPCMatch) and isinstance(self.match, GRPCMatch):
            return grpc_matches_overlap(match, self.match)
        return False  # HTTP and gRPC on one hostname conflict by kind (see _Claims.find)


class _Node:
    """A path element in the tree of held paths, and the takes whose path ends here."""

    __slots__ = ("children", "takes")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.takes: list[_Take] = []

    def below(self) -> Iterator[list[_Take]]:
        stack = list(self.children.values())
        while stack:
            node = stack.pop()
            yield node.takes
            stack.extend(node.children.values())


class _HostTakes:
    """The requests taken for one hostname of a listener.

    Paths sit in a tree of the elements every path they match starts with (one
    overlaps another only along it: :func:`~meshops.model.overlap.path_elements`);
    those with none known (the prefix ``/``, a regex that may match any path) aside;
    gRPC matches by service.
    """

    def __init__(self) -> None:
        self.paths = _Node()
        self.wide: list[_Take] = []
        self.grpc: dict[str | None, list[_Take]] = {}

    def add(self, taken: _Take) -> None:
        match = taken.match
        if isinstance(match, GRPCMatch):
            self.grpc.setdefault(match.service, []).append(taken)
            return
        elements = path_elements(match.effective_path)
        if elements is None:
            self.wide.append(taken)
            return
        node = self.paths
        for element in elements:
            node = node.children.setdefault(element, _Node())
        node.takes.append(taken)

    def candidates(self, match: HTTPMatch | GRPCMatch) -> list[list[_Take]]:
        """The lists of takes ``match`` could overlap; no other can."""
        if isinstance(match, GRPCMatch):
            if match.service is None:
                return list(self.grpc.values())
            return [self.grpc.get(match.service, []), self.grpc.get(None, [])]
        found = [self.wide]
        path = match.effective_path
        elements = path_elements(path)
        if elements is None:
            found.extend(self.paths.below())
            return found
        node = self.paths
        for element in elements:  # the path's ancestors, and itself
            child = node.children.get(element)
            if child is None:
                return found
            node = child
            found.append(node.takes)
        if path.type is not PathMatchType.Exact:  # and what lies under a prefix or regex
            found.extend(node.below())
        return found


class _ListenerTakes:
    """The requests taken on one listener, by hostname (``*``: every host)."""

    def __init__(self) -> None:
        self.hosts: dict[str, _HostTakes] = {}

    def add(self, taken: _Take) -> None:
        self.hosts.setdefault(taken.hostname, _HostTakes()).add(taken)

    def candidates(self, hostname: str, match: HTTPMatch | GRPCMatch) -> list[list[_Take]]:
        found: list[list[_Take]] = []
        for host in self._meeting(hostname):
            found.extend(self.hosts[host].candidates(match))
        return found

    def _meeting(self, hostname: str) -> list[str]:
        """The held hostnames a request for ``hostname`` could be for."""
        if hostname == "*" or hostname.startswith("*."):
            return [h for h in self.hosts if hostnames_overlap(hostname, h)]
        labels = hostname.split(".")
        wildcards = ["*." + ".".join(labels[i:]) for i in range(1, len(labels))]
        return [h for h in (hostname, "*", *wildcards) if h in self.hosts]


class _Claims:
    """What accepted routes hold, to find conflicts.

    Ports hold a protocol; a TCP listener is held whole; a TLS listener by SNI hostname;
    an HTTP listener by the requests its routes take (hostname and match): a later
    route of another application conflicts when a request could meet one of its matches
    and a held one (:mod:`meshops.model.overlap`). Held requests are indexed by hostname
    and path elements (gRPC: the service), so a match is compared only with those it
    could overlap: on the hostnames it could meet, along its path, and regexes and the
    prefix ``/`` (which could take any); a few hundred requirers under one prefix stay
    cheap to plan.
    """

    def __init__(self) -> None:
        # the gateway's own web ports are not held here: _check_set refuses a TCP or TLS
        # route on them, and an HTTP or gRPC route on them is on the gateway's listeners
        self.ports: dict[int, tuple[GatewayProtocol, _Holder]] = {}
        self.tcp: dict[str, _Holder] = {}
        # per TLS listener: (SNI hostname, holder)
        self.sni: dict[str, list[tuple[str, _Holder]]] = {}
        # per listener, per route kind (HTTPRoute, GRPCRoute): (hostname, holder)
        self.kinds: dict[str, dict[str, list[tuple[str, _Holder]]]] = {}
        # per listener: the requests HTTP and gRPC routes take
        self.takes: dict[str, _ListenerTakes] = {}
        # hostnames claimed whole (HostnameSet), and the listener names they use
        self.hosts: dict[str, _Holder] = {}
        self.host_listeners: dict[str, str] = {}
        self.seq = 0  # the order requests were taken in: the oldest claim is named

    def find(
        self, route: Route, listeners: Sequence[Listener], owner: tuple[str, str]
    ) -> tuple[str, _Holder] | None:
        """The first thing ``route`` claims that is held already, and by whom.

        ``owner`` is the route's application: requests its own routes take are no
        conflict (the Gateway API's precedence decides among them).
        """
        route_kind = route.kind
        for listener in listeners:
            where = listener.name
            held = self.ports.get(listener.port)
            if held is not None and held[0] is not listener.protocol:
                what = f"port {listener.port} ({held[0].value}, not {listener.protocol.value})"
                return what, held[1]
            if route.protocol is Protocol.TCP:
                if where in self.tcp:
                    return where, self.tcp[where]
                continue
            for hostname in _hostnames(route, listener):
                if route.hostnames:
                    for other, holder in self.hosts.items():
                        if hostnames_overlap(hostname, other):
                            return f"hostname {other} (its listeners)", holder
                if route.protocol is Protocol.TLS:
                    for other, holder in self.sni.get(where, []):
                        if hostnames_overlap(hostname, other):
                            return f"{where} SNI {_overlap_text(hostname, other)}", holder
                    continue
                for kind, held_hosts in self.kinds.get(where, {}).items():
                    if kind == route_kind:
                        continue
                    for other, holder in held_hosts:
                        if hostnames_overlap(hostname, other):
                            return f"{where} host {hostname} ({kind} there)", holder
                for match in _matches(route):
                    taken = self._taken(where, hostname, match, owner)
                    if taken is not None:
                        mine = f"{hostname} {_describe(match)}"
                        return f"{where} {_overlap_text(mine, taken.text)}", taken.holder
        return None

    def _taken(
        self, where: str, hostname: str, match: HTTPMatch | GRPCMatch, owner: tuple[str, str]
    ) -> _Take | None:
        """The oldest request claim of another application that ``match`` overlaps."""
        held = self.takes.get(where)
        if held is None:
            return None
        # each list is in the order requests were taken: merged, the first found is the oldest
        for taken in heapq.merge(*held.candidates(hostname, match), key=lambda t: t.seq):
            if taken.holder.owner != owner and taken.overlaps(hostname, match):
                return taken
        return None

    def take(self, route: Route, listeners: Sequence[Listener], holder: _Holder) -> None:
        for listener in listeners:
            where = listener.name
            self.ports.setdefault(listener.port, (listener.protocol, holder))
            if route.protocol is Protocol.TCP:
                self.tcp.setdefault(where, holder)
                continue
            for hostname in _hostnames(route, listener):
                if route.protocol is Protocol.TLS:
                    self.sni.setdefault(where, []).append((hostname, holder))
                    continue
                kinds = self.kinds.setdefault(where, {})
                kinds.setdefault(route.kind, []).append((hostname, holder))
                held = self.takes.setdefault(where, _ListenerTakes())
                for match in _matches(route):
                    self.seq += 1
                    held.add(_Take(hostname, match, holder, self.seq))

    def find_host(
        self, gateway: GatewayConfig, hostname: str
    ) -> tuple[str, _Holder | None] | None:
        """What a claim of ``hostname`` whole meets that is held already, and by whom."""
        if gateway.hostname is not None and hostnames_overlap(hostname, gateway.hostname):
            return f"hostname {hostname} (external-hostname {gateway.hostname})", None
        if hostname in self.hosts:
            return f"hostname {hostname}", self.hosts[hostname]
        names = hostname_listener_names(gateway.name, hostname)
        for name in names:
            if name in self.host_listeners:
                other = self.host_listeners[name]
                return f"listener {name} (of hostname {other})", self.hosts[other]
        for held_hosts in self.kinds.values():
            for held in held_hosts.values():
                for other, holder in held:
                    if other != "*" and hostnames_overlap(hostname, other):
                        return f"hostname {hostname} (a route's, {other})", holder
        for held in self.sni.values():
            for other, holder in held:
                if hostnames_overlap(hostname, other):
                    return f"hostname {hostname} (a TLS route's, {other})", holder
        return None

    def take_host(self, gateway: GatewayConfig, hostname: str, holder: _Holder) -> None:
        self.hosts[hostname] = holder
        for name in hostname_listener_names(gateway.name, hostname):
            self.host_listeners[name] = hostname


def _overlap_text(mine: str, theirs: str) -> str:
    """What a route claims, and what it overlaps when that is not the same."""
    return mine if mine == theirs else f"{mine} (overlapping {theirs})"


def plan_ingress(
    gateway: GatewayConfig,
    route_sets: Iterable[RouteSet],
    waypoints: Mapping[str, str] | None = None,
    *,
    hostname_sets: Iterable[HostnameSet] = (),
    hostname_secrets: Mapping[str, str] | None = None,
) -> IngressPlan:
    """Everything ``gateway`` needs to serve ``route_sets``; see the module docstring.

    Args:
        gateway: the gateway.
        route_sets: what the requirers ask for.
        waypoints: the waypoint (its name) each namespace's Services use, where they use
            one: the policy letting the gateway reach a backend's pods also lets that
            waypoint in, so calls through the backend's Service keep working (Istio only).
        hostname_sets: the hostnames requirers claim whole.
        hostname_secrets: for claimed hostnames, the ``kubernetes.io/tls`` Secret (in the
            gateway's namespace) of their certificate: those get an HTTPS listener.
    """
    claims = _Claims()
    problems: list[Problem] = []
    conflicts: list[Conflict] = []
    accepted: list[_Accepted] = []
    served: dict[str, tuple[str, ...]] = {}
    refused: set[str] = set()
    granted: dict[str, HostnameSet] = {}
    items: list[RouteSet | HostnameSet] = [*route_sets, *hostname_sets]
    for route_set in sorted(items, key=lambda s: (s.order, s.source)):
        if isinstance(route_set, HostnameSet):
            names = []
            for hostname in route_set.hostnames:
                held = claims.find_host(gateway, hostname)
                if len(hostname_listener_names(gateway.name, hostname)[1]) > MAX_NAME:
                    message = f"hostname {hostname}: its listener names would pass {MAX_NAME} "
                    message += "characters"
                    problems.append(Problem(route_set.source, "hostname", message, route_set.app))
                    continue
                if held is None and len(granted) >= MAX_CLAIMED_HOSTNAMES:
                    message = (
                        f"hostname {hostname}: the Gateway is full (at most {MAX_LISTENERS} "
                        f"listeners: {MAX_CLAIMED_HOSTNAMES} hostnames of their own)"
                    )
                    problems.append(Problem(route_set.source, "hostname", message, route_set.app))
                    continue
                if held is None:
                    holder = _Holder(route_set.source, route_set.app)
                    claims.take_host(gateway, hostname, holder)
                    granted[hostname] = route_set
                    names.append(hostname)
                    continue
                what, holder = held
                if holder is None or holder.source == route_set.source:
                    mine = holder is not None
                    message = (
                        f"{what} is claimed twice" if mine else f"{what} is the gateway's own"
                    )
                    problems.append(Problem(route_set.source, "hostname", message, route_set.app))
                else:
                    conflicts.append(
                        Conflict(
                            route_set.source,
                            route_set.app,
                            hostname,
                            what,
                            holder.source,
                            holder.app,
                        )
                    )
            served[route_set.source] = tuple(names)
            continue
        found = _check_set(route_set, gateway)
        if found:
            problems.extend(found)
            refused.add(route_set.source)
            served[route_set.source] = ()
            continue
        names: list[str] = []
        for route in route_set.routes:
            listeners = _listeners_for(route, gateway)
            held = claims.find(route, listeners, (route_set.namespace, route_set.app))
            if held is not None:
                what, holder = held
                if holder.source == route_set.source:
                    by = f"its route {holder.route!r}" if holder.route else "its own claim"
                    problems.append(_problem(route_set, route, f"{what}: held by {by}"))
                else:
                    conflicts.append(
                        Conflict(
                            route_set.source,
                            route_set.app,
                            route.name,
                            what,
                            holder.source,
                            holder.app,
                        )
                    )
                continue
            holder = _Holder(route_set.source, route_set.app, route.name, route_set.namespace)
            claims.take(route, listeners, holder)
            accepted.append(_Accepted(route_set, route, listeners))
            names.append(route.name)
        served[route_set.source] = tuple(names)
    secrets = hostname_secrets or {}
    owners: dict[str, str] = {}
    for hostname, owner in granted.items():
        http, https = hostname_listener_names(gateway.name, hostname)
        owners[http] = owner.namespace
        if hostname in secrets:
            owners[https] = owner.namespace
    listeners = _gateway_listeners(gateway, accepted, granted, secrets)
    objects = [_gateway(gateway, listeners, accepted, owners, secrets)]
    if gateway.tls and gateway.redirect_http:
        objects.append(_redirect(gateway))
    objects.extend(_routes(gateway, accepted))
    objects.extend(_reference_grants(gateway, accepted))
    if gateway.istio:
        objects.extend(_destination_rules(gateway, accepted))
        objects.extend(_authorization_policies(gateway, accepted, waypoints or {}))
    hostnames = {h: owner.source for h, owner in granted.items()}
    return IngressPlan(objects, problems, conflicts, served, refused, tuple(listeners), hostnames)


def _problem(route_set: RouteSet, route: Route, message: str) -> Problem:
    return Problem(route_set.source, f"routes[{route.name!r}]", message, route_set.app)


def _check_set(route_set: RouteSet, gateway: GatewayConfig) -> list[Problem]:
    """Bad input that refuses the whole set."""
    problems: list[Problem] = []
    names = [r.name for r in route_set.routes]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            Problem(route_set.source, "routes", f"two routes named {name!r}", route_set.app)
        )
    ports: dict[int, tuple[GatewayProtocol, str]] = {}
    for route in route_set.routes:
        for listener in _listeners_for(route, gateway):
            protocol, other = ports.setdefault(listener.port, (listener.protocol, route.name))
            if protocol is not listener.protocol:
                problems.append(
                    _problem(
                        route_set,
                        route,
                        f"port {listener.port}: {listener.protocol.value} here, "
                        f"{protocol.value} for its route {other!r}",
                    )
                )
        if not gateway.istio and route.backend_scheme in ("https", "h2c"):
            problems.append(
                _problem(
                    route_set,
                    route,
                    f"backend scheme {route.backend_scheme!r} is not built for gateway class "
                    f"{gateway.gateway_class!r} (only Istio's: it needs a DestinationRule)",
                )
            )
        web = (gateway.http_port, gateway.https_port)
        if route.protocol in (Protocol.TCP, Protocol.TLS) and route.port in web:
            problems.append(
                _problem(route_set, route, f"port {route.port} is the gateway's web port")
            )
        listener_host = gateway.hostname
        if listener_host and route.protocol in (Protocol.HTTP, Protocol.GRPC):
            for hostname in route.hostnames:
                if not hostnames_intersect(hostname, listener_host):
                    problems.append(
                        _problem(
                            route_set,
                            route,
                            f"hostname {hostname!r} is not served by this gateway "
                            f"(external-hostname {listener_host!r})",
                        )
                    )
    return problems


def _listeners_for(route: Route, gateway: GatewayConfig) -> tuple[Listener, ...]:
    """The listener(s) a route is served on."""
    port = route.port
    if route.protocol is Protocol.TCP:
        return (Listener(port or 0, GatewayProtocol.TCP),)
    if route.protocol is Protocol.TLS:
        return (Listener(port or 0, GatewayProtocol.TLS),)
    hostname = gateway.hostname
    if port is None or port == gateway.http_port:
        http = Listener(gateway.http_port, GatewayProtocol.HTTP, hostname)
        if gateway.tls:
            https = Listener(gateway.https_port, GatewayProtocol.HTTPS, hostname)
            return (https,) if gateway.redirect_http else (https, http)
        return (http,)
    protocol = GatewayProtocol.HTTPS if gateway.tls else GatewayProtocol.HTTP
    return (Listener(port, protocol, hostname),)


def _hostnames(route: Route, listener: Listener) -> tuple[str, ...]:
    """The hostnames a route answers on a listener (``*`` for any)."""
    if route.hostnames:
        if listener.hostname is None:
            return route.hostnames
        return tuple(h for h in route.hostnames if hostnames_intersect(h, listener.hostname))
    return (listener.hostname or "*",)


def _matches(route: Route) -> tuple[HTTPMatch | GRPCMatch, ...]:
    """An HTTP or gRPC route's matches; none means one that matches every request."""
    if route.matches:
        return route.matches
    return (HTTPMatch(),) if route.protocol is Protocol.HTTP else (GRPCMatch(),)


def _describe(match: HTTPMatch | GRPCMatch) -> str:
    """A match in words: ``PathPrefix /api GET with headers x-env=prod``."""
    if isinstance(match, HTTPMatch):
        path = match.effective_path
        text = f"{path.type.value} {path.value}"
        if match.method is not None:
            text += f" {match.method.value}"
    else:
        text = f"gRPC {match.service or '*'}/{match.method or '*'}"
    if match.headers:
        headers = sorted((h.name.lower(), h.type.value, h.value) for h in match.headers)
        text += " with headers " + ",".join(
            f"{n}{'~' if t == 'RegularExpression' else '='}{v}" for n, t, v in headers
        )
    return text


# -- objects -------------------------------------------------------------------------------


def _gateway_listeners(
    gateway: GatewayConfig,
    accepted: Sequence[_Accepted],
    granted: Mapping[str, HostnameSet],
    secrets: Mapping[str, str],
) -> list[Listener]:
    wanted = {Listener(gateway.http_port, GatewayProtocol.HTTP, gateway.hostname)}
    if gateway.tls:
        wanted.add(Listener(gateway.https_port, GatewayProtocol.HTTPS, gateway.hostname))
    for item in accepted:
        wanted.update(item.listeners)
    for hostname in granted:
        http, https = hostname_listener_names(gateway.name, hostname)
        wanted.add(Listener(gateway.http_port, GatewayProtocol.HTTP, hostname, http))
        if hostname in secrets:
            wanted.add(Listener(gateway.https_port, GatewayProtocol.HTTPS, hostname, https))
    return sorted(wanted, key=lambda x: (x.port, x.protocol.value, x.label or ""))


def _gateway(
    gateway: GatewayConfig,
    listeners: Sequence[Listener],
    accepted: Sequence[_Accepted],
    owners: Mapping[str, str],
    secrets: Mapping[str, str],
) -> Obj:
    namespaces = sorted({item.route_set.namespace for item in accepted} | {gateway.namespace})
    allowed: Obj = {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": namespaces,
                    }
                ]
            },
        }
    }
    rendered: list[Obj] = []
    for listener in listeners:
        owner = owners.get(listener.name)
        item: Obj = {
            "name": listener.name,
            "port": listener.port,
            "protocol": listener.protocol.value,
            "allowedRoutes": allowed if owner is None else _only_from(owner),
        }
        if listener.hostname:
            item["hostname"] = listener.hostname
        if listener.protocol is GatewayProtocol.HTTPS:
            secret = gateway.tls_secret
            if owner is not None and listener.hostname is not None:
                secret = secrets[listener.hostname]
            item["tls"] = {
                "mode": "Terminate",
                "certificateRefs": [{"kind": "Secret", "group": "", "name": secret}],
            }
        elif listener.protocol is GatewayProtocol.TLS:
            item["tls"] = {"mode": "Passthrough"}
        rendered.append(item)
    spec: Obj = {"gatewayClassName": gateway.gateway_class}
    if gateway.istio:
        spec["infrastructure"] = {"annotations": {LOG_LEVEL_ANNOTATION: gateway.log_level}}
    spec["listeners"] = rendered
    return {
        "apiVersion": _API,
        "kind": "Gateway",
        "metadata": {"name": gateway.name, "namespace": gateway.namespace},
        "spec": spec,
    }


def _only_from(namespace: str) -> Obj:
    """Routes may attach from ``namespace`` alone."""
    return {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [namespace]}
                ]
            },
        }
    }


def _parent_ref(gateway: GatewayConfig, listener: Listener) -> Obj:
    return {
        "group": GATEWAY_GROUP,
        "kind": "Gateway",
        "name": gateway.name,
        "namespace": gateway.namespace,
        "sectionName": listener.name,
    }


def _redirect(gateway: GatewayConfig) -> Obj:
    """The HTTP listener's one route: everything to HTTPS, permanently."""
    redirect: Obj = {"scheme": "https", "statusCode": 301}
    if gateway.https_port != 443:
        redirect["port"] = gateway.https_port
    listener = Listener(gateway.http_port, GatewayProtocol.HTTP)  # only its name is read
    return {
        "apiVersion": _API,
        "kind": "HTTPRoute",
        "metadata": {
            "name": dns_label(gateway.name, "https-redirect"),
            "namespace": gateway.namespace,
        },
        "spec": {
            "parentRefs": [_parent_ref(gateway, listener)],
            "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": redirect}]}],
        },
    }


def _routes(gateway: GatewayConfig, accepted: Sequence[_Accepted]) -> list[Obj]:
    """The route objects, one or more per requirer.

    A requirer's HTTP (or gRPC) routes on one listener, for the same hostnames, are the
    rules of one object (at most 16, the Gateway API's limit), each rule named after its
    route; TCP and TLS routes are an object each.
    """
    groups: dict[tuple[str, str, tuple[Listener, ...], tuple[str, ...]], list[_Accepted]] = {}
    for item in accepted:
        route = item.route
        grouped = route.protocol in (Protocol.HTTP, Protocol.GRPC)
        key = (
            item.route_set.source,
            route.kind if grouped else f"{route.kind}/{route.name}",
            item.listeners,
            route.hostnames,
        )
        groups.setdefault(key, []).append(item)
    out: list[Obj] = []
    used: set[tuple[str, str, str]] = set()
    for (_, _, listeners, hostnames), items in groups.items():
        route_set, first = items[0].route_set, items[0].route
        if first.protocol in (Protocol.HTTP, Protocol.GRPC):
            parts = [gateway.name, route_set.app, *(x.name for x in listeners)]
            if first.protocol is Protocol.GRPC:
                parts.append("grpc")
            if hostnames:
                parts.append(stable_hash(*hostnames, length=6))
        else:
            parts = [gateway.name, route_set.app, first.name]
        for n, start in enumerate(range(0, len(items), MAX_RULES)):
            chunk = items[start : start + MAX_RULES]
            name = dns_label(*parts, *((str(n + 1),) if n else ()))
            if (first.kind, route_set.namespace, name) in used:
                name = dns_label(*parts, route_set.source, str(n + 1))
            used.add((first.kind, route_set.namespace, name))
            spec: Obj = {"parentRefs": [_parent_ref(gateway, x) for x in listeners]}
            if hostnames:
                spec["hostnames"] = list(hostnames)
            # HSTS comes with the redirect to HTTPS: every HTTP route is then on HTTPS alone
            spec["rules"] = [_rule(item.route, gateway.hsts) for item in chunk]
            out.append(
                {
                    "apiVersion": _API_VERSION[first.kind],
                    "kind": first.kind,
                    "metadata": {
                        "name": name,
                        "namespace": route_set.namespace,
                        "labels": {ROUTE_SOURCE_LABEL: label_value(route_set.source)},
                    },
                    "spec": spec,
                }
            )
    return out


def _rule(route: Route, hsts: int | None = None) -> Obj:
    """A route's rule; ``hsts``: the Strict-Transport-Security max-age its responses get."""
    rule: Obj = {"name": route.name}
    if route.protocol is Protocol.HTTP and route.matches:
        rule["matches"] = [_http_match(m) for m in route.matches if isinstance(m, HTTPMatch)]
    elif route.protocol is Protocol.GRPC and route.matches:
        rule["matches"] = [_grpc_match(m) for m in route.matches if isinstance(m, GRPCMatch)]
    filters = [_filter(f) for f in route.filters]
    redirects = any(isinstance(f, RequestRedirect) for f in route.filters)
    if hsts is not None and route.protocol is Protocol.HTTP and not redirects:
        header = {"name": HSTS_HEADER, "value": f"max-age={hsts}"}
        modifier = next((f for f in filters if f["type"] == "ResponseHeaderModifier"), None)
        if modifier is None:
            filters.append({"type": "ResponseHeaderModifier", "responseHeaderModifier": {}})
            modifier = filters[-1]
        spec = modifier["responseHeaderModifier"]
        kept = [h for h in spec.get("set", []) if h["name"].lower() != HSTS_HEADER.lower()]
        spec["set"] = [*kept, header]
    if filters:
        rule["filters"] = filters
    if route.backends:
        rule["backendRefs"] = [_backend_ref(b) for b in route.backends]
    return rule


def _headers(match: HTTPMatch | GRPCMatch) -> list[Obj]:
    return [{"type": h.type.value, "name": h.name, "value": h.value} for h in match.headers]


def _http_match(match: HTTPMatch) -> Obj:
    out: Obj = {}
    if match.path is not None:
        out["path"] = {"type": match.path.type.value, "value": match.path.value}
    if match.method is not None:
        out["method"] = match.method.value
    if match.headers:
        out["headers"] = _headers(match)
    return out


def _grpc_match(match: GRPCMatch) -> Obj:
    out: Obj = {}
    if match.service is not None or match.method is not None:
        method: Obj = {"type": "Exact"}
        if match.service is not None:
            method["service"] = match.service
        if match.method is not None:
            method["method"] = match.method
        out["method"] = method
    if match.headers:
        out["headers"] = _headers(match)
    return out


def _path_modifier(path: PathModifier) -> Obj:
    if path.type is PathModifierType.ReplaceFullPath:
        return {"type": path.type.value, "replaceFullPath": path.value}
    return {"type": path.type.value, "replacePrefixMatch": path.value}


def _filter(item: URLRewrite | RequestRedirect | HeaderModifier) -> Obj:
    if isinstance(item, URLRewrite):
        spec: Obj = {}
        if item.hostname is not None:
            spec["hostname"] = item.hostname
        if item.path is not None:
            spec["path"] = _path_modifier(item.path)
        return {"type": "URLRewrite", "urlRewrite": spec}
    if isinstance(item, RequestRedirect):
        spec = {"statusCode": item.status_code}
        for key, value in (
            ("scheme", item.scheme),
            ("hostname", item.hostname),
            ("port", item.port),
        ):
            if value is not None:
                spec[key] = value
        if item.path is not None:
            spec["path"] = _path_modifier(item.path)
        return {"type": "RequestRedirect", "requestRedirect": spec}
    spec = {}
    if item.set:
        spec["set"] = [{"name": n, "value": v} for n, v in item.set]
    if item.add:
        spec["add"] = [{"name": n, "value": v} for n, v in item.add]
    if item.remove:
        spec["remove"] = list(item.remove)
    kind = "ResponseHeaderModifier" if item.response else "RequestHeaderModifier"
    return {"type": kind, item.field: spec}


def _backend_ref(backend: Backend) -> Obj:
    ref: Obj = {"kind": "Service", "group": "", "name": backend.service, "port": backend.port}
    if backend.namespace is not None:
        ref["namespace"] = backend.namespace
    if backend.weight is not None:
        ref["weight"] = backend.weight
    return ref


def _reference_grants(gateway: GatewayConfig, accepted: Sequence[_Accepted]) -> list[Obj]:
    """A grant in each namespace whose Services routes elsewhere point at."""
    wanted: dict[tuple[str, str, str], set[str]] = {}
    for item in accepted:
        for backend in item.route.backends:
            ns = backend.namespace
            if ns is not None and ns != item.route_set.namespace:
                key = (ns, item.route.kind, item.route_set.namespace)
                wanted.setdefault(key, set()).add(backend.service)
    out: list[Obj] = []
    for (ns, kind, from_ns), services in sorted(wanted.items()):
        out.append(
            {
                "apiVersion": f"{GATEWAY_GROUP}/v1beta1",
                "kind": "ReferenceGrant",
                "metadata": {
                    "name": dns_label(gateway.name, from_ns, kind.lower()),
                    "namespace": ns,
                },
                "spec": {
                    "from": [{"group": GATEWAY_GROUP, "kind": kind, "namespace": from_ns}],
                    "to": [{"group": "", "kind": "Service", "name": s} for s in sorted(services)],
                },
            }
        )
    return out


def _destination_rules(gateway: GatewayConfig, accepted: Sequence[_Accepted]) -> list[Obj]:
    """How the gateway talks to backends that want TLS or HTTP/2 (for the gateway only)."""
    wanted: dict[tuple[str, str], dict[int, set[str]]] = {}
    for item in accepted:
        route = item.route
        needs: set[str] = set()
        if route.backend_scheme == "https":
            needs.add("tls")
        if route.backend_scheme == "h2c" or route.protocol is Protocol.GRPC:
            needs.add("h2")
        if not needs:
            continue
        for backend in route.backends:
            ns = backend.namespace or item.route_set.namespace
            wanted.setdefault((ns, backend.service), {}).setdefault(backend.port, set()).update(
                needs
            )
    out: list[Obj] = []
    for (ns, service), ports in sorted(wanted.items()):
        settings: list[Obj] = []
        for port, needs in sorted(ports.items()):
            setting: Obj = {"port": {"number": port}}
            if "tls" in needs:
                setting["tls"] = {"mode": "SIMPLE"}
            if "h2" in needs:
                setting["connectionPool"] = {"http": {"h2UpgradePolicy": "UPGRADE"}}
            settings.append(setting)
        out.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": {
                    "name": dns_label(gateway.name, ns, service),
                    "namespace": gateway.namespace,
                },
                "spec": {
                    "host": f"{service}.{ns}.svc.cluster.local",
                    "exportTo": ["."],
                    "trafficPolicy": {"portLevelSettings": settings},
                },
            }
        )
    return out


def _authorization_policies(
    gateway: GatewayConfig, accepted: Sequence[_Accepted], waypoints: Mapping[str, str]
) -> list[Obj]:
    """Per requirer, let the gateway reach its backends' ports.

    An ALLOW policy on pods denies whatever no ALLOW policy allows. In a namespace whose
    Services use a waypoint, calls through a Service reach the pods from the waypoint,
    which has enforced the Service's own policies: those are let in on every port.
    """
    wanted: dict[tuple[str, str, str], tuple[RouteSet, set[int]]] = {}
    for item in accepted:
        route_set = item.route_set
        for backend in item.route.backends:
            ns = backend.namespace or route_set.namespace
            app = (
                route_set.app
                if backend.namespace in (None, route_set.namespace)
                else backend.service
            )
            entry = wanted.setdefault((route_set.source, ns, app), (route_set, set()))
            entry[1].add(backend.port)
    out: list[Obj] = []
    gateway_identity = principal(gateway.namespace, gateway.service_account)
    names: set[tuple[str, str]] = set()
    for (source, ns, app), (route_set, ports) in sorted(wanted.items()):
        name = dns_label(gateway.name, app, *source.replace(":", "-").split())
        if (ns, name) in names:
            name = dns_label(gateway.name, app, source)
        names.add((ns, name))
        rules: list[Obj] = [
            {
                "from": [{"source": {"principals": [gateway_identity]}}],
                "to": [{"operation": {"ports": [str(p) for p in sorted(ports)]}}],
            }
        ]
        if ns in waypoints:
            rules.append({"from": [{"source": {"principals": [principal(ns, waypoints[ns])]}}]})
        out.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": {ROUTE_SOURCE_LABEL: label_value(route_set.source)},
                },
                "spec": {
                    "selector": {"matchLabels": {APP_NAME_LABEL: app}},
                    "action": "ALLOW",
                    "rules": rules,
                },
            }
        )
    return out
