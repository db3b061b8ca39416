"""The service_mesh wire models: what the relation databags hold, field for field.

The models keep the ecosystem library's field names, order and defaults, so that
``json.dumps([p.model_dump() for p in policies])`` produces the very bytes the ecosystem
writes. They are frozen; they ignore unknown keys, since the other side of the relation
may be a newer library. Ports are read as the ecosystem's models read them, pydantic's
lax ``int``: ``"9090"`` is port 9090 and ``8080.0`` port 8080 (``8080.5`` and ``"80a"``
are no ports), except that a boolean is refused where the ecosystem's ``int`` would
turn ``True`` into port 1.

:meth:`MeshPolicy.to_model` turns a wire policy into the validated domain type
:class:`meshops.model.MeshPolicy`, raising :class:`ValueError` whose message starts with
the offending field's path (``"endpoints[0].ports[1]: port 0 must be ..."``).
"""

from __future__ import annotations

import enum
import json
import warnings
from collections.abc import Mapping
from typing import Annotated, Any

import pydantic

from meshops import model
from meshops.interfaces.service_mesh._errors import FieldError, as_field_error, join_field, quote
from meshops.model.mesh import check_label

Method = model.Method
PolicyTargetType = model.TargetType

# We read what another charm wrote: unknown keys are ignored, never an error.
_WIRE = pydantic.ConfigDict(frozen=True, extra="ignore")
# What a charm author declares in code: a misspelt keyword is a bug worth an error
# (``UnitPolicy(relation="x", port=[80])`` would otherwise allow every port).
_DECLARED = pydantic.ConfigDict(frozen=True, extra="forbid")


def _not_a_bool(value: object) -> object:
    """Refuse ``True``/``False`` as a port, which pydantic's lax ``int`` takes as 1/0."""
    if isinstance(value, bool):
        raise ValueError(f"Input should be a valid integer, got {value!r}")
    return value


Port = Annotated[int, pydantic.BeforeValidator(_not_a_bool)]


class MeshType(str, enum.Enum):
    """The kind of service mesh a provider runs."""

    istio = "istio"


def check_labels(labels: Mapping[str, str], field: str = "labels") -> dict[str, str]:
    """Return ``labels`` as a dict if every key and value is a valid Kubernetes label.

    Raises:
        FieldError: (a :class:`ValueError`) naming ``field[key]`` and quoting the bad
            key or value.
    """
    for key, value in labels.items():
        where = f"{field}[{quote(key)}]"
        try:
            check_label(key, value, where)
        except ValueError as e:
            raise FieldError(where, str(e).removeprefix(f"{where}: ")) from None
    return dict(labels)


class Endpoint(pydantic.BaseModel):
    """A set of requests a policy allows; a field left as None means "any".

    Attributes:
        hosts: ``Host`` header values.
        ports: destination ports (1-65535).
        methods: HTTP methods.
        paths: HTTP paths, starting with '/'; ``/api/*`` is a prefix match.
    """

    model_config = _WIRE

    hosts: list[str] | None = None
    ports: list[Port] | None = None
    methods: list[Method] | None = None
    paths: list[str] | None = None

    def to_model(self) -> model.Endpoint:
        """The domain :class:`meshops.model.Endpoint`.

        Raises:
            ValueError: ``"<field>[<i>]: <what is wrong with the value>"``.
        """
        return model.Endpoint(
            hosts=tuple(self.hosts or ()),
            ports=tuple(self.ports or ()),
            methods=tuple(self.methods or ()),
            paths=tuple(self.paths or ()),
        )

    @classmethod
    def from_model(cls, endpoint: model.Endpoint) -> Endpoint:
        """The wire form of a domain endpoint (an empty tuple becomes None, "any")."""
        return cls(
            hosts=list(endpoint.hosts) or None,
            ports=list(endpoint.ports) or None,
            methods=list(endpoint.methods) or None,
            paths=list(endpoint.paths) or None,
        )


def _no_endpoints() -> list[Endpoint]:
    return []


class AppPolicy(pydantic.BaseModel):
    """Allow the apps related over ``relation`` to call this app's Service on ``endpoints``.

    Enforced at the waypoint (L7), so endpoints may name hosts, methods and paths.

    Attributes:
        relation: the name of this charm's relation endpoint whose remote apps are allowed.
        endpoints: what they may call; at least one.
        service: the Service to protect, when it is not named after the app.
    """

    model_config = _DECLARED

    relation: str
    endpoints: list[Endpoint]
    service: str | None = None


class Policy(AppPolicy):
    """Deprecated: the old name of :class:`AppPolicy`; constructing one warns.

    Replace ``Policy(...)`` with ``AppPolicy(...)``; the fields are the same.
    """

    def __init__(self, **data: Any) -> None:
        warnings.warn(
            "Policy is deprecated: use AppPolicy (same fields) for application policies, "
            "or UnitPolicy to allow access to the units' ports",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(**data)


class UnitPolicy(pydantic.BaseModel):
    """Allow the apps related over ``relation`` to reach this app's pods on ``ports``.

    Enforced by ztunnel (L4): ports only, no methods or paths.

    Attributes:
        relation: the name of this charm's relation endpoint whose remote apps are allowed.
        ports: the ports they may reach; None means every port.
    """

    model_config = _DECLARED

    relation: str
    ports: list[Port] | None = None


class MeshPolicy(pydantic.BaseModel):
    """One entry of the consumer's ``policies`` databag: ``source`` may call ``target``.

    The field order is the wire order; do not reorder.

    Attributes:
        source_namespace: the caller's namespace (its Juju model).
        source_app_name: the calling application.
        target_namespace: the called application's namespace.
        target_app_name: the called application.
        target_selector_labels: for unit policies, the pods to protect instead of the app.
        target_service: for app policies, the Service to protect when not named after the app.
        target_type: app (the Service, L7) or unit (the pods, L4).
        endpoints: what may be called.
    """

    model_config = _WIRE

    source_namespace: str
    source_app_name: str
    target_namespace: str
    target_app_name: str | None = None
    target_selector_labels: dict[str, str] | None = None
    target_service: str | None = None
    target_type: PolicyTargetType = PolicyTargetType.app
    endpoints: list[Endpoint] = pydantic.Field(default_factory=_no_endpoints)

    @pydantic.model_validator(mode="after")
    def _check_target(self) -> MeshPolicy:
        # The ecosystem's cross-field rules; to_model() adds the domain's stricter ones.
        if self.target_type is PolicyTargetType.app:
            if not (self.target_app_name or self.target_service):
                raise FieldError(
                    "target_app_name", "an app policy needs target_app_name or target_service"
                )
            if self.target_selector_labels:
                raise FieldError(
                    "target_selector_labels",
                    "an app policy cannot select pods by label, "
                    f"got {quote(self.target_selector_labels)}",
                )
        else:
            if self.target_app_name and self.target_selector_labels:
                raise FieldError(
                    "target_selector_labels",
                    "a unit policy takes target_app_name or target_selector_labels, not both",
                )
            if self.target_service:
                raise FieldError(
                    "target_service",
                    "a unit policy protects pods, not a Service, "
                    f"got {quote(self.target_service)}",
                )
        return self

    def to_model(self) -> model.MeshPolicy:
        """The validated domain :class:`meshops.model.MeshPolicy`.

        Raises:
            ValueError: whose message starts with the path of the bad field, e.g.
                ``"endpoints[1].paths[0]: path 'x' must start with '/'"``; for errors
                found here (not in the domain model) a :class:`FieldError`.
        """
        endpoints: list[model.Endpoint] = []
        for j, endpoint in enumerate(self.endpoints):
            try:
                endpoints.append(endpoint.to_model())
            except ValueError as e:
                error = as_field_error(e)
                raise FieldError(
                    join_field(f"endpoints[{j}]", error.field), error.detail
                ) from None
        return model.MeshPolicy(
            source_namespace=self.source_namespace,
            source_app_name=self.source_app_name,
            target_namespace=self.target_namespace,
            target_type=self.target_type,
            target_app_name=self.target_app_name,
            target_service=self.target_service,
            target_selector_labels=tuple(sorted((self.target_selector_labels or {}).items())),
            endpoints=tuple(endpoints),
        )

    @classmethod
    def from_model(cls, policy: model.MeshPolicy) -> MeshPolicy:
        """The wire form of a domain policy.

        The wire has no ``source_service_account``: a policy whose caller runs under
        another service account than its app name cannot be sent over this interface.
        """
        return cls(
            source_namespace=policy.source_namespace,
            source_app_name=policy.source_app_name,
            target_namespace=policy.target_namespace,
            target_app_name=policy.target_app_name,
            target_selector_labels=dict(policy.target_selector_labels) or None,
            target_service=policy.target_service,
            target_type=policy.target_type,
            endpoints=[Endpoint.from_model(e) for e in policy.endpoints],
        )


class CMRData(pydantic.BaseModel):
    """What a charm tells a cross-model peer about itself (the ``cmr_data`` key).

    Across models, Juju shows a related app under an alias (``remote-<uuid>``); this
    gives the peer the app's real name and its model, which is its namespace.

    Attributes:
        app_name: the application's name in its own model.
        juju_model_name: the application's model.
    """

    model_config = _WIRE

    app_name: str
    juju_model_name: str


class ServiceMeshProviderAppData(pydantic.BaseModel):
    """The provider's app databag: labels that put a workload on the mesh, and the mesh type.

    On the wire each value is JSON-encoded: ``labels`` as a JSON object and
    ``mesh_type`` as a JSON string.

    Attributes:
        labels: labels to set on the consumer's pods and Service.
        mesh_type: the mesh the provider runs.
    """

    model_config = _WIRE

    labels: dict[str, str]
    mesh_type: MeshType

    @pydantic.field_validator("labels")
    @classmethod
    def _check_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return check_labels(labels, field="")

    def databag(self) -> dict[str, str]:
        """The app databag content, byte for byte what the ecosystem provider writes."""
        return {"labels": json.dumps(self.labels), "mesh_type": json.dumps(self.mesh_type.value)}
