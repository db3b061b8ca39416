"""CRUD through lightkube and raw HTTP: the fake's object store and metadata bookkeeping.

Covers create/get/list/replace/delete for built-in kinds and custom resources, lists
across namespaces and of cluster-scoped kinds, 404/409/400 answers, uid /
resourceVersion / generation / creationTimestamp / managedFields bookkeeping, namespace
existence and deletion, object name rules, dryRun, generateName, pagination, the status
subresource, built-in defaulting (Namespace, Service, Secret) and the ``installed()``
seam used by ``meshops.k8s.client.connect``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import httpx2
import lightkube
import pytest
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace, Service

from meshops.k8s.client import connect, make_client
from meshops.testing import FakeKubernetes, StatusError

HTTPRoute = create_namespaced_resource(
    "gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"
)
GatewayClass = create_global_resource(
    "gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses"
)

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


def route(name: str, namespace: str = "apps", path: str = "/") -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": "svc", "port": 80}],
                }
            ],
        },
    }


def config_map(name: str, namespace: str = "apps", **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace), data=data)


def test_create_get_list_delete_builtin(client: lightkube.Client, fake: FakeKubernetes) -> None:
    created = client.create(config_map("settings", mode="fast"))
    assert created.data == {"mode": "fast"}
    fetched = client.get(ConfigMap, "settings")
    assert fetched.metadata is not None
    assert fetched.metadata.uid == created.metadata.uid  # type: ignore[union-attr]
    assert [c.metadata.name for c in client.list(ConfigMap)] == ["settings"]  # type: ignore[union-attr]
    client.delete(ConfigMap, "settings")
    assert fake.get("v1", "ConfigMap", "settings", "apps") is None
    with pytest.raises(lightkube.ApiError) as e:
        client.get(ConfigMap, "settings")
    assert e.value.status.code == 404
    assert e.value.status.message == 'configmaps "settings" not found'


def test_custom_resource_round_trip(client: lightkube.Client, fake: FakeKubernetes) -> None:
    created = client.create(HTTPRoute(route("web")))
    assert created["spec"]["rules"][0]["matches"][0]["path"] == {
        "type": "PathPrefix",
        "value": "/",
    }
    stored = fake.get("gateway.networking.k8s.io/v1", "HTTPRoute", "web", "apps")
    assert stored is not None
    assert stored["metadata"]["uid"] == created.metadata.uid  # type: ignore[union-attr]
    changed = route("web", path="/v2")
    changed["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
    replaced = client.replace(HTTPRoute(changed))
    assert replaced["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/v2"
    client.delete(HTTPRoute, "web")
    assert fake.list("gateway.networking.k8s.io/v1", "HTTPRoute") == []


def test_list_items_carry_api_version_and_kind(api: httpx2.Client, fake: FakeKubernetes) -> None:
    fake.add(route("a"))
    body = api.get("/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes").json()
    assert body["kind"] == "HTTPRouteList"
    assert body["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert body["metadata"]["resourceVersion"].isdigit()
    assert [(i["apiVersion"], i["kind"]) for i in body["items"]] == [
        ("gateway.networking.k8s.io/v1", "HTTPRoute")
    ]


def test_list_across_namespaces_is_ordered(client: lightkube.Client, fake: FakeKubernetes) -> None:
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    fake.add(route("b", "other"))
    fake.add(route("a", "apps"))
    fake.add(route("c", "apps"))
    everywhere = [
        (r.metadata.namespace, r.metadata.name) for r in client.list(HTTPRoute, namespace="*")
    ]  # type: ignore[union-attr]
    assert everywhere == [("apps", "a"), ("apps", "c"), ("other", "b")]
    assert [r.metadata.name for r in client.list(HTTPRoute, namespace="other")] == ["b"]  # type: ignore[union-attr]


def test_list_in_missing_namespace_is_empty(client: lightkube.Client) -> None:
    assert list(client.list(ConfigMap, namespace="nowhere")) == []


def test_cluster_scoped_kind(client: lightkube.Client, fake: FakeKubernetes) -> None:
    obj = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "istio"},
        "spec": {"controllerName": "istio.io/gateway-controller"},
    }
    created = client.create(GatewayClass(obj))
    assert created.metadata.namespace is None  # type: ignore[union-attr]
    assert [g.metadata.name for g in client.list(GatewayClass)] == ["istio"]  # type: ignore[union-attr]
    assert fake.get("gateway.networking.k8s.io/v1", "GatewayClass", "istio") is not None


def test_create_existing_is_409_already_exists(client: lightkube.Client) -> None:
    client.create(config_map("dup"))
    with pytest.raises(lightkube.ApiError) as e:
        client.create(config_map("dup"))
    assert (e.value.status.code, e.value.status.reason) == (409, "AlreadyExists")
    assert e.value.status.message == 'configmaps "dup" already exists'


def test_metadata_bookkeeping(client: lightkube.Client, fake: FakeKubernetes) -> None:
    first = fake.add(route("a"))
    second = fake.add(route("b"))
    meta = first["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert meta["uid"] != second["metadata"]["uid"]
    assert RFC3339.match(meta["creationTimestamp"])
    assert meta["generation"] == 1
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    (entry,) = meta["managedFields"]
    assert entry["manager"] == "test"
    assert entry["operation"] == "Update"
    assert entry["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert entry["fieldsType"] == "FieldsV1"
    assert RFC3339.match(entry["time"])
    assert "f:spec" in entry["fieldsV1"]


def test_generation_counts_spec_changes_only(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    fake.add(route("r"))
    labelled = client.patch(
        HTTPRoute,
        "r",
        {"metadata": {"labels": {"a": "b"}}},
        patch_type=lightkube.types.PatchType.MERGE,
    )
    assert labelled.metadata.generation == 1  # type: ignore[union-attr]
    changed = client.patch(
        HTTPRoute,
        "r",
        {"spec": {"hostnames": ["example.com"]}},
        patch_type=lightkube.types.PatchType.MERGE,
    )
    assert changed.metadata.generation == 2  # type: ignore[union-attr]
    assert int(changed.metadata.resourceVersion) > int(labelled.metadata.resourceVersion)  # type: ignore[union-attr, arg-type]


def test_uid_and_creation_timestamp_survive_updates(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    created = fake.add(route("r"))
    updated = client.patch(
        HTTPRoute,
        "r",
        {"spec": {"hostnames": ["a.example"]}},
        patch_type=lightkube.types.PatchType.MERGE,
    )
    assert updated.metadata.uid == created["metadata"]["uid"]  # type: ignore[union-attr]
    assert updated.metadata.creationTimestamp is not None  # type: ignore[union-attr]


def test_namespace_must_exist(client: lightkube.Client) -> None:
    with pytest.raises(lightkube.ApiError) as e:
        client.create(config_map("x", namespace="missing"))
    assert e.value.status.code == 404
    assert e.value.status.message == 'namespaces "missing" not found'
    with pytest.raises(lightkube.ApiError) as e:
        client.apply(HTTPRoute(route("r", namespace="missing")))
    assert e.value.status.message == 'namespaces "missing" not found'


def test_add_needs_namespace_too(bare: FakeKubernetes) -> None:
    with pytest.raises(StatusError) as e:
        bare.add(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "namespace": "nope"},
            }
        )
    assert e.value.code == 404
    with pytest.raises(ValueError, match=r"needs metadata\.namespace"):
        bare.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})


@pytest.mark.parametrize(
    ("kind", "name", "fragment"),
    [
        ("ConfigMap", "Upper", "RFC 1123 subdomain"),
        ("ConfigMap", "a" * 254, "no more than 253 characters"),
        ("ConfigMap", "-lead", "RFC 1123 subdomain"),
        ("Namespace", "has.dot", "must not contain dots"),
        ("Namespace", "Upper", "RFC 1123 label"),
        ("Namespace", "a" * 64, "no more than 63 characters"),
        ("Service", "Upper", "RFC 1123 label"),
        ("Service", "svc.dot", "must not contain dots"),
        ("Service", "a" * 64, "no more than 63 characters"),
    ],
)
def test_invalid_names_are_422(api: httpx2.Client, kind: str, name: str, fragment: str) -> None:
    plural = {"ConfigMap": "configmaps", "Namespace": "namespaces", "Service": "services"}[kind]
    path = f"/api/v1/{plural}" if kind == "Namespace" else f"/api/v1/namespaces/apps/{plural}"
    body: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    if kind == "Service":
        body["spec"] = {"ports": [{"port": 80}]}  # a real server requires them
    response = api.post(path, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    status = response.json()
    assert status["reason"] == "Invalid"
    cause = status["details"]["causes"][0]
    assert cause["field"] == "metadata.name"
    assert cause["reason"] == "FieldValueInvalid"
    assert fragment in cause["message"]


def test_valid_names(client: lightkube.Client) -> None:
    client.create(config_map("a.b-c"))
    client.create(Namespace(metadata=ObjectMeta(name="x" * 63)))
    client.create(Service(metadata=ObjectMeta(name="web-1"), spec={"ports": [{"port": 80}]}))
    # RFC 1123 labels since Kubernetes 1.34: a Service name may start with a digit
    client.create(Service(metadata=ObjectMeta(name="1svc"), spec={"ports": [{"port": 80}]}))
    # stored under those names, and read back by them
    assert client.get(ConfigMap, "a.b-c", namespace="apps").metadata.name == "a.b-c"
    assert client.get(Namespace, "x" * 63).metadata.name == "x" * 63
    assert client.get(Service, "web-1", namespace="apps").metadata.name == "web-1"
    assert client.get(Service, "1svc", namespace="apps").metadata.name == "1svc"


def test_missing_name_is_422(api: httpx2.Client) -> None:
    response = api.post(
        "/api/v1/namespaces/apps/configmaps",
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
    )
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.name"


def test_generate_name(api: httpx2.Client) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "job-"}}
    first = api.post("/api/v1/namespaces/apps/configmaps", json=body).json()
    second = api.post("/api/v1/namespaces/apps/configmaps", json=body).json()
    assert re.fullmatch(r"job-[a-z0-9]{5}", first["metadata"]["name"])
    assert first["metadata"]["name"] != second["metadata"]["name"]


def test_replace_with_stale_resource_version_is_409(client: lightkube.Client) -> None:
    created = client.create(config_map("cm", v="1"))
    client.patch(ConfigMap, "cm", {"data": {"v": "2"}}, patch_type=lightkube.types.PatchType.MERGE)
    stale = config_map("cm", v="3")
    stale.metadata.resourceVersion = created.metadata.resourceVersion  # type: ignore[union-attr]
    with pytest.raises(lightkube.ApiError) as e:
        client.replace(stale)
    assert (e.value.status.code, e.value.status.reason) == (409, "Conflict")
    assert "the object has been modified" in (e.value.status.message or "")


def test_replace_without_resource_version_is_unconditional(client: lightkube.Client) -> None:
    client.create(config_map("cm", v="1"))
    assert client.replace(config_map("cm", v="2")).data == {"v": "2"}


def test_replace_missing_is_404(client: lightkube.Client) -> None:
    with pytest.raises(lightkube.ApiError) as e:
        client.replace(config_map("ghost"))
    assert e.value.status.code == 404


def test_body_must_match_url(api: httpx2.Client) -> None:
    wrong_ns = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "other"},
    }
    assert api.post("/api/v1/namespaces/apps/configmaps", json=wrong_ns).status_code == 400
    wrong_kind = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}
    assert api.post("/api/v1/namespaces/apps/configmaps", json=wrong_kind).status_code == 400
    api.post(
        "/api/v1/namespaces/apps/configmaps",
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
    )
    renamed = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}
    response = api.put("/api/v1/namespaces/apps/configmaps/x", json=renamed)
    assert response.status_code == 400
    assert "does not match the name on the URL" in response.json()["message"]


def test_undecodable_body_is_400(api: httpx2.Client) -> None:
    response = api.post(
        "/api/v1/namespaces/apps/configmaps",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    assert response.headers["content-type"] == "application/json"


def test_delete_returns_success_status(api: httpx2.Client, fake: FakeKubernetes) -> None:
    fake.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}}
    )
    body = api.delete("/api/v1/namespaces/apps/configmaps/cm").json()
    assert body["kind"] == "Status"
    assert body["status"] == "Success"
    assert body["details"]["name"] == "cm"
    assert api.delete("/api/v1/namespaces/apps/configmaps/cm").status_code == 404


def test_delete_preconditions(api: httpx2.Client, fake: FakeKubernetes) -> None:
    fake.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}}
    )
    response = api.request(
        "DELETE",
        "/api/v1/namespaces/apps/configmaps/cm",
        json={"preconditions": {"uid": "not-the-uid"}},
    )
    assert response.status_code == 409
    assert fake.get("v1", "ConfigMap", "cm", "apps") is not None


@pytest.mark.fake_only(
    "emptying a deleted namespace is kube-controller-manager's work, which the local "
    "server does not run; the fake deletes a namespace's objects at once"
)
def test_deleting_a_namespace_deletes_its_objects(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    fake.add(route("r", "doomed"))
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "doomed"},
        }
    )
    fake.add(route("keep", "apps"))
    client.delete(Namespace, "doomed")
    assert fake.list("gateway.networking.k8s.io/v1", "HTTPRoute", "doomed") == []
    assert fake.list("v1", "ConfigMap", "doomed") == []
    assert [
        r["metadata"]["name"] for r in fake.list("gateway.networking.k8s.io/v1", "HTTPRoute")
    ] == ["keep"]


def test_delete_collection_by_label(api: httpx2.Client, fake: FakeKubernetes) -> None:
    for name, owner in (("a", "me"), ("b", "me"), ("c", "you")):
        fake.add(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "apps", "labels": {"owner": owner}},
            }
        )
    response = api.delete(
        "/api/v1/namespaces/apps/configmaps", params={"labelSelector": "owner=me"}
    )
    assert response.status_code == 200
    deleted = response.json()  # the list of what was deleted
    assert deleted["kind"] == "ConfigMapList"
    assert [c["metadata"]["name"] for c in deleted["items"]] == ["a", "b"]
    assert [c["metadata"]["name"] for c in fake.list("v1", "ConfigMap", "apps")] == ["c"]
    again = api.delete("/api/v1/namespaces/apps/configmaps", params={"labelSelector": "owner=me"})
    assert again.json()["items"] == []


def test_dry_run_stores_nothing(client: lightkube.Client, fake: FakeKubernetes) -> None:
    before = fake.get("v1", "Namespace", "apps")
    created = client.create(config_map("cm", v="1"), dry_run=True)
    assert created.data == {"v": "1"}
    assert created.metadata.uid  # type: ignore[union-attr]
    assert fake.get("v1", "ConfigMap", "cm", "apps") is None
    applied = client.apply(HTTPRoute(route("r")), dry_run=True)
    assert applied["spec"]["parentRefs"][0]["name"] == "gw"
    assert fake.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps") is None
    client.create(config_map("real"))
    client.delete(ConfigMap, "real", dry_run=True)
    assert fake.get("v1", "ConfigMap", "real", "apps") is not None
    assert fake.get("v1", "Namespace", "apps") == before


def test_dry_run_still_validates(client: lightkube.Client) -> None:
    with pytest.raises(lightkube.ApiError) as e:
        client.apply(HTTPRoute(route("r", path="no-slash")), dry_run=True)
    assert e.value.status.code == 422


def test_pagination_with_limit_and_continue(
    client: lightkube.Client, fake: FakeKubernetes
) -> None:
    for i in range(7):
        fake.add(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm{i}", "namespace": "apps"},
            }
        )
    fake.clear_log()
    names = [c.metadata.name for c in client.list(ConfigMap, chunk_size=3)]  # type: ignore[union-attr]
    assert names == [f"cm{i}" for i in range(7)]
    assert fake.reads == 3
    assert [r.query.get("limit") for r in fake.requests] == ["3", "3", "3"]


def test_status_subresource_is_separate(api: httpx2.Client, fake: FakeKubernetes) -> None:
    fake.add(route("r"))
    base = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes/r"
    condition = {
        "type": "Accepted",
        "status": "True",
        "reason": "Accepted",
        "message": "",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    status = {
        "parents": [
            {
                "parentRef": {"name": "gw"},
                "controllerName": "example.com/c",
                "conditions": [condition],
            }
        ]
    }
    merge = {"Content-Type": "application/merge-patch+json"}
    ignored = api.patch(base, json={"status": status}, headers=merge).json()
    assert "status" not in ignored or not ignored["status"].get("parents")
    updated = api.patch(
        f"{base}/status", json={"status": status, "spec": {"hostnames": ["x.y"]}}, headers=merge
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["status"]["parents"][0]["parentRef"]["name"] == "gw"
    assert "hostnames" not in body["spec"]
    assert body["metadata"]["generation"] == 1
    assert [
        e["manager"] for e in body["metadata"]["managedFields"] if e.get("subresource") == "status"
    ] == ["python-httpx2"]  # named after the User-Agent: no fieldManager was given
    assert api.get(f"{base}/status").json()["status"] == body["status"]


def test_add_keeps_status(fake: FakeKubernetes) -> None:
    stored = fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": "apps"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
        }
    )
    # ipMode is the API server's default for an IP
    assert stored["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.9", "ipMode": "VIP"}]


def test_builtin_defaulting(client: lightkube.Client, fake: FakeKubernetes) -> None:
    namespace = fake.get("v1", "Namespace", "apps")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] == "apps"
    assert namespace["status"] == {"phase": "Active"}
    service = client.create(
        Service(metadata=ObjectMeta(name="web"), spec={"ports": [{"port": 80}]})
    )
    assert service.spec is not None
    assert service.spec.type == "ClusterIP"
    assert service.spec.clusterIP
    assert service.spec.ports[0].protocol == "TCP"  # type: ignore[index]
    assert service.spec.ports[0].targetPort == 80  # type: ignore[index]
    secret = fake.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "apps"},
            "stringData": {"k": "v"},
        }
    )
    assert secret["data"] == {"k": "dg=="}
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret


def test_get_and_list_return_copies(fake: FakeKubernetes) -> None:
    fake.add(route("r"))
    copy = fake.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps")
    assert copy is not None
    copy["spec"]["hostnames"] = ["mutated"]
    fake.list("gateway.networking.k8s.io/v1", "HTTPRoute")[0]["spec"]["hostnames"] = ["mutated"]
    again = fake.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps")
    assert again is not None
    assert "hostnames" not in again["spec"]


@pytest.mark.fake_only("objects() is the fake's own helper; the real server has no twin")
def test_fake_delete_and_objects(fake: FakeKubernetes) -> None:
    fake.add(route("r"))
    assert fake.delete("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps")
    assert not fake.delete("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps")
    kinds = {o["kind"] for o in fake.objects()}
    assert kinds == {"CustomResourceDefinition", "Namespace"}


def test_installed_routes_connect_to_the_fake(fake: FakeKubernetes) -> None:
    with fake.installed():
        client = connect(field_manager="meshops", namespace="apps")
        client.create(config_map("via-connect"))
    assert fake.get("v1", "ConfigMap", "via-connect", "apps") is not None
    assert fake.requests[-1].query["fieldManager"] == "meshops"


async def _async_round_trip(fake: FakeKubernetes) -> str:
    from lightkube import AsyncClient
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.config.models import Cluster, User

    config = KubeConfig.from_one(
        cluster=Cluster(server="http://kubernetes.fake"), user=User(), namespace="apps"
    )
    async with AsyncClient(
        config, transport=fake.transport, trust_env=False, field_manager="m"
    ) as client:
        await client.create(config_map("async"))
        got = await client.get(ConfigMap, "async")
        return str(got.metadata.name)  # type: ignore[union-attr]


def test_async_clients_work_too(fake: FakeKubernetes) -> None:
    import asyncio

    assert asyncio.run(_async_round_trip(fake)) == "async"


def test_fresh_fake_is_empty() -> None:
    fake = FakeKubernetes()
    assert fake.list("v1", "Namespace") == []
    assert fake.requests == []
    client = make_client(fake.transport, field_manager="m")
    with pytest.raises(lightkube.ApiError) as e:
        client.create(config_map("x", namespace="default"))
    assert e.value.status.code == 404


def test_namespaced_kinds_cannot_be_created_across_namespaces(api: httpx2.Client) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}
    for response in (api.post("/api/v1/configmaps", json=body), api.delete("/api/v1/configmaps")):
        assert response.status_code == 405
        assert response.json()["reason"] == "MethodNotAllowed"
        assert response.json()["message"] == (
            "the server does not allow this method on the requested resource"
        )


def test_cluster_scoped_lookups_ignore_the_namespace(fake: FakeKubernetes) -> None:
    assert fake.get("v1", "Namespace", "apps", namespace="whatever") is not None
    assert "apps" in [n["metadata"]["name"] for n in fake.list("v1", "Namespace", "whatever")]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces/apps/namespaces/apps",  # cluster-scoped, under a namespace
        "/api/v1/configmaps/cm",  # namespaced, without one
        "/api/v1/nothings",
        "/api/v2/pods",
        "/apis/apps/v1/deployments/d",
    ],
)
def test_paths_built_in_groups_do_not_serve_are_404_statuses(
    api: httpx2.Client, path: str
) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"] == "the server could not find the requested resource"


@pytest.mark.parametrize(
    "path",
    [
        "/apis/gateway.networking.k8s.io/v1/namespaces/apps/gatewayclasses/x",
        "/apis/gateway.networking.k8s.io/v1/gateways/x",
        "/apis/gateway.networking.k8s.io/v1/namespaces/apps/nothings",
        "/apis/gateway.networking.k8s.io/v9/gateways",
        "/apis/nope.example.com/v1/things",
        "/nothing",
    ],
)
def test_paths_no_group_serves_are_plain_404s(api: httpx2.Client, path: str) -> None:
    # the handler of custom resources (and the server's fallback) answers in plain text
    response = api.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "404 page not found\n"


def test_clock_and_seed_make_runs_reproducible() -> None:
    moment = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    made = [
        FakeKubernetes(clock=lambda: moment, seed=7).add(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
        )
        for _ in range(2)
    ]
    assert made[0]["metadata"]["uid"] == made[1]["metadata"]["uid"]
    assert made[0]["metadata"]["creationTimestamp"] == "2030-01-02T03:04:05Z"
    assert made[0]["metadata"]["managedFields"][0]["time"] == "2030-01-02T03:04:05Z"


def test_generation_only_where_the_server_keeps_one(api: httpx2.Client) -> None:
    # custom resources and built-in kinds with a spec a controller acts on; not ConfigMaps
    route_ = api.post(
        "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes", json=route("r")
    ).json()
    assert route_["metadata"]["generation"] == 1
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "a", "image": "a:1"}]},
            },
        },
    }
    made = api.post("/apis/apps/v1/namespaces/apps/deployments", json=deployment).json()
    assert made["metadata"]["generation"] == 1
    cm = api.post(
        "/api/v1/namespaces/apps/configmaps",
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}},
    ).json()
    assert "generation" not in cm["metadata"]
    service = api.post(
        "/api/v1/namespaces/apps/services",
        json={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"ports": [{"port": 80}]},
        },
    ).json()
    assert "generation" not in service["metadata"]
