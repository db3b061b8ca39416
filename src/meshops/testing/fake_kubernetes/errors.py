"""Failure answers of the fake API server, shaped like the real server's.

A handler raises :class:`StatusError`; the server turns it into a JSON ``Status`` body
with ``Content-Type: application/json`` (lightkube only raises its ``ApiError`` for that
exact content type). Validation problems are :class:`FieldError` values, rendered the way
the API server renders ``field.Error`` (``spec.port: Invalid value: 0: ...``) and listed
as ``details.causes``.

:class:`NotSupportedError` is different: it is raised straight through the transport to
the test when a request needs a Kubernetes feature the fake does not implement (watch,
most subresources, ...), so no test passes by accident.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

from meshops.testing.fake_kubernetes.values import JSON, MISSING, format_value

__all__ = [
    "REASONS",
    "ErrorType",
    "FieldError",
    "MapKey",
    "NotSupportedError",
    "Path",
    "PathElement",
    "StatusError",
    "render_path",
]


class MapKey(str):
    """A key of a map (``additionalProperties``) in a field path.

    CEL rule failures name it as the API server's ``field.Path.Key`` does
    (``matchLabels[app]``); schema errors name it like a property (``matchLabels.app``).
    """

    __slots__ = ()


#: One step of a field path: a property name, a map key or a list index.
PathElement = str | int
Path = tuple[PathElement, ...]


class NotSupportedError(NotImplementedError):
    """A request needs a Kubernetes API feature the fake does not implement."""


class ErrorType(enum.Enum):
    """The kinds of field errors, valued by their ``Status`` cause reason."""

    REQUIRED = "FieldValueRequired"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    DUPLICATE = "FieldValueDuplicate"
    TYPE_INVALID = "FieldValueTypeInvalid"


def render_path(path: Path, *, keys: bool = False) -> str:
    """A field path as Kubernetes prints it: ``spec.listeners[0].port``.

    Args:
        path: the elements.
        keys: render :class:`MapKey` elements as ``[key]`` (as CEL rule failures do).
    """
    out: list[str] = []
    for element in path:
        if isinstance(element, int) or (keys and isinstance(element, MapKey)):
            out.append(f"[{element}]")
        elif out:
            out.append("." + element)
        else:
            out.append(element)
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request's object.

    Attributes:
        type: what is wrong.
        field: the field path, e.g. ``"spec.listeners[0].port"``.
        value: the offending value (``MISSING`` when the message quotes none).
        detail: the explanation after the value.
        supported: for ``NOT_SUPPORTED``, the allowed values.
    """

    type: ErrorType
    field: str
    value: JSON = MISSING
    detail: str = ""
    supported: tuple[JSON, ...] = ()

    def body(self) -> str:
        """The message without the field, e.g. ``Invalid value: "x": must be ...``."""
        detail = f": {self.detail}" if self.detail else ""
        value = "" if self.value is MISSING else f": {format_value(self.value)}"
        match self.type:
            case ErrorType.REQUIRED:
                return f"Required value{detail}"
            case ErrorType.FORBIDDEN:
                return f"Forbidden{detail}"
            case ErrorType.NOT_SUPPORTED:
                allowed = ", ".join(format_value(v) for v in self.supported)
                return f"Unsupported value{value}: supported values: {allowed}"
            case ErrorType.TOO_LONG:
                return f"Too long{detail}"
            case ErrorType.TOO_MANY:
                return f"Too many{value}{detail}"
            case ErrorType.DUPLICATE:
                return f"Duplicate value{value}{detail}"
            case ErrorType.INVALID | ErrorType.TYPE_INVALID:
                return f"Invalid value{value}{detail}"

    def cause(self) -> dict[str, str]:
        """The ``details.causes`` entry for this error."""
        return {"reason": self.type.value, "message": self.body(), "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


class StatusError(Exception):
    """A failure the fake API server answers with a Kubernetes ``Status``.

    Attributes:
        code: the HTTP status code.
        reason: the ``Status.reason`` (``NotFound``, ``Invalid``, ...).
        message: the ``Status.message``.
        details: the ``Status.details`` (name, group, kind, causes), if any.
        headers: extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        plain: bool = False,
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.plain = plain
        """Answered as plain text (``message`` alone), not as a ``Status``."""

    @property
    def status(self) -> dict[str, Any]:
        """The ``Status`` object sent as the response body."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del status["reason"]  # as the server's internal errors have none
        if self.details is not None:
            status["details"] = self.details
        return status

    @property
    def causes(self) -> list[dict[str, str]]:
        """The ``details.causes`` of the Status (empty when there are none)."""
        return list((self.details or {}).get("causes", []))

    # Constructors for the answers the server gives, worded like the real ones.

    @classmethod
    def not_found(cls, resource: str, name: str, group: str, plural: str) -> StatusError:
        """404 for a missing object: ``httproutes.gateway.networking.k8s.io "x" not found``."""
        return cls(
            404,
            "NotFound",
            f'{resource} "{name}" not found',
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def namespace_not_found(cls, namespace: str) -> StatusError:
        """404 for a request into a namespace that does not exist."""
        return cls.not_found("namespaces", namespace, "", "namespaces")

    @classmethod
    def not_served(cls) -> StatusError:
        """404 for a kind the server does not serve (e.g. its CRD is not installed)."""
        return cls(404, "NotFound", "the server could not find the requested resource", {})

    @classmethod
    def page_not_found(cls) -> StatusError:
        """The plain-text 404 of a path no API group handles (nor a CRD's group version)."""
        return cls(404, "NotFound", "404 page not found", plain=True)

    @classmethod
    def already_exists(cls, resource: str, name: str, group: str, plural: str) -> StatusError:
        """409 for a create of an object that exists."""
        return cls(
            409,
            "AlreadyExists",
            f'{resource} "{name}" already exists',
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def modified(cls, resource: str, name: str, group: str, plural: str) -> StatusError:
        """409 for a write whose resourceVersion precondition no longer holds."""
        return cls(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again",
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def invalid(
        cls, kind: str, name: str, group: str, errors: Sequence[FieldError]
    ) -> StatusError:
        """422 listing every field error as a cause."""
        rendered = [str(e) for e in errors]
        joined = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
        qualified = f"{kind}.{group}" if group else kind
        return cls(
            422,
            "Invalid",
            f'{qualified} "{name}" is invalid: {joined}',
            {"name": name, "group": group, "kind": kind, "causes": [e.cause() for e in errors]},
        )

    @classmethod
    def bad_request(cls, message: str) -> StatusError:
        """400 for a request the server cannot make sense of."""
        return cls(400, "BadRequest", message)

    @classmethod
    def method_not_allowed(cls, method: str, path: str) -> StatusError:
        """405 for a verb the addressed resource does not support (worded as the server's)."""
        return cls(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            {},
        )

    @classmethod
    def unsupported_media_type(cls, message: str) -> StatusError:
        """415 for a PATCH content type the resource does not accept."""
        return cls(415, "UnsupportedMediaType", message)


#: Default ``reason`` for status codes used in fault injection.
REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
