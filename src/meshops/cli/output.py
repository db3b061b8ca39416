"""How commands print Kubernetes objects: multi-document YAML, byte-for-byte stable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

__all__ = ["objects_yaml"]


class _Dumper(yaml.SafeDumper):
    """A safe dumper that writes a value used twice out twice, never as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def objects_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """Objects as YAML documents, each starting with ``---``, in the order given.

    Keys keep the order the objects were built in, so the same objects always give the
    same bytes; the text ends with a newline (it is empty when there are no objects).
    A mapping that appears in several places is written out at each (no ``&id001``
    anchors, which some tools reading manifests do not follow).

    Example:
        >>> print(objects_yaml([{"kind": "Namespace", "metadata": {"name": "a"}}]), end="")
        ---
        kind: Namespace
        metadata:
          name: a
    """
    return yaml.dump_all(
        [dict(obj) for obj in objects],
        Dumper=_Dumper,
        explicit_start=True,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=False,
        width=1 << 16,
    )
