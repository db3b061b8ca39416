"""Where a requirer's objects may go: its own model's namespace, and its own Services.

A related application says where it lives and what serves its routes (ingress v2's
``model`` and ``name``, istio_ingress_route's ``config.model`` and backends). None of
that is taken on its word: its routes, grants and policies are written only into the
namespace of its own Juju model, and its backends must be its own application's
Services there, or it is refused, with a problem naming the field and the value.

Where it lives (its *home*). A requirer of the charm's own model lives in the charm's
namespace. For one of another model, Juju gives the remote model's UUID and the
namespace marked with that UUID (see :mod:`meshops.model.juju`) is its home; when no
namespace, or more than one, carries it, it has none and only the operator's list
below can place it. Juju before 3.6.2 does not give the remote model: the requirer is
then taken to be of the charm's model.

Whose Services. In its home namespace, a requirer of the charm's own model is the
application Juju names, and may route only to Services labelled
``app.kubernetes.io/name=<that name>`` (an ingress v2 ``name`` other than that name is
refused). Across models Juju hides the requirer's real name (the offering side sees
``remote-<id>``), so the application is the one the requirer names (ingress v2's
``name``) or, when it names none (istio_ingress_route), the one its first backend
Service is labelled with; every backend must be a Service of that one application in
that namespace. So across models the namespace is verified, the application is not: a
requirer may route to the Services of any one application of its own model.

The operator may widen this with a list of namespaces (``allowed``) any requirer may
also use; there, as across models, the requirer's application is the one it names, and
its backends must still be that application's Services.

Example:
    >>> from meshops.plan.ingress import web_route
    >>> where = Whereabouts("edge", "uuid-edge", {"uuid-shop": ("shop",)})
    >>> asks = RouteSet("ingress:4", "web", "kube-system", 4,
    ...                 (web_route("web", "kube-system", 53),))
    >>> placement = place([Requirer("ingress:4", "web", "uuid-edge", asks)], where, {})
    >>> placement.route_sets, [p.message for p in placement.problems]
    ((), ["app web asked for namespace 'kube-system'; it lives in 'edge'"])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from meshops.model.juju import APP_NAME_LABEL, MODEL_UUID_KEY
from meshops.model.mesh import check_namespace
from meshops.model.problems import Problem
from meshops.plan.ingress import RouteSet

__all__ = ["Placement", "Requirer", "Whereabouts", "parse_namespaces", "place"]

#: A Service whose ``app.kubernetes.io/name`` label is missing.
_UNLABELLED = ""


@dataclasses.dataclass(frozen=True)
class Requirer:
    """A related application: what Juju says about it, and what it asks for.

    Attributes:
        source: the relation, e.g. ``"ingress:4"``.
        app: the application's name as Juju gives it in this model (across models an
            alias: ``remote-<id>`` on the offering side).
        model_uuid: its model's UUID as Juju gives it; None when Juju does not say
            (before 3.6.2), which is taken as the charm's own model.
        asks: its routes, in the namespace it names and under the application name it
            gives (for a requirer that names none, Juju's); None when its request could
            not be read (it is refused already; only where it lives is worked out).
        namespace_field: the field in which it names its namespace.
        app_field: the field in which it names its application (ingress v2's
            ``name``, which is also its backend Service); None when it names none.
    """

    source: str
    app: str
    model_uuid: str | None
    asks: RouteSet | None
    namespace_field: str = "model"
    app_field: str | None = None


@dataclasses.dataclass(frozen=True)
class Whereabouts:
    """What Juju and the cluster say about where requirers live.

    Attributes:
        model: the charm's own model, whose namespace has the same name.
        model_uuid: the charm's own model's UUID.
        model_namespaces: for each model UUID, the namespaces marked with it.
        allowed: namespaces the operator lets any requirer use as well as its own.
    """

    model: str
    model_uuid: str
    model_namespaces: Mapping[str, tuple[str, ...]]
    allowed: frozenset[str] = frozenset()

    def home(self, requirer: Requirer) -> tuple[str | None, str]:
        """The namespace ``requirer`` lives in, or None and why it is not known."""
        uuid = requirer.model_uuid
        if uuid is None or uuid == self.model_uuid:
            return self.model, ""
        found = self.model_namespaces.get(uuid, ())
        if len(found) == 1:
            return found[0], ""
        if not found:
            return None, f"no namespace here is its model's ({MODEL_UUID_KEY}={uuid})"
        shown = ", ".join(repr(n) for n in found)
        return None, f"namespaces {shown} all claim to be its model's ({MODEL_UUID_KEY}={uuid})"

    def may_hold(self, requirer: Requirer) -> frozenset[str]:
        """The namespaces ``requirer``'s objects may be in: its home and the allowed ones."""
        home, _ = self.home(requirer)
        return self.allowed if home is None else self.allowed | {home}

    def namespace(self, requirer: Requirer) -> str | None:
        """The namespace ``requirer`` asks for, if it may have it; else None."""
        if requirer.asks is None:
            return None
        asked = requirer.asks.namespace
        return asked if asked in self.may_hold(requirer) else None


@dataclasses.dataclass(frozen=True)
class Placement:
    """What :func:`place` decided.

    Attributes:
        route_sets: the route sets of the requirers placed, each named after the
            application whose Services its backends are.
        problems: why the others were refused, naming the field and the value.
        refused: the sources refused (those whose request could not be read included).
        may_hold: for every requirer, the namespaces its objects may be in; objects a
            refused requirer had elsewhere are not worth keeping.
    """

    route_sets: tuple[RouteSet, ...]
    problems: tuple[Problem, ...]
    refused: frozenset[str]
    may_hold: Mapping[str, frozenset[str]]


def parse_namespaces(value: str, option: str) -> frozenset[str]:
    """A comma-separated list of namespace names; raises ValueError naming ``option``.

    Example:
        >>> sorted(parse_namespaces(" shop, blog ,", "allowed-requirer-namespaces"))
        ['blog', 'shop']
        >>> parse_namespaces("Shop", "allowed-requirer-namespaces")
        Traceback (most recent call last):
        ...
        ValueError: allowed-requirer-namespaces: 'Shop' is not a valid namespace (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63)
    """  # noqa: E501
    names = [part.strip() for part in value.split(",")]
    return frozenset(check_namespace(name, option) for name in names if name)


def place(
    requirers: Iterable[Requirer],
    where: Whereabouts,
    services: Mapping[str, Mapping[str, str]],
) -> Placement:
    """Place each requirer's routes in its own namespace, or refuse it.

    Args:
        requirers: the related applications.
        where: where they live.
        services: for each namespace a requirer may use (:meth:`Whereabouts.namespace`),
            its Services, each with its ``app.kubernetes.io/name`` label (``""`` for
            none).
    """
    placed: list[RouteSet] = []
    problems: list[Problem] = []
    refused: set[str] = set()
    may_hold: dict[str, frozenset[str]] = {}
    for requirer in requirers:
        may_hold[requirer.source] = where.may_hold(requirer)
        if requirer.asks is None:
            continue
        found = _check(requirer, requirer.asks, where, services)
        if isinstance(found, RouteSet):
            placed.append(found)
        else:
            problems.extend(found)
            refused.add(requirer.source)
    return Placement(tuple(placed), tuple(problems), frozenset(refused), may_hold)


def _check(
    requirer: Requirer,
    asks: RouteSet,
    where: Whereabouts,
    services: Mapping[str, Mapping[str, str]],
) -> RouteSet | list[Problem]:
    namespace = where.namespace(requirer)
    home, why = where.home(requirer)
    if namespace is None:
        lives = f"it lives in {home!r}" if home is not None else why
        message = f"app {requirer.app} asked for namespace {asks.namespace!r}; {lives}"
        return [_problem(requirer, requirer.namespace_field, message)]
    app: str | None = asks.app if requirer.app_field is not None else None
    # Juju vouches for the application's name only in its own model's namespace.
    if namespace == home and requirer.model_uuid in (None, where.model_uuid):
        if requirer.app_field is not None and asks.app != requirer.app:
            return [
                _problem(
                    requirer,
                    requirer.app_field,
                    f"{asks.app!r} is not the application's name {requirer.app!r}: an app "
                    "is served under its own name",
                )
            ]
        app = requirer.app
    found = _check_backends(requirer, asks, namespace, app, services.get(namespace, {}))
    if isinstance(found, list):
        return found
    return dataclasses.replace(asks, app=found or requirer.app)


def _check_backends(
    requirer: Requirer,
    asks: RouteSet,
    namespace: str,
    app: str | None,
    services: Mapping[str, str],
) -> str | list[Problem] | None:
    """The application whose Services every backend is, or the problems."""
    own = f"app {requirer.app} may route only to its own Services"
    for route in asks.routes:
        for i, backend in enumerate(route.backends):
            field = requirer.app_field or f"routes[{route.name!r}].backends[{i}]"
            if backend.namespace not in (None, namespace):
                message = f"{own}, in {namespace!r}: not in {backend.namespace!r}"
                return [_problem(requirer, f"{field}.namespace", message)]
            if requirer.app_field is None:
                field += ".service"
            owner = services.get(backend.service)
            if owner is None:
                message = f"{own}: there is no Service {backend.service!r} in {namespace!r}"
                return [_problem(requirer, field, message)]
            if owner == _UNLABELLED or (app is not None and owner != app):
                if owner == _UNLABELLED:
                    label = f"not labelled {APP_NAME_LABEL}" + (f"={app}" if app else "")
                else:
                    label = f"labelled {APP_NAME_LABEL}={owner}, not {app}"
                message = f"{own}: Service {backend.service!r} in {namespace!r} is {label}"
                return [_problem(requirer, field, message)]
            app = owner
    return app


def _problem(requirer: Requirer, field: str, message: str) -> Problem:
    return Problem(requirer.source, field, message, requirer.app)
