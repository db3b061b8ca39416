"""PATCH requests other than server-side apply.

Covers JSON merge patch (objects merge, ``null`` deletes), JSON patch (every operation,
failing ``test``, bad paths), strategic merge patch (lists merged by their patch merge
key on built-in kinds, the directives and their refusals, 415 for custom resources),
unknown patch content types, patches of missing objects, validation of the patched
result, and the ``resourceVersion`` precondition carried in a patch.
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

from meshops.testing import FakeKubernetes

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


def deployment(fake: FakeKubernetes) -> None:
    fake.add(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "apps"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "d"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                "template": {
                    "metadata": {"labels": {"app": "d"}, "finalizers": ["a.io/x", "b.io/y"]},
                    "spec": {
                        "containers": [
                            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                            {"name": "c", "image": "c:1"},
                        ]
                    },
                },
            },
        }
    )


def containers(deployment: Any) -> list[tuple[str, str]]:
    return [(c.name, c.image) for c in deployment.spec.template.spec.containers]


def test_strategic_merge_patch_on_builtin_kinds(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    deployment(fake)
    patched = client.patch(Deployment, "d", {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3  # type: ignore[union-attr]
    assert containers(patched) == [("a", "a:1"), ("c", "c:1")]
    # containers merge by name: the patch's first, then the others as they were
    merged = client.patch(
        Deployment,
        "d",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "b", "image": "b:1"},
                            {"name": "a", "env": [{"name": "Y", "value": "2"}]},
                        ]
                    }
                }
            }
        },
    )
    assert containers(merged) == [("b", "b:1"), ("a", "a:1"), ("c", "c:1")]
    env = merged.spec.template.spec.containers[1].env  # type: ignore[union-attr]
    assert [(e.name, e.value) for e in env] == [("Y", "2"), ("X", "1")]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"containers": [{"name": "a", "$patch": "delete"}]}, [("c", "c:1")]),
        ({"containers": [{"$patch": "replace"}, {"name": "z", "image": "z:1"}]}, [("z", "z:1")]),
        (
            {
                "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                "containers": [{"name": "a", "image": "a:2"}],
            },
            [("c", "c:1"), ("a", "a:2")],
        ),
    ],
)
def test_strategic_merge_list_directives(
    client: lightkube.Client, fake: FakeKubernetes, patch: dict[str, Any], expected: Any
) -> None:
    deployment(fake)
    patched = client.patch(Deployment, "d", {"spec": {"template": {"spec": patch}}})
    assert containers(patched) == expected


def test_strategic_merge_map_directives(api: httpx2.Client, fake: FakeKubernetes) -> None:
    deployment(fake)
    path = "/apis/apps/v1/namespaces/apps/deployments/d"
    smp = "application/strategic-merge-patch+json"
    retained = patch(
        api, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, smp, path
    )
    assert retained.json()["spec"]["strategy"] == {"type": "Recreate"}
    template = {
        "$deleteFromPrimitiveList/finalizers": ["a.io/x"],
        "labels": {"$patch": "replace", "app": "d"},
    }
    patched = patch(api, {"spec": {"template": {"metadata": template}}}, smp, path).json()
    assert patched["spec"]["template"]["metadata"].get("finalizers") == ["b.io/y"]
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "apps"},
            "data": {"a": "1"},
        }
    )
    cm = "/api/v1/namespaces/apps/configmaps/cm"
    replaced = patch(api, {"data": {"$patch": "replace", "b": "2"}}, smp, cm)
    assert replaced.json()["data"] == {"b": "2"}
    deleted = patch(api, {"data": {"$patch": "delete"}}, smp, cm)
    assert "data" not in deleted.json()


def test_strategic_merge_patch_refusals(api: httpx2.Client, fake: FakeKubernetes) -> None:
    deployment(fake)
    path = "/apis/apps/v1/namespaces/apps/deployments/d"
    smp = "application/strategic-merge-patch+json"
    unknown = patch(api, {"spec": {"strategy": {"$patch": "bogus"}}}, smp, path)
    assert (unknown.status_code, unknown.json()["message"]) == (
        500,
        "unknown patch type: bogus in map: map[$patch:bogus]",
    )
    keyless = {"spec": {"template": {"spec": {"containers": [{"image": "q:1"}]}}}}
    missing = patch(api, keyless, smp, path)
    assert (missing.status_code, missing.json()["message"]) == (
        500,
        "map: map[image:q:1] does not contain declared merge key: name",
    )
    retain = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}
    bad = patch(api, retain, smp, path)
    assert (bad.status_code, bad.json()["message"]) == (400, "invalid patch format of retainKeys")


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
