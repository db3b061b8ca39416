"""The ``cross_model_mesh`` interface: telling a peer in another model who we really are.

Across models Juju shows a related application under an alias (``remote-<uuid>``), and
a policy needs the caller's real name and namespace. So the calling side publishes
``cmr_data`` = ``{"app_name": ..., "juju_model_name": ...}`` over a ``cross_model_mesh``
relation, and the called side reads it with :func:`cmr_data`, keyed by the alias.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import cast

import ops

from meshops.interfaces.service_mesh._read import read_cmr_data
from meshops.interfaces.service_mesh._wire import CMRData

log = logging.getLogger(__name__)

CMR_DATA_KEY = "cmr_data"


def remote_app(relation: ops.Relation) -> ops.Application | None:
    """The relation's remote app; ops types it as always set, but Juju may not know it."""
    return cast("ops.Application | None", relation.app)


def cmr_databag(app_name: str, model_name: str) -> str:
    """The ``cmr_data`` value, byte for byte what the ecosystem library writes."""
    return json.dumps(CMRData(app_name=app_name, juju_model_name=model_name).model_dump())


def cmr_data(relations: Iterable[ops.Relation]) -> dict[str, CMRData]:
    """What each cross-model peer said about itself, keyed by its local (alias) app name.

    Tolerant: a peer that has not written yet is left out; a peer whose data is
    malformed is left out with a warning naming the relation, the field and the value.
    """
    result: dict[str, CMRData] = {}
    for relation in relations:
        app = remote_app(relation)
        if app is None:
            continue
        raw = relation.data[app].get(CMR_DATA_KEY)
        data, problem = read_cmr_data(raw, source=f"{relation.name}:{relation.id}", app=app.name)
        if problem is not None:
            log.warning("ignoring cross-model mesh data of %s: %s", app.name, problem)
        elif data is not None:
            result[app.name] = data
    return result


def get_data_from_cmr_relation(cmr_relations: list[ops.Relation]) -> dict[str, CMRData]:
    """The ecosystem library's name for :func:`cmr_data`."""
    return cmr_data(cmr_relations)


class CrossModelMeshRequirer(ops.Object):
    """Publish this app's real name and model to its ``cross_model_mesh`` peers.

    :class:`ServiceMeshConsumer` does this for you when the charm declares the relation;
    use this class alone in a charm that calls across models but has no mesh policies.

    The leader writes ``cmr_data`` when a relation is created, when it becomes leader and
    on upgrade; :meth:`publish` does it on demand.

    Args:
        charm: the charm.
        relation_name: the ``cross_model_mesh`` relation endpoint (a requirer).
    """

    def __init__(self, charm: ops.CharmBase, relation_name: str = "require-cmr-mesh") -> None:
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        self.framework.observe(charm.on[relation_name].relation_created, self._on_change)
        self.framework.observe(charm.on.leader_elected, self._on_change)
        self.framework.observe(charm.on.upgrade_charm, self._on_change)

    def _on_change(self, _event: ops.EventBase) -> None:
        self.publish()

    def publish(self) -> None:
        """Write ``cmr_data`` to every relation of this endpoint (leader only; else no-op)."""
        if not self._charm.unit.is_leader():
            return
        value = cmr_databag(self._charm.app.name, self._charm.model.name)
        for relation in self._charm.model.relations[self._relation_name]:
            bag = relation.data[self._charm.app]
            if bag.get(CMR_DATA_KEY) != value:
                bag[CMR_DATA_KEY] = value
