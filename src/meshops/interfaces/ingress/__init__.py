"""The ``ingress`` relation interface, version 2: ingress per application.

A charm that wants to be reachable from outside asks for ingress with
:class:`IngressPerAppRequirer`; the proxy charm (our gateway) reads every request with
:class:`IngressPerAppProvider` and publishes back the URL each app is served at.

The databags are byte-compatible with traefik-k8s's ``charms.traefik_k8s.v2.ingress``,
and the classes keep its names, signatures and events, so a charm moves to this
library by changing its import line. What goes on the wire (every value JSON-encoded):

* requirer app databag (leader): ``model``, ``name``, ``port``, and, when not at their
  defaults, ``is_port_open`` (``true``), ``healthcheck_params`` (a JSON object of what
  differs from the defaults: ``{"path": "/healthz"}``), ``strip-prefix`` (``true``),
  ``redirect-https`` (``true``), ``scheme`` (``"https"`` or ``"h2c"``):
  ``{"model": '"prod"', "name": '"shop"', "port": '8080'}``;
* requirer unit databag (every unit): ``host`` and, when known, ``ip``:
  ``{"host": '"shop-0.shop-endpoints.prod.svc.cluster.local"', "ip": '"10.1.2.3"'}``;
* provider app databag: ``ingress``: ``{"ingress": '{"url": "http://gw/prod-shop"}'}``.

Reading is lenient about what any release of the traefik library wrote, and never
raises: :meth:`IngressPerAppProvider.requests` and :func:`read_request` turn a
requirer's databags into an :class:`IngressRequest` whose ``problems`` name the relation,
the field and the value (``ingress:4 (shop): port: must be a JSON integer 1-65535, got a
string '8080'``).

Requirer example::

    import ops

    from meshops.interfaces.ingress import IngressPerAppReadyEvent, IngressPerAppRequirer

    class ShopCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.ingress = IngressPerAppRequirer(self, port=8080, strip_prefix=True)
            framework.observe(self.ingress.on.ready, self._on_ingress_ready)

        def _on_ingress_ready(self, event: IngressPerAppReadyEvent):
            self.unit.status = ops.ActiveStatus(f"serving at {event.url}")

Provider example::

    from meshops.interfaces.ingress import IngressPerAppProvider

    class GatewayCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.ingress = IngressPerAppProvider(self)

        def reconcile(self):
            for request in self.ingress.requests():
                if not request.ok:
                    ...  # report request.problems; route nothing for this app
                    continue
                ...  # route /<model>-<name> to Service <name>.<model>:<port>
                relation = self.model.get_relation("ingress", request.relation_id)
                self.ingress.publish_url(relation, f"http://gw/{request.model}-{request.name}")
"""

from meshops.interfaces.ingress._errors import DataValidationError, IngressError, NotReadyError
from meshops.interfaces.ingress._provider import (
    IngressPerAppDataProvidedEvent,
    IngressPerAppDataRemovedEvent,
    IngressPerAppProvider,
    IngressPerAppProviderEvents,
)
from meshops.interfaces.ingress._read import (
    MAX_VALUE_CHARS,
    IngressRequest,
    has_request,
    load_json,
    read_request,
    read_url,
)
from meshops.interfaces.ingress._requirer import (
    IngressPerAppReadyEvent,
    IngressPerAppRequirer,
    IngressPerAppRequirerEvents,
    IngressPerAppRevokedEvent,
)
from meshops.interfaces.ingress._wire import (
    DEFAULT_RELATION_NAME,
    RELATION_INTERFACE,
    SCHEMES,
    IngressHealthCheck,
    IngressProviderAppData,
    IngressRequirerAppData,
    IngressRequirerData,
    IngressRequirerUnitData,
    IngressUrl,
    Scheme,
)

__all__ = [
    "DEFAULT_RELATION_NAME",
    "MAX_VALUE_CHARS",
    "RELATION_INTERFACE",
    "SCHEMES",
    "DataValidationError",
    "IngressError",
    "IngressHealthCheck",
    "IngressPerAppDataProvidedEvent",
    "IngressPerAppDataRemovedEvent",
    "IngressPerAppProvider",
    "IngressPerAppProviderEvents",
    "IngressPerAppReadyEvent",
    "IngressPerAppRequirer",
    "IngressPerAppRequirerEvents",
    "IngressPerAppRevokedEvent",
    "IngressProviderAppData",
    "IngressRequest",
    "IngressRequirerAppData",
    "IngressRequirerData",
    "IngressRequirerUnitData",
    "IngressUrl",
    "NotReadyError",
    "Scheme",
    "has_request",
    "load_json",
    "read_request",
    "read_url",
]
