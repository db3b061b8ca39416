"""``meshops route FILE URL``: which route, rule and backends serve a request at the ingress.

The command renders the platform file as ``meshops render`` does, and asks the Gateway
API evaluator (:mod:`meshops.semantics.routing`) what the ingress gateway does with one
request: the listener, the route, rule and match that win by the Gateway API's
precedence, the backends with their weights and shares, the redirect or URL rewrite, the
header changes, and why. It evaluates the rendered objects, never the file itself, so it
answers for the very objects ``meshops render`` prints.

The request arrives at the platform's ingress gateway: the mesh's waypoints are Gateways
too, but they are left out (no client outside the mesh reaches them). ``--gateway``
chooses among the gateways left, should a platform ever render several.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from typing import Any, TextIO, cast

from meshops.cli.files import add_command, read_declaration
from meshops.cli.output import add_output_option, write_json
from meshops.cli.render import checked_objects
from meshops.semantics.routing import Backend, HeaderChange, Mirror, Outcome, Request, Routes

__all__ = ["add_parser", "outcome_lines", "parse_grpc", "parse_header", "run"]

_DESCRIPTION = """\
Tell which route, rule and backends serve a request arriving at the platform's
ingress gateway. The file is rendered as 'meshops render' renders it, and the
Gateway, HTTPRoutes and GRPCRoutes it gives are evaluated as the Gateway API
specifies (v1.5.1, as Istio implements it): the listener whose port and hostname
take the request, then among the routes attached to it the match that wins by
the Gateway API's precedence: the most specific hostname; for HTTP, Exact over
PathPrefix over RegularExpression paths, the longest path, a method match, the
most header and query matches; for gRPC, the service and method matches; then
the oldest route, and the first rule and match in it.

Prints the verdict (200 and the route, rule and match; the redirect; '404: no
route'; '500: no valid backend'; for a gRPC call its gRPC status:
'UNIMPLEMENTED: no route', 'UNAVAILABLE: no valid backend'), then the request as
understood, the gateway and listener, the backends with their weights and shares
of the traffic, the header changes (a backend's own filters only when it is
chosen) and the request headers each backend receives, the mirrors, timeouts,
retries and CORS that apply, the rewritten host and path, and the evaluator's
reasons, including the matches that lost and why. Nothing is sent to a cluster.

Exit status: 0 when the request is routed or redirected; 1 when it gets a 404
(no route) or a 500 (no valid backend), or reaches a TLS or TCP listener (layer
4, not evaluated); 2 when the file is invalid or has no ingress, or the URL, a
header, --grpc or --gateway is not valid."""

_EPILOG = """\
examples:
  meshops route examples/shop.yaml https://shop.example.com/products
  meshops route examples/shop.yaml http://shop.example.com/cart --method POST
  meshops route examples/shop.yaml https://shop.example.com/ -H 'x-user: alice'
  meshops route examples/shop.yaml https://shop.example.com/ --grpc shop.Cart/AddItem
  meshops route examples/shop.yaml https://grafana.example.com/d/1 --output json"""

_PREFIX = "meshops route"
#: An HTTP header name: an RFC 9110 token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: The GatewayClass of the mesh's waypoints, which no client outside reaches.
_WAYPOINT_CLASS = "istio-waypoint"
_LABEL = 8  # the width of the detail lines' labels ("backends")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``route`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "route",
        help="tell which route and backends serve a request at the ingress",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "url", metavar="URL", help="the request's http or https URL (port 80/443 by default)"
    )
    parser.add_argument(
        "--method", metavar="M", help="the HTTP method (default GET; POST with --grpc)"
    )
    parser.add_argument(
        "-H",
        "--header",
        metavar="NAME:VALUE",
        action="append",
        default=[],
        dest="headers",
        help="a request header, as with curl (repeat for more); 'Host: ...' names the host",
    )
    parser.add_argument(
        "--grpc",
        metavar="SERVICE/METHOD",
        help="make the request a gRPC call (a POST to /SERVICE/METHOD)",
    )
    parser.add_argument(
        "--gateway",
        metavar="NAMESPACE/NAME",
        help="the Gateway the request arrives at (default: the platform's ingress gateway)",
    )
    add_output_option(parser)
    parser.set_defaults(run=run)
    return parser


def parse_header(text: str) -> tuple[str, str]:
    """A ``-H NAME:VALUE`` argument as a (name, value) pair.

    The value keeps its spaces here; building the request strips them, as HTTP does.

    Raises:
        ValueError: ``text`` has no ``:``, or its name is not an HTTP header name (an
            RFC 9110 token); the message quotes it.

    Example:
        >>> parse_header("x-user: alice")
        ('x-user', ' alice')
    """
    name, colon, value = text.partition(":")
    if not colon:
        raise ValueError(f"-H {text!r} must be NAME:VALUE, e.g. -H 'x-user: alice'")
    if not _TOKEN.fullmatch(name.strip()):
        raise ValueError(f"-H {text!r}: {name.strip()!r} is not a valid HTTP header name")
    return name.strip(), value


def parse_grpc(text: str) -> tuple[str, str]:
    """A ``--grpc SERVICE/METHOD`` argument as a (service, method) pair.

    Raises:
        ValueError: ``text`` is not two non-empty names joined by one ``/`` (quoting it).

    Example:
        >>> parse_grpc("shop.Cart/AddItem")
        ('shop.Cart', 'AddItem')
    """
    service, _, method = text.partition("/")
    if not service or not method or "/" in method:
        raise ValueError(f"--grpc {text!r} must be SERVICE/METHOD, e.g. --grpc shop.Cart/AddItem")
    return service, method


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Evaluate ``args.url`` against the objects ``args.file`` renders; print the outcome.

    Returns:
        0 when the request is routed or redirected, 1 for a 404, a 500 or a layer-4
        listener, 2 for an invalid file or command line.
    """
    try:
        headers = [parse_header(h) for h in args.headers]
        grpc = None if args.grpc is None else parse_grpc(args.grpc)
        request = Request.from_url(args.url, method=args.method, headers=headers, grpc=grpc)
    except ValueError as e:
        print(f"{_PREFIX}: {e}", file=err)
        return 2
    declaration = read_declaration(
        args.file, out, err, output=args.output, max_bytes=args.max_file_size
    )
    if declaration is None:
        return 2
    if declaration.ingress is None:
        print(
            f"{_PREFIX}: {args.file} has no ingress section: there is no gateway to route through",
            file=err,
        )
        return 2
    objects = checked_objects(declaration, args.file, err)
    if objects is None:
        return 2
    routes = Routes.from_objects(o for o in objects if not _is_waypoint(o))
    try:
        outcome = routes.route(request, gateway=args.gateway)
    except ValueError as e:
        print(f"{_PREFIX}: {e}", file=err)
        return 2
    for problem in routes.problems:
        print(f"{_PREFIX}: note: {problem}", file=err)
    if args.output == "json":
        write_json(outcome.to_json(), out)
    else:
        for line in outcome_lines(outcome):
            print(line, file=out)
    return 0 if outcome.status in {"routed", "redirect"} else 1


def outcome_lines(outcome: Outcome) -> list[str]:
    """The outcome as text for people: the verdict, then indented details and reasons.

    Example:
        >>> outcome = Outcome("not-found", Request.from_url("https://a.example/"),
        ...                   reasons=("no Gateway has a listener on port 443",))
        >>> for line in outcome_lines(outcome):
        ...     print(line)
        404: no route
          request   GET https://a.example/
          why:
            no Gateway has a listener on port 443
    """
    lines = [_verdict(outcome)]
    request = outcome.request
    grpc = "" if request.grpc is None else f"  (gRPC {'/'.join(request.grpc)})"
    lines += _field("request", [f"{request.method} {request.url}{grpc}"])
    lines += _field("", [f"{name}: {value}" for name, value in request.headers])
    if outcome.gateway is not None:
        listener = "no listener" if outcome.listener is None else f"listener {outcome.listener}"
        lines += _field("gateway", [f"{outcome.gateway}, {listener}"])
    if outcome.route is not None and outcome.status != "routed":
        lines += _field("route", [_route(outcome)])
    if outcome.backends:
        label = "backend" if len(outcome.backends) == 1 else "backends"
        lines += _field(label, _backends(outcome.backends))
    changes = [_header_change(c) for c in outcome.header_changes]
    for backend in outcome.backends:
        changes += [
            f"{_header_change(c)}  (backend {backend} only)" for c in backend.header_changes
        ]
    lines += _field("headers", changes)
    lines += _field("received", _received(outcome))
    lines += _field("mirror", [_mirror(m) for m in outcome.mirrors])
    lines += _field("timeouts", _timeouts(outcome))
    lines += _field("cors", _cors(outcome))
    lines += _field("rewrite", _rewrites(outcome))
    if outcome.reasons:
        lines.append("  why:")
        lines += [f"    {reason}" for reason in outcome.reasons]
    return lines


def _is_waypoint(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a namespace's waypoint: a Gateway inside the mesh, not at its edge."""
    spec: Any = obj.get("spec")
    return (
        obj.get("kind") == "Gateway"
        and isinstance(spec, Mapping)
        and cast("Mapping[str, Any]", spec).get("gatewayClassName") == _WAYPOINT_CLASS
    )


def _verdict(outcome: Outcome) -> str:
    if outcome.status == "routed":
        errors = outcome.error_share
        tail = f"; {errors:g}% get {outcome.error_status} (invalid backends)" if errors else ""
        return f"200: {_route(outcome)}{tail}"
    if outcome.status == "l4":
        return f"layer 4: not evaluated (listener {outcome.listener} takes TLS or TCP routes)"
    return outcome.summary()


def _route(outcome: Outcome) -> str:
    text = f"{outcome.route_kind} {outcome.route}"
    if outcome.rule_index is not None:
        name = "" if outcome.rule_name is None else f' "{outcome.rule_name}"'
        text += f", rule{name} ({outcome.rule_index})" if name else f", rule {outcome.rule_index}"
    if outcome.match_index is not None:
        text += f", match {outcome.match_index}"
    return text


def _backends(backends: Sequence[Backend]) -> list[str]:
    names = [str(b) for b in backends]
    name_width = max(len(n) for n in names)
    weight_width = max(len(str(b.weight)) for b in backends)
    shares = [f"{b.share:g}%" for b in backends]
    share_width = max(len(s) for s in shares)
    lines: list[str] = []
    for backend, name, share in zip(backends, names, shares, strict=True):
        weight = f"weight {backend.weight:<{weight_width}}"
        line = f"{name:<{name_width}}  {weight}  {share:>{share_width}}"
        if backend.problem is not None:
            line += f"  invalid, gets 500: {backend.problem}"
        lines.append(line)
    return lines


def _header_change(change: HeaderChange) -> str:
    if change.action == "remove":
        return f"{change.phase:<8}  remove {change.name}"
    return f"{change.phase:<8}  {change.action} {change.name}: {change.value}"


def _received(outcome: Outcome) -> list[str]:
    """The request headers each backend receives, when filters changed them."""
    if not any(c.phase == "request" for c in outcome.header_changes) and not any(
        c.phase == "request" for b in outcome.backends for c in b.header_changes
    ):
        return []
    lines: list[str] = []
    for backend in outcome.backends:
        headers = ", ".join(f"{n}: {v}" for n, v in backend.request_headers) or "no headers"
        lines.append(f"{backend} gets {headers}")
    return lines


def _mirror(mirror: Mirror) -> str:
    where = "" if mirror.backend is None else f"  (when {mirror.backend} is chosen)"
    if mirror.problem is not None:
        return f"{mirror}  none sent: {mirror.problem}{where}"
    return f"{mirror}  {mirror.percent:g}% of requests, responses ignored{where}"


def _timeouts(outcome: Outcome) -> list[str]:
    lines: list[str] = []
    if outcome.timeouts is not None:
        parts = [
            f"{label} {value}"
            for label, value in (
                ("request", outcome.timeouts.request),
                ("backendRequest", outcome.timeouts.backend_request),
            )
            if value is not None
        ]
        lines.append(", ".join(parts))
    if outcome.retry is not None:
        retry = outcome.retry
        attempts = "?" if retry.attempts is None else str(retry.attempts)
        codes = ", ".join(str(c) for c in retry.codes) or "no codes"
        backoff = "" if retry.backoff is None else f", backoff {retry.backoff}"
        lines.append(f"retry up to {attempts} times on {codes}{backoff}")
    return lines


def _cors(outcome: Outcome) -> list[str]:
    cors = outcome.cors
    if cors is None:
        return []
    if cors.origin is None:
        return ["no Origin header: not a cross-origin request"]
    verdict = "allowed" if cors.origin_allowed else "not allowed: no CORS headers"
    kind = "preflight from" if cors.preflight else "origin"
    return [f"{kind} {cors.origin} {verdict}"] + [f"{n}: {v}" for n, v in cors.response_headers]


def _rewrites(outcome: Outcome) -> list[str]:
    request, lines = outcome.request, list[str]()
    if outcome.host is not None and outcome.host != request.host:
        lines.append(f"host {request.host} -> {outcome.host}")
    if outcome.path is not None and outcome.path != request.path:
        lines.append(f"path {request.path} -> {outcome.path}")
    return lines


def _field(label: str, values: Sequence[str]) -> list[str]:
    """``values`` as detail lines, ``label`` in front of the first, the others aligned."""
    return [f"  {label if i == 0 else '':<{_LABEL}}  {value}" for i, value in enumerate(values)]
