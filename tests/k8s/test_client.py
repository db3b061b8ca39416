"""Tests for meshops.k8s.client: finding a cluster, and routing clients to a transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshops.k8s import Api, Unavailable, connect, use_transport
from meshops.k8s.kinds import NAMESPACE

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: team}
current-context: ctx
"""


def test_no_configuration_is_unavailable_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(Unavailable, match="no Kubernetes cluster configured"):
        connect(field_manager="me")


def test_a_kubeconfig_and_context(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    client = connect(field_manager="me", kubeconfig=path, context="ctx")
    assert client.namespace == "team"
    with pytest.raises(Unavailable, match=r"no context 'nope' in the file \(it has 'ctx'\)"):
        connect(field_manager="me", kubeconfig=path, context="nope")


def test_use_transport_routes_every_new_client(make_fake: Any) -> None:
    fake = make_fake(namespaces=["a"])
    with use_transport(fake.transport):
        assert Api.connect(field_manager="me").get(NAMESPACE, "a") is not None
    assert fake.reads == 1


def test_a_clusters_client_gets_each_requests_timeout_from_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    # no time left: the request fails before anything is sent over the network
    client = connect(field_manager="me", kubeconfig=path, context="ctx", timeout=lambda: 0.0)
    api = Api(client, field_manager="me", retries=0)
    with pytest.raises(Unavailable, match="no time left to send the request"):
        api.get(NAMESPACE, "a")
