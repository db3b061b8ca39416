"""What the project's own charms share beside the interface libraries.

Not a library for other charms (those import :mod:`meshops.interfaces` alone, which
the ``meshops-interfaces`` distribution carries); this package is packed into each of
the project's charms that imports it.

* :mod:`meshops.charm.outcome`: what a charm's leader found, shared with its other
  units over the peer relation, and the statuses it gives.
* :mod:`meshops.charm.placement`: where a requirer of the ingress lives (its namespace
  and Services, from what Juju and the cluster say).
* :mod:`meshops.charm.certificates`: a tls-certificates provider's databag, checked
  before the TLS library reads it.
* :mod:`meshops.charm.memory`: what the leader remembers between hooks (digests of what
  each relation was told and of what the cluster held), so a no-op reads nothing back.
* :mod:`meshops.charm.leader`: the reconcile-or-stay-quiet flow of a leader's hook.
* :mod:`meshops.charm.gateway`: the ingress charm's relations around one Gateway (the
  certificate, what requirers are told, the address).

Import the submodule you need; this package imports nothing on its own.
"""

__all__: list[str] = []
