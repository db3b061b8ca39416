"""The sample charm under ops.testing, with nothing of meshops but meshops-interfaces.

It publishes its policy to the mesh provider, its ingress request (health check
included) to the ingress provider, and shows the URL it is given; a test with the
default random model name starts it without error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ops import testing

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from charm import ShopCharm


def test_starts_with_a_random_model_name() -> None:
    ctx = testing.Context(ShopCharm)
    out = ctx.run(ctx.on.start(), testing.State(leader=True))
    assert out.unit_status == testing.ActiveStatus("no ingress URL yet")


def test_publishes_who_may_call_it() -> None:
    mesh = testing.Relation("service-mesh", remote_app_name="beacon")
    api = testing.Relation("api", remote_app_name="frontend")
    ctx = testing.Context(ShopCharm)
    state = testing.State(leader=True, model=testing.Model(name="prod"), relations=[mesh, api])
    out = ctx.run(ctx.on.relation_created(mesh), state)
    policies = json.loads(out.get_relation(mesh.id).local_app_data["policies"])
    assert [(p["source_app_name"], p["target_app_name"]) for p in policies] == [
        ("frontend", "shop-k8s")
    ]
    assert policies[0]["endpoints"] == [
        {"hosts": None, "ports": [8080], "methods": ["GET"], "paths": ["/items"]}
    ]


def test_asks_for_ingress_and_shows_its_url() -> None:
    ingress = testing.Relation("ingress", remote_app_name="istio-ingress")
    ctx = testing.Context(ShopCharm)
    state = testing.State(leader=True, model=testing.Model(name="prod"), relations=[ingress])
    out = ctx.run(ctx.on.relation_joined(ingress), state)
    assert dict(out.get_relation(ingress.id).local_app_data) == {
        "model": '"prod"',
        "name": '"shop-k8s"',
        "port": "8080",
        "healthcheck_params": '{"path": "/healthz"}',
        "strip-prefix": "true",
    }
    url = "http://shop.example.com/prod-shop-k8s"
    answered = testing.Relation(
        "ingress",
        id=ingress.id,
        remote_app_name="istio-ingress",
        remote_app_data={"ingress": json.dumps({"url": url})},
    )
    out = ctx.run(
        ctx.on.relation_changed(answered),
        testing.State(leader=True, model=testing.Model(name="prod"), relations=[answered]),
    )
    assert out.unit_status == testing.ActiveStatus(f"at {url}")
