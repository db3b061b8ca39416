"""istio-ingress-k8s fed random and hostile databags on every relation (hypothesis).

istio-ingress-route's `config`; ingress v2's app fields and units' `host` and `ip`; the
certificates provider's `certificates`, `request_errors` and `capabilities`;
service-mesh's `labels` and `mesh_type`; the peers' `outcome` and `address`. Whatever is
written, no hook raises, and a valid requirer beside it keeps exactly its route and its
URL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops import testing

from meshops.testing.juju import model_uuid

pytestmark = pytest.mark.fake_only(
    "hundreds of generated hooks each; test_charm.py runs the charm on the real server"
)

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
LB_IP = "10.0.0.9"

# any code point, lone surrogates included (valid JSON as \\ud800 escapes)
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=15), inner, max_size=5)
    ),
    max_leaves=30,
)
listener = st.fixed_dictionaries(
    {},
    optional={
        "port": st.one_of(st.integers(-5, 70000), json_values),
        "protocol": st.one_of(st.sampled_from(["HTTP", "GRPC", "TCP", "http"]), json_values),
    },
)
route = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.sampled_from(["r", "R", "a-b", ""]), any_text),
        "listener": listener,
        "backends": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "service": st.one_of(st.just("blog"), any_text),
                    "port": st.one_of(st.integers(-1, 70000), json_values),
                    "weight": st.one_of(st.none(), st.integers(-1, 200), json_values),
                },
            ),
            max_size=3,
        ),
        "matches": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "path": st.fixed_dictionaries(
                            {},
                            optional={
                                "type": st.one_of(
                                    st.sampled_from(
                                        ["Exact", "PathPrefix", "RegularExpression", "Glob"]
                                    ),
                                    json_values,
                                ),
                                "value": st.one_of(
                                    st.sampled_from(["/", "/a", "a", "([", "/a//b"]), any_text
                                ),
                            },
                        ),
                        "method": st.one_of(st.sampled_from(["GET", "get", "BREW"]), json_values),
                        "headers": json_values,
                    },
                ),
                max_size=3,
            ),
        ),
        "hostnames": json_values,
        "filters": json_values,
    },
)
config = st.one_of(
    any_text,
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"model": st.one_of(st.just("blog"), any_text)},
        optional={
            "listeners": st.lists(listener, max_size=3),
            "http_routes": st.lists(route, max_size=3),
            "grpc_routes": st.lists(route, max_size=2),
            "tcp_routes": json_values,
            "tls_routes": json_values,
        },
    ).map(json.dumps),
)
ingress_value = st.one_of(json_values.map(json.dumps), any_text)
ingress_app = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.just('"blog"'), ingress_value),
        "model": st.one_of(st.just('"blog"'), ingress_value),
        "port": st.one_of(st.just("8080"), ingress_value),
        "strip-prefix": ingress_value,
        "redirect-https": ingress_value,
        "scheme": st.one_of(st.sampled_from(['"http"', '"h2c"', '"ftp"']), ingress_value),
    },
)


def good() -> testing.Relation:
    return testing.Relation(
        "ingress",
        id=1,
        remote_app_name="web",
        remote_app_data={"name": '"web"', "model": '"shop"', "port": "8080"},
        remote_units_data={0: {"host": '"web-0.web-endpoints.shop.svc.cluster.local"'}},
        remote_model_uuid=model_uuid("shop"),
    )


def run(ctx: Any, fake: Any, hostile: testing.Relation) -> None:
    ok = good()
    state = testing.State(leader=True, relations=[ok, hostile], model=testing.Model(name=MODEL))
    out = ctx.run(ctx.on.relation_changed(hostile), state)
    assert json.loads(out.get_relation(ok.id).local_app_data["ingress"]) == {
        "url": f"http://{LB_IP}/shop-web"
    }
    [route] = fake.list(GW_API, "HTTPRoute", "shop")
    assert route["spec"]["rules"][0]["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/shop-web"}}
    ]
    assert not isinstance(out.unit_status, testing.ErrorStatus)


def load_balancer(fake: Any) -> None:
    if fake.get("v1", "Service", f"{APP}-istio", MODEL) is None:
        fake.add(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"{APP}-istio", "namespace": MODEL},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
                "status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}},
            }
        )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=config)
def test_any_route_config_leaves_the_hook_and_other_requirers_whole(
    ctx: Any, fake: Any, raw: str
) -> None:
    load_balancer(fake)
    hostile = testing.Relation(
        "istio-ingress-route",
        id=2,
        remote_app_name="blog",
        remote_app_data={"config": raw},
        remote_model_uuid=model_uuid("blog"),
    )
    run(ctx, fake, hostile)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(app_data=ingress_app, host=ingress_value)
def test_any_ingress_databag_leaves_the_hook_and_other_requirers_whole(
    ctx: Any, fake: Any, app_data: dict[str, str], host: str
) -> None:
    load_balancer(fake)
    hostile = testing.Relation(
        "ingress",
        id=2,
        remote_app_name="blog",
        remote_app_data=app_data,
        remote_units_data={0: {"host": host}},
        remote_model_uuid=model_uuid("blog"),
    )
    run(ctx, fake, hostile)


# -- every other relation: certificates, service-mesh, the peers, ingress unit data -------

pem_like = st.one_of(
    st.sampled_from(["", "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----"]),
    any_text,
)
issued = st.fixed_dictionaries(
    {},
    optional={
        "ca": st.one_of(pem_like, json_values),
        "certificate_signing_request": st.one_of(pem_like, json_values),
        "certificate": st.one_of(pem_like, json_values),
        "chain": st.one_of(st.lists(pem_like, max_size=2), json_values),
        "revoked": json_values,
    },
)
certificates_bag = st.fixed_dictionaries(
    {},
    optional={
        "certificates": st.one_of(
            st.lists(issued, max_size=2).map(json.dumps),
            ingress_value,
            st.integers(1, 5_000).map(lambda n: "[" * n + "]" * n),
        ),
        "request_errors": st.one_of(
            st.lists(
                st.fixed_dictionaries({"csr": pem_like, "error": json_values}), max_size=2
            ).map(json.dumps),
            ingress_value,
        ),
        "capabilities": ingress_value,
    },
)


def run_beside_good(ctx: Any, fake: Any, *others: testing.RelationBase, **config: Any) -> None:
    """The good requirer keeps its route and URL beside ``others``, and no hook raises."""
    ok = good()
    state = testing.State(
        leader=True,
        relations=[ok, *others],
        model=testing.Model(name=MODEL),
        config=config,
    )
    for event in (ctx.on.update_status(), ctx.on.config_changed(), ctx.on.upgrade_charm()):
        out = ctx.run(event, state)
        assert not isinstance(out.unit_status, testing.ErrorStatus)
        published = json.loads(out.get_relation(ok.id).local_app_data["ingress"])
        assert published["url"].endswith("/shop-web")
    [route] = fake.list(GW_API, "HTTPRoute", "shop")
    assert route["spec"]["rules"][0]["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/shop-web"}}
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bag=certificates_bag)
def test_any_certificates_databag_leaves_every_hook_whole(
    ctx: Any, fake: Any, bag: dict[str, str]
) -> None:
    load_balancer(fake)
    certs = testing.Relation("certificates", id=3, remote_app_name="ca", remote_app_data=bag)
    run_beside_good(ctx, fake, certs, **{"external-hostname": "shop.example.com"})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(labels=ingress_value, mesh_type=ingress_value)
def test_any_service_mesh_provider_databag_leaves_every_hook_whole(
    ctx: Any, fake: Any, labels: str, mesh_type: str
) -> None:
    load_balancer(fake)
    mesh = testing.Relation(
        "service-mesh",
        id=3,
        remote_app_name="beacon",
        remote_app_data={"labels": labels, "mesh_type": mesh_type},
    )
    run_beside_good(ctx, fake, mesh)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(outcome=ingress_value, address=any_text, leader=st.booleans())
def test_any_peer_databag_leaves_every_hook_whole(
    ctx: Any, fake: Any, outcome: str, address: str, leader: bool
) -> None:
    load_balancer(fake)
    peers = testing.PeerRelation(
        "ingress-peers", id=8, local_app_data={"outcome": outcome, "address": address}
    )
    certs = testing.Relation("certificates", id=9, remote_app_name="ca")
    if leader:
        run_beside_good(ctx, fake, peers, certs)
        return
    state = testing.State(relations=[peers, certs], model=testing.Model(name=MODEL))
    out = ctx.run(ctx.on.update_status(), state)
    assert not isinstance(out.unit_status, testing.ErrorStatus)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ip=ingress_value)
def test_any_ingress_unit_ip_leaves_every_hook_whole(ctx: Any, fake: Any, ip: str) -> None:
    load_balancer(fake)
    other = testing.Relation(
        "ingress",
        id=2,
        remote_app_name="blog",
        remote_app_data={"name": '"blog"', "model": '"blog"', "port": "8080"},
        remote_units_data={0: {"host": '"blog-0.blog-endpoints.blog.svc"', "ip": ip}},
    )
    run_beside_good(ctx, fake, other)
