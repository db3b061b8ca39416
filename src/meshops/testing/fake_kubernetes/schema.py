"""Structural OpenAPI v3 schemas, compiled once into a tree of :class:`Node`.

A CRD version's ``openAPIV3Schema`` is compiled when the CRD is installed (and cached by
content, so installing the same CRD into many fakes compiles it once). The tree serves
three masters:

* **validation** (:func:`validate`), in one pass that also applies the schema's
  ``default`` values and drops non-nullable nulls, as the API server's structural
  defaulting does; then the ``x-kubernetes-validations`` CEL rules of every visited node
  run on the defaulted object (skipped, as on a real server, when a value has the wrong
  type). Unlike the real server, fields the schema does not declare are *rejected*
  instead of silently pruned, so tests catch the typo;
* **server-side apply**, which reads ``x-kubernetes-list-type``, ``list-map-keys`` and
  ``x-kubernetes-map-type`` from the nodes (:mod:`.apply`);
* error messages worded like the API server's (``spec.x in body should match '^a$'``).

Supported keywords: ``type`` (object, array, string, integer, number, boolean),
``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``,
``x-kubernetes-embedded-resource``, ``properties``, ``additionalProperties`` (schema,
true or false), ``items``, ``required``, ``enum``, ``pattern``, ``minLength``,
``maxLength``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``,
``multipleOf``, ``minItems``, ``maxItems``, ``minProperties``, ``maxProperties``,
``format`` (int32, int64, ipv4, ipv6, byte, date-time; other formats are accepted
unchecked), ``allOf``/``anyOf``/``oneOf``/``not`` (value validations), ``default``,
``x-kubernetes-list-type`` (atomic, set, map), ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type`` and ``x-kubernetes-validations``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from meshops.testing.fake_kubernetes import cel_rules
from meshops.testing.fake_kubernetes.cel_library import regex
from meshops.testing.fake_kubernetes.errors import (
    ErrorType,
    FieldError,
    MapKey,
    Path,
    render_path,
)
from meshops.testing.fake_kubernetes.meta import NameRule, validate_metadata
from meshops.testing.fake_kubernetes.values import MISSING, as_dict, copy_json, format_value

__all__ = ["Node", "SchemaError", "compile_schema", "unknown_fields", "validate"]


class SchemaError(ValueError):
    """A schema the fake cannot compile (malformed, or using an unsupported construct).

    Attributes:
        error: the field error a real API server gives, where the fake words it alike:
            its ``field`` is relative to the ``openAPIV3Schema``.
    """

    def __init__(self, message: str, error: FieldError | None = None) -> None:
        super().__init__(message)
        self.error = error


def _schema_path(where: str) -> str:
    """A data path as the API server names the path into its schema.

    ``spec.rules[*].name`` is ``.properties[spec].properties[rules].items.properties[name]``.
    """
    out = ""
    for part in where.split(".") if where else ():
        name, _, rest = part.partition("[*]")
        out += f".properties[{name}]" + ".items" * (1 + rest.count("[*]") if _ else 0)
    return out


Check = Callable[[Any, Path, "_Run"], None]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_JSON_TYPE_NAMES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


class Node:
    """One compiled schema node. Treat as immutable once compiled.

    Attributes:
        type: the schema ``type`` (None when unspecified).
        py_types: the Python types a value of ``type`` decodes to (None: anything).
        nullable: whether ``null`` is a valid value.
        int_or_string: ``x-kubernetes-int-or-string``.
        preserve_unknown: ``x-kubernetes-preserve-unknown-fields``.
        properties: compiled ``properties``.
        defaults: ``(property, default)`` pairs for properties with a ``default``.
        required: required property names.
        additional: compiled ``additionalProperties`` schema (None when absent/false).
        items: compiled ``items`` schema.
        list_type: ``atomic``, ``set`` or ``map``.
        map_keys: ``x-kubernetes-list-map-keys``.
        atomic: ``x-kubernetes-map-type: atomic`` (owned as a whole by server-side apply).
        checks: the value validations, as callables.
        rules: the compiled CEL rules at this node.
        projection: the fields of a value the plain rules read (None: all of it).
        plain_rules: the rules that do not mention ``oldSelf``.
        transition_rules: the rules that do (evaluated on updates only).
        has_transition: some rule at or below this node mentions ``oldSelf``.
        coerce: a CEL rule is here and a ``number`` is at or below this node, so
            integers are converted to floats before binding ``self``.
        is_root: the top of a kind's schema (``self`` omits most of metadata there).
    """

    __slots__ = (
        "additional",
        "atomic",
        "checks",
        "coerce",
        "defaults",
        "has_numbers",
        "has_transition",
        "int_or_string",
        "is_root",
        "items",
        "list_type",
        "map_keys",
        "nullable",
        "plain_rules",
        "preserve_unknown",
        "projection",
        "properties",
        "py_types",
        "required",
        "rules",
        "transition_rules",
        "type",
        "walk_object",
    )

    def __init__(self) -> None:
        self.type: str | None = None
        self.py_types: tuple[type, ...] | None = None
        self.nullable = False
        self.int_or_string = False
        self.preserve_unknown = False
        self.properties: dict[str, Node] = {}
        self.defaults: tuple[tuple[str, Any], ...] = ()
        self.required: tuple[str, ...] = ()
        self.additional: Node | None = None
        self.items: Node | None = None
        self.list_type = "atomic"
        self.map_keys: tuple[str, ...] = ()
        self.atomic = False
        self.checks: tuple[Check, ...] = ()
        self.rules: tuple[cel_rules.Rule, ...] = ()
        self.projection: cel_rules.Projection = None
        self.plain_rules: tuple[cel_rules.Rule, ...] = ()
        self.transition_rules: tuple[cel_rules.Rule, ...] = ()
        self.has_transition = False
        self.has_numbers = False
        self.coerce = False
        self.is_root = False
        self.walk_object = True

    def child(self, key: str) -> Node | None:
        """The node for property ``key`` (or the additionalProperties node)."""
        node = self.properties.get(key)
        return node if node is not None else self.additional

    def __repr__(self) -> str:
        return f"<Node type={self.type} properties={sorted(self.properties)}>"


#: Accepts anything (additionalProperties: true, preserve-unknown subtrees).
ANY = Node()
ANY.preserve_unknown = True
ANY.nullable = True
ANY.walk_object = False

_META_SCHEMA: dict[str, Any] = {
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "labels": {"x-kubernetes-preserve-unknown-fields": True},
        "annotations": {"x-kubernetes-preserve-unknown-fields": True},
        "finalizers": {"x-kubernetes-list-type": "set"},
        "ownerReferences": {
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
            "items": {"x-kubernetes-preserve-unknown-fields": True},
        },
    },
}


class _Run:
    """The state of one validation pass."""

    __slots__ = ("blocked", "deferred", "errors", "unknown", "value_only")

    def __init__(self, value_only: bool = False) -> None:
        self.errors: list[FieldError] = []
        self.deferred: list[tuple[Node, Any, Path, Any, bool]] = []
        self.blocked = False
        self.value_only = value_only
        #: undeclared fields found, to drop (the server's field validation), or None
        self.unknown: list[tuple[dict[str, Any], str, Path]] | None = None


def _shown(value: Any) -> Any:
    """A value as Kubernetes quotes it in "Invalid value: X": scalars as themselves."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return value


def _in_body(path: Path) -> str:
    return f"{render_path(path) or '<root>'} in body"


# --- value checks ------------------------------------------------------------------------


def _enum_check(values: list[Any]) -> Check:
    allowed = tuple(values)
    strings = frozenset(v for v in allowed if isinstance(v, str))
    only_strings = len(strings) == len(allowed)

    def check(value: Any, path: Path, run: _Run) -> None:
        if type(value) is str and only_strings:
            if value in strings:
                return
        elif any(type(value) is type(v) and value == v for v in allowed):
            return
        run.errors.append(
            FieldError(
                ErrorType.NOT_SUPPORTED, render_path(path), _shown(value), supported=allowed
            )
        )

    return check


def _pattern_check(pattern: str) -> Check:
    try:
        compiled = regex(pattern)
    except re.error as e:
        raise SchemaError(f"pattern {pattern!r} is not a valid regular expression: {e}") from None

    def check(value: Any, path: Path, run: _Run) -> None:
        if type(value) is str and compiled.search(value) is None:
            detail = f"{_in_body(path)} should match '{pattern}'"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), value, detail))

    return check


def _length_check(minimum: int | None, maximum: int | None) -> Check:
    def check(value: Any, path: Path, run: _Run) -> None:
        if type(value) is not str:
            return
        if maximum is not None and len(value) > maximum:
            detail = f"may not be more than {maximum} bytes"
            run.errors.append(FieldError(ErrorType.TOO_LONG, render_path(path), detail=detail))
        if minimum is not None and len(value) < minimum:
            detail = f"{_in_body(path)} should be at least {minimum} chars long"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), value, detail))

    return check


def _bounds_check(schema: Mapping[str, Any]) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open, high_open = (
        bool(schema.get("exclusiveMinimum")),
        bool(schema.get("exclusiveMaximum")),
    )
    multiple = schema.get("multipleOf")

    def check(value: Any, path: Path, run: _Run) -> None:
        if type(value) is not int and type(value) is not float:
            return
        detail = ""
        if low is not None and (value <= low if low_open else value < low):
            detail = f"should be greater than {'' if low_open else 'or equal to '}{low}"
        elif high is not None and (value >= high if high_open else value > high):
            detail = f"should be less than {'' if high_open else 'or equal to '}{high}"
        elif multiple and value % multiple:
            detail = f"should be a multiple of {multiple}"
        if detail:
            full = f"{_in_body(path)} {detail}"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), value, full))

    return check


def _items_count_check(minimum: int | None, maximum: int | None) -> Check:
    def check(value: Any, path: Path, run: _Run) -> None:
        if type(value) is not list:
            return
        size = len(value)  # pyright: ignore[reportUnknownArgumentType]
        if maximum is not None and size > maximum:
            detail = f"must have at most {maximum} items"
            run.errors.append(FieldError(ErrorType.TOO_MANY, render_path(path), size, detail))
        if minimum is not None and size < minimum:
            detail = f"{_in_body(path)} should have at least {minimum} items"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), size, detail))

    return check


def _properties_count_check(minimum: int | None, maximum: int | None) -> Check:
    def check(value: Any, path: Path, run: _Run) -> None:
        if type(value) is not dict:
            return
        size = len(value)  # pyright: ignore[reportUnknownArgumentType]
        if maximum is not None and size > maximum:
            detail = f"{_in_body(path)} should have at most {maximum} properties"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), size, detail))
        if minimum is not None and size < minimum:
            detail = f"{_in_body(path)} should have at least {minimum} properties"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), size, detail))

    return check


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _valid_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _valid_byte(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "ipv4": lambda s: _valid_ip(s, 4),
    "ipv6": lambda s: _valid_ip(s, 6),
    "byte": _valid_byte,
    "date-time": lambda s: _DATE_TIME.match(s) is not None,
}


def _format_check(fmt: str) -> Check | None:
    if fmt in _INT_RANGES:
        low, high = _INT_RANGES[fmt]

        def check_int(value: Any, path: Path, run: _Run) -> None:
            if type(value) is int and not low <= value <= high:
                detail = f"{_in_body(path)} must be of type {fmt}: {format_value(value)}"
                run.errors.append(FieldError(ErrorType.INVALID, render_path(path), value, detail))

        return check_int
    valid = _STRING_FORMATS.get(fmt)
    if valid is None:
        return None

    def check_string(value: Any, path: Path, run: _Run) -> None:
        if type(value) is str and not valid(value):
            detail = f"{_in_body(path)} must be of type {fmt}: {format_value(value)}"
            run.errors.append(FieldError(ErrorType.INVALID, render_path(path), value, detail))

    return check_string


def _quoted(path: Path) -> str:
    """A path as kube-openapi quotes it in anyOf/oneOf/not failures (Go's ``%q``)."""
    return json.dumps(render_path(path) or ".")


def _best(failures: list[list[FieldError]]) -> list[FieldError]:
    """The errors of the alternative that came closest.

    kube-openapi keeps the one with the most checks passed; here: the fewest errors.
    """
    return min(failures, key=len) if failures else []


def _passes(node: Node, value: Any, path: Path) -> tuple[bool, list[FieldError]]:
    run = _Run(value_only=True)
    _visit(node, value, path, None, False, run)
    return not run.errors, run.errors


def _junctor_checks(schema: Mapping[str, Any], compiler: _Compiler, where: str) -> list[Check]:
    checks: list[Check] = []
    for sub in _subschemas(schema.get("allOf"), "allOf", where):
        node = compiler.compile(sub, where, value_only=True)

        def check_all(value: Any, path: Path, run: _Run, node: Node = node) -> None:
            _, errors = _passes(node, value, path)
            run.errors.extend(errors)

        checks.append(check_all)
    any_of = [
        compiler.compile(s, where, value_only=True)
        for s in _subschemas(schema.get("anyOf"), "anyOf", where)
    ]
    if any_of:

        def check_any(value: Any, path: Path, run: _Run) -> None:
            failures: list[list[FieldError]] = []
            for n in any_of:
                passed, errors = _passes(n, value, path)
                if passed:
                    return
                failures.append(errors)
            detail = f"{_quoted(path)} must validate at least one schema (anyOf)"
            run.errors.append(FieldError(ErrorType.INVALID, "<nil>", "", detail))
            run.errors += _best(failures)

        checks.append(check_any)
    one_of = [
        compiler.compile(s, where, value_only=True)
        for s in _subschemas(schema.get("oneOf"), "oneOf", where)
    ]
    if one_of:

        def check_one(value: Any, path: Path, run: _Run) -> None:
            results = [_passes(n, value, path) for n in one_of]
            valid = sum(1 for passed, _ in results if passed)
            if valid != 1:
                found = f"Found {valid} valid alternatives" if valid else "Found none valid"
                detail = f"{_quoted(path)} must validate one and only one schema (oneOf). {found}"
                run.errors.append(FieldError(ErrorType.INVALID, "<nil>", "", detail))
                if not valid:
                    run.errors += _best([errors for _, errors in results])

        checks.append(check_one)
    negated = schema.get("not")
    if negated is not None:
        if not isinstance(negated, Mapping):
            raise SchemaError(f"{where or '<root>'}: 'not' must be a schema, not {negated!r}")
        not_node = compiler.compile(negated, where, value_only=True)  # pyright: ignore[reportUnknownArgumentType]

        def check_not(value: Any, path: Path, run: _Run) -> None:
            if _passes(not_node, value, path)[0]:
                detail = f"{_quoted(path)} must not validate the schema (not)"
                run.errors.append(FieldError(ErrorType.INVALID, "<nil>", "", detail))

        checks.append(check_not)
    return checks


def _subschemas(value: Any, keyword: str, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, Mapping) for s in value):  # pyright: ignore[reportUnknownVariableType]
        raise SchemaError(
            f"{where or '<root>'}: {keyword} must be a list of schemas, not {value!r}"
        )
    return list(value)  # pyright: ignore[reportUnknownArgumentType]


def _embedded_check(value: Any, path: Path, run: _Run) -> None:
    obj = as_dict(value)
    if obj is None:
        return
    for field in ("apiVersion", "kind"):
        if not obj.get(field):
            run.errors.append(FieldError(ErrorType.REQUIRED, render_path((*path, field))))
    meta = obj.get("metadata")
    if meta is not None:
        prefix = render_path(path)
        for error in validate_metadata(
            meta, rule=NameRule.SUBDOMAIN, namespaced=True, name_required=False
        ):
            run.errors.append(
                FieldError(
                    error.type,
                    f"{prefix}.{error.field}",
                    error.value,
                    error.detail,
                    error.supported,
                )
            )


# --- compilation -------------------------------------------------------------------------

_KNOWN_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "default",
        "example",
        "externalDocs",
        "nullable",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)


class _Compiler:
    def __init__(self) -> None:
        self.memo: dict[tuple[int, bool], Node] = {}
        self.keep: list[Any] = []

    def compile(self, schema: Mapping[str, Any], where: str, *, value_only: bool = False) -> Node:
        key = (id(schema), value_only)
        node = self.memo.get(key)
        if node is None:
            node = self._compile(schema, where, value_only)
            self.memo[key] = node
            self.keep.append(schema)
        return node

    def _compile(self, schema: Mapping[str, Any], where: str, value_only: bool) -> Node:
        if not isinstance(schema, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise SchemaError(f"{where or '<root>'}: a schema must be an object, not {schema!r}")
        unknown = set(schema) - _KNOWN_KEYWORDS
        if unknown:
            raise SchemaError(
                f"{where or '<root>'}: unsupported schema keywords {sorted(unknown)}"
            )
        if schema.get("uniqueItems"):
            raise SchemaError(
                f"{where or '<root>'}: uniqueItems is not allowed in structural schemas"
            )
        node = Node()
        type_ = schema.get("type")
        if type_ is not None:
            if type_ not in _PY_TYPES:
                raise SchemaError(f"{where or '<root>'}: unsupported type {type_!r}")
            node.type = type_
            node.py_types = _PY_TYPES[type_]
        node.nullable = bool(schema.get("nullable"))
        node.int_or_string = bool(schema.get("x-kubernetes-int-or-string"))
        node.preserve_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        node.has_numbers = type_ == "number"
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))

        properties: Mapping[str, Any] = schema.get("properties") or {}
        for name, sub in properties.items():
            child = self.compile(sub, f"{where}.{name}" if where else name, value_only=value_only)
            node.properties[name] = child
            node.has_transition |= child.has_transition
            node.has_numbers |= child.has_numbers
        if embedded and not value_only:
            node.properties.setdefault("apiVersion", _string_node())
            node.properties.setdefault("kind", _string_node())
            node.properties.setdefault("metadata", ANY)
        if not value_only:
            node.defaults = tuple(
                (name, sub["default"]) for name, sub in properties.items() if "default" in sub
            )
        node.required = tuple(schema.get("required") or ())

        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            node.additional = self.compile(additional, f"{where}[*]", value_only=value_only)  # pyright: ignore[reportUnknownArgumentType]
            node.has_transition |= node.additional.has_transition
            node.has_numbers |= node.additional.has_numbers
        elif additional is True:
            node.additional = ANY
        elif additional not in (None, False):
            raise SchemaError(
                f"{where or '<root>'}: additionalProperties must be a schema or a bool"
            )

        items = schema.get("items")
        if isinstance(items, Mapping):
            node.items = self.compile(items, f"{where}[*]", value_only=value_only)  # pyright: ignore[reportUnknownArgumentType]
            node.has_transition |= node.items.has_transition
            node.has_numbers |= node.items.has_numbers
        elif items is not None:
            raise SchemaError(f"{where or '<root>'}: items must be a single schema")
        elif type_ == "array" and not value_only:
            node.items = ANY

        list_type = schema.get("x-kubernetes-list-type", "atomic")
        if list_type not in ("atomic", "set", "map"):
            raise SchemaError(
                f"{where or '<root>'}: unsupported x-kubernetes-list-type {list_type!r}"
            )
        node.list_type = list_type
        node.map_keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
        if list_type == "map" and not node.map_keys:
            raise SchemaError(
                f"{where or '<root>'}: x-kubernetes-list-type map needs list-map-keys"
            )
        node.atomic = schema.get("x-kubernetes-map-type") == "atomic"

        checks: list[Check] = []
        if "enum" in schema:
            checks.append(_enum_check(list(schema["enum"])))
        if "pattern" in schema:
            checks.append(_pattern_check(str(schema["pattern"])))
        if "minLength" in schema or "maxLength" in schema:
            checks.append(_length_check(schema.get("minLength"), schema.get("maxLength")))
        if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
            checks.append(_bounds_check(schema))
        if "minItems" in schema or "maxItems" in schema:
            checks.append(_items_count_check(schema.get("minItems"), schema.get("maxItems")))
        if "minProperties" in schema or "maxProperties" in schema:
            checks.append(
                _properties_count_check(schema.get("minProperties"), schema.get("maxProperties"))
            )
        if isinstance(schema.get("format"), str):
            format_check = _format_check(schema["format"])
            if format_check is not None:
                checks.append(format_check)
        checks += _junctor_checks(schema, self, where)
        if embedded and not value_only:
            checks.append(_embedded_check)
        node.checks = tuple(checks)
        node.walk_object = bool(
            node.properties
            or node.additional is not None
            or node.required
            or not (node.preserve_unknown or value_only)
        )

        rules = schema.get("x-kubernetes-validations")
        if rules and not value_only:
            compiled: list[cel_rules.Rule] = []
            for index, spec in enumerate(rules):
                try:
                    rule = cel_rules.compile_rule(spec, where)
                except cel_rules.CelRuleError as e:
                    error = None
                    if e.field:
                        error = FieldError(
                            ErrorType.NOT_SUPPORTED,
                            f"{_schema_path(where)}.x-kubernetes-validations[{index}].{e.field}",
                            e.value,
                            supported=e.supported,
                        )
                    raise SchemaError(f"{where or '<root>'}: {e}", error) from None
                if rule is not None:
                    compiled.append(rule)
            node.rules = tuple(compiled)
            node.plain_rules = tuple(r for r in compiled if not r.uses_old_self)
            node.transition_rules = tuple(r for r in compiled if r.uses_old_self)
            node.projection = cel_rules.union([r.projection for r in node.plain_rules])
            node.has_transition |= any(r.uses_old_self for r in compiled)
            node.coerce = node.has_numbers
        return node


def _string_node() -> Node:
    node = Node()
    node.type = "string"
    node.py_types = (str,)
    return node


def compile_schema(schema: Mapping[str, Any], *, where: str = "") -> Node:
    """Compile the ``openAPIV3Schema`` of one CRD version into a root :class:`Node`.

    ``apiVersion``, ``kind`` and ``metadata`` are always allowed at the root; metadata
    keeps any ``name``/``generateName`` constraints the schema declares, and is
    otherwise checked by :func:`meshops.testing.fake_kubernetes.meta.validate_metadata`.

    Raises:
        SchemaError: the schema is malformed or uses something the fake cannot check
            (including CEL rules that do not compile).
    """
    compiler = _Compiler()
    root = compiler.compile(schema, where)
    if root.type not in (None, "object"):
        raise SchemaError(f"{where or '<root>'}: the root of a schema must be an object")
    meta_schema = dict(_META_SCHEMA)
    meta_props = dict(_META_SCHEMA["properties"])
    declared = as_dict((as_dict(schema.get("properties")) or {}).get("metadata")) or {}
    declared_props = as_dict(declared.get("properties")) or {}
    for field in ("name", "generateName"):
        if field in declared_props:
            meta_props[field] = declared_props[field]
    meta_schema["properties"] = meta_props
    root.properties = {
        "apiVersion": _string_node(),
        "kind": _string_node(),
        **root.properties,
        "metadata": compiler.compile(meta_schema, "metadata"),
    }
    root.type = "object"
    root.py_types = (dict,)
    root.is_root = True
    root.walk_object = True
    return root


def unknown_fields(node: Node, value: Any, path: Path = ()) -> list[str]:
    """The paths of the fields in ``value`` that ``node`` does not declare (none changed).

    Metadata is not looked into (see :func:`~.meta.unknown_metadata`).
    """
    out: list[str] = []
    if type(value) is dict:
        mapping = cast(dict[str, Any], value)
        for key, child_value in mapping.items():
            if not path and key == "metadata":
                continue
            child = node.properties.get(key) or node.additional
            if child is None:
                if not node.preserve_unknown:
                    out.append(render_path((*path, key)))
                continue
            out += unknown_fields(child, child_value, (*path, key))
    elif type(value) is list and node.items is not None:
        for i, item in enumerate(cast(list[Any], value)):
            out += unknown_fields(node.items, item, (*path, i))
    return out


def permissive_schema(structure: Mapping[str, Any] | None = None) -> Node:
    """A root node accepting any fields, with optional list/map structure for apply.

    Used for built-in kinds, which the fake does not validate beyond their metadata.
    """
    schema: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if structure:
        schema["properties"] = dict(structure)
    return compile_schema(schema)


# --- validation --------------------------------------------------------------------------


def _type_error(node: Node, value: Any, path: Path, run: _Run) -> None:
    have = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    want = "integer or string" if node.int_or_string else node.type
    detail = f'{_in_body(path)} must be of type {want}: "{have}"'
    run.errors.append(FieldError(ErrorType.TYPE_INVALID, render_path(path), have, detail))
    run.blocked = True


def _visit(node: Node, value: Any, path: Path, old: Any, has_old: bool, run: _Run) -> None:
    if value is None:
        if not node.nullable and node.py_types is not None:
            _type_error(node, value, path, run)
        return
    vt = type(value)  # pyright: ignore[reportUnknownVariableType]
    if node.int_or_string:
        if vt is not int and vt is not str:
            _type_error(node, value, path, run)
            return
    elif node.py_types is not None and vt not in node.py_types:
        _type_error(node, value, path, run)
        return
    if vt is dict:
        if node.walk_object:
            _visit_object(node, value, path, old if has_old and type(old) is dict else None, run)  # pyright: ignore[reportUnknownArgumentType]
    elif vt is list:
        if node.items is not None:
            _visit_list(node, value, path, old if has_old and type(old) is list else None, run)  # pyright: ignore[reportUnknownArgumentType]
        if node.list_type != "atomic" and not run.value_only:
            _check_list_identity(node, value, path, run)  # pyright: ignore[reportUnknownArgumentType]
    for check in node.checks:
        check(value, path, run)
    if node.rules:
        run.deferred.append((node, value, path, old, has_old))  # pyright: ignore[reportUnknownArgumentType]


def _visit_object(
    node: Node, value: dict[str, Any], path: Path, old: dict[str, Any] | None, run: _Run
) -> None:
    props = node.properties
    if node.defaults:
        for key, default in node.defaults:
            current = value.get(key, MISSING)
            if current is MISSING or (current is None and not props[key].nullable):
                value[key] = copy_json(default)
    prune: list[str] | None = None
    for key, child_value in value.items():
        child = props.get(key)
        if child is None:
            child = node.additional
            if child is not None:
                key = MapKey(key)
            else:
                if not (node.preserve_unknown or run.value_only) and run.unknown is not None:
                    run.unknown.append((value, key, (*path, key)))
                elif not (node.preserve_unknown or run.value_only):
                    run.errors.append(
                        FieldError(
                            ErrorType.FORBIDDEN,
                            render_path((*path, key)),
                            detail="field not declared in schema",
                        )
                    )
                continue
        if child_value is None and not child.nullable and not run.value_only:
            if prune is None:
                prune = []
            prune.append(key)
            continue
        if old is not None and child.has_transition:
            previous = old.get(key, MISSING)
            _visit(child, child_value, (*path, key), previous, previous is not MISSING, run)
        else:
            _visit(child, child_value, (*path, key), None, False, run)
    if prune:
        for key in prune:
            del value[key]
    for key in node.required:
        if key not in value:
            run.errors.append(FieldError(ErrorType.REQUIRED, render_path((*path, key))))


def _list_key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...]:
    obj = as_dict(item)
    return tuple(obj.get(k) for k in keys) if obj is not None else (item,)


def _visit_list(
    node: Node, value: list[Any], path: Path, old: list[Any] | None, run: _Run
) -> None:
    items = node.items
    assert items is not None
    if old is not None and items.has_transition and node.list_type == "map":
        previous = {_hashable(_list_key(o, node.map_keys)): o for o in old}
        for i, item in enumerate(value):
            before = previous.get(_hashable(_list_key(item, node.map_keys)), MISSING)
            _visit(items, item, (*path, i), before, before is not MISSING, run)
        return
    for i, item in enumerate(value):
        _visit(items, item, (*path, i), None, False, run)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return format_value(value)
    return value


def _check_list_identity(node: Node, value: list[Any], path: Path, run: _Run) -> None:
    seen: set[Any] = set()
    if node.list_type == "set":
        for i, item in enumerate(value):
            key = (type(item), _hashable(item))  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
            if key in seen:
                run.errors.append(FieldError(ErrorType.DUPLICATE, render_path((*path, i)), item))
            seen.add(key)
        return
    for i, element in enumerate(value):
        item = as_dict(element)
        if item is None:
            continue
        key = _hashable(tuple((cast(type, type(item.get(k))), item.get(k)) for k in node.map_keys))
        if key in seen:
            shown = {k: item[k] for k in node.map_keys if k in item}
            run.errors.append(FieldError(ErrorType.DUPLICATE, render_path((*path, i)), shown))
        seen.add(key)


def _coerce(node: Node | None, value: Any) -> Any:
    """``value`` with integers under ``number`` nodes turned into floats (as CEL sees them)."""
    if node is None or not node.has_numbers:
        return value
    if type(value) is int and node.type == "number":
        return float(value)
    if type(value) is dict:
        return {k: _coerce(node.child(k), v) for k, v in cast(dict[str, Any], value).items()}
    if type(value) is list:
        return [_coerce(node.items, v) for v in cast(list[Any], value)]
    return value


def _root_self(obj: dict[str, Any]) -> dict[str, Any]:
    """The root ``self`` of CEL rules: metadata reduced to name and generateName."""
    meta = as_dict(obj.get("metadata")) or {}
    reduced = {k: meta[k] for k in ("name", "generateName") if k in meta}
    return {**obj, "metadata": reduced}


def _run_rules(run: _Run) -> None:
    """Evaluate the deferred CEL rules, ancestors first, sharing bound values."""
    evaluation = cel_rules.Evaluation()
    anchors: dict[Path, str] = {}
    for node, value, path, previous, has_previous in sorted(run.deferred, key=lambda d: len(d[2])):
        type_name = node.type or "object"
        if node.is_root:
            value = _root_self(value)
            previous = _root_self(previous) if has_previous else None
        if node.plain_rules:
            anchor: tuple[str, Path] | None = None
            for cut in range(len(path) - 1, -1, -1):
                variable = anchors.get(path[:cut])
                if variable is not None:
                    anchor = (variable, path[cut:])
                    break
            if anchor is None:
                bound = _coerce(node, value) if node.coerce else value
                if node.projection is None:
                    anchor = (evaluation.bind(bound), ())
                    anchors[path] = anchor[0]
                else:
                    anchor = (evaluation.bind(cel_rules.project(bound, node.projection)), ())
            evaluation.run(
                node.plain_rules, anchor[0], anchor[1], path, type_name, run.errors, value
            )
        if node.transition_rules and has_previous:
            if node.coerce:
                value = _coerce(node, value)
                previous = _coerce(node, previous)
            cel_rules.evaluate_rules(
                node.transition_rules, None, value, previous, True, path, type_name, run.errors
            )


def validate(
    root: Node,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    *,
    unknown: list[str] | None = None,
) -> list[FieldError]:
    """Default ``obj`` in place and check it against ``root`` and its CEL rules.

    Args:
        root: the compiled schema of the object's kind and version.
        obj: the object to store; defaults are applied to it and non-nullable nulls
            removed from it.
        old: the stored object on updates (``oldSelf`` of transition rules).
        unknown: when given, fields the schema does not declare are removed from ``obj``
            (before its CEL rules run) and their paths appended here, as the API
            server's field validation does; otherwise each is an error.

    Returns:
        Every violation, in the order the API server would find them.
    """
    run = _Run()
    if unknown is not None:
        run.unknown = []
    _visit(root, obj, (), old, old is not None, run)
    if run.unknown:
        assert unknown is not None
        for parent, key, path in run.unknown:
            parent.pop(key, None)
            unknown.append(render_path(path))
    if run.deferred:
        if run.blocked:
            run.errors.append(
                FieldError(
                    ErrorType.INVALID,
                    "<nil>",
                    None,
                    "some validation rules were not checked because the object was invalid; "
                    "correct the existing errors to complete validation",
                )
            )
        else:
            _run_rules(run)
    return run.errors
