"""One deadline for every request of a hook: meshops.k8s.Deadline with Api and the fake.

A slow server and one that never answers (the fake's delay_next) drive the Api; the
fake's ManualClock counts the time the requests, their timeouts and the backoff take,
so nothing really waits. Covers the budget over requests, timeouts and retries
together, each request's timeout fitting in what is left, Retry-After past the
deadline, a budget shared by several Api objects, and a command without a budget.
"""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest

from meshops.k8s import Api, Deadline, DeadlineExceeded, Unavailable, make_client
from meshops.k8s.kinds import AUTHORIZATION_POLICY, NAMESPACE
from meshops.testing import FakeKubernetes


@pytest.fixture
def fake(make_fake: Any) -> FakeKubernetes:
    fake: FakeKubernetes = make_fake("authorizationpolicies.security.istio.io", namespaces=["a"])
    return fake


def api_for(fake: FakeKubernetes, seconds: float | None = 30.0, **kw: Any) -> Api:
    deadline = Deadline(seconds, clock=fake.time.now)
    client = make_client(fake.transport, field_manager="me", timeout=deadline.request_timeout)
    return Api(client, field_manager="me", sleep=fake.time.sleep, deadline=deadline, **kw)


def test_a_server_that_never_answers_takes_the_deadline_and_no_more(fake: FakeKubernetes) -> None:
    fake.delay_next("GET", "", math.inf, times=10)
    api = api_for(fake)
    with pytest.raises(DeadlineExceeded) as e:
        api.get(NAMESPACE, "a")
    assert e.value.temporary
    assert e.value.STATUS == (
        "the Kubernetes API did not answer in time; retrying on the next event"
    )
    # 10 s, 0.2 s backoff, 10 s, 0.4 s backoff, then what was left: 9.4 s
    assert fake.time.now() == pytest.approx(30.0)
    assert fake.time.slept == [0.2, 0.4]
    assert len(fake.requests) == 3


def test_each_request_times_out_within_what_is_left(fake: FakeKubernetes) -> None:
    api = api_for(fake, seconds=12.0)
    fake.delay_next("GET", "", 9.0)
    api.list(NAMESPACE, None)  # slow, answered: 3 s left
    fake.delay_next("GET", "", 5.0)  # would be answered within 10 s, not within 3
    with pytest.raises(DeadlineExceeded, match="within 12 s"):
        api.list(NAMESPACE, None)
    assert fake.time.now() == pytest.approx(12.0)


def test_past_the_deadline_nothing_is_sent(fake: FakeKubernetes) -> None:
    api = api_for(fake, seconds=5.0)
    fake.time.advance(5.0)
    fake.clear_log()
    with pytest.raises(DeadlineExceeded):
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}, NAMESPACE)
    assert fake.requests == []
    assert fake.get("v1", "Namespace", "b") is None


def test_a_slow_server_is_asked_while_time_is_left(fake: FakeKubernetes) -> None:
    api = api_for(fake)
    fake.delay_next("*", "", 4.0, times=100)
    answered = 0
    try:
        for _ in range(100):
            api.list(AUTHORIZATION_POLICY, "a")
            answered += 1
    except DeadlineExceeded:
        pass
    assert answered == 7  # 7 x 4 s; the 8th could not be answered in the 2 s left
    assert fake.time.now() == pytest.approx(30.0)


def test_a_retry_after_beyond_the_deadline_ends_at_once(fake: FakeKubernetes) -> None:
    api = api_for(fake, seconds=3.0)
    fake.fail_next("GET", "", 429, retry_after=4)
    with pytest.raises(DeadlineExceeded, match="injected failure: 429"):
        api.list(NAMESPACE, None)
    assert fake.time.slept == []


def test_transient_failures_within_the_deadline_are_still_retried(fake: FakeKubernetes) -> None:
    api = api_for(fake)
    fake.delay_next("GET", "", math.inf)
    fake.disconnect_next("GET", "")
    fake.fail_next("GET", "", 503)
    assert api.get(NAMESPACE, "a") is not None
    assert fake.time.slept == [0.2, 0.4, 0.8]
    assert fake.faults_injected == 3


def test_retries_used_up_before_the_deadline_are_unavailable_not_late(
    fake: FakeKubernetes,
) -> None:
    fake.disconnect_next("GET", "", times=4)
    with pytest.raises(Unavailable, match="unreachable") as e:
        api_for(fake).get(NAMESPACE, "a")
    assert not isinstance(e.value, DeadlineExceeded)


def test_apis_sharing_a_deadline_share_its_time(fake: FakeKubernetes) -> None:
    deadline = Deadline(10.0, clock=fake.time.now)
    first, second = (
        Api(
            make_client(fake.transport, field_manager=m, timeout=deadline.request_timeout),
            field_manager=m,
            sleep=fake.time.sleep,
            deadline=deadline,
        )
        for m in ("one", "two")
    )
    fake.delay_next("GET", "", 8.0)
    first.list(NAMESPACE, None)
    fake.delay_next("GET", "", 3.0)
    with pytest.raises(DeadlineExceeded):
        second.list(NAMESPACE, None)


def test_without_a_budget_only_each_request_times_out(fake: FakeKubernetes) -> None:
    api = api_for(fake, seconds=None, retries=1)
    fake.delay_next("GET", "", math.inf, times=2)
    with pytest.raises(Unavailable, match="timed out") as e:
        api.get(NAMESPACE, "a")
    assert not isinstance(e.value, DeadlineExceeded)
    assert fake.time.now() == pytest.approx(20.2)  # 10 s, 0.2 s backoff, 10 s


def test_apis_made_under_installed_count_in_the_fakes_time(fake: FakeKubernetes) -> None:
    fake.delay_next("GET", "", math.inf, times=10)
    with fake.installed(), pytest.raises(DeadlineExceeded):
        Api.connect(field_manager="me").get(NAMESPACE, "a")
    assert fake.time.now() == pytest.approx(30.0)


def test_a_write_that_timed_out_may_have_been_made(fake: FakeKubernetes) -> None:
    fake.delay_next("PATCH", "/namespaces/b", math.inf, took_effect=True)
    api_for(fake).apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}, NAMESPACE
    )
    # the first apply was made, its answer lost; the retry found it made
    assert [r.status for r in fake.requests] == [0, 200]
    assert fake.get("v1", "Namespace", "b") is not None


class Proxy(httpx2.BaseTransport):
    """A proxy in front of the API server that throttles in plain text, once."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner
        self.throttled = False

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not self.throttled:
            self.throttled = True
            return httpx2.Response(429, content=b"slow down", headers={"Retry-After": "3"})
        return self.inner.handle_request(request)


def test_a_proxys_retry_after_header_is_honoured(fake: FakeKubernetes) -> None:
    deadline = Deadline(30.0, clock=fake.time.now)
    client = make_client(Proxy(fake.transport), field_manager="me")
    api = Api(client, field_manager="me", sleep=fake.time.sleep, deadline=deadline)
    assert api.get(NAMESPACE, "a") is not None
    assert fake.time.slept == [3.0]


@pytest.mark.parametrize("seconds", [0, -1.0, math.nan])
def test_a_deadline_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="must be a positive number of seconds"):
        Deadline(seconds)
