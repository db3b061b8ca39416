"""Tests for meshops.platform_file.source: YAML read into plain values with the place of each.

Covers the YAML 1.2 core schema (``off`` and ``yes`` stay strings), positions of keys
and values, merge keys and aliases, and every YAML-level error with its line and column:
syntax errors, duplicate keys, non-string keys, unsupported tags, alias cycles, huge
numbers, nesting and size limits, characters YAML does not allow; and that libyaml's
fast reading composes the same nodes as PyYAML's, falling back to it for what it cannot
read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshops.platform_file.errors import PlatformFileError, SpecError, format_path, quote
from meshops.platform_file.source import (
    MAX_DEPTH,
    MAX_VALUES,
    Position,
    _compose_fast,  # pyright: ignore[reportPrivateUsage]
    _Loader,  # pyright: ignore[reportPrivateUsage]
    parse,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"


def errors_of(text: str) -> list[str]:
    with pytest.raises(PlatformFileError) as raised:
        parse(text, "f.yaml")
    return [str(e) for e in raised.value.errors]


def test_core_schema_scalars() -> None:
    doc = parse(
        "a: off\nb: yes\nc: [1, -2, 0x1f, 0o17, 1.5, .inf, ~, null, true, False, 2001-12-14]\n"
        "d: '8080'\ne:\n",
        "f.yaml",
    )
    assert doc.data == {
        "a": "off",
        "b": "yes",
        "c": [1, -2, 31, 15, 1.5, float("inf"), None, None, True, False, "2001-12-14"],
        "d": "8080",
        "e": None,
    }


def test_positions_of_keys_and_values() -> None:
    doc = parse("spec:\n  apps:\n    - name: cart\n      ports: [80, 81]\n", "f.yaml")
    assert doc.values[()] == Position(1, 1)
    assert doc.keys[("spec", "apps")] == Position(2, 3)
    assert doc.values[("spec", "apps", 0)] == Position(3, 7)
    assert doc.values[("spec", "apps", 0, "name")] == Position(3, 13)
    assert doc.values[("spec", "apps", 0, "ports", 1)] == Position(4, 19)
    # a scalar is pointed at by its value, a collection by its key
    assert doc.position(("spec", "apps", 0, "name")) == Position(3, 13)
    assert doc.position(("spec", "apps", 0, "ports")) == Position(4, 7)
    # a missing key: its nearest ancestor that is in the document
    assert doc.position(("spec", "apps", 0, "namespace")) == Position(3, 7)
    assert doc.position(("spec", "nothing", 3)) == Position(1, 1)
    assert doc.error(("spec", "apps", 0, "name"), "bad") == SpecError(
        "f.yaml", 3, 13, "spec.apps[0].name", "bad"
    )


def test_anchors_aliases_and_merge_keys() -> None:
    doc = parse(
        "base: &base {protocol: http, port: 80}\n"
        "more: &more {x: 1}\n"
        "a: {<<: *base, port: 8080}\n"
        "b: {<<: [*base, *more]}\n"
        "c: [*more, *more]\n",
        "f.yaml",
    )
    assert doc.data == {
        "base": {"protocol": "http", "port": 80},
        "more": {"x": 1},
        "a": {"port": 8080, "protocol": "http"},
        "b": {"protocol": "http", "port": 80, "x": 1},
        "c": [{"x": 1}, {"x": 1}],
    }
    # a merged value is found where it was written
    assert doc.position(("a", "protocol")) == Position(1, 24)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: [1, 2\nb: 3\n",
            "f.yaml:2:2: YAML syntax error: expected ',' or ']', but got ':' "
            "(while parsing a flow sequence at line 1)",
        ),
        ("a: b: c\n", "f.yaml:1:5: YAML syntax error: mapping values are not allowed here"),
        (
            "a:\n\tb: 1\n",
            "f.yaml:2:1: YAML syntax error: found character '\\t' that cannot start any token "
            "(while scanning for the next token)",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2:1: YAML syntax error: but found another document "
            "(expected a single document in the stream at line 1)",
        ),
        ("", "f.yaml: the file holds no YAML document"),
        ("# only a comment\n", "f.yaml: the file holds no YAML document"),
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: a: key 'a' is written twice (first at line 1)"),
        ("1: a\n", "f.yaml:1:1: key '1' must be a string"),
        ("a:\n  ? [x]\n  : y\n", "f.yaml:2:5: a: key a mapping or list must be a string"),
        ("a: !!binary aGk=\n", "f.yaml:1:4: a: tag '!!binary' is not supported"),
        (
            "a: !!python/object:os.system x\n",
            "f.yaml:1:4: a: tag '!!python/object:os.system' is not supported",
        ),
        ("a: !custom {}\n", "f.yaml:1:4: a: tag '!custom' is not supported"),
        ("a: !!int x\n", "f.yaml:1:4: a: 'x' is not a valid int"),
        ("a: &x [*x]\n", "f.yaml:1:4: a[0]: an alias refers to a value that contains it"),
        ("a: &x\n  b: 1\n  <<: *x\n", "f.yaml:1:4: a: '<<' merges a mapping into itself"),
        ("a: {<<: 5}\n", "f.yaml:1:9: a: '<<' must merge a mapping or a list of them"),
        (
            "a: " + "9" * 5000 + "\n",
            "f.yaml:1:4: a: '999999999999999999999999999...999999999999999999999999999' "
            "(5002 characters) is too large a number",
        ),
        ("a: b\x00\n", "f.yaml:1:5: character U+0000 is not allowed in YAML"),
        (
            "a: " + "[" * 2000 + "]" * 2000,
            f"f.yaml: the document nests deeper than {MAX_DEPTH} levels",
        ),
    ],
    ids=[
        "unclosed flow",
        "mapping in a scalar",
        "tab indent",
        "two documents",
        "empty",
        "comment only",
        "duplicate key",
        "integer key",
        "complex key",
        "binary tag",
        "python tag",
        "custom tag",
        "bad explicit int",
        "alias cycle",
        "merge cycle",
        "merge a scalar",
        "huge number",
        "nul character",
        "recursion",
    ],
)
def test_yaml_errors(text: str, expected: str) -> None:
    assert errors_of(text) == [expected]


def test_nesting_limit_and_size_limit() -> None:
    deep = errors_of("a: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n")
    assert len(deep) == 1
    assert deep[0].endswith(f"the document nests deeper than {MAX_DEPTH} levels")
    # a billion laughs: 10 aliases of 10 aliases of ... expands past the limit
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("abcde", "bcdef", strict=True)
    )
    assert errors_of(laughs) == [
        f"f.yaml: the document holds more than {MAX_VALUES} values (aliases expanded)"
    ]


def test_every_error_is_collected() -> None:
    assert errors_of("a: 1\na: 2\nb: !!binary x\n1: c\n") == [
        "f.yaml:2:1: a: key 'a' is written twice (first at line 1)",
        "f.yaml:3:4: b: tag '!!binary' is not supported",
        "f.yaml:4:1: key '1' must be a string",
    ]


def test_format_path_and_quote() -> None:
    assert format_path(()) == ""
    assert format_path(("spec", "apps", 2, "accepts", 0, "ports", 1)) == (
        "spec.apps[2].accepts[0].ports[1]"
    )
    assert quote("café") == "'café'"
    assert len(quote("x" * 1000)) < 100


def test_spec_error_text() -> None:
    assert str(SpecError("f.yaml", 3, 5, "spec.apps", "bad")) == "f.yaml:3:5: spec.apps: bad"
    assert str(SpecError("f.yaml", message="bad")) == "f.yaml: bad"


def _same_nodes(a: yaml.Node, b: yaml.Node) -> bool:
    """Whether two composed nodes hold the same tags, values and marks, recursively."""
    if (type(a), a.tag, a.start_mark.line, a.start_mark.column) != (
        type(b),
        b.tag,
        b.start_mark.line,
        b.start_mark.column,
    ):
        return False
    if isinstance(a.value, list):
        left: list[Any] = a.value
        right: list[Any] = b.value
        if len(left) != len(right):
            return False
        pairs = [
            (x, y) if not isinstance(x, tuple) else pair
            for x, y in zip(left, right, strict=True)
            for pair in ([(x[0], y[0]), (x[1], y[1])] if isinstance(x, tuple) else [(x, y)])
        ]
        return all(_same_nodes(x, y) for x, y in pairs)
    return bool(a.value == b.value)


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE.read_text(),
        "a: &x {b: [1, 2, {c: d}]}\nb: *x\nc: {<<: *x, e: 'f'}\n",
        "- |\n  literal\n  text\n- >\n  folded\n- 'single' \n- \"double\\u00e9\"\n",
        "k: caf\u00e9\nl: [\u00e9, \u00e8]\n",
    ],
    ids=["shop", "aliases and merges", "scalar styles", "non-ASCII"],
)
def test_libyaml_and_pyyaml_compose_the_same_nodes(text: str) -> None:
    fast = _compose_fast(text)
    assert fast is not None
    assert _same_nodes(fast, _Loader(text).get_single_node())


@pytest.mark.parametrize(
    "text",
    ["a: \x07\n", "a: [1,\n", "[" * (MAX_DEPTH * 20) + "]" * (MAX_DEPTH * 20)],
    ids=["non-printable", "syntax error", "very deep"],
)
def test_what_libyaml_cannot_read_is_read_again_by_pyyaml(text: str) -> None:
    assert _compose_fast(text) is None
    with pytest.raises(PlatformFileError):
        parse(text, "f.yaml")


def test_a_document_with_too_many_values_is_refused_by_either_reader() -> None:
    text = "[" + "1, " * (MAX_VALUES + 1) + "]\n"
    assert errors_of(text) == [
        f"f.yaml: the document holds more than {MAX_VALUES} values (aliases expanded)"
    ]
    # PyYAML's composer (for what libyaml cannot read) counts as it composes too
    with pytest.raises(Exception, match="more than"):
        _Loader(text).get_single_node()
