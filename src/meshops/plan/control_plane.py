"""The Istio ambient control plane the istio-k8s charm runs: settings, and what to apply.

Pure: the charm's config becomes :class:`ControlPlaneSettings` (validated, each bad
value a :class:`~meshops.model.Problem` naming the option and the value), the settings
become the IstioOperator that ``istioctl manifest generate -f`` reads
(:func:`istio_operator`), and what istioctl generated becomes the objects to apply
(:func:`plan_control_plane`): its CRDs apart from the rest (they outlive the charm),
istiod scaled to the charm's units, and hardened mode's policies, from the same code as
the platform file's ``hardened: true`` (:func:`meshops.plan.istio.mesh_deny_policies`).

Running istioctl is :mod:`meshops.k8s.istioctl`'s; the Gateway API's CRDs are
:func:`meshops.crds.gateway_api_crds`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from meshops.model import Problem
from meshops.plan.istio import ISTIO_OPERATOR_API_VERSION, mesh_deny_policies, with_release_images

__all__ = [
    "ISTIOD",
    "LOG_LEVELS",
    "PLATFORMS",
    "READINESS",
    "ControlPlanePlan",
    "ControlPlaneSettings",
    "foreign_crds",
    "istio_operator",
    "not_ready",
    "plan_control_plane",
    "settings_from_config",
]

Obj = dict[str, Any]

#: ``values.global.platform`` values Istio 1.30 has settings for (its charts'
#: ``profile-platform-<name>.yaml``); any other value would be silently ignored by it.
PLATFORMS = ("gke", "k3d", "k3s", "microk8s", "minikube", "openshift")
#: istiod's log levels (``--log_output_level=default:<level>``).
LOG_LEVELS = ("debug", "info", "warn", "error", "none")
#: The control plane's workloads whose readiness the charm reports, by kind and name.
ISTIOD = "istiod"
READINESS = (("Deployment", ISTIOD), ("DaemonSet", "ztunnel"), ("DaemonSet", "istio-cni-node"))

# An image registry (and repository path): host[:port][/path...], as Docker parses it.
_REGISTRY = re.compile(
    r"[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# A host path: absolute, plain path elements, no ".." and no whitespace.
_PATH = re.compile(r"(?:/[A-Za-z0-9._+-]+)+/?")


@dataclasses.dataclass(frozen=True)
class ControlPlaneSettings:
    """What the control plane is to be, validated.

    Attributes:
        namespace: the control plane's namespace, and Istio's root namespace.
        hardened: deny by default (mesh-wide allow-nothing at ztunnel and waypoints).
        auto_allow_waypoint_policy: Istio's PILOT_AUTO_ALLOW_WAYPOINT_POLICY.
        platform: ``values.global.platform`` (one of :data:`PLATFORMS`, or "").
        cni_bin_dir: ``values.cni.cniBinDir`` ("": Istio's default).
        cni_conf_dir: ``values.cni.cniConfDir`` ("": Istio's default).
        image_registry: where every Istio image comes from ("": Istio's hub).
        image_tag: their tag ("": istioctl's own release).
        log_level: istiod's, one of :data:`LOG_LEVELS`.
        gateway_api_channel: the Gateway API CRDs to install.
        delete_crds_on_remove: whether removing the charm deletes its CRDs too.
    """

    namespace: str
    hardened: bool = False
    auto_allow_waypoint_policy: bool = True
    platform: str = ""
    cni_bin_dir: str = ""
    cni_conf_dir: str = ""
    image_registry: str = ""
    image_tag: str = ""
    log_level: str = "info"
    gateway_api_channel: Literal["standard", "experimental"] = "standard"
    delete_crds_on_remove: bool = False


def settings_from_config(
    config: Mapping[str, object], namespace: str
) -> tuple[ControlPlaneSettings | None, list[Problem]]:
    """The settings the charm's config asks for, or None and a problem per bad value.

    Example:
        >>> s, problems = settings_from_config({"log-level": "loud"}, "istio-system")
        >>> s is None, problems[0].message
        (True, "log-level 'loud' must be one of debug, info, warn, error, none")
    """
    problems: list[Problem] = []

    def text(option: str) -> str:
        value = config.get(option, "")
        if not isinstance(value, str):
            problems.append(Problem("config", option, f"{option} {value!r} must be a string"))
            return ""
        return value.strip()

    def flag(option: str, default: bool) -> bool:
        value = config.get(option, default)
        if not isinstance(value, bool):
            problems.append(Problem("config", option, f"{option} {value!r} must be a boolean"))
            return default
        return value

    def one_of(option: str, value: str, allowed: Sequence[str], hint: str = "") -> None:
        if value not in allowed:
            listed = ", ".join(allowed)
            problems.append(
                Problem("config", option, f"{option} {value!r} must be one of {listed}{hint}")
            )

    def matches(option: str, value: str, pattern: re.Pattern[str], what: str) -> None:
        if value and (not pattern.fullmatch(value) or "/../" in f"{value}/"):
            problems.append(Problem("config", option, f"{option} {value!r} must be {what}"))

    platform = text("platform")
    if platform:
        one_of("platform", platform, PLATFORMS, ", or empty (EKS and others need none)")
    cni_bin_dir, cni_conf_dir = text("cni-bin-dir"), text("cni-conf-dir")
    for option, value in (("cni-bin-dir", cni_bin_dir), ("cni-conf-dir", cni_conf_dir)):
        matches(option, value, _PATH, "an absolute path on the nodes (e.g. /opt/cni/bin)")
    registry = text("image-registry").rstrip("/")
    matches(
        "image-registry",
        registry,
        _REGISTRY,
        "an image registry and path, e.g. registry.local:5000/istio",
    )
    tag = text("image-tag")
    matches("image-tag", tag, _TAG, "an image tag (letters, digits, '_', '.', '-'; 128 at most)")
    log_level = text("log-level") or "info"
    one_of("log-level", log_level, LOG_LEVELS)
    channel = text("gateway-api-channel") or "standard"
    one_of("gateway-api-channel", channel, ("standard", "experimental"))
    settings = ControlPlaneSettings(
        namespace=namespace,
        hardened=flag("hardened-mode", False),
        auto_allow_waypoint_policy=flag("auto-allow-waypoint-policy", True),
        platform=platform,
        cni_bin_dir=cni_bin_dir,
        cni_conf_dir=cni_conf_dir,
        image_registry=registry,
        image_tag=tag,
        log_level=log_level,
        gateway_api_channel="experimental" if channel == "experimental" else "standard",
        delete_crds_on_remove=flag("delete-crds-on-remove", False),
    )
    return (None, problems) if problems else (settings, [])


def istio_operator(settings: ControlPlaneSettings, release: str) -> Obj:
    """The IstioOperator that ``istioctl manifest generate -f`` turns into the control plane.

    The ambient profile (base CRDs, istiod, istio-cni, ztunnel) in the settings'
    namespace, with the images of ``release`` (istioctl's own) from Istio's registry
    unless the settings name others (Istio's ambient profile adds ``-distroless`` to
    every tag). istiod's autoscaler is off: its replicas follow the charm's units
    (:func:`plan_control_plane` sets them), and an autoscaler would fight that.

    Example:
        >>> op = istio_operator(ControlPlaneSettings("istio-system"), "1.30.3")
        >>> op["spec"]["profile"], op["spec"]["hub"], op["spec"]["tag"]
        ('ambient', 'docker.io/istio', '1.30.3')
    """
    values: Obj = {
        "global": {
            "istioNamespace": settings.namespace,
            "logging": {"level": f"default:{settings.log_level}"},
        },
        "pilot": {
            "autoscaleEnabled": False,
            "env": {
                "PILOT_AUTO_ALLOW_WAYPOINT_POLICY": str(
                    settings.auto_allow_waypoint_policy
                ).lower()
            },
        },
    }
    if settings.platform:
        values["global"]["platform"] = settings.platform
    cni: Obj = {}
    if settings.cni_bin_dir:
        cni["cniBinDir"] = settings.cni_bin_dir
    if settings.cni_conf_dir:
        cni["cniConfDir"] = settings.cni_conf_dir
    if cni:
        values["cni"] = cni
    spec: Obj = {
        "profile": "ambient",
        "namespace": settings.namespace,
        "meshConfig": {"rootNamespace": settings.namespace},
        "values": values,
    }
    if settings.image_registry:
        spec["hub"] = settings.image_registry
    if settings.image_tag:
        spec["tag"] = settings.image_tag
    operator = {
        "apiVersion": ISTIO_OPERATOR_API_VERSION,
        "kind": "IstioOperator",
        "metadata": {"name": "control-plane", "namespace": settings.namespace},
        "spec": spec,
    }
    return with_release_images(operator, release)


@dataclasses.dataclass(frozen=True)
class ControlPlanePlan:
    """The objects of a control plane, grouped by how long they live.

    Attributes:
        crds: the CustomResourceDefinitions (Istio's and the Gateway API's): kept when
            the charm goes, unless asked otherwise.
        objects: everything else istioctl generated (istiod scaled to the units).
        policies: hardened mode's AuthorizationPolicies (none when not hardened).
    """

    crds: tuple[Obj, ...]
    objects: tuple[Obj, ...]
    policies: tuple[Obj, ...]


def plan_control_plane(
    generated: Sequence[Mapping[str, Any]],
    settings: ControlPlaneSettings,
    *,
    replicas: int,
    gateway_api_crds: Sequence[Mapping[str, Any]],
    prefix: str,
) -> ControlPlanePlan:
    """What to apply for the control plane.

    Args:
        generated: the objects ``istioctl manifest generate`` printed.
        settings: the settings they were generated with.
        replicas: istiod's replicas (the charm's unit count; at least 1).
        gateway_api_crds: the Gateway API CRDs of the settings' channel.
        prefix: what hardened mode's policy names start with.
    """
    crds: list[Obj] = [copy.deepcopy(dict(c)) for c in gateway_api_crds]
    objects: list[Obj] = []
    for doc in generated:
        obj = copy.deepcopy(dict(doc))
        kind = obj.get("kind")
        if kind == "CustomResourceDefinition":
            crds.append(obj)
            continue
        if kind == "Deployment" and _field(obj, "metadata").get("name") == ISTIOD:
            obj["spec"] = {**_field(obj, "spec"), "replicas": max(1, replicas)}
        objects.append(obj)
    policies = mesh_deny_policies(prefix, settings.namespace) if settings.hardened else []
    return ControlPlanePlan(tuple(crds), tuple(objects), tuple(policies))


def foreign_crds(
    desired: Sequence[Mapping[str, Any]], present: Mapping[str, Mapping[str, Any]]
) -> tuple[set[str], list[str]]:
    """Which desired CRDs someone else installed, and which of those stop the install.

    A CRD of the same name that is not ours is never overwritten. When it is the very
    CRD we would apply (the same Gateway API release and channel, or the same spec) it
    is used as it is; otherwise nothing is applied until it is dealt with: a newer
    Gateway API release is never downgraded, an older or different one is not taken over.

    Args:
        desired: the CRDs we would apply.
        present: the CRDs of the same names that exist and are not ours, by name.

    Returns:
        The names to leave out of what we apply, and one line per CRD in the way.

    Example:
        >>> ours = {"metadata": {"name": "gateways.gateway.networking.k8s.io",
        ...     "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.5.1"}}}
        >>> theirs = {"metadata": {"name": "gateways.gateway.networking.k8s.io",
        ...     "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.6.0"}}}
        >>> skip, blocked = foreign_crds([ours], {"gateways.gateway.networking.k8s.io": theirs})
        >>> print(blocked[0][:86])
        CRD gateways.gateway.networking.k8s.io is at v1.6.0 (installed by someone else), newer
    """
    skip: set[str] = set()
    blocked: list[str] = []
    for crd in desired:
        name = str(crd["metadata"]["name"])
        live = present.get(name)
        if live is None:
            continue
        skip.add(name)
        want, have = _bundle(crd), _bundle(live)
        if want is not None:
            if have == want:
                continue
            if have is not None and have[0] == want[0]:  # the same release: another channel
                blocked.append(
                    f"CRD {name} is of the {have[1]} channel (installed by someone else), "
                    f"not {want[1]}: remove it, or set gateway-api-channel={have[1]}"
                )
            elif have is not None and _newer(have[0], want[0]):
                blocked.append(
                    f"CRD {name} is at {have[0]} (installed by someone else), newer than "
                    f"{want[0]} here: not downgraded; use an istio-k8s release that carries "
                    f"{have[0]} or newer"
                )
            else:
                blocked.append(
                    f"CRD {name} is at {have[0] if have else 'an unknown version'} (installed "
                    f"by someone else), not {want[0]}: upgrade it to {want[0]} or remove it"
                )
        elif _definition(live) != _definition(crd):
            blocked.append(
                f"CRD {name} was installed by someone else and differs from Istio's here: "
                "remove it (or the Istio that installed it) so that istio-k8s installs its own"
            )
    return skip, blocked


def _definition(crd: Mapping[str, Any]) -> object:
    """What a CRD defines: group, kind, versions and their schemas.

    Without what the API server adds to the spec (conversion strategy, defaults).
    """
    spec = _field(crd, "spec")
    versions = spec.get("versions")
    return (
        spec.get("group"),
        _field(spec, "names").get("kind"),
        [
            (v.get("name"), v.get("served"), v.get("storage"), v.get("schema"))
            for v in cast("list[dict[str, Any]]", versions if isinstance(versions, list) else [])
        ],
    )


def _bundle(crd: Mapping[str, Any]) -> tuple[str, str] | None:
    annotations = _field(_field(crd, "metadata"), "annotations")
    version = annotations.get("gateway.networking.k8s.io/bundle-version")
    if not isinstance(version, str):
        return None
    return version, str(annotations.get("gateway.networking.k8s.io/channel", "standard"))


def _newer(a: str, b: str) -> bool | None:
    """Whether release ``a`` is newer than ``b`` (None when equal or not comparable)."""

    def parts(v: str) -> tuple[int, ...] | None:
        numbers = v.lstrip("v").split("-")[0].split(".")
        return tuple(int(n) for n in numbers) if all(n.isdigit() for n in numbers) else None

    pa, pb = parts(a), parts(b)
    if pa is None or pb is None or pa == pb:
        return None
    return pa > pb


def not_ready(live: Mapping[tuple[str, str], Mapping[str, Any] | None]) -> list[str]:
    """What of istiod, ztunnel and istio-cni is not ready yet, one line each.

    Args:
        live: the workloads of :data:`READINESS` as the API server has them (with
            their status), by kind and name; None for one that is not there.

    Example:
        >>> not_ready({("Deployment", "istiod"): {"metadata": {"generation": 1},
        ...     "spec": {"replicas": 2}, "status": {"observedGeneration": 1,
        ...     "readyReplicas": 1, "updatedReplicas": 2}}})[0]
        'istiod: 1 of 2 replicas ready'
    """
    waiting: list[str] = []
    for kind, name in READINESS:
        obj = live.get((kind, name))
        if obj is None:
            waiting.append(f"{name}: not created yet")
            continue
        status = _field(obj, "status")
        generation = _count(_field(obj, "metadata"), "generation")
        if _count(status, "observedGeneration") < generation:
            waiting.append(f"{name}: rolling out")
        elif kind == "Deployment":
            want = _count(_field(obj, "spec"), "replicas", 1)
            ready = min(_count(status, "readyReplicas"), _count(status, "updatedReplicas"))
            if ready < want:
                waiting.append(f"{name}: {ready} of {want} replicas ready")
        else:
            want = _count(status, "desiredNumberScheduled")
            ready = min(_count(status, "numberReady"), _count(status, "updatedNumberScheduled"))
            if want == 0:
                waiting.append(f"{name}: scheduled on no node yet")
            elif ready < want:
                waiting.append(f"{name}: ready on {ready} of {want} nodes")
    return waiting


def _field(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` when it is a mapping, else an empty one."""
    value = obj.get(key)
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def _count(obj: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) else default
