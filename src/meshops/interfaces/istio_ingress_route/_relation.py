"""What both sides share about the relation: its databag keys and its remote app."""

from __future__ import annotations

from typing import cast

import ops

CONFIG_KEY = "config"
"""The requirer's app databag key: the configuration, as JSON."""
EXTERNAL_HOST_KEY = "external_host"
"""The provider's app databag key: the gateway's external host."""
TLS_ENABLED_KEY = "tls_enabled"
"""The provider's app databag key: ``"True"`` or ``"False"``."""


def remote_app(relation: ops.Relation) -> ops.Application | None:
    """The relation's remote app; ops types it as always set, but Juju may not know it."""
    return cast("ops.Application | None", relation.app)
