"""``meshops graph FILE -o FILE.svg``: draw the mesh a platform file declares.

The picture is built in two steps, so that what it shows is tested without drawing:

1. :func:`describe` turns a :class:`~meshops.platform_file.Declaration` into a :class:`Graph`:
   plain data holding one :class:`Cluster` per namespace, one :class:`Node` per app (and
   the ingress gateway, and the clients in front of it), one :class:`Edge` per allowed
   call and per ingress route, each with the lines of its label;
2. :func:`dot_source` writes that graph as Graphviz DOT (its styles, colours and HTML
   labels), and :func:`draw` lays it out with ``dot`` through pygraphviz (the ``graph``
   extra: ``pip install 'meshops[graph]'``) and writes an SVG or a PNG.

What is drawn:

* each namespace is a box labelled with its name and mesh mode (``ambient mesh``,
  ``sidecar mesh`` or ``off mesh``); when the platform is hardened, every namespace on
  the mesh denies by default, and its box has a red dashed border and says ``deny by default``;
* each accept rule is an arrow from each of its sources to its app, labelled with the
  ports (the app's every port when the rule names none), methods, paths and hosts; a
  rule enforced at L4 (by ztunnel, ports only) is dashed and grey, and says ``L4``; a
  rule into a namespace with sidecars (enforced by the callee's sidecar, L7 included)
  is green, and says ``L4`` when it names ports only;
* an app that declares no accept rules says whom it accepts instead: ``accepts any
  caller`` (orange) on a platform that is not hardened or off the mesh, else ``accepts
  only ingress routes`` (when a route leads to it) or ``accepts no calls``;
* the ingress gateway is a purple node in its namespace's box, with its hostname, its
  listeners and its TLS Secret; ``clients`` point at it, and it points at each route's
  backends (one arrow per backend, labelled with the route's name, hostnames, matches,
  and the backend's port and weight). A route that only redirects sends nothing to an
  app: it is listed on the gateway, under ``redirects``, with where it sends clients.

An arrow's label is a node the arrow passes through, so that dot keeps it where it
belongs: inside the namespace's box for a call within one namespace, outside every box
for any other arrow; never on a box's border.

The same file always gives the same DOT source: clusters, nodes and edges are sorted,
and node ids are stable (``app:<namespace>/<name>``, ``gateway:<namespace>/<name>``).

Example:
    >>> from meshops.model.platform import App, Namespace, Platform
    >>> platform = Platform("demo", (Namespace("demo"),), (App("web", "demo"),))
    >>> graph = describe(platform_file.Declaration(platform))
    >>> [(c.title, c.lines) for c in graph.clusters]
    [('demo', ('ambient mesh',))]
    >>> graph.clusters[0].nodes[0].notes
    ('accepts any caller',)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import html
import os
import sys
import tempfile
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from meshops import platform_file
from meshops.cli.files import add_command, read_declaration
from meshops.model.ingress import (
    GatewayConfig,
    GatewayProtocol,
    HTTPMatch,
    Match,
    PathMatchType,
    PathModifierType,
    RequestRedirect,
    Route,
    URLRewrite,
)
from meshops.model.ingress import Protocol as RouteProtocol
from meshops.model.platform import Accept, App, AppRef, Level, MeshMode, Platform
from meshops.plan.ingress import Listener, RouteSet

__all__ = [
    "FORMATS",
    "Access",
    "Cluster",
    "DrawingError",
    "Edge",
    "EdgeKind",
    "Graph",
    "Node",
    "NodeKind",
    "add_parser",
    "describe",
    "dot_source",
    "draw",
    "run",
]

#: The picture formats ``-o`` may name, by file extension.
FORMATS = ("svg", "png")
#: The id of the node standing for the ingress gateway's clients.
CLIENTS = "clients"
#: The widest a label's line grows before a list wraps onto the next line.
WRAP = 34
_INSTALL_HINT = "drawing needs pygraphviz: pip install 'meshops[graph]'"


class NodeKind(str, enum.Enum):
    """What a node stands for."""

    app = "app"
    gateway = "gateway"
    clients = "clients"


class Access(str, enum.Enum):
    """Whom an app accepts calls from."""

    #: The callers its accept rules name (the arrows into it).
    rules = "rules"
    #: Anyone: it declares no accept rules and nothing denies by default, or it is off
    #: the mesh, where nothing enforces a rule.
    any_caller = "any caller"
    #: Nobody but the ingress gateway: deny by default, no accept rules, an ingress route.
    ingress_only = "ingress only"
    #: Nobody: deny by default, no accept rules and no ingress route.
    nobody = "nobody"


class EdgeKind(str, enum.Enum):
    """What an arrow stands for."""

    #: Calls an accept rule allows, enforced at L7 by the namespace's waypoint.
    call = "call"
    #: Calls an accept rule allows, enforced at L4 by ztunnel (ports only).
    call_l4 = "call L4"
    #: Calls an accept rule allows, enforced by the callee's sidecar (every field).
    call_sidecar = "call sidecar"
    #: Requests an ingress route sends from the gateway to a backend.
    route = "route"
    #: Clients reaching the ingress gateway.
    entry = "entry"


@dataclasses.dataclass(frozen=True)
class Node:
    """An app, the ingress gateway, or its clients.

    Attributes:
        id: the node's id, stable across runs (``app:shop/cart``).
        kind: what it stands for.
        title: its name, the label's first line.
        lines: what it is: ports, service account, hostname, listeners.
        notes: what to notice: whom it accepts, the redirects a gateway answers.
        access: for an app, whom it accepts calls from.
    """

    id: str
    kind: NodeKind
    title: str
    lines: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    access: Access | None = None


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A namespace, and the nodes in it.

    Attributes:
        id: the Graphviz subgraph's id (``cluster_<namespace>``: dot draws a box for a
            subgraph whose id starts with ``cluster``).
        title: the namespace's name.
        lines: its mesh mode, and ``deny by default`` where that applies.
        mesh: how the namespace takes part in the mesh; None when the platform does not
            declare it.
        deny_by_default: whether calls that no rule allows are refused there.
        nodes: its apps (and the gateway, in the gateway's namespace), sorted by id.
    """

    id: str
    title: str
    lines: tuple[str, ...]
    mesh: MeshMode | None
    deny_by_default: bool
    nodes: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, order=True)
class Edge:
    """An arrow: calls allowed from one app to another, or requests the ingress routes.

    Attributes:
        tail: the id of the node it starts from (the caller, or the gateway).
        head: the id of the node it points at.
        kind: what it stands for.
        title: the label's first line, in bold (``L4``, a route's name), or empty.
        lines: the rest of the label.
    """

    tail: str
    head: str
    kind: EdgeKind
    title: str = ""
    lines: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Graph:
    """What :func:`draw` draws.

    Attributes:
        title: the platform's name.
        clusters: one per namespace, sorted by name.
        nodes: the nodes outside every namespace (the ingress gateway's clients).
        edges: every arrow, sorted.
    """

    title: str
    clusters: tuple[Cluster, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node | None:
        """The node called ``node_id``, if any."""
        every = (n for c in self.clusters for n in c.nodes)
        return next((n for n in (*every, *self.nodes) if n.id == node_id), None)


class DrawingError(Exception):
    """The picture could not be made: pygraphviz is missing, Graphviz failed, or the file."""


# -- describing ---------------------------------------------------------------------------


def describe(declaration: platform_file.Declaration) -> Graph:
    """The picture of what ``declaration`` declares; see the module docstring.

    Args:
        declaration: a platform file, as :func:`meshops.platform_file.read_file` returns it (or
            built in code: apps and namespaces it does not declare are drawn, marked
            ``not declared``).
    """
    platform = declaration.platform
    ingress = declaration.ingress
    edges: list[Edge] = []
    for app in platform.apps:
        namespace = platform.namespace(app.namespace)
        sidecars = namespace is not None and namespace.sidecars
        for accept in app.accepts:
            edges += (_call(source, app, accept, sidecars) for source in accept.sources)
    gateway_node: Node | None = None
    extra: list[Node] = []
    backends: set[str] = set()
    if ingress is not None:
        gateway = ingress.gateway
        plan = declaration.ingress_plan
        listeners = plan.listeners if plan is not None else ()
        gateway_node = _gateway_node(gateway, listeners, ingress.route_sets)
        edges.append(Edge(CLIENTS, gateway_node.id, EdgeKind.entry))
        for route_set in ingress.route_sets:
            for route in route_set.routes:
                edges += _route_edges(gateway_node.id, route_set, route)
        backends = {e.head for e in edges if e.kind is EdgeKind.route}
        extra.append(Node(CLIENTS, NodeKind.clients, "clients"))
    nodes = {
        _app_id(a.ref): _app_node(platform, a, _app_id(a.ref) in backends) for a in platform.apps
    }
    for ref in sorted({_ref(i) for e in edges for i in (e.tail, e.head) if i.startswith("app:")}):
        nodes.setdefault(
            _app_id(ref), Node(_app_id(ref), NodeKind.app, ref.name, ("not declared",))
        )
    by_namespace: dict[str, list[Node]] = {ns.name: [] for ns in platform.namespaces}
    for node in nodes.values():
        by_namespace.setdefault(_ref(node.id).namespace, []).append(node)
    if gateway_node is not None and ingress is not None:
        by_namespace.setdefault(ingress.gateway.namespace, []).append(gateway_node)
    clusters = tuple(
        _cluster(platform, name, members) for name, members in sorted(by_namespace.items())
    )
    return Graph(platform.name, clusters, tuple(extra), tuple(sorted(set(edges), key=_edge_key)))


def _edge_key(edge: Edge) -> tuple[str, str, str, str, tuple[str, ...]]:
    return (edge.tail, edge.head, edge.kind.value, edge.title, edge.lines)


def _app_id(ref: AppRef) -> str:
    return f"app:{ref}"


def _ref(node_id: str) -> AppRef:
    """The app (or gateway) a node id names."""
    namespace, _, name = node_id.partition(":")[2].partition("/")
    return AppRef(namespace, name)


def _cluster(platform: Platform, name: str, nodes: Sequence[Node]) -> Cluster:
    namespace = platform.namespace(name)
    if namespace is None:
        mesh, lines = None, ("not declared",)
    elif namespace.on_mesh:
        mesh, lines = namespace.mesh, (f"{namespace.mesh.value} mesh",)
    else:
        mesh, lines = namespace.mesh, ("off mesh",)
    deny = platform.hardened and namespace is not None and namespace.on_mesh
    if deny:
        lines += ("deny by default",)
    ordered = tuple(sorted(nodes, key=lambda n: n.id))
    return Cluster(f"cluster_{name}", name, lines, mesh, deny, ordered)


def _app_node(platform: Platform, app: App, routed: bool) -> Node:
    """An app's node: its ports and service account, and whom it accepts when no rule says."""
    lines = _wrap(f"{p.protocol.value} :{p.port}" for p in app.ports)
    if app.service_account is not None:
        lines += (f"sa {app.service_account}",)
    namespace = platform.namespace(app.namespace)
    on_mesh = namespace is None or namespace.on_mesh
    if app.accepts and on_mesh:
        access = Access.rules
    elif not (platform.hardened and on_mesh):
        access = Access.any_caller
    else:
        access = Access.ingress_only if routed else Access.nobody
    notes = {
        Access.rules: (),
        Access.any_caller: ("accepts any caller",),
        Access.ingress_only: ("accepts only ingress routes",),
        Access.nobody: ("accepts no calls",),
    }[access]
    return Node(_app_id(app.ref), NodeKind.app, app.name, lines, notes, access)


def _call(source: AppRef, app: App, accept: Accept, sidecars: bool) -> Edge:
    """The arrow for calls ``accept`` allows from ``source`` to ``app``."""
    ports = accept.ports or tuple(p.port for p in app.ports)
    where = " ".join(f":{p}" for p in ports) or "any port"
    tail, head = _app_id(source), _app_id(app.ref)
    kind = EdgeKind.call_sidecar if sidecars else EdgeKind.call
    if accept.level is Level.l4:
        return Edge(tail, head, kind if sidecars else EdgeKind.call_l4, "L4", (where,))
    methods = " ".join(m.value for m in accept.methods)
    if not methods:
        lines = [where]
    elif len(where) + 3 + len(methods) <= WRAP:
        lines = [f"{where} · {methods}"]
    else:
        lines = [where, *_wrap((m.value for m in accept.methods), sep=" ")]
    lines += _wrap(accept.paths)
    lines += _wrap(accept.hosts, first="host ")
    return Edge(tail, head, kind, "", tuple(lines))


def _gateway_node(
    gateway: GatewayConfig, listeners: Sequence[Listener], route_sets: Sequence[RouteSet]
) -> Node:
    """The gateway's node: its hostname, listeners, TLS Secret, and the redirects it answers."""
    lines = [f"Gateway · {gateway.gateway_class}", gateway.hostname or "any hostname"]
    for listener in listeners:
        where = f"{listener.protocol.value} :{listener.port}"
        if listener.protocol is GatewayProtocol.HTTP and gateway.tls:  # only redirects
            where += " → HTTPS"
        elif listener.protocol is GatewayProtocol.TLS:
            where += " passthrough"
        lines.append(where)
    if gateway.tls_secret is not None:
        lines.append(f"TLS secret {gateway.tls_secret}")
    notes: list[str] = []
    for route_set in route_sets:
        for route in route_set.routes:
            redirect = next((f for f in route.filters if isinstance(f, RequestRedirect)), None)
            if redirect is not None:
                notes.append(_redirect(route, redirect))
    if notes:
        notes.insert(0, "redirects:")
    return Node(
        f"gateway:{gateway.namespace}/{gateway.name}",
        NodeKind.gateway,
        gateway.name,
        tuple(lines),
        tuple(notes),
    )


def _redirect(route: Route, redirect: RequestRedirect) -> str:
    """``www: www.example.com → 301 https://shop.example.com``."""
    target = f"{redirect.scheme}://" if redirect.scheme else ""
    target += redirect.hostname or "(same host)"
    if redirect.port is not None:
        target += f":{redirect.port}"
    if redirect.path is not None:
        prefix = redirect.path.type is PathModifierType.ReplacePrefixMatch
        target += f" path {redirect.path.value}{'…' if prefix else ''}"
    hosts = ", ".join(route.hostnames) or "any host"
    return f"{route.name}: {hosts} → {redirect.status_code} {target}"


def _route_edges(gateway_id: str, route_set: RouteSet, route: Route) -> list[Edge]:
    """One arrow per backend of ``route``: none for a route that only redirects.

    A route has backends unless it redirects (:class:`~meshops.model.ingress.Route`
    refuses one with neither); the file's loader gives a route that names none its app's
    Service.
    """
    if any(isinstance(f, RequestRedirect) for f in route.filters):
        return []
    lines = list(_wrap(route.hostnames))
    if route.port is not None or route.protocol is not RouteProtocol.HTTP:
        lines.append(route.protocol.value + (f" :{route.port}" if route.port else ""))
    lines += (_match(m) for m in route.matches)
    for f in route.filters:
        if isinstance(f, URLRewrite):
            what = [f"host {f.hostname}"] if f.hostname else []
            what += [f"path {f.path.value}"] if f.path else []
            lines.append("rewrite " + ", ".join(what))
    edges: list[Edge] = []
    for backend in route.backends:
        target = f"to :{backend.port}"
        if backend.weight is not None and len(route.backends) > 1:
            target += f" · weight {backend.weight}"
        ref = AppRef(backend.namespace or route_set.namespace, backend.service)
        edges.append(Edge(gateway_id, _app_id(ref), EdgeKind.route, route.name, (*lines, target)))
    return edges


def _match(match: Match) -> str:
    """A route match in a few words: ``GET prefix /api``, ``grpc shop.Cart/Get``."""
    words: list[str] = []
    if isinstance(match, HTTPMatch):
        if match.method is not None:
            words.append(match.method.value)
        path = match.effective_path
        kind = {
            PathMatchType.PathPrefix: "prefix",
            PathMatchType.Exact: "exact",
            PathMatchType.RegularExpression: "regex",
        }[path.type]
        words.append(f"{kind} {path.value}")
    else:
        words.append(f"grpc {match.service or '*'}/{match.method or '*'}")
    words += (f"{h.name}={h.value}" for h in match.headers)
    return " ".join(words)


def _wrap(items: Iterable[str], *, first: str = "", sep: str = ", ") -> tuple[str, ...]:
    """``items`` joined by ``sep``, in lines of at most :data:`WRAP` characters (or one item).

    Example:
        >>> _wrap(["/api/v1/users/*", "/api/v1/orders/*", "/healthz"])
        ('/api/v1/users/*, /api/v1/orders/*,', '/healthz')
    """
    lines: list[str] = []
    line = ""
    for item in items:
        if not line:
            line = first + item
        elif len(line) + len(sep) + len(item) > WRAP:
            lines.append(line + sep.rstrip())
            line = item
        else:
            line += sep + item
    if line:
        lines.append(line)
    return tuple(lines)


# -- writing DOT --------------------------------------------------------------------------

_FONT = "Helvetica,Arial,sans-serif"
_BLUE, _PURPLE, _ORANGE, _RED, _GREY = "#3a6ea5", "#7b4fa3", "#d9822b", "#c0392b", "#8a8a8a"
_GREEN = "#2e7d4f"
_TEXT, _DIM = "#1f2933", "#52606d"
_CLUSTER_STYLE = {
    MeshMode.ambient: {"style": "rounded,filled", "fillcolor": "#eef4fb", "color": _BLUE},
    MeshMode.sidecar: {"style": "rounded,filled", "fillcolor": "#eef8f1", "color": _GREEN},
    MeshMode.off: {"style": "rounded,filled", "fillcolor": "#f3f3f3", "color": _GREY},
    None: {"style": "rounded,dotted", "fillcolor": "white", "color": _GREY},
}
_DENY_STYLE = {"style": "rounded,filled,dashed", "color": _RED, "penwidth": "2"}
_NOTE_COLOUR = {
    Access.any_caller: _ORANGE,
    Access.ingress_only: _DIM,
    Access.nobody: _RED,
}
_EDGE_STYLE = {
    EdgeKind.call: {"color": _BLUE},
    EdgeKind.call_l4: {"color": _GREY, "style": "dashed"},
    EdgeKind.call_sidecar: {"color": _GREEN},
    EdgeKind.route: {"color": _PURPLE, "penwidth": "1.6"},
    EdgeKind.entry: {"color": _PURPLE, "penwidth": "1.6"},
}
#: The colour of each kind of arrow's label (an L4 call's is darker than its grey line).
_LABEL_COLOUR = {
    EdgeKind.call: _BLUE,
    EdgeKind.call_l4: _DIM,
    EdgeKind.call_sidecar: _GREEN,
    EdgeKind.route: _PURPLE,
}
#: What the legend says of each kind of arrow, and of apps open to any caller.
_LEGEND: tuple[tuple[EdgeKind | Access, str, str], ...] = (
    (EdgeKind.call, _BLUE, "→ call allowed, at L7 (by the waypoint)"),
    (EdgeKind.call_l4, _DIM, "⇢ call allowed, at L4 (by ztunnel)"),
    (EdgeKind.call_sidecar, _GREEN, "→ call allowed, by the callee's sidecar"),
    (EdgeKind.route, _PURPLE, "→ ingress route"),
    (Access.any_caller, _ORANGE, "orange: accepts any caller (no accept rules)"),
)


def dot_source(graph: Graph) -> str:
    """``graph`` in the Graphviz DOT language, styled; the same graph gives the same text."""
    font = {"fontname": _FONT, "fontcolor": _TEXT}
    out = [
        f"digraph {_quote(graph.title)} {{",
        "  graph [{}];".format(
            _attrs(
                {
                    **font,
                    "rankdir": "LR",
                    "newrank": "true",
                    "nodesep": "0.3",
                    # room between ranks for the edge labels dot places there
                    "ranksep": "1.1",
                    "pad": "0.3",
                    "fontsize": "13",
                    "labelloc": "t",
                    "labeljust": "l",
                    "label": _graph_label(graph),
                }
            )
        ),
        "  node [{}];".format(
            _attrs(
                {
                    **font,
                    "fontsize": "12",
                    "shape": "box",
                    "style": "rounded,filled",
                    "fillcolor": "white",
                    "margin": "0.14,0.06",
                }
            )
        ),
        "  edge [{}];".format(_attrs({"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7"})),
    ]
    labels = _label_nodes(graph)
    for cluster in graph.clusters:
        attrs = {**_CLUSTER_STYLE[cluster.mesh], "margin": "12"}
        if cluster.deny_by_default:
            attrs.update(_DENY_STYLE)
        attrs["label"] = _label(
            cluster.title,
            [_Line(line, _cluster_colour(line)) for line in cluster.lines],
            "11",
            left=True,
        )
        out.append(f"  subgraph {_quote(cluster.id)} {{")
        out.append(f"    graph [{_attrs(attrs)}];")
        out += (f"    {_node(node, cluster)}" for node in cluster.nodes)
        out += (f"    {_edge_label_node(e, n)}" for e, (n, c) in labels.items() if c == cluster.id)
        out.append("  }")
    out += (f"  {_node(node, None)}" for node in graph.nodes)
    out += (f"  {_edge_label_node(e, n)}" for e, (n, c) in labels.items() if c is None)
    for edge in graph.edges:
        attrs = _EDGE_STYLE[edge.kind]
        label = labels.get(edge)
        if label is None:
            out.append(f"  {_quote(edge.tail)} -> {_quote(edge.head)} [{_attrs(attrs)}];")
            continue
        # The arrow runs through its label: into it without a head, out of it to the head.
        into = {**attrs, "arrowhead": "none"}
        out.append(f"  {_quote(edge.tail)} -> {_quote(label[0])} [{_attrs(into)}];")
        out.append(f"  {_quote(label[0])} -> {_quote(edge.head)} [{_attrs(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _label_nodes(graph: Graph) -> dict[Edge, tuple[str, str | None]]:
    """Each labelled edge's label node: its id, and the cluster it is drawn in (or None).

    An edge's label is a node of its own that the edge passes through, not a label of the
    edge: dot places edge labels without regard to namespace boxes (one could sit on a
    border), while it keeps a node inside the box it belongs to and out of every other.
    The label of a call within one namespace is drawn in that namespace's box; any other
    between the boxes.
    """
    home = {n.id: c.id for c in graph.clusters for n in c.nodes}
    labels: dict[Edge, tuple[str, str | None]] = {}
    seen: dict[str, int] = {}
    for edge in graph.edges:
        if not (edge.title or edge.lines):
            continue
        base = f"label:{edge.tail} to {edge.head}"
        seen[base] = seen.get(base, 0) + 1
        node_id = base if seen[base] == 1 else f"{base}#{seen[base]}"
        tail, head = home.get(edge.tail), home.get(edge.head)
        labels[edge] = (node_id, tail if tail == head else None)
    return labels


def _edge_label_node(edge: Edge, node_id: str) -> str:
    """The node holding ``edge``'s label, on a white ground in the edge's colour."""
    colour = _LABEL_COLOUR.get(edge.kind, _DIM)
    label = _label(edge.title, [_Line(line, colour) for line in edge.lines])
    attrs = {
        "shape": "plain",
        "style": "",
        "fontcolor": colour,
        # On a white ground: whatever dot lays out under a label is hidden behind it,
        # never drawn through its text.
        "label": _Html(
            '<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="1" BGCOLOR="white">'
            f"<TR><TD>{label}</TD></TR></TABLE>"
        ),
    }
    return f"{_quote(node_id)} [{_attrs(attrs)}];"


class _Html(str):
    """An HTML-like label: written between ``<`` and ``>`` rather than quoted."""


def _graph_label(graph: Graph) -> _Html:
    """The platform's name, and a legend of what the picture shows."""
    shown: set[EdgeKind | Access] = {e.kind for e in graph.edges}
    shown |= {n.access for c in graph.clusters for n in c.nodes if n.access is not None}
    legend = "   ".join(
        f'<FONT COLOR="{colour}">{_escape(text)}</FONT>'
        for what, colour, text in _LEGEND
        if what in shown
    )
    title = f'<FONT POINT-SIZE="16"><B>{_escape(graph.title)}</B></FONT><BR ALIGN="LEFT"/>'
    if legend:
        title += f'<FONT POINT-SIZE="10">{legend}</FONT><BR ALIGN="LEFT"/>'
    return _Html(title)


def _cluster_colour(line: str) -> str:
    return _RED if line == "deny by default" else _DIM


def _node(node: Node, cluster: Cluster | None) -> str:
    attrs: dict[str, str] = {}
    if node.kind is NodeKind.gateway:
        attrs = {"color": _PURPLE, "fillcolor": "#f4edfa", "penwidth": "2"}
    elif node.kind is NodeKind.clients:
        attrs = {"shape": "oval", "color": _PURPLE, "fillcolor": "#faf7fc"}
    elif node.access is Access.any_caller:
        attrs = {"color": _ORANGE, "penwidth": "1.5"}
    elif cluster is not None:
        attrs = {"color": _CLUSTER_STYLE[cluster.mesh]["color"]}
    note = _NOTE_COLOUR.get(node.access, _PURPLE) if node.access else _PURPLE
    lines = [_Line(line, _DIM) for line in node.lines]
    lines += (_Line(n, note, italic=True) for n in node.notes)
    left = node.kind is NodeKind.gateway
    attrs["label"] = _label(node.title, lines, left=left)
    return f"{_quote(node.id)} [{_attrs(attrs)}];"


@dataclasses.dataclass(frozen=True)
class _Line:
    """A line of a label, below its title."""

    text: str
    colour: str
    italic: bool = False


def _label(title: str, lines: Sequence[_Line], size: str = "10", *, left: bool = False) -> _Html:
    """The title in bold, then each line in its colour; centred, or every line to the left."""
    parts = [f"<B>{_escape(title)}</B>"] if title else []
    for line in lines:
        text = _escape(line.text)
        if line.italic:
            text = f"<I>{text}</I>"
        parts.append(f'<FONT POINT-SIZE="{size}" COLOR="{line.colour}">{text}</FONT>')
    if left:
        return _Html("".join(f'{part}<BR ALIGN="LEFT"/>' for part in parts))
    return _Html("<BR/>".join(parts))


def _attrs(attrs: Mapping[str, str]) -> str:
    """``key="value", ...`` sorted by key; an :class:`_Html` value between ``<`` and ``>``."""
    return ", ".join(
        f"{k}={f'<{v}>' if isinstance(v, _Html) else _quote(v)}" for k, v in sorted(attrs.items())
    )


def _quote(value: str) -> str:
    """A DOT quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape(text: str) -> str:
    """Text for an HTML-like label."""
    return html.escape(text, quote=False)


# -- drawing ------------------------------------------------------------------------------


class _Drawable(Protocol):
    """What :func:`draw` uses of a ``pygraphviz.AGraph``."""

    def draw(
        self, path: None = None, format: str | None = None, prog: str | None = None
    ) -> bytes | None:
        """Lay the graph out with ``prog`` and return it rendered in ``format``."""
        ...


def _agraph(source: str) -> _Drawable:
    """A ``pygraphviz.AGraph`` read from DOT ``source``."""
    try:
        import pygraphviz  # pyright: ignore[reportMissingTypeStubs]
    except ImportError:
        raise DrawingError(_INSTALL_HINT) from None
    try:
        return pygraphviz.AGraph(string=source)  # pyright: ignore[reportUnknownMemberType,reportUnknownVariableType]
    except ValueError as e:  # pragma: no cover - dot_source writes valid DOT
        raise DrawingError(f"Graphviz could not read the graph: {e}") from None


@contextlib.contextmanager
def _without_fontconfig_warnings() -> Generator[None, None, None]:
    """Keep fontconfig's warnings about the system's configuration off stderr.

    pygraphviz's wheel carries its own fontconfig, older than the system's, and that one
    warns on stderr (from C, so no Python setting reaches it) about every element of the
    system's configuration files it does not know (``<reset-dirs>``), at every drawing;
    it reads them whatever ``FONTCONFIG_FILE`` says. What Graphviz or fontconfig write to
    stderr meanwhile is kept, and passed on but for those warnings.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if not line.startswith("Fontconfig warning:"):
                    print(line, file=sys.stderr)


def draw(graph: Graph, path: str | Path, format: str) -> None:
    """Lay ``graph`` out with Graphviz's ``dot`` and write it to ``path`` as ``format``.

    Args:
        graph: what to draw.
        path: the file to write.
        format: one of :data:`FORMATS`.

    Raises:
        DrawingError: pygraphviz is not installed, Graphviz failed, or ``path`` could not
            be written; its message is one line.
    """
    if format not in FORMATS:
        raise DrawingError(f"format {format!r} is not one of {', '.join(FORMATS)}")
    try:
        with _without_fontconfig_warnings():
            data = _agraph(dot_source(graph)).draw(format=format, prog="dot")
    except (ValueError, OSError) as e:
        raise DrawingError(f"Graphviz could not draw the graph: {e}") from None
    if not data:  # pragma: no cover - pygraphviz returns the bytes when given no path
        raise DrawingError(f"Graphviz drew nothing for {str(path)!r}")
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise DrawingError(f"cannot write {str(path)!r}: {e.strerror or e}") from None


# -- the command --------------------------------------------------------------------------

_DESCRIPTION = """\
Draw the mesh a platform file declares, as an SVG or a PNG (by the extension of
-o): one box per namespace, labelled with its mesh mode (a red dashed border
where the platform is hardened and calls no rule allows are refused); an arrow
for each call an accept rule allows, labelled with its ports, methods, paths
and hosts (dashed for rules enforced at L4); the ingress gateway with its
hostname and listeners, and an arrow to each route's backend labelled with the
route's name, hostnames and matches (routes that only redirect are listed on
the gateway). Apps with no accept rules say whom they accept instead.
Needs pygraphviz: pip install 'meshops[graph]'. An invalid file prints one
line per error, each with its file, line and column, and exits with status 2."""

_EPILOG = """\
examples:
  meshops graph examples/shop.yaml -o shop.svg
  meshops graph examples/shop.yaml -o shop.png"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``graph`` with the ``meshops`` subparsers."""
    parser = add_command(
        subparsers,
        "graph",
        help="draw the mesh a platform file declares (SVG or PNG)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "-o",
        dest="output",
        metavar="OUT",
        required=True,
        help=f"the picture to write: a file ending in {' or '.join('.' + f for f in FORMATS)}",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Draw ``args.file`` to ``args.output``; errors go to ``err``, nothing to ``out``.

    Returns:
        0, or 2 when the output's extension is not a picture format, the file is
        invalid, or the picture cannot be drawn or written.
    """
    output = str(args.output)
    format = Path(output).suffix.lower().removeprefix(".")
    if format not in FORMATS:
        allowed = " or ".join(f".{f}" for f in FORMATS)
        print(f"meshops graph: cannot draw {output!r}: the output must end in {allowed}", file=err)
        return 2
    declaration = read_declaration(args.file, out, err, max_bytes=args.max_file_size)
    if declaration is None:
        return 2
    try:
        draw(describe(declaration), output, format)
    except DrawingError as e:
        print(f"meshops graph: {e}", file=err)
        return 2
    return 0
