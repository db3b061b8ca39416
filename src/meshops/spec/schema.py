"""The platform file's schema, ``meshops.io/v1alpha1``: what each key holds.

Pydantic models, frozen and strict: an unknown key is an error, ``"8080"`` is not a
port and ``yes`` is not a boolean. Values that the domain model also checks (ports,
paths, hosts, methods) are checked here with the model's own functions, so the file
and the model reject the same things with the same words.

The keys of sections a later version will read (``spec.istio``, ``spec.ingress``,
``spec.hardened``) are known, and refused as not supported yet rather than unknown.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

import pydantic
from pydantic import AfterValidator, BeforeValidator, Field

import meshops
from meshops.model import mesh
from meshops.spec.errors import quote

__all__ = [
    "API_VERSION",
    "KIND",
    "RESERVED",
    "AcceptSpec",
    "AppSpec",
    "Metadata",
    "NamespaceSpec",
    "PlatformFile",
    "PlatformSpec",
    "PortSpec",
]

#: The apiVersion this version of meshops reads.
API_VERSION = "meshops.io/v1alpha1"
#: The kind of a platform file.
KIND = "Platform"
#: Keys of ``spec`` kept for sections a later version will read.
RESERVED = ("istio", "ingress", "hardened")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _label(what: str, *, letter_first: bool = False) -> Callable[[str], str]:
    """A check that a name is a DNS label (RFC 1123; RFC 1035 with ``letter_first``)."""
    pattern = _DNS_1035_LABEL if letter_first else _DNS_LABEL
    ends = (
        "starting with a letter and ending with a letter or digit"
        if letter_first
        else "starting and ending with a letter or digit"
    )

    def check(value: str) -> str:
        if len(value) > 63 or not pattern.fullmatch(value):
            raise ValueError(
                f"{what} {quote(value)} must be a DNS label: at most 63 lowercase letters, "
                f"digits and '-', {ends}"
            )
        return value

    return check


def _service_account(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(
            f"service account {quote(value)} must be a DNS subdomain: lowercase letters, "
            "digits, '-' and '.', at most 253"
        )
    return value


def _model_check(check: Callable[[object, str], object]) -> Callable[[Any], Any]:
    """A validator running one of :mod:`meshops.model.mesh`'s checks on a value."""

    def validate(value: Any) -> Any:
        try:
            check(value, "")
        except ValueError as e:
            raise ValueError(str(e).removeprefix(": ")) from None
        return value

    return validate


def _method(value: str) -> str:
    try:
        return mesh.check_method(value, "").value
    except ValueError as e:
        hint = ""
        if value.upper() in {m.value for m in mesh.Method}:
            hint = f"; did you mean {value.upper()!r}?"
        raise ValueError(str(e).removeprefix(": ") + hint) from None


def _one_of(options: Any, what: str) -> Callable[[Any], Any]:
    """A check that a value is one of a ``Literal``'s options, suggesting the closest."""
    choices: tuple[str, ...] = get_args(options)

    def check(value: Any) -> Any:
        if isinstance(value, str) and value in choices:
            return value
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{what} {quote(value)} must be one of {known}{hint}")

    return check


def _caller(value: str) -> str:
    """Check a ``from`` entry: ``app`` (same namespace) or ``namespace/app``."""
    if "*" in value:
        raise ValueError(
            f"caller {quote(value)}: wildcards are not supported yet; list the calling apps"
        )
    parts = value.split("/")
    if len(parts) > 2:
        raise ValueError(f"caller {quote(value)} must be 'app' or 'namespace/app'")
    if len(parts) == 2:
        _label("namespace")(parts[0])
    _label("app name", letter_first=True)(parts[-1])
    return value


MeshModeName = Literal["ambient", "off"]
ProtocolName = Literal["http", "grpc", "tcp"]
LevelName = Literal["l7", "l4"]

Port = Annotated[int, BeforeValidator(_model_check(mesh.check_port))]
NamespaceName = Annotated[str, AfterValidator(_label("namespace"))]
AppName = Annotated[str, AfterValidator(_label("app name", letter_first=True))]
Caller = Annotated[str, AfterValidator(_caller)]
HttpMethod = Annotated[str, AfterValidator(_method)]
HttpPath = Annotated[str, AfterValidator(_model_check(mesh.check_path))]
Host = Annotated[str, AfterValidator(_model_check(mesh.check_host))]


class _Spec(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", strict=True)


class Metadata(_Spec):
    """``metadata``: the platform's name, which starts the names of its policies."""

    name: Annotated[str, AfterValidator(_label("platform name"))]


class NamespaceSpec(_Spec):
    """``spec.namespaces[]``: a namespace and whether it is on the mesh."""

    name: NamespaceName
    mesh: Annotated[MeshModeName, BeforeValidator(_one_of(MeshModeName, "mesh"))] = "ambient"


class PortSpec(_Spec):
    """``spec.apps[].ports[]``: a port of the app's Service and what it speaks."""

    port: Port
    protocol: Annotated[ProtocolName, BeforeValidator(_one_of(ProtocolName, "protocol"))] = "tcp"


class AcceptSpec(_Spec):
    """``spec.apps[].accepts[]``: calls the app accepts."""

    from_: Annotated[list[Caller], Field(alias="from", min_length=1)]
    level: Annotated[LevelName, BeforeValidator(_one_of(LevelName, "level"))] = "l7"
    ports: list[Port] = []
    methods: list[HttpMethod] = []
    paths: list[HttpPath] = []
    hosts: list[Host] = []


class AppSpec(_Spec):
    """``spec.apps[]``: a workload, its ports, and the calls it accepts."""

    name: AppName
    namespace: NamespaceName
    service_account: Annotated[
        str | None, AfterValidator(lambda v: v if v is None else _service_account(v))
    ] = Field(default=None, alias="serviceAccount")
    ports: list[PortSpec] = []
    accepts: list[AcceptSpec] = []


class PlatformSpec(_Spec):
    """``spec``: the namespaces and apps (and, later, Istio and ingress)."""

    namespaces: list[NamespaceSpec] = []
    apps: list[AppSpec] = []
    istio: object = None
    ingress: object = None
    hardened: object = None

    @pydantic.field_validator(*RESERVED, mode="before")
    @classmethod
    def refuse_reserved(cls, value: object, info: pydantic.ValidationInfo) -> object:
        """Refuse the sections a later version will read, saying so."""
        raise ValueError(
            f"{info.field_name!r} is not supported yet by meshops {meshops.__version__} "
            "(it reads namespaces and apps); remove it"
        )


def _api_version(value: str) -> str:
    if value != API_VERSION:
        raise ValueError(
            f"apiVersion {quote(value)} is not supported: "
            f"meshops {meshops.__version__} reads {API_VERSION!r}"
        )
    return value


def _kind(value: str) -> str:
    if value != KIND:
        raise ValueError(f"kind {quote(value)} must be {KIND!r}")
    return value


class PlatformFile(_Spec):
    """A whole platform file."""

    api_version: Annotated[str, AfterValidator(_api_version)] = Field(alias="apiVersion")
    kind: Annotated[str, AfterValidator(_kind)]
    metadata: Metadata
    spec: PlatformSpec
