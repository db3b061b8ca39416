"""How commands print: objects as multi-document YAML, answers as text or JSON.

Both are byte-for-byte stable: the same input always prints the same bytes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import yaml

__all__ = ["add_output_option", "objects_yaml", "write_json"]


def add_output_option(parser: argparse.ArgumentParser) -> None:
    """Give a command ``--output text|json`` (default text), stored as ``args.output``."""
    parser.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text for people (default), or json for programs",
    )


def write_json(data: Any, out: TextIO) -> None:
    """Write ``data`` as indented JSON and a newline, keys in the order built."""
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


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
