"""plan.ingress for any Gateway API implementation: what is Istio's, hostnames claimed whole.

Tables for the parts the gateway-api-integrator charm relies on: a non-Istio class
leaves out AuthorizationPolicies, DestinationRules and the log-level annotation, and
refuses backend schemes only a DestinationRule gives; hostnames claimed whole get
listeners of their own admitting only the claimant's namespace, the first claimant
keeping a hostname; HTTP served beside HTTPS when asked; the HSTS header on web routes
served over HTTPS; and every rendered object accepted by the upstream CRDs, on the fake
and on the real API server.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from meshops.k8s import Api, make_client
from meshops.k8s.kinds import kind_of
from meshops.model.ingress import GatewayConfig, HeaderModifier, Route
from meshops.plan import gateway_api
from meshops.plan.ingress import HostnameSet, IngressPlan, RouteSet, plan_ingress, web_route
from meshops.testing.pytest_plugin import SERVERS, contract_server

CRDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
)
CILIUM = GatewayConfig("gw", "edge", gateway_class="cilium", istio=False)
TLS = GatewayConfig(
    "gw",
    "edge",
    hostname="apps.example.com",
    tls_secret="gw-tls",
    gateway_class="cilium",
    istio=False,
    hsts_max_age=600,
)


def web(app: str, namespace: str, order: int, **kw: Any) -> RouteSet:
    return RouteSet(
        f"gateway:{order}", app, namespace, order, (web_route(app, namespace, 8080, **kw),)
    )


def claim(app: str, namespace: str, order: int, *hostnames: str) -> HostnameSet:
    return HostnameSet(f"gateway-route:{order}", app, namespace, order, hostnames)


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return [o["kind"] for o in objects]


def listeners(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    [gw] = [o for o in objects if o["kind"] == "Gateway"]
    return {x["name"]: x for x in gw["spec"]["listeners"]}


def test_a_non_istio_class_gets_none_of_istios_objects() -> None:
    istio = plan_ingress(GatewayConfig("gw", "edge"), [web("shop", "prod", 1)])
    other = plan_ingress(CILIUM, [web("shop", "prod", 1)])
    assert kinds(istio.objects) == ["Gateway", "HTTPRoute", "AuthorizationPolicy"]
    assert kinds(other.objects) == ["Gateway", "HTTPRoute"]
    assert "infrastructure" not in other.objects[0]["spec"]
    assert other.objects[0]["spec"]["gatewayClassName"] == "cilium"


@pytest.mark.parametrize("scheme", ["https", "h2c"])
def test_a_backend_scheme_only_istio_gives_is_bad_input_for_another_class(scheme: str) -> None:
    plan = plan_ingress(CILIUM, [web("vault", "prod", 1, scheme=scheme), web("shop", "prod", 2)])
    assert plan.refused_sources == {"gateway:1"}
    assert plan.served["gateway:2"] == ("ingress",)
    [problem] = plan.problems
    assert problem.message == (
        f"backend scheme {scheme!r} is not built for gateway class 'cilium' (only Istio's: "
        "it needs a DestinationRule)"
    )


def test_claimed_hostnames_get_listeners_only_their_namespace_may_use() -> None:
    plan = plan_ingress(
        CILIUM,
        [web("shop", "prod", 1)],
        hostname_sets=[claim("blog", "blog", 2, "blog.example.com")],
        hostname_secrets={"blog.example.com": "gw-tls-blog"},
    )
    found = listeners(plan.objects)
    assert sorted(found) == ["gw-http-blog-example-com", "gw-https-blog-example-com", "http-80"]
    own = found["gw-https-blog-example-com"]
    assert own["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"][0]["values"] == [
        "blog"
    ]
    assert own["tls"]["certificateRefs"] == [
        {"kind": "Secret", "group": "", "name": "gw-tls-blog"}
    ]
    assert found["http-80"]["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"][0][
        "values"
    ] == ["edge", "prod"]
    assert plan.hostnames == {"blog.example.com": "gateway-route:2"}
    assert plan.served["gateway-route:2"] == ("blog.example.com",)


def test_the_first_claimant_keeps_a_hostname_and_only_that_one() -> None:
    plan = plan_ingress(
        CILIUM,
        [],
        hostname_sets=[
            claim("web", "shop", 8, "blog.example.com", "web.example.com"),
            claim("blog", "blog", 3, "blog.example.com"),
        ],
    )
    assert plan.hostnames == {
        "blog.example.com": "gateway-route:3",
        "web.example.com": "gateway-route:8",
    }
    [conflict] = plan.conflicts
    assert str(conflict) == (
        "route 'blog.example.com' of web conflicts with blog (gateway-route:3) on hostname "
        "blog.example.com"
    )


@pytest.mark.parametrize(
    ("external", "hostname"),
    [("apps.example.com", "apps.example.com"), ("*.example.com", "blog.example.com")],
)
def test_the_external_hostname_is_the_gateways_own(external: str, hostname: str) -> None:
    gateway = GatewayConfig("gw", "edge", hostname=external, gateway_class="c", istio=False)
    plan = plan_ingress(gateway, [], hostname_sets=[claim("blog", "blog", 2, hostname)])
    assert plan.hostnames == {}
    [problem] = plan.problems
    assert problem.message == (
        f"hostname {hostname} (external-hostname {external}) is the gateway's own"
    )


def test_listener_names_that_collide_are_refused() -> None:
    plan = plan_ingress(
        CILIUM, [], hostname_sets=[claim("a", "a", 1, "a-b.com"), claim("b", "b", 2, "a.b-com")]
    )
    assert list(plan.hostnames) == ["a-b.com"]
    [conflict] = plan.conflicts
    assert conflict.claim == "listener gw-http-a-b-com (of hostname a-b.com)"


def test_https_enforced_serves_web_routes_over_https_with_hsts() -> None:
    plan = plan_ingress(TLS, [web("shop", "prod", 1)])
    [redirect, route] = [o for o in plan.objects if o["kind"] == "HTTPRoute"]
    assert redirect["metadata"]["name"] == "gw-https-redirect"
    assert [p["sectionName"] for p in route["spec"]["parentRefs"]] == ["https-443"]
    assert route["spec"]["rules"][0]["filters"] == [
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {
                "set": [{"name": "Strict-Transport-Security", "value": "max-age=600"}]
            },
        }
    ]


def test_hsts_joins_a_routes_own_response_header_changes() -> None:
    base = web_route("shop", "prod", 8080)
    own = Route(
        base.name,
        base.protocol,
        base.port,
        matches=base.matches,
        backends=base.backends,
        filters=(
            HeaderModifier(set=(("x-a", "1"), ("strict-transport-security", "x")), response=True),
        ),
    )
    plan = plan_ingress(TLS, [RouteSet("gateway:1", "shop", "prod", 1, (own,))])
    route = [o for o in plan.objects if o["kind"] == "HTTPRoute"][1]
    [modifier] = route["spec"]["rules"][0]["filters"]
    assert modifier["responseHeaderModifier"]["set"] == [
        {"name": "x-a", "value": "1"},
        {"name": "Strict-Transport-Security", "value": "max-age=600"},
    ]


def test_http_beside_https_when_not_redirected() -> None:
    import dataclasses

    gateway = dataclasses.replace(TLS, redirect_http=False)
    plan = plan_ingress(gateway, [web("shop", "prod", 1)])
    [route] = [o for o in plan.objects if o["kind"] == "HTTPRoute"]
    assert sorted(p["sectionName"] for p in route["spec"]["parentRefs"]) == [
        "http-80",
        "https-443",
    ]
    assert "filters" not in route["spec"]["rules"][0]
    assert gateway.hsts is None


@pytest.mark.parametrize(
    ("enforce", "certified", "mode"),
    [(True, True, "enforced"), (False, True, "enabled"), (True, False, "disabled")],
)
def test_https_modes(enforce: bool, certified: bool, mode: str) -> None:
    assert gateway_api.https_mode(enforce, certified) == mode


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"gateway-class": "x"},
            "gateway-class: 'x' is not a GatewayClass of this cluster; set it to one of: cilium",
        ),
        ({"enforce-https": "yes"}, "enforce-https: 'yes' must be true or false"),
        ({"hsts-max-age": "1y"}, "hsts-max-age: '1y' must be an integer of seconds, 0 or more"),
        (
            {"gateway-class": "cilium", "enforce-https": True},
            "relate a certificates provider, or set enforce-https=false",
        ),
    ],
)
def test_gateway_config_says_what_to_set(config: dict[str, Any], message: str) -> None:
    config = {"enforce-https": False, **config}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        gateway_api.gateway_config(
            "gw", "edge", config, {"cilium": "c"}, certificates=False, ingress_requirers=False
        )


def test_gateway_config_defaults_enforce_https_with_a_years_hsts() -> None:
    config = gateway_api.gateway_config(
        "gw",
        "edge",
        {"gateway-class": "cilium", "external-hostname": " apps.example.com "},
        {"cilium": "c"},
        certificates=True,
        ingress_requirers=True,
    )
    assert config == GatewayConfig(
        "gw",
        "edge",
        hostname="apps.example.com",
        gateway_class="cilium",
        istio=False,
        redirect_http=True,
        hsts_max_age=31536000,
    )


def test_gateway_config_without_a_class_or_hostname_says_what_to_set() -> None:
    def refusal(config: dict[str, object]) -> str:
        with pytest.raises(ValueError, match="set") as raised:
            gateway_api.gateway_config(
                "gw", "edge", config, {"cilium": "c"}, certificates=True, ingress_requirers=True
            )
        return str(raised.value)

    assert refusal({}) == "gateway-class: not set; set it to one of: cilium"
    assert refusal({"gateway-class": "cilium"}) == (
        "set external-hostname (gateway requirers are served over HTTPS under it), "
        "or set enforce-https=false"
    )


def test_a_cluster_without_gateway_classes_is_told_to_install_an_implementation() -> None:
    with pytest.raises(ValueError, match=r"^gateway-class: ") as raised:
        gateway_api.gateway_class("cilium", {})
    assert str(raised.value) == (
        "gateway-class: this cluster has no GatewayClass; install a Gateway API "
        "implementation (e.g. Cilium, Envoy Gateway, Istio, NGINX Gateway Fabric)"
    )


def test_gateway_classes_are_read_with_their_controller() -> None:
    objects = [
        {"metadata": {"name": "istio"}, "spec": {"controllerName": "istio.io/gateway-controller"}},
        {"metadata": {"name": "odd"}, "spec": {"controllerName": 5}},
        {"metadata": {"name": "bare"}},
        {"metadata": {}},
    ]
    classes = gateway_api.gateway_classes(objects)
    assert classes == {"istio": "istio.io/gateway-controller", "odd": "", "bare": ""}
    assert gateway_api.gateway_class("istio", classes) is True
    assert gateway_api.gateway_class("odd", classes) is False


def test_a_certificates_secret_is_named_after_the_app_and_its_hostname() -> None:
    # (dns_label ends each name with a hash of its parts)
    assert gateway_api.secret_name("gw", "shop.example.com").startswith("gw-tls-shop-example-com-")
    assert gateway_api.secret_name("gw", "*.example.com").startswith(
        "gw-tls-wildcard-example-com-"
    )


def test_certificates_are_asked_for_each_hostname_a_ca_signs() -> None:
    assert gateway_api.certificate_hostnames(None, ["b.example", "-bad-", "a.example"]) == [
        "a.example",
        "b.example",
    ]
    assert gateway_api.certificate_hostnames("", ["a.example"]) == ["a.example"]
    assert gateway_api.certificate_hostnames("gw.example", ["a.example", "gw.example"]) == [
        "a.example",
        "gw.example",
    ]


@pytest.mark.parametrize(
    ("status", "address"),
    [
        ({"addresses": [{"type": "IPAddress", "value": "10.0.0.9"}, {"value": "x"}]}, "10.0.0.9"),
        ({"addresses": []}, None),
        ({"addresses": "10.0.0.9"}, None),
        ({"addresses": ["10.0.0.9"]}, None),
        ({"addresses": [{"value": ""}]}, None),
        ({"addresses": [{"value": 5}]}, None),
        ({}, None),
    ],
)
def test_the_gateways_address_is_the_first_its_implementation_gives(
    status: dict[str, Any], address: str | None
) -> None:
    assert gateway_api.gateway_address({"status": status}) == address


def test_hostname_answers_enforce_https_only_once_every_hostname_is_certified() -> None:
    plan = gateway_api_plan({"a.example": "gateway-route:1", "b.example": "gateway-route:1"})
    gateway = GatewayConfig("gw", "edge", redirect_http=True, hsts_max_age=600)
    both = gateway_api.hostname_answers(gateway, plan, ["a.example", "b.example"])
    assert both == {"gateway-route:1": ("enforced", 600)}
    one = gateway_api.hostname_answers(gateway, plan, ["a.example"])
    assert one == {"gateway-route:1": ("disabled", None)}


@pytest.mark.parametrize(
    ("hostname", "names"),
    [
        ("apps.example.com", ["a.example", "apps.example.com"]),
        ("*.example.com", ["a.example"]),
        (None, ["a.example"]),
    ],
)
def test_dns_records_are_for_the_external_hostname_unless_a_wildcard_and_those_held(
    hostname: str | None, names: list[str]
) -> None:
    gateway = GatewayConfig("gw", "edge", hostname=hostname)
    plan = gateway_api_plan({"a.example": "gateway-route:1"})
    assert gateway_api.dns_hostnames(gateway, plan) == names


def test_the_summary_says_where_it_serves_even_before_an_address() -> None:
    plan = gateway_api_plan({})
    assert gateway_api.summary(plan, [], None, "ingress") == ["0 apps and 0 hostnames served at ?"]


def gateway_api_plan(hostnames: dict[str, str]) -> IngressPlan:
    return IngressPlan([], [], [], {}, set(), (), hostnames)


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Any:
    return contract_server(request, *CRDS, namespaces=("edge", "prod", "blog"))


def test_the_objects_are_valid_under_the_crds(server: Any) -> None:
    plan = plan_ingress(
        TLS,
        [web("shop", "prod", 1, strip_prefix=True)],
        hostname_sets=[claim("blog", "blog", 2, "blog.example.com", "www.blog.example.com")],
        hostname_secrets={"blog.example.com": "gw-tls-blog"},
    )
    api = Api(make_client(server.transport, field_manager="t"), field_manager="t")
    for obj in plan.objects:
        api.apply(obj, kind_of(obj))  # raises meshops.k8s.errors.Invalid on a 422
    assert len(server.list("gateway.networking.k8s.io/v1", "HTTPRoute", None)) == 2


def test_claims_past_the_gateways_listener_limit_are_refused() -> None:
    sets = [claim(f"a{i}", f"n{i}", i, f"h{i}.example.com") for i in range(40)]
    plan = plan_ingress(CILIUM, [], hostname_sets=sets)
    assert len(plan.hostnames) == 31
    assert len(listeners(plan.objects)) == 32
    assert plan.problems[0].message == (
        "hostname h31.example.com: the Gateway is full (at most 64 listeners: 31 hostnames of "
        "their own)"
    )


def test_a_hostname_too_long_for_its_listener_names_is_refused() -> None:
    long = ".".join(["b" * 7, *["a" * 60] * 4])  # 251 characters
    plan = plan_ingress(CILIUM, [], hostname_sets=[claim("a", "a", 1, long)])
    assert plan.hostnames == {}
    assert plan.problems[0].message == (
        f"hostname {long}: its listener names would pass 253 characters"
    )
