"""Watches: what the fake streams to a watch request, on the fake and the real server.

Covers a watch's first events (every selected object, ADDED), the changes made while it
runs (MODIFIED, DELETED), its selectors, its end at ``timeoutSeconds`` and, on the fake
alone, how its time passes: to the actions scheduled with ``FakeKubernetes.later``, at
once, ending at the watch's timeout or its client's read timeout.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import httpx2
import lightkube
import pytest
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import on_error_stop

from meshops.k8s.client import make_client
from meshops.testing import FakeKubernetes, NotSupportedError

NS = "apps"


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": {"watched": "yes"}},
        "data": data,
    }


def later(cluster: Any, seconds: float, action: Callable[[], object]) -> None:
    """``action`` after ``seconds``: on the fake's time, or really, beside the real server."""
    if isinstance(cluster, FakeKubernetes):
        cluster.later(seconds, action)
    else:
        threading.Timer(seconds, action).start()


def watch(client: lightkube.Client, **kw: Any) -> Any:
    return client.watch(ConfigMap, namespace=NS, on_error=on_error_stop, **kw)


def test_a_watch_sends_what_exists_then_each_change(fake: Any, client: lightkube.Client) -> None:
    fake.add(config_map("a", v="1"))
    later(fake, 0.2, lambda: fake.add(config_map("a", v="2")))
    later(fake, 0.4, lambda: fake.delete("v1", "ConfigMap", "a", NS))
    seen: list[tuple[str, str | None]] = []
    for change, obj in watch(client, fields={"metadata.name": "a"}, server_timeout=10):
        seen.append((change, (obj.data or {}).get("v")))
        if change == "DELETED":
            break
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


def test_a_watch_sends_only_what_its_selectors_select(fake: Any, client: lightkube.Client) -> None:
    fake.add(config_map("a"))
    other = config_map("b")
    other["metadata"]["labels"] = {"watched": "no"}
    fake.add(other)
    later(fake, 0.2, lambda: fake.add(config_map("c")))
    names: list[str] = []
    for _, obj in watch(client, labels={"watched": "yes"}, server_timeout=10):
        assert obj.metadata is not None
        names.append(str(obj.metadata.name))
        if len(names) == 2:
            break
    assert names == ["a", "c"]


def test_a_watch_from_a_resource_version_sends_only_later_changes(
    fake: Any, client: lightkube.Client
) -> None:
    stored = fake.add(config_map("a", v="1"))
    version = stored["metadata"]["resourceVersion"]
    later(fake, 0.2, lambda: fake.add(config_map("a", v="2")))
    events = watch(client, resource_version=version, server_timeout=10)
    change, obj = next(iter(events))
    assert (change, obj.data) == ("MODIFIED", {"v": "2"})


@pytest.mark.fake_only("the fake's time and scheduled actions")
def test_the_fake_lets_its_time_pass_to_the_next_action_at_once(fake: FakeKubernetes) -> None:
    fake.add(config_map("a", v="1"))
    fake.later(7.5, lambda: fake.add(config_map("a", v="2")))
    client = make_client(fake.transport, field_manager="t", namespace=NS)
    moments: list[float] = []
    for change, _ in watch(client, server_timeout=60):
        moments.append(fake.time.now())
        if change == "MODIFIED":
            break
    assert moments == [0.0, 7.5]


@pytest.mark.fake_only("the fake's time")
def test_a_watch_ends_at_its_timeout_on_the_fakes_time(fake: FakeKubernetes) -> None:
    url = "http://kubernetes.fake/api/v1/namespaces/apps/configmaps"
    with httpx2.Client(transport=fake.transport) as http:
        response = http.get(url, params={"watch": "true", "timeoutSeconds": "12"}, timeout=None)
        assert response.status_code == 200
        assert response.read() == b""
    assert fake.time.now() == 12.0


@pytest.mark.fake_only("the fake's time")
def test_a_client_read_timeout_ends_a_quiet_watch_with_a_read_timeout(
    fake: FakeKubernetes,
) -> None:
    url = "http://kubernetes.fake/api/v1/namespaces/apps/configmaps"
    with httpx2.Client(transport=fake.transport) as http, pytest.raises(httpx2.ReadTimeout):
        http.get(url, params={"watch": "true"}, timeout=3.0).read()
    assert fake.time.now() == 3.0


@pytest.mark.fake_only("a watch the fake cannot end")
def test_a_watch_that_would_wait_for_ever_is_refused(fake: FakeKubernetes) -> None:
    url = "http://kubernetes.fake/api/v1/namespaces/apps/configmaps"
    refused = pytest.raises(NotSupportedError, match="would wait for ever")
    with httpx2.Client(transport=fake.transport) as http, refused:
        http.get(url, params={"watch": "true"}, timeout=None).read()
    assert not math.isinf(fake.time.now())


@pytest.mark.fake_only("the fake's time and scheduled actions")
def test_pass_time_runs_the_actions_due_meanwhile(fake: FakeKubernetes) -> None:
    fake.later(5, lambda: fake.add(config_map("a")))
    fake.later(50, lambda: fake.add(config_map("b")))
    fake.pass_time(10)
    assert fake.time.now() == 10.0
    assert [o["metadata"]["name"] for o in fake.list("v1", "ConfigMap", NS)] == ["a"]
