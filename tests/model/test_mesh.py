"""Tests for meshops.model.mesh: the rules a MeshPolicy and its endpoints enforce."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from meshops.model import Endpoint, MeshPolicy, Method, TargetType
from meshops.model.mesh import check_host, check_label, check_method, check_name, check_namespace

ENDS = "starting and ending with a letter or digit"
NAME = f"name (lowercase letters, digits, '-' and '.', {ENDS}, at most 253)"
NAMESPACE = f"namespace (lowercase letters, digits and '-', {ENDS}, at most 63)"


def make(**kw: object) -> MeshPolicy:
    args: dict[str, object] = {
        "source_namespace": "m",
        "source_app_name": "a",
        "target_namespace": "m",
        "target_app_name": "b",
        "endpoints": (Endpoint(ports=(80,)),),
    }
    args.update(kw)
    return MeshPolicy(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ports": (0,)}, "ports[0]: port 0 must be an integer 1-65535"),
        ({"ports": (65536,)}, "port 65536"),
        ({"ports": (True,)}, "port True"),
        ({"ports": ("80",)}, "port '80'"),
        ({"paths": ("api",)}, "paths[0]: path 'api' must start with '/'"),
        ({"paths": ("/a b",)}, "paths[0]: path '/a b' may hold only letters, digits"),
        ({"paths": ("/a*b",)}, "'*' only at its start or end"),
        # the rule of route paths
        ({"paths": ("/cart/../admin",)}, "path '/cart/../admin' must not contain '/../'"),
        ({"paths": ("/cart/./x",)}, "must not contain '/./'"),
        ({"paths": ("/cart/..",)}, "must not end with '/.' or '/..'"),
        ({"paths": ("/a//b",)}, "must not contain '//'"),
        ({"paths": ("/a%2Fb",)}, "path '/a%2Fb' must not contain '%2F'"),
        ({"paths": ("/a%zz",)}, "may hold only"),
        ({"paths": ("/cart?x=1#f",)}, "path '/cart?x=1#f' may hold only"),
        ({"paths": ("/" + "a" * 1_000_000,)}, "is 1000001 characters, at most 1024"),
        ({"paths": ("*/../x",)}, "must not contain '/../'"),
        ({"paths": ("/a/../*",)}, "must not contain '/../'"),
        ({"paths": ("*/a*",)}, "'*' at its start or its end"),
        ({"paths": ("**",)}, "'*' only at its start or end"),
        ({"methods": ("GET",)}, "methods[0]: 'GET' is not a Method"),
        ({"hosts": ("a b",)}, "hosts[0]: host 'a b'"),
    ],
)
def test_endpoint_rules(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Endpoint(**kwargs)  # type: ignore[arg-type]


def test_endpoint_accepts_what_istio_accepts() -> None:
    e = Endpoint(
        hosts=("example.com", "*.example.com", "example.com:8080"),
        ports=(1, 65535),
        methods=(Method.get, Method.post),
        paths=("/", "/api/*", "*.json", "*", "/static/.*", "*/healthz", "/a%20b", "/~u/@x:1"),
    )
    assert e.is_l7
    assert not Endpoint(ports=(80,)).is_l7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"target_app_name": None},
            "target_app_name: an app policy needs target_app_name or target_service",
        ),
        ({"endpoints": ()}, "endpoints: an app policy needs at least one endpoint"),
        (
            {"target_selector_labels": (("a", "b"),)},
            "target_selector_labels: an app policy cannot select pods by label",
        ),
        (
            {"target_type": TargetType.unit, "target_service": "svc"},
            "target_service: a unit policy protects pods, not a Service",
        ),
        (
            {"target_type": TargetType.unit, "target_selector_labels": (("a", "b"),)},
            "target_selector_labels: a unit policy takes target_app_name "
            "or target_selector_labels, not both",
        ),
        (
            {"target_type": TargetType.unit, "target_app_name": None},
            "target_app_name: a unit policy needs target_app_name or target_selector_labels",
        ),
        ({"source_app_name": ""}, "source_app_name: '' must be a non-empty string"),
        ({"source_namespace": "a/b"}, f"source_namespace: 'a/b' is not a valid {NAMESPACE}"),
        ({"target_namespace": "A"}, f"target_namespace: 'A' is not a valid {NAMESPACE}"),
        ({"source_app_name": "a\x00"}, f"source_app_name: 'a\\x00' is not a valid {NAME}"),
        ({"source_service_account": "S"}, f"source_service_account: 'S' is not a valid {NAME}"),
        ({"target_app_name": "b_"}, f"target_app_name: 'b_' is not a valid {NAME}"),
        ({"target_service": "-s"}, f"target_service: '-s' is not a valid {NAME}"),
        (
            {
                "target_type": TargetType.unit,
                "target_app_name": None,
                "target_selector_labels": (("a b", "c"),),
            },
            "target_selector_labels: label key 'a b' is not a valid Kubernetes label key",
        ),
        (
            {
                "target_type": TargetType.unit,
                "target_app_name": None,
                "target_selector_labels": (("a", "c d"),),
            },
            "target_selector_labels: 'c d' is not a valid Kubernetes label value",
        ),
    ],
)
def test_policy_rules(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        make(**kwargs)


def test_derived_fields() -> None:
    p = make(target_service="svc", source_service_account="sa")
    assert (p.service, p.service_account) == ("svc", "sa")
    unit = make(target_type=TargetType.unit, endpoints=())
    assert unit.selector == {"app.kubernetes.io/name": "b"}
    assert make().service_account == "a"


PREFIX_253 = ".".join(["a" * 63] * 3 + ["a" * 61])  # a DNS subdomain of 253 characters


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_name, "a" * 253),
        (check_name, PREFIX_253),
        (check_namespace, "a" * 63),
        (check_host, "a" * 253),
    ],
)
def test_names_and_hosts_may_be_as_long_as_kubernetes_and_istio_allow(
    check: Callable[[object, str], str], value: str
) -> None:
    assert check(value, "f") == value


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (check_name, "a" * 254, f"f: {'a' * 254!r} is not a valid {NAME}"),
        (check_namespace, "a" * 64, f"f: {'a' * 64!r} is not a valid {NAMESPACE}"),
        (check_namespace, "a.b", f"f: 'a.b' is not a valid {NAMESPACE}"),
        (check_name, 5, "f: 5 must be a non-empty string"),
        (
            check_host,
            "a" * 254,
            f"f: host {'a' * 254!r} must be a host name, optionally with a port",
        ),
    ],
)
def test_a_longer_name_or_host_is_refused(
    check: Callable[[object, str], str], value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check(value, "f")


def test_a_label_key_may_have_a_prefix_of_253_characters_and_no_more() -> None:
    assert check_label(f"{PREFIX_253}/name", "v", "f") == (f"{PREFIX_253}/name", "v")
    longer = f"a{PREFIX_253}/name"
    with pytest.raises(
        ValueError, match="^" + re.escape(f"f: label key {longer!r} is not a valid")
    ):
        check_label(longer, "v", "f")


@pytest.mark.parametrize(("key", "value"), [("a", 5), (5, "a"), (None, None)])
def test_a_label_is_two_strings(key: object, value: object) -> None:
    message = f"f: label {key!r}: {value!r} must be strings"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_label(key, value, "f")


def test_a_method_is_one_of_the_interfaces_and_a_wrong_one_lists_them() -> None:
    assert check_method("GET", "m") is Method.get
    assert check_method(Method.put, "m") is Method.put
    known = "CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE"
    with pytest.raises(
        ValueError,
        match=f"^{re.escape(f'm: method {chr(39)}get{chr(39)} is not one of {known}')}$",
    ):
        check_method("get", "m")
