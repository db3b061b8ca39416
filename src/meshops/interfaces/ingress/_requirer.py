"""The requirer side of ``ingress`` v2: ask for ingress, learn the URL."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import ops
import pydantic

from meshops.interfaces.ingress._errors import DataValidationError
from meshops.interfaces.ingress._read import read_url
from meshops.interfaces.ingress._wire import (
    DEFAULT_RELATION_NAME,
    UNIT_KEYS,
    IngressHealthCheck,
    IngressRequirerAppData,
    IngressRequirerUnitData,
)

__all__ = [
    "IngressPerAppReadyEvent",
    "IngressPerAppRequirer",
    "IngressPerAppRequirerEvents",
    "IngressPerAppRevokedEvent",
    "remote_app",
    "write_databag",
]

log = logging.getLogger(__name__)


def remote_app(relation: ops.Relation) -> ops.Application | None:
    """The relation's remote app; ops types it as always set, but Juju may not know it."""
    return cast("ops.Application | None", relation.app)


def write_databag(
    bag: ops.RelationDataContent, content: Mapping[str, str], owned: Iterable[str]
) -> None:
    """Make ``bag`` hold ``content``: delete the ``owned`` keys not in it, set what changed.

    Writes nothing when the databag already holds ``content``, so no event is triggered
    on the other side for nothing.
    """
    for key in list(owned):
        if key not in content and key in bag:
            del bag[key]
    for key, value in content.items():
        if bag.get(key) != value:
            bag[key] = value


def _validation_message(error: pydantic.ValidationError) -> str:
    parts: list[str] = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}, got {detail['input']!r}"[:300])
    return "; ".join(parts)


def _healthcheck(params: Mapping[str, Any] | None) -> IngressHealthCheck | None:
    if not params:
        return None
    try:
        return IngressHealthCheck.model_validate(dict(params))
    except pydantic.ValidationError as e:
        raise DataValidationError(
            f"invalid healthcheck_params: {_validation_message(e)}"
        ) from None


class IngressPerAppReadyEvent(ops.RelationEvent):
    """The provider published a URL for this app, or changed it.

    Attributes:
        url: the URL this app is reachable at through the ingress.
    """

    url: str | None = None

    def __init__(
        self,
        handle: ops.Handle,
        relation: ops.Relation,
        url: str | None = None,
        app: ops.Application | None = None,
        unit: ops.Unit | None = None,
    ) -> None:
        super().__init__(handle, relation, app, unit)
        self.url = url

    def snapshot(self) -> dict[str, object]:
        """Serialise the event (for deferral)."""
        return {**super().snapshot(), "url": self.url}

    def restore(self, snapshot: dict[str, object]) -> None:
        """Deserialise the event."""
        super().restore(snapshot)
        url = snapshot.get("url")
        self.url = url if isinstance(url, str) else None


class IngressPerAppRevokedEvent(ops.RelationEvent):
    """This app no longer has a URL: the relation is gone, or the provider withdrew it."""


class IngressPerAppRequirerEvents(ops.ObjectEvents):
    """The events :class:`IngressPerAppRequirer` emits."""

    ready = ops.EventSource(IngressPerAppReadyEvent)
    revoked = ops.EventSource(IngressPerAppRevokedEvent)


class IngressPerAppRequirer(ops.Object):
    """Ask an ingress provider to route to this app, and learn the URL it is served at.

    Given a ``port``, the library publishes the request by itself on the relation's
    created, joined, changed and departed events, on leader election and on upgrade:
    the leader writes the app databag (``model``, ``name``, ``port``, ``is_port_open``
    when the unit has opened that port, and the non-default options), every unit its own
    ``host`` and ``ip``. Without a ``port``, call :meth:`provide_ingress_requirements`
    when the charm knows it.

    The arguments are checked here; the model and application names, which come from
    Juju, when the request is published (so a charm's ops.testing tests, whose model
    names are random and not DNS labels, construct it without error).

    ``on.ready`` fires when the provider publishes a URL or changes it (``event.url``);
    ``on.revoked`` when the relation is broken, or when a URL this unit had seen is
    withdrawn (a departure from the traefik library, which only fires it on broken).
    :attr:`url` reads the provider's databag each time. Nothing the provider wrote makes
    this class raise: malformed data reads as "no URL", with a warning.

    Args:
        charm: the charm.
        relation_name: the ``ingress`` relation endpoint (a requirer, ``limit: 1``).
        host: the host name the provider reaches each unit at; defaults to the unit's
            FQDN (``socket.getfqdn()``).
        ip: the address the provider reaches each unit at; defaults to the relation's
            bind address, left out if Juju does not know it.
        port: the port to route to; when given, requirements are published automatically.
        strip_prefix: ask the provider to strip the path prefix before forwarding.
        redirect_https: ask the provider to redirect plain HTTP to HTTPS.
        scheme: how the provider talks to this app (``http``, ``https``, ``h2c``), or a
            callable returning it when it is only known later.
        healthcheck_params: how the provider should check the app's health, as the
            traefik library takes it: ``path`` (required), and optionally ``scheme``,
            ``hostname``, ``port``, ``interval`` (default ``"30s"``) and ``timeout``
            (``"5s"``). Published for providers that check health; the istio-ingress-k8s
            charm does not yet, and ignores it.

    Raises:
        DataValidationError: ``port``, ``scheme``, ``healthcheck_params``, ``host`` or
            ``ip`` is invalid (the message quotes it).
    """

    on = IngressPerAppRequirerEvents()
    _stored = ops.StoredState()

    def __init__(
        self,
        charm: ops.CharmBase,
        relation_name: str = DEFAULT_RELATION_NAME,
        *,
        host: str | None = None,
        ip: str | None = None,
        port: int | None = None,
        strip_prefix: bool = False,
        redirect_https: bool = False,
        scheme: str | Callable[[], str] = "http",
        healthcheck_params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(charm, relation_name)
        self.charm = charm
        self.relation_name = relation_name
        self._host = host
        self._ip = ip
        self._port = port
        self._strip_prefix = strip_prefix
        self._redirect_https = redirect_https
        self._scheme = scheme
        self._healthcheck = _healthcheck(healthcheck_params)
        self._stored.set_default(current_url=None)
        if port is not None:  # fail early on what can be checked now (not Juju's names)
            self._app_data(port, scheme if isinstance(scheme, str) else "http", names=False)
        if host or ip:
            self._unit_data(host or "localhost", ip or None, None)
        events = charm.on[relation_name]
        observe = self.framework.observe
        observe(events.relation_created, self._on_relation_event)
        observe(events.relation_joined, self._on_relation_event)
        observe(events.relation_changed, self._on_relation_event)
        observe(events.relation_departed, self._on_relation_event)
        observe(events.relation_broken, self._on_relation_broken)
        observe(charm.on.leader_elected, self._on_leader_or_upgrade)
        observe(charm.on.upgrade_charm, self._on_leader_or_upgrade)

    # -- events ----------------------------------------------------------------------

    def _on_relation_event(self, event: ops.RelationEvent) -> None:
        self._publish_auto()
        self._check_url()

    def _on_relation_broken(self, event: ops.RelationEvent) -> None:
        self._stored.current_url = None
        self.on.revoked.emit(event.relation, app=remote_app(event.relation))

    def _on_leader_or_upgrade(self, _event: ops.EventBase) -> None:
        self._publish_auto()

    def _publish_auto(self) -> None:
        if self._port is not None:
            self.provide_ingress_requirements(host=self._host, ip=self._ip, port=self._port)

    def _check_url(self) -> None:
        relation = self.relation
        new = self.url
        old = cast("str | None", self._stored.current_url)
        if relation is None or new == old:
            return
        self._stored.current_url = new
        if new is not None:
            self.on.ready.emit(relation, new, app=remote_app(relation))
        else:
            self.on.revoked.emit(relation, app=remote_app(relation))

    # -- publishing ------------------------------------------------------------------

    def _app_data(
        self, port: int, scheme: str | None, *, names: bool = True
    ) -> IngressRequirerAppData:
        """The app databag's model; with ``names=False`` a stand-in for Juju's names."""
        if not scheme:
            scheme = self._scheme() if callable(self._scheme) else self._scheme
        try:
            return IngressRequirerAppData.model_validate(
                {
                    "model": self.model.name if names else "model",
                    "name": self.model.app.name if names else "app",
                    "port": port,
                    "is_port_open": names and self._port_open(port),
                    "healthcheck_params": self._healthcheck,
                    "strip_prefix": self._strip_prefix,
                    "redirect_https": self._redirect_https,
                    "scheme": scheme,
                }
            )
        except pydantic.ValidationError as e:
            raise DataValidationError(
                f"invalid ingress requirements: {_validation_message(e)}"
            ) from None

    def _port_open(self, port: int) -> bool:
        try:
            return any(p.port == port for p in self.model.unit.opened_ports())
        except ops.ModelError as e:
            log.warning("cannot learn whether port %s is open: %s", port, e)
            return False

    def _unit_data(
        self, host: str | None, ip: str | None, relation: ops.Relation | None
    ) -> IngressRequirerUnitData:
        if not host:
            host = socket.getfqdn()
        if ip is None and relation is not None:
            ip = self._bind_address(relation)
        try:
            return IngressRequirerUnitData(host=host, ip=ip)
        except pydantic.ValidationError as e:
            raise DataValidationError(
                f"invalid ingress unit data: {_validation_message(e)}"
            ) from None

    def _bind_address(self, relation: ops.Relation) -> str | None:
        try:
            binding = self.model.get_binding(relation)
            address = binding.network.bind_address
        except ops.ModelError as e:
            log.warning("cannot learn this unit's address on %s: %s", relation, e)
            return None
        if address is None:
            log.warning("Juju knows no bind address for %s; publishing no ip", relation)
            return None
        return str(address)

    def provide_ingress_requirements(
        self,
        *,
        scheme: str | None = None,
        host: str | None = None,
        ip: str | None = None,
        port: int,
    ) -> None:
        """Publish the request on every relation of the endpoint.

        The leader writes the app databag; every unit writes its own ``host`` and ``ip``.
        Keys left at their defaults are removed, so the databags hold exactly what the
        traefik library writes for the same arguments.

        Args:
            scheme: how the provider talks to this app; defaults to the constructor's.
            host: this unit's host name; defaults to the constructor's, then the FQDN.
            ip: this unit's address; defaults to the relation's bind address.
            port: the port to route to.

        Raises:
            DataValidationError: an argument is invalid (the message quotes it).
        """
        app_data = self._app_data(port, scheme)
        host = host or self._host
        ip = ip or self._ip
        for relation in self.relations:
            unit_data = self._unit_data(host, ip, relation)
            if self.model.unit.is_leader():
                bag = relation.data[self.model.app]
                write_databag(bag, app_data.databag(), owned=list(bag.keys()))
            write_databag(relation.data[self.model.unit], unit_data.databag(), owned=UNIT_KEYS)

    # -- reading ---------------------------------------------------------------------

    @property
    def relations(self) -> list[ops.Relation]:
        """The endpoint's relations."""
        return list(self.model.relations[self.relation_name])

    @property
    def relation(self) -> ops.Relation | None:
        """The endpoint's relation (the first, if it has no ``limit: 1``), or None."""
        relations = self.relations
        return relations[0] if relations else None

    @property
    def url(self) -> str | None:
        """The URL the provider published for this app; None until there is a valid one."""
        relation = self.relation
        app = remote_app(relation) if relation is not None else None
        if relation is None or app is None:
            return None
        try:
            databag = relation.data[app]
        except ops.ModelError as e:  # pragma: no cover - a relation on its way out
            log.debug("cannot read the ingress provider's data: %s", e)
            return None
        url, problem = read_url(databag, source=f"{relation.name}:{relation.id}", app=app.name)
        if problem is not None:
            log.warning("ignoring the ingress provider's data: %s", problem)
        return url

    def is_ready(self) -> bool:
        """Whether the provider has published a valid URL for this app."""
        return self.url is not None
