"""Test charms and helpers shared by the istio_ingress_route tests.

Each factory builds a fresh, tiny charm class around one side of the relation: ours
(``meshops.interfaces.istio_ingress_route``) or the ecosystem's
(``charmlibs.interfaces.istio_ingress_route``). Requirer charms submit their config on
``update-status``; every charm records what its library read in a ``seen`` list on the
class, so tests observe the library through the charm's own glue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ops
from ops import testing

from meshops.interfaces import istio_ingress_route as iir

MODEL = "shop"
"""The model (namespace) every test charm runs in."""

REQUIRER_META: dict[str, Any] = {
    "name": "web",
    "requires": {"ingress": {"interface": "istio_ingress_route"}},
}
PROVIDER_META: dict[str, Any] = {
    "name": "gateway",
    "provides": {"istio-ingress-route": {"interface": "istio_ingress_route"}},
}

# A config as a builder: given the module (ours or theirs), return its config object.
ConfigBuilder = Callable[[Any], Any]


def make_requirer(build: ConfigBuilder | None, *, module: Any = iir) -> type[ops.CharmBase]:
    """A charm using ``module``'s requirer (ours by default).

    On update-status it submits ``build(module)`` (when given), recording
    ``"unauthorized"`` if the library refuses, then records what it reads.
    """

    class Requirer(ops.CharmBase):
        seen: list[dict[str, Any]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.ingress = module.IstioIngressRouteRequirer(self, relation_name="ingress")
            framework.observe(self.on.update_status, self._on_update_status)

        def _on_update_status(self, _event: ops.EventBase) -> None:
            submitted: str = "nothing"
            if build is not None:
                try:
                    self.ingress.submit_config(build(module))
                    submitted = "ok"
                except module.UnauthorizedError:
                    submitted = "unauthorized"
            type(self).seen.append(
                {
                    "submitted": submitted,
                    "external_host": self.ingress.external_host,
                    "tls_enabled": self.ingress.tls_enabled,
                    "is_ready": self.ingress.is_ready(),
                }
            )

    return Requirer


def make_provider(
    external_host: str = "gw.example.com", *, tls_enabled: bool = False, module: Any = iir
) -> type[ops.CharmBase]:
    """A charm using ``module``'s provider (ours by default).

    On update-status it records ``get_config`` of every relation (and, for ours,
    ``requests()``); on config-changed it publishes the ``host`` and ``tls`` options,
    and with the ``wipe`` option set, wipes the ingress data of every relation.
    """

    class Provider(ops.CharmBase):
        seen: list[dict[str, Any]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.routes = module.IstioIngressRouteProvider(
                self, external_host=external_host, tls_enabled=tls_enabled
            )
            framework.observe(self.on.update_status, self._record)
            framework.observe(self.on.config_changed, self._on_config_changed)

        def _on_config_changed(self, _event: ops.EventBase) -> None:
            host = self.config.get("host")
            tls = self.config.get("tls")
            self.routes.update_ingress_address(
                external_host=host if isinstance(host, str) else None,
                tls_enabled=tls if isinstance(tls, bool) else None,
            )
            if self.config.get("wipe"):
                for relation in self.routes.relations:
                    self.routes.wipe_ingress_data(relation)

        def _record(self, _event: ops.EventBase) -> None:
            seen: dict[str, Any] = {
                "configs": {r.id: self.routes.get_config(r) for r in self.routes.relations},
                "ready": {r.id: self.routes.is_ready(r) for r in self.routes.relations},
                "external_host": self.routes.external_host,
                "tls_enabled": self.routes.tls_enabled,
            }
            if module is iir:
                seen["requests"] = self.routes.requests()
            type(self).seen.append(seen)

    return Provider


def requirer_context(charm: type[ops.CharmBase]) -> testing.Context[ops.CharmBase]:
    return testing.Context(charm, meta=REQUIRER_META)


def provider_context(charm: type[ops.CharmBase]) -> testing.Context[ops.CharmBase]:
    options = {
        "options": {
            "host": {"type": "string"},
            "tls": {"type": "boolean"},
            "wipe": {"type": "boolean"},
        }
    }
    return testing.Context(charm, meta=PROVIDER_META, config=options)


def state(
    *relations: testing.RelationBase, leader: bool = True, config: dict[str, Any] | None = None
) -> testing.State:
    return testing.State(
        leader=leader,
        relations=list(relations),
        model=testing.Model(name=MODEL),
        config=config or {},
    )


def requirer_relation(app: str = "web", config: str | None = None, **kw: Any) -> testing.Relation:
    """A provider's relation to the requirer ``app``, holding ``config`` when given."""
    data = {} if config is None else {"config": config}
    return testing.Relation("istio-ingress-route", remote_app_name=app, remote_app_data=data, **kw)


def gateway_relation(**kw: Any) -> testing.Relation:
    """A requirer's relation to the gateway app ``gateway``."""
    kw.setdefault("remote_app_name", "gateway")
    return testing.Relation("ingress", **kw)


def seen_after_update_status(
    charm: type[ops.CharmBase], ctx: testing.Context[ops.CharmBase], st: testing.State
) -> tuple[dict[str, Any], testing.State]:
    """Run update-status; return what the charm recorded and the state after."""
    out = ctx.run(ctx.on.update_status(), st)
    seen: list[dict[str, Any]] = charm.seen  # type: ignore[attr-defined]
    return seen[-1], out


def web_config(m: Any) -> Any:
    """One HTTP and one gRPC route, built with module ``m`` (ours or theirs)."""
    web = m.Listener(port=80, protocol=m.ProtocolType.HTTP)
    grpc = m.Listener(port=9090, protocol=m.ProtocolType.GRPC)
    return m.IstioIngressRouteConfig(
        model=MODEL,
        listeners=[web, grpc],
        http_routes=[
            m.HTTPRoute(
                name="api",
                listener=web,
                hostnames=["shop.example.com"],
                matches=[
                    m.HTTPRouteMatch(
                        path=m.HTTPPathMatch(type=m.HTTPPathMatchType.PathPrefix, value="/api"),
                        method=m.HTTPMethod.GET,
                        headers={"x-tenant": "blue"},
                    )
                ],
                filters=[
                    m.URLRewriteFilter(
                        urlRewrite=m.URLRewriteSpec(
                            path=m.PathModifier(
                                type=m.PathModifierType.ReplacePrefixMatch, value="/"
                            )
                        )
                    )
                ],
                backends=[
                    m.BackendRef(service="web", port=8080, weight=90),
                    m.BackendRef(service="web-canary", port=8080, weight=10),
                ],
            ),
            m.HTTPRoute(
                name="old",
                listener=web,
                matches=[
                    m.HTTPRouteMatch(
                        path=m.HTTPPathMatch(type=m.HTTPPathMatchType.Exact, value="/old")
                    )
                ],
                filters=[
                    m.RequestRedirectFilter(
                        requestRedirect=m.RequestRedirectSpec(
                            scheme="https",
                            path=m.PathModifier(
                                type=m.PathModifierType.ReplaceFullPath, value="/new"
                            ),
                            statusCode=302,
                        )
                    )
                ],
                backends=[],
            ),
        ],
        grpc_routes=[
            m.GRPCRoute(
                name="orders",
                listener=grpc,
                matches=[
                    m.GRPCRouteMatch(method=m.GRPCMethodMatch(service="shop.Orders", method="Get"))
                ],
                backends=[m.BackendRef(service="web", port=9090)],
            )
        ],
    )
