"""The ``istio_ingress_route`` relation interface: rich ingress routes through a gateway.

Where the ``ingress`` interface gives an app one URL, this one lets it ask for several
listeners (ports), HTTP routes matched by path, method and headers, gRPC routes matched
by service and method, URL rewrites and redirects. A requirer describes it all in one
:class:`IstioIngressRouteConfig` and submits it with
:meth:`IstioIngressRouteRequirer.submit_config`; the gateway charm reads it with
:class:`IstioIngressRouteProvider`, renders Gateway API objects, and publishes its
external host and whether it terminates TLS.

The databags are byte-compatible with ``charmlibs-interfaces-istio-ingress-route``:
the names, signatures and defaults are the same, so a charm moves to this library by
changing its import line. On top of that, meshops adds:

* :meth:`IstioIngressRouteProvider.requests` and :func:`read_config`: every requirer's
  routes as validated :class:`meshops.model.ingress.Route` values, or
  :class:`meshops.model.Problem` values naming the relation, the field and the value;
  never an exception, whatever a requirer wrote.
* L4 routes (:class:`TCPRoute`, :class:`TLSRoute` for TLS passthrough by SNI) and header
  modifiers (:class:`RequestHeaderModifierFilter`,
  :class:`ResponseHeaderModifierFilter`), in keys the ecosystem's provider ignores; a
  configuration that does not use them is written exactly as the ecosystem writes it.

Requirer example::

    import ops

    from meshops.interfaces.istio_ingress_route import (
        BackendRef, HTTPPathMatch, HTTPRoute, HTTPRouteMatch, IstioIngressRouteConfig,
        IstioIngressRouteRequirer, Listener, ProtocolType,
    )

    class WebCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.ingress = IstioIngressRouteRequirer(self, relation_name="ingress")
            framework.observe(self.ingress.on.ready, self._on_ingress_ready)

        def _on_ingress_ready(self, _event: ops.EventBase):
            web = Listener(port=80, protocol=ProtocolType.HTTP)
            self.ingress.submit_config(
                IstioIngressRouteConfig(
                    model=self.model.name,
                    listeners=[web],
                    http_routes=[
                        HTTPRoute(
                            name="api",
                            listener=web,
                            matches=[HTTPRouteMatch(path=HTTPPathMatch(value="/api"))],
                            backends=[BackendRef(service=self.app.name, port=8080)],
                        )
                    ],
                )
            )

Provider example::

    from meshops.interfaces.istio_ingress_route import IstioIngressRouteProvider

    class GatewayCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.routes = IstioIngressRouteProvider(self, external_host="example.com")
            framework.observe(self.routes.on.ready, self._reconcile)
            framework.observe(self.routes.on.data_removed, self._reconcile)

        def _reconcile(self, _event: ops.EventBase):
            for request in self.routes.requests():
                ...  # request.routes in namespace request.model, or request.problems
"""

from meshops.interfaces.istio_ingress_route._errors import (
    IstioIngressRouteError,
    UnauthorizedError,
)
from meshops.interfaces.istio_ingress_route._provider import (
    IstioIngressRouteProvider,
    IstioIngressRouteProviderDataRemovedEvent,
    IstioIngressRouteProviderEvents,
    IstioIngressRouteProviderReadyEvent,
    RouteRequest,
)
from meshops.interfaces.istio_ingress_route._read import (
    MAX_CONFIG_BYTES,
    MAX_PROBLEMS,
    ConfigRead,
    read_config,
)
from meshops.interfaces.istio_ingress_route._requirer import (
    IstioIngressRouteRequirer,
    IstioIngressRouteRequirerEvents,
    IstioIngressRouteRequirerReadyEvent,
)
from meshops.interfaces.istio_ingress_route._wire import (
    BackendRef,
    FilterType,
    GRPCMethodMatch,
    GRPCRoute,
    GRPCRouteMatch,
    HeaderModifierSpec,
    HTTPHeader,
    HTTPMethod,
    HTTPPathMatch,
    HTTPPathMatchType,
    HTTPRoute,
    HTTPRouteMatch,
    IstioIngressRouteConfig,
    L4Listener,
    L4ProtocolType,
    Listener,
    PathModifier,
    PathModifierType,
    ProtocolType,
    RequestHeaderModifierFilter,
    RequestRedirectFilter,
    RequestRedirectSpec,
    ResponseHeaderModifierFilter,
    TCPRoute,
    TLSRoute,
    URLRewriteFilter,
    URLRewriteSpec,
    to_gateway_protocol,
)

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_PROBLEMS",
    "BackendRef",
    "ConfigRead",
    "FilterType",
    "GRPCMethodMatch",
    "GRPCRoute",
    "GRPCRouteMatch",
    "HTTPHeader",
    "HTTPMethod",
    "HTTPPathMatch",
    "HTTPPathMatchType",
    "HTTPRoute",
    "HTTPRouteMatch",
    "HeaderModifierSpec",
    "IstioIngressRouteConfig",
    "IstioIngressRouteError",
    "IstioIngressRouteProvider",
    "IstioIngressRouteProviderDataRemovedEvent",
    "IstioIngressRouteProviderEvents",
    "IstioIngressRouteProviderReadyEvent",
    "IstioIngressRouteRequirer",
    "IstioIngressRouteRequirerEvents",
    "IstioIngressRouteRequirerReadyEvent",
    "L4Listener",
    "L4ProtocolType",
    "Listener",
    "PathModifier",
    "PathModifierType",
    "ProtocolType",
    "RequestHeaderModifierFilter",
    "RequestRedirectFilter",
    "RequestRedirectSpec",
    "ResponseHeaderModifierFilter",
    "RouteRequest",
    "TCPRoute",
    "TLSRoute",
    "URLRewriteFilter",
    "URLRewriteSpec",
    "UnauthorizedError",
    "read_config",
    "to_gateway_protocol",
]
