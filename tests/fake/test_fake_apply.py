"""Server-side apply and field ownership (managedFields).

Covers create-by-apply, updates, removal of fields a manager stops applying, conflicts
with other managers (409 listing fields and managers), ``force``, shared ownership of
equal values, no-op applies that keep the resourceVersion, keyed lists
(``x-kubernetes-list-type: map``) merged per item, set lists, atomic lists, labels owned
key by key, Update entries recorded by other writes (and conflicts with them), the
``fieldManager`` requirement, preconditions, the status subresource, and (with
hypothesis) the ownership model over random sequences of applies by two managers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import lightkube
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import PatchType

from meshops.k8s.client import FAKE_SERVER
from meshops.testing import FakeKubernetes

Gateway = create_namespaced_resource("gateway.networking.k8s.io", "v1", "Gateway", "gateways")
GATEWAYS = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/gateways"
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def gateway(*listeners: tuple[str, int], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "gw", "namespace": "apps"}
    if labels is not None:
        meta["labels"] = labels
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": meta,
        "spec": {
            "gatewayClassName": "istio",
            "listeners": [
                {"name": name, "port": port, "protocol": "HTTP"} for name, port in listeners
            ],
        },
    }


def apply(
    api: httpx2.Client, body: dict[str, Any], manager: str, *, force: bool = False, path: str = ""
) -> httpx2.Response:
    name = body["metadata"]["name"]
    params = {"fieldManager": manager}
    if force:
        params["force"] = "true"
    url = path or f"{GATEWAYS}/{name}"
    return api.patch(url, content=json.dumps(body), headers=APPLY, params=params)


def entry(obj: dict[str, Any], manager: str, operation: str = "Apply") -> dict[str, Any]:
    matches = [
        e
        for e in obj["metadata"].get("managedFields", [])
        if e["manager"] == manager and e["operation"] == operation
    ]
    assert len(matches) == 1, obj["metadata"]["managedFields"]
    return matches[0]


def listeners(obj: dict[str, Any]) -> list[tuple[str, int]]:
    return [(item["name"], item["port"]) for item in obj["spec"]["listeners"]]


def test_apply_creates(api: httpx2.Client) -> None:
    response = apply(api, gateway(("http", 80), labels={"team": "a"}), "alice")
    assert response.status_code == 201, response.text
    obj = response.json()
    assert listeners(obj) == [("http", 80)]
    owned = entry(obj, "alice")
    assert owned["fieldsType"] == "FieldsV1"
    assert owned["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:team": {}}},
        "f:spec": {
            "f:gatewayClassName": {},
            "f:listeners": {
                'k:{"name":"http"}': {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}},
            },
        },
    }


@pytest.mark.fake_only("the audit log does not record a request's Content-Type")
def test_apply_through_lightkube(client: lightkube.Client, fake: FakeKubernetes) -> None:
    created = client.apply(Gateway(gateway(("http", 80))))
    assert created.metadata.generation == 1  # type: ignore[union-attr]
    changed = client.apply(Gateway(gateway(("http", 8080))))
    assert changed["spec"]["listeners"][0]["port"] == 8080
    assert changed.metadata.generation == 2  # type: ignore[union-attr]
    request = fake.requests[-1]
    assert request.method == "PATCH"
    assert request.content_type == "application/apply-patch+yaml"
    assert request.query["fieldManager"] == "meshops"
    assert request.verb == "apply"


def test_apply_that_changes_nothing_keeps_the_resource_version(
    api: httpx2.Client, fake: FakeKubernetes
) -> None:
    first = apply(api, gateway(("http", 80)), "alice").json()
    # A Gateway's schema defaults its status, which a create does not store (the server
    # drops a create's status and defaults it on every read): the first write after the
    # create stores it, a new resourceVersion for an object that reads the same.
    second = apply(api, gateway(("http", 80)), "alice")
    assert second.status_code == 200
    assert second.json()["status"] == first["status"]
    assert int(second.json()["metadata"]["resourceVersion"]) > int(
        first["metadata"]["resourceVersion"]
    )
    third = apply(api, gateway(("http", 80)), "alice")
    assert third.status_code == 200
    kept = second.json()["metadata"]["resourceVersion"]
    assert third.json()["metadata"]["resourceVersion"] == kept
    assert third.json()["metadata"]["managedFields"] == first["metadata"]["managedFields"]
    stored = fake.get("gateway.networking.k8s.io/v1", "Gateway", "gw", "apps")
    assert stored is not None
    assert stored["metadata"]["resourceVersion"] == kept


def test_apply_that_changes_nothing_without_defaulted_status_keeps_the_version(
    api: httpx2.Client,
) -> None:
    path = "/api/v1/namespaces/apps/configmaps/cm"
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
        "data": {"a": "1"},
    }
    first = apply(api, body, "alice", path=path).json()
    again = apply(api, body, "alice", path=path).json()
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_fields_no_longer_applied_are_removed(api: httpx2.Client) -> None:
    apply(api, gateway(("http", 80), ("extra", 81), labels={"a": "1", "b": "2"}), "alice")
    obj = apply(api, gateway(("http", 80), labels={"a": "1"}), "alice").json()
    assert obj["metadata"]["labels"] == {"a": "1"}
    assert listeners(obj) == [("http", 80)]
    assert 'k:{"name":"extra"}' not in entry(obj, "alice")["fieldsV1"]["f:spec"]["f:listeners"]


def test_removal_keeps_fields_another_manager_owns(api: httpx2.Client) -> None:
    apply(api, gateway(("http", 80), labels={"shared": "x", "mine": "y"}), "alice")
    apply(api, gateway(("http", 80), labels={"shared": "x"}), "bob")
    obj = apply(api, gateway(("http", 80)), "alice").json()
    assert obj["metadata"]["labels"] == {"shared": "x"}
    assert "f:labels" not in entry(obj, "alice")["fieldsV1"].get("f:metadata", {})


def test_conflict_with_another_manager(api: httpx2.Client, fake: FakeKubernetes) -> None:
    apply(api, gateway(("http", 80)), "alice")
    before = fake.get("gateway.networking.k8s.io/v1", "Gateway", "gw", "apps")
    response = apply(api, gateway(("http", 8080)), "bob")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    status = response.json()
    assert status["reason"] == "Conflict"
    assert (
        status["message"]
        == 'Apply failed with 1 conflict: conflict with "alice": .spec.listeners[name="http"].port'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "alice"',
            "field": '.spec.listeners[name="http"].port',
        }
    ]
    assert fake.get("gateway.networking.k8s.io/v1", "Gateway", "gw", "apps") == before


def test_conflicts_through_lightkube_raise_api_error(
    client: lightkube.Client, api: httpx2.Client
) -> None:
    apply(api, gateway(("http", 80)), "alice")
    with pytest.raises(lightkube.ApiError) as e:
        client.apply(Gateway(gateway(("http", 81))))
    assert e.value.status.code == 409
    assert "alice" in (e.value.status.message or "")


def test_several_conflicts_are_listed(api: httpx2.Client) -> None:
    body = gateway(("http", 80))
    apply(api, body, "alice")
    body["spec"]["gatewayClassName"] = "other"
    body["spec"]["listeners"][0]["port"] = 81
    status = apply(api, body, "bob").json()
    assert status["message"].startswith(
        'Apply failed with 2 conflicts: conflicts with "alice":\n- '
    )
    assert {c["field"] for c in status["details"]["causes"]} == {
        ".spec.gatewayClassName",
        '.spec.listeners[name="http"].port',
    }


def test_force_takes_ownership(api: httpx2.Client) -> None:
    apply(api, gateway(("http", 80)), "alice")
    forced = apply(api, gateway(("http", 8080)), "bob", force=True)
    assert forced.status_code == 200
    obj = forced.json()
    assert listeners(obj) == [("http", 8080)]
    alice = entry(obj, "alice")["fieldsV1"]["f:spec"]["f:listeners"]['k:{"name":"http"}']
    assert "f:port" not in alice
    assert "f:port" in entry(obj, "bob")["fieldsV1"]["f:spec"]["f:listeners"]['k:{"name":"http"}']
    # alice dropping the listener does not remove what bob now co-owns
    after = apply(api, gateway(("other", 90)), "alice").json()
    assert sorted(listeners(after)) == [("http", 8080), ("other", 90)]


def test_equal_values_are_shared_without_conflict(api: httpx2.Client) -> None:
    apply(api, gateway(("http", 80)), "alice")
    response = apply(api, gateway(("http", 80)), "bob")
    assert response.status_code == 200
    obj = response.json()
    for manager in ("alice", "bob"):
        assert (
            "f:port"
            in entry(obj, manager)["fieldsV1"]["f:spec"]["f:listeners"]['k:{"name":"http"}']
        )


def test_keyed_list_items_merge_per_key(api: httpx2.Client) -> None:
    apply(api, gateway(("http", 80)), "alice")
    obj = apply(api, gateway(("https", 443)), "bob").json()
    assert listeners(obj) == [("http", 80), ("https", 443)]
    obj = apply(api, gateway(("admin", 9000)), "alice").json()
    assert listeners(obj) == [("https", 443), ("admin", 9000)]


def test_atomic_lists_are_owned_whole(api: httpx2.Client) -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "apps"},
        "spec": {"parentRefs": [{"name": "gw1"}]},
    }
    path = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes/r"
    first = apply(api, route, "alice", path=path).json()
    assert "f:parentRefs" in entry(first, "alice")["fieldsV1"]["f:spec"]
    assert entry(first, "alice")["fieldsV1"]["f:spec"]["f:parentRefs"] == {}
    route["spec"]["parentRefs"] = [{"name": "gw2"}]
    response = apply(api, route, "bob", path=path)
    assert response.status_code == 409
    assert response.json()["details"]["causes"][0]["field"] == ".spec.parentRefs"


def test_set_lists_merge_by_value(bare: FakeKubernetes) -> None:
    bare.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    bare.install_crd(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "tags.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"kind": "Tag", "plural": "tags"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "properties": {
                                            "values": {
                                                "type": "array",
                                                "items": {"type": "string"},
                                                "x-kubernetes-list-type": "set",
                                            }
                                        },
                                    }
                                },
                            }
                        },
                    }
                ],
            },
        }
    )
    http = httpx2.Client(transport=bare.transport, base_url=FAKE_SERVER)
    path = "/apis/example.com/v1/namespaces/apps/tags/t"

    def tag(*values: str) -> dict[str, Any]:
        return {
            "apiVersion": "example.com/v1",
            "kind": "Tag",
            "metadata": {"name": "t"},
            "spec": {"values": list(values)},
        }

    apply(http, tag("a", "b"), "alice", path=path)
    obj = apply(http, tag("b", "c"), "bob", path=path).json()
    assert obj["spec"]["values"] == ["a", "b", "c"]
    assert set(entry(obj, "bob")["fieldsV1"]["f:spec"]["f:values"]) == {'v:"b"', 'v:"c"'}
    obj = apply(http, tag(), "alice", path=path).json()
    assert obj["spec"]["values"] == ["b", "c"]
    duplicate = apply(http, tag("x", "x"), "carol", path=path)
    # found while the configuration is typed, before validation: a 500, as a real server says
    assert duplicate.status_code == 500
    assert duplicate.json()["message"] == (
        "failed to create typed patch object (apps/t; example.com/v1, Kind=Tag): "
        '.spec.values: duplicate entries for key [="x"]'
    )


def test_updates_are_recorded_and_conflict_with_apply(
    client: lightkube.Client, api: httpx2.Client
) -> None:
    apply(api, gateway(("http", 80)), "alice")
    patched = client.patch(
        Gateway,
        "gw",
        {"spec": {"gatewayClassName": "other"}},
        patch_type=PatchType.MERGE,
        field_manager="kubectl",
    )
    managed = {(e.manager, e.operation) for e in patched.metadata.managedFields}  # type: ignore[union-attr]
    assert managed == {("alice", "Apply"), ("kubectl", "Update")}
    response = apply(api, gateway(("http", 80)), "alice")
    assert response.status_code == 409
    assert (
        'conflict with "kubectl" using gateway.networking.k8s.io/v1: .spec.gatewayClassName'
        in response.json()["message"]
    )


@pytest.mark.parametrize(
    ("agent", "manager"),
    [
        (None, "python-httpx2"),  # httpx2's own: python-httpx2/<version>
        ("kubectl/v1.37.2 (linux/amd64) kubernetes/abc", "kubectl"),
        ("Mozilla/5.0 (X11)", "Mozilla"),
        ("", "unknown"),
        ("x" * 200, "x" * 128),
    ],
)
def test_writes_without_field_manager_are_named_after_the_user_agent(
    api: httpx2.Client, agent: str | None, manager: str
) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
        "data": {"a": "1"},
    }
    headers = {} if agent is None else {"User-Agent": agent}
    created = api.post("/api/v1/namespaces/apps/configmaps", json=body, headers=headers).json()
    assert [(e["manager"], e["operation"]) for e in created["metadata"]["managedFields"]] == [
        (manager, "Update")
    ]


def test_updates_own_the_maps_they_create(api: httpx2.Client) -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "labels": {"a": "1"}},
        "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["a.example"]},
    }
    routes = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes"
    created = api.post(routes, json=route, params={"fieldManager": "w"}).json()
    # "." marks a map the Update made as owned itself (labels, a custom resource's spec)
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
        # rules: the schema's default, owned by the writer too
        "f:spec": {".": {}, "f:hostnames": {}, "f:parentRefs": {}, "f:rules": {}},
    }
    patched = api.patch(
        f"{routes}/r",
        json={"spec": {"hostnames": ["b.example"]}, "metadata": {"annotations": {"x": "y"}}},
        headers={"Content-Type": "application/merge-patch+json"},
        params={"fieldManager": "v"},
    ).json()
    assert {e["manager"]: e["fieldsV1"] for e in patched["metadata"]["managedFields"]} == {
        "v": {
            "f:metadata": {"f:annotations": {".": {}, "f:x": {}}},
            "f:spec": {"f:hostnames": {}},
        },
        "w": {
            "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
            "f:spec": {".": {}, "f:parentRefs": {}, "f:rules": {}},
        },
    }


def test_field_manager_is_required(api: httpx2.Client) -> None:
    response = api.patch(
        f"{GATEWAYS}/gw", content=json.dumps(gateway(("http", 80))), headers=APPLY
    )
    assert response.status_code == 422
    cause = response.json()["details"]["causes"][0]
    assert cause["field"] == "fieldManager"
    assert cause["reason"] == "FieldValueRequired"


def test_apply_accepts_yaml(api: httpx2.Client) -> None:
    body = (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\n"
        "spec:\n  gatewayClassName: istio\n"
        "  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n"
    )
    response = api.patch(
        f"{GATEWAYS}/gw", content=body, headers=APPLY, params={"fieldManager": "yaml"}
    )
    assert response.status_code == 201, response.text


def test_yaml_timestamps_stay_strings(api: httpx2.Client) -> None:
    body = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
        "data: {since: 2024-01-01T00:00:00Z}\n"
    )
    response = api.patch(
        "/api/v1/namespaces/apps/configmaps/cm",
        content=body,
        headers=APPLY,
        params={"fieldManager": "yaml"},
    )
    assert response.json()["data"] == {"since": "2024-01-01T00:00:00Z"}


def test_apply_preconditions_and_managed_fields(api: httpx2.Client) -> None:
    created = apply(api, gateway(("http", 80)), "alice").json()
    stale = gateway(("http", 81))
    stale["metadata"]["resourceVersion"] = "1"
    assert apply(api, stale, "alice").status_code == 409
    fresh = gateway(("http", 81))
    fresh["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    assert apply(api, fresh, "alice").status_code == 200
    with_fields = gateway(("http", 81))
    with_fields["metadata"]["managedFields"] = created["metadata"]["managedFields"]
    response = apply(api, with_fields, "alice")
    assert response.status_code == 400
    assert response.json()["message"] == "metadata.managedFields must be nil"


def test_status_is_applied_only_through_the_subresource(api: httpx2.Client) -> None:
    body = gateway(("http", 80))
    body["status"] = {"addresses": [{"type": "IPAddress", "value": "10.0.0.1"}]}
    obj = apply(api, body, "alice").json()
    assert not obj.get("status", {}).get("addresses")
    status_body = {
        "apiVersion": body["apiVersion"],
        "kind": "Gateway",
        "metadata": {"name": "gw"},
        "status": body["status"],
    }
    response = apply(api, status_body, "controller", path=f"{GATEWAYS}/gw/status")
    assert response.status_code == 200, response.text
    obj = response.json()
    assert obj["status"]["addresses"] == [{"type": "IPAddress", "value": "10.0.0.1"}]
    status_entry = entry(obj, "controller")
    assert status_entry["subresource"] == "status"
    assert set(status_entry["fieldsV1"]) == {"f:status"}
    assert obj["metadata"]["generation"] == 1


def test_defaulted_fields_are_not_owned(api: httpx2.Client) -> None:
    obj = apply(api, gateway(("http", 80)), "alice").json()
    listener = obj["spec"]["listeners"][0]
    assert listener["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    owned = entry(obj, "alice")["fieldsV1"]["f:spec"]["f:listeners"]['k:{"name":"http"}']
    assert "f:allowedRoutes" not in owned
    changed = gateway(("http", 80))
    changed["spec"]["listeners"][0]["allowedRoutes"] = {"namespaces": {"from": "All"}}
    response = apply(api, changed, "bob")
    assert response.status_code == 200
    assert response.json()["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["from"] == "All"


# --- the ownership model, with hypothesis --------------------------------------------------

KEYS = ["a", "b", "c"]
OPERATION = st.tuples(
    st.sampled_from(["alice", "bob"]),
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["1", "2"]), max_size=3),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(operations=st.lists(OPERATION, min_size=1, max_size=6))
def test_label_ownership_follows_the_model(
    operations: list[tuple[str, dict[str, str], bool]],
) -> None:
    fake = FakeKubernetes()
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    http = httpx2.Client(transport=fake.transport, base_url=FAKE_SERVER)
    path = "/api/v1/namespaces/apps/configmaps/cm"
    live: dict[str, str] = {}
    owned: dict[str, set[str]] = {"alice": set(), "bob": set()}
    version = None
    for manager, labels, force in operations:
        other = "bob" if manager == "alice" else "alice"
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm"},
        }
        if labels:
            body["metadata"]["labels"] = labels
        response = apply(http, body, manager, force=force, path=path)
        conflicts = {k for k, v in labels.items() if k in owned[other] and live.get(k) != v}
        if conflicts and not force:
            assert response.status_code == 409
            assert {c["field"] for c in response.json()["details"]["causes"]} == {
                f".metadata.labels.{k}" for k in conflicts
            }
            continue
        assert response.status_code in (200, 201), response.text
        before = (dict(live), {m: set(k) for m, k in owned.items()})
        owned[other] -= conflicts
        for key in owned[manager] - labels.keys():
            if key not in owned[other]:
                del live[key]
        live.update(labels)
        owned[manager] = set(labels)
        obj = response.json()
        assert obj["metadata"].get("labels", {}) == live
        new_version = obj["metadata"]["resourceVersion"]
        if version is not None and before == (live, owned):
            assert new_version == version, "an apply that changes nothing must not write"
        version = new_version
        for name in ("alice", "bob"):
            fields = next(
                (
                    e["fieldsV1"]
                    for e in obj["metadata"].get("managedFields", [])
                    if e["manager"] == name
                ),
                {},
            )
            have = set(fields.get("f:metadata", {}).get("f:labels", {}))
            assert have == {f"f:{k}" for k in owned[name]}, (
                name,
                obj["metadata"].get("managedFields"),
            )


@settings(max_examples=30, deadline=None)
@given(labels=st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["1", "2"]), max_size=3))
def test_reapplying_is_idempotent(labels: dict[str, str]) -> None:
    fake = FakeKubernetes()
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    http = httpx2.Client(transport=fake.transport, base_url=FAKE_SERVER)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": labels},
        "data": {"x": "y"},
    }
    path = "/api/v1/namespaces/apps/configmaps/cm"
    first = apply(http, body, "alice", path=path).json()
    second = apply(http, body, "alice", path=path).json()
    assert second == first
