"""The objects the charm leaves in the cluster, read back by the Gateway API evaluator.

meshops.semantics.routing evaluates what the cluster holds (the Gateway, every
HTTPRoute, the Namespaces and Services) as a Gateway API implementation would: each
requirer's URL reaches its own Service and nothing else does; a route a gateway-route
requirer writes for its hostname is served, and the same route from another namespace
is not attached.
"""

from __future__ import annotations

import json
from typing import Any

from gwapi_testing import (
    APP,
    GW_API,
    MODEL,
    certified,
    give_address,
    ingress,
    route_requirer,
    served,
    state,
)
from ops import testing

from meshops.semantics.routing import Request, Routes


def evaluate(cluster: Any, url: str) -> Any:
    held = [
        *cluster.list(GW_API, "Gateway", None),
        *cluster.list(GW_API, "HTTPRoute", None),
        *cluster.list("v1", "Namespace", None),
        *cluster.list("v1", "Service", None),
    ]
    return Routes.from_objects(held).route(Request.from_url(url))


def own_route(namespace: str, hostname: str, service: str) -> dict[str, Any]:
    """The route a gateway-route requirer writes for its hostname, as the ecosystem's do."""
    dashed = hostname.replace(".", "-")
    return {
        "apiVersion": GW_API,
        "kind": "HTTPRoute",
        "metadata": {"name": f"{service}-http", "namespace": namespace},
        "spec": {
            "parentRefs": [
                {"name": APP, "namespace": MODEL, "sectionName": f"{APP}-http-{dashed}"}
            ],
            "hostnames": [hostname],
            "rules": [{"backendRefs": [{"name": service, "port": 8080}]}],
        },
    }


def test_each_requirer_is_served_as_asked_and_nothing_else(ctx: Any, cluster: Any) -> None:
    web, blog = ingress("web", strip_prefix=True), ingress("blog", model="blog")
    claimant = route_requirer("blog", "blog.example.com")
    out = served(cluster, web, blog, claimant)
    out = ctx.run(ctx.on.update_status(), out)
    urls = {
        r.id: json.loads(out.get_relation(r.id).local_app_data["ingress"])["url"]
        for r in (web, blog)
    }
    answer = evaluate(cluster, urls[web.id] + "/cart")
    assert answer.status == "routed"
    [backend] = answer.backends
    assert (backend.namespace, backend.name, backend.port) == ("shop", "web", 8080)
    assert answer.path == "/cart"  # strip-prefix
    answer = evaluate(cluster, urls[blog.id] + "/post")
    [backend] = answer.backends
    assert (backend.namespace, backend.name, answer.path) == ("blog", "blog", "/blog-blog/post")
    # nothing else is served
    assert evaluate(cluster, "http://203.0.113.7/shop-vault").status == "not-found"
    assert evaluate(cluster, "http://203.0.113.7/").status == "not-found"
    # the gateway-route requirer's own route on its listener is served; another's is not
    cluster.add(own_route("blog", "blog.example.com", "blog"))
    answer = evaluate(cluster, "http://blog.example.com/anything")
    assert [(b.namespace, b.name) for b in answer.backends] == [("blog", "blog")]
    cluster.delete(GW_API, "HTTPRoute", "blog-http", "blog")
    cluster.add(own_route("shop", "blog.example.com", "web"))
    assert evaluate(cluster, "http://blog.example.com/anything").status == "not-found"


def test_with_https_enforced_http_redirects_and_https_carries_hsts(ctx: Any, cluster: Any) -> None:
    web = ingress("web")
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {"gateway-class": "cilium", "external-hostname": "apps.example.com"}
    out = ctx.run(ctx.on.relation_created(certs), state(web, certs, config=config))
    give_address(cluster)
    certified(ctx, out, certs)
    answer = evaluate(cluster, "http://apps.example.com/shop-web")
    assert answer.status == "redirect"
    assert answer.redirect.location == "https://apps.example.com/shop-web"
    answer = evaluate(cluster, "https://apps.example.com/shop-web")
    assert answer.status == "routed"
    assert [(h.name.lower(), h.value) for h in answer.header_changes] == [
        ("strict-transport-security", "max-age=31536000")
    ]
    assert evaluate(cluster, "https://apps.example.com/shop-vault").status == "not-found"
