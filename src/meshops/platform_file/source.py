"""Read a YAML document into plain values, remembering where each value was written.

:func:`parse` returns a :class:`Document`: the data (dicts, lists, strings, ints,
floats, bools and None) and the line and column of every key and value, so that an
error about ``spec.apps[2].name`` can point at the line that holds it.

The YAML is read with the YAML 1.2 core schema rather than PyYAML's YAML 1.1 default:
only ``true``/``false`` are booleans (``mesh: off`` is the string ``"off"``, ``no`` is
not false), there are no sexagesimal numbers and no timestamps. On top of plain YAML:

* a key written twice in one mapping is an error (PyYAML keeps the last silently);
* keys must be strings;
* tags other than the core ones (``!!python/...``, ``!!binary``, ``!custom``) are errors;
* anchors, aliases and ``<<`` merge keys work, but a document that expands to more
  than :data:`MAX_VALUES` values or nests deeper than :data:`MAX_DEPTH` is refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, TypeAlias, cast

import yaml
import yaml.composer
import yaml.parser
import yaml.reader
import yaml.resolver
import yaml.scanner

from meshops.platform_file.errors import (
    PathSegment,
    PlatformFileError,
    SpecError,
    format_path,
    quote,
)

try:
    from yaml import _yaml  # pyright: ignore[reportAttributeAccessIssue]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _yaml = None
#: libyaml's parser, when PyYAML was built with it (its wheels are).
_CParser: Any = getattr(_yaml, "CParser", None)
#: Its type for the class below (never instantiated without libyaml).
_ParserBase = cast("type[yaml.parser.Parser]", _CParser or yaml.parser.Parser)

__all__ = ["MAX_DEPTH", "MAX_VALUES", "Document", "Path", "Position", "parse"]

#: A place in a document: the keys and indexes leading to a value.
Path: TypeAlias = tuple[PathSegment, ...]

#: The most values a document may hold once its aliases are expanded.
MAX_VALUES = 100_000
#: The deepest a document may nest.
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _STR = (_TAG + t for t in ("null", "bool", "int", "float", "str"))
_SEQ, _MAP, _MERGE = _TAG + "seq", _TAG + "map", _TAG + "merge"


class _CoreResolver(yaml.resolver.BaseResolver):
    """Implicit types of the YAML 1.2 core schema (plus ``<<`` merge keys)."""


for _implicit_tag, _pattern, _first in (
    (_BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (_INT, r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        _FLOAT,
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
        r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
        "-+0123456789.",
    ),
    (_NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    (_MERGE, r"<<", "<"),
):
    _CoreResolver.add_implicit_resolver(  # pyright: ignore[reportUnknownMemberType]
        _implicit_tag, re.compile(f"^(?:{_pattern})$"), list(_first)
    )


class _TooLargeError(Exception):
    pass


#: Why a document with too many values is refused.
_TOO_LARGE = f"the document holds more than {MAX_VALUES} values (aliases expanded)"


class _CountingComposer(yaml.composer.Composer):
    """PyYAML's composer, giving up as soon as the document holds too many values.

    A file far over :data:`MAX_VALUES` is refused after composing that many values,
    not after composing all of it (a 10 MB file holds about a million).
    """

    _values = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:  # pyright: ignore[reportIncompatibleMethodOverride]
        if parent is None or index is not None:  # a value; mapping keys come with None
            self._values += 1
            if self._values > MAX_VALUES:
                raise _TooLargeError(_TOO_LARGE)
        node: yaml.Node | None = super().compose_node(parent, index)  # pyright: ignore[reportUnknownMemberType, reportArgumentType]
        return node


class _TooDeepError(Exception):
    pass


class _FastLoader(_ParserBase, _CoreResolver):
    """libyaml's scanner, parser and composer: the nodes :class:`_Loader` makes, faster.

    PyYAML's pure-Python scanner and composer are most of the time a large file takes to
    load. libyaml's composer is C, and C recursion on a deeply nested document could
    crash the process rather than raise; but it tells the resolver of every node it
    descends into (:meth:`descend_resolver`, the hook PyYAML's path resolvers use):
    here that hook counts the depth and the values, and gives up past
    :data:`MAX_DEPTH` (the document is then read again by :class:`_Loader`) or
    :data:`MAX_VALUES`. A document libyaml cannot read is read again by
    :class:`_Loader` too, whose messages the errors quote.
    """

    def __init__(self, stream: str) -> None:
        _CParser.__init__(self, stream)
        _CoreResolver.__init__(self)
        self._depth = 0
        self._values = 0

    def descend_resolver(self, current_node: object, current_index: object) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        """Count the node libyaml is about to compose (no path resolvers are used)."""
        self._depth += 1
        if self._depth > MAX_DEPTH + 1:
            raise _TooDeepError
        if current_node is None or current_index is not None:  # a value, not a key
            self._values += 1
            if self._values > MAX_VALUES:
                raise _TooLargeError(_TOO_LARGE)

    def ascend_resolver(self) -> None:
        """Leave the node :meth:`descend_resolver` counted."""
        self._depth -= 1


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _CountingComposer,
    _CoreResolver,
):
    """Parses and composes YAML into nodes (it never constructs Python objects)."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _CountingComposer.__init__(self)
        _CoreResolver.__init__(self)


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """A place in a file: 1-based line and column."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        """The position of a PyYAML mark (which counts from 0)."""
        return cls(mark.line + 1, mark.column + 1)


@dataclasses.dataclass(frozen=True)
class Document:
    """A parsed YAML document and where each of its values was written.

    Attributes:
        file: the file's name, for errors.
        data: the document's content.
        values: where each value starts, by path (the root is ``()``).
        keys: where the key of each mapping entry starts, by the entry's path.
        collections: the paths of the mappings and lists, and of empty values (an
            error about them points at their key).
    """

    file: str
    data: object
    values: Mapping[Path, Position]
    keys: Mapping[Path, Position]
    collections: frozenset[Path]

    def position(self, path: Path, *, key: bool = False) -> Position | None:
        """Where the error about ``path`` should point.

        At the value for a scalar, at the key for a mapping, a list (its value may
        start lines below) or an empty value, and, for a path that is not in the
        document (a missing key), at its nearest ancestor that is. ``key=True`` prefers
        the key.
        """
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.values:
                at_key = key or end < len(path) or prefix in self.collections
                return (self.keys.get(prefix) if at_key else None) or self.values[prefix]
        return None

    def error(self, path: Path, message: str, *, key: bool = False) -> SpecError:
        """A :class:`SpecError` about the value at ``path``."""
        where = self.position(path, key=key)
        line, column = (where.line, where.column) if where else (0, 0)
        return SpecError(self.file, line, column, format_path(path), message)


def parse(text: str, file: str) -> Document:
    """Parse one YAML document.

    Args:
        text: the document.
        file: the file's name, for errors.

    Raises:
        PlatformFileError: the text is not one well-formed YAML document within the limits
            above, or uses something this reader refuses (see the module's docstring).
    """
    loader: _Loader | None = None
    try:
        node = _compose_fast(text)
        if node is None:
            loader = _Loader(text)
            node = loader.get_single_node()
    except _TooLargeError as e:
        raise PlatformFileError([SpecError(file, message=str(e))]) from None
    except yaml.MarkedYAMLError as e:
        raise PlatformFileError([_syntax_error(e, file)]) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        message = f"character {_character(e.character)} is not allowed in YAML"
        raise PlatformFileError([SpecError(file, line, column, "", message)]) from None
    except yaml.YAMLError as e:
        raise PlatformFileError([SpecError(file, message=f"invalid YAML: {e}")]) from None
    except RecursionError:
        message = f"the document nests deeper than {MAX_DEPTH} levels"
        raise PlatformFileError([SpecError(file, message=message)]) from None
    finally:
        if loader is not None:
            loader.dispose()  # pyright: ignore[reportUnknownMemberType]
    if node is None:
        raise PlatformFileError([SpecError(file, message="the file holds no YAML document")])
    builder = _Builder(file)
    data = builder.build(node)
    if builder.errors:
        raise PlatformFileError(builder.errors)
    return Document(file, data, builder.values, builder.keys, frozenset(builder.collections))


def _compose_fast(text: str) -> yaml.Node | None:
    """The document's node read with libyaml, or None (read it with :class:`_Loader`)."""
    if _CParser is None or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    loader = _FastLoader(text)
    try:
        node: yaml.Node | None = _CParser.get_single_node(loader)
    except (yaml.YAMLError, _TooDeepError):
        return None
    finally:
        loader.dispose()  # pyright: ignore[reportUnknownMemberType]
    return node


def _character(character: object) -> str:
    if isinstance(character, int):
        return f"U+{character:04X}"
    return quote(character)


def _tag(tag: str) -> str:
    """A tag as it is written in YAML (``!!binary`` rather than its full URI)."""
    return quote("!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag)


def _syntax_error(e: yaml.MarkedYAMLError, file: str) -> SpecError:
    mark = e.problem_mark or e.context_mark
    problem = e.problem or "invalid YAML"
    if e.context and e.context_mark is not None and e.problem_mark is not None:
        problem += f" ({e.context} at line {e.context_mark.line + 1})"
    elif e.context:
        problem += f" ({e.context})"
    if mark is None:
        return SpecError(file, message=f"YAML syntax error: {problem}")
    where = Position.of(mark)
    return SpecError(file, where.line, where.column, "", f"YAML syntax error: {problem}")


class _Builder:
    """Turns composed YAML nodes into plain values, recording positions and errors."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[Path, Position] = {}
        self.keys: dict[Path, Position] = {}
        self.collections: set[Path] = set()
        self.errors: list[SpecError] = []
        self._count = 0
        self._open: set[int] = set()  # ids of the collections being built (alias cycles)

    def build(self, node: yaml.Node) -> object:
        try:
            return self._value(node, (), 0)
        except _TooLargeError as e:
            self.errors.append(SpecError(self.file, message=str(e)))
            return None

    def _error(self, mark: yaml.Mark, path: Path, message: str) -> None:
        where = Position.of(mark)
        self.errors.append(
            SpecError(self.file, where.line, where.column, format_path(path), message)
        )

    def _value(self, node: yaml.Node, path: Path, depth: int) -> object:
        self._count += 1
        if self._count > MAX_VALUES:
            raise _TooLargeError(_TOO_LARGE)
        self.values.setdefault(path, Position.of(node.start_mark))
        if depth > MAX_DEPTH:
            self._error(
                node.start_mark, path, f"the document nests deeper than {MAX_DEPTH} levels"
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.start_mark.index == node.end_mark.index:  # `key:` with nothing after
                self.collections.add(path)
            return self._scalar(node, path)
        if id(node) in self._open:
            self._error(node.start_mark, path, "an alias refers to a value that contains it")
            return None
        self._open.add(id(node))
        self.collections.add(path)
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path, depth)
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
        finally:
            self._open.discard(id(node))
        self._error(node.start_mark, path, "unexpected YAML node")  # pragma: no cover
        return None  # pragma: no cover

    def _sequence(self, node: yaml.SequenceNode, path: Path, depth: int) -> object:
        if node.tag != _SEQ:
            self._error(node.start_mark, path, f"tag {_tag(node.tag)} is not supported")
            return None
        items: list[yaml.Node] = node.value
        return [self._value(item, (*path, i), depth + 1) for i, item in enumerate(items)]

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> object:
        if node.tag != _MAP:
            self._error(node.start_mark, path, f"tag {_tag(node.tag)} is not supported")
            return None
        result: dict[str, object] = {}
        first: dict[str, Position] = {}
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        merged: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in pairs:
            if key_node.tag == _MERGE:
                merged += self._merged(value_node, path)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in first:
                at = first[key]
                message = f"key {key!r} is written twice (first at line {at.line})"
                self._error(key_node.start_mark, (*path, key), message)
                continue
            first[key] = self.keys[(*path, key)] = Position.of(key_node.start_mark)
            result[key] = self._value(value_node, (*path, key), depth + 1)
        for key, key_node, value_node in merged:
            if key not in result:
                self.keys.setdefault((*path, key), Position.of(key_node.start_mark))
                result[key] = self._value(value_node, (*path, key), depth + 1)
        return result

    def _key(self, node: yaml.Node, path: Path) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            value: str = node.value
            return value
        shown = quote(node.value) if isinstance(node, yaml.ScalarNode) else "a mapping or list"
        self._error(node.start_mark, path, f"key {shown} must be a string")
        return None

    def _merged(
        self, node: yaml.Node, path: Path, seen: frozenset[int] = frozenset()
    ) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The entries a ``<<`` merge key brings in, earlier ones first."""
        sources: list[yaml.Node] = node.value if isinstance(node, yaml.SequenceNode) else [node]
        entries: list[tuple[str, yaml.Node, yaml.Node]] = []
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self._error(source.start_mark, path, "'<<' must merge a mapping or a list of them")
                continue
            if id(source) in seen or len(seen) > MAX_DEPTH:
                self._error(source.start_mark, path, "'<<' merges a mapping into itself")
                continue
            pairs: list[tuple[yaml.Node, yaml.Node]] = source.value
            nested: list[tuple[str, yaml.Node, yaml.Node]] = []
            for key_node, value_node in pairs:
                if key_node.tag == _MERGE:
                    nested += self._merged(value_node, path, seen | {id(source)})
                    continue
                key = self._key(key_node, path)
                if key is not None:
                    entries.append((key, key_node, value_node))
            entries += nested
        return entries

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> object:
        text: str = node.value
        tag: str = node.tag
        if tag == _STR:
            return text
        if tag == _NULL and text in ("", "~", "null", "Null", "NULL"):
            return None
        if tag == _BOOL and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if tag == _INT:
            number = _int(text)
            if number is not None:
                return number
        if tag == _FLOAT:
            number = _float(text)
            if number is not None:
                return number
        if tag == _INT and text.lstrip("+-").isdigit():
            self._error(node.start_mark, path, f"{quote(text)} is too large a number")
        elif tag in (_NULL, _BOOL, _INT, _FLOAT):
            self._error(node.start_mark, path, f"{quote(text)} is not a valid {tag[len(_TAG) :]}")
        else:
            self._error(node.start_mark, path, f"tag {_tag(tag)} is not supported")
        return None


def _int(text: str) -> int | None:
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    try:
        if body.startswith("0o"):
            return sign * int(body[2:], 8)
        if body.startswith("0x"):
            return sign * int(body[2:], 16)
        return sign * int(body, 10)
    except ValueError:  # not a number, or more digits than Python converts
        return None


def _float(text: str) -> float | None:
    lowered = text.lower()
    if lowered.lstrip("+-") == ".inf":
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return None
