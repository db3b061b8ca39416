"""Label and field selectors, parsed and matched like the API server does.

Label selector syntax (comma-separated requirements, all must hold)::

    key=value   key==value   key!=value   key in (a,b)   key notin (a,b)
    key         !key         key>5        key<5

``!=`` and ``notin`` also match objects without the label. Field selectors support
``metadata.name`` and ``metadata.namespace`` with ``=``, ``==`` and ``!=``.

Example:
    >>> selector = parse_label_selector("app in (web,api),tier!=db")
    >>> selector.matches({"app": "web"})
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from meshops.testing.fake_kubernetes.meta import label_value_errors, qualified_name_errors
from meshops.testing.fake_kubernetes.values import as_dict

__all__ = [
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "parse_field_selector",
    "parse_label_selector",
]

Operator = Literal["=", "!=", "in", "notin", "exists", "!", ">", "<"]

_SPECIAL = frozenset(" \t\r\n(),!=<>")


class SelectorError(ValueError):
    """A selector string that does not parse or names an invalid key or value."""


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One requirement of a label selector.

    Attributes:
        key: the label key.
        operator: ``=`` (also for ``==``), ``!=``, ``in``, ``notin``, ``exists``, ``!``
            (does not exist), ``>`` or ``<``.
        values: the values compared with (one for ``=``/``!=``/``>``/``<``).
    """

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with these labels satisfies the requirement."""
        match self.operator:
            case "=" | "in":
                return self.key in labels and labels[self.key] in self.values
            case "!=" | "notin":
                return self.key not in labels or labels[self.key] not in self.values
            case "exists":
                return self.key in labels
            case "!":
                return self.key not in labels
            case ">" | "<":
                if self.key not in labels:
                    return False
                try:
                    have = int(labels[self.key])
                except ValueError:
                    return False
                (bound,) = self.values
                return have > int(bound) if self.operator == ">" else have < int(bound)


@dataclasses.dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: all requirements must match (empty matches everything)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels is selected."""
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)


def _tokens(text: str) -> list[str]:
    """Split a selector into tokens: identifiers and the operator/punctuation symbols."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in "(),<>":
            tokens.append(c)
            i += 1
        elif c in "!=":
            if text.startswith(("!=", "=="), i):
                tokens.append(text[i : i + 2])
                i += 2
            else:
                tokens.append(c)
                i += 1
        else:
            j = i
            while j < n and text[j] not in _SPECIAL:
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


def _is_identifier(token: str | None) -> bool:
    return token is not None and token != "" and token[0] not in _SPECIAL


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, found: str | None, expected: str) -> SelectorError:
        return SelectorError(
            f"unable to parse requirement: found '{found or ''}', expected: {expected}"
        )

    def parse(self) -> LabelSelector:
        requirements: list[Requirement] = []
        while True:
            token = self.peek()
            if token is None:
                return LabelSelector(tuple(requirements))
            if token != "!" and not _is_identifier(token):
                raise self.fail(token, "!, identifier, or 'end of string'")
            requirements.append(self.requirement())
            token = self.take()
            if token is None:
                return LabelSelector(tuple(requirements))
            if token != ",":
                raise self.fail(token, "',' or 'end of string'")
            if self.peek() is None:
                raise self.fail(None, "identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.peek() == "!"
        if negated:
            self.take()
        key = self.take()
        if not _is_identifier(key):
            raise self.fail(key, "identifier")
        assert key is not None
        _check_key(key)
        if self.peek() in (None, ","):
            return Requirement(key, "!" if negated else "exists")
        if negated:
            raise self.fail(self.peek(), "',' or 'end of string'")
        op = self.take()
        if op in ("=", "==", "!="):
            value = "" if self.peek() in (None, ",") else self.take()
            if value and not _is_identifier(value):
                raise self.fail(value, "identifier")
            assert value is not None
            _check_value(value)
            return Requirement(key, "!=" if op == "!=" else "=", frozenset({value}))
        if op in ("in", "notin"):
            values = self.values()
            if not values:
                raise SelectorError(
                    "unable to parse requirement: for 'in', 'notin' operators, values set can't "
                    f"be empty (key {key!r})"
                )
            return Requirement(key, "in" if op == "in" else "notin", frozenset(values))
        if op in (">", "<"):
            value = self.take()
            if not _is_identifier(value):
                raise self.fail(value, "identifier")
            assert value is not None
            try:
                int(value)
            except ValueError:
                raise SelectorError(
                    "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
                    f"integer, not {value!r}"
                ) from None
            return Requirement(key, ">" if op == ">" else "<", frozenset({value}))
        raise self.fail(op, "'=', '!=', '==', 'in', notin'")

    def values(self) -> set[str]:
        token = self.take()
        if token != "(":
            raise self.fail(token, "'('")
        values: set[str] = set()
        if self.peek() == ")":
            self.take()
            return values
        while True:
            token = self.peek()
            if token in (",", ")"):
                value = ""
            elif _is_identifier(token):
                value = self.take()
                assert value is not None
            else:
                raise self.fail(token, "',', ')' or identifier")
            _check_value(value)
            values.add(value)
            token = self.take()
            if token == ")":
                return values
            if token != ",":
                raise self.fail(token, "',' or ')'")


def _check_key(key: str) -> None:
    errors = qualified_name_errors(key)
    if errors:
        raise SelectorError(
            f'unable to parse requirement: key: Invalid value: "{key}": {"; ".join(errors)}'
        )


def _check_value(value: str) -> None:
    errors = label_value_errors(value)
    if errors:
        raise SelectorError(
            f'unable to parse requirement: values[0]: Invalid value: "{value}": '
            + "; ".join(errors)
        )


def parse_label_selector(text: str) -> LabelSelector:
    """Parse a ``labelSelector`` query value.

    Raises:
        SelectorError: the selector is malformed (the server answers 400).
    """
    return _Parser(text).parse()


@dataclasses.dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: ``(field, operator, value)`` terms that must all hold."""

    terms: tuple[tuple[str, Literal["=", "!="], str], ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` satisfies every term."""
        meta = as_dict(obj.get("metadata")) or {}
        for field, op, value in self.terms:
            have = meta.get(field.removeprefix("metadata.")) or ""
            if (have == value) != (op == "="):
                return False
        return True


_SUPPORTED_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


def parse_field_selector(text: str) -> FieldSelector:
    """Parse a ``fieldSelector`` query value (``metadata.name`` and ``metadata.namespace``).

    Raises:
        SelectorError: malformed, or a field other than the two supported ones.
    """
    terms: list[tuple[str, Literal["=", "!="], str]] = []
    for raw in _split_unescaped(text, ","):
        term = raw.strip()
        if not term:
            continue
        for symbol in ("!=", "==", "="):
            left, sep, right = _partition_unescaped(term, symbol)
            if sep:
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field = left.strip()
        if field not in _SUPPORTED_FIELDS:
            raise SelectorError(f"field label not supported: {field}")
        terms.append((field, "!=" if symbol == "!=" else "=", _unescape(right.strip())))
    return FieldSelector(tuple(terms))


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for c in text:
        if escaped:
            current.append("\\" + c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _partition_unescaped(text: str, symbol: str) -> tuple[str, str, str]:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(symbol, i):
            return text[:i], symbol, text[i + len(symbol) :]
        i += 1
    return text, "", ""


def _unescape(text: str) -> str:
    out: list[str] = []
    escaped = False
    for c in text:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        else:
            out.append(c)
    return "".join(out)
