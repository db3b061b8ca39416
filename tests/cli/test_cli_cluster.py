"""Tests for ``meshops plan`` and ``meshops apply``, against the fake and the real API server.

Plan sends server-side dry runs and stores nothing; apply writes only what changed and
prints each change and a summary; --prune deletes what the file no longer asks for but
never a Namespace; a Namespace that is not the platform's only gets its labels; an
object of the platform's name that is not its own is refused; no cluster, or one
without Istio, is one line and exit 2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from meshops.cli import main
from meshops.k8s.api import Api
from meshops.k8s.kinds import kind_of
from meshops.testing import FakeKubernetes
from meshops.testing.pytest_plugin import SERVERS, contract_server

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
CRDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)
AP = ("security.istio.io/v1", "AuthorizationPolicy")


#: The namespaces a new API server has.
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


@pytest.fixture(params=SERVERS)
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake, or the real API server (talked to through a kubeconfig)."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return contract_server(request, *CRDS)


def run(fake: FakeKubernetes, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with fake.installed():
        status = main(list(argv))
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    return status, captured.out


def names(fake: FakeKubernetes, api_version: str, kind: str) -> list[str]:
    """The objects of a kind, as namespace/name (the server's own namespaces left out)."""
    return sorted(
        f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}".lstrip("/")
        for o in fake.list(api_version, kind)
        if kind != "Namespace" or o["metadata"]["name"] not in SYSTEM_NAMESPACES
    )


def test_plan_changes_nothing(fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(fake, capsys, "plan", str(EXAMPLE))
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "would create  Namespace ingress"
    assert "would create  AuthorizationPolicy shop/shop-cart-svc" in lines
    assert lines[-1] == "Plan: 17 to create, 0 to update, 0 to delete. Nothing was changed."
    assert names(fake, "v1", "Namespace") == []
    assert all(r.query.get("dryRun") == "All" for r in fake.requests if r.is_write)


def test_apply_then_plan_then_apply_again(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 0
    assert out.splitlines()[0] == "created       Namespace ingress"
    assert out.splitlines()[-1] == "Applied: 17 created, 0 updated, 0 deleted."
    assert names(fake, "v1", "Namespace") == ["ingress", "monitoring", "shop"]
    assert len(fake.list(*AP)) == 7
    fake.clear_log()
    assert run(fake, capsys, "plan", str(EXAMPLE)) == (
        0,
        "Plan: 0 to create, 0 to update, 0 to delete, 17 unchanged. Nothing was changed.\n",
    )
    fake.clear_log()
    assert run(fake, capsys, "apply", str(EXAMPLE))[0] == 0
    assert fake.writes == 0
    # one list of the namespaces (to adopt those not ours), one list per kind
    assert fake.reads == 1 + 9


def test_apply_adopts_an_existing_namespace_by_its_labels_only(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"team": "a"}},
        }
    )
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 0
    assert (
        "updated       Namespace shop (its labels only: the namespace is not the platform's)"
        in out.splitlines()
    )
    shop = fake.get("v1", "Namespace", "shop")
    assert shop is not None
    labels = shop["metadata"]["labels"]
    assert labels["team"] == "a"
    assert labels["istio.io/dataplane-mode"] == "ambient"
    assert "meshops.io/owner" not in labels
    # a second apply finds the labels in place, and pruning never deletes a namespace
    assert run(fake, capsys, "apply", str(EXAMPLE), "--prune")[1].endswith(
        "Applied: 0 created, 0 updated, 0 deleted, 17 unchanged.\n"
    )
    assert fake.get("v1", "Namespace", "shop") is not None


def beacons_namespace(fake: FakeKubernetes) -> None:
    """Namespace shop, put on the mesh by the istio-beacon-k8s charm of model shop."""
    labels = {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "beacon-waypoint"}
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": labels},
    }
    with httpx2.Client(transport=fake.transport, base_url="http://kubernetes.fake") as http:
        answer = http.patch(
            "/api/v1/namespaces/shop",
            params={"fieldManager": "istio-beacon-k8s.shop"},
            content=json.dumps(namespace),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
    assert answer.status_code in (200, 201), answer.text


def test_a_namespace_label_another_manager_set_is_never_overwritten(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    beacons_namespace(fake)
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 1
    assert (
        "refused       Namespace shop (its labels only: the namespace is not the platform's): "
        "label istio.io/use-waypoint=beacon-waypoint is set by istio-beacon-k8s.shop; "
        "the platform would set 'waypoint'"
    ) in out.splitlines()
    assert out.splitlines()[-1].endswith("1 refused.")
    shop = fake.get("v1", "Namespace", "shop")
    assert shop is not None
    assert shop["metadata"]["labels"]["istio.io/use-waypoint"] == "beacon-waypoint"
    assert {m["manager"] for m in shop["metadata"]["managedFields"]} == {"istio-beacon-k8s.shop"}


def test_a_plan_reports_the_label_conflict_too(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    beacons_namespace(fake)
    status, out = run(fake, capsys, "plan", str(EXAMPLE), "--output", "json")
    assert status == 1
    [shop] = [c for c in json.loads(out)["changes"] if c["name"] == "shop"]
    assert shop["action"] == "refused"
    assert "istio-beacon-k8s.shop" in shop["error"]


@pytest.mark.fake_only("injects API faults or delays, as only the fake can")
def test_a_label_set_meanwhile_by_another_manager_is_refused_by_the_server(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    fake.before_next("PATCH", "/namespaces/shop", lambda: beacons_namespace(fake))
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 1
    assert next(line for line in out.splitlines() if "Namespace shop" in line).startswith(
        "refused "
    )
    shop = fake.get("v1", "Namespace", "shop")
    assert shop is not None
    assert shop["metadata"]["labels"]["istio.io/use-waypoint"] == "beacon-waypoint"


def test_prune(fake: FakeKubernetes, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(fake, capsys, "apply", str(EXAMPLE))[0] == 0
    smaller = tmp_path / "shop.yaml"
    text = EXAMPLE.read_text()
    # no more cart-db, and no more monitoring namespace (nor its apps and route)
    text = text.replace(
        text[text.index("    - name: cart-db") : text.index("    - name: prometheus")], ""
    )
    text = text.replace(text[text.index("    - name: prometheus") : text.index("  ingress:")], "")
    text = text.replace(text[text.index("      - app: monitoring/grafana") :], "")
    text = text.replace("    - name: monitoring\n      mesh: ambient\n", "")
    text = text.replace(
        "        - from: [monitoring/prometheus]    # namespace/app for another namespace\n"
        "          methods: [GET]\n          paths: [/metrics]\n",
        "",
    )
    text = text.replace(
        "        - from: [monitoring/prometheus]\n"
        "          methods: [GET]\n"
        "          paths: [/metrics]\n",
        "",
    )
    smaller.write_text(text)
    status, out = run(fake, capsys, "apply", str(smaller))
    assert status == 0
    assert (
        "kept          AuthorizationPolicy shop/shop-cart-db-pods "
        "(no longer in the file; --prune deletes it)" in out
    )
    assert "shop/shop-cart-db-pods" in names(fake, *AP)
    status, out = run(fake, capsys, "apply", str(smaller), "--prune")
    assert status == 0
    assert "deleted       AuthorizationPolicy shop/shop-cart-db-pods" in out
    assert "kept          Namespace monitoring (namespaces are never deleted)" in out
    assert "shop/shop-cart-db-pods" not in names(fake, *AP)
    assert "monitoring/waypoint" not in names(fake, "gateway.networking.k8s.io/v1", "Gateway")
    assert "monitoring" in names(fake, "v1", "Namespace")


def test_an_object_that_is_not_ours_is_refused(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    theirs = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "shop-cart-svc", "namespace": "shop"},
        "spec": {"action": "DENY"},
    }
    fake.add(theirs)
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 1
    assert (
        "refused       AuthorizationPolicy shop/shop-cart-svc: "
        "an object of that name exists and is not ours" in out.splitlines()
    )
    assert out.splitlines()[-1] == "Applied: 15 created, 1 updated, 0 deleted, 1 refused."
    stored = fake.get("security.istio.io/v1", "AuthorizationPolicy", "shop-cart-svc", "shop")
    assert stored is not None and stored["spec"] == {"action": "DENY"}


GRPC = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: p}
spec:
  namespaces: [{name: shop}, {name: ingress, mesh: off}]
  apps: [{name: cart, namespace: shop, ports: [{port: 9000, protocol: grpc}]}]
  ingress:
    hostname: api.example.com
    routes: [{app: cart, protocol: grpc}]
"""


def test_a_missing_optional_crd_fails_its_objects_only(
    make_fake: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    fake: FakeKubernetes = make_fake(*(c for c in CRDS if not c.startswith("grpcroutes")))
    path = tmp_path / "p.yaml"
    path.write_text(GRPC)
    status, out = run(fake, capsys, "apply", str(path))
    assert status == 1
    failed = [line for line in out.splitlines() if line.startswith("failed")]
    assert len(failed) == 1
    assert failed[0].startswith("failed        GRPCRoute shop/p-cart-http-80-grpc: ")
    assert "CRD grpcroutes.gateway.networking.k8s.io is not installed" in failed[0]
    assert names(fake, "gateway.networking.k8s.io/v1", "Gateway") == ["ingress/p", "shop/waypoint"]


def test_without_istio_one_line_and_exit_2(
    make_fake: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    fake: FakeKubernetes = make_fake(*(c for c in CRDS if "istio" not in c))
    with fake.installed():
        assert main(["apply", str(EXAMPLE)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "meshops apply: Istio is not installed: install it first "
        "(meshops render FILE -o DIR; istioctl install -f DIR/istio-operator.yaml)\n"
    )


def test_as_json(fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]) -> None:
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    status, out = run(fake, capsys, "plan", str(EXAMPLE), "--output", "json")
    assert status == 0
    report = json.loads(out)
    assert report["dryRun"] is True
    assert report["changes"][0] == {
        "action": "update",
        "kind": "Namespace",
        "namespace": "",
        "name": "shop",
        "labelsOnly": True,
    }
    assert report["summary"]["create"] == 16


def test_no_cluster_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["plan", str(EXAMPLE)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("meshops plan: no Kubernetes cluster configured: ")
    assert captured.err.count("\n") == 1


def test_an_unreachable_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "here",
            }
        )
    )
    started = time.monotonic()
    assert main(["apply", str(EXAMPLE), "--kubeconfig", str(kubeconfig), "--context", "here"]) == 2
    assert time.monotonic() - started < 10
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("meshops apply: Kubernetes API unreachable: ")
    assert captured.err.count("\n") == 1


def test_an_unknown_context(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        '{"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}'
    )
    assert main(["plan", str(EXAMPLE), "--kubeconfig", str(kubeconfig), "--context", "prod"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"meshops plan: kubeconfig {kubeconfig}: no context 'prod' in the file "
        "(it has no contexts)\n"
    )


CLUSTER = {"name": "c1", "cluster": {"server": "https://127.0.0.1:9"}}
USER = {"name": "u1", "user": {"token": "t"}}
CONTEXT = {"name": "ctx", "context": {"cluster": "c1", "user": "u1"}}


def kubeconfig_of(**changes: object) -> dict[str, object]:
    config: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [CLUSTER],
        "users": [USER],
        "contexts": [CONTEXT],
        "current-context": "ctx",
    }
    config.update(changes)
    return config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clusters: [\n  - {name: a\n", ":2:3: not valid YAML: expected the node content"),
        (
            "- a\n- b\n",
            ": not a kubeconfig (a YAML mapping of clusters, users and contexts); it holds a list",
        ),
        (
            "",
            ": not a kubeconfig (a YAML mapping of clusters, users and contexts); "
            "it holds nothing",
        ),
        (
            json.dumps(
                kubeconfig_of(
                    contexts=[{"name": "ctx", "context": {"cluster": "nope", "user": "u1"}}]
                )
            ),
            ": context 'ctx' names cluster 'nope', which is not in the file (it has 'c1')",
        ),
        (
            json.dumps(
                kubeconfig_of(
                    contexts=[{"name": "ctx", "context": {"cluster": "c1", "user": "who"}}]
                )
            ),
            ": context 'ctx' names user 'who', which is not in the file (it has 'u1')",
        ),
        (
            json.dumps(
                kubeconfig_of(
                    users=[
                        {
                            "name": "u1",
                            "user": {
                                "exec": {
                                    "command": "no-such-login-plugin",
                                    "apiVersion": "client.authentication.k8s.io/v1",
                                    "installHint": "install it\nfrom its site",
                                }
                            },
                        }
                    ]
                )
            ),
            ": user 'u1' logs in with the exec plugin 'no-such-login-plugin', which is not "
            "installed (not found on PATH): install it from its site",
        ),
        (
            json.dumps(kubeconfig_of(**{"current-context": ""})),
            ": no current-context, and no context was given",
        ),
    ],
)
def test_a_bad_kubeconfig_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(text)
    for command in ("plan", "apply"):
        assert main([command, str(EXAMPLE), "--kubeconfig", str(kubeconfig)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(f"meshops {command}: kubeconfig {kubeconfig}{expected}")
        assert captured.err.count("\n") == 1


def test_an_invalid_file_never_reaches_the_cluster(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: meshops.io/v1alpha1\nkind: Platform\n")
    with fake.installed():
        assert main(["apply", str(bad)]) == 2
    assert "'metadata' is required" in capsys.readouterr().err
    assert fake.requests == []


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"meshops {command} examples/shop.yaml" in out
    assert "--kubeconfig PATH" in out and "--context NAME" in out and "--prune" in out


def test_objects_applied_from_render_are_the_platforms(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Kubectl apply --server-side -f out/objects/, then meshops apply: nothing refused."""
    assert main(["render", str(EXAMPLE), "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    rendered = [
        doc
        for path in sorted((tmp_path / "out" / "objects").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    with fake.installed():
        kubectl = Api.connect(field_manager="kubectl")
        for obj in rendered:  # what kubectl apply --server-side sends: each as written
            kubectl.apply(obj, kind_of(obj), field_manager="kubectl")
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 0
    assert out.splitlines()[-1] == "Applied: 0 created, 0 updated, 0 deleted, 17 unchanged."


def test_a_hand_made_object_is_adopted_only_with_adopt(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    fake.add(
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "shop-cart-svc", "namespace": "shop"},
            "spec": {"action": "DENY"},
        }
    )
    status, out = run(fake, capsys, "plan", str(EXAMPLE), "--adopt")
    assert status == 0
    assert "would adopt   AuthorizationPolicy shop/shop-cart-svc" in out.splitlines()
    status, out = run(fake, capsys, "apply", str(EXAMPLE), "--adopt")
    assert status == 0
    assert "adopted       AuthorizationPolicy shop/shop-cart-svc" in out.splitlines()
    stored = fake.get("security.istio.io/v1", "AuthorizationPolicy", "shop-cart-svc", "shop")
    assert stored is not None
    assert stored["metadata"]["labels"]["meshops.io/owner"] == "meshops.shop"
    assert stored["spec"]["action"] == "ALLOW"
    status, out = run(fake, capsys, "apply", str(EXAMPLE))
    assert status == 0
    assert out.splitlines()[-1].endswith("17 unchanged.")


TCP = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: p}
spec:
  namespaces: [{name: shop}, {name: ingress, mesh: off}]
  apps: [{name: db, namespace: shop, ports: [{port: 5432, protocol: tcp}]}]
  ingress:
    routes: [{app: db, protocol: tcp, port: 5432}]
"""


@pytest.mark.fake_only("the real server has every upstream CRD installed, TCPRoute's too")
def test_a_missing_tcproute_crd_names_the_gateway_api(
    fake: FakeKubernetes, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "tcproutes.gateway.networking.k8s.io" not in CRDS
    platform = tmp_path / "tcp.yaml"
    platform.write_text(TCP)
    status, out = run(fake, capsys, "apply", str(platform))
    assert status == 1
    failed = [line for line in out.splitlines() if line.startswith("failed")]
    assert len(failed) == 1
    assert failed[0].startswith("failed        TCPRoute shop/")
    assert "it is the Kubernetes Gateway API's, in its experimental channel" in failed[0]
    assert "Istio" not in failed[0]
