"""The requirer side of ``istio_ingress_route``: publish routes, read the gateway's address."""

from __future__ import annotations

import logging

import ops

from meshops.interfaces.istio_ingress_route._errors import UnauthorizedError
from meshops.interfaces.istio_ingress_route._read import read_config
from meshops.interfaces.istio_ingress_route._relation import (
    CONFIG_KEY,
    EXTERNAL_HOST_KEY,
    TLS_ENABLED_KEY,
    remote_app,
)
from meshops.interfaces.istio_ingress_route._wire import IstioIngressRouteConfig

__all__ = [
    "IstioIngressRouteRequirer",
    "IstioIngressRouteRequirerEvents",
    "IstioIngressRouteRequirerReadyEvent",
]

log = logging.getLogger(__name__)


class IstioIngressRouteRequirerReadyEvent(ops.RelationEvent):
    """The gateway's relation changed or broke: time to (re)submit or read the address."""


class IstioIngressRouteRequirerEvents(ops.ObjectEvents):
    """The events :class:`IstioIngressRouteRequirer` emits."""

    ready = ops.EventSource(IstioIngressRouteRequirerReadyEvent)


class IstioIngressRouteRequirer(ops.Object):
    """Ask the gateway for routes, and learn the host it serves them at.

    The leader submits an :class:`IstioIngressRouteConfig` with :meth:`submit_config`;
    the gateway publishes :attr:`external_host` and :attr:`tls_enabled` back. On the
    leader, ``on.ready`` is emitted on relation-changed and relation-broken.

    Args:
        charm: the charm.
        relation_name: the ``istio_ingress_route`` relation endpoint (a requirer).

    Example::

        class WebCharm(ops.CharmBase):
            def __init__(self, framework: ops.Framework):
                super().__init__(framework)
                self.ingress = IstioIngressRouteRequirer(self, relation_name="ingress")
                framework.observe(self.ingress.on.ready, self._on_ingress_ready)

            def _on_ingress_ready(self, _event: ops.EventBase):
                listener = Listener(port=80, protocol=ProtocolType.HTTP)
                self.ingress.submit_config(
                    IstioIngressRouteConfig(
                        model=self.model.name,
                        listeners=[listener],
                        http_routes=[
                            HTTPRoute(
                                name="web",
                                listener=listener,
                                backends=[BackendRef(service=self.app.name, port=8080)],
                            )
                        ],
                    )
                )
                scheme = "https" if self.ingress.tls_enabled else "http"
                url = f"{scheme}://{self.ingress.external_host}"
    """

    on = IstioIngressRouteRequirerEvents()

    def __init__(self, charm: ops.CharmBase, relation_name: str = "ingress") -> None:
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        events = charm.on[relation_name]
        self.framework.observe(events.relation_changed, self._on_relation_event)
        self.framework.observe(events.relation_broken, self._on_relation_event)

    def _on_relation_event(self, event: ops.RelationEvent) -> None:
        if self._charm.unit.is_leader():
            self.on.ready.emit(event.relation, remote_app(event.relation))

    @property
    def external_host(self) -> str:
        """The gateway's external host: the first one a related gateway published, or ""."""
        for relation in self._charm.model.relations[self._relation_name]:
            app = remote_app(relation)
            if app is None:
                continue
            host = relation.data[app].get(EXTERNAL_HOST_KEY, "")
            if host:
                return host
        return ""

    @property
    def tls_enabled(self) -> bool:
        """Whether the (first related) gateway terminates TLS."""
        for relation in self._charm.model.relations[self._relation_name]:
            app = remote_app(relation)
            if app is None:
                continue
            return relation.data[app].get(TLS_ENABLED_KEY, "False") == "True"
        return False

    def is_ready(self) -> bool:
        """Whether there is a gateway to submit a configuration to."""
        return len(self._charm.model.relations[self._relation_name]) > 0

    def submit_config(self, config: IstioIngressRouteConfig) -> None:
        """Publish ``config`` to every related gateway.

        The bytes are those the ecosystem's library writes for the same configuration.
        What a gateway using this library would refuse in it is logged as a warning.

        Raises:
            UnauthorizedError: this unit is not the leader.
        """
        if not self._charm.unit.is_leader():
            raise UnauthorizedError(
                f"only the leader may submit the {self._relation_name!r} ingress config"
            )
        relations = self._charm.model.relations[self._relation_name]
        if not relations:
            log.warning("no %r relation to submit the ingress config to", self._relation_name)
            return
        content = config.model_dump_json()
        read = read_config(content, source=self._relation_name, app=self._charm.app.name)
        for problem in read.problems:
            log.warning("the gateway will refuse this ingress config: %s", problem)
        for relation in relations:
            bag = relation.data[self._charm.app]
            if bag.get(CONFIG_KEY) != content:
                bag[CONFIG_KEY] = content
