"""The log of requests the fake answered, and fault injection.

Every HTTP request the fake sees is recorded as a :class:`Request` (after it is
answered, with the status code it got). Tests count reads and writes, and check the
query (``fieldManager``, ``force``, ``labelSelector``, ``dryRun``, ...) and body of
what reached the API.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from meshops.testing.fake_kubernetes.resources import load_yaml

__all__ = ["Fault", "Request"]

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclasses.dataclass(frozen=True)
class Request:
    """One request the fake answered.

    Attributes:
        method: the HTTP method (``GET``, ``POST``, ``PUT``, ``PATCH``, ``DELETE``).
        path: the URL path, e.g. ``/apis/gateway.networking.k8s.io/v1/namespaces/a/gateways/gw``.
        query: the query parameters (the last value of each).
        content_type: the request's Content-Type (None without a body).
        status: the HTTP status code of the answer.
        content: the raw request body.
    """

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str | None
    status: int
    content: bytes = dataclasses.field(default=b"", repr=False)

    @property
    def is_write(self) -> bool:
        """Whether the request was a write (POST, PUT, PATCH or DELETE)."""
        return self.method in _WRITE_METHODS

    @property
    def body(self) -> Any:
        """The decoded request body (JSON, or YAML for apply patches); None without one."""
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            documents = load_yaml(self.content)
            return documents[0] if len(documents) == 1 else documents

    @property
    def verb(self) -> str:
        """The Kubernetes verb: get, list, create, update, patch, apply, delete, ...."""
        named = _has_name(self.path)
        match self.method:
            case "GET":
                return "get" if named else "list"
            case "POST":
                return "create"
            case "PUT":
                return "update"
            case "PATCH":
                return (
                    "apply"
                    if (self.content_type or "").startswith("application/apply-patch")
                    else "patch"
                )
            case "DELETE":
                return "delete" if named else "deletecollection"
            case _:
                return self.method.lower()


def _has_name(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        rest = rest[2:]
    return len(rest) >= 2


@dataclasses.dataclass
class Fault:
    """A pending injected failure (``FakeKubernetes.fail_next``, ``delay_next``, ...).

    Attributes:
        method: the HTTP method to fail, or ``*`` for any.
        path_contains: a substring the request path must contain.
        status: the HTTP status code to answer with (0: the request is delayed or
            dropped instead).
        times: how many more matching requests to fail.
        message: the Status message.
        retry_after: seconds for a ``Retry-After`` header, if any.
        delay: seconds the request takes (``inf``: it is never answered).
        took_effect: for a delayed request the client gave up on, whether the server
            carried it out anyway (a write made, its answer lost).
        disconnect: the request never reaches the server (connection refused).
    """

    method: str
    path_contains: str
    status: int
    times: int
    message: str
    retry_after: int | None = None
    delay: float = 0.0
    took_effect: bool = False
    disconnect: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path should fail."""
        return self.times > 0 and self.method in ("*", method) and self.path_contains in path
