"""Where related applications live, from what Juju and the cluster say about them.

The I/O for :mod:`meshops.plan.placement`, shared by every charm that writes objects
for its requirers (istio-ingress-k8s for both its relations; any charm built on the
ingress plan): Juju's word on each requirer's model (:func:`remote_model_uuid`), one
list of the cluster's namespaces (which carry the Juju model UUIDs, and the waypoints
their Services use), and one list of Services per namespace a requirer may use.

Example::

    asked = requirers(self.model, routes=routes.requests(), ingress=ingress.requests())
    found = locate(api, asked.requirers, model=self.model.name, model_uuid=self.model.uuid)
    plan = plan_ingress(gateway, found.placement.route_sets, found.waypoints)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ops

from meshops.interfaces.gateway_route import HostnameRequest
from meshops.interfaces.ingress import IngressRequest
from meshops.interfaces.istio_ingress_route import RouteRequest
from meshops.k8s import Api, objects
from meshops.k8s.kinds import NAMESPACE, SERVICE
from meshops.model.ambient import waypoint_named
from meshops.model.juju import APP_NAME_LABEL, MODEL_UUID_KEY
from meshops.model.problems import Problem
from meshops.plan.ingress import HostnameSet, RouteSet, web_route
from meshops.plan.placement import Placement, Requirer, Whereabouts, place

__all__ = [
    "Asked",
    "Located",
    "claimants",
    "hostname_sets",
    "locate",
    "model_namespaces",
    "namespace_query",
    "namespace_waypoints",
    "read_namespaces",
    "remote_model_uuid",
    "requirers",
    "service_apps",
]

#: The first Juju that tells a charm the remote model of a relation (relation-model-get).
REMOTE_MODEL_JUJU = "3.6.2"


@dataclasses.dataclass(frozen=True)
class Asked:
    """Every requirer and what it asks for.

    Attributes:
        requirers: one per relation whose requirer wrote a request, readable or not.
        problems: why some requests could not be read; their sources are refused.
    """

    requirers: tuple[Requirer, ...]
    problems: tuple[Problem, ...]


@dataclasses.dataclass(frozen=True)
class Located:
    """What :func:`locate` found.

    Attributes:
        placement: the requirers placed in their own namespaces, and those refused.
        waypoints: the waypoint each placed requirer's namespace sends its Services'
            traffic through, where it uses one.
        where: where requirers live (:meth:`Whereabouts.home` of any of them).
        namespaces: the namespaces as read (None when none were: no requirers).
        query: what was read of the namespaces (:func:`namespace_query`), to read the
            same again.
        services: for each namespace a requirer may use, its Services' applications
            (see :func:`service_apps`), as read.
    """

    placement: Placement
    waypoints: Mapping[str, str]
    where: Whereabouts | None = None
    namespaces: tuple[Mapping[str, Any], ...] | None = None
    services: Mapping[str, Mapping[str, str]] = dataclasses.field(
        default_factory=lambda: dict[str, Mapping[str, str]]()
    )
    query: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


def remote_model_uuid(model: ops.Model, relation: ops.Relation) -> str | None:
    """The UUID of the model of ``relation``'s remote application, as Juju says.

    None when Juju does not say (before 3.6.2, or for a relation on its way out).
    """
    if model.juju_version < REMOTE_MODEL_JUJU:
        return None
    try:
        return relation.remote_model.uuid
    except ops.ModelError:
        return None


def requirers(
    model: ops.Model,
    *,
    routes: Iterable[RouteRequest] = (),
    ingress: Iterable[IngressRequest] = (),
    route_endpoint: str = "istio-ingress-route",
    ingress_endpoint: str = "ingress",
    known_models: Mapping[str, str] | None = None,
) -> Asked:
    """The requirers of ``istio_ingress_route`` and ``ingress`` (v2), with Juju's word on each.

    An ingress v2 requirer asks for :func:`meshops.plan.ingress.web_route`, under the
    ``name`` it gives. ``known_models`` holds remote model UUIDs Juju gave before, by
    relation id: a relation's remote model never changes, so Juju is not asked again.
    """
    found: list[Requirer] = []
    problems: list[Problem] = []

    def add(endpoint: str, relation_id: int, app: str, asks: RouteSet | None, **kw: Any) -> None:
        uuid = (known_models or {}).get(str(relation_id))
        if uuid is None:
            relation = model.get_relation(endpoint, relation_id)
            uuid = remote_model_uuid(model, relation) if relation is not None else None
        found.append(Requirer(f"{endpoint}:{relation_id}", app, uuid, asks, **kw))

    for request in routes:
        source, asks = f"{route_endpoint}:{request.relation_id}", None
        problems.extend(request.problems)
        if request.routes and not request.problems:
            asks = RouteSet(
                source, request.app, request.model, request.relation_id, request.routes
            )
        add(route_endpoint, request.relation_id, request.app, asks, namespace_field="config.model")
    for request in ingress:
        source, asks = f"{ingress_endpoint}:{request.relation_id}", None
        problems.extend(request.problems)
        if not request.problems:
            try:
                route = web_route(
                    request.name,
                    request.model,
                    request.port,
                    strip_prefix=request.strip_prefix,
                    scheme=request.scheme,
                )
                asks = RouteSet(source, request.name, request.model, request.relation_id, (route,))
            except ValueError as e:
                problems.append(Problem(source, "", str(e), request.app))
        add(ingress_endpoint, request.relation_id, request.app, asks, app_field="name")
    return Asked(tuple(found), tuple(problems))


def model_namespaces(namespaces: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """For each Juju model UUID, the namespaces marked with it (label or annotation).

    Example:
        >>> ns = {"metadata": {"name": "shop", "labels": {"model.juju.is/id": "u1"}}}
        >>> model_namespaces([ns])
        {'u1': ('shop',)}
    """
    found: dict[str, list[str]] = {}
    for namespace in namespaces:
        name = objects.name(namespace)
        uuids = {objects.labels(namespace).get(MODEL_UUID_KEY)}
        uuids.add(objects.annotations(namespace).get(MODEL_UUID_KEY))
        for uuid in sorted(u for u in uuids if u):
            found.setdefault(uuid, []).append(name)
    return {uuid: tuple(sorted(names)) for uuid, names in found.items()}


def service_apps(services: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each Service's name, with its ``app.kubernetes.io/name`` label (``""`` for none)."""
    return {objects.name(s): objects.labels(s).get(APP_NAME_LABEL, "") for s in services}


def namespace_waypoints(
    namespaces: Iterable[Mapping[str, Any]], wanted: Iterable[str]
) -> dict[str, str]:
    """The waypoint each of the ``wanted`` namespaces sends its Services' traffic through.

    As Istio reads the labels (see :func:`meshops.model.ambient.waypoint_named`): a
    namespace labelled ``istio.io/use-waypoint=none`` has none. Only a waypoint of the
    namespace itself counts (not one the namespace borrows from another,
    ``istio.io/use-waypoint-namespace``).

    Example:
        >>> ns = {"metadata": {"name": "shop", "labels": {"istio.io/use-waypoint": "none"}}}
        >>> namespace_waypoints([ns], ["shop"])
        {}
    """
    want = set(wanted)
    found: dict[str, str] = {}
    for namespace in namespaces:
        name = objects.name(namespace)
        named = waypoint_named(objects.labels(namespace), name)
        if name in want and named is not None and named[0] == name:
            found[name] = named[1]
    return found


def locate(
    api: Api,
    requirers: Sequence[Requirer],
    *,
    model: str,
    model_uuid: str,
    allowed: frozenset[str] = frozenset(),
) -> Located:
    """Place ``requirers`` (see :func:`meshops.plan.placement.place`), reading the cluster.

    Reads nothing without requirers. Otherwise: one list of the namespaces labelled with
    the requirers' models' UUIDs (and the charm's own), never every namespace; a read of
    each namespace a requirer asks for that the list did not show (the charm's own, an
    allowed one, or a model's that Juju marked with an annotation only, before its label
    version 2); and one list of Services per namespace some requirer may use.

    Args:
        api: Kubernetes access.
        requirers: the related applications.
        model: the charm's model (and namespace).
        model_uuid: the charm's model's UUID.
        allowed: namespaces the operator lets any requirer use as well as its own.
    """
    query = namespace_query(requirers, model, model_uuid) if requirers else ((), ())
    namespaces = read_namespaces(api, *query) if requirers else []
    where = Whereabouts(model, model_uuid, model_namespaces(namespaces), allowed)
    wanted = sorted({ns for r in requirers if (ns := where.namespace(r)) is not None})
    services = {ns: service_apps(api.list(SERVICE, ns)) for ns in wanted}
    placement = place(requirers, where, services)
    waypoints = namespace_waypoints(namespaces, (s.namespace for s in placement.route_sets))
    return Located(
        placement,
        waypoints,
        where,
        tuple(namespaces) if requirers else None,
        services,
        query,
    )


def claimants(
    model: ops.Model, requests: Iterable[HostnameRequest], endpoint: str = "gateway-route"
) -> list[Requirer]:
    """The requirers of hostnames (gateway-route), with Juju's word on each one's model.

    They ask for no routes (``asks`` is None): :func:`locate` works out only where they
    live, and :func:`hostname_sets` places their hostnames there.
    """
    found: list[Requirer] = []
    for request in requests:
        relation = model.get_relation(endpoint, request.relation_id)
        uuid = remote_model_uuid(model, relation) if relation is not None else None
        found.append(Requirer(f"{endpoint}:{request.relation_id}", request.app, uuid, None))
    return found


def hostname_sets(
    requests: Sequence[HostnameRequest], found: Sequence[Requirer], located: Located
) -> tuple[list[HostnameSet], list[Problem]]:
    """Each requirer's hostnames, claimed from its own model's namespace, or the problems.

    ``found`` is :func:`claimants` of ``requests``, as passed to :func:`locate`.
    """
    sets: list[HostnameSet] = []
    problems: list[Problem] = []
    for request, requirer in zip(requests, found, strict=True):
        problems.extend(request.problems)
        if not request.ok:
            continue
        home, why = located.where.home(requirer) if located.where else (None, "not located")
        if home is None:
            problems.append(Problem(requirer.source, "", why, request.app))
            continue
        sets.append(
            HostnameSet(requirer.source, request.app, home, request.relation_id, request.hostnames)
        )
    return sets, problems


def namespace_query(
    requirers: Sequence[Requirer], model: str, model_uuid: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What :func:`locate` reads of the namespaces: model UUIDs, and names asked for.

    It lists the namespaces labelled with those UUIDs, and reads by name those asked for
    that the list did not show.
    """
    uuids = tuple(sorted({r.model_uuid or model_uuid for r in requirers} | {model_uuid}))
    asked = tuple(sorted({model} | {r.asks.namespace for r in requirers if r.asks is not None}))
    return uuids, asked


def read_namespaces(api: Api, uuids: Sequence[str], asked: Sequence[str]) -> list[dict[str, Any]]:
    """The namespaces labelled with ``uuids``, and those of ``asked`` the list missed."""
    found = {
        objects.name(ns): ns for ns in api.list(NAMESPACE, None, {MODEL_UUID_KEY: tuple(uuids)})
    }
    for name in sorted(set(asked) - found.keys()):
        namespace = api.get(NAMESPACE, name)
        if namespace is not None:
            found[name] = namespace
    return [found[name] for name in sorted(found)]
