"""Tests for meshops.platform_file.loader: platform files in, a Platform or every error.

Covers the file format (defaults, ``from`` forms, ``mesh: off``), each class of error
with its exact ``file:line:column: path: rule`` line (unreadable files, non-mapping
documents, wrong types, null values, unknown keys with suggestions, the istio section
and hardened mode, bad values, cross-references checked by the plan, the model's own
checks), that all errors of a file are reported at once in file order, and that
examples/shop.yaml loads and renders the same bytes every time.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import meshops.platform_file.loader
from meshops import platform_file
from meshops.cli.output import objects_yaml
from meshops.model.mesh import Method
from meshops.model.platform import Accept, App, AppRef, Level, MeshMode, Namespace, Port, Protocol
from meshops.model.problems import Problem
from meshops.plan.platform import platform_objects
from meshops.platform_file.source import parse

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"

HEAD = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: shop}
"""
#: A valid spec (lines 4-): the tests below change one thing in it.
SPEC = """\
spec:
  namespaces:
    - name: shop
    - name: monitoring
      mesh: ambient
  apps:
    - name: frontend
      namespace: shop
      ports: [{port: 8080, protocol: http}]
    - name: cart
      namespace: shop
      serviceAccount: cart-sa
      ports: [{port: 8080, protocol: http}, {port: 9090}]
      accepts:
        - from: [frontend, monitoring/prometheus]
          ports: [8080]
          methods: [GET, POST]
          paths: [/cart, /cart/*]
    - name: prometheus
      namespace: monitoring
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.load(textwrap.dedent(text), "p.yaml")
    return [str(e) for e in raised.value.errors]


def changed(old: str, new: str) -> str:
    assert old in SPEC, old
    return HEAD + SPEC.replace(old, new, 1)


def test_a_valid_file_becomes_a_platform() -> None:
    platform = platform_file.load(HEAD + SPEC, "p.yaml")
    assert platform.name == "shop"
    assert platform.namespaces == (Namespace("shop"), Namespace("monitoring"))
    frontend, cart, prometheus = platform.apps
    assert frontend == App("frontend", "shop", ports=(Port(8080, Protocol.http),))
    assert cart == App(
        "cart",
        "shop",
        service_account="cart-sa",
        ports=(Port(8080, Protocol.http), Port(9090, Protocol.tcp)),
        accepts=(
            Accept(
                (AppRef("shop", "frontend"), AppRef("monitoring", "prometheus")),
                level=Level.l7,
                ports=(8080,),
                methods=(Method.get, Method.post),
                paths=("/cart", "/cart/*"),
            ),
        ),
    )
    assert prometheus == App("prometheus", "monitoring")


def test_mesh_off_is_the_string_off_not_false() -> None:
    platform = platform_file.load(HEAD + "spec:\n  namespaces: [{name: old, mesh: off}]\n")
    assert platform.namespaces == (Namespace("old", MeshMode.off),)


def test_empty_spec_is_an_empty_platform() -> None:
    assert platform_file.load(HEAD + "spec: {}\n").apps == ()


# -- one error each, at its exact place -------------------------------------------------------

ERRORS: list[tuple[str, str, str]] = [
    # the document
    (
        "a list",
        "- a\n- b\n",
        "p.yaml:1:1: a platform file must be a mapping with apiVersion, "
        "kind, metadata and spec, not a list",
    ),
    (
        "a string",
        "hello\n",
        "p.yaml:1:1: a platform file must be a mapping with apiVersion, "
        "kind, metadata and spec, not the string 'hello'",
    ),
    (
        "a syntax error",
        HEAD + "spec: [\n",
        "p.yaml:5:1: YAML syntax error: expected the node "
        "content, but found '<stream end>' (while parsing a flow node at line 5)",
    ),
    (
        "wrong apiVersion",
        HEAD.replace("v1alpha1", "v1") + SPEC,
        "p.yaml:1:13: apiVersion: "
        "apiVersion 'meshops.io/v1' is not supported: meshops 0.1.0 reads 'meshops.io/v1alpha1'",
    ),
    (
        "wrong kind",
        HEAD.replace("kind: Platform", "kind: Mesh") + SPEC,
        "p.yaml:2:7: kind: kind 'Mesh' must be 'Platform'",
    ),
    ("missing spec", HEAD, "p.yaml:1:1: spec: 'spec' is required"),
    (
        "missing metadata name",
        HEAD.replace("{name: shop}", "{}") + SPEC,
        "p.yaml:3:1: metadata.name: 'name' is required",
    ),
    (
        "unknown top-level key",
        HEAD + SPEC + "status: {}\n",
        "p.yaml:24:1: status: unknown key 'status'",
    ),
    (
        "top-level key typo",
        HEAD + SPEC.replace("spec:", "specs:"),
        "p.yaml:4:1: specs: unknown key 'specs'; did you mean 'spec'?",
    ),
    # unknown keys, with a suggestion when one is close
    (
        "key typo",
        changed(
            "    - name: prometheus\n      namespace", "    - name: prometheus\n      namspace"
        ),
        "p.yaml:23:7: spec.apps[2].namspace: unknown key 'namspace'; did you mean 'namespace'?",
    ),
    (
        "snake case key",
        changed("serviceAccount", "service_account"),
        "p.yaml:15:7: spec.apps[1].service_account: unknown key 'service_account'; "
        "did you mean 'serviceAccount'?",
    ),
    (
        "from typo",
        changed("- from:", "- form:"),
        "p.yaml:18:11: spec.apps[1].accepts[0].form: unknown key 'form'; did you mean 'from'?",
    ),
    (
        "unknown key, nothing close",
        changed(
            "      ports: [{port: 8080, protocol: http}]\n    - name: cart",
            "      replicas: 3\n    - name: cart",
        ),
        "p.yaml:12:7: spec.apps[0].replicas: unknown key 'replicas'",
    ),
    # Istio and hardened mode
    (
        "istio profile misspelt",
        HEAD + SPEC + "  istio: {profile: ambiant}\n",
        "p.yaml:24:20: spec.istio.profile: profile 'ambiant' must be one of 'default', "
        "'minimal', 'ambient', 'demo', 'empty'; did you mean 'ambient'?",
    ),
    (
        "istio profile without ztunnel",
        HEAD + SPEC + "  istio: {profile: minimal}\n",
        "p.yaml:24:20: spec.istio.profile: profile 'minimal' installs no ztunnel, which the "
        "ambient mesh of namespaces 'shop', 'monitoring' runs on; use 'ambient'",
    ),
    (
        "istio hub with a scheme",
        HEAD + SPEC + "  istio: {hub: 'https://registry.local/istio'}\n",
        "p.yaml:24:16: spec.istio.hub: hub 'https://registry.local/istio' must be an image "
        "registry such as 'registry.local:5000/istio' (host, optional port and path; "
        "no scheme, no tag)",
    ),
    (
        "istio tag",
        HEAD + SPEC + "  istio: {tag: '-rc'}\n",
        "p.yaml:24:16: spec.istio.tag: tag '-rc' must be an image tag: letters, digits, '_', "
        "'.' and '-', at most 128, not starting with '.' or '-'",
    ),
    (
        "istio watches too little",
        HEAD + SPEC + "  istio: {watchedNamespaces: [shop]}\n",
        "p.yaml:7:13: spec.namespaces[1].name: namespace 'monitoring' is not in "
        "istio.watchedNamespaces: istiod would not see its Services, policies or gateways "
        "(add it there)",
    ),
    (
        "istio's namespace declared",
        HEAD + SPEC + "  istio: {namespace: monitoring}\n",
        "p.yaml:7:13: spec.namespaces[1].name: namespace 'monitoring' is Istio's own "
        "(istio.namespace): the control plane manages it; do not declare it",
    ),
    (
        "istio key misspelt",
        HEAD + SPEC + "  istio: {watchNamespaces: [shop]}\n",
        "p.yaml:24:11: spec.istio.watchNamespaces: unknown key 'watchNamespaces'; "
        "did you mean 'watchedNamespaces'?",
    ),
    (
        "hardened not a boolean",
        HEAD + SPEC + "  hardened: yes\n",
        "p.yaml:24:13: spec.hardened: must be true or false, not the string 'yes'",
    ),
    # wrong types, null values, lists where mappings are expected and back
    (
        "ports a mapping",
        changed("ports: [8080]", "ports: {http: 8080}"),
        "p.yaml:19:11: spec.apps[1].accepts[0].ports: must be a list, not a mapping",
    ),
    (
        "app a list",
        changed("    - name: prometheus\n      namespace: monitoring\n", "    - [prometheus]\n"),
        "p.yaml:22:7: spec.apps[2]: must be a mapping, not a list",
    ),
    (
        "spec a list",
        HEAD + "spec: [namespaces]\n",
        "p.yaml:4:1: spec: must be a mapping, not a list",
    ),
    (
        "name an integer",
        changed("name: frontend", "name: 42"),
        "p.yaml:10:13: spec.apps[0].name: must be a string, not the integer 42",
    ),
    (
        "null name",
        changed("name: frontend", "name:"),
        "p.yaml:10:7: spec.apps[0].name: must be a string, not null",
    ),
    (
        "null list",
        changed("ports: [{port: 8080, protocol: http}]", "ports: ~"),
        "p.yaml:12:14: spec.apps[0].ports: must be a list, not null",
    ),
    (
        "empty list value",
        changed("ports: [{port: 8080, protocol: http}]", "ports:"),
        "p.yaml:12:7: spec.apps[0].ports: must be a list, not null",
    ),
    (
        "port a string",
        changed("{port: 9090}", "{port: '9090'}"),
        "p.yaml:16:52: spec.apps[1].ports[1].port: port '9090' must be an integer 1-65535",
    ),
    (
        "port a float",
        changed("ports: [8080]", "ports: [80.5]"),
        "p.yaml:19:19: spec.apps[1].accepts[0].ports[0]: port 80.5 must be an integer 1-65535",
    ),
    (
        "port a boolean",
        changed("ports: [8080]", "ports: [true]"),
        "p.yaml:19:19: spec.apps[1].accepts[0].ports[0]: port True must be an integer 1-65535",
    ),
    # values
    (
        "port out of range",
        changed("ports: [8080]", "ports: [8080, 70000]"),
        "p.yaml:19:25: spec.apps[1].accepts[0].ports[1]: port 70000 must be an integer 1-65535",
    ),
    (
        "huge number",
        changed("ports: [8080]", "ports: [" + "9" * 40 + "]"),
        "p.yaml:19:19: spec.apps[1].accepts[0].ports[0]: port "
        "9999999999999999999999999999999999999999 must be an integer 1-65535",
    ),
    (
        "unicode app name",
        changed("name: frontend", "name: frönt"),
        "p.yaml:10:13: spec.apps[0].name: app name 'frönt' must be a DNS label: at most 63 "
        "lowercase letters, digits and '-', starting with a letter and ending with a letter "
        "or digit",
    ),
    (
        "uppercase namespace",
        changed("- name: shop", "- name: Shop"),
        "p.yaml:6:13: spec.namespaces[0].name: namespace 'Shop' must be a DNS label: at most 63 "
        "lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "bad service account",
        changed("cart-sa", "Cart_SA"),
        "p.yaml:15:23: spec.apps[1].serviceAccount: service account 'Cart_SA' must be a DNS "
        "subdomain: lowercase letters, digits, '-' and '.', at most 253",
    ),
    (
        "mesh typo",
        changed("mesh: ambient", "mesh: ambiant"),
        "p.yaml:8:13: spec.namespaces[1].mesh: mesh 'ambiant' must be one of 'ambient', "
        "'sidecar', 'off'; did you mean 'ambient'?",
    ),
    (
        "mesh a boolean",
        changed("mesh: ambient", "mesh: false"),
        "p.yaml:8:13: spec.namespaces[1].mesh: mesh False must be one of 'ambient', 'sidecar', "
        "'off'",
    ),
    (
        "protocol",
        changed("{port: 9090}", "{port: 9090, protocol: udp}"),
        "p.yaml:16:68: spec.apps[1].ports[1].protocol: protocol 'udp' must be one of 'http', "
        "'grpc', 'tcp'",
    ),
    (
        "level",
        changed("ports: [8080]", "ports: [8080]\n          level: L4"),
        "p.yaml:20:18: spec.apps[1].accepts[0].level: level 'L4' must be one of 'l7', 'l4'; "
        "did you mean 'l4'?",
    ),
    (
        "method case",
        changed("[GET, POST]", "[GET, post]"),
        "p.yaml:20:26: spec.apps[1].accepts[0].methods[1]: method 'post' is not one of CONNECT, "
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE; did you mean 'POST'?",
    ),
    (
        "path",
        changed("[/cart, /cart/*]", "[/cart, cart/*]"),
        "p.yaml:21:26: spec.apps[1].accepts[0].paths[1]: path 'cart/*' must start with '/'",
    ),
    (
        "path wildcard inside",
        changed("[/cart, /cart/*]", "[/cart/*/items]"),
        "p.yaml:21:19: spec.apps[1].accepts[0].paths[0]: path '/cart/*/items' may use '*' only "
        "at its start or end",
    ),
    # accepts' paths follow the rule of route paths
    (
        "path with a dot segment",
        changed("[/cart, /cart/*]", "[/cart/../admin]"),
        "p.yaml:21:19: spec.apps[1].accepts[0].paths[0]: path '/cart/../admin' must not "
        "contain '/../'",
    ),
    (
        "path with an escaped slash",
        changed("[/cart, /cart/*]", "['/cart%2Fadmin']"),
        "p.yaml:21:19: spec.apps[1].accepts[0].paths[0]: path '/cart%2Fadmin' must not "
        "contain '%2F'",
    ),
    (
        "path with a query and fragment",
        changed("[/cart, /cart/*]", "['/cart?x=1#f']"),
        "p.yaml:21:19: spec.apps[1].accepts[0].paths[0]: path '/cart?x=1#f' may hold only "
        "letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes",
    ),
    (
        "path over 1024 characters",
        changed("[/cart, /cart/*]", "[/" + "a" * 1_000_000 + "]"),
        "p.yaml:21:19: spec.apps[1].accepts[0].paths[0]: path '/" + "a" * 39 + "'... is "
        "1000001 characters, at most 1024",
    ),
    (
        "host",
        changed("paths: [/cart, /cart/*]", "paths: [/cart]\n          hosts: ['a b']"),
        "p.yaml:22:19: spec.apps[1].accepts[0].hosts[0]: host 'a b' must be a host name, "
        "optionally with a port",
    ),
    (
        "empty from",
        changed("from: [frontend, monitoring/prometheus]", "from: []"),
        "p.yaml:18:11: spec.apps[1].accepts[0].from: must not be empty",
    ),
    (
        "whole namespace caller",
        changed("monitoring/prometheus", "monitoring/*"),
        "p.yaml:18:28: spec.apps[1].accepts[0].from[1]: caller 'monitoring/*': wildcards are not "
        "supported yet; list the calling apps",
    ),
    (
        "caller with two slashes",
        changed("monitoring/prometheus", "a/b/c"),
        "p.yaml:18:28: spec.apps[1].accepts[0].from[1]: caller 'a/b/c' must be 'app' or "
        "'namespace/app'",
    ),
    # how the parts fit together (checked by the plan)
    (
        "unknown caller",
        changed("from: [frontend,", "from: [frontent,"),
        "p.yaml:18:18: spec.apps[1].accepts[0].from[0]: unknown app 'shop/frontent'; "
        "did you mean 'shop/frontend'?",
    ),
    (
        "caller in the wrong namespace",
        changed("monitoring/prometheus", "prometheus"),
        "p.yaml:18:28: spec.apps[1].accepts[0].from[1]: unknown app 'shop/prometheus'; "
        "did you mean 'monitoring/prometheus'?",
    ),
    (
        "undeclared namespace",
        changed(
            "prometheus\n      namespace: monitoring", "prometheus\n      namespace: monitor"
        ).replace("monitoring/prometheus", "monitor/prometheus"),
        "p.yaml:23:18: spec.apps[2].namespace: namespace 'monitor' is not declared in "
        "namespaces; did you mean 'monitoring'?",
    ),
    (
        "duplicate app",
        changed(
            "name: prometheus", "name: frontend\n      namespace: shop\n    - name: prometheus"
        ),
        "p.yaml:22:13: spec.apps[2].name: app 'frontend' is declared twice in namespace 'shop' "
        "(first as apps[0])",
    ),
    (
        "duplicate namespace",
        changed("- name: monitoring", "- name: shop\n    - name: monitoring"),
        "p.yaml:7:13: spec.namespaces[1].name: namespace 'shop' is declared twice "
        "(first as namespaces[0])",
    ),
    (
        "L7 field in an l4 rule",
        changed("ports: [8080]", "ports: [8080]\n          level: l4").replace(
            "          paths: [/cart, /cart/*]\n", ""
        ),
        "p.yaml:21:11: spec.apps[1].accepts[0].methods: methods need an l7 rule: an l4 rule is "
        "enforced by ztunnel, which sees only ports (remove methods, or drop level: l4)",
    ),
    (
        "accepts in a namespace off the mesh",
        changed("mesh: ambient", "mesh: off"),
        "p.yaml:18:28: spec.apps[1].accepts[0].from[1]: app 'monitoring/prometheus' is in "
        "namespace 'monitoring', whose mesh is off: it has no mesh identity to allow "
        "(put the namespace on the mesh)",
    ),
    (
        "a port the app does not expose",
        changed("ports: [8080]", "ports: [8080, 8081]"),
        "p.yaml:19:25: spec.apps[1].accepts[0].ports[1]: port 8081 is not a port of app 'cart' "
        "(its ports: 8080, 9090)",
    ),
    (
        "methods on a tcp port",
        changed("ports: [8080]", "ports: [9090]"),
        "p.yaml:19:19: spec.apps[1].accepts[0].ports[0]: port 9090 of app 'cart' is tcp: "
        "methods/paths need an http or grpc port",
    ),
    (
        "accepts but no ports",
        changed("      ports: [{port: 8080, protocol: http}, {port: 9090}]\n", ""),
        "p.yaml:13:7: spec.apps[1].ports: app 'cart' accepts calls but declares no ports",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_one_error(text: str, expected: str) -> None:
    assert errors_of(text) == [expected]


def test_accepts_in_a_namespace_off_the_mesh() -> None:
    text = HEAD + SPEC.replace("    - name: shop\n", "    - name: shop\n      mesh: off\n")
    assert errors_of(text) == [
        "p.yaml:18:7: spec.apps[1].accepts: app 'cart' is in namespace 'shop', whose mesh is "
        "off: nothing would enforce its accept rules (put the namespace on the mesh)"
    ]


def test_every_error_is_reported_in_file_order() -> None:
    text = changed("ports: [8080]", "ports: [8080, 0]").replace("name: frontend", "nme: frontend")
    assert errors_of(text) == [
        # (not also "'name' is required": the misspelt key is the missing one)
        "p.yaml:10:7: spec.apps[0].nme: unknown key 'nme'; did you mean 'name'?",
        "p.yaml:19:25: spec.apps[1].accepts[0].ports[1]: port 0 must be an integer 1-65535",
    ]
    plan_errors = changed("[frontend, monitoring/prometheus]", "[nobody, frontend, ghost]")
    assert [e.split(": ")[1] for e in errors_of(plan_errors)] == [
        "spec.apps[1].accepts[0].from[0]",
        "spec.apps[1].accepts[0].from[2]",
    ]


def test_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.load_file(missing)
    assert [str(e) for e in raised.value.errors] == [
        f"{missing}: cannot read the file: No such file or directory"
    ]
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.load_file(tmp_path)
    assert [str(e) for e in raised.value.errors] == [
        f"{tmp_path}: cannot read the file: Is a directory"
    ]
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"metadata:\n  name: caf\xe9\n")
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.load_file(latin1)
    assert [str(e) for e in raised.value.errors] == [
        f"{latin1}:2:12: the file is not UTF-8 text (byte 0xe9)"
    ]
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEAD + SPEC).encode())
    assert platform_file.load_file(bom).name == "shop"


def test_a_model_error_is_mapped_back_to_its_place() -> None:
    """Whatever the domain model refuses is reported where the file says it.

    The file's schema leaves port ranges and hosts to the model (``Port``, ``Accept``),
    whose errors name the model's field; each is reported at the key of the file.
    """
    text = changed(
        "{port: 8080, protocol: http}]\n    - name: cart", "{port: 0}]\n    - name: cart"
    )
    text = text.replace(
        "ports: [{port: 8080, protocol: http}, {port: 9090}]", "ports: [{port: 70000}]"
    )
    text = text.replace("ports: [8080]", "ports: [8080, 65536]")
    text = text.replace("paths: [/cart, /cart/*]", "hosts: [shop.example, 'a host']")
    assert errors_of(text) == [
        "p.yaml:12:22: spec.apps[0].ports[0].port: port 0 must be an integer 1-65535",
        "p.yaml:16:22: spec.apps[1].ports[0].port: port 70000 must be an integer 1-65535",
        "p.yaml:19:25: spec.apps[1].accepts[0].ports[1]: port 65536 must be an integer 1-65535",
        "p.yaml:21:33: spec.apps[1].accepts[0].hosts[1]: host 'a host' must be a host name,"
        " optionally with a port",
    ]


def test_problem_error_maps_model_fields_to_file_keys() -> None:
    doc = parse(HEAD + SPEC, "p.yaml")
    problem = Problem("platform shop", "apps[1].accepts[0].sources[1]", "bad", app="shop/cart")
    assert str(meshops.platform_file.loader.problem_error(doc, problem)) == (
        "p.yaml:18:28: spec.apps[1].accepts[0].from[1]: bad"
    )
    account = Problem("platform shop", "apps[1].service_account", "bad")
    assert str(meshops.platform_file.loader.problem_error(doc, account)) == (
        "p.yaml:15:23: spec.apps[1].serviceAccount: bad"
    )
    odd = Problem("somewhere", "not a path!", "bad")
    assert (
        str(meshops.platform_file.loader.problem_error(doc, odd))
        == "p.yaml: somewhere: not a path!: bad"
    )


# -- the example ------------------------------------------------------------------------------


def test_the_example_loads_and_renders_the_same_bytes_every_time() -> None:
    first, problems = platform_objects(platform_file.load_file(EXAMPLE))
    assert problems == []
    second, _ = platform_objects(platform_file.load_file(EXAMPLE))
    text = objects_yaml(first)
    assert text == objects_yaml(second)
    assert text.startswith("---\napiVersion: v1\nkind: Namespace\n")
    assert text.endswith("\n")
    kinds = [o["kind"] for o in first]
    assert kinds == sorted(kinds, key=["Namespace", "Gateway", "AuthorizationPolicy"].index)
    # one per protected Service (cart, catalogue, prometheus, cart-db) and cart-db's pods
    assert kinds.count("AuthorizationPolicy") == 5
