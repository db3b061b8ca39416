"""How Juju marks what it creates in Kubernetes: a model's namespace, an application's Services.

These are Juju's own keys, from its Kubernetes provider (github.com/juju/juju,
``caas/kubernetes/provider/constants/constants.go`` and ``.../utils/labels.go``):

- a model's namespace is named after the model and labelled
  ``model.juju.is/name=<model>`` (``LabelJujuModelName``, since label version 1) and,
  since label version 2, ``model.juju.is/id=<model UUID>`` (``LabelJujuModelUUID``,
  "to disambiguate cluster scoped resources"); Juju also annotates every model
  namespace it creates ``model.juju.is/id=<model UUID>``
  (``AnnotationModelUUIDKey``), which is the only mark of the UUID on a namespace
  labelled before version 2 (models created by older Juju keep their label version);
- an application's Services and pods carry ``app.kubernetes.io/name=<application>``
  (``LabelKubernetesAppName``) and ``app.kubernetes.io/managed-by=juju``.

The namespace is how a charm finds where a related application of another model lives:
ops gives the remote model's UUID (``ops.Relation.remote_model.uuid``, Juju 3.6.2 and
later), and the namespace carrying that UUID is the model's.
"""

from __future__ import annotations

from meshops.model.mesh import APP_NAME_LABEL

__all__ = ["APP_NAME_LABEL", "MANAGED_BY_LABEL", "MODEL_NAME_LABEL", "MODEL_UUID_KEY"]

#: Label on a model's namespace: the model's name.
MODEL_NAME_LABEL = "model.juju.is/name"
#: Label (since Juju's label version 2) and annotation on a model's namespace: its UUID.
MODEL_UUID_KEY = "model.juju.is/id"
#: Label on what Juju manages for an application: ``juju``.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
