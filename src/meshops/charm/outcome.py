"""What the leader's last reconcile found, shared with every unit over the peer relation.

Only the leader reconciles; every unit shows a status. The leader keeps an
:class:`Outcome` in the peer relation's application databag, and any unit, on any
event, shows it; events that do not reconcile show the last known one.

Example:
    >>> o = Outcome(waiting=["waiting for an address"])
    >>> Outcome.from_json(o.to_json()) == o
    True
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import cast

import ops

from meshops.k8s.errors import (
    CrdMissing,
    DeadlineExceeded,
    Forbidden,
    KubernetesError,
    gateway_api_channel,
)

__all__ = ["Outcome", "add_statuses", "crd_missing_status", "share", "shared"]

log = logging.getLogger(__name__)
_KEY = "outcome"
_FIELDS = ("blocked", "waiting", "notes")


def crd_missing_status(crd: str) -> str:
    """The status for a missing CRD: whose it is, and what to deploy for it.

    The istio-k8s charm installs both the Gateway API's CRDs (the experimental channel's
    too, with ``gateway-api-channel=experimental``) and Istio's.

    Example:
        >>> crd_missing_status("tcproutes.gateway.networking.k8s.io")
        'tcproutes.gateway.networking.k8s.io missing (an experimental Gateway API CRD): deploy istio-k8s with gateway-api-channel=experimental'
        >>> crd_missing_status("authorizationpolicies.security.istio.io")
        'authorizationpolicies.security.istio.io missing (an Istio CRD): deploy istio-k8s (Istio ambient)'
    """  # noqa: E501
    channel = gateway_api_channel(crd)
    if channel == "experimental":
        return (
            f"{crd} missing (an experimental Gateway API CRD): deploy istio-k8s with "
            "gateway-api-channel=experimental"
        )
    if channel is not None:
        return f"{crd} missing (a Gateway API CRD): deploy istio-k8s"
    if crd.partition(".")[2].endswith("istio.io"):
        return f"{crd} missing (an Istio CRD): deploy istio-k8s (Istio ambient)"
    return f"{crd} missing: install the project that publishes it"


@dataclasses.dataclass
class Outcome:
    """What a reconcile found.

    Attributes:
        blocked: what needs a human (BlockedStatus).
        waiting: what a later event may resolve (WaitingStatus).
        notes: what works but deserves a word in the active status (e.g. refused input).
    """

    blocked: list[str] = dataclasses.field(default_factory=list[str])
    waiting: list[str] = dataclasses.field(default_factory=list[str])
    notes: list[str] = dataclasses.field(default_factory=list[str])

    def to_json(self) -> str:
        """The outcome as JSON (sorted keys: the same outcome is the same bytes)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    def kubernetes_failed(self, error: KubernetesError, app: str) -> None:
        """Say what a Kubernetes error that stopped the reconcile means for the user.

        Example:
            >>> o = Outcome()
            >>> o.kubernetes_failed(CrdMissing("gateways.gateway.networking.k8s.io"), "x")
            >>> o.blocked
            ['gateways.gateway.networking.k8s.io missing (a Gateway API CRD): deploy istio-k8s']
        """
        log.error("Kubernetes: %s", error)
        if isinstance(error, CrdMissing):
            self.blocked.append(crd_missing_status(error.crd))
        elif isinstance(error, Forbidden):
            self.blocked.append(
                f"Kubernetes API refused access: deploy with --trust (juju trust {app} "
                "--scope=cluster)"
            )
        elif isinstance(error, DeadlineExceeded):
            self.waiting.append(DeadlineExceeded.STATUS)
        elif error.temporary:
            self.waiting.append(
                f"Kubernetes API unavailable ({error.code or 'no answer'}); will retry"
            )
        else:
            self.blocked.append(f"Kubernetes API error: {error.message[:80]}")

    @classmethod
    def from_json(cls, raw: str) -> Outcome:
        """Read :meth:`to_json`'s output; raises ValueError if it is not that."""
        data: object = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"outcome {raw!r} is not a JSON object")
        fields: dict[str, list[str]] = {}
        for field in _FIELDS:
            values: object = cast("dict[str, object]", data).get(field, [])
            if not isinstance(values, list):
                raise ValueError(f"outcome field {field!r} is not a list: {values!r}")
            fields[field] = [str(v) for v in cast("list[object]", values)]
        return cls(**fields)


def share(model: ops.Model, peer_relation: str, outcome: Outcome) -> None:
    """Keep ``outcome`` in the peer relation (leader only; no peer relation, no-op).

    Written only when it changed: an unchanged outcome costs no relation-set.
    """
    peers = model.get_relation(peer_relation)
    if peers is not None:
        raw = outcome.to_json()
        if peers.data[model.app].get(_KEY) != raw:
            peers.data[model.app][_KEY] = raw


def shared(model: ops.Model, peer_relation: str) -> Outcome | None:
    """The outcome the leader last shared, or None."""
    peers = model.get_relation(peer_relation)
    raw = peers.data[model.app].get(_KEY) if peers is not None else None
    if not raw:
        return None
    try:
        return Outcome.from_json(raw)
    except ValueError:
        log.warning("unreadable outcome in peer data: %r", raw)
        return None


def add_statuses(event: ops.CollectStatusEvent, outcome: Outcome, active: str) -> None:
    """Add the statuses ``outcome`` calls for, and ``active`` (with notes) as the fallback.

    ops shows the highest-priority status added: blocked, then waiting, then active.
    """
    for message in outcome.blocked:
        event.add_status(ops.BlockedStatus(message))
    for message in outcome.waiting:
        event.add_status(ops.WaitingStatus(message))
    event.add_status(ops.ActiveStatus("; ".join(m for m in (active, *outcome.notes) if m)))
