"""Tests for meshops.cli.output: libyaml's emitter writes the same bytes as PyYAML's.

``objects_yaml`` uses libyaml for speed where it writes what PyYAML writes; the output
must not depend on which emitter wrote it, for any values objects can hold (strings of
any characters and length, numbers, booleans, nulls, nested mappings and lists, values
used twice; keys are never empty, as in Kubernetes objects).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshops import platform_file
from meshops.cli.output import objects_yaml
from meshops.cli.render import file_objects

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"

#: Keys as Kubernetes objects have them: never empty (the emitters write an empty key
#: differently: ``'': x`` and ``? ''``).
KEYS = st.text(min_size=1, max_size=20)
#: Text of printable ASCII (libyaml writes it) or any characters (PyYAML does).
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.text(max_size=300),
    ASCII,
    ASCII,
    st.sampled_from(["", "off", "yes", "null", "~", "*", "- x", "a: b", "#c", "0o17", "1e3"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


def test_the_example_is_written_the_same_by_both_emitters() -> None:
    objects, _ = file_objects(platform_file.read_file(EXAMPLE))
    assert objects_yaml(objects) == objects_yaml(objects, pure=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(KEYS, values, max_size=5), max_size=3))
def test_any_objects_are_written_the_same_by_both_emitters(objects: list[dict[str, Any]]) -> None:
    text = objects_yaml(objects)
    assert text == objects_yaml(objects, pure=True)
    assert list(yaml.safe_load_all(text)) == objects


def test_a_value_used_twice_is_written_out_twice() -> None:
    shared = {"a": [1, 2]}
    text = objects_yaml([{"x": shared, "y": shared}])
    assert "&" not in text and "*" not in text
    assert text == objects_yaml([{"x": shared, "y": shared}], pure=True)
