"""The one seam where meshops talks to a Kubernetes API server.

Everything above this module passes Kubernetes objects as plain dicts and gets typed
errors back (:mod:`meshops.k8s.errors`). :func:`connect` builds a lightkube client from
the usual configuration (in a pod: the service account; elsewhere: ``KUBECONFIG`` or
``~/.kube/config``). Tests point every client at the in-process fake with
:func:`use_transport`, which is what ``meshops.testing.FakeKubernetes.installed()`` does;
it may hand over a clock too, so that the time a test's requests take is the fake's.

Given a ``timeout`` (what is left of a :class:`~meshops.k8s.deadline.Deadline`), every
request the client sends gets it as its connect, read, write and pool timeout: lightkube
sets one timeout per client, and a deadline needs one per request.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Generator
from pathlib import Path

import httpx2
import lightkube
from lightkube.config.client_adapter import verify_cluster
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ConfigError

from meshops.k8s.errors import Unavailable

__all__ = [
    "FAKE_SERVER",
    "Clock",
    "Timeout",
    "TimeoutTransport",
    "connect",
    "installed_clock",
    "make_client",
    "use_transport",
]

_override = threading.local()
#: One HTTPS transport (its connection pool) per configuration for the whole process:
#: every client made for it (a hook makes several, each with its own deadline) reuses its
#: connections, and none is left to be closed by the garbage collector mid-run.
_transports: dict[tuple[str | None, ...], httpx2.HTTPTransport] = {}
_transports_lock = threading.Lock()
#: Server URL the fake answers on; nothing is ever sent over a network to it.
FAKE_SERVER = "http://kubernetes.fake"

#: Seconds left for a request (see :meth:`meshops.k8s.deadline.Deadline.request_timeout`).
Timeout = Callable[[], float]


@dataclasses.dataclass(frozen=True)
class Clock:
    """A source of monotonic seconds and a way to wait, handed over with a test transport.

    Attributes:
        now: the current time in seconds (like :func:`time.monotonic`).
        sleep: waits (like :func:`time.sleep`).
    """

    now: Callable[[], float]
    sleep: Callable[[float], None]


@contextlib.contextmanager
def use_transport(
    transport: httpx2.BaseTransport, *, clock: Clock | None = None
) -> Generator[None, None, None]:
    """Send every client :func:`connect` makes, in this thread, through ``transport``.

    Args:
        transport: where the requests go.
        clock: the time the requests take and the backoff waits are counted in (and
            waited with), for every :class:`~meshops.k8s.api.Api` made meanwhile;
            default: the real clock.

    Example:
        >>> fake = meshops.testing.FakeKubernetes()  # doctest: +SKIP
        >>> with use_transport(fake.transport):  # doctest: +SKIP
        ...     client = connect(field_manager="my-app")
    """
    previous = getattr(_override, "transport", None), getattr(_override, "clock", None)
    _override.transport, _override.clock = transport, clock
    try:
        yield
    finally:
        _override.transport, _override.clock = previous


def installed_clock() -> Clock | None:
    """The clock :func:`use_transport` handed over in this thread, if any."""
    clock: Clock | None = getattr(_override, "clock", None)
    return clock


class TimeoutTransport(httpx2.BaseTransport):
    """Sends each request through ``inner`` with the timeout ``timeout()`` gives then.

    A request sent when no time is left fails at once (``httpx2.ConnectTimeout``)
    without reaching the server.
    """

    def __init__(self, inner: httpx2.BaseTransport, timeout: Timeout) -> None:
        self.inner = inner
        self._timeout = timeout

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` with what is left of the time as its timeouts."""
        seconds = self._timeout()
        if seconds <= 0:
            raise httpx2.ConnectTimeout("no time left to send the request", request=request)
        request.extensions = {
            **request.extensions,
            "timeout": httpx2.Timeout(seconds).as_dict(),
        }
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


def make_client(
    transport: httpx2.BaseTransport,
    *,
    field_manager: str,
    namespace: str = "default",
    timeout: Timeout | None = None,
) -> lightkube.Client:
    """A lightkube client that sends every request through ``transport``.

    lightkube's ``KubeConfig.from_server`` builds a configuration without a user, which
    its client then refuses, so the configuration is built from one cluster and an
    empty user instead. The cluster is marked as not verifying TLS: nothing goes over a
    network or TLS to a transport, and lightkube would otherwise load the system's CA
    store for every client (about 0.1 s each, most of a test hook's time).

    Args:
        transport: where the requests go.
        field_manager: the server-side apply field manager.
        namespace: the default namespace.
        timeout: each request's timeout, asked for as it is sent; default: lightkube's.
    """
    config = KubeConfig.from_one(
        cluster=Cluster(server=FAKE_SERVER, insecure=True), user=User(), namespace=namespace
    )
    if timeout is not None:
        transport = TimeoutTransport(transport, timeout)
    return lightkube.Client(
        config, field_manager=field_manager, transport=transport, trust_env=False
    )


def connect(
    *,
    field_manager: str,
    namespace: str | None = None,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    timeout: Timeout | None = None,
) -> lightkube.Client:
    """A lightkube client for the cluster this process should talk to.

    Args:
        field_manager: the server-side apply field manager (one per application).
        namespace: the default namespace for namespaced requests.
        kubeconfig: a kubeconfig file; default: in-cluster config, ``KUBECONFIG``,
            then ``~/.kube/config``.
        context: a context in the kubeconfig; default: its current context.
        timeout: each request's timeout, asked for as it is sent; default: lightkube's.

    Raises:
        Unavailable: no configuration for a cluster could be found.
    """
    transport = getattr(_override, "transport", None)
    if transport is not None:
        return make_client(
            transport,
            field_manager=field_manager,
            namespace=namespace or "default",
            timeout=timeout,
        )
    key = (
        str(kubeconfig) if kubeconfig is not None else os.environ.get("KUBECONFIG"),
        context,
    )
    try:
        if kubeconfig is not None:
            config = KubeConfig.from_file(kubeconfig).get(context_name=context)
        elif context is not None:
            config = KubeConfig.from_env().get(context_name=context)
        else:
            config = KubeConfig.from_env().get()
        if config is None:
            raise ConfigError("no current context")
        with _transports_lock:
            inner = _transports.get(key)
            if inner is None:
                inner = _transports[key] = _https(config)
    except (ConfigError, OSError, KeyError, ValueError) as e:
        raise Unavailable(f"no Kubernetes cluster configured: {e}") from e
    transport = inner if timeout is None else TimeoutTransport(inner, timeout)
    return lightkube.Client(
        config, namespace=namespace, field_manager=field_manager, transport=transport
    )


def _https(config: SingleConfig) -> httpx2.HTTPTransport:
    """The transport lightkube would make for ``config``: its TLS settings, client cert.

    Handing lightkube a transport replaces the one it builds from ``verify`` (the
    cluster's CA and the user's certificate), so it is built here the same way, with
    lightkube's own ``verify_cluster``. Authentication (tokens, exec plugins) stays
    lightkube's: it is applied by the client, above the transport.
    """
    if config.user is None:
        raise ConfigError(f"context of cluster {config.cluster.server!r} has no user")
    verify = verify_cluster(config.cluster, config.user, config.abs_file, trust_env=True)
    return httpx2.HTTPTransport(verify=verify)
