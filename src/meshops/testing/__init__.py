"""Test support for meshops and for charms built on it.

:class:`FakeKubernetes` is an in-process Kubernetes API server that lightkube clients
talk to through an httpx2 transport: stateful objects, label selectors, server-side
apply with field ownership, CRD schemas and CEL rules, a request log and fault
injection (error answers, slow requests and timeouts, refused connections), counted in a
:class:`ManualClock` so that no test waits.

Example:
    >>> from meshops.testing import FakeKubernetes
    >>> fake = FakeKubernetes()
    >>> _ = fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    >>> [ns["metadata"]["name"] for ns in fake.list("v1", "Namespace")]
    ['demo']
"""

from meshops.testing.clock import ManualClock
from meshops.testing.fake_kubernetes import (
    RANDOM_FAULTS,
    UNSUPPORTED_RULES,
    FakeKubernetes,
    NotSupportedError,
    Request,
    StatusError,
)

__all__ = [
    "RANDOM_FAULTS",
    "UNSUPPORTED_RULES",
    "FakeKubernetes",
    "ManualClock",
    "NotSupportedError",
    "Request",
    "StatusError",
]
