"""The wire models: names, defaults, the JSON they write, and what they refuse to read.

Covers listener names and Gateway protocols, the Gateway API form of path modifiers
(written and read, and contradictions refused), the computed ``type`` of filters, the
choice of filter kind by spec key, strict integers, frozen models, unknown keys
ignored, and the meshops extensions (L4 routes, header filters) left out of the JSON
when unused.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from meshops.interfaces import istio_ingress_route as iir

WEB = {"port": 80, "protocol": "HTTP"}
BACKEND = {"service": "web", "port": 8080}


def http_route(**kw: Any) -> dict[str, Any]:
    return {"name": "r", "listener": WEB, "backends": [BACKEND], **kw}


@pytest.mark.parametrize(
    ("protocol", "port", "name"),
    [
        (iir.ProtocolType.HTTP, 80, "http-80"),
        (iir.ProtocolType.GRPC, 9090, "grpc-9090"),
    ],
)
def test_listener_name_and_gateway_protocol(
    protocol: iir.ProtocolType, port: int, name: str
) -> None:
    listener = iir.Listener(port=port, protocol=protocol)
    assert listener.name == name
    assert listener.gateway_protocol == "HTTP"


@pytest.mark.parametrize(
    ("protocol", "name", "gateway"),
    [(iir.L4ProtocolType.TCP, "tcp-5432", "TCP"), (iir.L4ProtocolType.TLS, "tls-5432", "TLS")],
)
def test_l4_listener_name_and_gateway_protocol(
    protocol: iir.L4ProtocolType, name: str, gateway: str
) -> None:
    listener = iir.L4Listener(port=5432, protocol=protocol)
    assert (listener.name, listener.gateway_protocol) == (name, gateway)


@pytest.mark.parametrize("protocol", list(iir.ProtocolType))
def test_to_gateway_protocol_follows_tls(protocol: iir.ProtocolType) -> None:
    assert iir.to_gateway_protocol(protocol) == "HTTP"
    assert iir.to_gateway_protocol(protocol, tls_enabled=True) == "HTTPS"


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        (iir.PathModifierType.ReplaceFullPath, "replaceFullPath"),
        (iir.PathModifierType.ReplacePrefixMatch, "replacePrefixMatch"),
    ],
)
def test_path_modifier_is_written_and_read_in_gateway_api_form(
    kind: iir.PathModifierType, key: str
) -> None:
    modifier = iir.PathModifier(type=kind, value="/v2")
    assert modifier.model_dump() == {"type": kind.value, key: "/v2"}
    assert iir.PathModifier.model_validate({"type": kind.value, key: "/v2"}) == modifier
    assert iir.PathModifier.model_validate({key: "/v2"}) == modifier  # type implied by the key


@pytest.mark.parametrize(
    "data",
    [
        {"type": "ReplaceFullPath", "replacePrefixMatch": "/x"},
        {"type": "ReplacePrefixMatch", "replaceFullPath": "/x"},
        {"replaceFullPath": "/x", "replacePrefixMatch": "/y"},
    ],
)
def test_path_modifier_refuses_contradictions(data: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        iir.PathModifier.model_validate(data)


def test_filters_write_their_computed_type_after_the_spec() -> None:
    rewrite = iir.URLRewriteFilter(urlRewrite=iir.URLRewriteSpec(hostname="internal"))
    redirect = iir.RequestRedirectFilter(requestRedirect=iir.RequestRedirectSpec(port=8443))
    assert list(json.loads(rewrite.model_dump_json())) == ["urlRewrite", "type"]
    assert json.loads(rewrite.model_dump_json())["type"] == "URLRewrite"
    assert json.loads(redirect.model_dump_json()) == {
        "requestRedirect": {
            "scheme": None,
            "hostname": None,
            "path": None,
            "port": 8443,
            "statusCode": 301,
        },
        "type": "RequestRedirect",
    }


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"urlRewrite": {"hostname": "h"}}, iir.URLRewriteFilter),
        ({"urlRewrite": {"hostname": "h"}, "type": "URLRewrite"}, iir.URLRewriteFilter),
        ({"requestRedirect": {}}, iir.RequestRedirectFilter),
        ({"requestRedirect": {}, "type": "RequestRedirect"}, iir.RequestRedirectFilter),
    ],
)
def test_http_filter_kind_is_chosen_by_its_spec_key(data: dict[str, Any], kind: type) -> None:
    route = iir.HTTPRoute.model_validate(http_route(filters=[data]))
    assert route.filters is not None
    assert type(route.filters[0]) is kind


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": "URLRewrite"},
        {"urlRewrite": {}, "requestRedirect": {}},
        {"type": "RequestRedirect", "urlRewrite": {}},
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {}},
        "URLRewrite",
    ],
)
def test_http_filter_without_exactly_one_agreeing_spec_is_refused(data: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        iir.HTTPRoute.model_validate(http_route(filters=[data]))


@pytest.mark.parametrize("port", [True, "80", 80.0, 0, 65536, None])
def test_ports_are_strict_integers_in_range(port: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        iir.Listener.model_validate({"port": port, "protocol": "HTTP"})
    with pytest.raises(pydantic.ValidationError):
        iir.BackendRef.model_validate({"service": "web", "port": port})


@pytest.mark.parametrize(("weight", "ok"), [(1, True), (100, True), (0, False), (101, False)])
def test_weights_are_1_to_100_as_in_the_ecosystem(weight: int, ok: bool) -> None:
    data = {"service": "web", "port": 80, "weight": weight}
    if ok:
        assert iir.BackendRef.model_validate(data).weight == weight
    else:
        with pytest.raises(pydantic.ValidationError):
            iir.BackendRef.model_validate(data)


def test_models_are_frozen() -> None:
    listener = iir.Listener(port=80, protocol=iir.ProtocolType.HTTP)
    with pytest.raises(pydantic.ValidationError):
        listener.port = 81  # type: ignore[misc]


def test_unknown_keys_are_ignored() -> None:
    data = {"model": "m", "listeners": [{**WEB, "tls": True}], "future": {"x": 1}}
    config = iir.IstioIngressRouteConfig.model_validate(data)
    assert config.listeners == [iir.Listener(port=80, protocol=iir.ProtocolType.HTTP)]
    assert "future" not in config.model_dump_json()


def test_route_protocols() -> None:
    route = iir.HTTPRoute.model_validate(http_route())
    grpc = iir.GRPCRoute.model_validate(http_route())
    assert (route.protocol, grpc.protocol) == (iir.ProtocolType.HTTP, iir.ProtocolType.GRPC)


def test_unused_extensions_are_left_out_of_the_json() -> None:
    config = iir.IstioIngressRouteConfig.model_validate(
        {"model": "m", "listeners": [WEB], "http_routes": [http_route(header_filters=[])]}
    )
    written = json.loads(config.model_dump_json())
    assert list(written) == ["model", "listeners", "http_routes", "grpc_routes"]
    assert list(written["http_routes"][0]) == [
        "name",
        "listener",
        "backends",
        "hostnames",
        "matches",
        "filters",
    ]


def test_extensions_are_written_when_used() -> None:
    config = iir.IstioIngressRouteConfig(
        model="m",
        http_routes=[
            iir.HTTPRoute(
                name="r",
                listener=iir.Listener(port=80, protocol=iir.ProtocolType.HTTP),
                backends=[iir.BackendRef(service="web", port=80)],
                header_filters=[
                    iir.ResponseHeaderModifierFilter(
                        responseHeaderModifier=iir.HeaderModifierSpec(
                            add=[iir.HTTPHeader(name="X-Served-By", value="web")]
                        )
                    )
                ],
            )
        ],
        tcp_routes=[
            iir.TCPRoute(
                name="db",
                listener=iir.L4Listener(port=5432, protocol=iir.L4ProtocolType.TCP),
                backends=[iir.BackendRef(service="db", port=5432)],
            )
        ],
    )
    written = json.loads(config.model_dump_json())
    assert list(written) == ["model", "listeners", "http_routes", "grpc_routes", "tcp_routes"]
    assert written["http_routes"][0]["header_filters"] == [
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"add": [{"name": "X-Served-By", "value": "web"}]},
        }
    ]
    assert written["tcp_routes"] == [
        {
            "name": "db",
            "listener": {"port": 5432, "protocol": "TCP"},
            "backends": [{"service": "db", "port": 5432, "weight": None}],
        }
    ]
    assert iir.IstioIngressRouteConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize(("key", "protocol"), [("tcp_routes", "TLS"), ("tls_routes", "TCP")])
def test_l4_route_refuses_a_listener_of_the_other_protocol(key: str, protocol: str) -> None:
    route = {
        "name": "db",
        "listener": {"port": 5432, "protocol": protocol},
        "backends": [BACKEND],
        "hostnames": ["db.example.com"],
    }
    with pytest.raises(pydantic.ValidationError, match="listener"):
        iir.IstioIngressRouteConfig.model_validate({"model": "m", key: [route]})


def test_tls_route_needs_hostnames() -> None:
    route = {"name": "db", "listener": {"port": 5432, "protocol": "TLS"}, "backends": [BACKEND]}
    with pytest.raises(pydantic.ValidationError, match="hostnames"):
        iir.TLSRoute.model_validate(route)


@pytest.mark.parametrize(
    "data",
    [
        {"requestHeaderModifier": {"remove": ["X-A"]}},
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["X-A"]}},
        {"responseHeaderModifier": {"set": [{"name": "X-A", "value": "1"}]}},
    ],
)
def test_header_filter_kind_is_chosen_by_its_spec_key(data: dict[str, Any]) -> None:
    route = iir.HTTPRoute.model_validate(http_route(header_filters=[data]))
    assert route.header_filters is not None
    written = json.loads(route.model_dump_json())["header_filters"][0]
    assert written["type"] in ("RequestHeaderModifier", "ResponseHeaderModifier")
    assert {k: v for k, v in written.items() if k != "type"} == {
        k: v for k, v in data.items() if k != "type"
    }


@pytest.mark.parametrize(
    "data",
    [
        {"type": "ResponseHeaderModifier", "requestHeaderModifier": {}},
        {"requestHeaderModifier": {}, "responseHeaderModifier": {}},
        {"type": "URLRewrite", "urlRewrite": {}},
    ],
)
def test_header_filter_without_exactly_one_agreeing_spec_is_refused(data: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        iir.HTTPRoute.model_validate(http_route(header_filters=[data]))
