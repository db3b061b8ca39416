"""``meshops plan``, ``apply`` and ``render`` with an ``istio`` section: the control plane too.

istioctl (the pinned one gotools/build made, given with --istioctl, or found on PATH)
generates the control plane from the file's IstioOperator; plan shows its changes,
apply makes them through the reconciler (a second apply writes nothing), --prune
deletes what istioctl no longer generates, the Gateway API CRDs are installed where
the cluster lacks them, and render prints (or writes) the generated manifests. Without
istioctl, plan and apply say so in one line (exit 2) and render prints the
IstioOperator alone, saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshops.cli import main
from meshops.testing.pytest_plugin import SERVERS, contract_server

APIEXT = "apiextensions.k8s.io/v1"
OWNER = "meshops.p"


def platform(tmp_path: Path, profile: str = "ambient", mesh: str = "ambient") -> Path:
    path = tmp_path / f"p-{profile}.yaml"
    path.write_text(
        "apiVersion: meshops.io/v1alpha1\n"
        "kind: Platform\n"
        "metadata: {name: p}\n"
        "spec:\n"
        f"  istio: {{profile: {profile}, namespace: mesh-system}}\n"
        f"  namespaces: [{{name: shop, mesh: {mesh}}}]\n"
        "  apps:\n"
        "    - {name: web, namespace: shop, ports: [{port: 8080, protocol: http}]}\n"
    )
    return path


@pytest.fixture(scope="session")
def manifest_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the command caches what istioctl generates: one folder for the session."""
    return tmp_path_factory.mktemp("manifests")


@pytest.fixture(autouse=True)
def _cache_in_the_session(manifest_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHOPS_MANIFEST_CACHE", str(manifest_cache))


@pytest.fixture(params=SERVERS)
def cluster(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty cluster: no CRDs on the fake; the upstream ones (others') on the real one."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return contract_server(request)


def run(cluster: Any, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with cluster.installed():
        status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def owned(cluster: Any, api_version: str, kind: str, namespace: str | None = None) -> set[str]:
    return {
        o["metadata"]["name"]
        for o in cluster.list(api_version, kind, namespace)
        if o["metadata"].get("labels", {}).get("meshops.io/owner") == OWNER
    }


def test_apply_installs_the_control_plane_then_the_mesh(
    cluster: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, istioctl: Path
) -> None:
    path = platform(tmp_path)
    status, out, err = run(cluster, capsys, "apply", str(path), "--istioctl", str(istioctl))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    first_mesh = lines.index("created       Namespace shop")
    assert lines.index("created       Deployment mesh-system/istiod") < first_mesh
    assert owned(cluster, "apps/v1", "DaemonSet", "mesh-system") == {"ztunnel", "istio-cni-node"}
    assert "mesh-system" in owned(cluster, "v1", "Namespace")
    crds = {c["metadata"]["name"] for c in cluster.list(APIEXT, "CustomResourceDefinition")}
    assert {
        "gateways.gateway.networking.k8s.io",
        "authorizationpolicies.security.istio.io",
    } <= crds
    cluster.clear_log()
    status, out, err = run(cluster, capsys, "apply", str(path), "--istioctl", str(istioctl))
    assert (status, err, cluster.writes) == (0, "", 0)
    # nothing created, so nothing waited for: no list of the CRDs' own kinds
    assert not [r for r in cluster.requests if "/wasmplugins" in str(r.path)]
    assert out.splitlines()[-1].startswith("Applied: 0 created, 0 updated, 0 deleted")


def test_plan_shows_the_control_plane_and_changes_nothing(
    make_fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, istioctl: Path
) -> None:
    fake = make_fake()
    status, out, err = run(
        fake, capsys, "plan", str(platform(tmp_path)), "--istioctl", str(istioctl)
    )
    assert (status, err) == (0, "")
    assert "would create  CustomResourceDefinition gateways.gateway.networking.k8s.io" in out
    assert "would create  Deployment mesh-system/istiod" in out
    assert "would create  Gateway shop/waypoint" in out
    assert out.splitlines()[-1].endswith("Nothing was changed.")
    assert fake.list(APIEXT, "CustomResourceDefinition") == []
    assert all(r.query.get("dryRun") == "All" for r in fake.requests if r.is_write)


def test_prune_deletes_what_istioctl_no_longer_generates(
    make_fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, istioctl: Path
) -> None:
    fake = make_fake()
    ambient, minimal = platform(tmp_path, "ambient", "off"), platform(tmp_path, "minimal", "off")
    assert run(fake, capsys, "apply", str(ambient), "--istioctl", str(istioctl))[0] == 0
    status, out, _ = run(fake, capsys, "apply", str(minimal), "--istioctl", str(istioctl))
    assert status == 0
    assert "kept          DaemonSet mesh-system/ztunnel" in out
    assert run(fake, capsys, "apply", str(minimal), "--istioctl", str(istioctl), "--prune")[0] == 0
    assert owned(fake, "apps/v1", "DaemonSet", "mesh-system") == set()
    assert owned(fake, "apps/v1", "Deployment", "mesh-system") == {"istiod"}
    assert "mesh-system" in owned(fake, "v1", "Namespace")  # never deleted


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_without_istioctl_one_line_and_exit_2(
    make_fake: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    fake = make_fake()
    monkeypatch.setenv("PATH", str(tmp_path))
    status, out, err = run(fake, capsys, command, str(platform(tmp_path)))
    assert (status, out) == (2, "")
    assert err == (
        f"meshops {command}: no istioctl on PATH: the file's istio section needs istioctl to "
        "generate the control plane (install it, or give --istioctl PATH)\n"
    )
    given = tmp_path / "nowhere" / "istioctl"
    status, _, err = run(fake, capsys, command, str(platform(tmp_path)), "--istioctl", str(given))
    assert status == 2
    assert err.startswith(f"meshops {command}: istioctl {str(given)!r} is not an executable file")
    assert fake.writes == 0


def test_render_prints_the_generated_control_plane(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, istioctl: Path
) -> None:
    assert main(["render", str(platform(tmp_path)), "--istioctl", str(istioctl)]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    kinds = [d["kind"] for d in docs]
    assert kinds[0] == "IstioOperator"
    assert kinds[1] == "CustomResourceDefinition"
    assert kinds.index("Deployment") < kinds.index("Namespace")
    assert (
        main(
            [
                "render",
                str(platform(tmp_path)),
                "--istioctl",
                str(istioctl),
                "-o",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    written = capsys.readouterr().out.splitlines()
    assert str(tmp_path / "out" / "control-plane" / "01-customresourcedefinition.yaml") in written
    assert str(tmp_path / "out" / "objects" / "01-namespace.yaml") in written


def test_render_without_istioctl_prints_the_istio_operator_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["render", str(platform(tmp_path))]) == 0
    captured = capsys.readouterr()
    assert [d["kind"] for d in yaml.safe_load_all(captured.out)][:2] == [
        "IstioOperator",
        "Namespace",
    ]
    assert captured.err == (
        "meshops render: no istioctl on PATH: the control plane is not rendered, only the "
        "IstioOperator istioctl reads (give --istioctl PATH)\n"
    )
