"""Table tests for meshops.plan.platform's sidecar namespaces (``mesh: sidecar``).

A namespace with sidecars is labelled for Istio's injector and gets no waypoint; its
apps' accept rules, l4 and l7 alike, become AuthorizationPolicies that select the app's
pods, enforced by each pod's sidecar with every field (Istio's Authorization Policy
reference: a sidecar applies the policies that select its pod; ``targetRefs`` of a
Service are for waypoints only). Callers and callees mix ambient and sidecar namespaces.
The profile check: sidecar namespaces need a profile that installs the injector.
Expected objects are applied to the API fake with the upstream CRDs installed.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.k8s.api import Api
from meshops.k8s.client import make_client
from meshops.k8s.kinds import kind_of
from meshops.model.mesh import Method
from meshops.model.platform import (
    Accept,
    App,
    AppRef,
    Istio,
    Level,
    MeshMode,
    Namespace,
    Platform,
    Port,
    Profile,
    Protocol,
)
from meshops.plan.platform import platform_objects

Obj = dict[str, Any]

SIDECARS = Namespace("legacy", MeshMode.sidecar)
SHOP = Namespace("shop")
CART_SA = "cluster.local/ns/shop/sa/cart"


def http(port: int) -> Port:
    return Port(port, Protocol.http)


def rule(*sources: str, **kw: Any) -> Accept:
    return Accept(tuple(AppRef(*s.split("/")) for s in sources), **kw)


def policy(name: str, namespace: str, source: str, spec: Obj) -> Obj:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"meshops.io/policy-source": source},
        },
        "spec": spec,
    }


def pods_of(app: str, rules: list[Obj]) -> Obj:
    return {
        "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
        "action": "ALLOW",
        "rules": rules,
    }


LEGACY_NS = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "legacy", "labels": {"istio-injection": "enabled"}},
}
SHOP_NS = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {
        "name": "shop",
        "labels": {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"},
    },
}
CART = App("cart", "shop", ports=(http(8080),))
BILLING = App(
    "billing",
    "legacy",
    ports=(http(8080), Port(9000)),
    accepts=(
        rule("shop/cart", ports=(8080,), methods=(Method.post,), paths=("/invoices/*",)),
        rule("shop/cart", level=Level.l4, ports=(9000,)),
    ),
)
BILLING_POLICY = policy(
    "p-billing-pods",
    "legacy",
    "billing",
    pods_of(
        "billing",
        [
            {
                "from": [{"source": {"principals": [CART_SA]}}],
                "to": [
                    {
                        "operation": {
                            "ports": ["8080"],
                            "methods": ["POST"],
                            "paths": ["/invoices/*"],
                        }
                    }
                ],
            },
            {
                "from": [{"source": {"principals": [CART_SA]}}],
                "to": [{"operation": {"ports": ["9000"]}}],
            },
        ],
    ),
)


def waypoint_of(namespace: str) -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": "waypoint",
            "namespace": namespace,
            "labels": {"istio.io/waypoint-for": "service"},
        },
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        },
    }


CASES: list[tuple[str, Platform, list[Obj]]] = [
    (
        "a sidecar namespace: the injection label, no waypoint",
        Platform("p", (SIDECARS,)),
        [LEGACY_NS],
    ),
    (
        "l7 and l4 rules of a sidecar app: one policy on its pods, L7 fields kept, no twin",
        Platform("p", (SHOP, SIDECARS), (CART, BILLING)),
        [LEGACY_NS, SHOP_NS, waypoint_of("shop"), BILLING_POLICY],
    ),
    (
        "a caller with a sidecar calling an ambient app: the policy on the app's Service",
        Platform(
            "p",
            (SHOP, SIDECARS),
            (
                App("cart", "shop", ports=(http(8080),), accepts=(rule("legacy/billing"),)),
                App("billing", "legacy", ports=(http(8080),)),
            ),
        ),
        [
            LEGACY_NS,
            SHOP_NS,
            waypoint_of("shop"),
            policy(
                "p-cart-svc",
                "shop",
                "cart",
                {
                    "targetRefs": [{"kind": "Service", "group": "", "name": "cart"}],
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [
                                {"source": {"principals": ["cluster.local/ns/legacy/sa/billing"]}}
                            ],
                            "to": [{"operation": {"ports": ["8080"]}}],
                        }
                    ],
                },
            ),
        ],
    ),
]


@pytest.mark.parametrize(
    ("platform", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_objects(platform: Platform, expected: list[Obj]) -> None:
    objects, problems = platform_objects(platform)
    assert problems == []
    assert objects == expected


@pytest.mark.parametrize("expected", [c[2] for c in CASES], ids=[c[0] for c in CASES])
def test_expected_objects_validate_against_the_upstream_crds(
    expected: list[Obj], make_fake: Any
) -> None:
    fake = make_fake(
        "gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io"
    )
    api = Api(make_client(fake.transport, field_manager="t"), field_manager="t")
    for obj in expected:
        api.apply(obj, kind_of(obj))


def test_hardened_sidecar_namespaces_get_no_policy_for_a_waypoint() -> None:
    objects, problems = platform_objects(Platform("p", (SHOP, SIDECARS), hardened=True))
    assert problems == []
    names = [
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in objects
        if o["kind"] == "AuthorizationPolicy"
    ]
    assert names == [
        ("istio-system", "p-deny-all"),
        ("istio-system", "p-waypoint-deny-all"),
        ("shop", "p-from-waypoint"),
    ]


def profile(name: Profile, *namespaces: Namespace) -> Platform:
    return Platform("p", namespaces, istio=Istio(profile=name))


PROFILE_CASES = [
    pytest.param(profile(Profile.default, SIDECARS), [], id="default-injects"),
    pytest.param(profile(Profile.minimal, SIDECARS), [], id="minimal-injects"),
    pytest.param(profile(Profile.ambient, SIDECARS, SHOP), [], id="ambient-injects-too"),
    pytest.param(
        profile(Profile.empty, SIDECARS),
        [
            "profile 'empty' installs no sidecar injector, which the pods of namespaces "
            "'legacy' (mesh: sidecar) need; use 'default' or 'ambient'"
        ],
        id="empty-installs-nothing",
    ),
    pytest.param(
        profile(Profile.empty, SIDECARS, Namespace("batch", MeshMode.sidecar)),
        [
            "profile 'empty' installs no sidecar injector, which the pods of namespaces "
            "'legacy', 'batch' (mesh: sidecar) need; use 'default' or 'ambient'"
        ],
        id="empty-injects-into-neither",
    ),
    pytest.param(
        profile(Profile.default, SIDECARS, SHOP),
        [
            "profile 'default' installs no ztunnel, which the ambient mesh of namespaces "
            "'shop' runs on; use 'ambient'"
        ],
        id="mixed-needs-ambient",
    ),
    pytest.param(
        profile(Profile.empty, SIDECARS, SHOP),
        [
            "profile 'empty' installs no ztunnel, which the ambient mesh of namespaces "
            "'shop' runs on; use 'ambient'",
            "profile 'empty' installs no sidecar injector, which the pods of namespaces "
            "'legacy' (mesh: sidecar) need; use 'ambient' (it injects too)",
        ],
        id="mixed-empty",
    ),
]


@pytest.mark.parametrize(("platform", "messages"), PROFILE_CASES)
def test_the_profile_must_serve_each_mode(platform: Platform, messages: list[str]) -> None:
    _, problems = platform_objects(platform)
    assert [(p.field, p.message) for p in problems] == [("istio.profile", m) for m in messages]


def test_an_l4_rule_with_l7_fields_in_a_sidecar_namespace_says_l4_names_ports_only() -> None:
    app = App(
        "billing",
        "legacy",
        ports=(http(8080),),
        accepts=(rule("shop/cart", level=Level.l4, methods=(Method.get,)),),
    )
    _, problems = platform_objects(Platform("p", (SHOP, SIDECARS), (CART, app)))
    assert [(p.field, p.message) for p in problems] == [
        (
            "apps[1].accepts[0].methods",
            "methods need an l7 rule: an l4 rule names ports only (remove methods, or drop "
            "level: l4)",
        )
    ]


def test_l7_fields_in_a_sidecar_namespace_still_need_an_http_port() -> None:
    app = App(
        "billing",
        "legacy",
        ports=(Port(9000),),
        accepts=(rule("shop/cart", methods=(Method.get,)),),
    )
    _, problems = platform_objects(Platform("p", (SHOP, SIDECARS), (CART, app)))
    assert [(p.field, p.message) for p in problems] == [
        (
            "apps[1].accepts[0].methods",
            "port 9000 of app 'billing' is tcp: methods need an http or grpc port",
        )
    ]
