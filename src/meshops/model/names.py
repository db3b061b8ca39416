"""Kubernetes names and identities built from user-chosen strings.

Application and model names come from users and related charms; the object names we
derive from them must still be valid and stable. :func:`dns_label` keeps a readable
prefix and appends a short hash of the full input whenever it had to shorten or clean
the name, so two different inputs never collapse into the same name.
"""

from __future__ import annotations

import hashlib
import json
import re

__all__ = [
    "DNS_LABEL_MAX",
    "LABEL_VALUE_MAX",
    "dns_label",
    "label_value",
    "principal",
    "stable_hash",
    "valid_label_value",
]

_NOT_LABEL = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
DNS_LABEL_MAX = 63
#: The longest label value Kubernetes takes.
LABEL_VALUE_MAX = 63


def stable_hash(*parts: str, length: int = 8) -> str:
    """A short hex digest of ``parts`` that is the same on every machine and run.

    Example:
        >>> stable_hash("a", "b")
        '3554d2b8'
    """
    encoded = json.dumps(parts, ensure_ascii=True).encode()  # unambiguous, whatever the parts hold
    digest = hashlib.sha256(encoded).hexdigest()
    return digest[:length]


def dns_label(*parts: str, max_length: int = DNS_LABEL_MAX) -> str:
    """An RFC 1123 label (lowercase alphanumerics and '-') made of ``parts`` joined by '-'.

    When the parts already form a valid label within ``max_length`` they are returned
    joined as they are. Otherwise the result is a cleaned, shortened prefix followed by
    ``-`` and an 8-character hash of the original parts.

    Example:
        >>> dns_label("istio-beacon-k8s", "waypoint")
        'istio-beacon-k8s-waypoint'
        >>> len(dns_label("x" * 100, "waypoint"))
        63
    """
    if not parts or max_length < 10:
        raise ValueError(f"dns_label needs at least one part and max_length >= 10, got {parts!r}")
    joined = "-".join(parts)
    if len(joined) <= max_length and _is_label(joined):
        return joined
    cleaned = _DASHES.sub("-", _NOT_LABEL.sub("-", joined.lower())).strip("-")
    suffix = stable_hash(*parts)
    keep = max_length - len(suffix) - 1
    prefix = cleaned[:keep].rstrip("-")
    return f"{prefix}-{suffix}" if prefix else f"h{suffix}"


def _is_label(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value))


def principal(namespace: str, service_account: str) -> str:
    """The SPIFFE identity Istio gives a workload: ``cluster.local/ns/<ns>/sa/<sa>``.

    Juju gives every application a ServiceAccount named after the application, so for a
    charm the service account is the application name.
    """
    return f"cluster.local/ns/{namespace}/sa/{service_account}"


def label_value(*parts: str) -> str:
    """A valid label value (<= 63 chars of ``[A-Za-z0-9._-]``) naming ``parts``.

    Parts are joined with '.', which neither Juju application nor model names contain,
    so different inputs give different values; anything too long or with other
    characters is shortened and suffixed with a hash of the input.

    Example:
        >>> label_value("istio-beacon-k8s", "my-model")
        'istio-beacon-k8s.my-model'
    """
    joined = ".".join(parts)
    if valid_label_value(joined):
        return joined
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in joined)
    digest = stable_hash(*parts)
    keep = LABEL_VALUE_MAX - len(digest) - 1
    return f"{cleaned[:keep].strip('._-')}.{digest}".lstrip(".")


def valid_label_value(value: str) -> bool:
    """Whether ``value`` is a valid Kubernetes label value, and not empty.

    At most 63 characters of ``[A-Za-z0-9._-]``, starting and ending with a letter or
    digit.

    Example:
        >>> valid_label_value("istio-beacon-k8s.my-model"), valid_label_value("a" * 64)
        (True, False)
    """
    if not value or len(value) > LABEL_VALUE_MAX:
        return False
    ok = all(c.isascii() and (c.isalnum() or c in "._-") for c in value)
    return ok and value[0].isalnum() and value[-1].isalnum()
