"""A small, dict-based facade over lightkube with typed errors and bounded retries.

Every Kubernetes call meshops makes goes through :class:`Api`: objects go in and come out
as plain dicts, errors come out as :mod:`meshops.k8s.errors` types, and transient
failures (429, 5xx, 409 on a write that is not a server-side apply, timeouts) are retried
a few times with a short exponential backoff before the typed error reaches the caller.
Every request, timeout and backoff counts against one :class:`~meshops.k8s.deadline.Deadline`
(30 s unless told otherwise); past it, calls raise
:class:`~meshops.k8s.errors.DeadlineExceeded` without sending anything.
:meth:`Api.wait_for` watches one object until a condition holds on it, for a bounded
time within that deadline.
"""

# lightkube's generic resources and client methods are not fully typed; their results
# are turned into plain dicts right here, so the unknowns stop at this module.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx2
from lightkube import Client, operators
from lightkube.core.exceptions import ApiError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.types import PatchType, on_error_stop

from meshops.k8s import client as k8s_client
from meshops.k8s import objects
from meshops.k8s.deadline import Deadline
from meshops.k8s.errors import (
    Conflict,
    CrdMissing,
    DeadlineExceeded,
    KubernetesError,
    NotFound,
    Unavailable,
    from_status,
)
from meshops.k8s.kinds import Kind

__all__ = [
    "MAX_RETRY_AFTER",
    "Api",
    "label_patch",
    "owners_of_labels",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: The longest a Retry-After from the server makes a request wait, in seconds.
MAX_RETRY_AFTER = 5.0
#: How long :meth:`Api.wait_for` watches unless told otherwise, in seconds.
WAIT_SECONDS = 20.0
#: What :meth:`Api.wait_for` leaves of the deadline for the work that follows it.
WAIT_MARGIN = 5.0
Obj = dict[str, Any]


@functools.cache
def _resource(kind: Kind) -> type[Any]:
    """The lightkube class for ``kind``: a built-in model, or a generic (dict) resource."""
    if kind.crd is None:
        return cast("type[Any]", resource_registry.load(kind.api_version, kind.kind))
    create = create_namespaced_resource if kind.namespaced else create_global_resource
    return cast("type[Any]", create(kind.group, kind.version, kind.kind, kind.plural))


def _to_dict(obj: Any) -> Obj:
    if isinstance(obj, dict):
        return cast("Obj", dict(obj))
    return cast("Obj", obj.to_dict())


class Api:
    """Kubernetes access for one field manager.

    Args:
        client: a lightkube client (see :func:`meshops.k8s.client.connect`); give it the
            deadline's :meth:`~meshops.k8s.deadline.Deadline.request_timeout` as its
            ``timeout`` so that each request's timeout fits in what is left.
        field_manager: the server-side apply field manager used for writes.
        retries: how many times a transient failure is retried.
        backoff: the first retry's delay in seconds; each next one doubles it.
        sleep: how to wait between retries (tests pass a no-op).
        deadline: the time every call of this Api (and of the others sharing it) may
            take, requests, timeouts and backoff together: a hook should end, and the
            next event try again, rather than wait for minutes. Default: 30 s from now.
    """

    def __init__(
        self,
        client: Client,
        *,
        field_manager: str,
        retries: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline | None = None,
    ) -> None:
        self.client = client
        self.field_manager = field_manager
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline if deadline is not None else Deadline()
        self._sleep = sleep
        # (how to make a client whose requests time out by another clock: set by connect)
        self._connect: Callable[[Callable[[], float]], Client] | None = None

    @classmethod
    def connect(
        cls,
        *,
        field_manager: str,
        namespace: str | None = None,
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        deadline: Deadline | None = None,
        **kwargs: Any,
    ) -> Api:
        """An :class:`Api` for the configured cluster (or the installed test transport).

        Its client's requests time out within ``deadline`` (default: 30 s from now).
        Under :func:`~meshops.k8s.client.use_transport` with a clock, that clock counts
        the time and waits between retries.
        """
        deadline = deadline if deadline is not None else Deadline()
        installed = k8s_client.installed_clock()
        if installed is not None:
            kwargs.setdefault("sleep", installed.sleep)
        connect = functools.partial(
            k8s_client.connect,
            field_manager=field_manager,
            namespace=namespace,
            kubeconfig=kubeconfig,
            context=context,
        )
        api = cls(
            connect(timeout=deadline.request_timeout),
            field_manager=field_manager,
            deadline=deadline,
            **kwargs,
        )
        api._connect = lambda timeout: connect(timeout=timeout)
        return api

    # -- reads ---------------------------------------------------------------------------

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist.

        Raises:
            CrdMissing: the kind is not served by the cluster.
        """
        res = _resource(kind)
        try:
            obj = self._call(kind, lambda: self.client.get(res, name, namespace=namespace))
        except NotFound as e:
            if isinstance(e, CrdMissing):
                raise
            return None
        return _to_dict(obj)

    def list(
        self,
        kind: Kind,
        namespace: str | None,
        labels: Mapping[str, str | tuple[str, ...]] | None = None,
    ) -> list[Obj]:
        """Objects of ``kind`` in ``namespace`` (every namespace when None) with ``labels``.

        A label given a tuple of values selects objects whose label is one of them
        (``key in (a,b)``).
        """
        res = _resource(kind)
        ns = (
            namespace
            if kind.namespaced and namespace is not None
            else ("*" if kind.namespaced else None)
        )
        selector: Any = (
            {k: v if isinstance(v, str) else operators.in_(sorted(v)) for k, v in labels.items()}
            if labels
            else None
        )

        def run() -> list[Any]:
            return list(self.client.list(res, namespace=ns, labels=selector))

        items = self._call(kind, run)
        result: list[Obj] = []
        for item in items:
            d = _to_dict(item)
            d.setdefault("apiVersion", kind.api_version)
            d.setdefault("kind", kind.kind)
            result.append(d)
        return result

    def wait_for(
        self,
        kind: Kind,
        name: str,
        namespace: str | None,
        condition: Callable[[Obj], bool],
        *,
        seconds: float | None = None,
    ) -> tuple[Obj | None, bool]:
        """Watch one object until ``condition`` holds on it, for at most ``seconds``.

        ``seconds`` defaults to :data:`WAIT_SECONDS` (read at each call).

        Returns as soon as the condition holds (at once when it already does), with
        the object as last seen and whether the condition held. Bounded as well by
        the deadline, less :data:`WAIT_MARGIN` for the work that follows: a hook never
        waits past its budget, and with no time left nothing is watched. No polling:
        one watch request (a new one if the server ends it early), answered event by
        event. A failed watch is a condition that did not hold in time: the next event
        looks again.

        Example:
            >>> programmed = lambda gw: objects.condition_true(gw, "Programmed")
            >>> api.wait_for(GATEWAY, "waypoint", "m", programmed)  # doctest: +SKIP
            ({...}, True)
        """
        wanted = WAIT_SECONDS if seconds is None else seconds
        budget = min(wanted, self.deadline.remaining() - WAIT_MARGIN)
        if budget <= 0:  # no time to watch: just look
            found = self.get(kind, name, namespace)
            return found, found is not None and condition(found)
        bound = Deadline(budget, request_timeout=budget)
        client = self._connect(bound.remaining) if self._connect is not None else self.client
        res = _resource(kind)
        ns = namespace if kind.namespaced else None
        last: Obj | None = None
        fields: Any = {"metadata.name": name}
        timeout = max(1, math.ceil(budget))
        if kind.namespaced:
            events = client.watch(
                res, namespace=ns, fields=fields, server_timeout=timeout, on_error=on_error_stop
            )
        else:
            events = client.watch(
                res, fields=fields, server_timeout=timeout, on_error=on_error_stop
            )
        try:
            for change, obj in events:
                last = None if change == "DELETED" else _to_dict(obj)
                if last is not None:
                    last.setdefault("apiVersion", kind.api_version)
                    last.setdefault("kind", kind.kind)
                if last is not None and condition(last):
                    return last, True
                if bound.expired:
                    break
        except (httpx2.HTTPError, ApiError) as e:
            # the bound passed (the watch's timeouts are the bound's), or the watch
            # failed: either way the condition did not hold in time
            log.debug("watch of %s %s/%s ended: %s", kind.kind, namespace, name, e)
        finally:
            close = getattr(events, "close", None)  # a generator: close its response
            if close is not None:
                close()
        return last, False

    # -- writes --------------------------------------------------------------------------

    def apply(
        self,
        obj: Mapping[str, Any],
        kind: Kind,
        *,
        force: bool = False,
        field_manager: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Server-side apply ``obj`` (create or update) and return what the server stored.

        With ``dry_run``, the server checks and answers as if it applied, storing nothing.

        Raises:
            Conflict: another manager owns a field with a different value (and not ``force``).
        """
        res = _resource(kind)
        meta = obj["metadata"]
        namespace = meta.get("namespace") if kind.namespaced else None
        manager = field_manager or self.field_manager

        def run() -> Any:
            return self.client.patch(
                res,
                meta["name"],
                dict(obj),
                namespace=namespace,
                patch_type=PatchType.APPLY,
                field_manager=manager,
                force=force,
                dry_run=dry_run,
            )

        return _to_dict(self._call(kind, run, retry_conflict=False))

    def delete(
        self, kind: Kind, name: str, namespace: str | None = None, *, dry_run: bool = False
    ) -> bool:
        """Delete the object (with ``dry_run``, only check it could be); False when gone."""
        res = _resource(kind)
        try:
            self._call(
                kind,
                lambda: self.client.delete(res, name, namespace=namespace, dry_run=dry_run),
            )
        except NotFound as e:
            if isinstance(e, CrdMissing):
                raise
            return False
        return True

    # -- plumbing ------------------------------------------------------------------------

    def _call(self, kind: Kind, fn: Callable[[], T], *, retry_conflict: bool = True) -> T:
        attempt = 0
        error: KubernetesError | None = None
        while True:
            if self.deadline.expired:
                raise DeadlineExceeded(self.deadline.seconds, error)
            try:
                return fn()
            except ApiError as e:
                error = _translate_api_error(e, kind)
            except httpx2.HTTPStatusError as e:
                # lightkube raises ApiError only for JSON bodies; a proxy in front of the
                # API server may answer in HTML.
                error = _translate_http_error(e.response, kind)
            except KeyError as e:
                # lightkube reads Content-Type without a default: an error response without
                # one surfaces as a KeyError raised while handling the HTTPStatusError.
                if not isinstance(e.__context__, httpx2.HTTPStatusError):
                    raise
                error = _translate_http_error(e.__context__.response, kind)
            except httpx2.TimeoutException as e:
                error = Unavailable(f"Kubernetes API timed out: {e}")
                if self.deadline.expired:
                    raise DeadlineExceeded(self.deadline.seconds, error) from None
            except httpx2.TransportError as e:
                error = Unavailable(f"Kubernetes API unreachable: {e}")
            retryable = error.temporary or (retry_conflict and isinstance(error, Conflict))
            if not retryable or attempt >= self.retries:
                raise error
            # The server's own Retry-After wins (capped); otherwise exponential backoff.
            delay = self.backoff * (2**attempt)
            if error.retry_after is not None:
                delay = min(max(error.retry_after, 0.0), MAX_RETRY_AFTER)
            if delay >= self.deadline.remaining():
                # no time to wait and ask again: let the next event ask instead
                raise DeadlineExceeded(self.deadline.seconds, error)
            log.debug("retrying %s after %s (%.2fs)", kind, error, delay)
            self._sleep(delay)
            attempt += 1


def _translate_http_error(response: httpx2.Response, kind: Kind) -> KubernetesError:
    code = response.status_code
    if code == 404 and kind.crd is not None and response.text.strip() == "404 page not found":
        # A plain-text "404 page not found" is the API server's answer for a path no API
        # group serves: a CRD not installed, or deleted (or being deleted) since discovery.
        return CrdMissing(kind.crd)
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    message = f"HTTP {code} {response.reason_phrase}: {text}"
    status: dict[str, Any] = {"code": code, "message": message}
    try:  # a proxy's 429 or 503 may still say when to come back (in seconds)
        wait = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        wait = math.nan
    if math.isfinite(wait):
        status["details"] = {"retryAfterSeconds": wait}
    return from_status(status)


def _translate_api_error(e: ApiError, kind: Kind) -> KubernetesError:
    status = e.status
    details = status.details
    body: dict[str, Any] = {
        "code": status.code,
        "reason": status.reason,
        "message": status.message,
        "details": {
            "causes": [c.to_dict() for c in (details.causes or [])],
            "retryAfterSeconds": details.retryAfterSeconds,
        }
        if details
        else {},
    }
    if status.code == 404 and kind.crd is not None and (details is None or not details.name):
        return CrdMissing(kind.crd)
    return from_status(body)


def owners_of_labels(obj: Mapping[str, Any]) -> dict[str, set[str]]:
    """Which field managers own each label of ``obj``, read from its managedFields."""
    owners: dict[str, set[str]] = {}
    for entry in objects.managed_fields(obj):
        fields: Any = entry.get("fieldsV1")
        for step in ("f:metadata", "f:labels"):
            fields = fields.get(step) if isinstance(fields, dict) else None
        for key in cast("dict[str, Any]", fields) if isinstance(fields, dict) else {}:
            if key.startswith("f:"):
                owners.setdefault(key[2:], set()).add(str(entry.get("manager", "")))
    return owners


def label_patch(kind: Kind, name: str, namespace: str | None, labels: Mapping[str, str]) -> Obj:
    """A server-side apply body that sets only ``labels`` on an existing object."""
    meta: Obj = {"name": name, "labels": dict(labels)}
    if namespace is not None and kind.namespaced:
        meta["namespace"] = namespace
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta}
