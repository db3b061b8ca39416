"""Tests for meshops.model.mesh: the rules a MeshPolicy and its endpoints enforce."""

from __future__ import annotations

import re

import pytest

from meshops.model import Endpoint, MeshPolicy, Method, TargetType


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
        ({"target_app_name": None}, "app policy needs target_app_name or target_service"),
        ({"endpoints": ()}, "endpoints: an app policy needs at least one endpoint"),
        ({"target_selector_labels": (("a", "b"),)}, "cannot select pods by label"),
        (
            {"target_type": TargetType.unit, "target_service": "svc"},
            "target_service: a unit policy protects pods",
        ),
        (
            {"target_type": TargetType.unit, "target_selector_labels": (("a", "b"),)},
            "not both",
        ),
        (
            {"target_type": TargetType.unit, "target_app_name": None},
            "unit policy needs target_app_name or target_selector_labels",
        ),
        ({"source_app_name": ""}, "source_app_name: '' must be a non-empty string"),
        ({"source_namespace": "a/b"}, "source_namespace: 'a/b' is not a valid name"),
        ({"source_app_name": "a\x00"}, "is not a valid name"),
        (
            {
                "target_type": TargetType.unit,
                "target_app_name": None,
                "target_selector_labels": (("a b", "c"),),
            },
            "label key 'a b' is not a valid Kubernetes label key",
        ),
    ],
)
def test_policy_rules(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_derived_fields() -> None:
    p = make(target_service="svc", source_service_account="sa")
    assert (p.service, p.service_account) == ("svc", "sa")
    unit = make(target_type=TargetType.unit, endpoints=())
    assert unit.selector == {"app.kubernetes.io/name": "b"}
    assert make().service_account == "a"
