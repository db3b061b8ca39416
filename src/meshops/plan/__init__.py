"""Pure translators: domain models in, desired Kubernetes objects and problems out.

Nothing here talks to a cluster or to Juju; the charms and the ``meshops`` command call
the same functions, so what ``meshops render`` prints is what a charm would apply.
"""

__all__: list[str] = []
