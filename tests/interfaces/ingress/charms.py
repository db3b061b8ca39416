"""Test charms, databag fixtures and the schema check shared by the ingress interface tests.

The factories build tiny charms around one side of the relation. The charms record
what the library told them (its events, and on update-status what it reads) in a
``seen`` list on the class, so tests observe the library through the charm's own glue.

``TRAEFIK_*`` constants are the exact databag strings traefik-k8s's
``charms.traefik_k8s.v2.ingress`` writes for the inputs their names give, release by
release; :func:`check_schema` validates databags against the published interface
schemas, decoding JSON-encoded values and checking them against ``contentSchema``
(which ``jsonschema`` does not do by itself).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import ops
from ops import testing

from meshops.interfaces import ingress

MODEL = "prod"
HOST = "shop-0.shop-endpoints.prod.svc.cluster.local"
IP = "10.1.2.3"

REQUIRER_META: dict[str, Any] = {
    "name": "shop",
    "requires": {"ingress": {"interface": "ingress", "limit": 1}},
}
PROVIDER_META: dict[str, Any] = {
    "name": "gateway",
    "provides": {"ingress": {"interface": "ingress"}},
}
PROVIDER_CONFIG: dict[str, Any] = {
    "options": {"base-url": {"type": "string"}, "wipe": {"type": "boolean"}}
}
REQUIRER_CONFIG: dict[str, Any] = {"options": {"port": {"type": "int"}}}

# -- what the traefik library writes ---------------------------------------------------
# Requirer app "shop" in model "prod", port 8080, unit host HOST, ip IP.

#: Current releases (pydantic 2, ``exclude_defaults``): defaults are left out.
TRAEFIK_APP = {"model": '"prod"', "name": '"shop"', "port": "8080"}
#: ... with strip_prefix=True, redirect_https=True, scheme="https".
TRAEFIK_APP_OPTIONS = {
    **TRAEFIK_APP,
    "strip-prefix": "true",
    "redirect-https": "true",
    "scheme": '"https"',
}
#: ... with healthcheck_params={"path": "/health"} (a key this library does not write).
TRAEFIK_APP_HEALTHCHECK = {**TRAEFIK_APP, "healthcheck_params": '{"path": "/health"}'}
TRAEFIK_UNIT = {"host": f'"{HOST}"', "ip": f'"{IP}"'}
#: Releases that wrote every field (pydantic 1, no ``exclude_defaults``).
TRAEFIK_APP_EVERY_FIELD = {
    **TRAEFIK_APP,
    "strip-prefix": "false",
    "redirect-https": "false",
    "scheme": '"http"',
}
#: ... with an option left unset (its default was None): ``null``.
TRAEFIK_APP_NULLS = {**TRAEFIK_APP, "strip-prefix": "null", "redirect-https": "null"}
#: Releases from before ``ip``: the unit writes only its host.
TRAEFIK_UNIT_NO_IP = {"host": f'"{HOST}"'}
#: The first v2 releases wrote strings unencoded (and True options as ``true``).
TRAEFIK_APP_RAW = {"model": "prod", "name": "shop", "port": "8080", "strip-prefix": "true"}
TRAEFIK_UNIT_RAW = {"host": HOST}

#: The provider, publish_url(relation, "http://gw.example.com/prod-shop").
TRAEFIK_PROVIDER = {"ingress": '{"url": "http://gw.example.com/prod-shop"}'}
#: ... publish_url(relation, "http://10.0.0.1"): pydantic 2 adds the root path.
TRAEFIK_PROVIDER_BARE_HOST = {"ingress": '{"url": "http://10.0.0.1/"}'}
#: ... the same, from releases on pydantic 1, which kept the URL as given.
TRAEFIK_PROVIDER_BARE_HOST_PYDANTIC1 = {"ingress": '{"url": "http://10.0.0.1"}'}

#: Keys Juju puts in every unit databag.
JUJU_UNIT_KEYS = {"egress-subnets", "ingress-address", "private-address"}


# -- test charms -----------------------------------------------------------------------


def make_requirer(**kwargs: Any) -> type[ops.CharmBase]:
    """A charm using IngressPerAppRequirer(self, **kwargs).

    Records ``("ready", event.url)`` and ``("revoked", url)`` events, and on update-status
    ``("status", url, is_ready)``. On config-changed with a ``port`` option set it calls
    ``provide_ingress_requirements(port=...)``.
    """

    class Requirer(ops.CharmBase):
        seen: list[tuple[Any, ...]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.ingress = ingress.IngressPerAppRequirer(self, **kwargs)
            framework.observe(self.ingress.on.ready, self._on_ready)
            framework.observe(self.ingress.on.revoked, self._on_revoked)
            framework.observe(self.on.update_status, self._on_update_status)
            framework.observe(self.on.config_changed, self._on_config_changed)

        def _on_ready(self, event: ingress.IngressPerAppReadyEvent) -> None:
            type(self).seen.append(("ready", event.url))

        def _on_revoked(self, _event: ingress.IngressPerAppRevokedEvent) -> None:
            type(self).seen.append(("revoked", self.ingress.url))

        def _on_update_status(self, _event: ops.EventBase) -> None:
            type(self).seen.append(("status", self.ingress.url, self.ingress.is_ready()))

        def _on_config_changed(self, _event: ops.EventBase) -> None:
            port = self.config.get("port")
            if isinstance(port, int):
                self.ingress.provide_ingress_requirements(port=port, host=HOST, ip=IP)

    return Requirer


def make_provider() -> type[ops.CharmBase]:
    """A charm using IngressPerAppProvider.

    Records ``data_provided`` / ``data_removed`` events, and on update-status what
    requests(), is_ready(), proxied_endpoints, and per relation get_data() (or the error
    it raised) and is_ready(relation) say. On config-changed it publishes
    ``<base-url>/<model>-<name>`` to every valid request, or wipes every URL if ``wipe``.
    """

    class Provider(ops.CharmBase):
        seen: list[tuple[Any, ...]] = []

        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.ingress = ingress.IngressPerAppProvider(self)
            framework.observe(self.ingress.on.data_provided, self._on_provided)
            framework.observe(self.ingress.on.data_removed, self._on_removed)
            framework.observe(self.on.update_status, self._on_update_status)
            framework.observe(self.on.config_changed, self._on_config_changed)

        def _on_provided(self, event: ingress.IngressPerAppDataProvidedEvent) -> None:
            type(self).seen.append(
                (
                    "provided",
                    event.relation.id,
                    event.name,
                    event.model,
                    event.hosts,
                    event.strip_prefix,
                    event.redirect_https,
                )
            )

        def _on_removed(self, event: ingress.IngressPerAppDataRemovedEvent) -> None:
            type(self).seen.append(("removed", event.relation.id))

        def _on_update_status(self, _event: ops.EventBase) -> None:
            data: dict[int, Any] = {}
            for relation in self.ingress.relations:
                try:
                    data[relation.id] = self.ingress.get_data(relation)
                except ingress.IngressError as e:
                    data[relation.id] = e
            type(self).seen.append(
                (
                    "status",
                    self.ingress.requests(),
                    self.ingress.is_ready(),
                    self.ingress.proxied_endpoints,
                    data,
                    {r.id: self.ingress.is_ready(r) for r in self.ingress.relations},
                )
            )

        def _on_config_changed(self, _event: ops.EventBase) -> None:
            for request in self.ingress.requests():
                relation = self.model.get_relation("ingress", request.relation_id)
                assert relation is not None
                if self.config.get("wipe"):
                    self.ingress.wipe_ingress_data(relation)
                elif request.ok:
                    base = self.config.get("base-url", "http://gw.example.com")
                    url = f"{base}/{request.model}-{request.name}"
                    self.ingress.publish_url(relation, url)

    return Provider


def requirer_context(charm: type[ops.CharmBase]) -> testing.Context[ops.CharmBase]:
    return testing.Context(charm, meta=REQUIRER_META, config=REQUIRER_CONFIG)


def provider_context(charm: type[ops.CharmBase]) -> testing.Context[ops.CharmBase]:
    return testing.Context(charm, meta=PROVIDER_META, config=PROVIDER_CONFIG)


def state(*relations: testing.RelationBase, leader: bool = True, **kwargs: Any) -> testing.State:
    return testing.State(
        leader=leader, relations=list(relations), model=testing.Model(name=MODEL), **kwargs
    )


def seen(charm: type[ops.CharmBase]) -> list[tuple[Any, ...]]:
    return charm.seen  # type: ignore[attr-defined]


def unit_keys(databag: Mapping[str, str]) -> dict[str, str]:
    """A unit databag without the keys Juju writes."""
    return {k: v for k, v in databag.items() if k not in JUJU_UNIT_KEYS}


# -- the published schemas -------------------------------------------------------------

#: The published interface schemas, as the repository carries them (tests/interfaces/schemas).
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    # jsonschema checks "uri" only with an optional package; an absolute URI is enough here.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


@functools.cache
def schema(side: str) -> dict[str, Any]:
    """The published ingress v2 schema of ``side`` ("requirer" or "provider")."""
    path = SCHEMAS / "ingress-v2" / f"{side}.json"
    return json.loads(path.read_text())


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return root["$defs"][ref.removeprefix("#/$defs/")]
    return node


def check_schema(side: str, databags: Mapping[str, Mapping[str, str]]) -> None:
    """Validate ``{"app": {...}, "unit": {...}}`` against ``side``'s schema, contents too.

    Raises:
        jsonschema.ValidationError: a databag or a decoded value does not match.
        json.JSONDecodeError: a value the schema says is JSON is not.
    """
    root = schema(side)
    plain = {name: dict(bag) for name, bag in databags.items()}
    jsonschema.Draft202012Validator(root, format_checker=_FORMATS).validate(plain)
    for name, bag in plain.items():
        definition = _resolve(root, root["properties"][name])
        for key, prop in definition.get("properties", {}).items():
            if key in bag and prop.get("contentMediaType") == "application/json":
                content = {"$defs": root["$defs"], **prop["contentSchema"]}
                validator = jsonschema.Draft202012Validator(content, format_checker=_FORMATS)
                validator.validate(json.loads(bag[key]))
