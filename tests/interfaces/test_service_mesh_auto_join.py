"""auto_join: mesh labels on the consumer's own Pod and Service, against the Kubernetes fake.

Each unit labels its own Pod and the leader the app's Service, by server-side apply
under the ``<app>-mesh-labels`` field manager: changed labels replace the old ones,
relation-broken removes ours and keeps labels others set, a recreated pod gets its
labels back on start, nothing is written when nothing changed, no StatefulSet is ever
written (so nothing restarts), a missing pod is skipped, and Kubernetes errors end up
in ``join_error`` (shown in the unit's status by the test charm), never in a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from ops import testing

from meshops.interfaces import service_mesh as sm
from meshops.k8s import client as k8s_client
from meshops.testing import FakeKubernetes

from .mesh_charms import (
    CONSUMER_META,
    LABELS,
    MODEL,
    consumer_context,
    make_consumer,
    mesh_relation,
    provider_data,
    state,
)

MANAGER = sm.labels_field_manager("target")
JUJU_LABELS = {"app.kubernetes.io/name": "target"}


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": MODEL,
            "labels": {**JUJU_LABELS, **(labels or {})},
        },
        "spec": {"containers": [{"name": "charm", "image": "charm:1"}]},
    }


def service(labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "target",
            "namespace": MODEL,
            "labels": {**JUJU_LABELS, **(labels or {})},
        },
        "spec": {"selector": JUJU_LABELS, "ports": [{"name": "http", "port": 8080}]},
    }


STATEFUL_SET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "target", "namespace": MODEL, "labels": JUJU_LABELS},
    "spec": {
        "serviceName": "target-endpoints",
        "selector": {"matchLabels": JUJU_LABELS},
        "template": {
            "metadata": {"labels": JUJU_LABELS},
            "spec": {"containers": [{"name": "charm", "image": "charm:1"}]},
        },
    },
}


@pytest.fixture
def fake() -> Iterator[Any]:
    """The Kubernetes fake with the model's namespace, our Pods, Service and StatefulSet."""
    k8s = FakeKubernetes()
    k8s.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MODEL}})
    k8s.add(pod("target-0"))
    k8s.add(pod("target-1", {"team": "blue"}))
    k8s.add(service({"team": "blue"}))
    k8s.add(STATEFUL_SET)
    with k8s.installed():
        yield k8s


def labels_of(fake: Any, kind: str, name: str) -> dict[str, str]:
    obj = fake.get("v1", kind, name, MODEL)
    return dict(obj["metadata"].get("labels") or {})


def managers_of(fake: Any, kind: str, name: str) -> set[str]:
    obj = fake.get("v1", kind, name, MODEL)
    return {e.get("manager") for e in obj["metadata"].get("managedFields") or []}


def run(
    event: str,
    relations: list[testing.Relation],
    *,
    leader: bool = True,
    unit_id: int = 0,
) -> testing.State:
    charm = make_consumer(auto_join=True)
    ctx = testing.Context(charm, meta=CONSUMER_META, unit_id=unit_id)
    mesh = next((r for r in relations if r.endpoint == "service-mesh"), None)
    if event in ("relation_changed", "relation_broken"):
        assert mesh is not None
        trigger = getattr(ctx.on, event)(mesh)
    else:
        trigger = getattr(ctx.on, event)()
    return ctx.run(trigger, state(*relations, leader=leader))


def with_provider(labels: dict[str, str] = LABELS) -> list[testing.Relation]:
    return [mesh_relation(remote_app_data=provider_data(labels))]


def test_leader_labels_its_pod_and_the_service(fake: Any) -> None:
    out = run("relation_changed", with_provider())
    assert out.unit_status == testing.ActiveStatus()
    assert labels_of(fake, "Pod", "target-0") == {**JUJU_LABELS, **LABELS}
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue", **LABELS}
    assert MANAGER in managers_of(fake, "Pod", "target-0")
    assert MANAGER in managers_of(fake, "Service", "target")
    assert labels_of(fake, "Pod", "target-1") == {**JUJU_LABELS, "team": "blue"}


def test_non_leader_labels_only_its_own_pod(fake: Any) -> None:
    run("relation_changed", with_provider(), leader=False, unit_id=1)
    assert labels_of(fake, "Pod", "target-1") == {**JUJU_LABELS, "team": "blue", **LABELS}
    assert labels_of(fake, "Pod", "target-0") == JUJU_LABELS
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue"}


def test_changed_labels_replace_ours(fake: Any) -> None:
    run("relation_changed", with_provider())
    new = {"istio.io/dataplane-mode": "ambient", "mesh.example/tier": "gold"}
    run("relation_changed", with_provider(new))
    assert labels_of(fake, "Pod", "target-0") == {**JUJU_LABELS, **new}
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue", **new}


def test_relation_broken_removes_ours_and_keeps_the_rest(fake: Any) -> None:
    run("relation_changed", with_provider(), leader=False, unit_id=1)
    run("relation_changed", with_provider())
    run("relation_broken", with_provider())
    run("relation_broken", with_provider(), leader=False, unit_id=1)
    assert labels_of(fake, "Pod", "target-0") == JUJU_LABELS
    assert labels_of(fake, "Pod", "target-1") == {**JUJU_LABELS, "team": "blue"}
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue"}


def test_without_provider_data_there_is_nothing_to_add(fake: Any) -> None:
    out = run("start", [mesh_relation()])
    assert out.unit_status == testing.ActiveStatus()
    assert labels_of(fake, "Pod", "target-0") == JUJU_LABELS


@pytest.mark.parametrize("event", ["start", "upgrade_charm", "leader_elected"])
def test_labels_are_reapplied(fake: Any, event: str) -> None:
    run(event, with_provider())
    assert labels_of(fake, "Pod", "target-0") == {**JUJU_LABELS, **LABELS}
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue", **LABELS}


def test_a_recreated_pod_gets_its_labels_back_on_start(fake: Any) -> None:
    run("relation_changed", with_provider())
    fake.delete("v1", "Pod", "target-0", MODEL)
    fake.add(pod("target-0"))
    assert labels_of(fake, "Pod", "target-0") == JUJU_LABELS
    run("start", with_provider())
    assert labels_of(fake, "Pod", "target-0") == {**JUJU_LABELS, **LABELS}


def test_writes_are_label_only_applies_under_our_manager(fake: Any) -> None:
    run("relation_changed", with_provider())
    writes = [r for r in fake.requests if r.is_write]
    assert sorted(r.path for r in writes) == [
        f"/api/v1/namespaces/{MODEL}/pods/target-0",
        f"/api/v1/namespaces/{MODEL}/services/target",
    ]
    for request in writes:
        assert request.verb == "apply"
        assert request.query["fieldManager"] == MANAGER
        assert request.query["force"] == "true"
        assert set(request.body) == {"apiVersion", "kind", "metadata"}
        assert request.body["metadata"]["labels"] == LABELS
        assert set(request.body["metadata"]) == {"name", "namespace", "labels"}


def test_nothing_is_written_when_nothing_changed(fake: Any) -> None:
    run("relation_changed", with_provider())
    before = fake.writes
    run("update_status", with_provider())  # not an auto_join event
    run("start", with_provider())
    run("upgrade_charm", with_provider())
    assert fake.writes == before


def test_no_stateful_set_is_ever_written(fake: Any) -> None:
    before = fake.get("apps/v1", "StatefulSet", "target", MODEL)
    run("relation_changed", with_provider())
    run("relation_changed", with_provider({"istio.io/dataplane-mode": "ambient"}))
    run("upgrade_charm", with_provider())
    run("relation_broken", with_provider())
    assert fake.writes
    assert not [r for r in fake.requests if r.is_write and "statefulsets" in r.path]
    assert fake.get("apps/v1", "StatefulSet", "target", MODEL) == before


def test_an_injected_api_failure_is_recorded_and_the_rest_goes_on(fake: Any) -> None:
    fake.fail_next("PATCH", "/pods/target-0", 403, message="pods is forbidden: no trust")
    out = run("relation_changed", with_provider())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "cannot set mesh labels on Pod m/target-0" in out.unit_status.message
    assert "no trust" in out.unit_status.message
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue", **LABELS}
    out = run("start", with_provider())  # the next hook tries again
    assert out.unit_status == testing.ActiveStatus()
    assert labels_of(fake, "Pod", "target-0") == {**JUJU_LABELS, **LABELS}


def test_a_label_we_share_with_another_manager_stays(fake: Any) -> None:
    fake.add(pod("target-0", {"istio.io/dataplane-mode": "ambient"}))  # written by "test"
    run("relation_changed", with_provider())
    run("relation_broken", with_provider())
    assert labels_of(fake, "Pod", "target-0") == {
        **JUJU_LABELS,
        "istio.io/dataplane-mode": "ambient",
    }


def test_a_missing_pod_is_skipped_not_an_error(fake: Any) -> None:
    fake.delete("v1", "Pod", "target-0", MODEL)
    out = run("relation_changed", with_provider())
    assert out.unit_status == testing.ActiveStatus()
    assert fake.get("v1", "Pod", "target-0", MODEL) is None
    assert labels_of(fake, "Service", "target") == {**JUJU_LABELS, "team": "blue", **LABELS}


def test_malformed_provider_data_leaves_the_labels_alone(fake: Any) -> None:
    run("relation_changed", with_provider())
    writes = fake.writes
    bad = [mesh_relation(remote_app_data={"labels": "{oops", "mesh_type": '"istio"'})]
    out = run("relation_changed", bad)
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "mesh labels left unchanged" in out.unit_status.message
    assert "labels: is not valid JSON" in out.unit_status.message
    assert labels_of(fake, "Pod", "target-0") == {**JUJU_LABELS, **LABELS}
    assert fake.writes == writes


# -- Kubernetes failures, through a transport that answers every request with an error ---


def failing_transport(code: int, reason: str) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": f"{request.method} {request.url.path}: {reason.lower()}",
            "reason": reason,
            "code": code,
        }
        return httpx2.Response(code, json=body)

    return httpx2.MockTransport(handler)


def test_a_kubernetes_error_is_recorded_not_raised() -> None:
    with k8s_client.use_transport(failing_transport(403, "Forbidden")):
        out = run("relation_changed", with_provider())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    message = out.unit_status.message
    assert "cannot set mesh labels on Pod m/target-0" in message
    assert "cannot set mesh labels on Service m/target" in message
    assert "forbidden" in message


def test_a_not_found_everywhere_is_quiet() -> None:
    with k8s_client.use_transport(failing_transport(404, "NotFound")):
        out = run("relation_changed", with_provider())
    assert out.unit_status == testing.ActiveStatus()


@pytest.mark.parametrize("event", ["start", "upgrade_charm", "leader_elected"])
def test_off_the_mesh_the_api_is_left_alone(event: str) -> None:
    # A charm not related to a mesh (perhaps without trust) reports no label errors.
    with k8s_client.use_transport(failing_transport(403, "Forbidden")):
        out = run(event, [])
    assert out.unit_status == testing.ActiveStatus()


def test_no_cluster_at_all_is_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    out = run("start", with_provider())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "no Kubernetes cluster configured" in out.unit_status.message


def test_auto_join_off_touches_nothing() -> None:
    with k8s_client.use_transport(failing_transport(500, "InternalError")):
        charm = make_consumer(auto_join=False)
        ctx = consumer_context(charm)
        mesh = with_provider()[0]
        out = ctx.run(ctx.on.relation_changed(mesh), state(mesh))
    assert out.unit_status == testing.ActiveStatus()
