"""Tests for meshops.plan.istio and the Istio checks of platform_objects.

The IstioOperator a platform installs Istio with, and the deny-by-default policies of
hardened mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.model.platform import Istio, MeshMode, Namespace, Platform, Profile
from meshops.plan.istio import hardened_policies, istio_operator, with_release_images
from meshops.plan.platform import WAYPOINT, platform_objects

SHOP = Namespace("shop")
WEB = Namespace("web", MeshMode.off)


@pytest.mark.parametrize(
    ("istio", "spec"),
    [
        pytest.param(Istio(), {"profile": "ambient"}, id="defaults"),
        pytest.param(
            Istio(hub="registry.local:5000/istio", tag="1.30.3"),
            {"profile": "ambient", "hub": "registry.local:5000/istio", "tag": "1.30.3"},
            id="local registry",
        ),
        pytest.param(Istio(profile=Profile.empty), {"profile": "empty"}, id="profile as given"),
        pytest.param(
            Istio(namespace="mesh-system"),
            {
                "profile": "ambient",
                "namespace": "mesh-system",
                "values": {"global": {"istioNamespace": "mesh-system"}},
                "meshConfig": {"rootNamespace": "mesh-system"},
            },
            id="own namespace is the root namespace",
        ),
        pytest.param(
            Istio(watched_namespaces=("web", "shop")),
            {
                "profile": "ambient",
                "meshConfig": {
                    "discoverySelectors": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/metadata.name",
                                    "operator": "In",
                                    "values": ["istio-system", "shop", "web"],
                                }
                            ]
                        }
                    ]
                },
            },
            id="watched namespaces, sorted, with the control plane's",
        ),
    ],
)
def test_istio_operator(istio: Istio, spec: dict[str, Any]) -> None:
    operator = istio_operator(Platform("shop", istio=istio))
    assert operator == {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "metadata": {"name": "shop", "namespace": istio.namespace},
        "spec": spec,
    }


@pytest.mark.parametrize(
    "istio", [None, Istio(enabled=False)], ids=["no istio section", "not enabled"]
)
def test_no_istio_operator_when_istio_is_installed_otherwise(istio: Istio | None) -> None:
    assert istio_operator(Platform("shop", istio=istio)) is None


def test_hardened_policies() -> None:
    platform = Platform("p", (SHOP, WEB), istio=Istio(namespace="mesh"), hardened=True)
    assert hardened_policies(platform, platform.namespaces, WAYPOINT) == [
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "p-deny-all", "namespace": "mesh"},
            "spec": {},
        },
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "p-waypoint-deny-all", "namespace": "mesh"},
            "spec": {
                "targetRefs": [
                    {
                        "group": "gateway.networking.k8s.io",
                        "kind": "GatewayClass",
                        "name": "istio-waypoint",
                    }
                ]
            },
        },
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "p-from-waypoint", "namespace": "shop"},
            "spec": {
                "action": "ALLOW",
                "rules": [
                    {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/waypoint"]}}]}
                ],
            },
        },
    ]


def test_hardened_policies_come_in_namespace_order() -> None:
    namespaces = (Namespace("web"), Namespace("api"), Namespace("shop"))
    platform = Platform("p", namespaces, hardened=True)
    policies = hardened_policies(platform, namespaces, WAYPOINT)
    assert [p["metadata"]["namespace"] for p in policies] == [
        "istio-system",
        "istio-system",
        "api",
        "shop",
        "web",
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"profile": "ambient"},
            {"profile": "ambient", "hub": "docker.io/istio", "tag": "1.30.3"},
            id="istios-own",
        ),
        pytest.param(
            {"profile": "ambient", "hub": "registry.local/istio"},
            {"profile": "ambient", "hub": "registry.local/istio", "tag": "1.30.3"},
            id="a-mirror-of-the-release",
        ),
        pytest.param(
            {"hub": "registry.local/istio", "tag": "1.30.2"},
            {"hub": "registry.local/istio", "tag": "1.30.2"},
            id="as-given",
        ),
    ],
)
def test_release_images_fill_in_what_the_operator_leaves_out(
    spec: dict[str, Any], expected: dict[str, Any]
) -> None:
    operator = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec}
    given = {**spec}
    assert with_release_images(operator, "1.30.3") == {**operator, "spec": expected}
    assert operator["spec"] == given  # (not modified)


def test_not_hardened_adds_no_policies() -> None:
    platform = Platform("p", (SHOP,))
    assert hardened_policies(platform, platform.namespaces, WAYPOINT) == []


def test_platform_objects_include_the_hardened_policies() -> None:
    objects, problems = platform_objects(Platform("p", (SHOP, WEB), hardened=True))
    assert problems == []
    assert [
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects
    ] == [
        ("Namespace", "", "shop"),
        ("Namespace", "", "web"),
        ("Gateway", "shop", "waypoint"),
        ("AuthorizationPolicy", "istio-system", "p-deny-all"),
        ("AuthorizationPolicy", "istio-system", "p-waypoint-deny-all"),
        ("AuthorizationPolicy", "shop", "p-from-waypoint"),
    ]


@pytest.mark.parametrize(
    ("platform", "problems"),
    [
        pytest.param(
            Platform("p", (SHOP,), istio=Istio(profile=Profile.default)),
            [
                (
                    "istio.profile",
                    "profile 'default' installs no ztunnel, which the ambient mesh of "
                    "namespaces 'shop' runs on; use 'ambient'",
                )
            ],
            id="profile without ztunnel",
        ),
        pytest.param(
            Platform("p", (WEB,), istio=Istio(profile=Profile.minimal)),
            [],
            id="no namespace on the mesh: any profile",
        ),
        pytest.param(
            Platform("p", (SHOP,), istio=Istio(enabled=False, profile=Profile.default)),
            [],
            id="installed otherwise: its profile is not ours to check",
        ),
        pytest.param(
            Platform("p", (SHOP, WEB), istio=Istio(watched_namespaces=("shop",))),
            [
                (
                    "namespaces[1].name",
                    "namespace 'web' is not in istio.watchedNamespaces: istiod would not "
                    "see its Services, policies or gateways (add it there)",
                )
            ],
            id="a namespace not watched",
        ),
        pytest.param(
            Platform("p", (SHOP, Namespace("istio-system", MeshMode.off)), istio=Istio()),
            [
                (
                    "namespaces[1].name",
                    "namespace 'istio-system' is Istio's own (istio.namespace): the control "
                    "plane manages it; do not declare it",
                )
            ],
            id="istio's namespace declared",
        ),
    ],
)
def test_istio_problems(platform: Platform, problems: list[tuple[str, str]]) -> None:
    _, found = platform_objects(platform)
    assert [(p.field, p.message) for p in found] == problems
