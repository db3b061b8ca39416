"""What a set of rendered objects means: who may call whom, which backend serves a request.

A reference evaluator, pure over plain Kubernetes objects (dicts) as ``meshops render``
prints them or as a cluster holds them: it never reads the platform file, so the same
code explains the objects a charm made.

* :mod:`meshops.semantics.authz`: Istio AuthorizationPolicies in ambient mode.
  :mod:`meshops.semantics.authz_objects` reads those objects for it.
* :mod:`meshops.semantics.routing`: Gateway API Gateways, HTTPRoutes and GRPCRoutes.
  :mod:`meshops.semantics.routing_objects` reads those objects for it.
"""

__all__: list[str] = []
