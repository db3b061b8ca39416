"""Juju relation interface libraries: one requirer and one provider per interface.

Each library reads relation databags into :mod:`meshops.model` types (reporting bad
remote data as :class:`meshops.model.Problem`, never raising from a hook) and writes
databags byte-compatible with the library the Juju ecosystem already uses for that
interface, so a charm moving to ours changes an import line, not its code.

* :mod:`meshops.interfaces.service_mesh`: the ``service_mesh`` and ``cross_model_mesh``
  interfaces (``charmlibs-interfaces-service-mesh``).
* :mod:`meshops.interfaces.istio_ingress_route`: the ``istio_ingress_route`` interface
  (``charmlibs-interfaces-istio-ingress-route``), with TCP and TLS-passthrough routes and
  header modifiers as additive fields.
* :mod:`meshops.interfaces.ingress`: the ``ingress`` interface, version 2, per app
  (traefik-k8s's ``ingress`` v2 library).
* :mod:`meshops.interfaces.gateway_route`: the ``gateway-route`` interface, version 1,
  provider side (the ecosystem's gateway-api-integrator ``gateway_route`` library).
* :mod:`meshops.interfaces.dns_record`: the ``dns_record`` interface, version 0,
  requirer side (the bind charm's ``dns_record`` library).
* :mod:`meshops.interfaces.hooks`: the deadline a hook's Kubernetes requests share,
  the libraries' and the charm's together.

Import the submodule you need; this package imports nothing on its own.
"""

__all__: list[str] = []
