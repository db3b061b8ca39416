"""PATCH requests other than server-side apply.

Covers JSON merge patch (objects merge, ``null`` deletes), JSON patch (every operation,
failing ``test``, bad paths), strategic merge patch (a merge patch for built-in kinds,
415 for custom resources like a real server, directives not supported), unknown patch
content types, patches of missing objects, validation of the patched result, and the
``resourceVersion`` precondition carried in a patch.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import lightkube
import pytest
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment
from lightkube.types import PatchType

from meshops.testing import FakeKubernetes, NotSupportedError

HTTPRoute = create_namespaced_resource(
    "gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"
)
ROUTE = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes/r"


def route() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "apps", "labels": {"a": "1", "b": "2"}},
        "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["a.example", "b.example"]},
    }


@pytest.fixture
def stored(fake: FakeKubernetes) -> dict[str, Any]:
    return fake.add(route())


def patch(api: httpx2.Client, body: Any, content_type: str, path: str = ROUTE) -> httpx2.Response:
    return api.patch(path, content=json.dumps(body), headers={"Content-Type": content_type})


@pytest.mark.usefixtures("stored")
def test_merge_patch(client: lightkube.Client) -> None:
    patched = client.patch(
        HTTPRoute,
        "r",
        {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"hostnames": ["c.example"]}},
        patch_type=PatchType.MERGE,
    )
    assert patched.metadata.labels == {"b": "2", "c": "3"}  # type: ignore[union-attr]
    assert patched["spec"]["hostnames"] == ["c.example"]
    assert patched["spec"]["parentRefs"][0]["name"] == "gw"


@pytest.mark.usefixtures("stored")
def test_json_patch_operations(client: lightkube.Client) -> None:
    operations = [
        {"op": "test", "path": "/spec/hostnames/0", "value": "a.example"},
        {"op": "add", "path": "/spec/hostnames/-", "value": "c.example"},
        {"op": "replace", "path": "/spec/hostnames/0", "value": "z.example"},
        {"op": "remove", "path": "/spec/hostnames/1"},
        {"op": "copy", "from": "/metadata/labels/a", "path": "/metadata/labels/copied"},
        {"op": "move", "from": "/metadata/labels/b", "path": "/metadata/labels/moved"},
        {"op": "add", "path": "/metadata/labels/with~1slash", "value": "x"},
    ]
    patched = client.patch(HTTPRoute, "r", operations, patch_type=PatchType.JSON)
    assert patched["spec"]["hostnames"] == ["z.example", "c.example"]
    assert patched.metadata.labels == {"a": "1", "copied": "1", "moved": "2", "with/slash": "x"}  # type: ignore[union-attr]


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "test", "path": "/spec/hostnames/0", "value": "nope"}],
        [{"op": "remove", "path": "/spec/missing"}],
        [{"op": "replace", "path": "/spec/hostnames/9", "value": "x"}],
        [{"op": "frobnicate", "path": "/spec"}],
    ],
)
def test_json_patch_failures_are_422(
    api: httpx2.Client, fake: FakeKubernetes, operations: Any
) -> None:
    before = fake.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps")
    response = patch(api, operations, "application/json-patch+json")
    assert response.status_code == 422
    assert response.json()["reason"] == "Invalid"
    assert response.json()["message"] == (
        "the server rejected our request due to an error in our request"
    )
    assert fake.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps") == before


@pytest.mark.usefixtures("stored")
def test_a_json_patch_that_is_not_a_list_is_400(api: httpx2.Client) -> None:
    response = patch(api, {"op": "add"}, "application/json-patch+json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "error decoding patch: json: cannot unmarshal object into Go value of type "
        "[]handlers.jsonPatchOp"
    )


@pytest.mark.usefixtures("stored")
def test_strategic_merge_patch_is_415_for_custom_resources(client: lightkube.Client) -> None:
    with pytest.raises(lightkube.ApiError) as e:
        client.patch(HTTPRoute, "r", {"spec": {"hostnames": ["x.example"]}})
    assert e.value.status.code == 415
    assert e.value.status.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )


def test_strategic_merge_patch_on_builtin_kinds(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    fake.add(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "apps"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "d"}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "a", "image": "a:1"}]},
                },
            },
        }
    )
    patched = client.patch(Deployment, "d", {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3  # type: ignore[union-attr]
    assert patched.spec.template.spec.containers[0].image == "a:1"  # type: ignore[union-attr]
    replaced = client.patch(
        Deployment,
        "d",
        {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:1"}]}}}},
    )
    assert [c.name for c in replaced.spec.template.spec.containers] == ["b"]  # type: ignore[union-attr]


def test_strategic_merge_directives_are_not_supported(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    fake.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}}
    )
    with pytest.raises(NotSupportedError, match=r"\$patch"):
        patch(
            api,
            {"data": {"$patch": "replace"}},
            "application/strategic-merge-patch+json",
            "/api/v1/namespaces/apps/configmaps/cm",
        )


@pytest.mark.usefixtures("stored")
def test_unknown_patch_type_is_415(api: httpx2.Client) -> None:
    response = patch(api, {}, "application/x-unknown")
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"


def test_patch_of_missing_object_is_404(api: httpx2.Client) -> None:
    response = patch(api, {"spec": {}}, "application/merge-patch+json")
    assert response.status_code == 404
    assert response.json()["message"] == 'httproutes.gateway.networking.k8s.io "r" not found'


@pytest.mark.usefixtures("stored")
def test_patched_objects_are_validated(api: httpx2.Client) -> None:
    response = patch(
        api, {"spec": {"hostnames": ["Not A Hostname"]}}, "application/merge-patch+json"
    )
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "spec.hostnames[0]"


@pytest.mark.usefixtures("stored")
def test_patch_with_stale_resource_version_is_409(api: httpx2.Client) -> None:
    response = patch(
        api,
        {"metadata": {"resourceVersion": "1"}, "spec": {"hostnames": []}},
        "application/merge-patch+json",
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"


@pytest.mark.usefixtures("stored")
def test_patch_cannot_rename(api: httpx2.Client) -> None:
    response = patch(api, {"metadata": {"name": "other"}}, "application/merge-patch+json")
    assert response.status_code == 400


@pytest.mark.usefixtures("stored")
def test_undecodable_patch_is_400(api: httpx2.Client) -> None:
    response = api.patch(
        ROUTE, content=b"{", headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status_code == 400


@pytest.mark.usefixtures("stored")
def test_force_is_only_for_apply(api: httpx2.Client) -> None:
    response = api.patch(
        ROUTE,
        content=b"{}",
        headers={"Content-Type": "application/merge-patch+json"},
        params={"force": "true"},
    )
    assert response.status_code == 422
