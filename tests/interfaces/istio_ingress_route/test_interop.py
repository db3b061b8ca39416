"""Interop with the ecosystem's ``charmlibs.interfaces.istio_ingress_route``, both ways.

Through ops.testing: their requirer's databag read by our provider (requests() sees the
routes, get_config the same configuration) and ours by theirs; our provider's address
read by their requirer and theirs by ours. On the models: the same configuration built
with their classes and with ours (hypothesis-generated, within their feature set) is
the same bytes, and each side reads the other's bytes back unchanged; a configuration
using meshops extensions still reads on their side, just without the extras.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from charmlibs.interfaces import istio_ingress_route as eco
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshops.interfaces import istio_ingress_route as iir

from .route_charms import (
    MODEL,
    gateway_relation,
    make_provider,
    make_requirer,
    provider_context,
    requirer_context,
    requirer_relation,
    seen_after_update_status,
    state,
    web_config,
)


def submitted_by(module: Any, build: Any = web_config) -> str:
    """The ``config`` a requirer charm using ``module`` writes for ``build``."""
    charm = make_requirer(build, module=module)
    relation = gateway_relation()
    _, out = seen_after_update_status(charm, requirer_context(charm), state(relation))
    return out.get_relation(relation.id).local_app_data["config"]


def test_both_requirers_write_the_same_bytes() -> None:
    assert submitted_by(iir) == submitted_by(eco) == web_config(eco).model_dump_json()


def test_their_requirer_to_our_provider() -> None:
    relation = requirer_relation("web", submitted_by(eco))
    charm = make_provider()
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(relation))
    (request,) = seen["requests"]
    expected = iir.read_config(web_config(iir).model_dump_json(), source="x", app="web")
    assert request == iir.RouteRequest(relation.id, "web", MODEL, expected.routes, ())
    assert [route.name for route in request.routes] == ["api", "old", "orders"]
    assert seen["configs"][relation.id] == web_config(iir)
    assert seen["ready"][relation.id] is True


def test_our_requirer_to_their_provider() -> None:
    ours = submitted_by(iir)
    relation = requirer_relation("web", ours)
    charm = make_provider(module=eco)
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(relation))
    theirs = seen["configs"][relation.id]
    assert isinstance(theirs, eco.IstioIngressRouteConfig)
    assert theirs.model_dump_json() == ours
    assert seen["ready"][relation.id] is True


@pytest.mark.parametrize("tls", [False, True])
@pytest.mark.parametrize("provider_module", [iir, eco], ids=["ours", "theirs"])
@pytest.mark.parametrize("requirer_module", [iir, eco], ids=["ours", "theirs"])
def test_provider_address_reaches_the_requirer(
    provider_module: Any, requirer_module: Any, tls: bool
) -> None:
    provider = make_provider("gw.example.com", tls_enabled=tls, module=provider_module)
    ctx = provider_context(provider)
    relation = requirer_relation("web", submitted_by(requirer_module))
    out = ctx.run(ctx.on.relation_changed(relation), state(relation))
    published = dict(out.get_relation(relation.id).local_app_data)
    assert published == {"external_host": "gw.example.com", "tls_enabled": str(tls)}

    requirer = make_requirer(None, module=requirer_module)
    back = gateway_relation(remote_app_data=published)
    seen, _ = seen_after_update_status(requirer, requirer_context(requirer), state(back))
    assert (seen["external_host"], seen["tls_enabled"]) == ("gw.example.com", tls)


def test_both_providers_write_the_same_databag_after_an_address_change() -> None:
    databags = []
    for module in (iir, eco):
        charm = make_provider("", module=module)
        ctx = provider_context(charm)
        relation = requirer_relation("web", submitted_by(iir), local_app_data={"other": "kept"})
        st_in = state(relation, config={"host": "new.example.com", "tls": True})
        out = ctx.run(ctx.on.config_changed(), st_in)
        databags.append(dict(out.get_relation(relation.id).local_app_data))
    assert databags[0] == databags[1]
    assert databags[0] == {
        "other": "kept",
        "external_host": "new.example.com",
        "tls_enabled": "True",
    }


def test_both_providers_wipe_alike() -> None:
    databags = []
    for module in (iir, eco):
        charm = make_provider("gw.example.com", module=module)
        ctx = provider_context(charm)
        data = {"external_host": "old", "tls_enabled": "True", "other": "kept"}
        relation = requirer_relation("web", local_app_data=data)
        out = ctx.run(ctx.on.config_changed(), state(relation, config={"wipe": True}))
        databags.append(dict(out.get_relation(relation.id).local_app_data))
    assert databags == [{"other": "kept"}, {"other": "kept"}]


def with_extensions() -> iir.IstioIngressRouteConfig:
    """web_config plus every meshops extension."""
    base = web_config(iir)
    header = iir.RequestHeaderModifierFilter(
        requestHeaderModifier=iir.HeaderModifierSpec(set=[iir.HTTPHeader(name="X-A", value="1")])
    )
    routes = [r.model_copy(update={"header_filters": [header]}) for r in base.http_routes]
    grpc = [r.model_copy(update={"header_filters": [header]}) for r in base.grpc_routes]
    return base.model_copy(
        update={
            "http_routes": routes,
            "grpc_routes": grpc,
            "tcp_routes": [
                iir.TCPRoute(
                    name="db",
                    listener=iir.L4Listener(port=5432, protocol=iir.L4ProtocolType.TCP),
                    backends=[iir.BackendRef(service="db", port=5432)],
                )
            ],
            "tls_routes": [
                iir.TLSRoute(
                    name="mq",
                    listener=iir.L4Listener(port=5671, protocol=iir.L4ProtocolType.TLS),
                    backends=[iir.BackendRef(service="mq", port=5671)],
                    hostnames=["mq.example.com"],
                )
            ],
        }
    )


def test_extensions_read_on_their_side_without_the_extras() -> None:
    ours = with_extensions().model_dump_json()
    written = json.loads(ours)
    assert {"tcp_routes", "tls_routes"} <= set(written)
    assert "header_filters" in written["http_routes"][0]
    theirs = eco.IstioIngressRouteConfig.model_validate_json(ours)
    assert theirs.model_dump_json() == web_config(eco).model_dump_json()


def test_extensions_through_their_provider_charm() -> None:
    ours = with_extensions().model_dump_json()
    relation = requirer_relation("web", ours)
    charm = make_provider(module=eco)
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(relation))
    assert seen["configs"][relation.id].model_dump_json() == web_config(eco).model_dump_json()


def test_extensions_through_our_provider_charm() -> None:
    relation = requirer_relation("web", with_extensions().model_dump_json())
    charm = make_provider()
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(relation))
    (request,) = seen["requests"]
    assert request.problems == ()
    assert [(r.name, r.kind) for r in request.routes] == [
        ("api", "HTTPRoute"),
        ("old", "HTTPRoute"),
        ("orders", "GRPCRoute"),
        ("db", "TCPRoute"),
        ("mq", "TLSRoute"),
    ]
    assert all(len(r.filters) == 2 for r in request.routes[:2])


# -- the same configuration built on both sides -------------------------------------------


@dataclasses.dataclass(frozen=True)
class Node:
    """A constructor call, ``cls(**kwargs)``, to make with either side's classes."""

    cls: str
    kwargs: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Member:
    """An enum member, ``cls[name]``, of either side's enum."""

    cls: str
    name: str


def build(module: Any, spec: Any) -> Any:
    if isinstance(spec, Node):
        return getattr(module, spec.cls)(**{k: build(module, v) for k, v in spec.kwargs.items()})
    if isinstance(spec, Member):
        return getattr(module, spec.cls)[spec.name]
    if isinstance(spec, list):
        return [build(module, item) for item in spec]
    if isinstance(spec, dict):
        return {k: build(module, v) for k, v in spec.items()}
    return spec


def node(cls: str, required: dict[str, Any], **optional: Any) -> st.SearchStrategy[Node]:
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: Node(cls, kw))


def member(cls: str, names: list[str]) -> st.SearchStrategy[Member]:
    return st.sampled_from(names).map(lambda name: Member(cls, name))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
ports = st.integers(min_value=1, max_value=65535)
listener = node("Listener", {"port": ports, "protocol": member("ProtocolType", ["HTTP", "GRPC"])})
backend = node(
    "BackendRef",
    {"service": text, "port": ports},
    weight=maybe(st.integers(min_value=1, max_value=100)),
)
headers = maybe(st.dictionaries(text, text, max_size=3))
path_match = node(
    "HTTPPathMatch",
    {"value": text},
    type=member("HTTPPathMatchType", ["Exact", "PathPrefix", "RegularExpression"]),
)
http_match = node(
    "HTTPRouteMatch",
    {},
    path=maybe(path_match),
    method=maybe(member("HTTPMethod", [m.name for m in eco.HTTPMethod])),
    headers=headers,
)
grpc_match = node(
    "GRPCRouteMatch",
    {},
    method=maybe(node("GRPCMethodMatch", {"service": text}, method=maybe(text))),
    headers=headers,
)
path_modifier = node(
    "PathModifier",
    {
        "type": member("PathModifierType", ["ReplaceFullPath", "ReplacePrefixMatch"]),
        "value": text,
    },
)
rewrite = node(
    "URLRewriteFilter",
    {"urlRewrite": node("URLRewriteSpec", {}, hostname=maybe(text), path=maybe(path_modifier))},
)
redirect = node(
    "RequestRedirectFilter",
    {
        "requestRedirect": node(
            "RequestRedirectSpec",
            {},
            scheme=maybe(st.sampled_from(["http", "https"])),
            hostname=maybe(text),
            path=maybe(path_modifier),
            port=maybe(ports),
            statusCode=st.sampled_from([301, 302, 303, 307, 308]),
        )
    },
)


def route(cls: str, match: Any, filters: Any) -> st.SearchStrategy[Node]:
    return node(
        cls,
        {"name": text, "listener": listener, "backends": st.lists(backend, max_size=3)},
        hostnames=maybe(st.lists(text, max_size=3)),
        matches=maybe(st.lists(match, max_size=3)),
        filters=maybe(st.lists(filters, max_size=2)),
    )


configs = node(
    "IstioIngressRouteConfig",
    {"model": text},
    listeners=st.lists(listener, max_size=3),
    http_routes=st.lists(route("HTTPRoute", http_match, rewrite | redirect), max_size=3),
    grpc_routes=st.lists(route("GRPCRoute", grpc_match, redirect), max_size=2),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(configs)
def test_same_config_same_bytes(spec: Node) -> None:
    ours = build(iir, spec).model_dump_json()
    theirs = build(eco, spec).model_dump_json()
    assert ours == theirs
    assert iir.IstioIngressRouteConfig.model_validate_json(theirs).model_dump_json() == theirs
    assert eco.IstioIngressRouteConfig.model_validate_json(ours).model_dump_json() == ours
    assert build(iir, spec).model_dump() == build(eco, spec).model_dump()


def test_config_reaches_only_related_apps() -> None:
    """Each relation of our provider reads its own requirer's config."""
    one = requirer_relation("web", submitted_by(eco))
    two = requirer_relation("idle")
    charm = make_provider()
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(one, two))
    assert [(r.app, len(r.routes)) for r in seen["requests"]] == [("web", 3), ("idle", 0)]


def test_their_requirer_is_refused_when_not_leader_like_ours() -> None:
    for module in (iir, eco):
        charm = make_requirer(web_config, module=module)
        relation = gateway_relation()
        seen, out = seen_after_update_status(
            charm, requirer_context(charm), state(relation, leader=False)
        )
        assert seen["submitted"] == "unauthorized"
        assert out.get_relation(relation.id).local_app_data == {}
