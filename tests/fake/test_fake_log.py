"""The request log, fault injection, and what the fake refuses to pretend.

Covers the log records (method, path, query with fieldManager/force/labelSelector/dryRun,
content type, status, body, verb), counting reads and writes, ``clear_log``,
``fail_next`` (status codes, ``times``, method and path matching, ``Retry-After``, the
Status body lightkube turns into ``ApiError``), ``delay_next`` (slow answers and
timeouts counted in the fake's clock, writes made or not), ``disconnect_next``,
``before_next`` (races), and
``NotSupportedError`` for watches and subresources the fake does not implement.
"""

from __future__ import annotations

import math

import httpx2
import lightkube
import pytest
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from meshops.testing import FakeKubernetes, NotSupportedError, Request

AuthorizationPolicy = create_namespaced_resource(
    "security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies"
)

pytestmark = pytest.mark.fake_only("the fake's own request log and fault injection")


def policy(name: str) -> AuthorizationPolicy:
    return AuthorizationPolicy(
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": name, "namespace": "apps", "labels": {"owner": "me"}},
            "spec": {"action": "ALLOW"},
        }
    )


def test_log_records_what_reached_the_api(client: lightkube.Client, fake: FakeKubernetes) -> None:
    fake.clear_log()
    client.apply(policy("p1"), force=True)
    list(client.list(AuthorizationPolicy, labels={"owner": "me"}))
    client.get(AuthorizationPolicy, "p1")
    client.delete(AuthorizationPolicy, "p1", dry_run=True)
    apply_request, list_request, get_request, delete_request = fake.requests
    assert apply_request == Request(
        method="PATCH",
        path="/apis/security.istio.io/v1/namespaces/apps/authorizationpolicies/p1",
        query={"force": "true", "fieldManager": "meshops"},
        content_type="application/apply-patch+yaml",
        status=201,
        content=apply_request.content,
    )
    assert apply_request.body["spec"] == {"action": "ALLOW"}
    assert apply_request.verb == "apply"
    assert list_request.query == {"labelSelector": "owner=me"}
    assert (list_request.verb, list_request.status, list_request.body) == ("list", 200, None)
    assert (get_request.verb, get_request.status) == ("get", 200)
    assert (delete_request.verb, delete_request.query["dryRun"]) == ("delete", "All")
    assert fake.reads == 2
    assert fake.writes == 2


def test_failed_requests_are_logged_with_their_status(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    fake.clear_log()
    with pytest.raises(lightkube.ApiError):
        client.get(ConfigMap, "missing")
    (request,) = fake.requests
    assert request.status == 404
    assert not request.is_write


def test_clear_log(client: lightkube.Client, fake: FakeKubernetes) -> None:
    client.create(ConfigMap(metadata=ObjectMeta(name="cm")))
    assert fake.writes == 1
    fake.clear_log()
    assert fake.requests == []
    assert (fake.reads, fake.writes) == (0, 0)


def test_direct_helpers_are_not_logged(fake: FakeKubernetes) -> None:
    fake.clear_log()
    fake.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}}
    )
    fake.get("v1", "ConfigMap", "cm", "apps")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (409, "Conflict"),
        (429, "TooManyRequests"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_fail_next_injects_a_status(
    client: lightkube.Client, fake: FakeKubernetes, code: int, reason: str
) -> None:
    fake.fail_next("PATCH", "/authorizationpolicies/", code)
    with pytest.raises(lightkube.ApiError) as e:
        client.apply(policy("p"))
    assert (e.value.status.code, e.value.status.reason) == (code, reason)
    assert fake.get("security.istio.io/v1", "AuthorizationPolicy", "p", "apps") is None
    client.apply(policy("p"))
    assert fake.get("security.istio.io/v1", "AuthorizationPolicy", "p", "apps") is not None
    assert [r.status for r in fake.requests[-2:]] == [code, 201]


def test_fail_next_times_and_matching(client: lightkube.Client, fake: FakeKubernetes) -> None:
    fake.fail_next("GET", "/configmaps", 503, times=2)
    fake.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}}
    )
    client.apply(policy("untouched"))  # another method and path: not affected
    for _ in range(2):
        with pytest.raises(lightkube.ApiError):
            client.get(ConfigMap, "cm")
    assert client.get(ConfigMap, "cm").metadata.name == "cm"  # type: ignore[union-attr]


def test_fail_next_any_method_and_retry_after(api: httpx2.Client, fake: FakeKubernetes) -> None:
    fake.fail_next("*", "", 429, retry_after=3, message="slow down")
    response = api.get("/api/v1/namespaces")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "slow down",
        "reason": "TooManyRequests",
        "code": 429,
        "details": {"retryAfterSeconds": 3},
    }
    assert api.get("/api/v1/namespaces").status_code == 200


def test_fail_next_checks_its_arguments(fake: FakeKubernetes) -> None:
    with pytest.raises(ValueError, match="400-599"):
        fake.fail_next("GET", "", 200)
    with pytest.raises(ValueError, match="at least 1"):
        fake.fail_next("GET", "", 500, times=0)


def test_delay_next_takes_time_then_answers_or_times_out(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    fake.delay_next("GET", "/namespaces", 2.5)
    assert api.get("/api/v1/namespaces", timeout=5.0).status_code == 200
    assert fake.time.now() == 2.5
    fake.delay_next("GET", "/namespaces", 6.0)
    with pytest.raises(httpx2.ReadTimeout, match="no answer within 5 s"):
        api.get("/api/v1/namespaces", timeout=5.0)
    assert fake.time.now() == 7.5  # the client gave up after its 5 s
    assert [r.status for r in fake.requests[-2:]] == [200, 0]
    assert fake.faults_injected == 2


def test_a_timed_out_write_is_made_only_when_told(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}
    for took_effect in (False, True):
        fake.delay_next("POST", "/configmaps", math.inf, took_effect=took_effect)
        with pytest.raises(httpx2.ReadTimeout):
            api.post("/api/v1/namespaces/apps/configmaps", json=body, timeout=1.0)
        assert (fake.get("v1", "ConfigMap", "cm", "apps") is not None) is took_effect


def test_a_request_never_answered_needs_a_client_timeout(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    fake.delay_next("GET", "", math.inf)
    with pytest.raises(NotSupportedError, match="no timeout"):
        api.get("/api/v1/namespaces", timeout=None)


def test_disconnect_next_refuses_the_connection_unlogged(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    fake.clear_log()
    fake.disconnect_next("*", "", times=2)
    for _ in range(2):
        with pytest.raises(httpx2.ConnectError, match="connection refused"):
            api.get("/api/v1/namespaces")
    assert fake.requests == []
    assert api.get("/api/v1/namespaces").status_code == 200


def test_before_next_runs_just_before_the_request_is_answered(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}}
    fake.before_next("GET", "/configmaps/cm", lambda: fake.add(cm))
    assert api.get("/api/v1/namespaces/apps/configmaps/cm").status_code == 200
    fake.delete("v1", "ConfigMap", "cm", "apps")
    assert api.get("/api/v1/namespaces/apps/configmaps/cm").status_code == 404  # once only


def test_delays_and_disconnects_check_their_arguments(fake: FakeKubernetes) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        fake.delay_next("GET", "", -1.0)
    with pytest.raises(ValueError, match="at least 1"):
        fake.delay_next("GET", "", 1.0, times=0)
    with pytest.raises(ValueError, match="at least 1"):
        fake.disconnect_next("GET", "", times=0)


def test_watch_is_not_supported(client: lightkube.Client) -> None:
    with pytest.raises(NotSupportedError, match="watch"):
        next(iter(client.watch(ConfigMap)))


def test_other_subresources_are_not_supported(api: httpx2.Client, fake: FakeKubernetes) -> None:
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "apps"},
            "spec": {},
        }
    )
    with pytest.raises(NotSupportedError, match="subresource 'log'"):
        api.get("/api/v1/namespaces/apps/pods/p/log")


def test_unknown_paths_are_404(api: httpx2.Client) -> None:
    assert api.get("/healthz").status_code == 404
    assert api.get("/apis/apps/v1/namespaces/apps/nothings").status_code == 404
    assert api.get("/api/v1/namespaces/apps/namespaces/x").status_code == 404
    assert api.put("/api/v1/namespaces/apps/configmaps", json={}).status_code == 405
