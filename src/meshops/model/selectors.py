"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``), read one way.

The evaluators of :mod:`meshops.semantics` read selectors from objects that others
wrote (a waypoint's or a Gateway listener's ``allowedRoutes.namespaces.selector``);
both read them with :func:`label_selector`, so both agree on what a selector selects,
and on what is no selector at all: an operator other than Kubernetes' four
(``In``, ``NotIn``, ``Exists``, ``DoesNotExist``), which the API server refuses too, is
a :class:`ValueError` naming the field and quoting the value, never a silent "selects
nothing".

Example:
    >>> s = label_selector({"matchExpressions": [
    ...     {"key": "env", "operator": "NotIn", "values": ["prod"]}]}, "selector")
    >>> s.matches({"env": "dev"}), s.matches({"env": "prod"}), s.matches({})
    (True, False, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

__all__ = ["OPERATORS", "LabelSelector", "Operator", "Requirement", "label_selector"]

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
#: The operators of a ``matchExpressions`` entry, as Kubernetes defines them.
OPERATORS: tuple[Operator, ...] = get_args(Operator)


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry.

    Attributes:
        key: the label.
        operator: ``In`` (its value is one of ``values``), ``NotIn`` (absent, or not one
            of them), ``Exists``, ``DoesNotExist``.
        values: for ``In`` and ``NotIn``.
    """

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ValueError(f"operator {self.operator!r} is not one of {', '.join(OPERATORS)}")

    def holds(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` meet this requirement."""
        value = labels.get(self.key)
        if self.operator == "In":
            return value is not None and value in self.values
        if self.operator == "NotIn":
            return value is None or value not in self.values
        return (value is not None) == (self.operator == "Exists")


@dataclass(frozen=True)
class LabelSelector:
    """A label selector: every ``match_labels`` pair and every requirement, ANDed.

    The empty selector selects everything.
    """

    match_labels: tuple[tuple[str, str], ...] = ()
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether this selector selects an object with ``labels``."""
        if any(labels.get(k) != v for k, v in self.match_labels):
            return False
        return all(r.holds(labels) for r in self.requirements)


def label_selector(value: object, where: str) -> LabelSelector:
    """Read a selector from an object (None: the empty selector).

    Args:
        value: the ``selector`` mapping, as the object holds it.
        where: the field's place, which starts every error's message.

    Raises:
        ValueError: the selector is malformed: not a mapping, a label that is not a
            string, an entry without a key, an unknown operator...
    """
    data = _mapping({} if value is None else value, where)
    match_labels = _mapping(data.get("matchLabels") or {}, f"{where}.matchLabels")
    for key, v in match_labels.items():
        if not isinstance(v, str):
            raise ValueError(f"{where}.matchLabels.{key} must be a string, got {v!r}")
    requirements: list[Requirement] = []
    for i, item in enumerate(_items(data.get("matchExpressions"), f"{where}.matchExpressions")):
        at = f"{where}.matchExpressions[{i}]"
        expression = _mapping(item, at)
        operator = _string(expression.get("operator"), f"{at}.operator")
        if operator not in OPERATORS:
            raise ValueError(f"{at}.operator {operator!r} is not one of {', '.join(OPERATORS)}")
        key = _string(expression.get("key"), f"{at}.key")
        values = _items(expression.get("values"), f"{at}.values")
        for j, v in enumerate(values):
            if not isinstance(v, str):  # "" is a label value too
                raise ValueError(f"{at}.values[{j}] must be a string, got {v!r}")
        strings = frozenset(cast("list[str]", values))
        requirements.append(Requirement(key, operator, strings))
    pairs = tuple(sorted(cast("Mapping[str, str]", match_labels).items()))
    return LabelSelector(pairs, tuple(requirements))


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping, got {value!r}")
    return cast("Mapping[str, object]", value)


def _items(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where} must be a list, got {value!r}")
    return list(cast("Sequence[object]", value))


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a non-empty string, got {value!r}")
    return value
