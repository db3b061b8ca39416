"""Object metadata rules: names, labels, annotations, the fields of ObjectMeta.

Messages follow the API server's wording (``k8s.io/apimachinery`` validation), so an
error from the fake reads like the one a real cluster would give.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from typing import Any

from meshops.testing.fake_kubernetes.errors import ErrorType, FieldError

__all__ = [
    "SERVER_MANAGED",
    "NameRule",
    "label_value_errors",
    "name_errors",
    "qualified_name_errors",
    "unknown_metadata",
    "validate_metadata",
]

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_FMT + ")?"

_LABEL = re.compile(_LABEL_FMT)
_SUBDOMAIN = re.compile(_SUBDOMAIN_FMT)
_DNS1035 = re.compile(_DNS1035_FMT)
_QUALIFIED = re.compile(_QUALIFIED_FMT)
_LABEL_VALUE = re.compile(_LABEL_VALUE_FMT)

_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL_FMT}')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN_FMT}')"
)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035_FMT}')"
)
_QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_QUALIFIED_FMT}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE_FMT}')"
)

#: Metadata fields the server owns: ignored in requests, never tracked as managed fields.
SERVER_MANAGED = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)

_KNOWN_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
        *SERVER_MANAGED,
    }
)
_MAX_ANNOTATIONS_BYTES = 256 * 1024


class NameRule(enum.Enum):
    """Which rule an object's name must satisfy."""

    SUBDOMAIN = "DNS-1123 subdomain"
    LABEL = "DNS-1123 label"
    DNS1035 = "DNS-1035 label"
    PATH_SEGMENT = "path segment"


@functools.lru_cache(maxsize=4096)
def name_errors(name: str, rule: NameRule) -> tuple[str, ...]:
    """Why ``name`` is not a valid object name under ``rule`` (empty when it is)."""
    return tuple(_name_errors(name, rule))


def _name_errors(name: str, rule: NameRule) -> list[str]:
    match rule:
        case NameRule.SUBDOMAIN:
            errors = [] if _SUBDOMAIN.fullmatch(name) else [_SUBDOMAIN_MSG]
            if len(name) > 253:
                errors.insert(0, "must be no more than 253 characters")
            return errors
        case NameRule.LABEL:
            errors: list[str] = []
            if not _LABEL.fullmatch(name):
                # apimachinery's IsDNS1123Label: a valid subdomain that is not a label
                # (the length is checked apart) can only have dots in it
                dotted = _SUBDOMAIN.fullmatch(name)
                errors.append("must not contain dots" if dotted else _LABEL_MSG)
            if len(name) > 63:
                errors.insert(0, "must be no more than 63 characters")
            return errors
        case NameRule.DNS1035:
            errors = [] if _DNS1035.fullmatch(name) else [_DNS1035_MSG]
            if len(name) > 63:
                errors.insert(0, "must be no more than 63 characters")
            return errors
        case NameRule.PATH_SEGMENT:
            if name in (".", ".."):
                return [f"may not be '{name}'"]
            return [f"may not contain '{c}'" for c in "/%" if c in name]


@functools.lru_cache(maxsize=4096)
def qualified_name_errors(key: str) -> tuple[str, ...]:
    """Why ``key`` is not a qualified name (``[prefix/]name``), as label keys must be."""
    return tuple(_qualified_name_errors(key))


def _qualified_name_errors(key: str) -> list[str]:
    parts = key.split("/")
    if len(parts) == 1:
        prefix, name = "", parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ["prefix part must be non-empty"]
    else:
        return [
            "a qualified name " + _QUALIFIED_MSG + " with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    errors: list[str] = []
    if prefix:
        errors += ["prefix part " + m for m in name_errors(prefix, NameRule.SUBDOMAIN)]
    if not name:
        errors.append("name part must be non-empty")
    else:
        if len(name) > 63:
            errors.append("name part must be no more than 63 characters")
        if not _QUALIFIED.fullmatch(name):
            errors.append("name part " + _QUALIFIED_MSG)
    return errors


@functools.lru_cache(maxsize=4096)
def label_value_errors(value: str) -> tuple[str, ...]:
    """Why ``value`` is not a valid label value (empty when it is)."""
    return tuple(_label_value_errors(value))


def _label_value_errors(value: str) -> list[str]:
    errors: list[str] = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(value):
        errors.append(_LABEL_VALUE_MSG)
    return errors


def validate_metadata(
    meta: Any,
    *,
    rule: NameRule,
    namespaced: bool,
    name_required: bool = True,
    unknown: list[str] | None = None,
) -> list[FieldError]:
    """Check an object's ``metadata`` (name, namespace, labels, annotations, ...).

    Args:
        meta: the ``metadata`` value of the object.
        rule: the name rule of the object's kind.
        namespaced: whether the kind lives in a namespace.
        name_required: False for embedded objects, whose name is optional.
        unknown: when given, undeclared fields are removed from ``meta`` and their paths
            appended here (the API server's field validation) instead of refused.
    """
    if not isinstance(meta, Mapping):
        return [FieldError(ErrorType.TYPE_INVALID, "metadata", meta, "must be an object")]
    errors: list[FieldError] = []
    for key in list(meta):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if key not in _KNOWN_FIELDS:
            if unknown is not None and isinstance(meta, dict):
                unknown.append(f"metadata.{key}")
                del meta[key]
                continue
            errors.append(
                FieldError(
                    ErrorType.FORBIDDEN, f"metadata.{key}", detail="field not declared in schema"
                )
            )
    name = meta.get("name")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if name is None or name == "":
        if name_required:
            errors.append(
                FieldError(
                    ErrorType.REQUIRED, "metadata.name", detail="name or generateName is required"
                )
            )
    elif not isinstance(name, str):
        errors.append(
            FieldError(ErrorType.TYPE_INVALID, "metadata.name", name, "must be a string")
        )
    else:
        errors += [
            FieldError(ErrorType.INVALID, "metadata.name", name, m)
            for m in name_errors(name, rule)
        ]
    namespace = meta.get("namespace")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if namespace not in (None, "") and not namespaced:
        errors.append(
            FieldError(
                ErrorType.FORBIDDEN, "metadata.namespace", detail="not allowed on this type"
            )
        )
    errors += _string_map(meta.get("labels"), "metadata.labels", labels=True)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    errors += _string_map(meta.get("annotations"), "metadata.annotations", labels=False)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    finalizers = meta.get("finalizers")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)  # pyright: ignore[reportUnknownVariableType]
    ):
        errors.append(
            FieldError(
                ErrorType.TYPE_INVALID,
                "metadata.finalizers",
                finalizers,
                "must be a list of strings",
            )
        )
    owners = meta.get("ownerReferences")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if owners is not None:
        if not isinstance(owners, list):
            errors.append(
                FieldError(
                    ErrorType.TYPE_INVALID, "metadata.ownerReferences", owners, "must be a list"
                )
            )
        else:
            for i, ref in enumerate(owners):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
                path = f"metadata.ownerReferences[{i}]"
                if not isinstance(ref, Mapping):
                    errors.append(
                        FieldError(ErrorType.TYPE_INVALID, path, ref, "must be an object")
                    )
                    continue
                for field in ("apiVersion", "kind", "name", "uid"):
                    if not ref.get(field):  # pyright: ignore[reportUnknownMemberType]
                        errors.append(FieldError(ErrorType.REQUIRED, f"{path}.{field}"))
    return errors


def _string_map(value: Any, path: str, *, labels: bool) -> list[FieldError]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [FieldError(ErrorType.TYPE_INVALID, path, value, "must be an object of strings")]
    errors: list[FieldError] = []
    size = 0
    for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(key, str) or not isinstance(item, str):
            errors.append(
                FieldError(
                    ErrorType.TYPE_INVALID, path, item, f"value of {key!r} must be a string"
                )
            )
            continue
        errors += [FieldError(ErrorType.INVALID, path, key, m) for m in qualified_name_errors(key)]
        if labels:
            errors += [
                FieldError(ErrorType.INVALID, path, item, m) for m in label_value_errors(item)
            ]
        size += len(key) + len(item)
    if not labels and size > _MAX_ANNOTATIONS_BYTES:
        errors.append(
            FieldError(
                ErrorType.TOO_LONG,
                path,
                detail=f"must have at most {_MAX_ANNOTATIONS_BYTES} bytes",
            )
        )
    return errors


def unknown_metadata(meta: Mapping[str, Any]) -> list[str]:
    """The paths of the fields of ``meta`` that ObjectMeta does not declare."""
    return [f"metadata.{key}" for key in meta if key not in _KNOWN_FIELDS]
