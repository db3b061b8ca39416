"""Resource types the fake serves: built-in kinds and those defined by CRDs.

A :class:`ResourceType` is one served ``group/version/plural``: its kind, scope, naming
rule, compiled schema and whether it has a status subresource. Objects are stored per
``(group, plural)``, whatever version they were written in (CRD versions convert with
strategy ``None``: only ``apiVersion`` differs).

:func:`parse_crd` turns a CustomResourceDefinition into the resource types of its served
versions. Compiled schemas are cached by the content of their ``openAPIV3Schema``, so a
test suite that installs the same CRDs into a fresh fake per test compiles each once.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import pickle
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from meshops.testing.fake_kubernetes.errors import ErrorType, FieldError, NotSupportedError
from meshops.testing.fake_kubernetes.meta import NameRule
from meshops.testing.fake_kubernetes.schema import Node, SchemaError, compile_schema
from meshops.testing.fake_kubernetes.values import as_dict

__all__ = [
    "CrdDefinition",
    "InvalidCrdError",
    "Prepare",
    "ResourceType",
    "YamlLoader",
    "load_documents",
    "load_yaml",
    "parse_crd",
]

#: A built-in kind's server-side defaulting: ``(new, old, allocate_cluster_ip)``.
Prepare = Callable[[dict[str, Any], "dict[str, Any] | None", Callable[[], str]], None]


@dataclasses.dataclass(frozen=True, eq=False)
class ResourceType:
    """One served resource: ``/apis/<group>/<version>/<plural>``.

    Attributes:
        group: API group ("" for the core group).
        version: API version.
        kind: object kind.
        plural: resource name in URLs.
        singular: lower-case singular name.
        namespaced: whether objects live in namespaces.
        name_rule: the rule object names must satisfy.
        schema: the compiled schema (permissive for built-in kinds).
        status_subresource: whether ``.status`` is written only through ``/status``.
        crd: the name of the defining CRD (None for built-in kinds).
        short_names: ``kubectl`` short names.
        prepare: server-side defaulting of a built-in kind, if any.
        generation: whether objects carry ``metadata.generation`` (custom resources and
            the built-in kinds with a spec a controller acts on do; ConfigMaps do not).
    """

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    name_rule: NameRule
    schema: Node
    status_subresource: bool
    crd: str | None = None
    short_names: tuple[str, ...] = ()
    prepare: Prepare | None = None
    generation: bool = True

    @property
    def api_version(self) -> str:
        """``group/version``, or the version alone for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """``plural.group`` as error messages name it (``pods`` for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        """The kind of list responses."""
        return f"{self.kind}List"

    @property
    def store_key(self) -> tuple[str, str]:
        """Where objects of this resource live, whatever their version."""
        return (self.group, self.plural)


@dataclasses.dataclass(frozen=True)
class CrdDefinition:
    """What a CustomResourceDefinition defines.

    Attributes:
        name: the CRD's name (``<plural>.<group>``).
        group: the API group.
        kind: the kind.
        plural: the plural resource name.
        namespaced: the scope.
        versions: the served versions' resource types.
    """

    name: str
    group: str
    kind: str
    plural: str
    namespaced: bool
    versions: tuple[ResourceType, ...]


class InvalidCrdError(ValueError):
    """A CustomResourceDefinition the fake cannot install; ``errors`` lists why."""

    def __init__(self, name: str, errors: list[FieldError]) -> None:
        self.name = name
        self.errors = errors
        super().__init__(
            f"CustomResourceDefinition {name!r} is invalid: " + "; ".join(map(str, errors))
        )


_cache: dict[bytes, Node] = {}
_digests: collections.OrderedDict[int, tuple[Mapping[str, Any], bytes]] = collections.OrderedDict()
_cache_lock = threading.Lock()
_MAX_DIGESTS = 1024


def _digest(schema: Mapping[str, Any]) -> bytes:
    """A content hash of a schema, remembered per schema object.

    Installed CRDs are treated as read-only, so the same dict installed into many fakes
    is hashed once.
    """
    with _cache_lock:
        known = _digests.get(id(schema))
        if known is not None and known[0] is schema:
            _digests.move_to_end(id(schema))
            return known[1]
    digest = hashlib.sha1(pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL)).digest()
    with _cache_lock:
        _digests[id(schema)] = (schema, digest)
        if len(_digests) > _MAX_DIGESTS:
            _digests.popitem(last=False)
    return digest


def _compiled(schema: Mapping[str, Any], where: str) -> Node:
    digest = _digest(schema)
    with _cache_lock:
        node = _cache.get(digest)
    if node is None:
        node = compile_schema(schema, where=where)
        with _cache_lock:
            _cache[digest] = node
    return node


_file_cache: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLoader(_BaseLoader):
    """A safe YAML loader that keeps timestamps as strings, as Kubernetes does.

    YAML decodes ``2024-01-01T00:00:00Z`` as a datetime; Kubernetes (and JSON) keep it
    a string.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def load_yaml(content: str | bytes) -> list[Any]:
    """Every document of a YAML stream, timestamps kept as strings."""
    return list(yaml.load_all(content, Loader=YamlLoader))


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of a file, parsed once per process (per path, mtime and size).

    The documents are shared between callers: treat them as read-only.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _file_cache.get(key)
    if cached is None:
        cached = [d for d in load_yaml(path.read_bytes()) if d is not None]
        with _cache_lock:
            _file_cache[key] = cached
    return cached


def _get(doc: Mapping[str, Any], *path: str) -> Any:
    value: Any = doc
    for key in path:
        mapping = as_dict(value)
        if mapping is None:
            return None
        value = mapping.get(key)
    return value


def parse_crd(doc: Mapping[str, Any]) -> CrdDefinition:
    """The resource types a CustomResourceDefinition (apiextensions.k8s.io/v1) defines.

    Raises:
        InvalidCrdError: required fields are missing, the name is not ``<plural>.<group>``,
            or a served version's schema does not compile (including its CEL rules).
        NotSupportedError: the CRD asks for webhook conversion.
    """
    name = str(_get(doc, "metadata", "name") or "")
    errors: list[FieldError] = []
    group = _get(doc, "spec", "group")
    kind = _get(doc, "spec", "names", "kind")
    plural = _get(doc, "spec", "names", "plural")
    scope = _get(doc, "spec", "scope")
    for value, field in (
        (group, "spec.group"),
        (kind, "spec.names.kind"),
        (plural, "spec.names.plural"),
    ):
        if not isinstance(value, str) or not value:
            errors.append(FieldError(ErrorType.REQUIRED, field))
    if scope not in ("Namespaced", "Cluster"):
        errors.append(
            FieldError(
                ErrorType.NOT_SUPPORTED, "spec.scope", scope, supported=("Cluster", "Namespaced")
            )
        )
    if not errors and name != f"{plural}.{group}":
        errors.append(
            FieldError(
                ErrorType.INVALID,
                "metadata.name",
                name,
                f'must be spec.names.plural+"."+spec.group ({plural}.{group})',
            )
        )
    versions = _get(doc, "spec", "versions")
    if not isinstance(versions, list) or not versions:
        errors.append(
            FieldError(
                ErrorType.REQUIRED, "spec.versions", detail="must have at least one version"
            )
        )
        versions = []
    if errors:
        raise InvalidCrdError(name, errors)
    strategy = _get(doc, "spec", "conversion", "strategy")
    if strategy not in (None, "None"):
        raise NotSupportedError(
            f"CRD {name}: conversion strategy {strategy!r} is not supported by the fake"
        )
    assert isinstance(group, str)
    assert isinstance(kind, str)
    assert isinstance(plural, str)
    singular = str(_get(doc, "spec", "names", "singular") or kind.lower())
    short_names = tuple(_get(doc, "spec", "names", "shortNames") or ())
    served: list[ResourceType] = []
    storage = 0
    for i, version in enumerate(versions):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        where = f"spec.versions[{i}]"
        if not isinstance(version, Mapping) or not isinstance(version.get("name"), str):  # pyright: ignore[reportUnknownMemberType]
            errors.append(FieldError(ErrorType.REQUIRED, f"{where}.name"))
            continue
        storage += bool(version.get("storage"))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        if not version.get("served"):  # pyright: ignore[reportUnknownMemberType]
            continue
        schema = _get(version, "schema", "openAPIV3Schema")  # pyright: ignore[reportUnknownArgumentType]
        if not isinstance(schema, Mapping):
            errors.append(FieldError(ErrorType.REQUIRED, f"{where}.schema.openAPIV3Schema"))
            continue
        try:
            node = _compiled(schema, "")  # pyright: ignore[reportUnknownArgumentType]
        except SchemaError as e:
            if e.error is not None:
                # one version's schema is the CRD's: the API server names it spec.validation
                base = "spec.validation" if len(versions) == 1 else f"{where}.schema"  # pyright: ignore[reportUnknownArgumentType]
                errors.append(
                    dataclasses.replace(e.error, field=f"{base}.openAPIV3Schema{e.error.field}")
                )
            else:
                errors.append(
                    FieldError(ErrorType.INVALID, f"{where}.schema.openAPIV3Schema", detail=str(e))
                )
            continue
        served.append(
            ResourceType(
                group=group,
                version=str(version["name"]),  # pyright: ignore[reportUnknownArgumentType]
                kind=kind,
                plural=plural,
                singular=singular,
                namespaced=scope == "Namespaced",
                name_rule=NameRule.SUBDOMAIN,
                schema=node,
                status_subresource=_get(version, "subresources", "status") is not None,  # pyright: ignore[reportUnknownArgumentType]
                crd=name,
                short_names=short_names,
            )
        )
    if storage != 1:
        errors.append(
            FieldError(
                ErrorType.INVALID,
                "spec.versions",
                detail="must have exactly one version marked as storage version",
            )
        )
    if errors:
        raise InvalidCrdError(name, errors)
    return CrdDefinition(name, group, kind, plural, scope == "Namespaced", tuple(served))
