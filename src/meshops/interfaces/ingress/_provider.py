"""The provider side of ``ingress`` v2: read what each requirer asks for, publish URLs."""

from __future__ import annotations

import logging
from typing import Any

import ops
import pydantic

from meshops.interfaces.ingress._errors import DataValidationError, NotReadyError
from meshops.interfaces.ingress._read import (
    IngressRequest,
    RequestRead,
    has_request,
    read_relation,
    read_url,
)
from meshops.interfaces.ingress._requirer import remote_app, write_databag
from meshops.interfaces.ingress._wire import (
    DEFAULT_RELATION_NAME,
    INGRESS_KEY,
    IngressProviderAppData,
    IngressRequirerData,
    IngressUrl,
)

__all__ = [
    "IngressPerAppDataProvidedEvent",
    "IngressPerAppDataRemovedEvent",
    "IngressPerAppProvider",
    "IngressPerAppProviderEvents",
]

log = logging.getLogger(__name__)


class IngressPerAppDataProvidedEvent(ops.RelationEvent):
    """A requirer published a valid request, or changed it.

    Attributes:
        name: the requirer's application name.
        model: the requirer's model.
        hosts: one ``{"host": ..., "ip": ...}`` per unit that published a valid host
            (``ip`` is None when unknown), as the traefik library gives them.
        strip_prefix: strip the path prefix before forwarding.
        redirect_https: redirect plain HTTP to HTTPS.
    """

    name: str | None = None
    model: str | None = None
    hosts: list[dict[str, str | None]]
    strip_prefix: bool = False
    redirect_https: bool = False

    def __init__(
        self,
        handle: ops.Handle,
        relation: ops.Relation,
        name: str | None = None,
        model: str | None = None,
        hosts: list[dict[str, str | None]] | None = None,
        strip_prefix: bool = False,
        redirect_https: bool = False,
        app: ops.Application | None = None,
        unit: ops.Unit | None = None,
    ) -> None:
        super().__init__(handle, relation, app, unit)
        self.name = name
        self.model = model
        self.hosts = list(hosts or [])
        self.strip_prefix = strip_prefix
        self.redirect_https = redirect_https

    def snapshot(self) -> dict[str, Any]:
        """Serialise the event (for deferral)."""
        return {
            **super().snapshot(),
            "name": self.name,
            "model": self.model,
            "hosts": self.hosts,
            "strip_prefix": self.strip_prefix,
            "redirect_https": self.redirect_https,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Deserialise the event."""
        super().restore(snapshot)
        self.name = snapshot.get("name")
        self.model = snapshot.get("model")
        self.hosts = list(snapshot.get("hosts") or [])
        self.strip_prefix = bool(snapshot.get("strip_prefix"))
        self.redirect_https = bool(snapshot.get("redirect_https"))


class IngressPerAppDataRemovedEvent(ops.RelationEvent):
    """A requirer's relation is gone: stop routing to it."""


class IngressPerAppProviderEvents(ops.ObjectEvents):
    """The events :class:`IngressPerAppProvider` emits."""

    data_provided = ops.EventSource(IngressPerAppDataProvidedEvent)
    data_removed = ops.EventSource(IngressPerAppDataRemovedEvent)


class IngressPerAppProvider(ops.Object):
    """Offer ingress: read what each related app asks for, and tell it its URL.

    :meth:`requests` returns one :class:`IngressRequest` per related app that has written
    its request, valid or not; that is what a charm's reconcile reads. For charms written
    against the traefik library, ``on.data_provided`` fires on the relation's created,
    joined, changed and departed events when the request is valid, and
    ``on.data_removed`` when the relation is broken; :meth:`get_data` and
    :meth:`is_ready` work as there.

    Reading never raises because of what a requirer wrote (except :meth:`get_data`,
    whose contract is to raise): bad data is reported as problems and logged.

    Args:
        charm: the charm.
        relation_name: the ``ingress`` relation endpoint (a provider).
    """

    on = IngressPerAppProviderEvents()

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_RELATION_NAME) -> None:
        super().__init__(charm, relation_name)
        self.charm = charm
        self.relation_name = relation_name
        events = charm.on[relation_name]
        observe = self.framework.observe
        observe(events.relation_created, self._on_relation_event)
        observe(events.relation_joined, self._on_relation_event)
        observe(events.relation_changed, self._on_relation_event)
        observe(events.relation_departed, self._on_relation_event)
        observe(events.relation_broken, self._on_relation_broken)

    # -- events ----------------------------------------------------------------------

    def _on_relation_event(self, event: ops.RelationEvent) -> None:
        read = self._read(event.relation)
        if read is None or not read.request.ok:
            return
        request = read.request
        self.on.data_provided.emit(
            event.relation,
            request.name,
            request.model,
            [unit.model_dump(mode="json") for unit in read.units],
            request.strip_prefix,
            request.redirect_https,
            app=remote_app(event.relation),
        )

    def _on_relation_broken(self, event: ops.RelationEvent) -> None:
        self.on.data_removed.emit(event.relation, app=remote_app(event.relation))

    # -- reading ---------------------------------------------------------------------

    @property
    def relations(self) -> list[ops.Relation]:
        """The endpoint's relations."""
        return list(self.model.relations[self.relation_name])

    def _read(self, relation: ops.Relation) -> RequestRead | None:
        """The relation's request, or None if the requirer has not written one yet."""
        app = remote_app(relation)
        if app is None:
            return None
        app_databag = relation.data[app]
        if not has_request(app_databag):
            return None
        units = {unit.name: relation.data[unit] for unit in relation.units}
        read = read_relation(
            app_databag,
            units,
            relation_id=relation.id,
            app=app.name,
            source=f"{relation.name}:{relation.id}",
        )
        for problem in read.request.problems:
            log.warning("cannot route to %s: %s", app.name, problem)
        for problem in read.skipped:
            log.warning("ignoring part of %s's ingress data: %s", app.name, problem)
        return read

    def requests(self) -> list[IngressRequest]:
        """Every related app's request, by relation id; apps that wrote none are left out.

        A request with problems is included, so the charm can report them; see
        :class:`IngressRequest`.
        """
        reads = (self._read(relation) for relation in self.relations)
        requests = [read.request for read in reads if read is not None]
        return sorted(requests, key=lambda request: request.relation_id)

    def get_data(self, relation: ops.Relation) -> IngressRequirerData:
        """The requirer's app data and its units' data, as the traefik library returns them.

        Raises:
            NotReadyError: Juju does not know the remote app yet.
            DataValidationError: the data is missing or invalid (the message says why).
        """
        app = remote_app(relation)
        if app is None:
            raise NotReadyError(f"{relation.name}:{relation.id} has no remote app yet")
        units = {unit.name: relation.data[unit] for unit in relation.units}
        read = read_relation(
            relation.data[app],
            units,
            relation_id=relation.id,
            app=app.name,
            source=f"{relation.name}:{relation.id}",
        )
        try:
            return read.requirer_data()
        except ValueError as e:
            raise DataValidationError(f"invalid ingress requirer data: {e}") from None

    def is_ready(self, relation: ops.Relation | None = None) -> bool:
        """Whether ``relation``'s requirer (or, without one, any requirer) sent a valid request."""
        if relation is None:
            return any(self.is_ready(r) for r in self.relations)
        read = self._read(relation)
        return read is not None and read.request.ok

    # -- publishing ------------------------------------------------------------------

    def publish_url(self, relation: ops.Relation, url: str) -> None:
        """Tell the requirer its URL (leader only; on other units, a no-op).

        The databag then holds exactly ``ingress`` = ``{"url": ...}``, the URL normalised
        as the traefik library does. A URL that is not absolute ``http``/``https`` is not
        published: as in the traefik library, the error is logged and the databag left
        without a URL, so a bad setting never fails the hook.
        """
        if not self.model.unit.is_leader():
            log.debug("not the leader: not publishing the ingress URL of %s", relation)
            return
        try:
            data = IngressProviderAppData(ingress=IngressUrl.model_validate({"url": url}))
        except pydantic.ValidationError:
            log.error("not publishing ingress URL %r: not an absolute http or https URL", url)
            data = IngressProviderAppData()
        bag = relation.data[self.model.app]
        write_databag(bag, data.databag(), owned=list(bag.keys()))

    def wipe_ingress_data(self, relation: ops.Relation) -> None:
        """Withdraw the requirer's URL (leader only; on other units, a no-op)."""
        if not self.model.unit.is_leader():
            log.debug("not the leader: not wiping the ingress URL of %s", relation)
            return
        try:
            bag = relation.data[self.model.app]
        except ops.ModelError as e:  # pragma: no cover - a relation on its way out
            log.warning("cannot wipe the ingress data of %s: %s", relation, e)
            return
        if INGRESS_KEY in bag:
            del bag[INGRESS_KEY]

    @property
    def proxied_endpoints(self) -> dict[str, dict[str, str]]:
        """The URL published to each related app: ``{"shop": {"url": "http://..."}}``.

        Only the leader can read what it published; on other units this is empty.
        """
        if not self.model.unit.is_leader():
            return {}
        result: dict[str, dict[str, str]] = {}
        for relation in self.relations:
            app = remote_app(relation)
            if app is None:
                continue
            url, problem = read_url(
                relation.data[self.model.app],
                source=f"{relation.name}:{relation.id}",
                app=self.model.app.name,
            )
            if problem is not None:  # pragma: no cover - we only write valid URLs
                log.warning("ignoring our own ingress data: %s", problem)
            if url is not None:
                result[app.name] = {"url": url}
        return result
