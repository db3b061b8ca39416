"""How commands print: objects as multi-document YAML, answers as text or JSON.

Both are byte-for-byte stable: the same input always prints the same bytes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO, cast

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


#: libyaml's emitter when PyYAML has it (its wheels do): 3-4x faster, and the same bytes
#: for printable ASCII (only), see :func:`_plain`.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):
    """A safe dumper that writes a value used twice out twice, never as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _PureDumper(yaml.SafeDumper):
    """:class:`_Dumper` in pure Python (tests compare the two)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def objects_yaml(objects: Iterable[Mapping[str, Any]], *, pure: bool = False) -> str:
    """Objects as YAML documents, each starting with ``---``, in the order given.

    Keys keep the order the objects were built in, so the same objects always give the
    same bytes; the text ends with a newline (it is empty when there are no objects).
    A mapping that appears in several places is written out at each (no ``&id001``
    anchors, which some tools reading manifests do not follow). ``pure`` writes with
    PyYAML's Python emitter instead of libyaml's; libyaml's is used only for objects
    whose keys and strings are non-empty keys and printable ASCII, where both write the
    same bytes (they differ on control characters, some non-ASCII and empty keys).

    Example:
        >>> print(objects_yaml([{"kind": "Namespace", "metadata": {"name": "a"}}]), end="")
        ---
        kind: Namespace
        metadata:
          name: a
    """
    objects = [dict(obj) for obj in objects]
    return yaml.dump_all(
        objects,
        Dumper=_PureDumper if pure or not all(_plain(o) for o in objects) else _Dumper,
        explicit_start=True,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=False,
        width=1 << 16,
    )


def _plain(value: object) -> bool:
    """Whether every string in ``value`` is printable ASCII and every key non-empty."""
    if isinstance(value, str):
        return value.isascii() and value.isprintable()
    if isinstance(value, Mapping):
        items = cast("Mapping[object, object]", value).items()
        return all(k != "" and _plain(k) and _plain(v) for k, v in items)
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in cast("list[object]", value))
    return True
