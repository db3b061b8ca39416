"""The ``dns_record`` relation interface (version 0), requirer side: ask for A records.

The databags are byte-compatible with the bind charm's ``dns_record`` v0 library:

* requirer app databag: ``dns_entries``, a JSON list of entries, each with ``domain``,
  ``host_label``, ``ttl``, ``record_class``, ``record_type``, ``record_data`` and
  ``uuid``, in that order, encoded by :func:`json.dumps` with its default separators;
* provider app databag: ``dns_entries``, a JSON list of ``{"uuid", "status",
  "description"}``: what became of each entry (``approved``, ``permission_denied``,
  ``conflict``, ``invalid_data``, ``failure``, ``pending``).

An entry's ``uuid`` is derived from its hostname and address (:func:`a_record`), so the
same records are the same bytes on every reconcile, and a new address is a new entry.

Example::

    dns = DNSRecordRequirer(self)
    dns.publish([a_record("shop.example.com", "203.0.113.7")])
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import uuid
from collections.abc import Iterable, Sequence

import ops

from meshops.interfaces._fields import quote

__all__ = [
    "DEFAULT_RELATION_NAME",
    "DNSRecordRequirer",
    "RecordStatus",
    "RequirerEntry",
    "a_record",
]

log = logging.getLogger(__name__)

DEFAULT_RELATION_NAME = "dns-record"
ENTRIES_KEY = "dns_entries"
#: The namespace of the entries' UUIDs (uuid5 of ``"<hostname> <address>"``).
UUID_NAMESPACE = uuid.UUID("6c3f6c56-1f7e-4f55-9a52-5f1b3c5a2d41")
#: The TTL of the records asked for, in seconds.
TTL = 600
_MAX_VALUE_CHARS = 1 << 20


@dataclasses.dataclass(frozen=True)
class RequirerEntry:
    """One record asked for.

    Attributes:
        domain: the name (the whole hostname, with ``host_label`` ``@``).
        host_label: the label within ``domain`` (``@``: the domain itself).
        record_data: the address.
        uuid: the entry's identity.
        ttl: seconds.
        record_class: ``IN``.
        record_type: ``A`` (IPv4) or ``AAAA`` (IPv6).
    """

    domain: str
    host_label: str
    record_data: str
    uuid: str
    ttl: int = TTL
    record_class: str = "IN"
    record_type: str = "A"

    def wire(self) -> dict[str, object]:
        """The entry as the bind library writes it (its keys in its order)."""
        return {
            "domain": self.domain,
            "host_label": self.host_label,
            "ttl": self.ttl,
            "record_class": self.record_class,
            "record_type": self.record_type,
            "record_data": self.record_data,
            "uuid": self.uuid,
        }


@dataclasses.dataclass(frozen=True)
class RecordStatus:
    """What the provider says of one entry."""

    uuid: str
    status: str
    description: str | None = None


def a_record(hostname: str, address: str) -> RequirerEntry:
    """The record pointing ``hostname`` at ``address`` (A for IPv4, AAAA for IPv6).

    Raises:
        ValueError: ``address`` is not an IP address (a LoadBalancer may give a name).

    Example:
        >>> a_record("shop.example.com", "203.0.113.7").record_type
        'A'
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"address {address!r} is not an IP address: no A record") from None
    return RequirerEntry(
        domain=hostname,
        host_label="@",
        record_data=str(ip),
        uuid=str(uuid.uuid5(UUID_NAMESPACE, f"{hostname} {ip}")),
        record_type="A" if ip.version == 4 else "AAAA",
    )


def entries_databag(entries: Sequence[RequirerEntry]) -> dict[str, str]:
    """The requirer databag holding ``entries``."""
    return {ENTRIES_KEY: json.dumps([e.wire() for e in entries])}


class DNSRecordRequirer(ops.Object):
    """Ask the DNS provider(s) for records, and read what became of them.

    Args:
        charm: the charm.
        relation_name: the ``dns_record`` endpoint (a requirer).
    """

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_RELATION_NAME) -> None:
        super().__init__(charm, relation_name)
        self.relation_name = relation_name

    @property
    def relations(self) -> list[ops.Relation]:
        """The endpoint's relations."""
        return list(self.model.relations[self.relation_name])

    def publish(self, entries: Iterable[RequirerEntry]) -> None:
        """Ask every provider for exactly ``entries`` (leader only; elsewhere a no-op)."""
        if not self.model.unit.is_leader():
            return
        data = entries_databag(sorted(entries, key=lambda e: (e.domain, e.uuid)))
        for relation in self.relations:
            bag = relation.data[self.model.app]
            if bag.get(ENTRIES_KEY) != data[ENTRIES_KEY]:
                bag.update(data)

    def statuses(self) -> dict[str, RecordStatus]:
        """What the providers said of each entry, by uuid; bad data is logged and skipped."""
        found: dict[str, RecordStatus] = {}
        for relation in self.relations:
            try:
                raw = relation.data[relation.app].get(ENTRIES_KEY)
            except ops.ModelError:
                continue
            if not raw or len(raw) > _MAX_VALUE_CHARS:
                continue
            try:
                items: object = json.loads(raw)
            except (ValueError, RecursionError):
                log.warning(
                    "dns-record: %s sent unreadable %s: %s",
                    relation.app.name,
                    ENTRIES_KEY,
                    quote(raw),
                )
                continue
            for item in items if isinstance(items, list) else []:  # pyright: ignore[reportUnknownVariableType]
                if not isinstance(item, dict):
                    continue
                key, status = item.get("uuid"), item.get("status")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
                description = item.get("description")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
                if isinstance(key, str) and isinstance(status, str):
                    text = description if isinstance(description, str) else None
                    found[key] = RecordStatus(key, status, text)
        return found
