"""The one seam where meshops talks to a Kubernetes API server.

Everything above this module passes Kubernetes objects as plain dicts and gets typed
errors back (:mod:`meshops.k8s.errors`). :func:`connect` builds a lightkube client from
the usual configuration (in a pod: the service account; elsewhere: ``KUBECONFIG`` or
``~/.kube/config``). Tests point every client at the in-process fake with
:func:`use_transport`, which is what ``meshops.testing.FakeKubernetes.installed()`` does.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Generator
from pathlib import Path

import httpx2
import lightkube
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ConfigError

from meshops.k8s.errors import Unavailable

_override = threading.local()
#: One client per configuration, namespace and field manager for the whole process: its
#: connections are reused by every Api made for it (a hook makes several), and none is
#: left to be closed by the garbage collector in the middle of a run.
_clients: dict[tuple[str | None, ...], lightkube.Client] = {}
_clients_lock = threading.Lock()
#: Server URL the fake answers on; nothing is ever sent over a network to it.
FAKE_SERVER = "http://kubernetes.fake"


@contextlib.contextmanager
def use_transport(transport: httpx2.BaseTransport) -> Generator[None, None, None]:
    """Send every client :func:`connect` makes, in this thread, through ``transport``.

    Example:
        >>> fake = meshops.testing.FakeKubernetes()  # doctest: +SKIP
        >>> with use_transport(fake.transport):  # doctest: +SKIP
        ...     client = connect(field_manager="my-app")
    """
    previous = getattr(_override, "transport", None)
    _override.transport = transport
    try:
        yield
    finally:
        _override.transport = previous


def make_client(
    transport: httpx2.BaseTransport, *, field_manager: str, namespace: str = "default"
) -> lightkube.Client:
    """A lightkube client that sends every request through ``transport``.

    lightkube's ``KubeConfig.from_server`` builds a configuration without a user, which
    its client then refuses, so the configuration is built from one cluster and an
    empty user instead.
    """
    config = KubeConfig.from_one(
        cluster=Cluster(server=FAKE_SERVER), user=User(), namespace=namespace
    )
    return lightkube.Client(
        config, field_manager=field_manager, transport=transport, trust_env=False
    )


def connect(
    *,
    field_manager: str,
    namespace: str | None = None,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
) -> lightkube.Client:
    """A lightkube client for the cluster this process should talk to.

    Args:
        field_manager: the server-side apply field manager (one per application).
        namespace: the default namespace for namespaced requests.
        kubeconfig: a kubeconfig file; default: in-cluster config, ``KUBECONFIG``,
            then ``~/.kube/config``.
        context: a context in the kubeconfig; default: its current context.

    Raises:
        Unavailable: no configuration for a cluster could be found.
    """
    transport = getattr(_override, "transport", None)
    if transport is not None:
        return make_client(
            transport, field_manager=field_manager, namespace=namespace or "default"
        )
    key = (
        str(kubeconfig) if kubeconfig is not None else os.environ.get("KUBECONFIG"),
        context,
        namespace,
        field_manager,
    )
    with _clients_lock:
        if key in _clients:
            return _clients[key]
    try:
        if kubeconfig is not None:
            config = KubeConfig.from_file(kubeconfig).get(context_name=context)
        elif context is not None:
            config = KubeConfig.from_env().get(context_name=context)
        else:
            config = KubeConfig.from_env()
    except (ConfigError, OSError, KeyError, ValueError) as e:
        raise Unavailable(f"no Kubernetes cluster configured: {e}") from e
    client = lightkube.Client(config, namespace=namespace, field_manager=field_manager)
    with _clients_lock:
        return _clients.setdefault(key, client)
