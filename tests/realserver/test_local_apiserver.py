"""The local API server (real etcd and kube-apiserver), and refusals by RBAC as users see them.

Covers the server itself (RBAC on: an unbound user is refused, a granted one is not; the
upstream CRDs installed; the audit log counts the tests' requests and not the
harness's own), then how a refusal by RBAC surfaces: in each charm's status (never a
failed hook) and as one line from ``meshops apply`` (never a traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from ops import testing

from meshops.cli import main
from meshops.testing.apiserver import LocalApiServer
from meshops.testing.charm import load_charm

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "shop.yaml"


def test_rbac_refuses_a_user_until_a_role_allows_it(fresh_server: LocalApiServer) -> None:
    fresh_server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}})
    user = fresh_server.user("reader")
    with fresh_server.http(user) as http:
        assert http.get("/api/v1/namespaces/t/configmaps").status_code == 403
    fresh_server.grant(
        "reader", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}], "t"
    )
    with fresh_server.http(user) as http:
        assert http.get("/api/v1/namespaces/t/configmaps").status_code == 200
        assert http.get("/api/v1/namespaces/default/configmaps").status_code == 403


def test_the_upstream_crds_are_installed(real_server: LocalApiServer) -> None:
    assert real_server.served("gateway.networking.k8s.io/v1", "Gateway")
    assert real_server.served("gateway.networking.k8s.io/v1alpha2", "TCPRoute")
    assert real_server.served("security.istio.io/v1", "AuthorizationPolicy")


def test_the_audit_log_counts_the_tests_requests_only(fresh_server: LocalApiServer) -> None:
    fresh_server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}})
    fresh_server.clear_log()
    with httpx2.Client(
        transport=fresh_server.transport, base_url="http://kubernetes.fake"
    ) as http:
        assert http.get("/api/v1/namespaces/t").status_code == 200
        created = http.post(
            "/api/v1/namespaces/t/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        )
        assert created.status_code == 201
    assert fresh_server.get("v1", "ConfigMap", "c", "t") is not None  # not counted
    assert [(r.method, r.path, r.status) for r in fresh_server.requests] == [
        ("GET", "/api/v1/namespaces/t", 200),
        ("POST", "/api/v1/namespaces/t/configmaps", 201),
    ]
    assert (fresh_server.reads, fresh_server.writes) == (1, 1)


# -- RBAC refusals, as the charms and the command show them -----------------------------

READ_ONLY = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]


@pytest.mark.parametrize(
    ("charm", "module", "cls", "app"),
    [
        ("istio-beacon-k8s", "istio_beacon_k8s_charm", "IstioBeaconCharm", "istio-beacon-k8s"),
        ("istio-ingress-k8s", "istio_ingress_k8s_charm", "IstioIngressCharm", "istio-ingress-k8s"),
    ],
)
def test_a_charm_without_write_access_says_so_in_its_status(
    fresh_server: LocalApiServer, charm: str, module: str, cls: str, app: str
) -> None:
    fresh_server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "m"}})
    fresh_server.grant("untrusted", READ_ONLY)
    kubeconfig = fresh_server.kubeconfig_for("untrusted")
    charm_class: Any = getattr(load_charm(REPO / "charms" / charm, module), cls)
    ctx = testing.Context(charm_class, app_name=app)
    state = testing.State(leader=True, model=testing.Model(name="m"))
    with fresh_server.installed(kubeconfig):
        out = ctx.run(ctx.on.config_changed(), state)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith("Kubernetes API refused access: deploy with --trust")
    assert fresh_server.writes == sum(1 for r in fresh_server.requests if r.status == 403)


def test_meshops_apply_without_write_access_is_one_line(
    fresh_server: LocalApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_server.grant("untrusted", READ_ONLY)
    kubeconfig = fresh_server.kubeconfig_for("untrusted")
    status = main(["apply", "--kubeconfig", str(kubeconfig), str(EXAMPLE)])
    captured = capsys.readouterr()
    assert status in (1, 2)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "forbidden" in lines[0]
    assert "Traceback" not in captured.out + captured.err
    assert fresh_server.list("v1", "Namespace", labels="meshops.io/owner") == []
