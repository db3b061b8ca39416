"""istio-metadata, against the ecosystem's own library (charmlibs-interfaces-istio-metadata).

Both ways: what istio-k8s publishes is read by the library's requirer, and is byte for
byte what the library's provider publishes for the same root namespace (which is what
the ecosystem's istio-k8s charm runs). Only the leader writes; any config, even one
that blocks, still tells the root namespace.
"""

from __future__ import annotations

from typing import Any

import ops
from charmlibs.interfaces.istio_metadata import IstioMetadataProvider, IstioMetadataRequirer
from ops import testing

MODEL = "istio"
APP = "istio-k8s"


class _Requirer(ops.CharmBase):
    """A charm reading istio-metadata with the ecosystem's library."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.metadata = IstioMetadataRequirer(self.model.relations, "istio-metadata")
        framework.observe(self.on["istio-metadata"].relation_changed, self._on_changed)

    def _on_changed(self, _: ops.EventBase) -> None:
        data = self.metadata.get_data()
        self.unit.status = ops.ActiveStatus(data.root_namespace if data else "no data")


class _Provider(ops.CharmBase):
    """A charm publishing istio-metadata with the ecosystem's library."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.metadata = IstioMetadataProvider(self, self.model.relations, self.app)
        framework.observe(self.on["istio-metadata"].relation_joined, self._on_joined)

    def _on_joined(self, _: ops.EventBase) -> None:
        self.metadata.publish(root_namespace=MODEL)


def ours(ctx: Any, *, leader: bool = True, config: dict[str, Any] | None = None) -> dict[str, str]:
    relation = testing.Relation("istio-metadata", remote_app_name="beacon")
    state = testing.State(
        leader=leader,
        config=config or {},
        model=testing.Model(name=MODEL),
        relations=[relation, testing.PeerRelation("peers")],
    )
    out = ctx.run(ctx.on.relation_joined(relation), state)
    return dict(out.get_relation(relation.id).local_app_data)


def test_the_ecosystems_requirer_reads_the_root_namespace(ctx: Any, fake: Any) -> None:
    databag = ours(ctx)
    meta = {"name": "beacon", "requires": {"istio-metadata": {"interface": "istio_metadata"}}}
    requirer = testing.Context(_Requirer, meta=meta)
    relation = testing.Relation("istio-metadata", remote_app_name=APP, remote_app_data=databag)
    out = requirer.run(requirer.on.relation_changed(relation), testing.State(relations=[relation]))
    assert out.unit_status == testing.ActiveStatus(MODEL)


def test_the_databag_is_the_ecosystems_providers(ctx: Any, fake: Any) -> None:
    meta = {"name": APP, "provides": {"istio-metadata": {"interface": "istio_metadata"}}}
    provider = testing.Context(_Provider, meta=meta)
    relation = testing.Relation("istio-metadata", remote_app_name="beacon")
    out = provider.run(
        provider.on.relation_joined(relation), testing.State(leader=True, relations=[relation])
    )
    assert (
        ours(ctx)
        == dict(out.get_relation(relation.id).local_app_data)
        == {"root_namespace": MODEL}
    )


def test_a_blocked_charm_still_tells_the_root_namespace(ctx: Any, fake: Any) -> None:
    assert ours(ctx, config={"log-level": "loud"}) == {"root_namespace": MODEL}


def test_only_the_leader_writes(ctx: Any, fake: Any) -> None:
    assert ours(ctx, leader=False) == {}
