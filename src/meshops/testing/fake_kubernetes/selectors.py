"""Label and field selectors, parsed and matched like the API server does.

Label selector syntax (comma-separated requirements, all must hold)::

    key=value   key==value   key!=value   key in (a,b)   key notin (a,b)
    key         !key         key>5        key<5

``!=`` and ``notin`` also match objects without the label; ``k in ()`` is
``k in ("")`` and an empty value after ``=`` is the empty value, as in apimachinery.
Field selectors support ``metadata.name`` and ``metadata.namespace`` with ``=``, ``==``
and ``!=``.

Example:
    >>> selector = parse_label_selector("app in (web,api),tier!=db")
    >>> selector.matches({"app": "web"})
    True
"""

from __future__ import annotations

import dataclasses
import re
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

_GO_INT = re.compile(r"[+-]?[0-9]+")


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``: None where Go refuses it."""
    if not _GO_INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


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
                have = _go_int(labels[self.key])
                bound = _go_int(next(iter(self.values)))
                if have is None or bound is None:
                    return False
                return have > bound if self.operator == ">" else have < bound


@dataclasses.dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: all requirements must match (empty matches everything)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels is selected."""
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)


# The lexer and parser below are a port of k8s.io/apimachinery/pkg/labels (selector.go):
# the same tokens, the same lookahead rules and the same error texts, so that what a real
# API server accepts (``app in ()`` is ``app in ("")``) and refuses reads alike here.
_SYMBOLS = {
    ")": "CLOSE",
    ",": "COMMA",
    "!": "NOT",
    "==": "DEQ",
    "=": "EQ",
    ">": "GT",
    "in": "IN",
    "<": "LT",
    "!=": "NEQ",
    "notin": "NOTIN",
    "(": "OPEN",
}
_SYMBOL_CHARS = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


def _tokens(text: str) -> list[tuple[str, str]]:
    """The (token, literal) pairs of a selector, ending with ``("END", "")``."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            out.append(("END", ""))
            return out
        if text[i] in _SYMBOL_CHARS:
            buffer, last = "", ("", "")
            while i < n and text[i] in _SYMBOL_CHARS:
                buffer += text[i]
                if buffer in _SYMBOLS:
                    last = (_SYMBOLS[buffer], buffer)
                    i += 1
                elif last[0]:
                    break
                else:
                    i += 1
            if not last[0]:
                out.append(("ERROR", f"error expected: keyword found '{buffer}'"))
            else:
                out.append(last)
            continue
        j = i
        while j < n and text[j] not in _SYMBOL_CHARS and text[j] not in _WHITESPACE:
            j += 1
        word = text[i:j]
        out.append((_SYMBOLS.get(word, "ID") if word in ("in", "notin") else "ID", word))
        i = j


class _ParseError(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _tokens(text)
        self.pos = 0

    def lookahead(self, values: bool) -> tuple[str, str]:
        token, literal = self.items[self.pos]
        if values and token in ("IN", "NOTIN"):
            token = "ID"
        return token, literal

    def consume(self, values: bool) -> tuple[str, str]:
        found = self.lookahead(values)
        self.pos += 1
        return found

    def parse(self) -> LabelSelector:
        requirements: list[Requirement] = []
        while True:
            token, literal = self.lookahead(True)
            if token in ("ID", "NOT"):
                try:
                    requirements.append(self.requirement())
                except _ParseError as e:
                    raise SelectorError(f"unable to parse requirement: {e}") from None
                token, literal = self.consume(True)
                if token == "END":
                    return LabelSelector(tuple(requirements))
                if token != "COMMA":
                    raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
                token, literal = self.lookahead(True)
                if token not in ("ID", "NOT"):
                    raise SelectorError(f"found '{literal}', expected: identifier after ','")
            elif token == "END":
                return LabelSelector(tuple(requirements))
            else:
                raise SelectorError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )

    def requirement(self) -> Requirement:
        operator = ""
        token, literal = self.consume(True)
        if token == "NOT":
            operator = "!"
            token, literal = self.consume(True)
        if token != "ID":
            raise _ParseError(f"found '{literal}', expected: identifier")
        key = literal
        errors = qualified_name_errors(key)
        if errors:
            raise _ParseError(f'<nil>: Invalid value: "{key}": {"; ".join(errors)}')
        if self.lookahead(True)[0] in ("END", "COMMA"):
            operator = operator or "exists"
        if operator in ("exists", "!"):
            return _requirement(key, operator, [])
        token, literal = self.consume(False)
        binary = {"IN": "in", "EQ": "=", "DEQ": "=", "GT": ">", "LT": "<", "NOTIN": "notin"}
        if token == "NEQ":
            operator = "!="
        elif token in binary:
            operator = binary[token]
        else:
            raise _ParseError(f"found '{literal}', expected: in, notin, =, ==, !=, gt, lt")
        values = self.values() if operator in ("in", "notin") else self.exact_value()
        return _requirement(key, operator, sorted(values))  # type: ignore[arg-type]

    def values(self) -> set[str]:
        token, literal = self.consume(True)
        if token != "OPEN":
            raise _ParseError(f"found '{literal}' expected: '('")
        token, literal = self.lookahead(True)
        if token in ("ID", "COMMA"):
            values = self.identifiers()
            if self.consume(True)[0] != "CLOSE":
                raise _ParseError(f"found '{literal}', expected: ')'")
            return values
        if token == "CLOSE":
            self.consume(True)
            return {""}
        raise _ParseError(f"found '{literal}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            token, literal = self.consume(True)
            if token == "ID":
                values.add(literal)
                after, text = self.lookahead(True)
                if after == "COMMA":
                    continue
                if after == "CLOSE":
                    return values
                raise _ParseError(f"found '{text}', expected: ',' or ')'")
            if token == "COMMA":
                if not values:
                    values.add("")
                after, _ = self.lookahead(True)
                if after == "CLOSE":
                    values.add("")
                    return values
                if after == "COMMA":
                    values.add("")
            else:
                raise _ParseError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        token, _ = self.lookahead(True)
        if token in ("END", "COMMA"):
            return {""}
        token, literal = self.consume(True)
        if token == "ID":
            return {literal}
        raise _ParseError(f"found '{literal}', expected: identifier")


def _requirement(key: str, operator: Operator, values: list[str]) -> Requirement:
    """``labels.NewRequirement``: the checks of the values, worded as apimachinery does."""
    errors: list[str] = []
    if operator in (">", "<"):
        for i, value in enumerate(values):
            if _go_int(value) is None:
                errors.append(
                    f"values[{i}]: Invalid value: \"{value}\": for 'Gt', 'Lt' operators, "
                    "the value must be an integer"
                )
    for i, value in enumerate(values):
        problems = label_value_errors(value)
        if problems:
            errors.append(f'values[{i}][{key}]: Invalid value: "{value}": {"; ".join(problems)}')
    if errors:
        raise _ParseError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return Requirement(key, operator, frozenset(values))


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
            raise SelectorError(
                f'"{field}" is not a known field selector: only "metadata.name", '
                '"metadata.namespace"'
            )
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
