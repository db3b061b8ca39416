"""meshops.charm.certificates: a tls-certificates provider's databag, checked first.

What the ecosystem's TLS library reads without raising is no problem; everything else is
one line naming the key or field and quoting the value.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)

from meshops.charm.certificates import MAX_DEPTH, check_provider_data


@pytest.fixture(scope="module")
def issued() -> dict[str, object]:
    key = PrivateKey.generate()
    ca = Certificate.generate_self_signed_ca(
        CertificateRequestAttributes(common_name="ca", is_ca=True), key, timedelta(days=3)
    )
    csr = CertificateSigningRequest.generate(
        CertificateRequestAttributes(common_name="shop.example.com"), PrivateKey.generate()
    )
    cert = Certificate.generate(csr, ca, key, timedelta(days=1))
    return {
        "ca": str(ca),
        "certificate_signing_request": str(csr),
        "certificate": str(cert),
        "chain": [str(cert), str(ca)],
    }


def test_what_the_library_reads_is_no_problem(issued: dict[str, object]) -> None:
    assert check_provider_data({}) is None
    assert check_provider_data({"certificates": json.dumps([issued]), "other": "{"}) is None
    errors = [
        {
            "csr": issued["certificate_signing_request"],
            "error": {"code": 1, "name": "n", "message": "m"},
        }
    ]
    assert check_provider_data({"request_errors": json.dumps(errors)}) is None


@pytest.mark.parametrize(
    ("databag", "problem"),
    [
        ({"certificates": "{"}, "certificates: not valid JSON (Expecting property name"),
        ({"capabilities": '"x"'}, "capabilities: Input should be an object"),
        (
            {"certificates": "[" * 20 + "]" * 20},
            f"certificates: nested 20 levels deep, more than {MAX_DEPTH}",
        ),
        ({"certificates": '[{"ca": 1}]'}, "certificates[0].ca: Input should be a valid string"),
        ({"request_errors": '[{"csr": "nope"}]'}, "request_errors[0].error: Field required"),
    ],
)
def test_bad_data_names_the_field(databag: dict[str, str], problem: str) -> None:
    found = check_provider_data(databag)
    assert found is not None and found.startswith(problem)


def test_a_pem_that_does_not_load_is_quoted(issued: dict[str, object]) -> None:
    bad = {**issued, "chain": [issued["certificate"], "-----BEGIN CERTIFICATE-----\nnot one"]}
    assert check_provider_data({"certificates": json.dumps([bad])}) == (
        "certificates[0].chain[1]: not a certificate the library can read (Could not load "
        "certificate): '-----BEGIN CERTIFICATE-----\\nnot one'"
    )
