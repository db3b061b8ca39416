"""Which Gateway listener, route, rule and backends serve a request: a Gateway API evaluator.

A pure reference evaluator of the Gateway API (v1.5.1, as Istio 1.30 implements it) over
plain Kubernetes objects, as ``meshops render`` prints them or as a cluster holds them:
Gateways, HTTPRoutes, GRPCRoutes, ReferenceGrants, Namespaces (for ``allowedRoutes``
selectors) and Services (only to tell a missing backend). TLSRoutes and TCPRoutes are
reported as layer 4 and not evaluated.

:meth:`Routes.from_objects` reads the objects once (with
:mod:`meshops.semantics.routing_objects`, which holds that reading) and indexes them;
:meth:`Routes.route`
answers one :class:`Request` with an :class:`Outcome`: the listener, the route, the rule and
match, the backends with their shares, the redirect or rewrite, the header changes, and
the reasons, in words.

The rules come from the field descriptions of the official CRDs (HTTPRoute ``hostnames``,
``rules[].matches``, ``HTTPPathModifier``, ``requestRedirect.port``, ``backendRefs``;
GRPCRoute ``hostnames`` and ``rules[].matches``; Gateway ``listeners`` and
``allowedRoutes``; ReferenceGrant). Where the specification leaves a choice to the
implementation, this module does what Istio does, or says what it chose:

* Path ``RegularExpression`` (and header, query, gRPC ``RegularExpression``): a full match
  with RE2, as Envoy runs them (:mod:`meshops.model.regex`; an expression Envoy would
  refuse drops its rule, with a problem saying why). Regular
  expression paths rank after every ``Exact`` and ``PathPrefix`` path, a longer pattern
  first, as Istio ranks them. For GRPCRoutes, an ``Exact`` service (or method) ranks above a
  ``RegularExpression`` one, which ranks above none.
* ``PathPrefix`` length counts the prefix without its trailing ``/`` (``/foo/`` and ``/foo``
  are the same prefix, so they tie).
* Hostname specificity is the first sort key, not a filter: when no match of a route on
  ``foo.example.com`` accepts a request, one on ``*.example.com`` still may.
* Request paths are normalized as Istio's default (``BASE``) does: percent-encoded
  unreserved characters are decoded, backslashes become ``/``, dot segments are removed;
  ``%2F`` stays encoded and ``//`` is kept. Repeated headers are joined with ``,``; a
  repeated query parameter matches by its first value; query values are compared decoded.
* Routes without ``creationTimestamp`` (rendered, not yet applied) count as younger than
  any route that has one; among themselves they tie, so ``{namespace}/{name}`` decides.
* Listener isolation (the Gateway ``listeners`` description's SHOULD, applied here): a
  request is served only by the routes of the single most specific listener whose hostname
  matches it. SNI is taken to equal the Host, so no 421 (misdirected request) is shown.
* An HTTPRoute and a GRPCRoute on one listener whose hostnames intersect: only the older
  (then first by name) is attached, as the GRPCRoute ``hostnames`` description says. A gRPC
  request can then be served by an HTTPRoute on a host no GRPCRoute claims; a request that
  is not gRPC is never served by a GRPCRoute.
* Listeners accept HTTPRoutes and GRPCRoutes on ``HTTP``/``HTTPS``, TLSRoutes on ``TLS``,
  TCPRoutes on ``TCP`` unless ``allowedRoutes.kinds`` says otherwise. Namespaces carry the
  ``kubernetes.io/metadata.name`` label the API server adds, whether or not they are
  among the objects.
* Backend kinds: ``Service``, ``ServiceImport`` (``multicluster.x-k8s.io``) and Istio's
  ``Hostname`` (``networking.istio.io``). A Service backend is checked to exist only when
  the objects hold Services at all.
* A rule whose backends are all invalid, or that has none (and no redirect), answers 500;
  each invalid backend's share of the traffic answers 500 too. A gRPC call gets gRPC
  statuses in an HTTP 200 answer, as Envoy sends them: ``UNIMPLEMENTED`` when no route
  serves it, ``UNAVAILABLE`` where a GRPCRoute rule's backends are invalid (the GRPCRoute
  ``backendRefs`` description), and gRPC's reading of any other status (a 500 of an
  HTTPRoute rule is ``UNKNOWN``).
* A backendRef's own filters ("Support: Implementation-specific") are applied when, and
  only when, that backend is chosen: header modifiers after the rule's, and mirrors;
  other filter types there are named in :attr:`Backend.notes`, not applied. Within one
  filter removals come before sets, and sets before adds, as Envoy applies them.
* Mirrors go to their backendRef (checked like a backend, ReferenceGrants included) for
  ``percent`` or ``fraction`` of the requests, 100% when neither is set; a redirect
  mirrors nothing. Timeouts and retries are reported as the rule sets them (unset ones
  are implementation-specific and not shown). CORS: the ``Origin`` is matched as
  ``allowOrigins`` describes, and the headers given are those the filter adds
  (``Access-Control-Allow-Origin`` echoes the origin, never ``*``); a preflight
  (OPTIONS with ``Access-Control-Request-Method``) is answered by the gateway itself.
* Redirects keep the query string (as Envoy does); a redirect's missing port is the listener
  port, which this module takes to be the request's port (Istio's Service ports are the
  listener ports).

Example:
    >>> objects = [
    ...     {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
    ...      "metadata": {"name": "edge", "namespace": "web"},
    ...      "spec": {"listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
    ...     {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
    ...      "metadata": {"name": "shop", "namespace": "web"},
    ...      "spec": {"parentRefs": [{"name": "edge"}],
    ...               "rules": [{"backendRefs": [{"name": "shop", "port": 8080}]}]}},
    ... ]
    >>> outcome = Routes.from_objects(objects).route(Request.from_url("http://a.example/cart"))
    >>> outcome.status, outcome.listener, outcome.route
    ('routed', 'http', 'web/shop')
    >>> [(b.name, b.port, b.share) for b in outcome.backends]
    [('shop', 8080, 100.0)]
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit

from meshops.semantics import routing_objects
from meshops.semantics.routing_objects import HeaderChange, Retry, Timeouts

__all__ = [
    "Backend",
    "Cors",
    "HeaderChange",
    "Mirror",
    "Outcome",
    "Redirect",
    "Request",
    "Retry",
    "Routes",
    "Status",
    "Timeouts",
    "grpc_status_for_http",
    "hostname_matches",
    "path_prefix_matches",
    "replace_prefix_match",
]

Status = Literal["routed", "redirect", "not-found", "no-backend", "l4"]
"""What became of a request: served by backends, redirected, 404, 500, or layer 4."""

_GROUP = "gateway.networking.k8s.io"
_X_GROUP = "gateway.networking.x-k8s.io"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PERCENT = re.compile(r"%(..)?")
_HOST = re.compile(r"[a-z0-9_]([-a-z0-9_.]*[a-z0-9_])?|\[[0-9a-f:.]+\]")
_NS_NAME_LABEL = "kubernetes.io/metadata.name"
_L7 = frozenset({"HTTPRoute", "GRPCRoute"})
_L4 = frozenset({"TLSRoute", "TCPRoute", "UDPRoute"})
_SCHEME_PROTOCOLS = {
    "http": frozenset({"HTTP", "TCP"}),
    "https": frozenset({"HTTPS", "TLS", "TCP"}),
}
_BACKEND_KINDS = frozenset(
    {
        ("", "Service"),
        ("multicluster.x-k8s.io", "ServiceImport"),
        ("networking.istio.io", "Hostname"),
    }
)
_HTTP_CRITERIA = (
    "a longer non-wildcard hostname",
    "a longer matching hostname",
    "a more specific path match type (Exact > PathPrefix > RegularExpression)",
    "a longer path value",
    "a method match",
    "more header matches",
    "more query param matches",
)
_GRPC_CRITERIA = (
    "a longer non-wildcard hostname",
    "a longer matching hostname",
    "a service match (Exact > RegularExpression > none)",
    "a longer service",
    "a method match (Exact > RegularExpression > none)",
    "a longer method",
    "more header matches",
)
_TIE_CRITERIA = (
    "an older route (creationTimestamp)",
    "an older route (creationTimestamp)",
    "a route first in {namespace}/{name} order",
    "an earlier rule in the same route",
    "an earlier match in the same rule",
)

_Rank = tuple[int | float | str, ...]

# gRPC's own table for a reply that carries an HTTP status and no grpc-status ("HTTP to
# gRPC Status Code Mapping", grpc/grpc doc/http-grpc-status-mapping.md); Envoy answers a
# gRPC call it replies to itself the same way (a 404 for no route is UNIMPLEMENTED).
_GRPC_FOR_HTTP = {
    400: "INTERNAL",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "UNIMPLEMENTED",
    429: "UNAVAILABLE",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "UNAVAILABLE",
}
_GRPC_CODES = {
    "OK": 0,
    "UNKNOWN": 2,
    "INTERNAL": 13,
    "UNAUTHENTICATED": 16,
    "PERMISSION_DENIED": 7,
    "UNIMPLEMENTED": 12,
    "UNAVAILABLE": 14,
}


def grpc_status_for_http(status: int) -> str:
    """The gRPC status a client reads from a reply with HTTP ``status`` and no grpc-status.

    Example:
        >>> grpc_status_for_http(404), grpc_status_for_http(500)
        ('UNIMPLEMENTED', 'UNKNOWN')
    """
    return _GRPC_FOR_HTTP.get(status, "UNKNOWN")


# --- public value types ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A request arriving at a gateway.

    Attributes:
        scheme: ``"http"`` or ``"https"``: which kind of listener takes it.
        host: the host the request names (Host header and SNI), lower case, without port.
        port: the port it arrives on, which is the listener's port.
        path: the normalized path, without the query (see :meth:`from_url`).
        query: the query parameters, decoded, in order.
        method: the HTTP method, upper case.
        headers: the request headers as (name, value) pairs, in order.
        grpc: ``(service, method)`` for a gRPC call (an HTTP/2 POST to
            ``/service/method``), else None.
    """

    scheme: str
    host: str
    port: int
    path: str
    query: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    grpc: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.scheme not in _DEFAULT_PORTS:
            raise ValueError(f"scheme {self.scheme!r} must be 'http' or 'https'")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port!r} must be 1-65535")
        if not self.path.startswith("/"):
            raise ValueError(f"path {self.path!r} must start with '/'")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        method: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        grpc: tuple[str, str] | None = None,
    ) -> Request:
        """The request a client sends for ``url``.

        The port defaults to 80 for http and 443 for https. The path is normalized as
        Istio's default does: percent-encoded unreserved characters (letters, digits,
        ``-._~``) are decoded, others keep their encoding (``%2F`` stays), backslashes become
        ``/`` and ``.``/``..`` segments are removed. A ``Host`` header, as with
        ``curl -H``, names the virtual host in place of the URL's host.

        Args:
            url: an absolute http or https URL.
            method: the HTTP method; GET by default, POST for gRPC (the only one allowed).
            headers: (name, value) pairs; names are case-insensitive.
            grpc: ``(service, method)`` to make a gRPC call: the path becomes
                ``/service/method`` and ``content-type: application/grpc`` is added unless
                given.

        Raises:
            ValueError: the URL, a header, the method or the gRPC name is not valid; the
                message quotes it.

        Example:
            >>> r = Request.from_url("https://Shop.example.com/a/./b/%7Eme?q=1")
            >>> r.host, r.port, r.path, r.query
            ('shop.example.com', 443, '/a/b/~me', (('q', '1'),))
        """
        parts = _split_url(url)
        host = parts.hostname or ""
        pairs = tuple(_checked_header(name, value) for name, value in headers)
        host_header = next((v for n, v in pairs if n.lower() == "host"), None)
        if host_header is not None:
            host = host_header.rsplit(":", 1)[0] if _has_port(host_header) else host_header
            host = host.strip().lower()
            pairs = tuple((n, v) for n, v in pairs if n.lower() != "host")
        if not host:
            raise ValueError(f"URL {url!r} has no host")
        if not _HOST.fullmatch(host):
            raise ValueError(f"URL {url!r}: host {host!r} is not a valid hostname")
        path = _normalize_path(parts.path or "/", url)
        verb = _checked_method(method, grpc)
        if grpc is not None:
            path = _grpc_path(grpc, path, url)
            if not any(n.lower() == "content-type" for n, _ in pairs):
                pairs += (("content-type", "application/grpc"),)
        return cls(
            scheme=parts.scheme.lower(),
            host=host,
            port=_url_port(parts, url),
            path=path,
            query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
            method=verb,
            headers=pairs,
            grpc=grpc,
        )

    @property
    def url(self) -> str:
        """The request as a URL (default ports left out)."""
        return _url(self.scheme, self.host, self.port, self.path, self.query)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), repeated values joined with ``,``."""
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return ",".join(values) if values else None

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter ``name`` (exact name), or None."""
        return next((v for n, v in self.query if n == name), None)


@dataclass(frozen=True)
class Backend:
    """One backendRef of the chosen rule, with the share of its traffic.

    Attributes:
        kind: the referent's kind (``Service`` by default).
        namespace: the referent's namespace (the route's by default).
        name: the referent's name.
        port: the port, or None when the ref gives none.
        weight: the ref's weight (1 by default).
        share: the percentage of the rule's requests sent to it (weight over the sum of the
            rule's weights), rounded to 2 places.
        group: the referent's API group (``""``, the core group, by default).
        problem: why the ref is invalid, or None. Requests that would go to an invalid
            backend get a 500.
        header_changes: the header changes of the ref's own filters
            (``backendRefs[].filters``), made only when this backend is chosen.
        request_headers: the request headers this backend receives: the request's, after
            the rule's RequestHeaderModifiers, then the ref's own (names as written,
            repeated values joined with ``,``; the Host is :attr:`Outcome.host`).
        response_changes: the changes made to this backend's response before the client
            gets it: the rule's ResponseHeaderModifiers, then the ref's own.
        notes: what of the ref's own filters is not evaluated, one line each.
    """

    kind: str
    namespace: str
    name: str
    port: int | None
    weight: int
    share: float
    group: str = ""
    problem: str | None = None
    header_changes: tuple[HeaderChange, ...] = ()
    request_headers: tuple[tuple[str, str], ...] = ()
    response_changes: tuple[HeaderChange, ...] = ()
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.kind} {self.namespace}/{self.name}{port}"


@dataclass(frozen=True)
class Redirect:
    """The redirect a RequestRedirect filter answers with.

    Attributes:
        status_code: 301, 302 (the default), 303, 307 or 308.
        location: the ``Location`` header.
    """

    status_code: int
    location: str


@dataclass(frozen=True)
class Mirror:
    """A copy of the request that a RequestMirror filter sends; its response is ignored.

    Attributes:
        kind: the referent's kind (``Service`` by default).
        namespace: the referent's namespace (the route's by default).
        name: the referent's name.
        port: the port, or None when the ref gives none.
        percent: the percentage of requests mirrored (``percent``, or ``fraction`` as a
            percentage; 100 when neither is set), rounded to 2 places.
        backend: the backendRef whose own filter mirrors (only when that backend is
            chosen, as :class:`Backend` ``str``), or None for the rule's filter.
        group: the referent's API group.
        problem: why no copy is sent (the ref is invalid), or None.
    """

    kind: str
    namespace: str
    name: str
    port: int | None
    percent: float
    backend: str | None = None
    group: str = ""
    problem: str | None = None

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.kind} {self.namespace}/{self.name}{port}"


@dataclass(frozen=True)
class Cors:
    """A CORS filter of the rule, and what it does to this request.

    Attributes:
        allow_origins: the origins allowed (``*`` in a host matches any labels to its left).
        allow_methods: ``allowMethods``.
        allow_headers: ``allowHeaders``.
        expose_headers: ``exposeHeaders``.
        allow_credentials: ``allowCredentials``.
        max_age: ``maxAge`` in seconds (5 when unset).
        origin: the request's ``Origin`` header, or None (not a cross-origin request).
        origin_allowed: whether that origin is allowed; None without an Origin.
        preflight: the request is a preflight (OPTIONS with
            ``Access-Control-Request-Method``), which the gateway answers itself.
        response_headers: the CORS headers the client gets.
    """

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int
    origin: str | None = None
    origin_allowed: bool | None = None
    preflight: bool = False
    response_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What the gateway does with a request, and why.

    Attributes:
        status: ``"routed"``; ``"redirect"``; ``"not-found"`` (404: no listener or no route);
            ``"no-backend"`` (500: the rule has no valid backend with weight); ``"l4"`` (the
            listener passes TLS or TCP through to TLSRoutes/TCPRoutes, not evaluated).
        request: the request evaluated.
        gateway: the Gateway as ``namespace/name``, once chosen.
        listener: the listener's name, once chosen.
        route_kind: ``"HTTPRoute"`` or ``"GRPCRoute"``, once a rule matched.
        route: the route as ``namespace/name``.
        rule_index: the matching rule's index in ``spec.rules``.
        rule_name: the rule's ``name``, when it has one.
        match_index: the index of the match that won in ``rules[].matches``; None when a
            GRPCRoute rule has no matches (it then matches every gRPC call). An HTTPRoute
            rule without matches has the API server's default match 0 (PathPrefix ``/``).
        backends: the rule's backendRefs with their shares (empty for a redirect).
        redirect: the redirect, for status ``"redirect"``.
        host: the Host forwarded to the backend, after any URLRewrite.
        path: the path forwarded to the backend, after any URLRewrite.
        header_changes: the header changes the rule's filters make (each backend's own
            are in :attr:`Backend.header_changes`).
        reasons: the explanation, one line each: gateway, listener, route, rule, the matches
            that lost and why, filters, backends.
        mirrors: the copies RequestMirror filters send: the rule's, then those of the
            backends' own filters.
        timeouts: the rule's timeouts (HTTPRoute only), None when it sets none.
        retry: the rule's retry policy, None when it sets none.
        cors: the rule's CORS filter applied to this request, or None.
    """

    status: Status
    request: Request
    gateway: str | None = None
    listener: str | None = None
    route_kind: str | None = None
    route: str | None = None
    rule_index: int | None = None
    rule_name: str | None = None
    match_index: int | None = None
    backends: tuple[Backend, ...] = ()
    redirect: Redirect | None = None
    host: str | None = None
    path: str | None = None
    header_changes: tuple[HeaderChange, ...] = ()
    reasons: tuple[str, ...] = ()
    mirrors: tuple[Mirror, ...] = ()
    timeouts: Timeouts | None = None
    retry: Retry | None = None
    cors: Cors | None = None

    @property
    def http_status(self) -> int | None:
        """The status the gateway itself answers: 404, 500, the redirect's; else None.

        A gRPC call gets its error as a gRPC status instead (see :attr:`grpc_status`),
        in an HTTP 200 answer.
        """
        if self.redirect is not None:
            return self.redirect.status_code
        if self.request.grpc is not None and self.grpc_status is not None:
            return 200
        return self._gateway_status()

    def _gateway_status(self) -> int | None:
        return {"not-found": 404, "no-backend": 500}.get(self.status)

    @property
    def grpc_status(self) -> str | None:
        """The gRPC status a gRPC call gets from the gateway itself, else None.

        ``UNIMPLEMENTED`` when no route serves it (Envoy's answer to a gRPC call with no
        route); ``UNAVAILABLE`` when the GRPCRoute rule has no valid backend (the
        GRPCRoute ``backendRefs`` description); a 500 of an HTTPRoute rule reads as
        ``UNKNOWN``. None when the request is not gRPC or reaches a backend.
        """
        if self.request.grpc is None:
            return None
        if self.status == "no-backend" and self.route_kind == "GRPCRoute":
            return "UNAVAILABLE"
        status = self._gateway_status()
        return None if status is None else grpc_status_for_http(status)

    @property
    def error_status(self) -> str:
        """What the share of :attr:`error_share` gets: ``500``, or a gRPC status."""
        if self.request.grpc is None:
            return "500"
        return "UNAVAILABLE" if self.route_kind == "GRPCRoute" else "UNKNOWN"

    @property
    def error_share(self) -> float:
        """The percentage of requests that get a 500 because their backend is invalid."""
        if self.status == "no-backend":
            return 100.0
        return round(sum((b.share for b in self.backends if b.problem is not None), 0.0), 2)

    def summary(self) -> str:
        """One line: ``404: no route``, ``500: no valid backend``, the redirect or backends."""
        grpc = self.grpc_status
        if self.status == "not-found":
            return "404: no route" if grpc is None else f"{grpc}: no route"
        if self.status == "no-backend":
            return "500: no valid backend" if grpc is None else f"{grpc}: no valid backend"
        if self.status == "l4":
            return "layer 4: not evaluated"
        if self.redirect is not None:
            return f"{self.redirect.status_code}: redirect to {self.redirect.location}"
        served = [f"{b} ({b.share:g}%)" for b in self.backends if b.share and not b.problem]
        return "routed to " + ", ".join(served)

    def to_json(self) -> dict[str, object]:
        """The outcome as plain JSON-ready data (for ``--output json``)."""
        grpc = self.grpc_status
        return {
            "status": self.status,
            "http_status": self.http_status,
            "grpc_status": None if grpc is None else {"name": grpc, "code": _GRPC_CODES[grpc]},
            "summary": self.summary(),
            "request": {
                "url": self.request.url,
                "method": self.request.method,
                "headers": [list(h) for h in self.request.headers],
                "grpc": None if self.request.grpc is None else "/".join(self.request.grpc),
            },
            "gateway": self.gateway,
            "listener": self.listener,
            "route": None if self.route is None else _route_json(self.route_kind, self.route),
            "rule": None
            if self.rule_index is None
            else {"index": self.rule_index, "name": self.rule_name, "match": self.match_index},
            "backends": [_backend_json(b) for b in self.backends],
            "error_share": self.error_share,
            "error_status": self.error_status,
            "redirect": None
            if self.redirect is None
            else {"status_code": self.redirect.status_code, "location": self.redirect.location},
            "forwarded": None if self.path is None else {"host": self.host, "path": self.path},
            "header_changes": [
                {"phase": c.phase, "action": c.action, "name": c.name, "value": c.value}
                for c in self.header_changes
            ],
            "mirrors": [_mirror_json(m) for m in self.mirrors],
            "timeouts": None
            if self.timeouts is None
            else {
                "request": self.timeouts.request,
                "backend_request": self.timeouts.backend_request,
            },
            "retry": None
            if self.retry is None
            else {
                "attempts": self.retry.attempts,
                "backoff": self.retry.backoff,
                "codes": list(self.retry.codes),
            },
            "cors": None if self.cors is None else _cors_json(self.cors),
            "reasons": list(self.reasons),
        }


# --- public helpers (the specification's primitives) ----------------------------------------


def hostname_matches(pattern: str, host: str) -> bool:
    """Whether a Gateway API hostname matches a request host.

    A precise hostname matches itself. A wildcard ``*.example.com`` is a suffix match: it
    matches any host ending in ``.example.com`` with at least one label before it, however
    many (``a.b.example.com`` too), and never ``example.com`` itself.

    Example:
        >>> hostname_matches("*.example.com", "a.b.example.com")
        True
        >>> hostname_matches("*.example.com", "example.com")
        False
    """
    host = host.lower()
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return host.endswith(suffix)
    return host == pattern.lower()


def path_prefix_matches(prefix: str, path: str) -> bool:
    """Whether a ``PathPrefix`` matches a path: by whole ``/``-separated elements.

    A trailing ``/`` on the prefix is ignored: ``/abc`` (or ``/abc/``) matches ``/abc``,
    ``/abc/`` and ``/abc/def`` but not ``/abcd``.

    Example:
        >>> path_prefix_matches("/abc", "/abcd"), path_prefix_matches("/abc/", "/abc")
        (False, True)
    """
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


def replace_prefix_match(path: str, prefix: str, replacement: str) -> str:
    """The path after a ``ReplacePrefixMatch`` of ``prefix`` by ``replacement``.

    The matched prefix's elements are replaced; trailing slashes of the prefix and the
    replacement do not count, and an empty result is ``/``.

    Raises:
        ValueError: ``prefix`` does not match ``path`` (quoting both).

    Example:
        >>> replace_prefix_match("/foo/bar", "/foo/", "/xyz/")
        '/xyz/bar'
        >>> replace_prefix_match("/foo", "/foo", "")
        '/'
    """
    if not path_prefix_matches(prefix, path):
        raise ValueError(f"prefix {prefix!r} does not match path {path!r}")
    rest = path[len(prefix.rstrip("/")) :]
    return (replacement.rstrip("/") + rest) or "/"


@dataclass(frozen=True)
class _Attachment:
    """A route attached to one listener, with the hostnames it serves there (None: any)."""

    route: routing_objects.Route
    listener: routing_objects.Listener
    hostnames: tuple[str, ...] | None


@dataclass(frozen=True)
class _Candidate:
    attachment: _Attachment
    rule: routing_objects.Rule
    match: routing_objects.HTTPMatch | routing_objects.GRPCMatch
    rank: _Rank

    def describe(self) -> str:
        route = self.attachment.route
        index = "" if self.match.index is None else f" match {self.match.index}"
        return f"{route.kind} {route.key} rule {self.rule.index}{index} ({self.match.describe()})"


@dataclass
class _ListenerIndex:
    """The routes attached to one listener, indexed by the hostnames they serve."""

    exact: dict[str, list[_Attachment]] = field(default_factory=dict[str, list[_Attachment]])
    wildcard: dict[str, list[_Attachment]] = field(default_factory=dict[str, list[_Attachment]])
    anyhost: list[_Attachment] = field(default_factory=list[_Attachment])
    l4: list[_Attachment] = field(default_factory=list[_Attachment])
    notes: list[str] = field(default_factory=list[str])

    def add(self, attachment: _Attachment) -> None:
        if attachment.route.kind not in _L7:
            self.l4.append(attachment)
        elif attachment.hostnames is None:
            self.anyhost.append(attachment)
        else:
            for name in attachment.hostnames:
                table = self.wildcard if name.startswith("*.") else self.exact
                table.setdefault(name.removeprefix("*."), []).append(attachment)

    def lookup(self, host: str) -> list[_Attachment]:
        """The attachments that serve ``host``, each once."""
        found = list(self.exact.get(host, ()))
        labels = host.split(".")
        for i in range(1, len(labels)):
            found += self.wildcard.get(".".join(labels[i:]), ())
        found += self.anyhost
        return list({id(a): a for a in found}.values())

    def all(self) -> list[_Attachment]:
        every = [a for table in (self.exact, self.wildcard) for v in table.values() for a in v]
        return list({id(a): a for a in every + self.anyhost}.values())


# --- the evaluator --------------------------------------------------------------------------


class Routes:
    """Gateways and their routes, parsed and indexed once for fast lookups.

    Build with :meth:`from_objects`; ask with :meth:`route`.

    Attributes:
        problems: what kept objects from taking effect (a route not attached, a match with a
            bad regular expression, ...), one line each.
    """

    def __init__(
        self,
        gateways: Mapping[str, routing_objects.Gateway],
        indexes: Mapping[tuple[str, str], _ListenerIndex],
        grants: Mapping[str, tuple[routing_objects.Obj, ...]],
        services: frozenset[tuple[str, str]] | None,
        problems: Iterable[str],
    ) -> None:
        """Use :meth:`from_objects`."""
        self._gateways = dict(gateways)
        self._indexes = dict(indexes)
        self._grants = dict(grants)
        self._services = services
        self.problems: tuple[str, ...] = tuple(problems)

    @classmethod
    def from_objects(cls, objects: Iterable[Mapping[str, object]]) -> Routes:
        """Parse and index Gateway API objects (other kinds are ignored).

        Args:
            objects: Kubernetes objects as dicts (a ``List``'s items are read too).
        """
        by_kind: dict[str, list[routing_objects.Obj]] = {}
        for obj in routing_objects.flatten(objects):
            group = routing_objects.as_text(obj.get("apiVersion")).rpartition("/")[0]
            kind = routing_objects.as_text(obj.get("kind"))
            if group == _GROUP or (group, kind) in {
                ("", "Namespace"),
                ("", "Service"),
                (_X_GROUP, "XListenerSet"),
            }:
                by_kind.setdefault(kind, []).append(obj)
        problems: list[str] = []
        gateways = {
            g.key: g for g in map(routing_objects.parse_gateway, by_kind.get("Gateway", ()))
        }
        routes = [
            route
            for kind in sorted(_L7 | _L4)
            for obj in by_kind.get(kind, ())
            if (route := routing_objects.parse_route(kind, obj, problems)) is not None
        ]
        namespaces = routing_objects.namespace_labels(by_kind.get("Namespace", ()))
        indexes = _attach_all(gateways, routes, namespaces, problems)
        grants: dict[str, list[routing_objects.Obj]] = {}
        for grant in by_kind.get("ReferenceGrant", ()):
            grants.setdefault(routing_objects.object_namespace(grant), []).append(grant)
        services = by_kind.get("Service")
        known = (
            None
            if services is None
            else frozenset(
                (routing_objects.object_namespace(s), routing_objects.object_name(s))
                for s in services
            )
        )
        for kind in ("ListenerSet", "XListenerSet"):
            for o in by_kind.get(kind, ()):
                key = f"{routing_objects.object_namespace(o)}/{routing_objects.object_name(o)}"
                problems.append(f"{kind} {key}: not evaluated")
        return cls(gateways, indexes, {k: tuple(v) for k, v in grants.items()}, known, problems)

    @property
    def gateways(self) -> tuple[str, ...]:
        """The Gateways known, as ``namespace/name``, sorted."""
        return tuple(sorted(self._gateways))

    def route(self, request: Request, *, gateway: str | None = None) -> Outcome:
        """Evaluate one request.

        Args:
            request: the request.
            gateway: the Gateway it arrives at, as ``namespace/name``; may be left out when
                only one Gateway has a listener for the request's port and scheme (and, if
                several have, only one of them a listener whose hostname matches).

        Raises:
            ValueError: ``gateway`` is unknown or not ``namespace/name``, or left out while
                several Gateways could take the request (the message names them).
        """
        chosen, why = self._choose_gateway(request, gateway)
        if chosen is None:
            return Outcome("not-found", request, reasons=why)
        listener, lines = _select_listener(chosen, request)
        reasons = [*why, *lines]
        if listener is None:
            return Outcome("not-found", request, gateway=chosen.key, reasons=tuple(reasons))
        index = self._indexes.get((chosen.key, listener.name), _ListenerIndex())
        base = Outcome("not-found", request, gateway=chosen.key, listener=listener.name)
        if listener.protocol not in {"HTTP", "HTTPS"}:
            return _layer4(base, listener, index, reasons)
        candidates = _ranked(index.lookup(request.host), request)
        if not candidates:
            reasons += _no_match_reasons(index, request)
            return replace(base, reasons=tuple(reasons))
        return self._apply(base, candidates, reasons)

    # -- gateway choice

    def _choose_gateway(
        self, request: Request, gateway: str | None
    ) -> tuple[routing_objects.Gateway | None, tuple[str, ...]]:
        if gateway is not None:
            if gateway not in self._gateways:
                known = ", ".join(self.gateways) or "none"
                raise ValueError(f"gateway {gateway!r} is not among the Gateways ({known})")
            return self._gateways[gateway], (f"gateway {gateway}: chosen",)
        protocols = _SCHEME_PROTOCOLS[request.scheme]
        on_port = [
            g
            for g in self._gateways.values()
            if any(li.port == request.port for li in g.listeners)
        ]
        able = [
            g
            for g in on_port
            if any(li.port == request.port and li.protocol in protocols for li in g.listeners)
        ] or on_port
        if len(able) > 1:
            able = [g for g in able if _select_listener(g, request)[0] is not None] or able
        if len(able) > 1:
            names = ", ".join(sorted(g.key for g in able))
            raise ValueError(
                f"several Gateways take {request.url!r}: {names}; choose one with gateway="
            )
        if not able:
            known = ", ".join(self.gateways) or "none"
            line = f"no Gateway has a listener on port {request.port}"
            return None, (f"{line} (Gateways: {known})",)
        return able[0], (f"gateway {able[0].key}: the only one listening on port {request.port}",)

    # -- the winning rule

    def _apply(self, base: Outcome, candidates: list[_Candidate], reasons: list[str]) -> Outcome:
        win = candidates[0]
        route, rule, match = win.attachment.route, win.rule, win.match
        host = _matched_host(win.attachment, base.request.host)
        reasons.append(f"{route.kind} {route.key}: serves host {base.request.host!r} ({host})")
        reasons.append(f"rule {rule.index}{_rule_label(rule)}: {_match_label(match)}")
        reasons += [
            f"{c.describe()} also matches but loses: {_why_lost(win, c)}" for c in candidates[1:6]
        ]
        if len(candidates) > 6:
            reasons.append(f"... and {len(candidates) - 6} more matches lose")
        reasons += rule.notes
        cors = None if rule.cors is None else _cors(rule.cors, base.request, reasons)
        outcome = replace(
            base,
            route_kind=route.kind,
            route=route.key,
            rule_index=rule.index,
            rule_name=rule.name,
            match_index=match.index,
            header_changes=rule.header_changes,
            cors=cors,
        )
        if rule.redirect is not None:
            return self._redirected(outcome, win, rule.redirect, reasons)
        return self._forwarded(outcome, win, reasons)

    def _redirected(
        self,
        outcome: Outcome,
        win: _Candidate,
        spec: routing_objects.RedirectSpec,
        reasons: list[str],
    ) -> Outcome:
        request = outcome.request
        path = _modified_path(spec.path, request.path, win.match, reasons)
        location = _location(spec, request, path)
        reasons.append(f"RequestRedirect: {spec.status_code} to {location}")
        return replace(
            outcome,
            status="redirect",
            redirect=Redirect(spec.status_code, location),
            reasons=tuple(reasons),
        )

    def _forwarded(self, outcome: Outcome, win: _Candidate, reasons: list[str]) -> Outcome:
        request, rule = outcome.request, win.rule
        host, path = request.host, request.path
        if rule.rewrite is not None:
            host = rule.rewrite.hostname or host
            path = _modified_path(rule.rewrite.path, path, win.match, reasons)
            reasons.append(f"URLRewrite: forwards host {host!r}, path {path!r}")
        backends = self._backends(win.attachment.route, rule, request)
        status, lines = _backend_status(backends)
        reasons += lines
        mirrors = self._mirrors(win.attachment.route, rule, backends)
        reasons += [_mirror_reason(m) for m in mirrors]
        reasons += _policy_reasons(rule)
        return replace(
            outcome,
            status=status,
            backends=backends,
            host=host,
            path=path,
            reasons=tuple(reasons),
            mirrors=mirrors,
            timeouts=rule.timeouts,
            retry=rule.retry,
        )

    # -- backends

    def _backends(
        self, route: routing_objects.Route, rule: routing_objects.Rule, request: Request
    ) -> tuple[Backend, ...]:
        total = sum(ref.weight for ref in rule.backend_refs)
        rule_request = [c for c in rule.header_changes if c.phase == "request"]
        rule_response = tuple(c for c in rule.header_changes if c.phase == "response")
        return tuple(
            Backend(
                kind=ref.kind,
                namespace=ref.namespace,
                name=ref.name,
                port=ref.port,
                weight=ref.weight,
                share=round(100 * ref.weight / total, 2) if total else 0.0,
                group=ref.group,
                problem=self._backend_problem(route, ref),
                header_changes=ref.filters.header_changes,
                request_headers=_modified_headers(
                    request.headers,
                    rule_request,
                    [c for c in ref.filters.header_changes if c.phase == "request"],
                ),
                response_changes=rule_response
                + tuple(c for c in ref.filters.header_changes if c.phase == "response"),
                notes=ref.filters.notes,
            )
            for ref in rule.backend_refs
        )

    def _mirrors(
        self,
        route: routing_objects.Route,
        rule: routing_objects.Rule,
        backends: tuple[Backend, ...],
    ) -> tuple[Mirror, ...]:
        """The rule's mirrors, then each backend's own (sent only when it is chosen)."""
        found = [self._mirror(route, spec, None) for spec in rule.mirrors]
        for ref, backend in zip(rule.backend_refs, backends, strict=True):
            if backend.problem is None and backend.weight:
                found += [self._mirror(route, spec, str(backend)) for spec in ref.filters.mirrors]
        return tuple(found)

    def _mirror(
        self, route: routing_objects.Route, spec: routing_objects.MirrorSpec, backend: str | None
    ) -> Mirror:
        ref = routing_objects.BackendRef(
            spec.group, spec.kind, spec.namespace, spec.name, spec.port, 1
        )
        return Mirror(
            kind=spec.kind,
            namespace=spec.namespace,
            name=spec.name,
            port=spec.port,
            percent=spec.percent,
            backend=backend,
            group=spec.group,
            problem=self._backend_problem(route, ref),
        )

    def _backend_problem(
        self, route: routing_objects.Route, ref: routing_objects.BackendRef
    ) -> str | None:
        if (ref.group, ref.kind) not in _BACKEND_KINDS:
            return f"InvalidKind: {ref.group or 'core'}/{ref.kind} is not a supported backend"
        if ref.kind == "Service" and ref.port is None:
            return "a Service backendRef needs a port"
        if ref.namespace != route.namespace and not self._granted(route, ref):
            return (
                f"RefNotPermitted: no ReferenceGrant in namespace {ref.namespace!r} lets "
                f"{route.kind}s from {route.namespace!r} reference {ref.kind} {ref.name!r}"
            )
        services = self._services
        if (
            ref.kind == "Service"
            and services is not None
            and (ref.namespace, ref.name) not in services
        ):
            return f"BackendNotFound: no Service {ref.namespace}/{ref.name}"
        return None

    def _granted(self, route: routing_objects.Route, ref: routing_objects.BackendRef) -> bool:
        return any(_grant_allows(g, route, ref) for g in self._grants.get(ref.namespace, ()))


def _grant_allows(
    grant: routing_objects.Obj, route: routing_objects.Route, ref: routing_objects.BackendRef
) -> bool:
    """Whether a ReferenceGrant (in the backend's namespace) lets the route reference it."""
    spec = routing_objects.as_map(grant.get("spec"))
    trusted = any(
        (
            routing_objects.as_text(f.get("group")),
            routing_objects.as_text(f.get("kind")),
            routing_objects.as_text(f.get("namespace")),
        )
        == (_GROUP, route.kind, route.namespace)
        for f in routing_objects.as_maps(spec.get("from"))
    )
    return trusted and any(
        (routing_objects.as_text(t.get("group")), routing_objects.as_text(t.get("kind")))
        == (ref.group, ref.kind)
        and routing_objects.as_text(t.get("name")) in {"", ref.name}
        for t in routing_objects.as_maps(spec.get("to"))
    )


# --- request parsing helpers ----------------------------------------------------------------


def _split_url(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
    except ValueError as e:
        raise ValueError(f"URL {url!r} is not valid: {e}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        shown = parts.scheme or "none"
        raise ValueError(f"URL {url!r}: scheme {shown!r} must be http or https")
    return parts


def _url_port(parts: SplitResult, url: str) -> int:
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"URL {url!r}: the port must be a number 1-65535") from None
    if port is None:
        return _DEFAULT_PORTS[parts.scheme.lower()]
    if not 1 <= port <= 65535:
        raise ValueError(f"URL {url!r}: port {port} must be 1-65535")
    return port


def _has_port(host: str) -> bool:
    return ":" in host and host.rsplit(":", 1)[1].isdigit()  # "[::1]" ends in "]", no port


def _checked_header(name: str, value: str) -> tuple[str, str]:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"header name {name!r} is not a valid HTTP header name")
    return name, value.strip()


def _checked_method(method: str | None, grpc: tuple[str, str] | None) -> str:
    verb = (method or ("POST" if grpc else "GET")).upper()
    if not _TOKEN.fullmatch(verb):
        raise ValueError(f"method {method!r} is not a valid HTTP method")
    if grpc is not None and verb != "POST":
        raise ValueError(f"method {method!r}: a gRPC call is a POST")
    return verb


def _grpc_path(grpc: tuple[str, str], path: str, url: str) -> str:
    service, method = grpc
    for part, what in ((service, "service"), (method, "method")):
        if not part or "/" in part or not part.isprintable() or " " in part:
            raise ValueError(f"gRPC {what} {part!r} must be a non-empty name without '/'")
    wanted = f"/{service}/{method}"
    if path not in {"/", wanted}:
        raise ValueError(f"URL {url!r}: a gRPC call's path is {wanted!r}, not {path!r}")
    return wanted


def _normalize_path(path: str, url: str) -> str:
    path = quote(path, safe="!$&'()*+,;=:@/%-._~\\")
    path = _PERCENT.sub(lambda m: _decoded(m, url), path).replace("\\", "/")
    if not path.startswith("/"):
        path = "/" + path
    return _remove_dot_segments(path)


def _decoded(match: re.Match[str], url: str) -> str:
    digits = match.group(1)
    if digits is None or not all(c in string.hexdigits for c in digits):
        raise ValueError(f"URL {url!r}: {match.group(0)!r} is not a percent-encoded byte")
    char = chr(int(digits, 16))
    if char == "\0":
        raise ValueError(f"URL {url!r}: '%00' is refused (Istio answers 400)")
    return char if char in _UNRESERVED else "%" + digits.upper()


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")[1:]
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments and segments[-1] in {".", ".."}:
        out.append("")
    return "/" + "/".join(out)


def _url(scheme: str, host: str, port: int, path: str, query: tuple[tuple[str, str], ...]) -> str:
    netloc = host if _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    tail = f"?{urlencode(query)}" if query else ""
    return f"{scheme}://{netloc}{path}{tail}"


# --- attachment -----------------------------------------------------------------------------


def _attach_all(
    gateways: Mapping[str, routing_objects.Gateway],
    routes: list[routing_objects.Route],
    namespaces: Mapping[str, Mapping[str, str]],
    problems: list[str],
) -> dict[tuple[str, str], _ListenerIndex]:
    indexes: dict[tuple[str, str], _ListenerIndex] = {}
    attached: dict[tuple[str, str], list[_Attachment]] = {}
    for route in routes:
        for ref in route.parents:
            found = _attach(route, ref, gateways, namespaces, problems, indexes)
            for a in found:
                attached.setdefault((a.listener.gateway, a.listener.name), []).append(a)
    for key, attachments in attached.items():
        index = indexes.setdefault(key, _ListenerIndex())
        for attachment in _without_kind_conflicts(attachments, index.notes):
            index.add(attachment)
    for index in indexes.values():
        problems += index.notes
    return indexes


def _attach(
    route: routing_objects.Route,
    ref: routing_objects.ParentRef,
    gateways: Mapping[str, routing_objects.Gateway],
    namespaces: Mapping[str, Mapping[str, str]],
    problems: list[str],
    indexes: dict[tuple[str, str], _ListenerIndex],
) -> list[_Attachment]:
    label = f"{route.kind} {route.key}"
    if (ref.group, ref.kind) != (_GROUP, "Gateway"):
        problems.append(
            f"{label}: parentRef {ref.kind} {ref.name!r} is not a Gateway: not evaluated"
        )
        return []
    gateway = gateways.get(f"{ref.namespace}/{ref.name}")
    if gateway is None:
        problems.append(f"{label}: parent Gateway {ref.namespace}/{ref.name} not found")
        return []
    listeners = [
        li
        for li in gateway.listeners
        if ref.section in {None, li.name} and ref.port in {None, li.port}
    ]
    if not listeners:
        wanted = " ".join(
            f"{k} {v!r}" for k, v in (("sectionName", ref.section), ("port", ref.port)) if v
        )
        problems.append(f"{label}: Gateway {gateway.key} has no listener with {wanted}")
    found: list[_Attachment] = []
    for listener in listeners:
        refusal = _refusal(route, listener, namespaces)
        hostnames = _effective_hostnames(listener.hostname, route.hostnames)
        if refusal is None and hostnames == ():
            refusal = (
                f"none of its hostnames {list(route.hostnames)} intersects {listener.hostname!r}"
            )
        if refusal is not None:
            note = f"{label}: not attached to {gateway.key} {listener.describe()}: {refusal}"
            indexes.setdefault((gateway.key, listener.name), _ListenerIndex()).notes.append(note)
            continue
        found.append(_Attachment(route, listener, hostnames))
    return found


def _refusal(
    route: routing_objects.Route,
    listener: routing_objects.Listener,
    namespaces: Mapping[str, Mapping[str, str]],
) -> str | None:
    if route.kind not in listener.kinds:
        return f"it allows {sorted(listener.kinds)}, not {route.kind}"
    source = listener.namespaces_from
    if source == "All":
        return None
    if source == "Same":
        same = route.namespace == listener.namespace
        return (
            None
            if same
            else f"allowedRoutes from Same: namespace {route.namespace!r} is not its own"
        )
    if source == "Selector" and listener.selector_error:
        return f"its selector selects no namespace: {listener.selector_error}"
    if source == "Selector" and listener.selector is None:
        return "allowedRoutes from Selector sets no selector: it selects no namespace"
    if source == "Selector" and listener.selector is not None:
        labels = namespaces.get(route.namespace, {_NS_NAME_LABEL: route.namespace})
        if listener.selector.matches(labels):
            return None
        known = (
            ""
            if route.namespace in namespaces
            else " (not among the objects: only its name label is known)"
        )
        return f"allowedRoutes selector does not select namespace {route.namespace!r}{known}"
    return f"allowedRoutes namespaces from {source!r} is not understood"


def _covers(pattern: str, other: str) -> bool:
    """Whether every host ``other`` matches is matched by ``pattern``."""
    if pattern == other:
        return True
    if not pattern.startswith("*."):
        return False
    if other.startswith("*."):
        return other[1:].endswith(pattern[1:])
    return hostname_matches(pattern, other)


def _intersection(listener: str | None, route: str) -> str | None:
    if listener is None or _covers(listener, route):
        return route
    return listener if _covers(route, listener) else None


def _effective_hostnames(listener: str | None, route: tuple[str, ...]) -> tuple[str, ...] | None:
    """The hostnames a route serves on a listener: None for any, () for none."""
    if not route:
        return None if listener is None else (listener,)
    found = (_intersection(listener, h) for h in route)
    return tuple(dict.fromkeys(h for h in found if h is not None))


def _hostnames_meet(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> bool:
    if a is None or b is None:
        return True
    return any(_intersection(x, y) is not None for x in a for y in b)


def _without_kind_conflicts(attachments: list[_Attachment], notes: list[str]) -> list[_Attachment]:
    """Drop the younger of an HTTPRoute and a GRPCRoute whose hostnames intersect."""
    kept: dict[str, list[_Attachment]] = {kind: [] for kind in (*_L7, *_L4)}
    for attachment in sorted(attachments, key=lambda a: a.route.age):
        kind = attachment.route.kind
        others = kept["GRPCRoute" if kind == "HTTPRoute" else "HTTPRoute"] if kind in _L7 else []
        rival = next(
            (k for k in others if _hostnames_meet(k.hostnames, attachment.hostnames)), None
        )
        if rival is None:
            kept[kind].append(attachment)
            continue
        route, listener = attachment.route, attachment.listener
        notes.append(
            f"{route.kind} {route.key}: not attached to {listener.gateway} {listener.describe()}: "
            f"its hostnames intersect those of the older {rival.route.kind} {rival.route.key}"
        )
    every = [a for group in kept.values() for a in group]
    return list({(a.route.kind, a.route.key): a for a in every}.values())


# --- listener choice ------------------------------------------------------------------------


def _select_listener(
    gateway: routing_objects.Gateway, request: Request
) -> tuple[routing_objects.Listener | None, list[str]]:
    on_port = [li for li in gateway.listeners if li.port == request.port]
    if not on_port:
        ports = sorted({li.port for li in gateway.listeners})
        return None, [
            f"Gateway {gateway.key} has no listener on port {request.port} (ports {ports})"
        ]
    protocols = _SCHEME_PROTOCOLS[request.scheme]
    usable = [li for li in on_port if li.protocol in protocols]
    if not usable:
        spoken = ", ".join(f"{li.name} ({li.protocol})" for li in on_port)
        return None, [f"no listener on port {request.port} takes {request.scheme}: {spoken}"]
    matching = [
        li for li in usable if li.hostname is None or hostname_matches(li.hostname, request.host)
    ]
    if not matching:
        names = ", ".join(f"{li.name} ({li.hostname})" for li in usable)
        return None, [
            f"no listener hostname on port {request.port} matches {request.host!r}: {names}"
        ]
    best = max(matching, key=_listener_specificity)
    matched = "matches any host" if best.hostname is None else f"matches {request.host!r}"
    why = "the only one on the port" if len(usable) == 1 else _listener_contest(best, matching)
    return best, [f"{best.describe()}: {matched}; {why}"]


def _listener_specificity(listener: routing_objects.Listener) -> tuple[int, int, int]:
    name = listener.hostname
    if name is None:
        return (0, 0, 0)
    if name.startswith("*."):
        return (1, name.count("."), len(name))
    return (2, 0, len(name))


def _listener_contest(
    best: routing_objects.Listener, matching: list[routing_objects.Listener]
) -> str:
    others = [li.name for li in matching if li is not best]
    if not others:
        return "the only one on the port whose hostname matches"
    return f"the most specific matching hostname (over {', '.join(others)})"


# --- match evaluation -----------------------------------------------------------------------


def _ranked(attachments: list[_Attachment], request: Request) -> list[_Candidate]:
    candidates = [
        _Candidate(a, rule, match, rank)
        for a in attachments
        if (host := _host_rank(a.hostnames, request.host)) is not None
        for rule in a.route.rules
        for match in rule.matches
        if (rank := _rank(a, rule, match, host, request)) is not None
    ]
    # One listener never holds an HTTPRoute and a GRPCRoute serving the same host
    # (_without_kind_conflicts), so the candidates are all of one kind.
    return sorted(candidates, key=lambda c: c.rank)


def _host_rank(hostnames: tuple[str, ...] | None, host: str) -> tuple[int, int] | None:
    if hostnames is None:
        return (0, 0)
    ranks = [
        (0 if h.startswith("*.") else len(h), len(h))
        for h in hostnames
        if hostname_matches(h, host)
    ]
    return max(ranks, default=None)


def _matched_host(attachment: _Attachment, host: str) -> str:
    if attachment.hostnames is None:
        return "no hostnames: any host"
    best = max(
        (h for h in attachment.hostnames if hostname_matches(h, host)),
        key=lambda h: (0 if h.startswith("*.") else len(h), len(h)),
    )
    return f"hostname {best!r}"


def _rank(
    attachment: _Attachment,
    rule: routing_objects.Rule,
    match: routing_objects.HTTPMatch | routing_objects.GRPCMatch,
    host: tuple[int, int],
    request: Request,
) -> _Rank | None:
    """The sort key of a match that accepts the request (smaller wins), or None."""
    if isinstance(match, routing_objects.HTTPMatch):
        specificity = _http_specificity(match, request)
    else:
        specificity = _grpc_specificity(match, request)
    if specificity is None:
        return None
    age = attachment.route.age
    tail = (age[0], age[1], age[2], rule.index, match.index or 0)
    return (-host[0], -host[1], *(-s for s in specificity), *tail)


def _http_specificity(
    match: routing_objects.HTTPMatch, request: Request
) -> tuple[int, ...] | None:
    if _http_miss(match, request) is not None:
        return None
    kind = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}.get(match.path_type, 0)
    length = len(match.path.rstrip("/")) if match.path_type == "PathPrefix" else len(match.path)
    return (kind, length, int(match.method is not None), len(match.headers), len(match.query))


def _grpc_specificity(
    match: routing_objects.GRPCMatch, request: Request
) -> tuple[int, ...] | None:
    if request.grpc is None or _grpc_miss(match, request) is not None:
        return None

    def rank(m: routing_objects.StringMatch | None) -> tuple[int, int]:
        if m is None:
            return (0, 0)
        return (1 if m.regex is not None else 2, len(m.value))

    return (*rank(match.service), *rank(match.method), len(match.headers))


def _http_miss(match: routing_objects.HTTPMatch, request: Request) -> str | None:
    """Why the match does not accept the request, or None when it does."""
    path = request.path
    if match.path_type == "Exact" and path != match.path:
        return f"path {path!r} is not {match.path!r}"
    if match.path_type == "PathPrefix" and not path_prefix_matches(match.path, path):
        return f"path {path!r} is not under {match.path!r}"
    if match.path_regex is not None and not match.path_regex.fullmatch(path):
        return f"path {path!r} does not fully match {match.path!r}"
    if match.path_type not in {"Exact", "PathPrefix", "RegularExpression"}:
        return f"path match type {match.path_type!r} is not supported"
    if match.method is not None and request.method != match.method:
        return f"method {request.method} is not {match.method}"
    return _headers_miss(match.headers, request) or next(
        (
            f"query {q.describe()} not satisfied"
            for q in match.query
            if not q.accepts(request.query_param(q.name))
        ),
        None,
    )


def _grpc_miss(match: routing_objects.GRPCMatch, request: Request) -> str | None:
    if request.grpc is None:
        return "the request is not a gRPC call"
    for matcher, actual in ((match.service, request.grpc[0]), (match.method, request.grpc[1])):
        if matcher is not None and not matcher.accepts(actual):
            return f"{matcher.name} {actual!r} does not match {matcher.value!r}"
    return _headers_miss(match.headers, request)


def _headers_miss(
    headers: tuple[routing_objects.StringMatch, ...], request: Request
) -> str | None:
    for h in headers:
        actual = request.header(h.name)
        if not h.accepts(actual):
            got = "absent" if actual is None else repr(actual)
            return f"header {h.describe()} not satisfied ({got})"
    return None


def _why_lost(winner: _Candidate, loser: _Candidate) -> str:
    kind = winner.attachment.route.kind
    criteria = (_GRPC_CRITERIA if kind == "GRPCRoute" else _HTTP_CRITERIA) + _TIE_CRITERIA
    for label, a, b in zip(criteria, winner.rank, loser.rank, strict=False):
        if a != b:
            return f"the winner has {label}"
    return "the winner comes first"


def _no_match_reasons(index: _ListenerIndex, request: Request) -> list[str]:
    attachments = index.lookup(request.host)
    serving = [a for a in attachments if _host_rank(a.hostnames, request.host) is not None]
    if not serving:
        count = len(index.all())
        lines = [
            f"no route attached to the listener serves host {request.host!r} ({count} attached)"
        ]
        return lines + index.notes[:8]
    lines = [f"{len(serving)} route(s) serve host {request.host!r}; no match accepts the request:"]
    for a in serving[:8]:
        if not a.route.rules:
            lines.append(
                f"  {a.route.kind} {a.route.key}: no rule (none given, or each ignored:"
                " see the problems)"
            )
        for rule in a.route.rules:
            for match in rule.matches:
                miss = (
                    _http_miss(match, request)
                    if isinstance(match, routing_objects.HTTPMatch)
                    else _grpc_miss(match, request)
                )
                lines.append(f"  {a.route.kind} {a.route.key} rule {rule.index}: {miss}")
    return lines[:20] + index.notes[:8]


def _rule_label(rule: routing_objects.Rule) -> str:
    return f" {rule.name!r}" if rule.name else ""


def _match_label(match: routing_objects.HTTPMatch | routing_objects.GRPCMatch) -> str:
    if match.index is None:
        return "no matches, so it matches every gRPC call"
    return f"match {match.index} ({match.describe()}) accepts the request"


# --- filters --------------------------------------------------------------------------------


def _modified_path(
    modifier: routing_objects.PathModifier | None,
    path: str,
    match: routing_objects.HTTPMatch | routing_objects.GRPCMatch,
    reasons: list[str],
) -> str:
    if modifier is None:
        return path
    if modifier.type == "ReplaceFullPath":
        return modifier.value
    if not isinstance(match, routing_objects.HTTPMatch) or match.path_type != "PathPrefix":
        reasons.append("ReplacePrefixMatch needs a PathPrefix match: path left as is")
        return path
    return replace_prefix_match(path, match.path, modifier.value)


def _location(spec: routing_objects.RedirectSpec, request: Request, path: str) -> str:
    scheme = spec.scheme or request.scheme
    host = spec.hostname or request.host
    if spec.port is not None:
        port = spec.port
    elif spec.scheme is not None:
        port = _DEFAULT_PORTS[spec.scheme]
    else:
        port = request.port
    return _url(scheme, host, port, path, request.query)


def _backend_status(backends: tuple[Backend, ...]) -> tuple[Status, list[str]]:
    lines = [f"backend {b}: weight {b.weight}, {b.share:g}%" for b in backends]
    lines += [
        f"backend {b} is invalid ({b.problem}): its share gets 500" for b in backends if b.problem
    ]
    for backend in backends:
        own = [_header_change_text(c) for c in backend.header_changes]
        if own:
            lines.append(
                f"backend {backend}: its own filters, when it is chosen: {'; '.join(own)}"
            )
        lines += backend.notes
    if not backends:
        return "no-backend", [*lines, "the rule has no backendRefs: requests get 500"]
    if all(b.weight == 0 for b in backends):
        return "no-backend", [*lines, "every backendRef has weight 0: requests get 500"]
    if all(b.problem or not b.weight for b in backends):
        return "no-backend", [*lines, "no backendRef is valid: requests get 500"]
    return "routed", lines


def _header_change_text(change: HeaderChange) -> str:
    if change.action == "remove":
        return f"{change.phase} remove {change.name}"
    return f"{change.phase} {change.action} {change.name}: {change.value}"


def _modified_headers(
    headers: tuple[tuple[str, str], ...], *levels: list[HeaderChange]
) -> tuple[tuple[str, str], ...]:
    """``headers`` after each level of RequestHeaderModifier changes, in order.

    Within one level removals come first, then sets, then adds, as Envoy applies a
    route's header lists (remove before add); a set replaces every value of the name,
    an add appends one ("It appends to any existing values associated with the header
    name", HTTPHeaderFilter ``add``). Repeated names come out joined with ``,``.
    """
    if not any(levels) and len({n.lower() for n, _ in headers}) == len(headers):
        return headers  # nothing to change or to join
    current = [(n, v) for n, v in headers]
    for changes in levels:
        removed = {c.name.lower() for c in changes if c.action == "remove"}
        current = [(n, v) for n, v in current if n.lower() not in removed]
        for change in (c for c in changes if c.action == "set"):
            current = [(n, v) for n, v in current if n.lower() != change.name.lower()]
            current.append((change.name, change.value or ""))
        current += [(c.name, c.value or "") for c in changes if c.action == "add"]
    joined: dict[str, tuple[str, list[str]]] = {}
    for name, value in current:
        joined.setdefault(name.lower(), (name, []))[1].append(value)
    return tuple((name, ",".join(values)) for name, values in joined.values())


def _mirror_reason(mirror: Mirror) -> str:
    where = "" if mirror.backend is None else f" (a filter of backend {mirror.backend})"
    if mirror.problem is not None:
        return f"RequestMirror{where}: no copy goes to {mirror}: {mirror.problem}"
    return (
        f"RequestMirror{where}: {mirror.percent:g}% of requests copied to {mirror}"
        " (its responses are ignored)"
    )


def _duration(value: str) -> str:
    return f"{value} (disabled)" if value.strip("0hms") == "" else value


def _policy_reasons(rule: routing_objects.Rule) -> list[str]:
    """The timeouts and retries the rule sets (unset ones are implementation-specific)."""
    lines: list[str] = []
    timeouts = rule.timeouts
    if timeouts is not None:
        parts: list[str] = []
        if timeouts.request is not None:
            parts.append(f"request {_duration(timeouts.request)} for the whole exchange")
        if timeouts.backend_request is not None:
            parts.append(f"backendRequest {_duration(timeouts.backend_request)} for each try")
        lines.append("timeouts: " + ", ".join(parts))
    retry = rule.retry
    if retry is not None:
        attempts = "implementation-specific" if retry.attempts is None else str(retry.attempts)
        codes = ", ".join(str(c) for c in retry.codes) or "no codes listed"
        backoff = "" if retry.backoff is None else f", at least {retry.backoff} apart"
        lines.append(f"retry: up to {attempts} retries on {codes}{backoff}")
    return lines


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    """An origin ``scheme://host[:port]`` as (scheme, host, port); None if it is not one."""
    scheme, sep, rest = origin.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS or not rest or "/" in rest:
        return None
    host, colon, port = rest.rpartition(":") if _has_port(rest) else (rest, "", "")
    number = int(port) if colon else _DEFAULT_PORTS[scheme]
    return scheme, host.lower(), number


def _origin_allowed(pattern: str, origin: str) -> bool:
    """Whether an ``allowOrigins`` value takes ``origin`` (HTTPCORSFilter ``allowOrigins``).

    ``*`` alone takes every origin; a ``*`` in the host is "a greedy match to the left,
    including any number of DNS labels"; the ports are the scheme's when left out.
    """
    if pattern == "*":
        return True
    want, got = _origin_parts(pattern), _origin_parts(origin)
    if want is None or got is None or want[0] != got[0] or want[2] != got[2]:
        return False
    head, star, tail = want[1].partition("*")
    if not star:
        return want[1] == got[1]
    return (
        len(got[1]) > len(head) + len(tail) and got[1].startswith(head) and got[1].endswith(tail)
    )


def _cors(spec: routing_objects.CorsSpec, request: Request, reasons: list[str]) -> Cors:
    """What a CORS filter answers this request with, as HTTPCORSFilter describes."""
    origin = request.header("origin")
    base = Cors(
        spec.allow_origins,
        spec.allow_methods,
        spec.allow_headers,
        spec.expose_headers,
        spec.allow_credentials,
        spec.max_age,
        origin=origin,
    )
    if origin is None:
        reasons.append("CORS: no Origin header, not a cross-origin request: no CORS headers")
        return base
    preflight = request.method == "OPTIONS" and request.header("access-control-request-method")
    allowed = any(_origin_allowed(p, origin) for p in spec.allow_origins)
    if not allowed:
        reasons.append(
            f"CORS: origin {origin!r} is not among {list(spec.allow_origins)}: no CORS headers,"
            " so the browser refuses the response"
        )
        return replace(base, origin_allowed=False, preflight=bool(preflight))
    headers = [("Access-Control-Allow-Origin", origin)]
    if spec.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if preflight:
        if spec.allow_methods:
            headers.append(("Access-Control-Allow-Methods", ", ".join(spec.allow_methods)))
        if spec.allow_headers:
            headers.append(("Access-Control-Allow-Headers", ", ".join(spec.allow_headers)))
        headers.append(("Access-Control-Max-Age", str(spec.max_age)))
        reasons.append(
            f"CORS: a preflight from allowed origin {origin!r}: the gateway answers it itself"
            " (200); no backend sees it"
        )
    else:
        if spec.expose_headers:
            headers.append(("Access-Control-Expose-Headers", ", ".join(spec.expose_headers)))
        reasons.append(f"CORS: origin {origin!r} is allowed: CORS headers added to the response")
    return replace(
        base, origin_allowed=True, preflight=bool(preflight), response_headers=tuple(headers)
    )


def _mirror_json(mirror: Mirror) -> dict[str, object]:
    return {
        "group": mirror.group,
        "kind": mirror.kind,
        "namespace": mirror.namespace,
        "name": mirror.name,
        "port": mirror.port,
        "percent": mirror.percent,
        "backend": mirror.backend,
        "problem": mirror.problem,
    }


def _cors_json(cors: Cors) -> dict[str, object]:
    return {
        "allow_origins": list(cors.allow_origins),
        "allow_methods": list(cors.allow_methods),
        "allow_headers": list(cors.allow_headers),
        "expose_headers": list(cors.expose_headers),
        "allow_credentials": cors.allow_credentials,
        "max_age": cors.max_age,
        "origin": cors.origin,
        "origin_allowed": cors.origin_allowed,
        "preflight": cors.preflight,
        "response_headers": [list(h) for h in cors.response_headers],
    }


def _change_json(change: HeaderChange) -> dict[str, object]:
    return {
        "phase": change.phase,
        "action": change.action,
        "name": change.name,
        "value": change.value,
    }


def _route_json(kind: str | None, key: str) -> dict[str, object]:
    namespace, _, name = key.partition("/")
    return {"kind": kind, "namespace": namespace, "name": name}


def _backend_json(backend: Backend) -> dict[str, object]:
    return {
        "group": backend.group,
        "kind": backend.kind,
        "namespace": backend.namespace,
        "name": backend.name,
        "port": backend.port,
        "weight": backend.weight,
        "share": backend.share,
        "problem": backend.problem,
        "header_changes": [_change_json(c) for c in backend.header_changes],
        "request_headers": [list(h) for h in backend.request_headers],
        "response_changes": [_change_json(c) for c in backend.response_changes],
        "notes": list(backend.notes),
    }


def _layer4(
    base: Outcome, listener: routing_objects.Listener, index: _ListenerIndex, reasons: list[str]
) -> Outcome:
    routes = ", ".join(f"{a.route.kind} {a.route.key}" for a in index.l4) or "none attached"
    reasons.append(f"{listener.protocol} listener: layer 4, not evaluated (routes: {routes})")
    return replace(base, status="l4", reasons=tuple(reasons))
