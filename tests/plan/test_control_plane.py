"""Tests for meshops.plan.control_plane's pure parts: config, CRDs in the way, readiness.

The istio-k8s charm's config becomes settings (every bad value a Problem naming the
option and quoting the value); CRDs someone else installed are used, or stop the
install with a line that says what to do; what of istiod, ztunnel and istio-cni is not
ready yet reads as one line each. istioctl's part is in tests/k8s/test_istioctl.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from meshops.model import Problem
from meshops.plan.control_plane import (
    ControlPlaneSettings,
    foreign_crds,
    istio_operator,
    not_ready,
    plan_control_plane,
    settings_from_config,
)
from meshops.plan.istio import ISTIO_OPERATOR_API_VERSION, RELEASE_HUB

Obj = dict[str, Any]
NS = "istio-system"


# --- config ----------------------------------------------------------------------------


def test_no_config_is_the_defaults() -> None:
    assert settings_from_config({}, NS) == (ControlPlaneSettings(NS), [])


def test_text_is_stripped_and_a_registry_loses_its_trailing_slash() -> None:
    config = {
        "platform": " k3s ",
        "image-registry": "registry.LOCALX/",
        "image-tag": " 1.30.3 ",
        "log-level": "",
        "gateway-api-channel": " experimental ",
        "hardened-mode": True,
        "auto-allow-waypoint-policy": False,
        "delete-crds-on-remove": True,
        "cni-bin-dir": "/var/lib/cni/bin",
        "cni-conf-dir": "/etc/cni/net.d/",
    }
    settings, problems = settings_from_config(config, NS)
    assert problems == []
    assert settings == ControlPlaneSettings(
        NS,
        hardened=True,
        auto_allow_waypoint_policy=False,
        platform="k3s",
        cni_bin_dir="/var/lib/cni/bin",
        cni_conf_dir="/etc/cni/net.d/",
        image_registry="registry.LOCALX",
        image_tag="1.30.3",
        log_level="info",
        gateway_api_channel="experimental",
        delete_crds_on_remove=True,
    )


def test_every_bad_value_is_a_problem_naming_its_option() -> None:
    config = {
        "platform": 3,
        "hardened-mode": "yes",
        "auto-allow-waypoint-policy": 1,
        "log-level": "loud",
        "gateway-api-channel": "beta",
        "image-tag": ["1.30"],
        "cni-bin-dir": "opt/cni",
    }
    settings, problems = settings_from_config(config, NS)
    assert settings is None
    assert problems == [
        Problem("config", "platform", "platform 3 must be a string"),
        Problem(
            "config",
            "cni-bin-dir",
            "cni-bin-dir 'opt/cni' must be an absolute path on the nodes (e.g. /opt/cni/bin)",
        ),
        Problem("config", "image-tag", "image-tag ['1.30'] must be a string"),
        Problem(
            "config", "log-level", "log-level 'loud' must be one of debug, info, warn, error, none"
        ),
        Problem(
            "config",
            "gateway-api-channel",
            "gateway-api-channel 'beta' must be one of standard, experimental",
        ),
        Problem("config", "hardened-mode", "hardened-mode 'yes' must be a boolean"),
        Problem(
            "config",
            "auto-allow-waypoint-policy",
            "auto-allow-waypoint-policy 1 must be a boolean",
        ),
    ]


def test_an_unknown_platform_says_what_is_known() -> None:
    _, problems = settings_from_config({"platform": "eks"}, NS)
    assert problems == [
        Problem(
            "config",
            "platform",
            "platform 'eks' must be one of gke, k3d, k3s, microk8s, minikube, openshift,"
            " or empty (EKS and others need none)",
        )
    ]


# --- the IstioOperator istioctl reads --------------------------------------------------


def operator(namespace: str, values: Obj, hub: str, tag: str) -> Obj:
    return {
        "apiVersion": ISTIO_OPERATOR_API_VERSION,
        "kind": "IstioOperator",
        "metadata": {"name": "control-plane", "namespace": namespace},
        "spec": {
            "profile": "ambient",
            "namespace": namespace,
            "meshConfig": {"rootNamespace": namespace},
            "values": values,
            "hub": hub,
            "tag": tag,
        },
    }


def test_the_default_operator_is_istioctls_release_in_the_namespace() -> None:
    values = {
        "global": {"istioNamespace": "mesh", "logging": {"level": "default:info"}},
        "pilot": {"autoscaleEnabled": False, "env": {"PILOT_AUTO_ALLOW_WAYPOINT_POLICY": "true"}},
    }
    expected = operator("mesh", values, RELEASE_HUB, "1.30.3")
    assert istio_operator(ControlPlaneSettings("mesh"), "1.30.3") == expected


def test_every_setting_reaches_the_operator() -> None:
    settings = ControlPlaneSettings(
        NS,
        auto_allow_waypoint_policy=False,
        platform="k3s",
        cni_bin_dir="/a/bin",
        cni_conf_dir="/a/conf",
        image_registry="reg.local/istio",
        image_tag="1.30.3-x",
        log_level="warn",
    )
    values = {
        "global": {
            "istioNamespace": NS,
            "logging": {"level": "default:warn"},
            "platform": "k3s",
        },
        "pilot": {
            "autoscaleEnabled": False,
            "env": {"PILOT_AUTO_ALLOW_WAYPOINT_POLICY": "false"},
        },
        "cni": {"cniBinDir": "/a/bin", "cniConfDir": "/a/conf"},
    }
    expected = operator(NS, values, "reg.local/istio", "1.30.3-x")
    assert istio_operator(settings, "1.30.3") == expected


# --- the plan ---------------------------------------------------------------------------


def deployment(name: str, kind: str = "Deployment") -> Obj:
    return {"kind": kind, "metadata": {"name": name}, "spec": {"replicas": 1, "x": {"y": 1}}}


def test_only_istiods_deployment_is_scaled_and_the_input_is_left_as_it_was() -> None:
    generated = [
        deployment("istiod"),
        deployment("istiod", "PodDisruptionBudget"),
        deployment("x"),
    ]
    given = [{"kind": "CustomResourceDefinition", "metadata": {"name": "a"}, "spec": {"v": [1]}}]
    before = copy.deepcopy((generated, given))
    plan = plan_control_plane(
        generated, ControlPlaneSettings(NS), replicas=3, gateway_api_crds=given, prefix="p"
    )
    assert [o["spec"]["replicas"] for o in plan.objects] == [3, 1, 1]
    plan.objects[0]["spec"]["x"]["y"] = 2
    plan.crds[0]["spec"]["v"].append(2)
    assert (generated, given) == before


# --- CRDs someone else installed ----------------------------------------------------------

GATEWAYS = "gateways.gateway.networking.k8s.io"
ROUTES = "httproutes.gateway.networking.k8s.io"


def bundled(name: str, version: str, channel: str | None = None) -> Obj:
    annotations = {"gateway.networking.k8s.io/bundle-version": version}
    if channel is not None:
        annotations["gateway.networking.k8s.io/channel"] = channel
    return {"metadata": {"name": name, "annotations": annotations}}


def defined(name: str = "wasmplugins.extensions.istio.io", **change: Any) -> Obj:
    version = {"name": "v1", "served": True, "storage": True, "schema": {"type": "object"}}
    spec: Obj = {
        "group": "extensions.istio.io",
        "names": {"kind": "WasmPlugin"},
        "versions": [{**version, **change.pop("version", {})}],
    }
    return {"metadata": {"name": name}, "spec": {**spec, **change}}


OURS = bundled(GATEWAYS, "v1.5.1", "standard")
FOREIGN_CASES = [
    # (id, the live CRD, the line it gives, or None when it is used as it is)
    ("same-release-and-channel", bundled(GATEWAYS, "v1.5.1", "standard"), None),
    ("channel-left-out-is-standard", bundled(GATEWAYS, "v1.5.1"), None),
    (
        "other-channel",
        bundled(GATEWAYS, "v1.5.1", "experimental"),
        f"CRD {GATEWAYS} is of the experimental channel (installed by someone else), not"
        " standard: remove it, or set gateway-api-channel=experimental",
    ),
    (
        "newer",
        bundled(GATEWAYS, "v1.10.0"),
        f"CRD {GATEWAYS} is at v1.10.0 (installed by someone else), newer than v1.5.1 here:"
        " not downgraded; use an istio-k8s release that carries v1.10.0 or newer",
    ),
    (
        "older",
        bundled(GATEWAYS, "v1.4.9"),
        f"CRD {GATEWAYS} is at v1.4.9 (installed by someone else), not v1.5.1: upgrade it to"
        " v1.5.1 or remove it",
    ),
    (
        "prerelease-of-the-same",
        bundled(GATEWAYS, "v1.5.1-rc.1"),
        f"CRD {GATEWAYS} is at v1.5.1-rc.1 (installed by someone else), not v1.5.1: upgrade"
        " it to v1.5.1 or remove it",
    ),
    (
        "newer-prerelease",
        bundled(GATEWAYS, "v1.6.0-rc.1"),
        f"CRD {GATEWAYS} is at v1.6.0-rc.1 (installed by someone else), newer than v1.5.1"
        " here: not downgraded; use an istio-k8s release that carries v1.6.0-rc.1 or newer",
    ),
    (
        "not-a-release",
        bundled(GATEWAYS, "main"),
        f"CRD {GATEWAYS} is at main (installed by someone else), not v1.5.1: upgrade it to"
        " v1.5.1 or remove it",
    ),
    (
        "unbundled",
        {"metadata": {"name": GATEWAYS}},
        f"CRD {GATEWAYS} is at an unknown version (installed by someone else), not v1.5.1:"
        " upgrade it to v1.5.1 or remove it",
    ),
]


@pytest.mark.parametrize(("live", "line"), [pytest.param(*c[1:], id=c[0]) for c in FOREIGN_CASES])
def test_a_gateway_api_crd_installed_by_someone_else(live: Obj, line: str | None) -> None:
    skip, blocked = foreign_crds([OURS], {GATEWAYS: live})
    assert (skip, blocked) == ({GATEWAYS}, [line] if line else [])


def test_a_crd_we_would_apply_of_no_release_is_not_compared() -> None:
    ours = bundled(GATEWAYS, "main")
    skip, blocked = foreign_crds([ours], {GATEWAYS: bundled(GATEWAYS, "v1.5.1")})
    assert (skip, blocked) == (
        {GATEWAYS},
        [
            f"CRD {GATEWAYS} is at v1.5.1 (installed by someone else), not main: upgrade it"
            " to main or remove it"
        ],
    )


def test_each_crd_in_the_way_is_said() -> None:
    desired = [OURS, bundled(ROUTES, "v1.5.1"), bundled("grpcroutes.x", "v1.5.1"), defined()]
    present = {GATEWAYS: OURS, ROUTES: bundled(ROUTES, "v1.6.0")}
    skip, blocked = foreign_crds(desired, present)
    assert skip == {GATEWAYS, ROUTES}
    assert [line.split(" is ")[0] for line in blocked] == [f"CRD {ROUTES}"]


DIFFERS = (
    "CRD wasmplugins.extensions.istio.io was installed by someone else and differs from"
    " Istio's here: remove it (or the Istio that installed it) so that istio-k8s installs its own"
)
DEFINITION_CASES = [
    ("same", defined(), None),
    ("what-the-api-server-adds", defined(conversion={"strategy": "None"}), None),
    ("group", defined(group="example.com"), DIFFERS),
    ("kind", defined(names={"kind": "Plugin"}), DIFFERS),
    ("version-name", defined(version={"name": "v2"}), DIFFERS),
    ("served", defined(version={"served": False}), DIFFERS),
    ("storage", defined(version={"storage": False}), DIFFERS),
    ("schema", defined(version={"schema": {"type": "string"}}), DIFFERS),
    ("no-versions", defined(versions="v1"), DIFFERS),
]


@pytest.mark.parametrize(
    ("live", "line"), [pytest.param(*c[1:], id=c[0]) for c in DEFINITION_CASES]
)
def test_an_istio_crd_installed_by_someone_else_is_used_when_it_defines_the_same(
    live: Obj, line: str | None
) -> None:
    name = "wasmplugins.extensions.istio.io"
    assert foreign_crds([defined()], {name: live}) == ({name}, [line] if line else [])


# --- readiness ------------------------------------------------------------------------------


def workload(generation: int = 1, spec: Obj | None = None, **status: Any) -> Obj:
    return {"metadata": {"generation": generation}, "spec": spec or {}, "status": status}


READY_DAEMONSET = workload(
    observedGeneration=1, desiredNumberScheduled=2, numberReady=2, updatedNumberScheduled=2
)
READY = {
    ("Deployment", "istiod"): workload(
        spec={"replicas": 2}, observedGeneration=1, readyReplicas=2, updatedReplicas=2
    ),
    ("DaemonSet", "ztunnel"): READY_DAEMONSET,
    ("DaemonSet", "istio-cni-node"): READY_DAEMONSET,
}
READINESS_CASES = [
    # (id, the workloads changed, the lines)
    ("ready", {}, []),
    (
        "all-missing",
        {k: None for k in READY},
        ["istiod: not created yet", "ztunnel: not created yet", "istio-cni-node: not created yet"],
    ),
    ("istiod-missing", {("Deployment", "istiod"): None}, ["istiod: not created yet"]),
    (
        "rolling-out",
        {("DaemonSet", "ztunnel"): {**READY_DAEMONSET, "metadata": {"generation": 2}}},
        ["ztunnel: rolling out"],
    ),
    (
        "replicas-default-to-one",
        {
            ("Deployment", "istiod"): workload(
                observedGeneration=1, readyReplicas=1, updatedReplicas=1
            )
        },
        [],
    ),
    (
        "none-ready-of-the-default-one",
        {("Deployment", "istiod"): workload(observedGeneration=1)},
        ["istiod: 0 of 1 replicas ready"],
    ),
    (
        "ready-but-not-updated",
        {
            ("Deployment", "istiod"): workload(
                spec={"replicas": 2}, observedGeneration=1, readyReplicas=2, updatedReplicas=1
            )
        },
        ["istiod: 1 of 2 replicas ready"],
    ),
    (
        "replicas-not-a-number",
        {
            ("Deployment", "istiod"): workload(
                spec={"replicas": "2"}, observedGeneration=1, readyReplicas=1, updatedReplicas=1
            )
        },
        [],
    ),
    (
        "no-node",
        {("DaemonSet", "istio-cni-node"): workload(observedGeneration=1)},
        ["istio-cni-node: scheduled on no node yet"],
    ),
    (
        "one-node-of-two",
        {
            ("DaemonSet", "ztunnel"): workload(
                observedGeneration=1,
                desiredNumberScheduled=2,
                numberReady=2,
                updatedNumberScheduled=1,
            )
        },
        ["ztunnel: ready on 1 of 2 nodes"],
    ),
    (
        "one-desired-none-ready",
        {("DaemonSet", "ztunnel"): workload(observedGeneration=1, desiredNumberScheduled=1)},
        ["ztunnel: ready on 0 of 1 nodes"],
    ),
]


@pytest.mark.parametrize(
    ("changed", "lines"), [pytest.param(*c[1:], id=c[0]) for c in READINESS_CASES]
)
def test_what_is_not_ready_yet(
    changed: dict[tuple[str, str], Obj | None], lines: list[str]
) -> None:
    assert not_ready({**READY, **changed}) == lines
