"""OpenAPI v3 schema validation and structural defaulting from CRDs.

Covers, with the cause's ``field`` path and a Kubernetes-worded message asserted: type
errors, ``enum``, ``pattern``, ``required``, numeric bounds (inclusive and exclusive),
string length, item and property counts, ``format`` (int32), unknown fields (rejected
rather than pruned), ``additionalProperties`` (schema and false),
``x-kubernetes-preserve-unknown-fields``, ``x-kubernetes-int-or-string``, ``nullable``
and non-nullable nulls, ``x-kubernetes-embedded-resource``, duplicate keys of keyed
lists, ``oneOf`` (Istio's StringMatch), several causes in one Status, and the schema
defaults the API server applies (HTTPRoute matches and backendRef weight, Gateway
listener allowedRoutes) before validation.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from meshops.k8s.client import FAKE_SERVER
from meshops.testing import FakeKubernetes, StatusError

ROUTES = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes"
GATEWAYS = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/gateways"


def route(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "apps"},
        "spec": {"parentRefs": [{"name": "gw"}], **spec},
    }


def gateway(*listeners: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "apps"},
        "spec": {"gatewayClassName": "istio", "listeners": list(listeners), **spec},
    }


def http_listener(name: str = "http", port: int = 80) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": "HTTP"}


def causes(fake: FakeKubernetes, obj: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(StatusError) as e:
        fake.add(obj)
    assert e.value.code == 422
    assert e.value.reason == "Invalid"
    return e.value.causes


def cause_for(fake: FakeKubernetes, obj: dict[str, Any], field: str) -> dict[str, str]:
    found = causes(fake, obj)
    matching = [c for c in found if c["field"] == field]
    assert matching, found
    return matching[0]


def test_type_error(fake: FakeKubernetes) -> None:
    obj = route(rules=[{"backendRefs": [{"name": "svc", "port": "80"}]}])
    cause = cause_for(fake, obj, "spec.rules[0].backendRefs[0].port")
    assert cause["reason"] == "FieldValueTypeInvalid"
    assert cause["message"] == (
        'Invalid value: "string": spec.rules[0].backendRefs[0].port in body '
        'must be of type integer: "string"'
    )


def test_enum(fake: FakeKubernetes) -> None:
    obj = route(rules=[{"matches": [{"path": {"type": "Prefix", "value": "/"}}]}])
    cause = cause_for(fake, obj, "spec.rules[0].matches[0].path.type")
    assert cause["reason"] == "FieldValueNotSupported"
    assert (
        cause["message"] == 'Unsupported value: "Prefix": supported values: '
        '"Exact", "PathPrefix", "RegularExpression"'
    )


def test_enum_in_istio(fake: FakeKubernetes) -> None:
    obj = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {"action": "PERMIT"},
    }
    cause = cause_for(fake, obj, "spec.action")
    assert cause["message"].startswith(
        'Unsupported value: "PERMIT": supported values: "ALLOW", "DENY"'
    )


def test_pattern(fake: FakeKubernetes) -> None:
    cause = cause_for(fake, route(hostnames=["Bad_Host"]), "spec.hostnames[0]")
    assert cause["reason"] == "FieldValueInvalid"
    assert cause["message"].startswith(
        'Invalid value: "Bad_Host": spec.hostnames[0] in body should match \'^(\\*\\.)?[a-z0-9]'
    )


def test_required(fake: FakeKubernetes) -> None:
    obj = gateway(http_listener())
    del obj["spec"]["gatewayClassName"]
    cause = cause_for(fake, obj, "spec.gatewayClassName")
    assert cause == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.gatewayClassName",
    }


def test_minimum_and_maximum(fake: FakeKubernetes) -> None:
    cause = cause_for(fake, gateway(http_listener(port=0)), "spec.listeners[0].port")
    assert (
        cause["message"]
        == "Invalid value: 0: spec.listeners[0].port in body should be greater than or equal to 1"
    )
    cause = cause_for(fake, gateway(http_listener(port=70000)), "spec.listeners[0].port")
    assert (
        cause["message"] == "Invalid value: 70000: spec.listeners[0].port in body "
        "should be less than or equal to 65535"
    )


def test_max_length(fake: FakeKubernetes) -> None:
    long_host = ".".join(["a" * 60] * 5)
    cause = cause_for(fake, route(hostnames=[long_host]), "spec.hostnames[0]")
    assert cause["reason"] == "FieldValueTooLong"
    assert cause["message"] == "Too long: may not be more than 253 bytes"


def test_min_length(fake: FakeKubernetes) -> None:
    found = causes(fake, gateway(http_listener(name="")))
    messages = [c["message"] for c in found if c["field"] == "spec.listeners[0].name"]
    assert (
        'Invalid value: "": spec.listeners[0].name in body should be at least 1 chars long'
        in messages
    )


def test_max_items(fake: FakeKubernetes) -> None:
    obj = gateway(*[http_listener(name=f"l{i}", port=1000 + i) for i in range(65)])
    cause = cause_for(fake, obj, "spec.listeners")
    assert cause == {
        "reason": "FieldValueTooMany",
        "message": "Too many: 65: must have at most 64 items",
        "field": "spec.listeners",
    }


def test_min_items(fake: FakeKubernetes) -> None:
    cause = cause_for(fake, gateway(), "spec.listeners")
    assert (
        cause["message"] == "Invalid value: 0: spec.listeners in body should have at least 1 items"
    )


def _with_unknown_fields() -> dict[str, Any]:
    body = route(bogus=1, rules=[{"backendRefs": [{"name": "svc", "port": 80, "extra": True}]}])
    body["metadata"]["bogus"] = "x"
    body["top"] = {}
    return body


UNKNOWN = ("metadata.bogus", "spec.bogus", "spec.rules[0].backendRefs[0].extra", "top")


@pytest.mark.parametrize("validation", [None, "Warn"])
def test_unknown_fields_are_dropped_with_a_warning(
    api: httpx2.Client, validation: str | None
) -> None:
    params = {"fieldValidation": validation} if validation else {}
    response = api.post(ROUTES, json=_with_unknown_fields(), params=params)
    assert response.status_code == 201, response.text
    # one Warning per field, in the order of the document
    assert response.headers["warning"] == ", ".join(
        f'299 - "unknown field \\"{path}\\""' for path in UNKNOWN
    )
    created = response.json()
    assert "bogus" not in created["spec"]
    assert "bogus" not in created["metadata"]
    assert "top" not in created
    assert "extra" not in created["spec"]["rules"][0]["backendRefs"][0]


def test_unknown_fields_are_400_when_strict(api: httpx2.Client) -> None:
    response = api.post(ROUTES, json=_with_unknown_fields(), params={"fieldValidation": "Strict"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        'HTTPRoute in version "v1" cannot be handled as a HTTPRoute: strict decoding error: '
        + ", ".join(f'unknown field "{path}"' for path in UNKNOWN)
    )


def test_unknown_fields_are_dropped_silently_when_ignored(api: httpx2.Client) -> None:
    response = api.post(ROUTES, json=_with_unknown_fields(), params={"fieldValidation": "Ignore"})
    assert response.status_code == 201
    assert "warning" not in response.headers
    assert "bogus" not in response.json()["spec"]


def test_an_unknown_field_validation_is_422(api: httpx2.Client) -> None:
    response = api.post(ROUTES, json=route(), params={"fieldValidation": "Bogus"})
    assert response.status_code == 422
    assert response.json()["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_applying_unknown_fields_fails_typing(api: httpx2.Client) -> None:
    response = api.patch(
        f"{ROUTES}/r",
        content=json.dumps(_with_unknown_fields()),
        headers={"Content-Type": "application/apply-patch+yaml"},
        params={"fieldManager": "m"},
    )
    # server-side apply knows no Warn: the configuration cannot be typed (a 500, whose
    # list of fields the real server gives neither whole nor in a fixed order)
    assert response.status_code == 500
    message = response.json()["message"]
    assert message.startswith(
        "failed to create typed patch object (apps/r; gateway.networking.k8s.io/v1, "
        "Kind=HTTPRoute): "
    )
    assert ": field not declared in schema" in message


def test_unknown_fields_of_added_objects_are_dropped(fake: FakeKubernetes) -> None:
    stored = fake.add(_with_unknown_fields())
    assert "bogus" not in stored["spec"]
    assert "top" not in stored


def test_duplicate_keys_of_keyed_lists(fake: FakeKubernetes) -> None:
    found = causes(fake, gateway(http_listener(), http_listener(port=81)))
    assert {
        "reason": "FieldValueDuplicate",
        "message": 'Duplicate value: {"name":"http"}',
        "field": "spec.listeners[1]",
    } in found


def test_one_of(fake: FakeKubernetes) -> None:
    obj = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "vs", "namespace": "apps"},
        "spec": {
            "hosts": ["web"],
            "http": [
                {
                    "match": [{"uri": {"exact": "/a", "prefix": "/b"}}],
                    "route": [{"destination": {"host": "web"}}],
                }
            ],
        },
    }
    # kube-openapi's composite error: no field of its own, the path quoted in the message
    assert causes(fake, obj) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "": "spec.http[0].match[0].uri" must validate one and '
            "only one schema (oneOf). Found 2 valid alternatives",
            "field": "<nil>",
        }
    ]
    obj["spec"]["http"][0]["match"][0]["uri"] = {"prefix": "/b"}
    fake.add(obj)


def test_several_causes_in_one_status(fake: FakeKubernetes) -> None:
    bad_host = dict(http_listener("h2"), hostname="Bad Host")
    with pytest.raises(StatusError) as e:
        fake.add(gateway(http_listener(port=0), bad_host))
    assert [c["field"] for c in e.value.causes] == [
        "spec.listeners[0].port",
        "spec.listeners[1].hostname",
    ]
    assert e.value.message.startswith('Gateway.gateway.networking.k8s.io "gw" is invalid: [')
    assert e.value.details is not None
    assert e.value.details["kind"] == "Gateway"


def test_invalid_over_http(api: httpx2.Client) -> None:
    response = api.post(GATEWAYS, json=gateway(http_listener(port=0)))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["kind"] == "Status"
    assert body["status"] == "Failure"
    assert body["code"] == 422
    assert body["details"]["causes"][0]["field"] == "spec.listeners[0].port"


def test_defaults_are_applied(api: httpx2.Client) -> None:
    body = route(rules=[{"backendRefs": [{"name": "svc", "port": 80}]}])
    created = api.post(ROUTES, json=body).json()
    rule = created["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "svc", "port": 80, "weight": 1}
    ]
    assert created["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}
    ]
    gw = api.post(GATEWAYS, json=gateway(http_listener())).json()
    assert gw["spec"]["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}


# --- a synthetic CRD for the keywords the shipped CRDs use rarely ---------------------------

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "ratio": {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMinimum": True,
                    "maximum": 1,
                    "exclusiveMaximum": True,
                },
                "count": {"type": "integer", "format": "int32"},
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "note": {"type": "string", "nullable": True},
                "flag": {"type": "boolean"},
                "mode": {"type": "string", "default": "auto", "enum": ["auto", "manual"]},
                "labels": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "maxLength": 3},
                    "minProperties": 1,
                    "maxProperties": 2,
                },
                "closed": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "additionalProperties": False,
                },
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "address": {"type": "string", "format": "ipv4"},
            },
        }
    },
}


@pytest.fixture
def widgets() -> FakeKubernetes:
    fake = FakeKubernetes()
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    fake.install_crd(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": WIDGET_SCHEMA},
                    }
                ],
            },
        }
    )
    return fake


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "apps"},
        "spec": {"size": 1, **spec},
    }


def test_valid_widget_with_defaults_and_nulls(widgets: FakeKubernetes) -> None:
    stored = widgets.add(
        widget(port="http", note=None, flag=None, mode=None, extra={"any": {"thing": [1]}})
    )
    spec = stored["spec"]
    assert spec["port"] == "http"
    assert spec["note"] is None
    assert "flag" not in spec
    assert spec["mode"] == "auto"
    assert spec["extra"] == {"any": {"thing": [1]}}
    assert widgets.add(widget(port=8080))["spec"]["port"] == 8080


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (
            {"size": 0},
            "spec.size",
            "Invalid value: 0: spec.size in body should be greater than or equal to 1",
        ),
        (
            {"ratio": 0},
            "spec.ratio",
            "Invalid value: 0: spec.ratio in body should be greater than 0",
        ),
        (
            {"ratio": 1.0},
            "spec.ratio",
            "Invalid value: 1.0: spec.ratio in body should be less than 1",
        ),
        (
            {"count": 2**31},
            "spec.count",
            "Invalid value: 2147483648: spec.count in body must be of type int32: 2147483648",
        ),
        (
            {"port": 1.5},
            "spec.port",
            'Invalid value: "number": spec.port in body '
            'must be of type integer or string: "number"',
        ),
        (
            {"flag": "yes"},
            "spec.flag",
            'Invalid value: "string": spec.flag in body must be of type boolean: "string"',
        ),
        (
            {"labels": {}},
            "spec.labels",
            "Invalid value: 0: spec.labels in body should have at least 1 properties",
        ),
        (
            {"labels": {"a": "1", "b": "2", "c": "3"}},
            "spec.labels",
            "Invalid value: 3: spec.labels in body should have at most 2 properties",
        ),
        ({"labels": {"a": "long"}}, "spec.labels.a", "Too long: may not be more than 3 bytes"),
        ({"template": {"kind": "Pod"}}, "spec.template.apiVersion", "Required value"),
        (
            {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad"}}},
            "spec.template.metadata.name",
            "Invalid value",
        ),
        (
            {"address": "300.1.1.1"},
            "spec.address",
            'Invalid value: "300.1.1.1": spec.address in body must be of type ipv4: "300.1.1.1"',
        ),
        (
            {"mode": "sometimes"},
            "spec.mode",
            'Unsupported value: "sometimes": supported values: "auto", "manual"',
        ),
    ],
)
def test_widget_violations(
    widgets: FakeKubernetes, spec: dict[str, Any], field: str, message: str
) -> None:
    cause = cause_for(widgets, widget(**spec), field)
    assert cause["message"].startswith(message), cause


def test_additional_properties_false_drops_the_others(widgets: FakeKubernetes) -> None:
    stored = widgets.add(widget(closed={"a": "kept", "b": "dropped"}))
    assert stored["spec"]["closed"] == {"a": "kept"}


def test_required_in_synthetic_schema(widgets: FakeKubernetes) -> None:
    obj = widget()
    del obj["spec"]["size"]
    assert cause_for(widgets, obj, "spec.size")["reason"] == "FieldValueRequired"


def test_list_items_of_wrong_type(fake: FakeKubernetes) -> None:
    cause = cause_for(fake, route(hostnames=[1]), "spec.hostnames[0]")
    assert cause["reason"] == "FieldValueTypeInvalid"


def test_raw_status_shape(widgets: FakeKubernetes) -> None:
    http = httpx2.Client(transport=widgets.transport, base_url=FAKE_SERVER)
    response = http.post(
        "/apis/example.com/v1/namespaces/apps/widgets", content=json.dumps(widget(size=11))
    )
    status = response.json()
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Widget.example.com "w" is invalid: spec.size: '
        "Invalid value: 11: spec.size in body should be less than or equal to 10",
        "reason": "Invalid",
        "code": 422,
        "details": {
            "name": "w",
            "group": "example.com",
            "kind": "Widget",
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": (
                        "Invalid value: 11: spec.size in body should be less than or equal to 10"
                    ),
                    "field": "spec.size",
                }
            ],
        },
    }
