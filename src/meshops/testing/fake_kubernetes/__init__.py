"""An in-process Kubernetes API server for tests (see :class:`FakeKubernetes`).

Modules, by concern:

* :mod:`.server` — the object store and the HTTP surface (:class:`FakeKubernetes`);
* :mod:`.resources`, :mod:`.builtin` — served kinds: built-in ones and CRD-defined ones;
* :mod:`.schema` — OpenAPI v3 structural schemas compiled into validators/defaulters;
* :mod:`.cel_rules`, :mod:`.cel_library` — ``x-kubernetes-validations`` CEL rules and the
  Kubernetes CEL function libraries;
* :mod:`.apply` — server-side apply and managed fields;
* :mod:`.patch` — merge, JSON and strategic merge patches;
* :mod:`.selectors` — label and field selectors;
* :mod:`.meta` — names, labels, annotations and other metadata rules;
* :mod:`.requestlog` — the request log and fault injection;
* :mod:`.watch` — watch requests, and the timeline of actions scheduled on the fake's
  time (``FakeKubernetes.later``);
* :mod:`.errors` — Kubernetes ``Status`` errors.
"""

from meshops.testing.fake_kubernetes.cel_rules import UNSUPPORTED_RULES
from meshops.testing.fake_kubernetes.errors import NotSupportedError, StatusError
from meshops.testing.fake_kubernetes.requestlog import Request
from meshops.testing.fake_kubernetes.server import RANDOM_FAULTS, FakeKubernetes

__all__ = [
    "RANDOM_FAULTS",
    "UNSUPPORTED_RULES",
    "FakeKubernetes",
    "NotSupportedError",
    "Request",
    "StatusError",
]
