"""Typed Kubernetes errors that carry their retry meaning.

Callers never see lightkube's or httpx's exceptions: :func:`translate` turns them into
one of the classes below. ``temporary`` says whether trying again later may help (the
reconciler already retried a few times with backoff before raising one); a charm turns a
temporary error into ``WaitingStatus`` and a permanent one into ``BlockedStatus``.
"""

from __future__ import annotations

import math
from typing import Any, cast

__all__ = [
    "Conflict",
    "CrdMissing",
    "DeadlineExceeded",
    "Forbidden",
    "Invalid",
    "KubernetesError",
    "NotFound",
    "Unavailable",
    "from_status",
    "gateway_api_channel",
    "install_hint",
]


class KubernetesError(Exception):
    """Base class: a request to the Kubernetes API failed.

    Attributes:
        code: the HTTP status code (0 when no answer came).
        reason: the Kubernetes ``Status.reason`` (e.g. ``"NotFound"``), if any.
        temporary: whether trying again later may succeed.
        retry_after: how long the server asked us to wait before trying again, if it did.
    """

    temporary = False

    def __init__(
        self, message: str, *, code: int = 0, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.retry_after = retry_after


class NotFound(KubernetesError):
    """The object, or its namespace, does not exist (404)."""


#: The Gateway API release whose CRDs the project carries and renders for.
GATEWAY_API_VERSION = "v1.5.1"
#: Gateway API kinds only its experimental channel has (TCPRoute, UDPRoute...).
_EXPERIMENTAL = ("tcproutes", "udproutes", "xbackendtrafficpolicies", "xmeshes")


def gateway_api_channel(crd: str) -> str | None:
    """The Gateway API channel that carries the CRD ``crd``; None if not the Gateway API's.

    Example:
        >>> gateway_api_channel("httproutes.gateway.networking.k8s.io")
        'standard'
        >>> gateway_api_channel("tcproutes.gateway.networking.k8s.io")
        'experimental'
        >>> gateway_api_channel("authorizationpolicies.security.istio.io") is None
        True
    """
    plural, _, group = crd.partition(".")
    if group.endswith("gateway.networking.k8s.io") or group.endswith(
        "gateway.networking.x-k8s.io"
    ):
        return "experimental" if plural in _EXPERIMENTAL else "standard"
    return None


def install_hint(crd: str) -> str:
    """How to install the CRD ``crd``, naming the project that publishes it.

    Example:
        >>> install_hint("tcproutes.gateway.networking.k8s.io").split(":")[0]
        "it is the Kubernetes Gateway API's, in its experimental channel"
        >>> install_hint("authorizationpolicies.security.istio.io").split(":")[0]
        "it is Istio's"
    """
    channel = gateway_api_channel(crd)
    if channel is not None:
        return (
            f"it is the Kubernetes Gateway API's, in its {channel} channel: install the "
            f"Gateway API {GATEWAY_API_VERSION} CRDs (kubectl apply --server-side -f "
            f"{channel}-install.yaml of the kubernetes-sigs/gateway-api release)"
        )
    if crd.partition(".")[2].endswith("istio.io"):
        return (
            "it is Istio's: install Istio (istioctl install -f the IstioOperator meshops "
            "render -o DIR writes, or the istio-k8s charm)"
        )
    return "install the project that defines it"


class CrdMissing(NotFound):
    """The kind is not served: its CustomResourceDefinition is not installed.

    Attributes:
        crd: the CRD's name, e.g. ``"gateways.gateway.networking.k8s.io"``.
    """

    def __init__(self, crd: str, hint: str = "") -> None:
        how = hint or install_hint(crd)
        super().__init__(f"CRD {crd} is not installed; {how}", code=404, reason="NotFound")
        self.crd = crd


class Conflict(KubernetesError):
    """Another field manager owns a field we apply, or the object changed under us (409)."""


class Forbidden(KubernetesError):
    """Our service account may not do this (403); usually a missing ``--trust``."""


class Invalid(KubernetesError):
    """The API server rejected the object (422); ``causes`` lists the fields and rules.

    Attributes:
        causes: the ``details.causes`` entries of the Status: ``field`` and ``message``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = 422,
        reason: str = "Invalid",
        causes: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, code=code, reason=reason)
        self.causes = causes or []


class Unavailable(KubernetesError):
    """The API server could not be reached, timed out, throttled us or failed (429/5xx)."""

    temporary = True


class DeadlineExceeded(Unavailable):
    """The time for this hook's requests is spent (see :mod:`meshops.k8s.deadline`).

    Attributes:
        last: the error of the last request, when one failed before the time ran out.
    """

    #: What a charm says while it waits for the next event.
    STATUS = "the Kubernetes API did not answer in time; retrying on the next event"

    def __init__(self, seconds: float | None, last: KubernetesError | None = None) -> None:
        budget = f" within {seconds:g} s" if seconds is not None else ""
        why = f" (last: {last.message})" if last is not None else ""
        super().__init__(
            f"the Kubernetes API did not answer{budget}{why}",
            code=last.code if last is not None else 0,
            reason=last.reason if last is not None else "",
        )
        self.last = last


#: How the API server begins the 500 it answers an apply it cannot turn into a typed object.
TYPED_PATCH_FAILED = "failed to create typed patch object"


def from_status(status: dict[str, Any]) -> KubernetesError:
    """The typed error for a Kubernetes ``Status`` body."""
    code = int(status.get("code") or 0)
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or reason or f"HTTP {code}")
    raw = status.get("details")
    details = cast("dict[str, Any]", raw) if isinstance(raw, dict) else {}
    retry_after = details.get("retryAfterSeconds")
    if code == 404:
        return NotFound(message, code=code, reason=reason)
    if code == 409:
        return Conflict(message, code=code, reason=reason)
    if code == 403:
        return Forbidden(message, code=code, reason=reason)
    if code in (400, 422):
        found = details.get("causes")
        causes = cast("list[Any]", found) if isinstance(found, list) else []
        return Invalid(
            message,
            code=code,
            reason=reason,
            causes=[cast("dict[str, Any]", c) for c in causes if isinstance(c, dict)],
        )
    if code == 500 and message.startswith(TYPED_PATCH_FAILED):
        # An apply whose object cannot be typed (a keyed list with a key twice): the
        # server says 500, but asking again gets the same answer; it is the object.
        return Invalid(message, code=code, reason=reason or "Invalid")
    if code == 429 or code >= 500:
        wait: float | None = None
        if isinstance(retry_after, (int, float)) and math.isfinite(retry_after):
            wait = float(retry_after)
        return Unavailable(message, code=code, reason=reason, retry_after=wait)
    return KubernetesError(message, code=code, reason=reason)
