"""A platform: namespaces on (or off) the mesh, the apps in them, and who may call whom.

These are the domain types behind the ``meshops`` platform file. Each one checks its own
values on construction (raising :class:`ValueError` whose message starts with the field
and quotes the value, like :mod:`meshops.model.mesh`); how they relate to each other
(an app's namespace is declared, a caller exists, a port is exposed) is checked by
:mod:`meshops.plan.platform`, which reports every such problem with the path of the
field, e.g. ``apps[2].accepts[0].sources[1]``.

Example:
    >>> shop = Namespace("shop")
    >>> cart = App("cart", "shop", ports=(Port(8080, Protocol.http),),
    ...            accepts=(Accept(sources=(AppRef("shop", "frontend"),), ports=(8080,)),))
    >>> Platform("shop", namespaces=(shop,), apps=(cart,)).app(AppRef("shop", "cart")) is cart
    True
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TypeVar

from meshops.model.mesh import (
    Method,
    check_host,
    check_name,
    check_namespace,
    check_port,
)
from meshops.model.paths import check_policy_path

__all__ = [
    "Accept",
    "App",
    "AppRef",
    "Istio",
    "Level",
    "MeshMode",
    "Namespace",
    "Platform",
    "Port",
    "Profile",
    "Protocol",
]


_E = TypeVar("_E", bound=enum.Enum)


def _member(enum_type: type[_E], value: object, field: str) -> _E:
    """``value`` as a member of ``enum_type`` (a member, or its value), else raise."""
    try:
        return enum_type(value)
    except ValueError:
        known = ", ".join(repr(m.value) for m in enum_type)
        raise ValueError(f"{field}: {value!r} is not one of {known}") from None


class MeshMode(str, enum.Enum):
    """How a namespace takes part in the mesh."""

    #: Every pod is on the ambient mesh, and the namespace's Services use its waypoint.
    ambient = "ambient"
    #: Every pod gets an Envoy sidecar (Istio's injection label): each pod's own proxy
    #: enforces its policies, L7 included; no waypoint.
    sidecar = "sidecar"
    #: Not on the mesh: no mTLS identity, no policy enforced.
    off = "off"


class Protocol(str, enum.Enum):
    """What an app speaks on a port."""

    http = "http"
    grpc = "grpc"
    tcp = "tcp"

    @property
    def is_l7(self) -> bool:
        """Whether a waypoint can read requests (methods, paths, hosts) on this protocol."""
        return self is not Protocol.tcp


class Level(str, enum.Enum):
    """Where an accept rule is enforced.

    In a namespace with sidecars, each pod's sidecar enforces both levels: ``l4`` then
    only means a rule of ports alone.
    """

    #: At the namespace's waypoint, on the app's Service: ports, methods, paths, hosts.
    l7 = "l7"
    #: By ztunnel, on the app's pods: ports only.
    l4 = "l4"


@dataclasses.dataclass(frozen=True)
class Namespace:
    """A namespace the platform manages.

    Attributes:
        name: the namespace's name.
        mesh: whether (and how) it is on the mesh.
    """

    name: str
    mesh: MeshMode = MeshMode.ambient

    def __post_init__(self) -> None:
        check_namespace(self.name, "name")
        object.__setattr__(self, "mesh", _member(MeshMode, self.mesh, "mesh"))

    @property
    def on_mesh(self) -> bool:
        """Whether the namespace's pods are on the mesh (ambient or with sidecars)."""
        return self.mesh is not MeshMode.off

    @property
    def ambient(self) -> bool:
        """Whether the namespace is on the ambient mesh (ztunnel and a waypoint)."""
        return self.mesh is MeshMode.ambient

    @property
    def sidecars(self) -> bool:
        """Whether the namespace's pods run Istio's sidecar, which enforces their policies."""
        return self.mesh is MeshMode.sidecar


@dataclasses.dataclass(frozen=True, order=True)
class AppRef:
    """An app, by namespace and name.

    Attributes:
        namespace: the app's namespace.
        name: the app's name.
    """

    namespace: str
    name: str

    def __post_init__(self) -> None:
        check_namespace(self.namespace, "namespace")
        check_name(self.name, "name")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True)
class Port:
    """A port an app listens on.

    Attributes:
        port: the port number (the Service's port).
        protocol: what the app speaks on it.
    """

    port: int
    protocol: Protocol = Protocol.tcp

    def __post_init__(self) -> None:
        check_port(self.port, "port")
        object.__setattr__(self, "protocol", _member(Protocol, self.protocol, "protocol"))


@dataclasses.dataclass(frozen=True)
class Accept:
    """Calls an app accepts: from these apps, to these ports, methods, paths and hosts.

    Empty ``ports`` means every port the app declares; empty ``methods``, ``paths`` or
    ``hosts`` mean any. Methods, paths and hosts can only be enforced at L7.

    Attributes:
        sources: the apps that may call.
        level: where the rule is enforced.
        ports: the ports they may call.
        methods: the HTTP methods they may use.
        paths: the HTTP paths they may ask for (``/api/*`` is a prefix).
        hosts: the ``Host`` header values they may send.
    """

    sources: tuple[AppRef, ...]
    level: Level = Level.l7
    ports: tuple[int, ...] = ()
    methods: tuple[Method, ...] = ()
    paths: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("sources: an accept rule needs at least one source")
        object.__setattr__(self, "level", _member(Level, self.level, "level"))
        for i, port in enumerate(self.ports):
            check_port(port, f"ports[{i}]")
        methods = tuple(_member(Method, m, f"methods[{i}]") for i, m in enumerate(self.methods))
        object.__setattr__(self, "methods", methods)
        for i, path in enumerate(self.paths):
            check_policy_path(path, f"paths[{i}]")
        for i, host in enumerate(self.hosts):
            check_host(host, f"hosts[{i}]")

    @property
    def l7_fields(self) -> tuple[str, ...]:
        """The names of the L7-only fields this rule sets (methods, paths, hosts)."""
        return tuple(f for f in ("methods", "paths", "hosts") if getattr(self, f))


@dataclasses.dataclass(frozen=True)
class App:
    """A workload: a Service of the app's name in front of pods labelled with it.

    Attributes:
        name: the app's name, also its Service's name.
        namespace: the namespace it runs in.
        service_account: the ServiceAccount its pods run as (their mesh identity);
            None means one named after the app.
        ports: the ports its Service exposes.
        accepts: the calls it accepts; an app with none accepts every call.
    """

    name: str
    namespace: str
    service_account: str | None = None
    ports: tuple[Port, ...] = ()
    accepts: tuple[Accept, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "name")
        check_namespace(self.namespace, "namespace")
        if self.service_account is not None:
            check_name(self.service_account, "service_account")

    @property
    def ref(self) -> AppRef:
        """This app's :class:`AppRef`."""
        return AppRef(self.namespace, self.name)

    @property
    def account(self) -> str:
        """The ServiceAccount the app's pods run as."""
        return self.service_account or self.name


class Profile(str, enum.Enum):
    """An Istio installation profile (``istioctl install --set profile=...``)."""

    #: istiod and an ingress gateway, for sidecars.
    default = "default"
    #: istiod only.
    minimal = "minimal"
    #: istiod, the CNI node agent and ztunnel: the ambient data plane.
    ambient = "ambient"
    #: for trying Istio out: istiod, ingress and egress gateways, more tracing.
    demo = "demo"
    #: nothing: every component is turned on by overrides.
    empty = "empty"

    @property
    def ambient_data_plane(self) -> bool:
        """Whether this profile installs ztunnel, which the ambient mesh runs on."""
        return self is Profile.ambient

    @property
    def injects_sidecars(self) -> bool:
        """Whether this profile installs istiod's sidecar injector (its webhook).

        Every profile that installs istiod does, the ambient one included (sidecars and
        the ambient mesh run side by side); ``empty`` installs nothing.
        """
        return self is not Profile.empty


@dataclasses.dataclass(frozen=True)
class Istio:
    """The Istio control plane the platform runs on.

    Attributes:
        enabled: whether meshops describes its installation (an IstioOperator for
            ``istioctl install``); False when Istio is installed by other means.
        profile: the installation profile.
        hub: the registry images are pulled from (a local mirror); None: Istio's own.
        tag: the image tag; None: the one ``istioctl`` was released with.
        namespace: the control plane's namespace, also Istio's root namespace, where
            an AuthorizationPolicy applies to the whole mesh.
        watched_namespaces: the namespaces istiod watches (its discovery selectors);
            empty means every namespace.
    """

    enabled: bool = True
    profile: Profile = Profile.ambient
    hub: str | None = None
    tag: str | None = None
    namespace: str = "istio-system"
    watched_namespaces: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", _member(Profile, self.profile, "profile"))
        check_namespace(self.namespace, "namespace")
        for i, ns in enumerate(self.watched_namespaces):
            check_namespace(ns, f"watched_namespaces[{i}]")


@dataclasses.dataclass(frozen=True)
class Platform:
    """Everything one platform file declares.

    The order of :attr:`namespaces` and :attr:`apps` is the file's, so that a problem's
    field (``apps[2].namespace``) points back into the file.

    Attributes:
        name: the platform's name; it starts the names of the objects made for it.
        namespaces: the namespaces it manages.
        apps: the apps in them.
        istio: the Istio control plane; None: installed by other means, in the usual
            namespace (``istio-system``).
        hardened: deny by default: a call no policy allows is refused (an app that
            declares no accepts then accepts nothing but its ingress routes).
    """

    name: str
    namespaces: tuple[Namespace, ...] = ()
    apps: tuple[App, ...] = ()
    istio: Istio | None = None
    hardened: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "name")

    @property
    def root_namespace(self) -> str:
        """Istio's root namespace: policies there apply to the whole mesh."""
        return self.istio.namespace if self.istio is not None else Istio().namespace

    def namespace(self, name: str) -> Namespace | None:
        """The first namespace called ``name``, if any."""
        return next((ns for ns in self.namespaces if ns.name == name), None)

    def app(self, ref: AppRef) -> App | None:
        """The first app ``ref`` names, if any."""
        return next((a for a in self.apps if a.ref == ref), None)
