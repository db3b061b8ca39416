"""An istiod stand-in for tests and benchmarks: what Istio writes once a Gateway runs.

No controller runs beside the fake (or the local API server): :func:`program` writes
what istiod would once it runs a Gateway (status ``Accepted`` and ``Programmed``, and
for an ingress gateway its address), and what the cloud would (the LoadBalancer
address of the Service ``<gateway>-istio`` Istio makes). :func:`program_later` does it
after a while, on the fake's time (:meth:`FakeKubernetes.later`);
:func:`program_when_created`, beside a real API server, as soon as the Gateway is
made (a watch, in a thread of its own).

Example:
    >>> fake = FakeKubernetes()  # doctest: +SKIP
    >>> program_later(fake, 0.5, "istio-ingress-k8s", "edge", address="10.0.0.9")  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import Any

from meshops.k8s import Api, Deadline, make_client
from meshops.k8s.kinds import GATEWAY

__all__ = ["program", "program_later", "program_when_created"]

GATEWAY_API = "gateway.networking.k8s.io/v1"
_WHEN = "2026-01-01T00:00:00Z"


def _condition(kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": kind,
        "message": "",
        "lastTransitionTime": _WHEN,
    }


def program(cluster: Any, name: str, namespace: str, *, address: str | None = None) -> bool:
    """Mark Gateway ``name`` Programmed (with ``address``); False when there is none yet.

    With ``address``, the Service ``<name>-istio`` is given it as its LoadBalancer
    address too (made, as Istio makes it, if it is not there).
    """
    gateway = cluster.get(GATEWAY_API, "Gateway", name, namespace)
    if gateway is None:
        return False
    status: dict[str, Any] = {"conditions": [_condition("Accepted"), _condition("Programmed")]}
    if address is not None:
        status["addresses"] = [{"type": "IPAddress", "value": address}]
        service = cluster.get("v1", "Service", f"{name}-istio", namespace) or {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{name}-istio", "namespace": namespace},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        }
        cluster.add({**service, "status": {"loadBalancer": {"ingress": [{"ip": address}]}}})
    cluster.add({**gateway, "status": status})
    return True


def program_later(
    fake: Any, seconds: float, name: str, namespace: str, *, address: str | None = None
) -> None:
    """:func:`program` once ``seconds`` of the fake's time have passed."""
    fake.later(seconds, lambda: program(fake, name, namespace, address=address))


def program_when_created(
    cluster: Any, name: str, namespace: str, *, address: str | None = None, within: float = 120
) -> threading.Thread:
    """:func:`program` as soon as the Gateway exists (watched for ``within`` seconds).

    For a real API server (its ``transport``), where time is real: the watch runs in a
    thread of its own, started here; join it to wait for it.
    """

    def run() -> None:
        deadline = Deadline(within + 10, clock=None)
        client = make_client(
            cluster.transport, field_manager="istiod-stand-in", timeout=deadline.remaining
        )
        api = Api(client, field_manager="istiod-stand-in", deadline=deadline)
        api.wait_for(GATEWAY, name, namespace, lambda _: True, seconds=within)
        program(cluster, name, namespace, address=address)

    thread = threading.Thread(target=run, name=f"istiod-stand-in {namespace}/{name}", daemon=True)
    thread.start()
    return thread
