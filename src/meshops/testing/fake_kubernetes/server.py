"""The in-process Kubernetes API server: :class:`FakeKubernetes`.

It answers the HTTP requests lightkube sends (through :attr:`FakeKubernetes.transport`,
an ``httpx2`` transport: no sockets) the way a real API server would, for the subset of
the API the project uses: ``/api/v1/...`` and ``/apis/<group>/<version>/...`` paths;
get, list (label and field selectors, ``limit``/``continue``), create, replace, merge /
JSON / strategic-merge patch, server-side apply, delete and delete-collection; the
``status`` subresource; ``dryRun=All``; minimal discovery. Errors are Kubernetes
``Status`` objects with ``Content-Type: application/json``.

The contract tests (``tests/fake``, ``tests/k8s``) run against it and against a real
kube-apiserver with the same assertions, so what it answers is what the real server
answers: error Status bodies and their wording (CEL rules, schema and name messages,
selectors, unserved paths in plain text outside the built-in groups), field validation
(undeclared fields dropped with a ``Warning`` under ``Warn``, 400 under ``Strict``, a 500
"failed to create typed patch object" for an apply), managedFields and their order,
the field manager taken from the User-Agent, strategic merge patch on built-in kinds
(directives included), a Gateway's defaulted status stored at the first write after
its create.

Where it cannot reasonably follow (those tests are ``fake_only``, saying why):

* deletion is immediate: no finalizers, no ``deletionTimestamp``, no owner-reference
  garbage collection; deleting a Namespace deletes everything in it (a real cluster's
  kube-controller-manager does that, later), deleting a CRD its objects;
* built-in kinds are not validated beyond their metadata (a Service without ports is
  accepted) and their undeclared fields outside metadata are kept;
* no admission: webhooks and ValidatingAdmissionPolicies (skipped when found in CRD
  files) are not evaluated; validation ratcheting and ``optionalOldSelf`` are not
  modelled (a rule with ``optionalOldSelf`` is refused at install), nor CEL cost budgets;
* client-sent ``metadata.managedFields`` are ignored on updates (honoured by
  :meth:`FakeKubernetes.add`); on built-in kinds the fields a write owns follow the
  fake's own defaulting (a Service's ``clusterIP`` is owned by its writer, its atomic
  ``selector`` is owned key by key);
* the fake's own helpers (:meth:`FakeKubernetes.objects`, fault and race injection,
  the request log's Content-Types) have no twin on a real server.

Watches are answered by :mod:`.watch`: their time passes on :attr:`FakeKubernetes.time`
to the actions scheduled with :meth:`FakeKubernetes.later`.

What it cannot do raises :class:`~.errors.NotSupportedError` through the transport
rather than answering wrongly: subresources other than ``status``, webhook
conversion between CRD versions.

Example:
    >>> fake = FakeKubernetes()
    >>> _ = fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    >>> fake.get("v1", "Namespace", "demo")["status"]
    {'phase': 'Active'}
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import yaml

from meshops.k8s.client import use_transport
from meshops.testing.clock import ManualClock
from meshops.testing.fake_kubernetes import apply as ssa
from meshops.testing.fake_kubernetes import discovery
from meshops.testing.fake_kubernetes.builtin import BUILTIN_TYPES, CRD_GROUP, CRD_KIND
from meshops.testing.fake_kubernetes.errors import (
    REASONS,
    ErrorType,
    FieldError,
    NotSupportedError,
    StatusError,
)
from meshops.testing.fake_kubernetes.meta import (
    SERVER_MANAGED,
    unknown_metadata,
    validate_metadata,
)
from meshops.testing.fake_kubernetes.patch import (
    SHAPES,
    PatchError,
    StrategicPatchError,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from meshops.testing.fake_kubernetes.requestlog import Fault, Request
from meshops.testing.fake_kubernetes.resources import (
    CrdDefinition,
    InvalidCrdError,
    ResourceType,
    load_documents,
    load_yaml,
    parse_crd,
)
from meshops.testing.fake_kubernetes.schema import unknown_fields, validate
from meshops.testing.fake_kubernetes.selectors import (
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from meshops.testing.fake_kubernetes.store import Store, StoredObject
from meshops.testing.fake_kubernetes.values import MISSING, as_dict, as_list, copy_json, dump_json
from meshops.testing.fake_kubernetes.watch import Timeline, watch_response

__all__ = ["RANDOM_FAULTS", "FakeKubernetes", "FakeTransport"]

_JSON = "application/json"
_APPLY = "application/apply-patch+yaml"
_MERGE = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"
_STRATEGIC = "application/strategic-merge-patch+json"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SKIPPED_DOCUMENTS = frozenset({"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"})
_NAMESPACE_KEY = ("", "namespaces")
_CRD_KEY = (CRD_GROUP, "customresourcedefinitions")
_BUILTIN_GROUPS = frozenset(r.group for r in BUILTIN_TYPES if r.group)

Handler = Callable[[httpx2.Request], httpx2.Response]


class FakeTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport that hands every request to the fake API server."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer a request synchronously."""
        request.read()
        return self._handler(request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer a request from an async client."""
        await request.aread()
        return self._handler(request)


@dataclasses.dataclass(frozen=True)
class _Target:
    """What a request URL addresses."""

    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str


@dataclasses.dataclass(frozen=True)
class _Write:
    """How a write records ownership and what it may change."""

    manager: str
    subresource: str
    dry_run: bool
    keep_status: bool = False
    #: ``fieldValidation``: what undeclared fields do (Warn: dropped with a warning)
    field_validation: str = "Warn"


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_last_second: list[Any] = [0, ""]


def _wall_clock() -> str:
    second = int(time.time())
    if second != _last_second[0]:
        _last_second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))]
    return str(_last_second[1])


#: What :meth:`FakeKubernetes.fail_randomly` may answer a request with.
RANDOM_FAULTS = (
    "conflict",
    "throttled",
    "error",
    "unavailable",
    "disconnect",
    "timeout",
    "lost-answer",
)


@dataclasses.dataclass
class _Chaos:
    """Random faults (``fail_randomly``): how often, drawn how, which."""

    rate: float
    random: random.Random
    faults: tuple[str, ...]

    def draw(self) -> Fault | None:
        """A fault for the request being answered, or None."""
        if self.random.random() >= self.rate:
            return None
        match self.random.choice(self.faults):
            case "conflict":
                return Fault("*", "", 409, 1, "injected failure: 409 Conflict")
            case "throttled":
                wait = self.random.randint(1, 3)
                return Fault("*", "", 429, 1, "injected failure: 429 TooManyRequests", wait)
            case "error":
                return Fault("*", "", 500, 1, "injected failure: 500 InternalError")
            case "unavailable":
                return Fault("*", "", 503, 1, "injected failure: 503 ServiceUnavailable")
            case "disconnect":
                return Fault("*", "", 0, 1, "", disconnect=True)
            case "timeout":
                return Fault("*", "", 0, 1, "", delay=math.inf)
            case _:
                return Fault("*", "", 0, 1, "", delay=math.inf, took_effect=True)


@dataclasses.dataclass
class _Before:
    """Something to do just before a matching request is answered (``before_next``)."""

    method: str
    path_contains: str
    action: Callable[[], object]
    times: int

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method in ("*", method) and self.path_contains in path


def _read_timeout(request: httpx2.Request) -> float:
    """How long the client waits for an answer to ``request`` (``inf`` when it waits on)."""
    timeouts = as_dict(request.extensions.get("timeout")) or {}
    read = timeouts.get("read")
    return float(read) if isinstance(read, (int, float)) else math.inf


_FIELD_VALIDATIONS = ("", "Ignore", "Strict", "Warn")


def _field_validation(query: Mapping[str, str], options: str) -> str:
    """The request's ``fieldValidation`` (``Warn`` when not given)."""
    value = query.get("fieldValidation", "")
    if value not in _FIELD_VALIDATIONS:
        supported = ", ".join(f'"{v}"' for v in _FIELD_VALIDATIONS)
        raise StatusError(
            422,
            "Invalid",
            f'{options}Options.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: '
            f'"{value}": supported values: {supported}',
            {
                "group": "meta.k8s.io",
                "kind": f"{options}Options",
                "causes": [
                    {
                        "reason": "FieldValueNotSupported",
                        "message": f'Unsupported value: "{value}": supported values: {supported}',
                        "field": "fieldValidation",
                    }
                ],
            },
        )
    return value or "Warn"


def _agent_manager(agent: str) -> str:
    """The field manager of a write without ``fieldManager``: its User-Agent's product.

    As the API server's ``prefixFromUserAgent``: up to the first ``/``, printable
    characters only, at most 128 bytes; ``unknown`` when that leaves nothing.
    """
    out = ""
    for char in agent.split("/")[0]:
        if not char.isprintable():
            continue
        if len((out + char).encode()) > 128:
            break
        out += char
    return out or "unknown"


def _spec_changed(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    for key in new.keys() | old.keys():
        if key not in ("metadata", "status", "apiVersion", "kind") and new.get(
            key, MISSING
        ) != old.get(key, MISSING):
            return True
    return False


class FakeKubernetes:
    """An in-process Kubernetes API server for tests, plugged into lightkube's transport.

    It starts empty: built-in kinds only, no namespaces. Install CRDs to serve custom
    kinds (:meth:`install_crds`), seed objects with :meth:`add`, point clients at it with
    :meth:`installed` (or ``make_client(fake.transport, ...)``), then assert on the
    stored objects (:meth:`get`, :meth:`list`) and the request log (:attr:`requests`).

    Example:
        >>> fake = FakeKubernetes()
        >>> fake.install_crds(CRDS / "gateway-api-v1.5.1/standard")  # doctest: +SKIP
        >>> with fake.installed():  # doctest: +SKIP
        ...     reconcile()
        >>> fake.writes  # doctest: +SKIP
        3

    Args:
        clock: returns the current time (creationTimestamp, managedFields times);
            defaults to the wall clock.
        seed: seeds generated names (``generateName``) and uids, for reproducibility.
        time: the seconds requests take (:meth:`delay_next`); default: a new
            :class:`~meshops.testing.clock.ManualClock`, at :attr:`time`.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime.datetime] | None = None,
        seed: int = 0,
        time: ManualClock | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._store = Store()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self._crds: dict[str, CrdDefinition] = {}
        self._log: list[Request] = []
        self._faults: list[Fault] = []
        self._before: list[_Before] = []
        self._chaos: _Chaos | None = None
        self._clock = clock
        self._random = random.Random(seed)
        self._next_ip = 0
        self._agent = ""  # the User-Agent of the request being answered
        self._warnings: list[str] = []  # its Warning headers
        for resource in BUILTIN_TYPES:
            self._register(resource)
        self.transport: FakeTransport = FakeTransport(self._handle)
        """The httpx2 transport that sends requests to this fake."""
        self.time: ManualClock = time if time is not None else ManualClock()
        """The time requests take: delayed requests and timeouts advance it, and every
        :class:`~meshops.k8s.api.Api` made under :meth:`installed` counts its deadline
        in it and waits between retries by advancing it (no test really sleeps)."""
        self.faults_injected = 0
        """How many requests an injected fault has failed, delayed or dropped."""
        self._timeline = Timeline(self.time)

    # --- public API ------------------------------------------------------------------

    def installed(self) -> contextlib.AbstractContextManager[None]:
        """Make every ``meshops.k8s.client.connect()`` in this thread use this fake.

        Every :class:`~meshops.k8s.api.Api` made meanwhile counts time in :attr:`time`.
        """
        return use_transport(self.transport, clock=self.time.as_clock())

    def install_crds(self, *paths: str | Path) -> None:
        """Install the CustomResourceDefinitions in YAML files (multi-document) or directories.

        A directory means every ``*.yaml`` file in it. Documents that are admission
        policies shipped alongside CRDs (ValidatingAdmissionPolicy and its binding) are
        skipped: the fake does not evaluate admission policies.

        Raises:
            ValueError: a document is neither a CRD nor a skipped admission policy.
            StatusError: a CRD is invalid (e.g. a CEL rule the fake cannot compile).
        """
        for raw in paths:
            path = Path(raw)
            files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
            for file in files:
                for doc in load_documents(file):
                    kind = doc.get("kind")
                    if kind in _SKIPPED_DOCUMENTS:
                        continue
                    if kind != CRD_KIND:
                        raise ValueError(
                            f"{file}: document of kind {kind!r} is not a CustomResourceDefinition"
                        )
                    self.install_crd(doc)

    def install_crd(self, doc: Mapping[str, Any]) -> None:
        """Install (or update) one CustomResourceDefinition; its kinds become served.

        CRDs are large, so the fake keeps ``doc["spec"]`` without copying it (and
        remembers its compiled schemas by identity): treat an installed document as
        read-only.

        Raises:
            StatusError: 422 when the CRD is invalid or uses a CEL rule the fake cannot
                evaluate (the message names the rule).
        """
        if doc.get("apiVersion") != f"{CRD_GROUP}/v1" or doc.get("kind") != CRD_KIND:
            raise ValueError(
                f"not an apiextensions.k8s.io/v1 CustomResourceDefinition: "
                f"{doc.get('apiVersion')!r}/{doc.get('kind')!r}"
            )
        shallow = {k: (v if k == "spec" else copy_json(v)) for k, v in doc.items()}
        self._add(shallow, copy=False)

    def add(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store an object directly, as if the field manager ``test`` had written it.

        Creates the object or replaces it (keeping uid and creationTimestamp). Unlike an
        API request, ``status`` is stored as given, and ``metadata.managedFields``, when
        present, is taken as the object's field ownership. The object is validated like
        any write: its namespace must exist and it must match its schema.

        Returns:
            A copy of the stored object.

        Raises:
            ValueError: the kind is not served, or a namespaced object has no namespace.
            StatusError: the API server would reject the object (404 namespace, 422 invalid).
        """
        resource, stored = self._add(obj)
        with self._lock:
            return copy_json(stored.view(resource.api_version))

    def _add(
        self, obj: Mapping[str, Any], *, copy: bool = True
    ) -> tuple[ResourceType, StoredObject]:
        resource = self._served(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        new: dict[str, Any] = copy_json(dict(obj)) if copy else dict(obj)
        meta = as_dict(new.get("metadata"))
        if meta is None:
            raise ValueError(f"object has no metadata: {dict(obj)!r}")
        namespace = ""
        if resource.namespaced:
            namespace = str(meta.get("namespace") or "")
            if not namespace:
                raise ValueError(f"{resource.kind} {meta.get('name')!r} needs metadata.namespace")
        else:
            meta.pop("namespace", None)
        with self._lock:
            name = self._name_for(meta)
            self._require_namespace(resource, namespace)
            old = self._store.get(resource.store_key, namespace, name)
            managers: tuple[ssa.ManagedEntry, ...] | None = None
            given = meta.get("managedFields")
            if given:
                managers = self._decode_managed_fields(given)
            _, stored = self._commit(
                resource,
                namespace,
                name,
                old,
                new,
                managers,
                _Write("test", "", dry_run=False, keep_status=True),
            )
            return resource, stored

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object directly (no request is logged); return whether it existed."""
        resource = self._served(api_version, kind)
        with self._lock:
            gone = self._store.delete(resource.store_key, self._scope(resource, namespace), name)
            if gone is not None:
                self._after_delete(resource, gone)
            return gone is not None

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """A deep copy of a stored object, as served in ``api_version``; None if absent.

        Raises:
            ValueError: the kind is not served (e.g. its CRD is not installed).
        """
        resource = self._served(api_version, kind)
        with self._lock:
            stored = self._store.get(resource.store_key, self._scope(resource, namespace), name)
            return None if stored is None else copy_json(stored.view(resource.api_version))

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        labels: str | None = None,
    ) -> list[dict[str, Any]]:
        """Deep copies of the stored objects of a kind, ordered by namespace and name.

        Args:
            api_version: the version to serve them in.
            kind: the kind.
            namespace: only this namespace (default: all).
            labels: only objects this label selector matches.

        Raises:
            ValueError: the kind is not served, or the selector is malformed.
        """
        resource = self._served(api_version, kind)
        selector = parse_label_selector(labels or "")
        with self._lock:
            return [
                copy_json(s.view(resource.api_version))
                for s in self._store.list(
                    resource.store_key, namespace if resource.namespaced else None
                )
                if selector.matches(s.obj["metadata"].get("labels"))
            ]

    def served(self, api_version: str, kind: str) -> bool:
        """Whether the fake serves this kind (built in, or its CRD is installed)."""
        return (api_version, kind) in self._by_kind

    @property
    def requests(self) -> list[Request]:
        """Every request answered since the fake was made (or :meth:`clear_log`)."""
        with self._lock:
            return list(self._log)

    @property
    def reads(self) -> int:
        """How many GET requests are in the log."""
        with self._lock:
            return sum(1 for r in self._log if r.method == "GET")

    @property
    def writes(self) -> int:
        """How many POST, PUT, PATCH and DELETE requests are in the log."""
        with self._lock:
            return sum(1 for r in self._log if r.is_write)

    def clear_log(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._log.clear()

    def fail_next(
        self,
        method: str,
        path_contains: str,
        status: int,
        times: int = 1,
        *,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with an error Status, unhandled.

        Args:
            method: the HTTP method (``GET``, ``PATCH``, ...), or ``*`` for any.
            path_contains: a substring of the request path (``""`` matches every path).
            status: the HTTP status code, e.g. 409, 429, 500 or 503.
            times: how many matching requests fail.
            message: the Status message (default: a generic one naming the code).
            retry_after: adds ``Retry-After`` (and ``details.retryAfterSeconds``).

        Example:
            >>> fake = FakeKubernetes()
            >>> fake.fail_next("PATCH", "/authorizationpolicies/", 503, times=2)
        """
        if status < 400 or status > 599:
            raise ValueError(f"status {status!r} must be an HTTP error code (400-599)")
        if times < 1:
            raise ValueError(f"times {times!r} must be at least 1")
        text = message or f"injected failure: {status} {REASONS.get(status, 'Error')}"
        with self._lock:
            self._faults.append(
                Fault(method.upper(), path_contains, status, times, text, retry_after)
            )

    def delay_next(
        self,
        method: str,
        path_contains: str,
        seconds: float,
        times: int = 1,
        *,
        took_effect: bool = False,
    ) -> None:
        """Make the next ``times`` matching requests take ``seconds`` of :attr:`time`.

        A request whose client timeout (its read timeout) is shorter is not answered: the
        client gets ``httpx2.ReadTimeout`` once its timeout has passed on :attr:`time`.

        Args:
            method: the HTTP method, or ``*`` for any.
            path_contains: a substring of the request path (``""`` matches every path).
            seconds: how long each takes; ``math.inf``: it is never answered.
            times: how many matching requests are slow.
            took_effect: for a request that times out, whether the server carried it out
                all the same (a write made whose answer was lost) or never got to it.

        Example:
            >>> fake = FakeKubernetes()
            >>> fake.delay_next("GET", "", math.inf, times=2)
        """
        if not seconds >= 0:
            raise ValueError(f"seconds {seconds!r} must be 0 or more")
        if times < 1:
            raise ValueError(f"times {times!r} must be at least 1")
        with self._lock:
            self._faults.append(
                Fault(method.upper(), path_contains, 0, times, "", None, seconds, took_effect)
            )

    def clear_faults(self) -> None:
        """Forget every pending fault and ``before_next``; stop :meth:`fail_randomly`."""
        with self._lock:
            self._faults.clear()
            self._before.clear()
            self._chaos = None

    def fail_randomly(
        self, rate: float, *, seed: int = 0, faults: Iterable[str] = RANDOM_FAULTS
    ) -> None:
        """Fail each request, with probability ``rate``, with one of ``faults`` at random.

        The faults (see :data:`RANDOM_FAULTS`): ``conflict`` (409), ``throttled`` (429
        with a Retry-After of 1-3 s), ``error`` (500), ``unavailable`` (503),
        ``disconnect`` (connection refused), ``timeout`` (never answered, not carried
        out) and ``lost-answer`` (never answered, carried out). Faults queued with
        :meth:`fail_next` and the others come first. ``rate=0`` stops.

        Example:
            >>> fake = FakeKubernetes()
            >>> fake.fail_randomly(0.3, seed=7)
        """
        chosen = tuple(faults)
        unknown = sorted(set(chosen) - set(RANDOM_FAULTS))
        if unknown or not chosen:
            raise ValueError(f"faults {unknown or chosen!r} must be some of {RANDOM_FAULTS}")
        if not 0 <= rate <= 1:
            raise ValueError(f"rate {rate!r} must be between 0 and 1")
        with self._lock:
            self._chaos = _Chaos(rate, random.Random(seed), chosen) if rate else None

    def before_next(
        self, method: str, path_contains: str, action: Callable[[], object], times: int = 1
    ) -> None:
        """Run ``action`` just before the next ``times`` matching requests are answered.

        For races: something else writes to the cluster between a client's read and its
        write (``action`` may use :meth:`add`, :meth:`delete` and the other direct
        helpers; it must not send requests through the transport).

        Example:
            >>> fake = FakeKubernetes()
            >>> ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
            >>> fake.before_next("PATCH", "/namespaces/x", lambda: fake.add(ns))
        """
        if times < 1:
            raise ValueError(f"times {times!r} must be at least 1")
        with self._lock:
            self._before.append(_Before(method.upper(), path_contains, action, times))

    def later(self, seconds: float, action: Callable[[], object]) -> None:
        """Run ``action`` once ``seconds`` of :attr:`time` have passed from now.

        The fake's time passes while a watch waits for something to send: an action due
        before the watch ends runs then, and the watch sends what it changed. For what a
        controller does on its own after a while (istiod programming a Gateway, a cloud
        giving a LoadBalancer its address); ``action`` may use :meth:`add`,
        :meth:`delete` and the other direct helpers.

        Example:
            >>> fake = FakeKubernetes()
            >>> ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
            >>> fake.later(0.5, lambda: fake.add(ns))
        """
        with self._lock:
            self._timeline.later(seconds, action)

    def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` of :attr:`time` pass, running the :meth:`later` actions due."""
        with self._lock:
            end = self.time.now() + max(seconds, 0.0)
            while self._timeline.run_until(end):
                pass
            self.time.advance(end - self.time.now())

    def disconnect_next(self, method: str, path_contains: str, times: int = 1) -> None:
        """Refuse the connection of the next ``times`` matching requests.

        The client gets ``httpx2.ConnectError``; the server never sees the request (it
        is not logged).
        """
        if times < 1:
            raise ValueError(f"times {times!r} must be at least 1")
        with self._lock:
            self._faults.append(
                Fault(method.upper(), path_contains, 0, times, "", disconnect=True)
            )

    # --- plumbing ----------------------------------------------------------------------

    def _now(self) -> str:
        if self._clock is not None:
            return _rfc3339(self._clock())
        return _wall_clock()

    def _served(self, api_version: str, kind: str) -> ResourceType:
        resource = self._by_kind.get((api_version, kind))
        if resource is None:
            raise ValueError(
                f"kind {kind!r} of {api_version!r} is not served (is its CRD installed?)"
            )
        return resource

    @staticmethod
    def _scope(resource: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if resource.namespaced else ""

    def _register(self, resource: ResourceType) -> None:
        self._types[(resource.group, resource.version, resource.plural)] = resource
        self._by_kind[(resource.api_version, resource.kind)] = resource

    def _unregister_crd(self, name: str) -> CrdDefinition | None:
        definition = self._crds.pop(name, None)
        if definition is not None:
            for resource in definition.versions:
                self._types.pop((resource.group, resource.version, resource.plural), None)
                self._by_kind.pop((resource.api_version, resource.kind), None)
        return definition

    def _name_for(self, meta: dict[str, Any]) -> str:
        name = meta.get("name")
        if not name and isinstance(meta.get("generateName"), str) and meta["generateName"]:
            suffix = "".join(self._random.choice(_NAME_CHARS) for _ in range(5))
            name = meta["name"] = meta["generateName"] + suffix
        return str(name or "")

    def _allocate_ip(self) -> str:
        self._next_ip += 1
        return f"10.152.{183 + self._next_ip // 254}.{self._next_ip % 254 + 1}"

    def _require_namespace(self, resource: ResourceType, namespace: str) -> None:
        if resource.namespaced and self._store.get(_NAMESPACE_KEY, "", namespace) is None:
            raise StatusError.namespace_not_found(namespace)

    def _decode_managed_fields(self, given: Any) -> tuple[ssa.ManagedEntry, ...]:
        if not isinstance(given, list):
            raise ValueError(f"metadata.managedFields must be a list, not {given!r}")
        entries: list[ssa.ManagedEntry] = []
        for raw in given:  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(raw, Mapping):
                raise ValueError(f"invalid managedFields entry {raw!r}")
            entry: Mapping[str, Any] = raw  # pyright: ignore[reportUnknownVariableType]
            entries.append(
                ssa.ManagedEntry(
                    manager=str(entry.get("manager", "")),
                    operation=str(entry.get("operation", "Update")),
                    api_version=str(entry.get("apiVersion", "")),
                    time=str(entry.get("time") or self._now()),
                    fields=ssa.decode_fields(entry.get("fieldsV1") or {}),
                    subresource=str(entry.get("subresource", "")),
                )
            )
        return tuple(entries)

    # --- HTTP ----------------------------------------------------------------------------

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        method = request.method.upper()
        path = request.url.path
        query = dict(request.url.params.items())
        content_type = request.headers.get("content-type")
        content = request.content
        headers: dict[str, str] = {}
        with self._lock:
            self._agent = request.headers.get("user-agent", "")
            self._warnings = []
            before = next((b for b in self._before if b.matches(method, path)), None)
            if before is not None:
                before.times -= 1
                if before.times == 0:
                    self._before.remove(before)
                before.action()
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
            elif self._chaos is not None:
                fault = self._chaos.draw()
            if fault is not None:
                self.faults_injected += 1
            if fault is not None and fault.disconnect:
                raise httpx2.ConnectError("injected failure: connection refused", request=request)
            if fault is not None and fault.status == 0:
                timeout = _read_timeout(request)
                if math.isfinite(fault.delay) and fault.delay <= timeout:
                    self.time.advance(fault.delay)
                    fault = None  # slow, then answered
                elif not math.isfinite(timeout):
                    raise NotSupportedError(
                        f"{method} {path} is never answered and its client has no timeout"
                    )
                else:
                    self.time.advance(timeout)
                    status = 0
                    if fault.took_effect:
                        try:
                            status, _ = self._dispatch(method, path, query, content_type, content)
                        except StatusError as e:
                            status = e.code
                    self._log.append(Request(method, path, query, content_type, 0, content))
                    raise httpx2.ReadTimeout(
                        f"injected failure: no answer within {timeout:g} s"
                        + (f" (the server answered {status}, too late)" if status else ""),
                        request=request,
                    )
            if fault is not None:
                details: dict[str, Any] = {}
                if fault.retry_after is not None:
                    details["retryAfterSeconds"] = fault.retry_after
                    headers["Retry-After"] = str(fault.retry_after)
                error = StatusError(
                    fault.status, REASONS.get(fault.status, "Unknown"), fault.message, details
                )
                code, body = error.code, dump_json(error.status)
            elif method == "GET" and query.get("watch") in ("true", "1"):
                try:
                    response = self._watch(request, path, query)
                except StatusError as e:
                    code, body = e.code, dump_json(e.status)
                else:
                    self._log.append(Request(method, path, query, content_type, 200, content))
                    return response
            else:
                try:
                    code, body = self._dispatch(method, path, query, content_type, content)
                except StatusError as e:
                    code, body = e.code, dump_json(e.status)
                    headers.update(e.headers)
                    if e.plain:
                        body = e.message.encode() + b"\n"
                        headers["Content-Type"] = "text/plain; charset=utf-8"
            self._log.append(Request(method, path, query, content_type, code, content))
            if self._warnings:
                headers["Warning"] = ", ".join(
                    '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for w in self._warnings
                )
        headers.setdefault("Content-Type", _JSON)
        return httpx2.Response(code, headers=headers, content=body)

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_type: str | None,
        content: bytes,
    ) -> tuple[int, bytes]:
        segments = [s for s in path.split("/") if s]
        if not segments or segments[0] not in ("api", "apis"):
            raise StatusError.page_not_found()
        if segments[0] == "apis" and len(segments) >= 3 and segments[1] not in _BUILTIN_GROUPS:
            # a CRD's group: the real server's handler of custom resources answers a path
            # it does not serve in plain text, the built-in groups with a Status
            try:
                return self._dispatch_api(method, path, query, content_type, content, segments)
            except StatusError as e:
                if e.code == 404 and e.details == {} and not e.plain:
                    raise StatusError.page_not_found() from None
                raise
        return self._dispatch_api(method, path, query, content_type, content, segments)

    def _dispatch_api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_type: str | None,
        content: bytes,
        segments: list[str],
    ) -> tuple[int, bytes]:
        if segments[0] == "api":
            if len(segments) == 1:
                return discovery.answer(method, path, discovery.core_versions())
            group, version, rest = "", segments[1], segments[2:]
        else:
            if len(segments) < 3:
                group = segments[1] if len(segments) == 2 else None
                return discovery.answer(method, path, discovery.groups(self._types, group))
            group, version, rest = segments[1], segments[2], segments[3:]
        if not rest:
            body = discovery.resources(self._types, group, version)
            return discovery.answer(method, path, body)
        target = self._target(group, version, rest)
        dry_run = self._dry_run(query)
        if method == "GET":
            if target.name is None:
                return self._list(target, query)
            return self._get(target)
        cross_namespace = target.resource.namespaced and target.namespace is None
        if method == "POST" and target.name is None and not target.subresource:
            if cross_namespace:
                raise StatusError.method_not_allowed(method, path)
            return self._create(target, query, content, dry_run)
        if method == "PUT" and target.name is not None:
            return self._replace(target, query, content, dry_run)
        if method == "PATCH" and target.name is not None:
            base = (content_type or "").split(";")[0].strip().lower()
            if base == _APPLY:
                return self._apply(target, query, content, dry_run)
            return self._patch(target, query, base, content, dry_run)
        if method == "DELETE" and not target.subresource:
            if target.name is None:
                if cross_namespace:
                    raise StatusError.method_not_allowed(method, path)
                return self._delete_collection(target, query, dry_run)
            return self._delete(target, content, dry_run)
        raise StatusError.method_not_allowed(method, path)

    def _watch(self, request: httpx2.Request, path: str, query: dict[str, str]) -> httpx2.Response:
        """A watch of a collection (see :mod:`.watch`)."""
        segments = [s for s in path.split("/") if s]
        if segments[:1] == ["api"] and len(segments) >= 3:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"] and len(segments) >= 4:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise StatusError.not_served()
        target = self._target(group, version, rest)
        if target.name is not None:
            raise StatusError.method_not_allowed("GET", path)
        self._selected(target, query)  # a malformed selector is a 400 now, not mid-stream
        api_version = target.resource.api_version

        def snapshot() -> dict[tuple[str, str], tuple[str, bytes]]:
            with self._lock:
                return {
                    (s.namespace, s.name): (s.resource_version, s.body(api_version))
                    for s in self._selected(target, query)
                }

        return watch_response(
            snapshot,
            self._timeline,
            query,
            read_timeout=_read_timeout(request),
            request=request,
        )

    def _target(self, group: str, version: str, rest: list[str]) -> _Target:
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise StatusError.not_served()
        resource = self._types.get((group, version, rest[0]))
        if resource is None:
            raise StatusError.not_served()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        if namespace is not None and not resource.namespaced:
            raise StatusError.not_served()
        if namespace is None and resource.namespaced and name is not None:
            raise StatusError.not_served()
        if subresource and subresource != "status":
            raise NotSupportedError(
                f"subresource {subresource!r} of {resource.resource} is not supported by the fake"
            )
        if subresource and not resource.status_subresource:
            raise StatusError.not_served()
        return _Target(resource, namespace, name, subresource)

    @staticmethod
    def _dry_run(query: Mapping[str, str]) -> bool:
        value = query.get("dryRun")
        if value is None:
            return False
        if value != "All":
            raise StatusError.bad_request(
                f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
        return True

    # --- reads -------------------------------------------------------------------------

    def _not_found(self, target: _Target, name: str) -> StatusError:
        resource = target.resource
        return StatusError.not_found(resource.resource, name, resource.group, resource.plural)

    def _get(self, target: _Target) -> tuple[int, bytes]:
        assert target.name is not None
        stored = self._store.get(target.resource.store_key, target.namespace or "", target.name)
        if stored is None:
            raise self._not_found(target, target.name)
        return 200, stored.body(target.resource.api_version)

    def _selected(self, target: _Target, query: Mapping[str, str]) -> list[StoredObject]:
        try:
            labels = parse_label_selector(query.get("labelSelector", ""))
            fields = parse_field_selector(query.get("fieldSelector", ""))
        except SelectorError as e:
            raise StatusError.bad_request(str(e)) from None
        objects = self._store.list(target.resource.store_key, target.namespace)
        if labels.requirements:
            objects = [s for s in objects if labels.matches(s.obj["metadata"].get("labels"))]
        if fields.terms:
            objects = [s for s in objects if fields.matches(s.obj)]
        return objects

    def _list(self, target: _Target, query: Mapping[str, str]) -> tuple[int, bytes]:
        if target.subresource:
            raise StatusError.method_not_allowed("GET", target.resource.plural)
        objects = self._selected(target, query)
        token = query.get("continue")
        if token:
            try:
                after = tuple(json.loads(base64.urlsafe_b64decode(token.encode())))
            except ValueError:
                raise StatusError(410, "Expired", f"invalid continue token {token!r}") from None
            objects = [s for s in objects if (s.namespace, s.name) > after]
        meta: dict[str, Any] = {"resourceVersion": str(self._store.revision)}
        limit = query.get("limit")
        if limit:
            try:
                count = int(limit)
            except ValueError:
                raise StatusError.bad_request(f"limit {limit!r} is not an integer") from None
            if 0 < count < len(objects):
                last = objects[count - 1]
                meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps([last.namespace, last.name]).encode()
                ).decode()
                meta["remainingItemCount"] = len(objects) - count
                objects = objects[:count]
        api_version = target.resource.api_version
        head = dump_json(
            {"apiVersion": api_version, "kind": target.resource.list_kind, "metadata": meta}
        )
        items = b",".join(s.body(api_version) for s in objects)
        return 200, head[:-1] + b',"items":[' + items + b"]}"

    # --- writes ------------------------------------------------------------------------

    @staticmethod
    def _decode(content: bytes, *, yaml_ok: bool = False) -> Any:
        try:
            return json.loads(content)
        except ValueError as e:
            if yaml_ok:
                try:
                    documents = load_yaml(content)
                except yaml.YAMLError:
                    pass
                else:
                    if len(documents) == 1:
                        return documents[0]
            raise StatusError.bad_request(
                f"the body of the request could not be decoded: {e}"
            ) from None

    def _decode_object(
        self, target: _Target, content: bytes, *, yaml_ok: bool = False
    ) -> dict[str, Any]:
        obj = self._decode(content, yaml_ok=yaml_ok)
        if not isinstance(obj, dict):
            raise StatusError.bad_request(
                f"the body of the request must be a JSON object, not {type(obj).__name__}"
            )
        resource = target.resource
        api_version, kind = obj.get("apiVersion"), obj.get("kind")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if api_version != resource.api_version:
            raise StatusError.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({resource.api_version})"
            )
        if kind != resource.kind:
            raise StatusError.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
            )
        meta = obj.setdefault("metadata", {})  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if not isinstance(meta, dict):
            raise StatusError.bad_request(f"metadata must be an object, not {meta!r}")
        if resource.namespaced:
            given = meta.get("namespace")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if given and given != target.namespace:
                raise StatusError.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = target.namespace
        else:
            meta.pop("namespace", None)  # pyright: ignore[reportUnknownMemberType]
        if target.name is not None:
            given_name = meta.get("name")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if given_name is None:
                meta["name"] = target.name
            elif given_name != target.name:
                raise StatusError.bad_request(
                    f"the name of the object ({given_name}) does not match the name on the URL "
                    f"({target.name})"
                )
        return obj  # pyright: ignore[reportUnknownVariableType]

    def _manager(self, query: Mapping[str, str]) -> str:
        manager = query.get("fieldManager") or _agent_manager(self._agent)
        if len(manager) > 128:
            raise StatusError.invalid(
                "",
                "",
                "",
                [
                    FieldError(
                        ErrorType.TOO_LONG, "fieldManager", detail="may not be more than 128 bytes"
                    )
                ],
            )
        return manager

    @staticmethod
    def _check_version(old: StoredObject, new_meta: Mapping[str, Any], target: _Target) -> None:
        wanted = new_meta.get("resourceVersion")
        if wanted and wanted != old.resource_version:
            resource = target.resource
            raise StatusError.modified(
                resource.resource, old.name, resource.group, resource.plural
            )

    def _create(
        self, target: _Target, query: Mapping[str, str], content: bytes, dry_run: bool
    ) -> tuple[int, bytes]:
        obj = self._decode_object(target, content)
        name = self._name_for(obj["metadata"])
        namespace = target.namespace or ""
        self._require_namespace(target.resource, namespace)
        write = _Write(
            self._manager(query), "", dry_run, False, _field_validation(query, "Create")
        )
        code, stored = self._commit(target.resource, namespace, name, None, obj, None, write)
        return code, stored.body(target.resource.api_version)

    def _replace(
        self, target: _Target, query: Mapping[str, str], content: bytes, dry_run: bool
    ) -> tuple[int, bytes]:
        assert target.name is not None
        obj = self._decode_object(target, content)
        namespace = target.namespace or ""
        self._require_namespace(target.resource, namespace)
        old = self._store.get(target.resource.store_key, namespace, target.name)
        if old is None:
            raise self._not_found(target, target.name)
        self._check_version(old, obj["metadata"], target)
        new = self._scope_to_subresource(target, old, obj)
        validation = _field_validation(query, "Update")
        write = _Write(self._manager(query), target.subresource, dry_run, False, validation)
        code, stored = self._commit(target.resource, namespace, target.name, old, new, None, write)
        return code, stored.body(target.resource.api_version)

    def _scope_to_subresource(
        self, target: _Target, old: StoredObject, new: dict[str, Any]
    ) -> dict[str, Any]:
        """What a write may change.

        Only status on ``/status``; all but status on the main resource of a kind with a
        status subresource; everything otherwise.
        """
        if target.subresource == "status":
            scoped = copy_json(old.obj)
            if "status" in new:
                scoped["status"] = new["status"]
            else:
                scoped.pop("status", None)
            return scoped
        if target.resource.status_subresource:
            if "status" in old.obj:
                new["status"] = copy_json(old.obj["status"])
            else:
                new.pop("status", None)
        return new

    def _patch(
        self,
        target: _Target,
        query: Mapping[str, str],
        content_type: str,
        content: bytes,
        dry_run: bool,
    ) -> tuple[int, bytes]:
        assert target.name is not None
        resource = target.resource
        if content_type not in (_MERGE, _JSON_PATCH, _STRATEGIC):
            raise StatusError.unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types "
                f"include: {_JSON_PATCH}, {_MERGE}, {_APPLY}"
                + ("" if resource.crd else f", {_STRATEGIC}")
            )
        if content_type == _STRATEGIC and resource.crd:
            raise StatusError.unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types "
                f"include: {_JSON_PATCH}, {_MERGE}, {_APPLY}"
            )
        if query.get("force"):
            error = FieldError(
                ErrorType.INVALID,
                "force",
                query["force"],
                "may not be specified for non-apply patch",
            )
            raise StatusError.invalid(resource.kind, target.name, resource.group, [error])
        namespace = target.namespace or ""
        self._require_namespace(resource, namespace)
        old = self._store.get(resource.store_key, namespace, target.name)
        if old is None:
            raise self._not_found(target, target.name)
        patch = self._decode(content)
        if content_type == _JSON_PATCH and not isinstance(patch, list):
            raise StatusError.bad_request(
                "error decoding patch: json: cannot unmarshal "
                f"{'object' if isinstance(patch, dict) else 'value'} into Go value of type "
                "[]handlers.jsonPatchOp"
            )
        document = copy_json(old.view(resource.api_version))
        try:
            if content_type == _MERGE:
                patched = merge_patch(document, patch)
            elif content_type == _STRATEGIC:
                patched = strategic_merge_patch(document, patch, SHAPES.get(resource.kind))
            else:
                patched = json_patch(document, patch)
        except StrategicPatchError as e:
            if e.code == 400:
                raise StatusError.bad_request(str(e)) from None
            raise StatusError(e.code, "", str(e)) from None
        except PatchError:
            # the real server's words, without what the patch did wrong
            raise StatusError(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request",
                {},
            ) from None
        result = as_dict(patched)
        meta = as_dict(result.get("metadata")) if result is not None else None
        if result is None or meta is None:
            raise StatusError.bad_request("the patched object is not a Kubernetes object")
        if meta.get("name") != target.name or (
            resource.namespaced and meta.get("namespace") != namespace
        ):
            raise StatusError.bad_request(
                "a patch may not change metadata.name or metadata.namespace"
            )
        if result.get("apiVersion") != resource.api_version or result.get("kind") != resource.kind:
            raise StatusError.bad_request("a patch may not change apiVersion or kind")
        self._check_version(old, meta, target)
        new = self._scope_to_subresource(target, old, result)
        validation = _field_validation(query, "Patch")
        write = _Write(self._manager(query), target.subresource, dry_run, False, validation)
        code, stored = self._commit(resource, namespace, target.name, old, new, None, write)
        return code, stored.body(target.resource.api_version)

    def _apply(
        self, target: _Target, query: Mapping[str, str], content: bytes, dry_run: bool
    ) -> tuple[int, bytes]:
        assert target.name is not None
        resource = target.resource
        manager = query.get("fieldManager")
        if not manager:
            error = FieldError(
                ErrorType.REQUIRED, "fieldManager", detail="is required for apply requests"
            )
            raise StatusError.invalid(resource.kind, target.name, resource.group, [error])
        force_value = query.get("force", "false")
        if force_value not in ("true", "false"):
            raise StatusError.bad_request(
                f"force: invalid value {force_value!r}, want true or false"
            )
        config = self._decode_object(target, content, yaml_ok=True)
        meta: dict[str, Any] = config["metadata"]
        if meta.get("managedFields"):
            raise StatusError.bad_request("metadata.managedFields must be nil")
        namespace = target.namespace or ""
        self._require_namespace(resource, namespace)
        old = self._store.get(resource.store_key, namespace, target.name)
        if old is not None:
            self._check_version(old, meta, target)
        elif meta.get("resourceVersion"):
            raise StatusError.modified(
                resource.resource, target.name, resource.group, resource.plural
            )
        for key in SERVER_MANAGED:
            meta.pop(key, None)
        if target.subresource == "status":
            if old is None:
                raise self._not_found(target, target.name)
            config = {k: v for k, v in config.items() if k in ("apiVersion", "kind", "status")}
            config["metadata"] = {k: v for k, v in meta.items() if k in ("name", "namespace")}
            status = "only"
        elif resource.status_subresource:
            config.pop("status", None)
            status = "exclude"
        else:
            status = "include"
        _field_validation(query, "Patch")
        undeclared = unknown_metadata(meta) + unknown_fields(resource.schema, config)
        if undeclared:
            # structured-merge-diff types the configuration before anything else: it
            # knows no Warn or Ignore, a field the schema does not have fails the apply
            raise StatusError(
                500,
                "",
                f"failed to create typed patch object ({namespace}/{target.name}; "
                f"{resource.group}/{resource.version}, Kind={resource.kind}): "
                + ssa.typed_errors([f".{p}: field not declared in schema" for p in undeclared]),
            )
        live = copy_json(old.obj) if old is not None else None
        if live is not None:
            live["apiVersion"] = resource.api_version
        try:
            merged, managers = ssa.apply(
                live,
                old.managers if old is not None else (),
                config,
                manager=manager,
                force=force_value == "true",
                node=resource.schema,
                subresource=target.subresource,
                status=status,
                api_version=resource.api_version,
                now=self._now(),
            )
        except ssa.ApplyConfigError as e:
            # the real server's answer, before any validation (a 500 without a reason)
            group_version = f"{resource.group}/{resource.version}"
            raise StatusError(
                500,
                "",
                f"failed to create typed patch object ({namespace}/{target.name}; "
                f"{group_version}, Kind={resource.kind}): {e.typed_message()}",
            ) from None
        except ssa.ApplyConflictError as conflict:
            details = {
                "name": target.name,
                "group": resource.group,
                "kind": resource.plural,
                "causes": conflict.causes(),
            }
            raise StatusError(409, "Conflict", conflict.message(), details) from None
        if old is not None and managers == old.managers and not old.defaulted_on_read:
            merged["apiVersion"] = old.obj["apiVersion"]
            if merged == old.obj:
                # Nothing changed: the stored object is already defaulted and valid.
                return 200, old.body(resource.api_version)
        write = _Write(manager, target.subresource, dry_run)
        code, stored = self._commit(resource, namespace, target.name, old, merged, managers, write)
        return code, stored.body(target.resource.api_version)

    def _commit(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        old: StoredObject | None,
        new: dict[str, Any],
        managers: tuple[ssa.ManagedEntry, ...] | None,
        write: _Write,
    ) -> tuple[int, StoredObject]:
        """Validate and store the result of a write; return (status code, stored object).

        ``managers`` is the new field ownership for apply; None records an Update by
        ``write.manager``.
        """
        now = self._now()
        new["apiVersion"] = old.obj["apiVersion"] if old is not None else resource.api_version
        new["kind"] = resource.kind
        meta: dict[str, Any] = new["metadata"]
        meta["name"] = name
        if resource.namespaced:
            meta["namespace"] = namespace
        if old is None and resource.status_subresource and not write.keep_status:
            new.pop("status", None)
        given_status = "status" in new
        for key in SERVER_MANAGED:
            meta.pop(key, None)
        if resource.prepare is not None:
            resource.prepare(new, old.obj if old is not None else None, self._allocate_ip)
        unknown: list[str] | None = None if write.field_validation == "Ignore" else []
        errors = validate_metadata(
            meta,
            rule=resource.name_rule,
            namespaced=resource.namespaced,
            unknown=[] if unknown is None else unknown,
        )
        errors += validate(
            resource.schema,
            new,
            old.obj if old is not None else None,
            unknown=[] if unknown is None else unknown,
        )
        if unknown and write.field_validation == "Strict":
            version = resource.version
            raise StatusError.bad_request(
                f'{resource.kind} in version "{version}" cannot be handled as a '
                f"{resource.kind}: strict decoding error: "
                + ", ".join(f'unknown field "{path}"' for path in unknown)
            )
        if unknown:
            self._warnings += [f'unknown field "{path}"' for path in unknown]
        definition: CrdDefinition | None = None
        if resource.store_key == _CRD_KEY and not errors:
            definition, crd_errors = self._check_crd(new, old)
            errors += crd_errors
        if errors:
            raise StatusError.invalid(resource.kind, name, resource.group, errors)
        if old is None and self._store.get(resource.store_key, namespace, name) is not None:
            raise StatusError.already_exists(
                resource.resource, name, resource.group, resource.plural
            )
        status_mode = self._status_mode(resource, write)
        if managers is None:
            managers = ssa.record_update(
                old.managers if old is not None else (),
                old.obj if old is not None else None,
                new,
                manager=write.manager,
                node=resource.schema,
                subresource=write.subresource,
                status=status_mode,
                api_version=resource.api_version,
                now=now,
            )
        if old is not None:
            old_meta = old.obj["metadata"]
            for key in ("uid", "creationTimestamp", "generation", "resourceVersion"):
                if key in old_meta:
                    meta[key] = old_meta[key]
            new["apiVersion"] = old.obj["apiVersion"]
            if managers == old.managers and new == old.obj and not old.defaulted_on_read:
                return 200, old
            if resource.generation and _spec_changed(new, old.obj):
                meta["generation"] = int(old_meta.get("generation", 0)) + 1
        else:
            meta["uid"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            meta["creationTimestamp"] = now
            if resource.generation:
                meta["generation"] = 1
        # a status the schema defaulted on a create is not stored by a real server
        pending = old is None and resource.status_subresource and not given_status
        pending = pending and "status" in new
        if write.dry_run:
            if old is None:
                meta.pop("resourceVersion", None)
            return (201 if old is None else 200), StoredObject(new, managers)
        meta["resourceVersion"] = self._store.next_revision()
        stored = StoredObject(new, managers, defaulted_on_read=pending)
        self._store.put(resource.store_key, stored)
        if definition is not None:
            self._install(definition)
        return (201 if old is None else 200), stored

    @staticmethod
    def _status_mode(resource: ResourceType, write: _Write) -> str:
        if write.subresource == "status":
            return "only"
        if resource.status_subresource and not write.keep_status:
            return "exclude"
        return "include"

    def _check_crd(
        self, new: dict[str, Any], old: StoredObject | None
    ) -> tuple[CrdDefinition | None, list[FieldError]]:
        try:
            definition = parse_crd(new)
        except InvalidCrdError as e:
            return None, e.errors
        existing = self._crds.get(definition.name)
        if existing is not None and existing.namespaced != definition.namespaced:
            return None, [
                FieldError(
                    ErrorType.INVALID,
                    "spec.scope",
                    "Namespaced" if definition.namespaced else "Cluster",
                    "field is immutable",
                )
            ]
        if not (as_dict(new.get("status")) or {}).get("conditions"):
            versions = [as_dict(v) or {} for v in as_list(new["spec"]["versions"]) or []]
            storage = next((str(v["name"]) for v in versions if v.get("storage")), "")
            names = new["spec"]["names"]
            now = self._now()
            new["status"] = {
                "acceptedNames": {
                    "kind": definition.kind,
                    "listKind": names.get("listKind", f"{definition.kind}List"),
                    "plural": definition.plural,
                    "singular": names.get("singular", definition.kind.lower()),
                    **({"shortNames": names["shortNames"]} if names.get("shortNames") else {}),
                },
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "True",
                        "reason": "NoConflicts",
                        "lastTransitionTime": now,
                        "message": "no conflicts found",
                    },
                    {
                        "type": "Established",
                        "status": "True",
                        "reason": "InitialNamesAccepted",
                        "lastTransitionTime": now,
                        "message": "the initial names have been accepted",
                    },
                ],
                "storedVersions": [storage],
            }
        return definition, []

    def _install(self, definition: CrdDefinition) -> None:
        self._unregister_crd(definition.name)
        self._crds[definition.name] = definition
        for resource in definition.versions:
            self._register(resource)

    # --- deletes -----------------------------------------------------------------------

    def _delete(self, target: _Target, content: bytes, dry_run: bool) -> tuple[int, bytes]:
        assert target.name is not None
        resource = target.resource
        namespace = target.namespace or ""
        stored = self._store.get(resource.store_key, namespace, target.name)
        if stored is None:
            raise self._not_found(target, target.name)
        options = as_dict(self._decode(content) if content else {}) or {}
        preconditions = as_dict(options.get("preconditions"))
        if preconditions is not None:
            uid = preconditions.get("uid")
            have_uid = stored.obj["metadata"].get("uid")
            if uid and uid != have_uid:
                raise StatusError(
                    409,
                    "Conflict",
                    f"Precondition failed: UID in precondition: {uid}, "
                    f"UID in object meta: {have_uid}",
                )
            version = preconditions.get("resourceVersion")
            if version and version != stored.resource_version:
                raise StatusError(
                    409,
                    "Conflict",
                    f"Precondition failed: ResourceVersion in precondition: {version}, "
                    f"ResourceVersion in object meta: {stored.resource_version}",
                )
        if not dry_run:
            self._store.delete(resource.store_key, namespace, target.name)
            self._after_delete(resource, stored)
        details = {
            "name": target.name,
            "group": resource.group,
            "kind": resource.plural,
            "uid": stored.obj["metadata"].get("uid"),
        }
        return 200, dump_json(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        )

    def _after_delete(self, resource: ResourceType, stored: StoredObject) -> None:
        if resource.store_key == _NAMESPACE_KEY:
            self._store.drop_namespace(stored.name)
        elif resource.store_key == _CRD_KEY:
            definition = self._unregister_crd(stored.name)
            if definition is not None:
                self._store.drop_resource((definition.group, definition.plural))

    def _delete_collection(
        self, target: _Target, query: Mapping[str, str], dry_run: bool
    ) -> tuple[int, bytes]:
        doomed = self._selected(target, query)
        if not dry_run:
            for stored in doomed:
                self._store.delete(target.resource.store_key, stored.namespace, stored.name)
                self._after_delete(target.resource, stored)
        # the real server answers with the list of what it deleted
        api_version = target.resource.api_version
        head = dump_json(
            {
                "kind": target.resource.list_kind,
                "apiVersion": api_version,
                "metadata": {"resourceVersion": str(self._store.revision)},
            }
        )
        items = b",".join(s.body(api_version) for s in doomed)
        return 200, head[:-1] + b',"items":[' + items + b"]}"

    # --- iteration helpers for tests -----------------------------------------------------

    def objects(self, *, crds: bool = True) -> Iterator[dict[str, Any]]:
        """Deep copies of every stored object (all kinds, all namespaces).

        Args:
            crds: include the CustomResourceDefinitions (large: copying them is most of
                the cost of a snapshot of a small cluster).
        """
        with self._lock:
            snapshot: Iterable[tuple[tuple[str, str], StoredObject]] = list(self._store)
        for key, stored in snapshot:
            if crds or key != _CRD_KEY:
                yield copy_json(stored.view(str(stored.obj["apiVersion"])))
