"""The ``service_mesh`` and ``cross_model_mesh`` relation interfaces.

A charm joins a service mesh with :class:`ServiceMeshConsumer`: it declares which
related apps may call it (:class:`AppPolicy` for its Service, L7; :class:`UnitPolicy`
for its pods' ports, L4) and the library publishes one :class:`MeshPolicy` per related
app on the ``service_mesh`` relation, and labels the charm's running Pods and Service
so the mesh captures their traffic (no pod restarts; see the class for details).
The mesh charm (istio-beacon-k8s) uses :class:`ServiceMeshProvider` to publish those
labels and to read every consumer's policies; :meth:`ServiceMeshProvider.consumers`
turns what each consumer wrote into validated :class:`meshops.model.MeshPolicy` values,
or :class:`meshops.model.Problem` values naming the relation, app and field, and never
raises whatever a consumer wrote.

Databags are byte-compatible with ``charmlibs-interfaces-service-mesh``: the names,
signatures and defaults are the same, so a charm moves to this library by changing its
import line.

Consumer example::

    import ops

    from meshops.interfaces.service_mesh import (
        AppPolicy, Endpoint, Method, ServiceMeshConsumer, UnitPolicy,
    )

    class MyCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.mesh = ServiceMeshConsumer(
                self,
                policies=[
                    AppPolicy(
                        relation="data",
                        endpoints=[Endpoint(ports=[8080], methods=[Method.get], paths=["/data"])],
                    ),
                    UnitPolicy(relation="metrics", ports=[9090]),
                ],
            )
            framework.observe(self.on.collect_unit_status, self._on_collect_status)

        def _on_collect_status(self, event: ops.CollectStatusEvent):
            if self.mesh.join_error:
                event.add_status(ops.WaitingStatus(self.mesh.join_error))

Provider example::

    from meshops.interfaces.service_mesh import MeshType, ServiceMeshProvider

    class BeaconCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.mesh = ServiceMeshProvider(
                self, labels={"istio.io/dataplane-mode": "ambient"}, mesh_type=MeshType.istio
            )

        def reconcile(self):
            for consumer in self.mesh.consumers():
                for problem in consumer.problems:
                    ...  # report it; the consumer's policies are empty
                ...  # build authorization policies from consumer.policies
"""

from meshops.interfaces.service_mesh._cmr import (
    CrossModelMeshRequirer,
    cmr_data,
    get_data_from_cmr_relation,
)
from meshops.interfaces.service_mesh._consumer import ServiceMeshConsumer, build_mesh_policies
from meshops.interfaces.service_mesh._labels import labels_field_manager
from meshops.interfaces.service_mesh._provider import ConsumerPolicies, ServiceMeshProvider
from meshops.interfaces.service_mesh._read import (
    MAX_DATABAG_BYTES,
    MAX_POLICIES,
    PolicyRead,
    read_policies,
)
from meshops.interfaces.service_mesh._wire import (
    AppPolicy,
    CMRData,
    Endpoint,
    MeshPolicy,
    MeshType,
    Method,
    Policy,
    PolicyTargetType,
    ServiceMeshProviderAppData,
    UnitPolicy,
)

__all__ = [
    "MAX_DATABAG_BYTES",
    "MAX_POLICIES",
    "AppPolicy",
    "CMRData",
    "ConsumerPolicies",
    "CrossModelMeshRequirer",
    "Endpoint",
    "MeshPolicy",
    "MeshType",
    "Method",
    "Policy",
    "PolicyRead",
    "PolicyTargetType",
    "ServiceMeshConsumer",
    "ServiceMeshProvider",
    "ServiceMeshProviderAppData",
    "UnitPolicy",
    "build_mesh_policies",
    "cmr_data",
    "get_data_from_cmr_relation",
    "labels_field_manager",
    "read_policies",
]
