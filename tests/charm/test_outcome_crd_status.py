"""The status a charm shows for a missing CRD names whose CRD it is and what to deploy."""

from __future__ import annotations

import pytest

from meshops.charm.outcome import Outcome, crd_missing_status
from meshops.k8s.errors import CrdMissing


@pytest.mark.parametrize(
    ("crd", "status"),
    [
        (
            "gateways.gateway.networking.k8s.io",
            "gateways.gateway.networking.k8s.io missing (a Gateway API CRD): deploy istio-k8s",
        ),
        (
            "httproutes.gateway.networking.k8s.io",
            "httproutes.gateway.networking.k8s.io missing (a Gateway API CRD): deploy istio-k8s",
        ),
        (
            "tcproutes.gateway.networking.k8s.io",
            "tcproutes.gateway.networking.k8s.io missing (an experimental Gateway API CRD): "
            "deploy istio-k8s with gateway-api-channel=experimental",
        ),
        (
            "authorizationpolicies.security.istio.io",
            "authorizationpolicies.security.istio.io missing (an Istio CRD): deploy istio-k8s "
            "(Istio ambient)",
        ),
        (
            "widgets.example.com",
            "widgets.example.com missing: install the project that publishes it",
        ),
    ],
)
def test_the_status_names_the_project_and_what_to_deploy(crd: str, status: str) -> None:
    assert crd_missing_status(crd) == status
    outcome = Outcome()
    outcome.kubernetes_failed(CrdMissing(crd), "app")
    assert outcome.blocked == [status]
