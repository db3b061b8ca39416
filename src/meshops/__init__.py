"""meshops: Istio service mesh and Gateway API ingress for Juju and Kubernetes.

The package is layered (see ``ARCHITECTURE.md`` beside the repository):

* :mod:`meshops.model` holds the domain types, validated once at the edge;
* :mod:`meshops.plan` turns them into the Kubernetes objects we want, purely;
* :mod:`meshops.k8s` reconciles those objects against a cluster;
* :mod:`meshops.interfaces` holds the Juju relation libraries, and
  :mod:`meshops.charm` what the project's own charms share beside them;
* :mod:`meshops.platform_file` and :mod:`meshops.cli` are the ``meshops`` command;
* :mod:`meshops.testing` holds the in-process Kubernetes API fake.
"""

__all__ = [
    "__version__",
]

__version__ = "0.1.0"
