#!/usr/bin/env python3
"""A sample charm on the mesh and behind an ingress, through meshops-interfaces only."""

from __future__ import annotations

import ops

from meshops.interfaces.ingress import IngressPerAppRequirer
from meshops.interfaces.service_mesh import AppPolicy, Endpoint, Method, ServiceMeshConsumer

PORT = 8080


class ShopCharm(ops.CharmBase):
    """Serves /items on 8080 to the apps related over ``api``, and to the world via ingress."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.mesh = ServiceMeshConsumer(
            self,
            policies=[
                AppPolicy(
                    relation="api",
                    endpoints=[Endpoint(ports=[PORT], methods=[Method.get], paths=["/items"])],
                )
            ],
        )
        self.ingress = IngressPerAppRequirer(
            self, port=PORT, strip_prefix=True, healthcheck_params={"path": "/healthz"}
        )
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        url = self.ingress.url
        event.add_status(ops.ActiveStatus(f"at {url}" if url else "no ingress URL yet"))


if __name__ == "__main__":  # pragma: no cover
    ops.main(ShopCharm)
