"""Drop-in: charm code written against the ecosystem's libraries, run with only the import swapped.

Each charm below is source text as its author wrote it for the ecosystem's library
(``charmlibs.interfaces.service_mesh``, traefik's ``charms.traefik_k8s.v2.ingress``);
the test replaces the import line and nothing else, runs the charm under ops.testing,
and compares what it wrote with what the ecosystem's library writes: for service_mesh
by running the original too, for ingress v2 (traefik's library is a charm library, not
a package) with the bytes its encoding gives (``json.dumps`` of each value of
``model_dump(mode="json", by_alias=True, exclude_defaults=True)``). Plain tests with
ops.testing's default random model name construct both charms without error.
"""

from __future__ import annotations

import json
import types
from typing import Any

import ops
import pytest
from ops import testing

ECO_MESH = "charmlibs.interfaces.service_mesh"
OUR_MESH = "meshops.interfaces.service_mesh"
ECO_INGRESS = "charms.traefik_k8s.v2.ingress"
OUR_INGRESS = "meshops.interfaces.ingress"

MESH_CHARM = f"""
import ops
from {ECO_MESH} import AppPolicy, Endpoint, Method, ServiceMeshConsumer, UnitPolicy


class MeshCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.mesh = ServiceMeshConsumer(
            self,
            policies=[
                AppPolicy(
                    relation="data",
                    endpoints=[
                        Endpoint(ports=["9090", 8080.0], methods=[Method.get], paths=["/api"])
                    ],
                ),
                UnitPolicy(relation="metrics", ports=[9100]),
            ],
            auto_join=False,
        )
        framework.observe(self.on.update_status, self._on_update_status)

    def _on_update_status(self, _event):
        self.unit.status = ops.ActiveStatus(
            f"labels={{self.mesh.labels()}} type={{self.mesh.mesh_type()}}"
        )
"""

MESH_META: dict[str, Any] = {
    "name": "target",
    "requires": {
        "service-mesh": {"interface": "service_mesh", "limit": 1},
        "require-cmr-mesh": {"interface": "cross_model_mesh"},
    },
    "provides": {
        "data": {"interface": "data"},
        "metrics": {"interface": "metrics"},
        "provide-cmr-mesh": {"interface": "cross_model_mesh"},
    },
}

# As charms written for traefik's library ask for ingress with a health check.
INGRESS_CHARM = f"""
import ops
from {ECO_INGRESS} import IngressPerAppRequirer

HEALTH_PORT = 80


class IngressCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.unit.open_port("tcp", HEALTH_PORT)
        self.ingress = IngressPerAppRequirer(
            self,
            port=HEALTH_PORT,
            relation_name="require-ingress",
            strip_prefix=True,
            healthcheck_params={{"path": "/health", "port": HEALTH_PORT, "interval": "5s"}},
        )
        framework.observe(self.ingress.on.ready, self._on_ready)

    def _on_ready(self, event):
        self.unit.status = ops.ActiveStatus(f"url {{event.url}}")
"""

INGRESS_META: dict[str, Any] = {
    "name": "web",
    "requires": {"require-ingress": {"interface": "ingress", "limit": 1}},
}


def load(source: str, name: str, swap: tuple[str, str] | None = None) -> types.ModuleType:
    """The charm module from ``source``, with one import replaced when ``swap`` says so."""
    if swap is not None:
        assert source.count(swap[0]) == 1, "the import line is the one thing swapped"
        source = source.replace(swap[0], swap[1])
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def mesh_charm(library: str) -> type[ops.CharmBase]:
    swap = None if library == ECO_MESH else (ECO_MESH, library)
    return load(MESH_CHARM, f"mesh_charm_{library.split('.')[0]}", swap).MeshCharm


def ingress_charm() -> type[ops.CharmBase]:
    return load(INGRESS_CHARM, "ingress_charm", (ECO_INGRESS, OUR_INGRESS)).IngressCharm


def run_mesh(library: str, event: str) -> testing.State:
    mesh = testing.Relation(
        "service-mesh",
        remote_app_name="beacon",
        remote_app_data={
            "labels": json.dumps({"istio.io/dataplane-mode": "ambient"}),
            "mesh_type": json.dumps("istio"),
        },
    )
    state = testing.State(
        leader=True,
        model=testing.Model(name="shop"),
        relations=[
            mesh,
            testing.Relation("data", remote_app_name="grafana"),
            testing.Relation("metrics", remote_app_name="prometheus"),
        ],
    )
    ctx = testing.Context(mesh_charm(library), meta=MESH_META)
    trigger = ctx.on.relation_created(mesh) if event == "created" else ctx.on.update_status()
    return ctx.run(trigger, state)


def test_service_mesh_consumer_writes_the_ecosystems_bytes() -> None:
    theirs = run_mesh(ECO_MESH, "created")
    ours = run_mesh(OUR_MESH, "created")

    def published(out: testing.State) -> dict[str, str]:
        return dict(out.get_relations("service-mesh")[0].local_app_data)

    assert published(ours) == published(theirs)
    policies = json.loads(published(ours)["policies"])
    # "9090" and 8080.0 became the integers the ecosystem's models make of them.
    assert policies[0]["endpoints"][0]["ports"] == [9090, 8080]
    assert [p["source_app_name"] for p in policies] == ["grafana", "prometheus"]


def test_service_mesh_consumer_reads_the_provider_as_the_ecosystem_does() -> None:
    theirs = run_mesh(ECO_MESH, "update-status").unit_status
    ours = run_mesh(OUR_MESH, "update-status").unit_status
    assert ours == theirs
    assert "ambient" in ours.message


@pytest.mark.parametrize("library", [ECO_MESH, OUR_MESH])
def test_a_plain_test_with_a_random_model_name_runs(library: str) -> None:
    ctx = testing.Context(mesh_charm(library), meta=MESH_META)
    ctx.run(ctx.on.start(), testing.State(leader=True))


def test_service_mesh_consumer_labels_through_the_lightkube_client_it_is_given() -> None:
    from meshops.interfaces.service_mesh import ServiceMeshConsumer
    from meshops.k8s.client import make_client
    from meshops.testing import FakeKubernetes

    fake = FakeKubernetes()  # not installed: only the client given reaches it
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    labels = {"app.kubernetes.io/name": "target"}
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "target-0", "namespace": "shop", "labels": labels},
            "spec": {"containers": [{"name": "charm", "image": "charm:1"}]},
        }
    )
    client = make_client(fake.transport, field_manager="target", namespace="shop")

    class Charm(ops.CharmBase):
        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.mesh = ServiceMeshConsumer(
                self,
                lightkube_client=client,
                label_configmap_name_template="juju-service-mesh-{app_name}-labels",
            )

    mesh = testing.Relation(
        "service-mesh",
        remote_app_name="beacon",
        remote_app_data={
            "labels": json.dumps({"istio.io/dataplane-mode": "ambient"}),
            "mesh_type": json.dumps("istio"),
        },
    )
    ctx = testing.Context(Charm, meta=MESH_META)
    state = testing.State(model=testing.Model(name="shop"), relations=[mesh])
    ctx.run(ctx.on.relation_changed(mesh), state)
    pod = fake.get("v1", "Pod", "target-0", "shop")
    assert pod["metadata"]["labels"]["istio.io/dataplane-mode"] == "ambient"
    # Only the labels are written: no ConfigMap of the template's name is made.
    assert [r for r in fake.requests if "configmaps" in str(r)] == []


def test_ingress_requirer_publishes_what_traefiks_library_publishes() -> None:
    ingress = testing.Relation("require-ingress", remote_app_name="traefik")
    ctx = testing.Context(ingress_charm(), meta=INGRESS_META)
    out = ctx.run(
        ctx.on.relation_joined(ingress),
        testing.State(leader=True, model=testing.Model(name="shop"), relations=[ingress]),
    )
    relation = out.get_relation(ingress.id)
    # What traefik's library writes for these arguments (its DatabagModel.dump).
    assert dict(relation.local_app_data) == {
        "model": '"shop"',
        "name": '"web"',
        "port": "80",
        "is_port_open": "true",
        "healthcheck_params": '{"path": "/health", "port": 80, "interval": "5s"}',
        "strip-prefix": "true",
    }
    assert json.loads(relation.local_unit_data["host"])


def test_ingress_requirer_runs_the_ready_handler_unchanged() -> None:
    url = "http://gateway.example/shop-web"
    ingress = testing.Relation(
        "require-ingress",
        remote_app_name="traefik",
        remote_app_data={"ingress": json.dumps({"url": url})},
    )
    ctx = testing.Context(ingress_charm(), meta=INGRESS_META)
    out = ctx.run(
        ctx.on.relation_changed(ingress),
        testing.State(leader=True, model=testing.Model(name="shop"), relations=[ingress]),
    )
    assert out.unit_status == testing.ActiveStatus(f"url {url}")


def test_ingress_requirer_with_a_random_model_name_constructs_and_says_why_at_publish() -> None:
    from meshops.interfaces.ingress import DataValidationError

    ctx = testing.Context(ingress_charm(), meta=INGRESS_META)
    ctx.run(ctx.on.start(), testing.State(leader=True))  # no crash in __init__
    ingress = testing.Relation("require-ingress", remote_app_name="traefik")
    bad_model = testing.Model(name="Not_A_Namespace")
    with pytest.raises(testing.errors.UncaughtCharmError) as caught:
        ctx.run(
            ctx.on.relation_joined(ingress),
            testing.State(leader=True, model=bad_model, relations=[ingress]),
        )
    assert isinstance(caught.value.__cause__, DataValidationError)
    assert "Not_A_Namespace" in str(caught.value.__cause__)
