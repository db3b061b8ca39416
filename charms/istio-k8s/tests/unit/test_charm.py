"""istio-k8s under ops.testing, with the manifests the real istioctl generates in this run.

Covers install (what istioctl generates, applied through the reconciler, owned and
hashed; a reconcile with nothing new writes nothing), readiness from the Deployment's
and DaemonSets' status, istiod's replicas following the units, every config option
(validated; each reaching the manifests), hardened mode (the same policies as the
platform file's), the Gateway API channels and CRDs others installed, removal (the
CRDs stay unless asked), non-leaders, a charm packed without istioctl, and an
upgrade from another release's manifests. Each runs on the fake and, where it says
nothing about CRDs the charm installs itself, on the real API server.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from meshops.crds import gateway_api_crds
from meshops.k8s import Api, Reconciler, make_client
from meshops.k8s.istioctl import Istioctl
from meshops.k8s.kinds import CONTROL_PLANE_KINDS, CRD
from meshops.model.platform import Istio, Namespace, Platform
from meshops.plan.control_plane import istio_operator, settings_from_config
from meshops.plan.istio import hardened_policies
from meshops.testing.charm import load_charm

MODEL = "istio"
APP = "istio-k8s"
OWNER = f"{APP}.{MODEL}"
VERSION = (Path(__file__).resolve().parents[4] / "gotools" / "istio" / "VERSION").read_text()
VERSION = VERSION.strip()
AP = "security.istio.io/v1"
APIEXT = "apiextensions.k8s.io/v1"


def state(
    leader: bool = True, units: int = 1, config: dict[str, Any] | None = None
) -> testing.State:
    return testing.State(
        leader=leader,
        config=config or {},
        planned_units=units,
        model=testing.Model(name=MODEL),
        relations=[testing.PeerRelation("peers")],
    )


def generated(charm_dir: Path, **config: Any) -> list[dict[str, Any]]:
    """What the charm's istioctl generates for this config (from the session's cache)."""
    settings, problems = settings_from_config(config, MODEL)
    assert settings is not None, problems
    ctl = Istioctl(charm_dir / "bin" / "istioctl", cache_dir=charm_dir / ".istioctl-cache")
    return ctl.manifest_generate(istio_operator(settings, ctl.version()))


def keys(objects: Any) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] != CRD.kind}


def applied(cluster: Any) -> set[tuple[str, str]]:
    """The (kind, name) of every non-CRD object the charm owns in the cluster."""
    found: set[tuple[str, str]] = set()
    for kind in CONTROL_PLANE_KINDS:
        if kind == CRD:
            continue
        namespace = MODEL if kind.namespaced else None
        for obj in cluster.list(kind.api_version, kind.kind, namespace):
            if obj["metadata"].get("labels", {}).get("meshops.io/owner") == OWNER:
                found.add((kind.kind, obj["metadata"]["name"]))
    return found


def mark_ready(cluster: Any, replicas: int = 1) -> None:
    """Play Kubernetes: istiod's pods and the node agents are up."""
    deployment = cluster.get("apps/v1", "Deployment", "istiod", MODEL)
    generation = deployment["metadata"].get("generation", 1)
    deployment["status"] = {
        "observedGeneration": generation,
        "replicas": replicas,
        "readyReplicas": replicas,
        "updatedReplicas": replicas,
        "availableReplicas": replicas,
    }
    cluster.add(deployment)
    for name in ("ztunnel", "istio-cni-node"):
        ds = cluster.get("apps/v1", "DaemonSet", name, MODEL)
        ds["status"] = {
            "observedGeneration": ds["metadata"].get("generation", 1),
            "currentNumberScheduled": 2,
            "desiredNumberScheduled": 2,
            "numberMisscheduled": 0,
            "numberReady": 2,
            "updatedNumberScheduled": 2,
        }
        cluster.add(ds)


def container(obj: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if name is None or c["name"] == name)


# -- install, no-op, readiness -----------------------------------------------------------


def test_install_applies_what_istioctl_generates(ctx: Any, cluster: Any, charm_dir: Path) -> None:
    out = ctx.run(ctx.on.install(), state())
    image = container(cluster.get("apps/v1", "Deployment", "istiod", MODEL))["image"]
    assert image == f"docker.io/istio/pilot:{VERSION}-distroless"  # Istio's release images
    want = keys(generated(charm_dir))
    assert {("Deployment", "istiod"), ("DaemonSet", "ztunnel")} <= want
    assert ("DaemonSet", "istio-cni-node") in want
    assert applied(cluster) == want
    istiod = cluster.get("apps/v1", "Deployment", "istiod", MODEL)
    assert istiod["metadata"]["labels"]["meshops.io/scope"] == "control-plane"
    assert "meshops.io/applied-hash" in istiod["metadata"]["annotations"]
    assert out.unit_status == testing.WaitingStatus("rolling out istiod, ztunnel, istio-cni-node")
    assert out.workload_version == VERSION


def test_a_reconcile_with_nothing_new_writes_nothing(ctx: Any, cluster: Any) -> None:
    ctx.run(ctx.on.install(), state())
    cluster.clear_log()
    ctx.run(ctx.on.update_status(), state())
    assert cluster.writes == 0


def test_active_once_istiod_ztunnel_and_cni_are_ready(ctx: Any, cluster: Any) -> None:
    ctx.run(ctx.on.install(), state())
    assert ctx.run(ctx.on.update_status(), state()).unit_status == testing.WaitingStatus(
        "waiting for istiod: rolling out; ztunnel: rolling out; istio-cni-node: rolling out"
    )
    mark_ready(cluster)
    out = ctx.run(ctx.on.update_status(), state())
    assert out.unit_status == testing.ActiveStatus(f"Istio {VERSION} ambient, 1 istiod replica")


def test_istiod_replicas_follow_the_units(ctx: Any, cluster: Any) -> None:
    ctx.run(ctx.on.install(), state(units=1))
    mark_ready(cluster)
    out = ctx.run(ctx.on.config_changed(), state(units=3))
    assert cluster.get("apps/v1", "Deployment", "istiod", MODEL)["spec"]["replicas"] == 3
    assert out.unit_status == testing.WaitingStatus("rolling out istiod")
    mark_ready(cluster, replicas=3)
    out = ctx.run(ctx.on.update_status(), state(units=3))
    assert out.unit_status == testing.ActiveStatus(f"Istio {VERSION} ambient, 3 istiod replicas")
    # no autoscaler fights the charm over them
    assert ("HorizontalPodAutoscaler", "istiod") not in applied(cluster)


def test_non_leaders_show_the_leaders_outcome(ctx: Any, cluster: Any) -> None:
    out = ctx.run(ctx.on.install(), state())
    peers = out.get_relations("peers")[0]
    follower = testing.State(
        leader=False,
        planned_units=1,
        model=testing.Model(name=MODEL),
        relations=[peers],
    )
    cluster.clear_log()
    status = ctx.run(ctx.on.update_status(), follower).unit_status
    assert status.name == "waiting"
    assert cluster.writes == 0


# -- config --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("platform", "eks", "platform 'eks' must be one of gke, k3d, k3s, microk8s, minikube, "
         "openshift, or empty (EKS and others need none)"),
        ("cni-bin-dir", "opt/cni", "cni-bin-dir 'opt/cni' must be an absolute path on the "
         "nodes (e.g. /opt/cni/bin)"),
        ("cni-conf-dir", "/etc/../cni", "cni-conf-dir '/etc/../cni' must be an absolute path "
         "on the nodes (e.g. /opt/cni/bin)"),
        ("image-registry", "registry local", "image-registry 'registry local' must be an "
         "image registry and path, e.g. registry.local:5000/istio"),
        ("image-tag", "1.30:3", "image-tag '1.30:3' must be an image tag (letters, digits, "
         "'_', '.', '-'; 128 at most)"),
        ("log-level", "loud", "log-level 'loud' must be one of debug, info, warn, error, none"),
        ("gateway-api-channel", "beta", "gateway-api-channel 'beta' must be one of standard, "
         "experimental"),
    ],
)  # fmt: skip
def test_a_bad_value_blocks_and_applies_nothing(
    ctx: Any, fake: Any, option: str, value: str, message: str
) -> None:
    out = ctx.run(ctx.on.config_changed(), state(config={option: value}))
    assert out.unit_status == testing.BlockedStatus(f"{message}: fix it with juju config")
    assert fake.writes == 0


def test_every_option_reaches_the_manifests(ctx: Any, fake: Any) -> None:
    config = {
        "platform": "microk8s",
        "cni-bin-dir": "/var/snap/cni/bin",
        "cni-conf-dir": "/var/snap/cni/conf",
        "image-registry": "registry.local:5000/istio",
        "image-tag": "1.30.3-mirror",
        "log-level": "debug",
        "auto-allow-waypoint-policy": False,
    }
    ctx.run(ctx.on.config_changed(), state(config=config))
    istiod = container(fake.get("apps/v1", "Deployment", "istiod", MODEL), "discovery")
    # (Istio's ambient profile adds -distroless to every tag)
    assert istiod["image"] == "registry.local:5000/istio/pilot:1.30.3-mirror-distroless"
    env = {e["name"]: e.get("value") for e in istiod["env"]}
    assert env["PILOT_AUTO_ALLOW_WAYPOINT_POLICY"] == "false"
    assert "--log_output_level=default:debug" in istiod["args"]
    for name in ("ztunnel", "istio-cni-node"):
        image = container(fake.get("apps/v1", "DaemonSet", name, MODEL))["image"]
        assert image.startswith("registry.local:5000/istio/")
        assert image.endswith(":1.30.3-mirror-distroless")
    cni = fake.get("apps/v1", "DaemonSet", "istio-cni-node", MODEL)
    paths = {
        v["name"]: v.get("hostPath", {}).get("path")
        for v in cni["spec"]["template"]["spec"]["volumes"]
    }
    assert paths["cni-bin-dir"] == "/var/snap/cni/bin"
    assert paths["cni-net-dir"] == "/var/snap/cni/conf"


# -- hardened mode ---------------------------------------------------------------------------


def test_hardened_mode_is_the_platform_files_deny_by_default(ctx: Any, cluster: Any) -> None:
    ctx.run(ctx.on.install(), state())
    mark_ready(cluster)
    out = ctx.run(ctx.on.config_changed(), state(config={"hardened-mode": True}))
    assert out.unit_status == testing.ActiveStatus(
        f"Istio {VERSION} ambient, 1 istiod replica, hardened"
    )
    live = {
        p["metadata"]["name"]: p["spec"] for p in cluster.list(AP, "AuthorizationPolicy", MODEL)
    }
    platform = Platform(APP, (Namespace("shop"),), istio=Istio(namespace=MODEL), hardened=True)
    mesh_wide = [p for p in hardened_policies(platform, platform.namespaces, "waypoint")
                 if p["metadata"]["namespace"] == MODEL]  # fmt: skip
    assert live == {p["metadata"]["name"]: p["spec"] for p in mesh_wide}
    assert set(live) == {f"{APP}-deny-all", f"{APP}-waypoint-deny-all"}
    ctx.run(ctx.on.config_changed(), state(config={"hardened-mode": False}))
    assert cluster.list(AP, "AuthorizationPolicy", MODEL) == []


# -- CRDs ------------------------------------------------------------------------------------


def crd_names(fake: Any, owned: bool = True) -> set[str]:
    return {
        c["metadata"]["name"]
        for c in fake.list(APIEXT, CRD.kind)
        if not owned or c["metadata"].get("labels", {}).get("meshops.io/owner") == OWNER
    }


def test_crds_istios_and_the_gateway_apis_standard_channel(
    ctx: Any, fake: Any, charm_dir: Path
) -> None:
    ctx.run(ctx.on.install(), state())
    istio = {o["metadata"]["name"] for o in generated(charm_dir) if o["kind"] == CRD.kind}
    gateway = {c["metadata"]["name"] for c in gateway_api_crds("standard")}
    assert "authorizationpolicies.security.istio.io" in istio
    assert crd_names(fake) == istio | gateway
    assert "tcproutes.gateway.networking.k8s.io" not in crd_names(fake)


def test_the_experimental_channel_adds_tcproute_and_tlsroute(ctx: Any, fake: Any) -> None:
    ctx.run(ctx.on.install(), state())
    fake.clear_log()
    ctx.run(ctx.on.config_changed(), state(config={"gateway-api-channel": "experimental"}))
    tls = fake.get(APIEXT, CRD.kind, "tlsroutes.gateway.networking.k8s.io")
    assert tls["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "experimental"
    assert "tcproutes.gateway.networking.k8s.io" in crd_names(fake)
    assert fake.writes == 2  # TLSRoute's CRD updated in place, TCPRoute's created
    # back to standard: TLSRoute's CRD goes back too; TCPRoute's is kept (deleting it
    # would delete every TCPRoute in the cluster)
    ctx.run(ctx.on.config_changed(), state(config={"gateway-api-channel": "standard"}))
    assert "tcproutes.gateway.networking.k8s.io" in crd_names(fake)


def test_a_newer_gateway_api_installed_by_others_is_not_downgraded(ctx: Any, fake: Any) -> None:
    newer = copy.deepcopy(gateway_api_crds("standard")[2])
    assert newer["metadata"]["name"] == "gateways.gateway.networking.k8s.io"
    newer["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] = "v1.6.0"
    fake.add(newer)
    fake.clear_log()
    out = ctx.run(ctx.on.install(), state())
    assert out.unit_status == testing.BlockedStatus(
        "CRD gateways.gateway.networking.k8s.io is at v1.6.0 (installed by someone else), "
        "newer than v1.5.1 here: not downgraded; use an istio-k8s release that carries "
        "v1.6.0 or newer"
    )
    assert fake.writes == 0


def test_crds_others_installed_at_this_release_are_used_as_they_are(
    ctx: Any, fake: Any, charm_dir: Path
) -> None:
    theirs = [*gateway_api_crds("standard")]
    theirs += [o for o in generated(charm_dir) if o["kind"] == CRD.kind]
    for crd in theirs:
        fake.add(crd)
    ctx.run(ctx.on.install(), state())
    assert crd_names(fake) == set()  # none taken over
    assert ("Deployment", "istiod") in applied(fake)


# -- removal ---------------------------------------------------------------------------------


def test_removal_deletes_all_but_the_crds(ctx: Any, cluster: Any) -> None:
    ctx.run(ctx.on.install(), state(config={"hardened-mode": True}))
    crds_before = crd_names(cluster, owned=False)
    ctx.run(ctx.on.remove(), state(units=0, config={"hardened-mode": True}))
    assert applied(cluster) == set()
    assert cluster.list(AP, "AuthorizationPolicy", MODEL) == []
    assert crd_names(cluster, owned=False) == crds_before


def test_removal_deletes_the_crds_when_asked(ctx: Any, fake: Any) -> None:
    ctx.run(ctx.on.install(), state())
    assert crd_names(fake)
    ctx.run(ctx.on.remove(), state(units=0, config={"delete-crds-on-remove": True}))
    assert crd_names(fake, owned=False) == set()
    assert applied(fake) == set()


def test_a_unit_going_removes_nothing(ctx: Any, fake: Any) -> None:
    ctx.run(ctx.on.install(), state())
    fake.clear_log()
    ctx.run(ctx.on.remove(), state(units=2))
    assert fake.writes == 0


# -- istioctl --------------------------------------------------------------------------------


def test_a_charm_packed_without_istioctl_says_so(fake: Any, tmp_path: Path) -> None:
    charm = load_charm(Path(__file__).resolve().parents[2], "istio_k8s_charm").IstioK8sCharm
    ctx = testing.Context(charm, app_name=APP, charm_root=tmp_path)
    out = ctx.run(ctx.on.install(), state())
    assert out.unit_status == testing.BlockedStatus(
        "no istioctl in the charm (bin/istioctl): repack it with charms/pack.sh istio-k8s"
    )
    assert fake.writes == 0


# -- upgrade ---------------------------------------------------------------------------------


def older_release(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The generated manifests as an older release differs from them.

    Other image tags, a CRD with another schema, and an object the newer release no
    longer generates.
    """
    old = copy.deepcopy(objects)
    for obj in old:
        if obj["kind"] in ("Deployment", "DaemonSet"):
            for c in obj["spec"]["template"]["spec"]["containers"]:
                c["image"] = c["image"].rsplit(":", 1)[0] + ":1.29.0"
        if obj["kind"] == CRD.kind and obj["metadata"]["name"].startswith("wasmplugins."):
            schema = obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            schema["description"] = "WasmPlugin, as Istio 1.29 described it"
    dropped = copy.deepcopy(next(o for o in old if o["kind"] == "ConfigMap"))
    dropped["metadata"]["name"] = "istio-dropped-in-1-30"
    old.append(dropped)
    return old


def test_a_refresh_upgrades_in_place_and_deletes_what_the_new_release_dropped(
    ctx: Any, fake: Any, charm_dir: Path
) -> None:
    from meshops.plan.control_plane import plan_control_plane

    settings, _ = settings_from_config({}, MODEL)
    assert settings is not None
    plan = plan_control_plane(
        older_release(generated(charm_dir)),
        settings,
        replicas=1,
        gateway_api_crds=gateway_api_crds("standard"),
        prefix=APP,
    )
    api = Api(make_client(fake.transport, field_manager=OWNER), field_manager=OWNER)
    rest = [k for k in CONTROL_PLANE_KINDS if k != CRD]
    Reconciler(api, owner=OWNER, scope="crds", kinds=[CRD], namespaces=None).reconcile(plan.crds)
    Reconciler(api, owner=OWNER, scope="control-plane", kinds=rest, namespaces=[MODEL]).reconcile(
        plan.objects
    )
    wasm = fake.get(APIEXT, CRD.kind, "wasmplugins.extensions.istio.io")
    assert ("ConfigMap", "istio-dropped-in-1-30") in applied(fake)

    ctx.run(ctx.on.upgrade_charm(), state())
    upgraded = fake.get(APIEXT, CRD.kind, "wasmplugins.extensions.istio.io")
    assert upgraded["metadata"]["uid"] == wasm["metadata"]["uid"]  # in place
    new = next(
        o for o in generated(charm_dir) if o["metadata"]["name"] == wasm["metadata"]["name"]
    )
    assert wasm["spec"] != new["spec"]
    assert upgraded["spec"]["versions"] == new["spec"]["versions"]
    assert ("ConfigMap", "istio-dropped-in-1-30") not in applied(fake)
    image = container(fake.get("apps/v1", "Deployment", "istiod", MODEL))["image"]
    assert image == f"docker.io/istio/pilot:{VERSION}-distroless"
