"""What the gateway-api-integrator tests build: states, requirers, certificates, addresses."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from ops import testing

from meshops.testing.juju import model_uuid

MODEL = "edge"
APP = "gateway-api-integrator"
GW_API = "gateway.networking.k8s.io/v1"
ADDRESS = "203.0.113.7"
#: No certificates, HTTP only: the config most tests start from.
PLAIN = {"gateway-class": "cilium", "enforce-https": False}


def state(*relations: testing.RelationBase, leader: bool = True, **kw: Any) -> testing.State:
    model = testing.Model(name=MODEL, uuid=model_uuid(MODEL))
    kw.setdefault("config", PLAIN)
    return testing.State(leader=leader, relations=list(relations), model=model, **kw)


def ingress(app: str, model: str = "shop", port: int = 8080, **extra: Any) -> testing.Relation:
    """A ``gateway`` (ingress v2) requirer of ``model``, as traefik's library writes it."""
    data = {"name": json.dumps(app), "model": json.dumps(model), "port": json.dumps(port)}
    data.update({k.replace("_", "-"): json.dumps(v) for k, v in extra.items()})
    host = json.dumps(f"{app}-0.{app}-endpoints.{model}.svc.cluster.local")
    return testing.Relation(
        "gateway",
        remote_app_name=app,
        remote_app_data=data,
        remote_units_data={0: {"host": host}},
        remote_model_uuid=model_uuid(model),
    )


def route_requirer(
    app: str, hostname: str | None, *more: str, model: str = "blog", relation_id: int | None = None
) -> testing.Relation:
    """A ``gateway-route`` requirer, its databag as the ecosystem's v1 library saves it."""
    kw: dict[str, Any] = {} if relation_id is None else {"id": relation_id}
    return testing.Relation(
        "gateway-route",
        remote_app_name=app,
        remote_app_data={
            "additional_hostnames": json.dumps(list(more)),
            "hostname": json.dumps(hostname),
        },
        remote_model_uuid=model_uuid(model),
        **kw,
    )


def gateway(cluster: Any) -> dict[str, Any]:
    gw = cluster.get(GW_API, "Gateway", APP, MODEL)
    assert gw is not None
    return gw


def listeners(cluster: Any) -> dict[str, dict[str, Any]]:
    return {x["name"]: x for x in gateway(cluster)["spec"]["listeners"]}


def http_routes(cluster: Any, namespace: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in cluster.list(GW_API, "HTTPRoute", namespace)}


def give_address(cluster: Any, address: str = ADDRESS) -> None:
    """What the Gateway's controller does: write the Gateway's address in its status."""
    gw = gateway(cluster)
    gw["metadata"].pop("managedFields", None)
    gw["status"] = {"addresses": [{"type": "IPAddress", "value": address}]}
    cluster.add(gw)


def served(cluster: Any, *rels: testing.RelationBase, **kw: Any) -> testing.State:
    """The state after a first reconcile and the controller giving the Gateway its address."""
    ctx = testing.Context(_charm(), app_name=APP)
    out = ctx.run(ctx.on.config_changed(), state(*rels, **kw))
    give_address(cluster)
    return out


def _charm() -> Any:
    import gateway_api_integrator_charm  # pyright: ignore[reportMissingImports]  # loaded by conftest

    return gateway_api_integrator_charm.GatewayApiIntegratorCharm


# -- certificates ----------------------------------------------------------------------


_CA_KEY = PrivateKey.generate()
_CA = Certificate.generate_self_signed_ca(
    CertificateRequestAttributes(common_name="test-ca", is_ca=True), _CA_KEY, timedelta(days=30)
)


def sign(csr_pem: str) -> dict[str, Any]:
    """The provider's answer to one request: the certificate, the CA and the chain."""
    csr = CertificateSigningRequest.from_string(csr_pem)
    cert = Certificate.generate(csr, _CA, _CA_KEY, timedelta(days=10))
    return {
        "ca": str(_CA),
        "certificate_signing_request": csr_pem,
        "certificate": str(cert),
        "chain": [str(cert), str(_CA)],
    }


def certified(ctx: Any, out: testing.State, certs: testing.Relation) -> testing.State:
    """Run until the provider has signed every request the charm made; the final state."""
    for _ in range(3):
        mine = out.get_relation(certs.id).local_app_data
        requests = json.loads(mine.get("certificate_signing_requests", "[]"))
        signed = dataclasses.replace(
            out.get_relation(certs.id),
            remote_app_data={
                "certificates": json.dumps(
                    [sign(r["certificate_signing_request"]) for r in requests]
                )
            },
        )
        relations = [r for r in out.relations if r.id != certs.id]
        out = ctx.run(
            ctx.on.relation_changed(signed),
            dataclasses.replace(out, relations=[*relations, signed]),
        )
        if not isinstance(out.unit_status, testing.WaitingStatus) or (
            "TLS" not in out.unit_status.message
        ):
            return out
    return out
