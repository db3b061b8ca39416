"""One Kubernetes deadline per hook, shared by everything a charm does in it.

A charm and the libraries it uses may each talk to the Kubernetes API in one hook (the
istio-ingress-k8s charm reconciles its objects, and its ``service-mesh`` library labels
its pod): :func:`hook_deadline` gives them all the same
:class:`~meshops.k8s.deadline.Deadline`, started by the hook's first request, so that
together they take at most its budget (30 s).

Example:
    >>> api = Api.connect(field_manager="me", deadline=hook_deadline(charm))  # doctest: +SKIP
"""

from __future__ import annotations

import weakref

import ops

from meshops.k8s.deadline import Deadline

__all__ = ["hook_deadline"]

# A hook is one ops.Framework (ops.testing makes a new one per run).
_DEADLINES: weakref.WeakKeyDictionary[ops.Framework, Deadline] = weakref.WeakKeyDictionary()


def hook_deadline(charm: ops.CharmBase) -> Deadline:
    """The deadline of the hook ``charm`` is running, started at the first call."""
    framework = charm.framework
    deadline = _DEADLINES.get(framework)
    if deadline is None:
        deadline = _DEADLINES[framework] = Deadline()
    return deadline
