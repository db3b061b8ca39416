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
import shutil
import threading
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any, cast

import httpx2
import lightkube
import yaml
from lightkube.config.client_adapter import verify_cluster
from lightkube.config.kubeconfig import (
    DEFAULT_KUBECONFIG,
    SERVICE_ACCOUNT,
    KubeConfig,
    SingleConfig,
)
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
        Unavailable: no configuration for a cluster could be found, or the kubeconfig
            cannot be used; the message names the file and what is wrong in one line
            (see :func:`load_config`).
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
        config = load_config(kubeconfig, context)
        with _transports_lock:
            inner = _transports.get(key)
            if inner is None:
                inner = _transports[key] = _https(config)
    except ConfigError as e:
        raise Unavailable(str(e)) from None
    except (OSError, KeyError, ValueError) as e:
        raise Unavailable(f"no Kubernetes cluster configured: {e}") from e
    transport = inner if timeout is None else TimeoutTransport(inner, timeout)
    return lightkube.Client(
        config, namespace=namespace, field_manager=field_manager, transport=transport
    )


def load_config(kubeconfig: str | Path | None, context: str | None) -> SingleConfig:
    """The configuration of ``context`` (default: the current one) of a kubeconfig.

    Without ``kubeconfig``: the pod's service account when there is one, else the file
    ``KUBECONFIG`` names (the first, if it lists several), else ``~/.kube/config``, as
    lightkube looks. The file is read here rather than by lightkube so that what is wrong
    with it is said in one line naming the file: YAML that does not parse (with its line),
    a document that is no mapping, a context, cluster or user that the file does not
    define (which one, and which it does), or an exec credential plugin that is not
    installed.

    Raises:
        ConfigError: saying what is wrong, naming the file.
    """
    if kubeconfig is None:
        if Path(SERVICE_ACCOUNT, "token").exists():
            config = KubeConfig.from_service_account().get(context_name=context)
            if config is None:  # pragma: no cover - a service account always has one
                raise ConfigError("the service account's configuration has no context")
            return config
        listed = os.environ.get("KUBECONFIG", "").split(os.pathsep)
        kubeconfig = next((p for p in listed if p), DEFAULT_KUBECONFIG)
    path = Path(kubeconfig).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no Kubernetes cluster configured: kubeconfig {path}: no such file"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"kubeconfig {path}: cannot be read: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"kubeconfig {where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        held = "nothing" if data is None else f"a {type(cast(object, data)).__name__}"
        raise ConfigError(
            f"kubeconfig {path}: not a kubeconfig (a YAML mapping of clusters, users and "
            f"contexts); it holds {held}"
        )
    data = cast("dict[str, Any]", data)
    name = context or data.get("current-context")
    if not name:
        raise ConfigError(f"kubeconfig {path}: no current-context, and no context was given")
    entry = _named(data, "contexts", str(name), path, "context")
    body: object = entry.get("context")
    if not isinstance(body, dict):
        raise ConfigError(f"kubeconfig {path}: context {name!r} has no cluster and user")
    body = cast("dict[str, Any]", body)
    cluster = body.get("cluster")
    _named(data, "clusters", str(cluster), path, f"context {name!r} names cluster")
    user = body.get("user")
    if user is not None:
        found = _named(data, "users", str(user), path, f"context {name!r} names user")
        _check_exec(found.get("user"), str(user), path)
    try:
        # (lightkube types the mapping as a bare Dict)
        loaded = KubeConfig.from_dict(data, fname=str(path))  # pyright: ignore[reportUnknownMemberType]
        config = loaded.get(context_name=str(name))
    except (ConfigError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"kubeconfig {path}: cannot be used: {e!r}") from None
    if config is None:  # pragma: no cover - the context was found above
        raise ConfigError(f"kubeconfig {path}: no context {name!r}")
    return config


def _named(
    data: Mapping[str, Any], section: str, name: str, path: Path, what: str
) -> dict[str, Any]:
    """The entry of ``data[section]`` called ``name``, or a ConfigError naming the others."""
    entries: object = data.get(section) or []
    if not isinstance(entries, list):
        raise ConfigError(f"kubeconfig {path}: {section} must be a list")
    names: list[str] = []
    for item in cast("list[object]", entries):
        if isinstance(item, dict):
            entry = cast("dict[str, Any]", item)
            if "name" not in entry:
                continue
            if str(entry["name"]) == name:
                return entry
            names.append(str(entry["name"]))
    has = f"it has {', '.join(repr(n) for n in names)}" if names else f"it has no {section}"
    if what == "context":
        raise ConfigError(f"kubeconfig {path}: no context {name!r} in the file ({has})")
    raise ConfigError(f"kubeconfig {path}: {what} {name!r}, which is not in the file ({has})")


def _check_exec(user: object, name: str, path: Path) -> None:
    """Refuse a user whose exec credential plugin is not installed, naming it."""
    if not isinstance(user, dict):
        return
    plugin: object = cast("dict[str, Any]", user).get("exec")
    if not isinstance(plugin, dict):
        return
    plugin = cast("dict[str, Any]", plugin)
    command: object = plugin.get("command")
    if not isinstance(command, str) or not command:
        raise ConfigError(f"kubeconfig {path}: user {name!r} has an exec plugin with no command")
    if shutil.which(command) is None:
        hint: object = plugin.get("installHint")
        extra = f": {' '.join(str(hint).split())}" if hint else ""
        raise ConfigError(
            f"kubeconfig {path}: user {name!r} logs in with the exec plugin {command!r}, "
            f"which is not installed (not found on PATH){extra}"
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
