"""A whole platform's mesh: its namespaces, their waypoints and AuthorizationPolicies.

:func:`platform_objects` is what ``meshops render`` prints. It builds every object from
the same :mod:`meshops.plan.mesh` functions the istio-beacon-k8s charm uses, so a
namespace on the mesh looks the same whichever front door put it there:

* each namespace becomes a Namespace; one on the ambient mesh is labelled with
  :func:`~meshops.plan.mesh.namespace_labels` and gets a waypoint Gateway named
  :data:`WAYPOINT` (the name ``istioctl waypoint apply`` gives it); one with sidecars
  is labelled ``istio-injection: enabled`` (Istio's injector then gives every pod
  created there a sidecar) and gets no waypoint;
* each app's accept rules become :class:`~meshops.model.mesh.MeshPolicy` objects, one per
  calling app: an ``l7`` rule an *app* policy on the app's Service (enforced by the
  waypoint), an ``l4`` rule a *unit* policy on its pods (enforced by ztunnel; pods are
  selected by ``app.kubernetes.io/name: <app>``); the caller is named by its
  ServiceAccount. In a namespace with sidecars both select the app's pods, whose
  sidecars enforce every field (:func:`~meshops.plan.mesh.authorization_policies`).
  Callers and callees may be in namespaces of either mode: a sidecar and ztunnel speak
  the same mTLS (HBONE), and the callee's side enforces.

How the parts of a platform fit together is checked here, not when the types are built:
an app in a namespace that is not declared, a caller that does not exist, a port the app
does not expose... Each is a :class:`~meshops.model.problems.Problem` whose ``field`` is
the path of the bad value inside the platform (``apps[2].accepts[0].sources[1]``); an
app with a problem gets no policies at all (half of what it asked for is not what it
asked for), every other app still gets its own.

Objects come out in apply order: Namespaces, then Gateways, then AuthorizationPolicies,
each kind sorted by namespace and name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from meshops.model.mesh import Endpoint, MeshPolicy, TargetType
from meshops.model.platform import Accept, App, AppRef, Level, Namespace, Platform
from meshops.model.problems import Problem, did_you_mean
from meshops.plan.istio import hardened_policies
from meshops.plan.mesh import (
    PolicySet,
    authorization_policies,
    namespace_labels,
    sidecar_namespace_labels,
    waypoint,
)

__all__ = [
    "WAYPOINT",
    "mesh_policies",
    "namespace_object",
    "platform_objects",
]

Obj = dict[str, Any]
_Report = Callable[[str, str], None]

#: The name of each namespace's waypoint, as ``istioctl waypoint apply`` names it.
WAYPOINT = "waypoint"


def platform_objects(platform: Platform) -> tuple[list[Obj], list[Problem]]:
    """Every object the platform needs, in apply order, and the problems found.

    Args:
        platform: the platform.

    Returns:
        The Namespaces, waypoint Gateways and AuthorizationPolicies, and the problems
        (in the order of the platform's namespaces and apps).

    Example:
        >>> from meshops.model.platform import Namespace, Platform
        >>> objs, problems = platform_objects(Platform("p", (Namespace("shop"),)))
        >>> [(o["kind"], o["metadata"]["name"]) for o in objs]
        [('Namespace', 'shop'), ('Gateway', 'waypoint')]
    """
    problems: list[Problem] = []
    namespaces = _declared_namespaces(platform, problems)
    objects = [namespace_object(ns) for ns in sorted(namespaces.values(), key=lambda n: n.name)]
    objects += [
        waypoint(ns.name, WAYPOINT)
        for ns in sorted(namespaces.values(), key=lambda n: n.name)
        if ns.ambient
    ]
    sets, set_problems = mesh_policies(platform)
    problems += set_problems
    waypoints = {ns.name: WAYPOINT for ns in namespaces.values() if ns.ambient}
    sidecars = {ns.name for ns in namespaces.values() if ns.sidecars}
    policies, unexpected = authorization_policies(
        sets, prefix=platform.name, waypoints=waypoints, sidecars=sidecars
    )
    if unexpected:
        # The checks of mesh_policies hold every rule authorization_policies applies to
        # a platform's sets: an l4 rule names ports only, every policy names its app, and
        # each app's objects are named after it, unique in its namespace. A problem here
        # is a bug in those checks, not in the platform.
        raise AssertionError(f"plan.mesh refused what plan.platform let through: {unexpected[0]}")
    _check_istio(platform, namespaces, problems)
    policies += hardened_policies(platform, list(namespaces.values()), WAYPOINT)
    return objects + policies, problems


def namespace_object(namespace: Namespace) -> Obj:
    """The Namespace object, with the labels that put it on the mesh in its mode."""
    metadata: Obj = {"name": namespace.name}
    if namespace.ambient:
        metadata["labels"] = namespace_labels(WAYPOINT)
    elif namespace.sidecars:
        metadata["labels"] = sidecar_namespace_labels()
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def mesh_policies(platform: Platform) -> tuple[list[PolicySet], list[Problem]]:
    """One :class:`PolicySet` per app that accepts calls, and the problems found.

    A set's ``source`` is the app's place in the platform (``apps[2]``) and its ``app``
    the app's name; its policies come in the order of the app's rules, then of each
    rule's sources. Apps with a problem get no set.
    """
    problems: list[Problem] = []
    namespaces = _declared_namespaces(platform, [])
    first = _declared_apps(platform, namespaces, problems)
    apps = {ref: platform.apps[i] for ref, i in first.items()}
    sets: list[PolicySet] = []
    for i, app in enumerate(platform.apps):
        if first[app.ref] != i or app.namespace not in namespaces:
            continue  # a duplicate, or in an undeclared namespace: reported above
        where = f"apps[{i}]"
        app_problems: list[Problem] = []
        report = _reporter(platform, app, app_problems)
        _check_app(app, where, namespaces, apps, report)
        if app_problems:
            problems += app_problems
            continue
        # The app's fields were checked as a MeshPolicy's are (model.platform uses
        # model.mesh's checks), so each policy builds.
        policies = tuple(
            _policy(app, accept, apps[source])
            for accept in app.accepts
            for source in accept.sources
        )
        if policies:
            sets.append(PolicySet(source=where, app=app.name, policies=policies))
    return sets, problems


def _declared_namespaces(platform: Platform, problems: list[Problem]) -> dict[str, Namespace]:
    """The platform's namespaces by name (the first of each name), reporting duplicates."""
    seen: dict[str, int] = {}
    for i, ns in enumerate(platform.namespaces):
        if ns.name in seen:
            message = (
                f"namespace {ns.name!r} is declared twice (first as namespaces[{seen[ns.name]}])"
            )
            problems.append(_problem(platform, f"namespaces[{i}].name", message))
        else:
            seen[ns.name] = i
    return {name: platform.namespaces[i] for name, i in seen.items()}


def _declared_apps(
    platform: Platform, namespaces: dict[str, Namespace], problems: list[Problem]
) -> dict[AppRef, int]:
    """The index of the first app of each reference, reporting duplicates and strays."""
    seen: dict[AppRef, int] = {}
    for i, app in enumerate(platform.apps):
        if app.namespace not in namespaces:
            message = f"namespace {app.namespace!r} is not declared in namespaces" + did_you_mean(
                app.namespace, sorted(namespaces)
            )
            problems.append(_problem(platform, f"apps[{i}].namespace", message, app))
        if app.ref in seen:
            message = (
                f"app {app.name!r} is declared twice in namespace {app.namespace!r} "
                f"(first as apps[{seen[app.ref]}])"
            )
            problems.append(_problem(platform, f"apps[{i}].name", message, app))
        else:
            seen[app.ref] = i
    return seen


def _check_istio(
    platform: Platform, namespaces: dict[str, Namespace], problems: list[Problem]
) -> None:
    """Report namespaces the platform's Istio installation would not serve."""
    istio = platform.istio
    if istio is None:
        return
    if istio.namespace in namespaces:
        i = platform.namespaces.index(namespaces[istio.namespace])
        message = (
            f"namespace {istio.namespace!r} is Istio's own (istio.namespace): the control "
            "plane manages it; do not declare it"
        )
        problems.append(_problem(platform, f"namespaces[{i}].name", message))
    if not istio.enabled:
        return
    ambient = [ns for ns in namespaces.values() if ns.ambient]
    if ambient and not istio.profile.ambient_data_plane:
        names = ", ".join(repr(ns.name) for ns in ambient)
        message = (
            f"profile {istio.profile.value!r} installs no ztunnel, which the ambient mesh "
            f"of namespaces {names} runs on; use 'ambient'"
        )
        problems.append(_problem(platform, "istio.profile", message))
    sidecars = [ns for ns in namespaces.values() if ns.sidecars]
    if sidecars and not istio.profile.injects_sidecars:
        names = ", ".join(repr(ns.name) for ns in sidecars)
        hint = "'ambient' (it injects too)" if ambient else "'default' or 'ambient'"
        message = (
            f"profile {istio.profile.value!r} installs no sidecar injector, which the pods "
            f"of namespaces {names} (mesh: sidecar) need; use {hint}"
        )
        problems.append(_problem(platform, "istio.profile", message))
    if istio.watched_namespaces:
        for i, ns in enumerate(platform.namespaces):
            if namespaces.get(ns.name) is ns and ns.name not in istio.watched_namespaces:
                message = (
                    f"namespace {ns.name!r} is not in istio.watchedNamespaces: istiod would "
                    "not see its Services, policies or gateways (add it there)"
                )
                problems.append(_problem(platform, f"namespaces[{i}].name", message))


def _check_app(
    app: App,
    where: str,
    namespaces: dict[str, Namespace],
    apps: dict[AppRef, App],
    report: _Report,
) -> None:
    """Report everything wrong with one app's ports and accept rules."""
    namespace = namespaces[app.namespace]
    ports: list[int] = []  # (in the app's order, for the messages)
    for p, port in enumerate(app.ports):
        if port.port in ports:
            report(f"{where}.ports[{p}].port", f"port {port.port} is declared twice")
        else:
            ports.append(port.port)
    if not app.accepts:
        return
    if not namespace.on_mesh:
        report(
            f"{where}.accepts",
            f"app {app.name!r} is in namespace {namespace.name!r}, whose mesh is off: "
            "nothing would enforce its accept rules (put the namespace on the mesh)",
        )
        return
    if not app.ports:
        report(f"{where}.ports", f"app {app.name!r} accepts calls but declares no ports")
        return
    for j, accept in enumerate(app.accepts):
        rule = f"{where}.accepts[{j}]"
        _check_sources(accept, rule, namespaces, apps, report)
        for p, port in enumerate(accept.ports):
            if port not in ports:
                exposed = ", ".join(str(n) for n in ports)
                report(
                    f"{rule}.ports[{p}]",
                    f"port {port} is not a port of app {app.name!r} (its ports: {exposed})",
                )
        _check_level(app, namespace, accept, rule, report)


def _check_sources(
    accept: Accept,
    rule: str,
    namespaces: dict[str, Namespace],
    apps: dict[AppRef, App],
    report: _Report,
) -> None:
    seen: set[AppRef] = set()
    for k, source in enumerate(accept.sources):
        field = f"{rule}.sources[{k}]"
        namespace = namespaces.get(source.namespace)
        if source in seen:
            report(field, f"app {str(source)!r} is listed twice")
        elif source not in apps:
            report(field, f"unknown app {str(source)!r}" + _suggest_app(source, apps, namespaces))
        elif namespace is not None and not namespace.on_mesh:
            report(
                field,
                f"app {str(source)!r} is in namespace {namespace.name!r}, whose mesh is off: "
                "it has no mesh identity to allow (put the namespace on the mesh)",
            )
        seen.add(source)


def _check_level(
    app: App, namespace: Namespace, accept: Accept, rule: str, report: _Report
) -> None:
    l7_fields = accept.l7_fields
    if accept.level is Level.l4:
        enforcer = (
            "names ports only"
            if namespace.sidecars
            else "is enforced by ztunnel, which sees only ports"
        )
        for field in l7_fields:
            report(
                f"{rule}.{field}",
                f"{field} need an l7 rule: an l4 rule {enforcer} "
                f"(remove {field}, or drop level: l4)",
            )
        return
    if not l7_fields:
        return
    protocols = {p.port: p.protocol for p in app.ports}
    wanted = accept.ports or tuple(protocols)
    for port in wanted:
        protocol = protocols.get(port)
        if protocol is not None and not protocol.is_l7:
            where = (
                f"{rule}.ports[{accept.ports.index(port)}]"
                if accept.ports
                else f"{rule}.{l7_fields[0]}"
            )
            report(
                where,
                f"port {port} of app {app.name!r} is {protocol.value}: "
                f"{'/'.join(l7_fields)} need an http or grpc port",
            )


def _policy(app: App, accept: Accept, caller: App) -> MeshPolicy:
    """The policy letting ``caller`` make the calls ``accept`` allows to ``app``."""
    endpoint = Endpoint(
        hosts=accept.hosts,
        ports=accept.ports or tuple(p.port for p in app.ports),
        methods=accept.methods,
        paths=accept.paths,
    )
    if accept.level is Level.l4:
        target: dict[str, Any] = {"target_type": TargetType.unit}
    else:
        target = {"target_type": TargetType.app, "target_service": app.name}
    return MeshPolicy(
        source_namespace=caller.namespace,
        source_app_name=caller.name,
        target_namespace=app.namespace,
        target_app_name=app.name,
        endpoints=(endpoint,),
        source_service_account=caller.account,
        **target,
    )


def _reporter(platform: Platform, app: App, sink: list[Problem]) -> _Report:
    def report(field: str, message: str) -> None:
        sink.append(_problem(platform, field, message, app))

    return report


def _problem(platform: Platform, field: str, message: str, app: App | None = None) -> Problem:
    return Problem(f"platform {platform.name}", field, message, app=str(app.ref) if app else "")


def _suggest_app(ref: AppRef, apps: dict[AppRef, App], namespaces: Mapping[str, Namespace]) -> str:
    """The apps most likely meant; else the root cause when that app's namespace is a typo.

    An app declared in a namespace that is not declared (reported at its ``namespace``)
    is not offered as what a reference meant: the reference is likely right and the
    app's namespace wrong, so, when every app of the name is such a stray, the message
    points there.
    """
    same_name = sorted(r for r in apps if r.name == ref.name)
    declared = [r for r in same_name if r.namespace in namespaces]
    if declared:
        return f"; did you mean {' or '.join(repr(str(r)) for r in declared)}?"
    if same_name:
        where = ", ".join(repr(r.namespace) for r in same_name)
        which = "namespace" if len(same_name) == 1 else "namespaces"
        verb = "is" if len(same_name) == 1 else "are"
        return (
            f": app {ref.name!r} is declared in {which} {where}, which {verb} not declared "
            "in namespaces (see that app's namespace)"
        )
    return did_you_mean(str(ref), sorted(str(r) for r in apps))
