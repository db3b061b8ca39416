"""How a charm's leader runs its one reconcile on every event, and skips it when quiet.

Both charms (and any charm built the same way) observe their events with one handler
that calls :func:`run`:

* on a unit that is not the leader, nothing (it shows the leader's outcome);
* on a quiet update-status, when the last reconcile finished
  (:attr:`Memory.complete <meshops.charm.memory.Memory.complete>`) and the
  charm's ``unchanged`` check of the cluster finds nothing different from what it left,
  nothing but that check: no relation is read;
* otherwise the charm's ``reconcile``, then the outcome is shared with the other units
  (written only if it changed) and the memory kept in the unit's state.

The memory is forgotten on leader-elected: another leader may have written since.

Logging: the reconcile logs its one summary line (and a line per problem); the
Kubernetes requests it made are gathered (:func:`meshops.k8s.gathered`) and logged as
one DEBUG line, when it wrote something; a quiet update-status logs one DEBUG line.

Example:
    >>> def _on_event(self, event):  # doctest: +SKIP
    ...     self._outcome = leader.run(
    ...         self, event, "peers", self._stored, self._reconcile, self._unchanged
    ...     )
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ops

from meshops.charm.memory import Memory, fingerprint, forget, recall, remember
from meshops.charm.outcome import Outcome, share
from meshops.k8s import KubernetesError, Reconciler, gathered

__all__ = ["objects_unchanged", "run"]

log = logging.getLogger(__name__)


def objects_unchanged(reconciler: Reconciler, memory: Memory) -> bool:
    """Whether the owned objects are those the last reconcile left, none edited by hand."""
    return fingerprint(reconciler.owned().values()) == memory.objects


def run(
    charm: ops.CharmBase,
    event: ops.EventBase,
    peer_relation: str,
    stored: Any,
    reconcile: Callable[[Memory], Outcome],
    unchanged: Callable[[Memory], bool],
) -> Outcome | None:
    """Reconcile on the leader, unless ``event`` is a quiet update-status.

    Args:
        charm: the charm.
        event: the event being handled.
        peer_relation: the peer relation the outcome is shared in.
        stored: the charm's ``ops.StoredState``, where the memory is kept.
        reconcile: the charm's reconcile; it updates the memory it is given to what it
            leaves (setting ``complete`` only when nothing is left to do).
        unchanged: whether the cluster is as the memory says the last reconcile left
            it (reading the cluster only; a Kubernetes error counts as changed).

    Returns:
        The reconcile's outcome, or (on a quiet update-status) the last one; None when
        there is none.
    """
    if not charm.unit.is_leader():
        return None
    if isinstance(event, ops.LeaderElectedEvent):
        forget(stored)
    memory = recall(stored) or Memory()
    if isinstance(event, ops.RelationEvent):
        # a library may have written to this relation itself: it is told afresh
        memory.published.pop(str(event.relation.id), None)
    with gathered() as requests:
        if isinstance(event, ops.UpdateStatusEvent) and memory.complete:
            try:
                quiet = unchanged(memory)
            except KubernetesError as e:
                log.debug("update-status: the cluster cannot be read (%s)", e)
                quiet = False
            if quiet:
                log.debug("update-status: nothing changed (%s)", "; ".join(requests))
                return Outcome.from_json(memory.outcome) if memory.outcome else None
        outcome = reconcile(memory)
    if outcome.to_json() != memory.shared:
        share(charm.model, peer_relation, outcome)
        peers = charm.model.get_relation(peer_relation)
        memory.shared = outcome.to_json() if peers is not None else ""
    memory.outcome = outcome.to_json()
    remember(stored, memory)
    if requests and memory.wrote:
        log.debug("Kubernetes requests: %s", "; ".join(requests))
    return outcome
