"""The ``gateway-route`` relation interface, version 1: hostnames in, the Gateway out.

A requirer (e.g. an ingress configurator) names the hostnames it serves and writes its
own routes; the provider (our gateway-api-integrator) gives it listeners for those
hostnames and says which Gateway to attach to. The databags are byte-compatible with
the ``gateway_route`` v1 library of the ecosystem's gateway-api-integrator charm (every
value JSON-encoded, as ops' ``Relation.save`` writes them):

* requirer app databag: ``hostname`` (a string or ``null``) and ``additional_hostnames``
  (a list): ``{"hostname": '"shop.example.com"', "additional_hostnames": '["www.shop.example.com"]'}``;
* provider app databag: ``gateway_name``, ``gateway_model``, ``https_mode``
  (``"disabled"``, ``"enabled"`` or ``"enforced"``), ``gateway_address`` and
  ``hsts_max_age`` (each a value or ``null``), all five always written.

A requirer attaches its routes to the listeners named
``<gateway_name>-http-<hostname, '.' as '-'>`` and ``<gateway_name>-https-<...>``
(:func:`meshops.plan.ingress.hostname_listener_names`), as the ecosystem's requirers do.

Reading never raises: :meth:`GatewayRouteProvider.requests` returns one
:class:`HostnameRequest` per relation whose requirer wrote anything, with ``problems``
naming the relation, the field and the value.

Example::

    self.routes = GatewayRouteProvider(self)
    for request in self.routes.requests():
        ...  # request.hostnames, or request.problems
    self.routes.publish(relation, GatewayRouteProviderAppData(
        gateway_name="gw", gateway_model="edge", https_mode=HttpsMode.ENFORCED))
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import enum
import json
import logging
from collections.abc import Collection, Mapping

import ops
import pydantic

from meshops.interfaces._fields import clip, quote
from meshops.model.ingress import check_hostname
from meshops.model.problems import Problem

__all__ = [
    "DEFAULT_RELATION_NAME",
    "GatewayRouteProvider",
    "GatewayRouteProviderAppData",
    "HostnameRequest",
    "HttpsMode",
    "read_request",
]

log = logging.getLogger(__name__)

DEFAULT_RELATION_NAME = "gateway-route"
#: The keys the requirer writes.
REQUIRER_KEYS = ("hostname", "additional_hostnames")
#: The longest value read (a few hostnames take well under 1 kB).
MAX_VALUE_CHARS = 64 * 1024
#: The most hostnames one requirer may claim (a Gateway holds at most 64 listeners).
MAX_HOSTNAMES = 16


class HttpsMode(str, enum.Enum):
    """How the gateway serves HTTPS.

    ``disabled``: no certificate, HTTP only; ``enabled``: HTTP and HTTPS both served;
    ``enforced``: HTTP redirects to HTTPS.
    """

    DISABLED = "disabled"
    ENABLED = "enabled"
    ENFORCED = "enforced"


class GatewayRouteProviderAppData(pydantic.BaseModel):
    """What the provider publishes (every field is written, ``null`` when unset)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    gateway_name: str = pydantic.Field(min_length=1)
    gateway_model: str = pydantic.Field(min_length=1)
    https_mode: HttpsMode
    gateway_address: str | None = None
    hsts_max_age: int | None = pydantic.Field(default=None, ge=0)

    def databag(self) -> dict[str, str]:
        """The databag, each value JSON-encoded as ops' ``Relation.save`` encodes it."""
        values = self.model_dump(mode="json")
        return {key: json.dumps(values[key]) for key in sorted(values)}


@dataclasses.dataclass(frozen=True)
class HostnameRequest:
    """What one requirer asks for.

    Attributes:
        relation_id: the relation's id (older relations have lower ids).
        app: the requirer's application, as Juju names it.
        hostnames: the hostnames it claims, without repeats, in the order given.
        problems: why its request could not be read; then ``hostnames`` is empty.
    """

    relation_id: int
    app: str
    hostnames: tuple[str, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the request could be read."""
        return not self.problems


def read_request(
    databag: dict[str, str], *, relation_id: int, app: str, source: str
) -> HostnameRequest:
    """Read a requirer's app databag; never raises (bad data becomes problems)."""

    def refuse(field: str, message: str) -> HostnameRequest:
        problem = Problem(source, field, clip(message), app)
        return HostnameRequest(relation_id, app, (), (problem,))

    values: dict[str, object] = {}
    for key in REQUIRER_KEYS:
        raw = databag.get(key)
        if raw is None or raw == "":
            continue
        if len(raw) > MAX_VALUE_CHARS:
            return refuse(key, f"holds {len(raw)} characters, over {MAX_VALUE_CHARS}")
        try:
            values[key] = json.loads(raw)
        except (ValueError, RecursionError):
            return refuse(key, f"not valid JSON: {quote(raw)}")
    hostname = values.get("hostname")
    extra = values.get("additional_hostnames", [])
    if hostname is not None and not isinstance(hostname, str):
        return refuse("hostname", f"must be a JSON string or null, got {quote(hostname)}")
    if not isinstance(extra, list):
        return refuse("additional_hostnames", f"must be a JSON list, got {quote(extra)}")
    given: list[tuple[str, object]] = [("hostname", hostname)] if hostname is not None else []
    given += [(f"additional_hostnames[{i}]", h) for i, h in enumerate(extra)]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if len(given) > MAX_HOSTNAMES:
        return refuse("additional_hostnames", f"{len(given)} hostnames, at most {MAX_HOSTNAMES}")
    found: list[str] = []
    for field, value in given:
        if not isinstance(value, str):
            return refuse(field, f"must be a JSON string, got {quote(value)}")
        try:
            # DNS names are case-insensitive; the Gateway API takes them in lower case
            name = check_hostname(value.lower(), "hostname", wildcard=False)
        except ValueError:
            return refuse(
                field,
                f"{quote(value)} must be an RFC 1123 hostname without wildcards "
                "(letters, digits, '-' and '.')",
            )
        if name not in found:
            found.append(name)
    if not found:
        return refuse(
            "hostname",
            "no hostname given: serving a gateway-route requirer without one (by the "
            "gateway's address) is not built; set the requirer's hostname",
        )
    return HostnameRequest(relation_id, app, tuple(found))


class GatewayRouteProvider(ops.Object):
    """Offer listeners for hostnames: read every requirer's, publish the Gateway's details.

    Args:
        charm: the charm.
        relation_name: the ``gateway-route`` endpoint (a provider).
    """

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_RELATION_NAME) -> None:
        super().__init__(charm, relation_name)
        self.charm = charm
        self.relation_name = relation_name

    @property
    def relations(self) -> list[ops.Relation]:
        """The endpoint's relations."""
        return list(self.model.relations[self.relation_name])

    def requests(self) -> list[HostnameRequest]:
        """Every requirer's request, by relation id; those that wrote nothing are left out."""
        found: list[HostnameRequest] = []
        for relation in self.relations:
            try:
                databag = dict(relation.data[relation.app])
            except ops.ModelError:  # a relation on its way out
                continue
            if not any(databag.get(k) for k in REQUIRER_KEYS):
                continue
            request = read_request(
                databag,
                relation_id=relation.id,
                app=relation.app.name,
                source=f"{relation.name}:{relation.id}",
            )
            for problem in request.problems:
                log.warning("cannot serve %s: %s", relation.app.name, problem)
            found.append(request)
        return sorted(found, key=lambda r: r.relation_id)

    def publish(self, relation: ops.Relation, data: GatewayRouteProviderAppData) -> None:
        """Tell the requirer about the Gateway (leader only; elsewhere a no-op)."""
        if not self.model.unit.is_leader():
            return
        bag = relation.data[self.model.app]
        for key, value in data.databag().items():
            if bag.get(key) != value:
                bag[key] = value

    def answer(
        self,
        answers: Mapping[str, tuple[str, int | None]],
        *,
        gateway: str,
        model: str,
        address: str | None,
        keep: Collection[str] = (),
    ) -> None:
        """Tell each requirer with an answer (by source, ``<endpoint>:<id>``) its HTTPS mode.

        ``answers`` maps a source to its HTTPS mode and HSTS max-age; a requirer without
        one is told nothing (what it was told goes), unless its source is in ``keep``.
        """
        for relation in self.relations:
            source = f"{relation.name}:{relation.id}"
            if source not in answers:
                if source not in keep:
                    self.wipe(relation)
                continue
            mode, hsts = answers[source]
            data = GatewayRouteProviderAppData(
                gateway_name=gateway,
                gateway_model=model,
                https_mode=HttpsMode(mode),
                gateway_address=address,
                hsts_max_age=hsts,
            )
            self.publish(relation, data)

    def wipe(self, relation: ops.Relation) -> None:
        """Withdraw what was published (leader only)."""
        if not self.model.unit.is_leader():
            return
        bag = relation.data[self.model.app]
        for key in GatewayRouteProviderAppData.model_fields:
            if key in bag:
                del bag[key]
