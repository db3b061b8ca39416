"""Contract tests for meshops.k8s.Api: typed errors, bounded retries with backoff, reads.

The fake's fault injection stands in for a flaky API server; a recording sleep replaces
the real one, so the backoff delays are asserted, not waited for.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from meshops.k8s import (
    Api,
    Conflict,
    CrdMissing,
    Forbidden,
    Invalid,
    KubernetesError,
    NotFound,
    Unavailable,
    make_client,
)
from meshops.k8s.errors import from_status
from meshops.k8s.kinds import AUTHORIZATION_POLICY, GATEWAY, NAMESPACE

AP = "security.istio.io/v1"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def fake(make_fake: Any) -> Any:
    return make_fake("authorizationpolicies.security.istio.io", namespaces=["a"])


def make_api(transport: Any, sleeps: Sleeps | None = None, **kw: Any) -> Api:
    return Api(
        make_client(transport, field_manager="me"),
        field_manager="me",
        sleep=sleeps or Sleeps(),
        **kw,
    )


def policy(name: str = "p") -> dict[str, Any]:
    return {
        "apiVersion": AP,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": "a", "labels": {"x": "1"}},
        "spec": {"action": "DENY", "rules": [{}]},
    }


def test_get_list_apply_delete_round_trip(fake: Any) -> None:
    api = make_api(fake.transport)
    assert api.get(AUTHORIZATION_POLICY, "p", "a") is None
    stored = api.apply(policy(), AUTHORIZATION_POLICY)
    assert stored["metadata"]["uid"]
    assert api.get(AUTHORIZATION_POLICY, "p", "a")["spec"]["action"] == "DENY"  # type: ignore[index]
    listed = api.list(AUTHORIZATION_POLICY, "a", {"x": "1"})
    assert [(o["kind"], o["metadata"]["name"]) for o in listed] == [("AuthorizationPolicy", "p")]
    assert api.list(AUTHORIZATION_POLICY, "a", {"x": "2"}) == []
    assert api.delete(AUTHORIZATION_POLICY, "p", "a") is True
    assert api.delete(AUTHORIZATION_POLICY, "p", "a") is False


def test_a_cluster_scoped_get(fake: Any) -> None:
    ns = make_api(fake.transport).get(NAMESPACE, "a")
    assert ns is not None and ns["metadata"]["name"] == "a"


def test_missing_crd_is_not_an_absent_object(fake: Any) -> None:
    api = make_api(fake.transport)
    with pytest.raises(CrdMissing, match=r"gateways\.gateway\.networking\.k8s\.io"):
        api.get(GATEWAY, "w", "a")
    with pytest.raises(CrdMissing):
        api.list(GATEWAY, "a")


def test_missing_namespace_is_not_found(fake: Any) -> None:
    api = make_api(fake.transport)
    obj = policy()
    obj["metadata"]["namespace"] = "nowhere"
    with pytest.raises(NotFound) as e:
        api.apply(obj, AUTHORIZATION_POLICY)
    assert not isinstance(e.value, CrdMissing)


def test_invalid_object_carries_the_causes(fake: Any) -> None:
    obj = policy()
    obj["spec"]["action"] = "MAYBE"
    with pytest.raises(Invalid) as e:
        make_api(fake.transport).apply(obj, AUTHORIZATION_POLICY)
    assert e.value.code == 422
    assert any(c.get("field") == "spec.action" for c in e.value.causes)


def test_server_side_apply_conflict_is_not_retried(fake: Any) -> None:
    sleeps = Sleeps()
    make_api(fake.transport).apply(policy(), AUTHORIZATION_POLICY)
    other = Api(
        make_client(fake.transport, field_manager="other"), field_manager="other", sleep=sleeps
    )
    changed = policy()
    changed["spec"]["action"] = "ALLOW"
    with pytest.raises(Conflict):
        other.apply(changed, AUTHORIZATION_POLICY)
    assert sleeps.delays == []
    other.apply(changed, AUTHORIZATION_POLICY, force=True)


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_transient_failures_are_retried_with_exponential_backoff(fake: Any, status: int) -> None:
    sleeps = Sleeps()
    fake.fail_next("PATCH", "/authorizationpolicies/p", status, times=3)
    make_api(fake.transport, sleeps).apply(policy(), AUTHORIZATION_POLICY)
    assert sleeps.delays == [0.2, 0.4, 0.8]
    assert fake.get(AP, "AuthorizationPolicy", "p", "a") is not None


def test_retries_are_bounded(fake: Any) -> None:
    sleeps = Sleeps()
    fake.fail_next("GET", "", 503, times=10)
    with pytest.raises(Unavailable) as e:
        make_api(fake.transport, sleeps, retries=2).list(AUTHORIZATION_POLICY, "a")
    assert e.value.temporary and e.value.code == 503
    assert sleeps.delays == [0.2, 0.4]


def test_the_servers_retry_after_is_honoured_and_capped(fake: Any) -> None:
    sleeps = Sleeps()
    fake.fail_next("GET", "", 429, times=1, retry_after=2)
    fake.fail_next("GET", "", 429, times=1, retry_after=3600)
    make_api(fake.transport, sleeps).list(AUTHORIZATION_POLICY, "a")
    assert sleeps.delays == [2.0, 5.0]


def test_a_409_on_a_plain_read_or_delete_is_retried(fake: Any) -> None:
    sleeps = Sleeps()
    make_api(fake.transport).apply(policy(), AUTHORIZATION_POLICY)
    fake.fail_next("DELETE", "/p", 409, times=1)
    assert make_api(fake.transport, sleeps).delete(AUTHORIZATION_POLICY, "p", "a") is True
    assert sleeps.delays == [0.2]


def test_forbidden_is_permanent(fake: Any) -> None:
    sleeps = Sleeps()
    fake.fail_next("GET", "", 403, times=1)
    with pytest.raises(Forbidden):
        make_api(fake.transport, sleeps).get(NAMESPACE, "a")
    assert sleeps.delays == []


class Broken(httpx2.BaseTransport):
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (httpx2.ConnectTimeout("slow"), "timed out"),
        (httpx2.ConnectError("refused"), "unreachable"),
    ],
)
def test_network_failures_become_unavailable_after_retries(error: Exception, message: str) -> None:
    transport = Broken(error)
    with pytest.raises(Unavailable, match=message):
        make_api(transport).get(NAMESPACE, "a")
    assert transport.calls == 4


@pytest.mark.parametrize(
    ("code", "cls", "temporary"),
    [
        (404, NotFound, False),
        (409, Conflict, False),
        (403, Forbidden, False),
        (422, Invalid, False),
        (400, Invalid, False),
        (429, Unavailable, True),
        (500, Unavailable, True),
        (418, KubernetesError, False),
    ],
)
def test_status_codes_map_to_typed_errors(
    code: int, cls: type[KubernetesError], temporary: bool
) -> None:
    error = from_status({"code": code, "reason": "R", "message": "m"})
    assert type(error) is cls
    assert error.temporary is temporary
    assert (error.code, error.reason, error.message) == (code, "R", "m")


class Answer(httpx2.BaseTransport):
    """Answers every request with one canned response (a proxy in front of the API)."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers
        self.calls = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.calls += 1
        return httpx2.Response(self.status, content=self.body, headers=self.headers)


@pytest.mark.parametrize(
    ("status", "headers", "cls"),
    [
        (503, {"Content-Type": "text/html"}, Unavailable),
        (502, {}, Unavailable),
        (403, {"Content-Type": "text/plain"}, Forbidden),
    ],
)
def test_error_responses_that_are_not_json_are_typed_too(
    status: int, headers: dict[str, str], cls: type[KubernetesError]
) -> None:
    transport = Answer(status, b"<html>upstream trouble</html>\n", headers)
    with pytest.raises(cls) as e:
        make_api(transport).get(NAMESPACE, "a")
    assert e.value.code == status
    assert "upstream trouble" in e.value.message
    assert transport.calls == (4 if cls.temporary else 1)


def test_a_negative_retry_after_does_not_break_the_backoff(fake: Any) -> None:
    sleeps = Sleeps()
    fake.fail_next("GET", "", 429, times=1, retry_after=-5)
    make_api(fake.transport, sleeps).list(AUTHORIZATION_POLICY, "a")
    assert sleeps.delays == [0.0]


def test_a_plain_404_for_a_custom_kind_is_its_crd_missing() -> None:
    """The API server's "404 page not found" (no JSON): no group serves the path."""
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(404, text="404 page not found\n")
    )
    api = make_api(transport)
    with pytest.raises(CrdMissing):
        api.list(AUTHORIZATION_POLICY, "a")
    assert api.get(NAMESPACE, "a") is None  # a built-in kind's object: not there
