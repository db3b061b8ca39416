"""Tests for ``meshops graph``: the picture of a platform file, described and drawn.

The description (:func:`meshops.cli.graph.describe`) is checked as plain data, for the
example file and for small files written here: namespaces and their mesh state (deny by
default when hardened, off mesh), the arrows of accept rules (L7 and L4) and of ingress
routes, and what apps with no accept rules say. Its DOT source is checked for the styles
that carry meaning and for being the same on every run. Drawing goes through Graphviz:
an SVG that parses and names what it shows, a PNG; and every way it can fail (a wrong
extension, an invalid file, no pygraphviz, Graphviz or the disk failing) is one line and
exit status 2.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pygraphviz  # pyright: ignore[reportMissingTypeStubs]
import pytest
import yaml

from meshops import platform_file
from meshops.cli import EXIT_INVALID, EXIT_OK, graph, main
from meshops.cli.graph import (
    Access,
    Cluster,
    DrawingError,
    Edge,
    EdgeKind,
    Graph,
    Node,
    NodeKind,
    describe,
    dot_source,
)
from meshops.model.platform import (
    Accept,
    App,
    AppRef,
    Level,
    MeshMode,
    Namespace,
    Platform,
    Port,
    Protocol,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<rest>.+)$")
HEADER = "apiVersion: meshops.io/v1alpha1\nkind: Platform\nmetadata: {name: demo}\n"
GATEWAY = "gateway:ingress/edge"
SVG = {"svg": "http://www.w3.org/2000/svg"}


def shop() -> Graph:
    return describe(platform_file.read_file(EXAMPLE))


def declare(tmp_path: Path, body: str) -> platform_file.Declaration:
    """The declaration of a platform file holding ``HEADER`` and ``body``."""
    path = tmp_path / "platform.yaml"
    path.write_text(HEADER + body)
    return platform_file.read_file(path)


def cluster(graph: Graph, namespace: str) -> Cluster:
    found = [c for c in graph.clusters if c.title == namespace]
    assert len(found) == 1, [c.title for c in graph.clusters]
    return found[0]


def node(graph: Graph, node_id: str) -> Node:
    found = graph.node(node_id)
    assert found is not None, node_id
    return found


def edge_line(dot: str, tail: str, head: str) -> str:
    """The DOT statements of the one arrow from ``tail`` to ``head``.

    An unlabelled arrow is one edge; a labelled one passes through its label's node, so
    it is that node and the two edges into and out of it.
    """
    statements = [line.strip() for line in dot.splitlines()]
    direct = [line for line in statements if line.startswith(f'"{tail}" -> "{head}" ')]
    label = f"label:{tail} to {head}"
    through = [
        line
        for line in statements
        if line.startswith((f'"{tail}" -> "{label}" ', f'"{label}" -> "{head}" ', f'"{label}" ['))
    ]
    assert (len(direct), len(through)) in {(1, 0), (0, 3)}, (direct, through)
    return "\n".join(direct + through)


def arrows(svg: ET.Element) -> set[str]:
    """The arrows an SVG drawing shows, ``tail->head``, each once through its label's node."""
    titles = [t.text or "" for t in svg.iterfind(".//svg:g[@class='edge']/svg:title", SVG)]
    into = {head: tail for tail, _, head in (t.partition("->") for t in titles)}
    shown: set[str] = set()
    for title in titles:
        tail, _, head = title.partition("->")
        if head.startswith("label:"):
            continue
        shown.add(f"{into[tail]}->{head}" if tail.startswith("label:") else title)
    return shown


# -- the example -------------------------------------------------------------------------


def test_the_example_has_a_cluster_per_namespace_with_its_apps() -> None:
    graph = shop()
    assert graph.title == "shop"
    assert [(c.id, c.title, c.lines, c.mesh, c.deny_by_default) for c in graph.clusters] == [
        ("cluster_ingress", "ingress", ("off mesh",), MeshMode.off, False),
        ("cluster_monitoring", "monitoring", ("ambient mesh",), MeshMode.ambient, False),
        ("cluster_shop", "shop", ("ambient mesh",), MeshMode.ambient, False),
    ]
    assert {c.title: [n.id for n in c.nodes] for c in graph.clusters} == {
        "ingress": [GATEWAY],
        "monitoring": ["app:monitoring/grafana", "app:monitoring/prometheus"],
        "shop": ["app:shop/cart", "app:shop/cart-db", "app:shop/catalogue", "app:shop/frontend"],
    }
    assert graph.nodes == (Node("clients", NodeKind.clients, "clients"),)
    assert node(graph, "app:shop/cart") == Node(
        "app:shop/cart", NodeKind.app, "cart", ("http :8080", "sa cart-sa"), (), Access.rules
    )
    assert node(graph, "app:shop/cart-db").lines == ("tcp :5432",)


def test_apps_with_no_accept_rules_accept_any_caller_when_not_hardened() -> None:
    graph = shop()
    open_apps = {
        n.id: n.notes for c in graph.clusters for n in c.nodes if n.access is Access.any_caller
    }
    assert open_apps == {
        "app:monitoring/grafana": ("accepts any caller",),
        "app:shop/frontend": ("accepts any caller",),
    }


def test_the_example_has_an_arrow_per_allowed_call_and_per_route() -> None:
    assert shop().edges == (
        Edge(
            "app:monitoring/grafana",
            "app:monitoring/prometheus",
            EdgeKind.call,
            "",
            (":9090 · GET POST", "/api/v1/*"),
        ),
        Edge(
            "app:monitoring/prometheus",
            "app:shop/cart",
            EdgeKind.call,
            "",
            (":8080 · GET", "/metrics"),
        ),
        Edge(
            "app:monitoring/prometheus",
            "app:shop/catalogue",
            EdgeKind.call,
            "",
            (":8080 · GET", "/metrics"),
        ),
        Edge("app:shop/cart", "app:shop/cart-db", EdgeKind.call_l4, "L4", (":5432",)),
        Edge(
            "app:shop/frontend",
            "app:shop/cart",
            EdgeKind.call,
            "",
            (":8080 · GET POST DELETE", "/cart, /cart/*"),
        ),
        Edge(
            "app:shop/frontend",
            "app:shop/catalogue",
            EdgeKind.call,
            "",
            (":8080 · GET", "/products, /products/*"),
        ),
        Edge("clients", GATEWAY, EdgeKind.entry),
        Edge(
            GATEWAY,
            "app:monitoring/grafana",
            EdgeKind.route,
            "grafana",
            ("grafana.example.com", "to :3000"),
        ),
        Edge(
            GATEWAY,
            "app:shop/frontend",
            EdgeKind.route,
            "shop",
            ("shop.example.com", "prefix /", "to :8080"),
        ),
    )


def test_the_gateway_shows_its_hostname_listeners_secret_and_redirects() -> None:
    gateway = node(shop(), GATEWAY)
    assert gateway.kind is NodeKind.gateway
    assert gateway.title == "edge"
    assert gateway.lines == (
        "Gateway · istio",
        "*.example.com",
        "HTTP :80 → HTTPS",
        "HTTPS :443",
        "TLS secret example-com-tls",
    )
    # the www route only redirects: a note on the gateway, no arrow to the frontend
    assert gateway.notes == ("redirects:", "www: www.example.com → 301 shop.example.com")
    assert [e.title for e in shop().edges if e.kind is EdgeKind.route] == ["grafana", "shop"]


def test_the_same_file_gives_the_same_dot_source_whatever_the_order_of_its_apps(
    tmp_path: Path,
) -> None:
    first = dot_source(shop())
    assert dot_source(shop()) == first
    document = yaml.safe_load(EXAMPLE.read_text())
    document["spec"]["apps"].reverse()
    document["spec"]["namespaces"].reverse()
    for namespace in document["spec"]["namespaces"]:  # PyYAML reads `off` as False
        namespace["mesh"] = "off" if namespace["mesh"] is False else namespace["mesh"]
    shuffled = tmp_path / "shuffled.yaml"
    shuffled.write_text(yaml.safe_dump(document))
    assert dot_source(describe(platform_file.read_file(shuffled))) == first


def test_the_dot_source_styles_what_carries_meaning() -> None:
    dot = dot_source(shop())
    assert "rankdir" in dot
    assert 'rankdir="LR"' in dot
    l4 = edge_line(dot, "app:shop/cart", "app:shop/cart-db")
    assert 'style="dashed"' in l4
    assert "<B>L4</B>" in l4
    l7 = edge_line(dot, "app:shop/frontend", "app:shop/cart")
    assert "dashed" not in l7
    assert "/cart, /cart/*" in l7
    route = edge_line(dot, GATEWAY, "app:shop/frontend")
    assert "<B>shop</B>" in route
    assert "shop.example.com" in route
    assert "deny by default" not in dot  # not hardened
    frontend = next(
        line for line in dot.splitlines() if line.strip().startswith('"app:shop/frontend" [')
    )
    assert "<I>accepts any caller</I>" in frontend


# -- small files -------------------------------------------------------------------------

HARDENED = """\
spec:
  hardened: true
  namespaces:
    - {name: prod}
    - {name: legacy, mesh: off}
    - {name: ingress, mesh: off}
  apps:
    - {name: web, namespace: prod, ports: [{port: 8080, protocol: http}]}
    - {name: batch, namespace: prod, ports: [{port: 8080, protocol: http}]}
    - name: api
      namespace: prod
      ports: [{port: 8080, protocol: http}]
      accepts: [{from: [web], methods: [GET]}]
    - {name: old, namespace: legacy, ports: [{port: 80, protocol: http}]}
  ingress:
    gateway: {name: edge, namespace: ingress}
    routes:
      - app: web
"""


def test_hardened_marks_the_namespaces_on_the_mesh_deny_by_default(tmp_path: Path) -> None:
    graph = describe(declare(tmp_path, HARDENED))
    assert [(c.title, c.lines, c.deny_by_default) for c in graph.clusters] == [
        ("ingress", ("off mesh",), False),
        ("legacy", ("off mesh",), False),
        ("prod", ("ambient mesh", "deny by default"), True),
    ]
    dot = dot_source(graph)
    prod = dot[dot.index('subgraph "cluster_prod"') :].split("\n  }")[0]
    assert 'style="rounded,filled,dashed"' in prod
    assert 'color="#c0392b"' in prod  # red
    assert "deny by default" in prod
    legacy = dot[dot.index('subgraph "cluster_legacy"') :].split("\n  }")[0]
    assert "dashed" not in legacy
    assert "deny by default" not in legacy


def test_hardened_apps_with_no_accept_rules_accept_only_their_routes(tmp_path: Path) -> None:
    graph = describe(declare(tmp_path, HARDENED))
    assert {n.title: (n.access, n.notes) for c in graph.clusters for n in c.nodes} == {
        "edge": (None, ()),
        "web": (Access.ingress_only, ("accepts only ingress routes",)),
        "batch": (Access.nobody, ("accepts no calls",)),
        "api": (Access.rules, ()),
        # off the mesh nothing enforces anything, hardened or not
        "old": (Access.any_caller, ("accepts any caller",)),
    }
    assert [(e.tail, e.head, e.kind) for e in graph.edges] == [
        ("app:prod/web", "app:prod/api", EdgeKind.call),
        ("clients", GATEWAY, EdgeKind.entry),
        (GATEWAY, "app:prod/web", EdgeKind.route),
    ]
    assert node(graph, GATEWAY).lines == ("Gateway · istio", "any hostname", "HTTP :80")


def test_a_platform_built_in_code_is_drawn_too() -> None:
    """Hardened, with an L4 rule and an off-mesh namespace, without a file."""
    db = App(
        "db",
        "data",
        ports=(Port(5432, Protocol.tcp), Port(9187, Protocol.http)),
        accepts=(Accept((AppRef("apps", "api"),), level=Level.l4),),
    )
    api = App("api", "apps", ports=(Port(8080, Protocol.http),))
    platform = Platform(
        "built",
        (Namespace("apps"), Namespace("data"), Namespace("outside", MeshMode.off)),
        (db, api),
        hardened=True,
    )
    graph = describe(platform_file.Declaration(platform))
    assert [(c.title, c.lines) for c in graph.clusters] == [
        ("apps", ("ambient mesh", "deny by default")),
        ("data", ("ambient mesh", "deny by default")),
        ("outside", ("off mesh",)),  # drawn though empty
    ]
    # no ports on the rule: every port the app declares
    assert graph.edges == (
        Edge("app:apps/api", "app:data/db", EdgeKind.call_l4, "L4", (":5432 :9187",)),
    )
    assert node(graph, "app:apps/api").access is Access.nobody
    assert graph.nodes == ()  # no ingress: no clients
    legend = dot_source(graph).split("\n")[1]  # the graph's attributes: its label
    assert "call allowed, at L4" in legend
    assert "at L7" not in legend
    assert "ingress route" not in legend
    assert "accepts any caller" not in legend


def test_long_lists_wrap_and_hosts_and_many_methods_get_lines_of_their_own(
    tmp_path: Path,
) -> None:
    body = """\
spec:
  namespaces: [{name: prod}]
  apps:
    - {name: web, namespace: prod, ports: [{port: 8080, protocol: http}]}
    - name: api
      namespace: prod
      ports: [{port: 8080, protocol: http}, {port: 9000, protocol: grpc}]
      accepts:
        - from: [web]
          methods: [GET, POST, PUT, PATCH, DELETE]
          paths: [/v1/users/*, /v1/orders/*, /v1/products/*, /v1/carts/*]
          hosts: [api.prod.svc.cluster.local]
"""
    (call,) = describe(declare(tmp_path, body)).edges
    assert call.lines == (
        ":8080 :9000",
        "GET POST PUT PATCH DELETE",
        "/v1/users/*, /v1/orders/*,",
        "/v1/products/*, /v1/carts/*",
        "host api.prod.svc.cluster.local",
    )


def test_routes_show_their_matches_protocol_and_each_weighted_backend(tmp_path: Path) -> None:
    body = """\
spec:
  namespaces: [{name: prod}, {name: canary}, {name: ingress, mesh: off}]
  apps:
    - {name: api, namespace: prod, ports: [{port: 8080, protocol: http}]}
    - {name: api, namespace: canary, ports: [{port: 8080, protocol: http}]}
    - {name: db, namespace: prod, ports: [{port: 5432, protocol: tcp}]}
  ingress:
    gateway: {name: edge, namespace: ingress}
    hostname: example.com
    routes:
      - app: prod/api
        matches:
          - {path: {type: Exact, value: /v1}, method: GET, headers: {x-env: beta}}
          - path: {type: RegularExpression, value: "^/v[2-9]"}
        filters: [{urlRewrite: {path: {replaceFullPath: /v1}}}]
        backends:
          - {port: 8080, weight: 90}
          - {service: api, namespace: canary, port: 8080, weight: 10}
      - {app: db, protocol: tcp, port: 5432}
      - app: prod/api
        name: old
        hostnames: [example.com]
        matches: [{path: {type: PathPrefix, value: /old}}]
        filters: [{requestRedirect: {scheme: https, path: {replacePrefixMatch: /v1}}}]
"""
    graph = describe(declare(tmp_path, body))
    matches = ("GET exact /v1 x-env=beta", "regex ^/v[2-9]", "rewrite path /v1")
    assert [e for e in graph.edges if e.kind is EdgeKind.route] == [
        Edge(GATEWAY, "app:canary/api", EdgeKind.route, "api", (*matches, "to :8080 · weight 10")),
        Edge(GATEWAY, "app:prod/api", EdgeKind.route, "api", (*matches, "to :8080 · weight 90")),
        Edge(GATEWAY, "app:prod/db", EdgeKind.route, "db", ("TCP :5432", "to :5432")),
    ]
    gateway = node(graph, GATEWAY)
    assert gateway.lines == ("Gateway · istio", "example.com", "HTTP :80", "TCP :5432")
    assert gateway.notes == (
        "redirects:",
        "old: example.com → 301 https://(same host) path /v1…",
    )


# -- drawing -----------------------------------------------------------------------------


def test_graph_draws_an_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shop.svg"
    assert main(["graph", str(EXAMPLE), "-o", str(out)]) == EXIT_OK
    assert capsys.readouterr() == ("", "")
    root = ET.fromstring(out.read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"svg": "http://www.w3.org/2000/svg"}
    titles = {t.text for t in root.iterfind(".//svg:g[@class='cluster']/svg:title", ns)}
    assert titles == {"cluster_ingress", "cluster_monitoring", "cluster_shop"}
    texts = {t.text for t in root.iterfind(".//svg:text", ns)}
    for expected in (
        "shop",
        "monitoring",
        "ingress",
        "ambient mesh",
        "off mesh",
        "/products, /products/*",
        ":8080 · GET POST DELETE",
        "L4",
        "shop.example.com",
        "www: www.example.com → 301 shop.example.com",
        "accepts any caller",
    ):
        assert expected in texts
    edges = arrows(root)
    assert edges == {f"{e.tail}->{e.head}" for e in shop().edges}
    assert len(edges) == 9


def test_graph_draws_a_png(tmp_path: Path) -> None:
    out = tmp_path / "shop.PNG"
    assert main(["graph", str(EXAMPLE), "-o", str(out)]) == EXIT_OK
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


@pytest.mark.parametrize("name", ["shop.jpg", "shop", "shop.svg.bak", "-"])
def test_another_extension_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / name
    assert main(["graph", str(EXAMPLE), "-o", str(out)]) == EXIT_INVALID
    assert capsys.readouterr() == (
        "",
        f"meshops graph: cannot draw {str(out)!r}: the output must end in .svg or .png\n",
    )
    assert not out.exists()


def test_an_invalid_file_prints_one_line_per_error_and_draws_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("from: [grafana]", "from: [graphana]"))
    out = tmp_path / "bad.svg"
    assert main(["graph", str(bad), "-o", str(out)]) == EXIT_INVALID
    stdout, err = capsys.readouterr()
    assert stdout == ""
    lines = err.splitlines()
    assert lines == [
        f"{bad}:71:18: spec.apps[4].accepts[0].from[0]: unknown app 'monitoring/graphana'; "
        "did you mean 'monitoring/grafana'?"
    ]
    assert all(ERROR_LINE.match(line) for line in lines)
    assert not out.exists()


def test_without_pygraphviz_it_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pygraphviz", None)  # `import pygraphviz` fails
    out = tmp_path / "shop.svg"
    assert main(["graph", str(EXAMPLE), "-o", str(out)]) == EXIT_INVALID
    assert capsys.readouterr() == (
        "",
        "meshops graph: drawing needs pygraphviz: pip install 'meshops[graph]'\n",
    )
    assert not out.exists()


def test_a_file_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "shop.svg"
    assert main(["graph", str(EXAMPLE), "-o", str(out)]) == EXIT_INVALID
    assert capsys.readouterr() == (
        "",
        f"meshops graph: cannot write {str(out)!r}: No such file or directory\n",
    )


def test_a_graphviz_failure_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: object, *args: object, **kwargs: object) -> bytes:
        raise ValueError("Graphviz raised a layout error.")

    # pygraphviz's own drawing call fails, as Graphviz's layout errors reach it
    monkeypatch.setattr(pygraphviz.AGraph, "draw", failing)
    out = tmp_path / "shop.svg"
    assert main(["graph", str(EXAMPLE), "-o", str(out)]) == EXIT_INVALID
    assert capsys.readouterr() == (
        "",
        "meshops graph: Graphviz could not draw the graph: Graphviz raised a layout error.\n",
    )
    assert not out.exists()


def test_draw_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DrawingError, match=r"format 'gif' is not one of svg, png"):
        graph.draw(shop(), tmp_path / "shop.gif", "gif")


def test_help_has_a_description_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "usage: meshops graph [-h] [--max-file-size MB] -o OUT FILE" in out
    assert "Draw the mesh a platform file declares" in out
    assert "examples:\n  meshops graph examples/shop.yaml -o shop.svg" in out
    assert main(["--help"]) == EXIT_OK
    assert "graph" in capsys.readouterr().out


def test_the_output_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(EXAMPLE)]) == EXIT_INVALID
    assert "the following arguments are required: -o" in capsys.readouterr().err


def test_drawing_writes_nothing_on_stderr(tmp_path: Path) -> None:
    """No Fontconfig warnings (pygraphviz's fontconfig reading a newer system's files)."""
    import subprocess

    command = "import sys; from meshops.cli import main; sys.exit(main())"
    for name in ("shop.svg", "shop.png"):
        proc = subprocess.run(
            [sys.executable, "-c", command, "graph", str(EXAMPLE), "-o", str(tmp_path / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
        assert (tmp_path / name).stat().st_size > 0


def test_edge_labels_are_drawn_on_a_white_ground() -> None:
    """An edge or a namespace border laid out under a label is hidden, not drawn through it."""
    graph = describe(platform_file.read_file(EXAMPLE))
    source = dot_source(graph)
    labelled = [e for e in graph.edges if e.title or e.lines]
    assert labelled
    for edge in labelled:
        statements = edge_line(source, edge.tail, edge.head).splitlines()
        (label,) = [line for line in statements if "label=" in line]
        assert " -> " not in label  # the label's node, not an edge
        ground = 'label=<<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="1" BGCOLOR="white">'
        assert ground in label
    assert not [line for line in source.splitlines() if " -> " in line and "label=" in line]


Box = tuple[float, float, float, float]


def _box(points: list[tuple[float, float]]) -> Box:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


def _points(shape: ET.Element) -> list[tuple[float, float]]:
    """The points of an SVG polygon or path (the corners of a box, rounded or not)."""
    if shape.tag.endswith("polygon"):
        pairs = shape.get("points", "").split()
    else:
        numbers = re.findall(r"-?\d+(?:\.\d+)?", shape.get("d", ""))
        pairs = [f"{x},{y}" for x, y in zip(numbers[0::2], numbers[1::2], strict=True)]
    return [(float(x), float(y)) for x, _, y in (p.partition(",") for p in pairs)]


def _layout(path: Path, out: Path) -> tuple[dict[str, Box], dict[str, Box]]:
    """Where dot puts each namespace's box and each arrow's label (by the arrow)."""
    graph.draw(describe(platform_file.read_file(path)), out, "svg")
    svg = ET.fromstring(out.read_bytes())
    boxes: dict[str, Box] = {}
    labels: dict[str, Box] = {}
    for group in svg.iterfind(".//svg:g", SVG):
        title = group.findtext("svg:title", "", SVG)
        if group.get("class") == "cluster":
            shape = group.find("svg:path", SVG)
            shape = group.find("svg:polygon", SVG) if shape is None else shape
            assert shape is not None, title
            boxes[title] = _box(_points(shape))
        elif group.get("class") == "node" and title.startswith("label:"):
            grounds = [p for p in group.iterfind("svg:polygon", SVG) if p.get("fill") == "white"]
            assert len(grounds) == 1, title
            labels[title.removeprefix("label:").replace(" to ", "->")] = _box(_points(grounds[0]))
    return boxes, labels


def _inside(inner: Box, outer: Box) -> bool:
    return (
        outer[0] <= inner[0]
        and inner[2] <= outer[2]
        and outer[1] <= inner[1]
        and inner[3] <= outer[3]
    )


def _apart(a: Box, b: Box) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize("name", ["shop.yaml", "bank.yaml"])
def test_each_label_lies_in_its_arrows_namespace_or_between_namespaces(
    name: str, tmp_path: Path
) -> None:
    """Laid out by dot: never on a namespace's border, nor on another label.

    A call within a namespace is labelled inside that namespace's box; any other arrow
    (between namespaces, from the gateway) outside every box.
    """
    path = EXAMPLE.parent / name
    described = describe(platform_file.read_file(path))
    home = {n.id: c.id for c in described.clusters for n in c.nodes}
    boxes, labels = _layout(path, tmp_path / "drawn.svg")
    labelled = {f"{e.tail}->{e.head}": e for e in described.edges if e.title or e.lines}
    assert set(labels) == set(labelled)
    for arrow, label in labels.items():
        edge = labelled[arrow]
        inside = sorted(c for c, box in boxes.items() if _inside(label, box))
        apart = sorted(c for c, box in boxes.items() if _apart(label, box))
        own = home.get(edge.tail) if home.get(edge.tail) == home.get(edge.head) else None
        assert inside == ([own] if own else []), arrow
        assert apart == sorted(set(boxes) - set(inside)), arrow  # on no border
    for a in labels:
        for b in labels:
            assert a == b or _apart(labels[a], labels[b]), (a, b)
