"""``istioctl analyze`` on what istio-k8s applies: the control plane and hardened mode's policies.

The charm applies them to the real API server; istioctl (the same pin the charm
carries) then analyzes them as applied there, so every analyzer runs (the webhooks',
the AuthorizationPolicies'...), with the model's namespace as Istio's namespace and
root namespace. Offline, most analyzers would skip (see meshops.testing.analyze).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ops import testing

from meshops.k8s.kinds import AUTHORIZATION_POLICY, CONTROL_PLANE_KINDS
from meshops.testing.analyze import CLUSTER_ONLY_KINDS, analyze

MODEL = "istio"
OWNER = f"istio-k8s.{MODEL}"


def owned(fake: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for kind in (*CONTROL_PLANE_KINDS, AUTHORIZATION_POLICY):
        for obj in fake.list(kind.api_version, kind.kind, MODEL if kind.namespaced else None):
            if obj["metadata"].get("labels", {}).get("meshops.io/owner") == OWNER:
                found.append(obj)
    return found


def test_istioctl_analyze_finds_nothing_wrong(ctx: Any, fresh_server: Any, istioctl: Path) -> None:
    server = fresh_server
    server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MODEL}})
    state = testing.State(
        leader=True,
        config={"hardened-mode": True},
        model=testing.Model(name=MODEL),
        relations=[testing.PeerRelation("peers")],
    )
    with server.installed():
        ctx.run(ctx.on.install(), state)
    objects = [o for o in owned(server) if o["kind"] not in CLUSTER_ONLY_KINDS]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "DaemonSet", "AuthorizationPolicy"} <= kinds
    result = analyze(
        istioctl,
        objects,
        kubeconfig=server.kubeconfig,
        mesh_config={"rootNamespace": MODEL},
        istio_namespace=MODEL,
    )
    assert "webhook.Analyzer" not in result.skipped
    assert "auth.AuthorizationPoliciesAnalyzer" not in result.skipped
    assert [str(m) for m in result.messages if m.level in ("Error", "Warning")] == []
