"""istio-ingress-k8s when the tls-certificates provider writes bad data.

A PEM that does not load, a certificate whose extensions do not parse, an empty CSR,
JSON nested too deeply, a value too large: on every event the charm observes no hook
raises, the status names the provider and the field, a gateway that never had a
certificate serves HTTP, and one that had one keeps serving HTTPS with it; when the
provider sends good data again, it is used.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from ops import testing

from meshops.testing.juju import model_uuid

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
HOST = "shop.example.com"
CONFIG = {"external-hostname": HOST}


def web() -> testing.Relation:
    return testing.Relation(
        "ingress",
        id=11,
        remote_app_name="web",
        remote_app_data={"name": '"web"', "model": '"shop"', "port": "8080"},
        remote_units_data={0: {"host": '"web-0.web-endpoints.shop.svc.cluster.local"'}},
        remote_model_uuid=model_uuid("shop"),
    )


def state(*relations: testing.RelationBase, **kw: Any) -> testing.State:
    return testing.State(
        leader=True,
        relations=list(relations),
        model=testing.Model(name=MODEL, uuid=model_uuid(MODEL)),
        config=CONFIG,
        **kw,
    )


def issued(csr_pem: str, certificate: str | None = None) -> dict[str, Any]:
    ca_key = PrivateKey.generate()
    ca = Certificate.generate_self_signed_ca(
        CertificateRequestAttributes(common_name="test-ca", is_ca=True), ca_key, timedelta(days=30)
    )
    csr = CertificateSigningRequest.from_string(csr_pem)
    cert = certificate or str(Certificate.generate(csr, ca, ca_key, timedelta(days=10)))
    return {
        "ca": str(ca),
        "certificate_signing_request": csr_pem,
        "certificate": cert,
        "chain": [cert, str(ca)],
    }


def broken_extension() -> str:
    """A certificate that loads, whose BasicConstraints do not parse."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(timezone.utc)
    bad = x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, b"\x05\x00")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(bad, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def requested(ctx: Any) -> tuple[testing.State, testing.Relation, str]:
    """The charm related to a CA named ca, its certificate requested: the state, the CSR."""
    certs = testing.Relation("certificates", id=12, remote_app_name="ca")
    out = ctx.run(ctx.on.relation_created(certs), state(web(), certs))
    local = out.get_relation(certs.id).local_app_data
    [request] = json.loads(local["certificate_signing_requests"])
    certs = dataclasses.replace(certs, local_app_data=local)
    return out, certs, request["certificate_signing_request"]


def provider_writes(
    out: testing.State, certs: testing.Relation, data: dict[str, str]
) -> tuple[testing.State, testing.Relation]:
    certs = dataclasses.replace(certs, remote_app_data=data)
    others = [r for r in out.relations if r.id != certs.id]
    return dataclasses.replace(out, relations=[*others, certs]), certs


BAD: dict[str, Any] = {
    "a PEM that does not load": lambda csr: {
        "certificates": json.dumps([issued(csr, certificate="-----BEGIN CERTIFICATE-----\nxx")])
    },
    "extensions that do not parse": lambda csr: {
        "certificates": json.dumps([issued(csr, certificate=broken_extension())])
    },
    "an empty CSR in a request error": lambda _: {
        "request_errors": json.dumps(
            [{"csr": "", "error": {"code": 1, "name": "x", "message": "no"}}]
        )
    },
    "deeply nested JSON": lambda _: {"certificates": "[" * 100_000 + "]" * 100_000},
    "a value too large": lambda _: {"capabilities": json.dumps({"x": "a" * (1 << 20)})},
}
SAID = {
    "a PEM that does not load": "certificates[0].certificate: not a certificate",
    "extensions that do not parse": "certificates[0].certificate: not a certificate",
    "an empty CSR in a request error": "request_errors[0].csr: not a certificate signing",
    "deeply nested JSON": "certificates: nested too deeply to parse",
    "a value too large": "capabilities: holds 1048585 characters, over the limit of 1048576",
}
EVENTS = ["update_status", "config_changed", "leader_elected", "upgrade_charm", "certs_changed"]


def run(ctx: Any, event: str, out: testing.State, certs: testing.Relation) -> testing.State:
    hook = ctx.on.relation_changed(certs) if event == "certs_changed" else getattr(ctx.on, event)()
    result: testing.State = ctx.run(hook, out)
    return result


@pytest.mark.parametrize(
    ("what", "event"),
    [*((what, "update_status") for what in BAD), *(("deeply nested JSON", e) for e in EVENTS)],
)
def test_bad_provider_data_before_any_certificate_serves_http_and_names_it(
    ctx: Any, fake: Any, what: str, event: str
) -> None:
    out, certs, csr = requested(ctx)
    out, certs = provider_writes(out, certs, BAD[what](csr))
    out = run(ctx, event, out, certs)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    message = out.unit_status.message
    assert message.startswith(f"certificates: ca sent bad data ({SAID[what]}")
    assert message.endswith("; serving HTTP")
    listeners = fake.get(GW_API, "Gateway", APP, MODEL)["spec"]["listeners"]
    assert [x["name"] for x in listeners] == ["http-80"]


@pytest.mark.parametrize("what", ["a PEM that does not load", "deeply nested JSON"])
def test_bad_provider_data_after_a_certificate_keeps_serving_https_with_it(
    ctx: Any, fake: Any, what: str
) -> None:
    out, certs, csr = requested(ctx)
    good = {"certificates": json.dumps([issued(csr)])}
    out, certs = provider_writes(out, certs, good)
    out = ctx.run(ctx.on.relation_changed(certs), out)
    secret = fake.get("v1", "Secret", f"{APP}-tls", MODEL)
    assert secret is not None
    out, certs = provider_writes(out, certs, BAD[what](csr))
    for event in EVENTS if what == "a PEM that does not load" else ["update_status"]:
        out = run(ctx, event, out, certs)
        assert isinstance(out.unit_status, testing.ActiveStatus)
        assert f"certificates: ca sent bad data ({SAID[what]}" in out.unit_status.message
        assert "; kept the last good certificate; 1 routes served" in out.unit_status.message
        assert fake.get("v1", "Secret", f"{APP}-tls", MODEL)["data"] == secret["data"]
        names = [x["name"] for x in fake.get(GW_API, "Gateway", APP, MODEL)["spec"]["listeners"]]
        assert names == ["http-80", "https-443"]
        assert json.loads(out.get_relation(11).local_app_data["ingress"]) == {
            "url": f"https://{HOST}/shop-web"
        }
    # good data again: it is used, and the note goes
    out, certs = provider_writes(out, certs, {"certificates": json.dumps([issued(csr)])})
    out = ctx.run(ctx.on.relation_changed(certs), out)
    assert out.unit_status == testing.ActiveStatus("1 routes served for 1 requirers")
    assert fake.get("v1", "Secret", f"{APP}-tls", MODEL)["data"] != secret["data"]


@pytest.mark.parametrize("host", ["café.example.com", "-bad-.example.com"])
def test_no_certificate_is_requested_for_a_name_no_ca_signs(
    ctx: Any, fake: Any, host: str
) -> None:
    certs = testing.Relation("certificates", id=12, remote_app_name="ca")
    config = {"external-hostname": host}
    out = ctx.run(ctx.on.relation_created(certs), dataclasses.replace(state(certs), config=config))
    assert "certificate_signing_requests" not in out.get_relation(12).local_app_data
    assert out.unit_status == testing.BlockedStatus(
        f"config: external-hostname: {host!r} must be a lowercase RFC 1123 hostname with an "
        "optional leading '*.'"
    )
