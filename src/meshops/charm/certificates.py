"""What a ``tls-certificates`` provider wrote, checked before the ecosystem's library reads it.

The istio-ingress-k8s charm gets its certificate through
``charmlibs-interfaces-tls-certificates`` (``TLSCertificatesRequiresV4``), which reads
the provider's application databag in its own observers, on most events (update-status
included), and raises on some of what a provider may write: a PEM that does not load
(``TLSCertificatesError``), a CSR that is empty (``ValueError``), JSON nested deeper than
Python's recursion limit (``RecursionError``), a certificate whose extensions do not
parse (``ValueError``, when it reads ``is_ca``). Every such hook would fail, and the
library offers no way to catch it. So the charm asks :func:`provider_problem` first and,
when the provider's data is bad, does not load the library for that event.

This is not a second implementation of the interface: it reads the same keys into the
same shapes, validated the same way (JSON through pydantic), and loads every PEM with
the library's own :class:`~charmlibs.interfaces.tls_certificates.Certificate` and
:class:`~charmlibs.interfaces.tls_certificates.CertificateSigningRequest`, reading the
properties the library reads. Data the library would merely ignore (invalid JSON, a
missing field) is reported too: a provider that sent it is named, rather than waited for.

Example:
    >>> check_provider_data({"certificates": "[" * 100 + "]" * 100})
    'certificates: nested 100 levels deep, more than 16'
    >>> check_provider_data({"certificates": '[{"ca": "x"}]'})
    'certificates[0].certificate_signing_request: Field required'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ops
import pydantic
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateError,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    ProviderCapabilities,
    ProviderCertificate,
    TLSCertificatesRequiresV4,
)

from meshops.interfaces._fields import clip, quote
from meshops.plan.ingress import tls_secret

__all__ = [
    "MAX_DEPTH",
    "MAX_VALUE_CHARS",
    "PROVIDER_KEYS",
    "certificate_for",
    "certificate_request",
    "check_provider_data",
    "issued_secrets",
    "provider_problem",
]

#: The keys of the provider's application databag that the library reads.
PROVIDER_KEYS = ("certificates", "request_errors", "capabilities")
#: The longest value read; a provider's certificates for one requirer take a few kB.
MAX_VALUE_CHARS = 1 << 20
#: The deepest a value may nest (the interface's own data nests 3 levels).
MAX_DEPTH = 16


class _Certificate(pydantic.BaseModel):
    """One issued certificate, as the library's provider data model reads it."""

    model_config = pydantic.ConfigDict(extra="ignore")

    ca: str
    certificate_signing_request: str
    certificate: str
    chain: list[str] | None = None
    revoked: bool | None = None


class _RequestError(pydantic.BaseModel):
    """A request the provider refused, as the library reads it."""

    model_config = pydantic.ConfigDict(extra="ignore")

    csr: str
    error: CertificateError


class _ProviderData(pydantic.BaseModel):
    """The provider's application databag, as the library reads it."""

    model_config = pydantic.ConfigDict(extra="ignore")

    certificates: list[_Certificate] = []
    request_errors: list[_RequestError] = []
    capabilities: ProviderCapabilities | None = None


def provider_problem(relation: ops.Relation | None) -> str | None:
    """What is wrong with the provider's data on ``relation`` (field and value), or None.

    No relation, no remote application, or a databag that cannot be read (as in
    relation-broken) is no problem: there is nothing for the library to choke on.
    """
    if relation is None:
        return None
    try:
        databag = dict(relation.data[relation.app])
    except ops.ModelError:
        return None
    return check_provider_data(databag)


def check_provider_data(databag: Mapping[str, str]) -> str | None:
    """What is wrong with a provider's application databag, or None if the library reads it."""
    values: dict[str, Any] = {}
    for key in PROVIDER_KEYS:
        raw = databag.get(key)
        if raw is None:
            continue
        if len(raw) > MAX_VALUE_CHARS:
            return f"{key}: holds {len(raw)} characters, over the limit of {MAX_VALUE_CHARS}"
        try:
            value = json.loads(raw)
        except RecursionError:
            return f"{key}: nested too deeply to parse: {quote(raw)}"
        except ValueError as e:  # JSONDecodeError, and integers with too many digits
            return f"{key}: not valid JSON ({clip(str(e))}): {quote(raw)}"
        depth = _depth(value)
        if depth > MAX_DEPTH:
            return f"{key}: nested {depth} levels deep, more than {MAX_DEPTH}"
        values[key] = value
    try:
        # as the library validates it: its JSON, re-encoded, through the model
        data = _ProviderData.model_validate_json(json.dumps(values))
    except pydantic.ValidationError as e:
        error = e.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        return f"{where.lstrip('.')}: {error['msg']}"
    for i, issued in enumerate(data.certificates):
        field = f"certificates[{i}]"
        problem = (
            _certificate(f"{field}.certificate", issued.certificate)
            or _certificate(f"{field}.ca", issued.ca)
            or _csr(f"{field}.certificate_signing_request", issued.certificate_signing_request)
        )
        for j, link in enumerate(issued.chain or []):
            problem = problem or _certificate(f"{field}.chain[{j}]", link)
        if problem is not None:
            return problem
    for i, refused in enumerate(data.request_errors):
        problem = _csr(f"request_errors[{i}].csr", refused.csr)
        if problem is not None:
            return problem
    return None


def _certificate(field: str, pem: str) -> str | None:
    try:
        certificate = Certificate.from_string(pem)
        # what the library reads of it later, in observers of its own
        _ = (certificate.is_ca, certificate.expiry_time, certificate.validity_start_time)
        _ = (certificate.common_name, certificate.sans_dns, certificate.sans_ip, str(certificate))
    except Exception as e:  # whatever the library would raise, we say why
        return f"{field}: not a certificate the library can read ({_why(e)}): {quote(pem)}"
    return None


def _csr(field: str, pem: str) -> str | None:
    try:
        csr = CertificateSigningRequest.from_string(pem)
        _ = (csr.common_name, csr.sans_dns, str(csr))
    except Exception as e:  # whatever the library would raise, we say why
        return f"{field}: not a certificate signing request ({_why(e)}): {quote(pem)}"
    return None


def _why(error: Exception) -> str:
    return clip(str(error) or type(error).__name__)


def _depth(value: Any) -> int:
    """How many containers deep ``value`` nests (a scalar: 0; ``[]``: 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth + 1)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return deepest


def certificate_for(
    provided: Iterable[ProviderCertificate], hostname: str
) -> dict[str, str] | str:
    """The certificate, CA and chain (PEM) issued for ``hostname``, or why there is none.

    Example:
        >>> certificate_for([], "shop.example.com")
        "no certificate for 'shop.example.com'; hostnames with one: none yet"
    """
    have: set[str] = set()
    for item in provided:
        cert = item.certificate
        names = [n for n in (cert.common_name, *(cert.sans_dns or ())) if n]
        if hostname in names:
            chain = "\n\n".join(str(c) for c in item.chain)
            return {"certificate": str(cert), "ca": str(item.ca), "chain": chain}
        have.update(names)
    listed = ", ".join(sorted(have)) or "none yet"
    return f"no certificate for {hostname!r}; hostnames with one: {listed}"


def certificate_request(hostname: str) -> CertificateRequestAttributes:
    """The request for ``hostname``'s certificate (no common name past 64 characters)."""
    common_name = hostname if len(hostname) <= 64 else None
    return CertificateRequestAttributes(common_name=common_name, sans_dns=[hostname])


def issued_secrets(
    certificates: TLSCertificatesRequiresV4,
    hostnames: Iterable[str],
    secret_name: Callable[[str], str],
    namespace: str,
) -> dict[str, dict[str, Any]]:
    """A ``kubernetes.io/tls`` Secret per hostname whose certificate has been issued.

    Each holds the chain with the leaf first, and the key: the only place the key goes
    beside the TLS library's own Juju secret.
    """
    secrets: dict[str, dict[str, Any]] = {}
    for hostname in hostnames:
        issued, key = certificates.get_assigned_certificate(certificate_request(hostname))
        if issued is None or key is None:
            continue
        leaf = str(issued.certificate)
        chain = [leaf, *(str(c) for c in issued.chain if str(c) != leaf)]
        pem = "\n".join(chain)
        secrets[hostname] = tls_secret(secret_name(hostname), namespace, pem, str(key))
    return secrets
