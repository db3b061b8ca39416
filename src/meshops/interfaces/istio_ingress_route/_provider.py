"""The provider side of ``istio_ingress_route``: read requirers' routes, publish the address."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import ops

from meshops.interfaces.istio_ingress_route._read import read_config
from meshops.interfaces.istio_ingress_route._relation import (
    CONFIG_KEY,
    EXTERNAL_HOST_KEY,
    TLS_ENABLED_KEY,
    remote_app,
)
from meshops.interfaces.istio_ingress_route._wire import IstioIngressRouteConfig
from meshops.model.ingress import Route
from meshops.model.problems import Problem

__all__ = [
    "IstioIngressRouteProvider",
    "IstioIngressRouteProviderDataRemovedEvent",
    "IstioIngressRouteProviderEvents",
    "IstioIngressRouteProviderReadyEvent",
    "RouteRequest",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RouteRequest:
    """What one related requirer asked the gateway for.

    All or nothing: if anything in the requirer's ``config`` is invalid, ``routes`` is
    empty and ``problems`` names each bad field; a requirer that has not written a
    ``config`` yet has neither routes nor problems.

    Attributes:
        relation_id: the relation's id.
        app: the requirer application, as this model sees it.
        model: the namespace the routes and their backend Services live in (the
            configuration's ``model``; ``""`` when there is no usable configuration).
        routes: its routes, validated.
        problems: why its ``config`` could not be used (empty when it could).
    """

    relation_id: int
    app: str
    model: str
    routes: tuple[Route, ...]
    problems: tuple[Problem, ...]


class IstioIngressRouteProviderReadyEvent(ops.RelationEvent):
    """A requirer has published its ``config`` (or changed it)."""


class IstioIngressRouteProviderDataRemovedEvent(ops.RelationEvent):
    """A requirer's relation is going away: drop its routes."""


class IstioIngressRouteProviderEvents(ops.ObjectEvents):
    """The events :class:`IstioIngressRouteProvider` emits."""

    ready = ops.EventSource(IstioIngressRouteProviderReadyEvent)
    data_removed = ops.EventSource(IstioIngressRouteProviderDataRemovedEvent)


class IstioIngressRouteProvider(ops.Object):
    """Serve routes to requirers, and tell them the gateway's external host.

    On relation-changed, once the requirer has published its ``config``, the leader
    writes ``external_host`` and ``tls_enabled`` to every relation and ``on.ready`` is
    emitted; on relation-broken, ``on.data_removed``. :meth:`requests` reads every
    requirer's routes as domain values, or the problems that void them, and never
    raises whatever a requirer wrote; :meth:`get_config` returns one requirer's
    configuration as the wire model, as the ecosystem's library does.

    Args:
        charm: the charm.
        relation_name: the ``istio_ingress_route`` relation endpoint (a provider).
        external_host: the host requirers reach the gateway at.
        tls_enabled: whether the gateway terminates TLS.

    Example::

        class GatewayCharm(ops.CharmBase):
            def __init__(self, framework: ops.Framework):
                super().__init__(framework)
                self.routes = IstioIngressRouteProvider(self, external_host="example.com")
                framework.observe(self.routes.on.ready, self._reconcile)
                framework.observe(self.routes.on.data_removed, self._reconcile)

            def _reconcile(self, _event: ops.EventBase):
                for request in self.routes.requests():
                    for problem in request.problems:
                        ...  # report it; this requirer gets no routes
                    ...  # plan request.routes in namespace request.model
    """

    on = IstioIngressRouteProviderEvents()

    def __init__(
        self,
        charm: ops.CharmBase,
        relation_name: str = "istio-ingress-route",
        external_host: str = "",
        *,
        tls_enabled: bool = False,
    ) -> None:
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        self._external_host = external_host
        self._tls_enabled = tls_enabled
        events = charm.on[relation_name]
        self.framework.observe(events.relation_changed, self._on_relation_changed)
        self.framework.observe(events.relation_broken, self._on_relation_broken)

    @property
    def external_host(self) -> str:
        """The external host this provider publishes."""
        return self._external_host

    @property
    def tls_enabled(self) -> bool:
        """Whether this provider tells requirers the gateway terminates TLS."""
        return self._tls_enabled

    @property
    def relations(self) -> list[ops.Relation]:
        """The relations on this endpoint."""
        return list(self._charm.model.relations[self._relation_name])

    def _on_relation_changed(self, event: ops.RelationChangedEvent) -> None:
        if self.is_ready(event.relation):
            # the others were told already: only this one may not have been
            self.update_ingress_address(relations=[event.relation])
            self.on.ready.emit(event.relation, remote_app(event.relation))

    def _on_relation_broken(self, event: ops.RelationBrokenEvent) -> None:
        self.on.data_removed.emit(event.relation, remote_app(event.relation))

    def update_ingress_address(
        self,
        *,
        external_host: str | None = None,
        tls_enabled: bool | None = None,
        relations: Iterable[ops.Relation] | None = None,
    ) -> None:
        """Publish the external host and TLS flag to every requirer (leader only).

        Args:
            external_host: the new external host; None keeps the current one.
            tls_enabled: the new TLS flag; None keeps the current one.
            relations: only these requirers (default: every one), e.g. those a charm
                knows were told something else (it then reads no other's databag).
        """
        if not self._charm.unit.is_leader():
            return
        if external_host is not None:
            self._external_host = external_host
        if tls_enabled is not None:
            self._tls_enabled = tls_enabled
        # An empty host is no key at all: Juju deletes a key set to "".
        content = {EXTERNAL_HOST_KEY: self._external_host, TLS_ENABLED_KEY: str(self._tls_enabled)}
        for relation in self.relations if relations is None else relations:
            bag = relation.data[self._charm.app]
            changed = {k: v for k, v in content.items() if bag.get(k, "") != v}
            if changed:
                bag.update(changed)

    def wipe_ingress_data(self, relation: ops.Relation) -> None:
        """Withdraw the external host and TLS flag from one relation (leader only).

        For a requirer whose routes the gateway will not serve, e.g. because they
        conflict with another's. A relation already gone is logged and skipped.
        """
        if not self._charm.unit.is_leader():
            log.debug("not the leader: leaving the ingress data of %s", relation)
            return
        try:
            bag = relation.data[self._charm.app]
            for key in (EXTERNAL_HOST_KEY, TLS_ENABLED_KEY):
                if key in bag:
                    del bag[key]
        except ops.ModelError as e:
            log.warning("could not clear the ingress data of %s (gone?): %s", relation, e)

    def is_ready(self, relation: ops.Relation) -> bool:
        """Whether the requirer on ``relation`` has published its ``config``."""
        app = remote_app(relation)
        return app is not None and CONFIG_KEY in relation.data[app]

    def get_config(self, relation: ops.Relation) -> IstioIngressRouteConfig | None:
        """The configuration the requirer on ``relation`` published.

        None when it has published none, or when it is invalid (each problem is
        logged as a warning); :meth:`requests` says what is wrong with it.
        """
        app = remote_app(relation)
        if app is None:
            return None
        read = read_config(
            relation.data[app].get(CONFIG_KEY), source=self._source(relation), app=app.name
        )
        for problem in read.problems:
            log.warning("ignoring the ingress routes of %s: %s", app.name, problem)
        return read.config

    def requests(self) -> list[RouteRequest]:
        """Every related requirer's routes, or the problems that void them, by relation id.

        Relations whose remote app is not known yet are left out.
        """
        result: list[RouteRequest] = []
        for relation in sorted(self.relations, key=lambda r: r.id):
            app = remote_app(relation)
            if app is None:
                continue
            read = read_config(
                relation.data[app].get(CONFIG_KEY), source=self._source(relation), app=app.name
            )
            for problem in read.problems:
                log.warning("ignoring the ingress routes of %s: %s", app.name, problem)
            result.append(
                RouteRequest(
                    relation_id=relation.id,
                    app=app.name,
                    model=read.config.model if read.config is not None else "",
                    routes=read.routes,
                    problems=read.problems,
                )
            )
        return result

    def _source(self, relation: ops.Relation) -> str:
        return f"{relation.name}:{relation.id}"
