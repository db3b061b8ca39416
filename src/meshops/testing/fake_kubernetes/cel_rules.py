"""``x-kubernetes-validations``: CEL rules compiled once and evaluated per value.

Each rule is compiled when its CRD is installed (programs are cached by source text, so
the hundreds of copies of ``duration(self) >= duration('1ms')`` in Istio's CRDs compile
once). Compilation also checks every function the rule calls against cel-rust's native
functions and :mod:`~meshops.testing.fake_kubernetes.cel_library`, so a rule the fake
cannot evaluate fails loudly at install time, not silently at request time.

Evaluation follows the API server: ``self`` is the value at the rule's schema node,
``oldSelf`` the previous value on updates (rules that mention ``oldSelf`` are skipped
when there is none), a failing rule reports ``message`` (or the string
``messageExpression`` evaluates to, or ``failed rule: <rule>``) at the node's path plus
``fieldPath``, with ``reason`` choosing the error type.

Not modelled: the runtime cost budget, ``optionalOldSelf`` (refused at install), and the
typing of ``format: date-time``/``duration``/``byte`` strings as timestamps, durations
and bytes (they stay strings; no rule of the shipped CRDs reads such a field).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, cast

import cel

from meshops.testing.fake_kubernetes.cel_library import FUNCTIONS, regex
from meshops.testing.fake_kubernetes.errors import ErrorType, FieldError, Path, render_path
from meshops.testing.fake_kubernetes.values import MISSING

__all__ = [
    "UNSUPPORTED_RULES",
    "CelRuleError",
    "Evaluation",
    "Projection",
    "Rule",
    "compile_rule",
    "evaluate_rules",
    "project",
    "projection",
    "union",
]

_log = logging.getLogger(__name__)

#: Functions cel-rust provides natively (macros such as ``has``/``all`` are not listed
#: by ``Program.functions()`` and need no entry).
NATIVE_FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)

#: Rules of the shipped CRDs (``src/meshops/crds``) that this library cannot evaluate,
#: by rule text, with the reason. They are skipped with a logged warning. Every rule of
#: Gateway API v1.5.1 and Istio 1.30.3 is evaluated, so the table is empty; keep it so.
UNSUPPORTED_RULES: Mapping[str, str] = {}

_REASONS = {
    "FieldValueInvalid": ErrorType.INVALID,
    "FieldValueForbidden": ErrorType.FORBIDDEN,
    "FieldValueRequired": ErrorType.REQUIRED,
    "FieldValueDuplicate": ErrorType.DUPLICATE,
}
_FIELD_PATH = re.compile(r"\.([A-Za-z_$][A-Za-z0-9_$-]*)|\['((?:[^'\\]|\\.)*)'\]")
_OLD_SELF = re.compile(r"\boldSelf\b")


class CelRuleError(ValueError):
    """A validation rule that does not compile or calls a function we do not provide.

    Attributes:
        field: the rule's field the API server names (``reason``), when it is one.
        value: that field's bad value.
        supported: the values that field may have.
    """

    def __init__(
        self, message: str, *, field: str = "", value: Any = None, supported: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.supported = supported


@dataclasses.dataclass(frozen=True, eq=False)
class Rule:
    """One compiled ``x-kubernetes-validations`` entry.

    Attributes:
        rule: the CEL source.
        program: the compiled rule.
        message: the fixed message (``failed rule: <rule>`` when none is given).
        message_program: the compiled ``messageExpression``, if any.
        field_path: ``fieldPath`` as path elements relative to the node.
        reason: the error type reported on failure.
        uses_old_self: whether the rule is a transition rule (mentions ``oldSelf``).
        projection: which fields of ``self`` the rule (and its messageExpression) read;
            see :func:`projection`.
        message_expression: the ``messageExpression`` source ("" when none).
    """

    rule: str
    program: cel.Program
    message: str
    message_program: cel.Program | None
    field_path: Path
    reason: ErrorType
    uses_old_self: bool
    projection: Projection
    message_expression: str = ""
    has_message: bool = False


_MATCHES = "k8sFakeMatches"
# Program.functions() names a namespaced function (``ip.isCanonical``) by its last part.
_KNOWN_FUNCTIONS = frozenset(
    {*NATIVE_FUNCTIONS, *FUNCTIONS, *(name.rsplit(".", 1)[-1] for name in FUNCTIONS), _MATCHES}
)


# Property names Kubernetes escapes in CEL because they are reserved words, and which
# cel-rust accepts as plain field names: ``__namespace__`` is read as ``namespace``.
_UNESCAPABLE = frozenset(
    {
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)
_ESCAPED = re.compile(r"__([A-Za-z0-9]+)__\Z")


def _rewrite(source: str) -> str:
    """Adapt a Kubernetes rule to cel-rust.

    * Property names Kubernetes escapes (``p.__namespace__`` for the property
      ``namespace``, a CEL reserved word) are written plainly, as cel-rust reads them.
    * ``matches`` calls go to a Python function with a compiled-regex cache: cel-rust
      compiles the regular expression on every evaluation (about 20 microseconds for
      Gateway API's path pattern, which dominated applying an HTTPRoute). Only calls
      are rewritten (``x.matches(re)``, ``matches(x, re)``), not fields named
      ``matches``.

    String literals are left alone.

    Raises:
        CelRuleError: the rule uses an escaped property name cel-rust cannot express
            (``__in__``, ``__dash__``, ``__dot__``, ...).
    """
    out: list[str] = []
    matches = list(_TOKEN.finditer(source))
    for i, match in enumerate(matches):
        text = match.group()
        if match.lastgroup == "ident":
            escaped = _ESCAPED.match(text)
            if escaped is not None:
                if escaped.group(1) not in _UNESCAPABLE:
                    raise CelRuleError(
                        f"rule {source!r} reads the escaped property name {text!r}, which the "
                        "fake's CEL evaluator cannot express"
                    )
                text = escaped.group(1)
            elif text == "matches":
                following = next(
                    (m.group() for m in matches[i + 1 :] if m.lastgroup != "space"), ""
                )
                if following == "(":
                    text = _MATCHES
        out.append(text)
    return "".join(out)


def _matches(text: str, pattern: str) -> bool:
    return regex(pattern).search(text) is not None


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> cel.Program:
    try:
        program = cel.compile(_rewrite(source))
    except Exception as e:  # cel raises ValueError and friends with the parser's message
        raise CelRuleError(f"CEL expression {source!r} does not compile: {e}") from None
    unknown = [
        f
        for f in program.functions()
        if f not in _KNOWN_FUNCTIONS and not f.startswith(("_", "@", "!_", "-_"))
    ]
    if unknown:
        raise CelRuleError(
            f"CEL expression {source!r} calls {', '.join(sorted(unknown))}, which the fake's "
            "CEL library does not provide (see meshops.testing.fake_kubernetes.cel_library)"
        )
    return program


#: Which fields of ``self`` an expression reads: None for "all of it", else a map from
#: field name to True (its whole value) or False (only whether it is present).
Projection = Mapping[str, bool] | None

_TOKEN = re.compile(
    r"""(?P<string>[rRbB]{0,2}(?:\'\'\'[\s\S]*?\'\'\'|\"\"\"[\s\S]*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))"""
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<space>\s+)|(?P<other>.)"
)


def _tokens(source: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(source):
        if match.lastgroup == "string":
            tokens.append('""')
        elif match.lastgroup != "space":
            tokens.append(match.group())
    return tokens


def projection(*sources: str) -> Projection:
    """Which fields of ``self`` the expressions read, found conservatively.

    Converting a value into CEL costs about a microsecond per string, so the fake binds
    ``self`` to only what a rule reads when it can tell: every use of ``self`` must be
    ``self.<field>`` (not followed by a call) or ``has(self.<field>)``. Any other use
    (``self`` alone, ``self[0]``, ``self.all(...)``, ``self.size()``) needs all of it.

    Example:
        >>> projection("has(self.a) ? self.b.c == 1 : true")
        {'a': False, 'b': True}
    """
    needed: dict[str, bool] = {}
    for source in sources:
        tokens = _tokens(source)
        for i, token in enumerate(tokens):
            if token != "self" or (i > 0 and tokens[i - 1] == "."):
                continue
            if (
                tokens[i + 1 : i + 2] != ["."]
                or i + 2 >= len(tokens)
                or (not tokens[i + 2][0].isalpha() and tokens[i + 2][0] != "_")
            ):
                return None
            field = tokens[i + 2]
            after = tokens[i + 3] if i + 3 < len(tokens) else ""
            if after == "(":
                return None
            presence_only = tokens[i - 2 : i] == ["has", "("] and after == ")"
            needed[field] = needed.get(field, False) or not presence_only
    return needed


def union(projections: Sequence[Projection]) -> Projection:
    """What a set of rules read together (None: all of ``self``)."""
    merged: dict[str, bool] = {}
    for fields in projections:
        if fields is None:
            return None
        for key, full in fields.items():
            merged[key] = merged.get(key, False) or full
    return merged


def project(value: Any, fields: Projection) -> Any:
    """``value`` reduced to the fields a projection reads (placeholders for presence)."""
    if fields is None or type(value) is not dict:
        return value
    mapping = cast(dict[str, Any], value)
    return {k: (mapping[k] if full else True) for k, full in fields.items() if k in mapping}


def compile_rule(spec: Mapping[str, Any], where: str) -> Rule | None:
    """Compile one ``x-kubernetes-validations`` entry found at schema path ``where``.

    Returns:
        The rule, or None when it is listed in :data:`UNSUPPORTED_RULES` (logged once).

    Raises:
        CelRuleError: the rule, its messageExpression or fieldPath is not usable.
    """
    source = spec.get("rule")
    if not isinstance(source, str) or not source.strip():
        raise CelRuleError(
            f"x-kubernetes-validations at {where or '<root>'} has no rule: {dict(spec)!r}"
        )
    if source in UNSUPPORTED_RULES:
        _warn_skipped(source)
        return None
    if spec.get("optionalOldSelf"):
        raise CelRuleError(
            f"rule {source!r} at {where}: optionalOldSelf is not supported by the fake"
        )
    reason_name = spec.get("reason", "FieldValueInvalid")
    if reason_name not in _REASONS:
        raise CelRuleError(
            f"rule {source!r} at {where}: unsupported reason {reason_name!r}",
            field="reason",
            value=reason_name,
            supported=tuple(sorted(_REASONS)),
        )
    expression = spec.get("messageExpression")
    message = spec.get("message")
    sources = (source, expression) if isinstance(expression, str) and expression else (source,)
    return Rule(
        rule=source,
        program=_compile(source),
        message=message.strip()
        if isinstance(message, str) and message
        else f"failed rule: {source.strip()}",
        message_program=_compile(expression)
        if isinstance(expression, str) and expression
        else None,
        field_path=_parse_field_path(spec.get("fieldPath"), source),
        reason=_REASONS[reason_name],
        uses_old_self=bool(_OLD_SELF.search(source)),
        projection=projection(*sources),
        message_expression=expression if isinstance(expression, str) else "",
        has_message=isinstance(message, str) and bool(message),
    )


@functools.cache
def _warn_skipped(source: str) -> None:
    _log.warning("skipping CEL rule %r: %s", source, UNSUPPORTED_RULES[source])


def _parse_field_path(text: Any, source: str) -> Path:
    if not text:
        return ()
    if not isinstance(text, str):
        raise CelRuleError(f"rule {source!r}: fieldPath {text!r} is not a string")
    path: list[str] = []
    pos = 0
    while pos < len(text):
        match = _FIELD_PATH.match(text, pos)
        if match is None:
            raise CelRuleError(f"rule {source!r}: fieldPath {text!r} is not a supported JSON path")
        path.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
    return tuple(path)


_local = threading.local()


def _context() -> cel.Context:
    context: cel.Context | None = getattr(_local, "context", None)
    if context is None:
        context = cel.Context(functions={**FUNCTIONS, _MATCHES: _matches})
        _local.context = context
    return context


def evaluate_rules(
    rules: Sequence[Rule],
    fields: Projection,
    value: Any,
    old: Any,
    has_old: bool,
    path: Path,
    type_name: str,
    errors: list[FieldError],
) -> None:
    """Evaluate the rules of one schema node for one value, appending failures to ``errors``.

    Args:
        rules: the node's rules.
        fields: what the rules read of ``self`` (the :func:`union` of their projections).
        value: bound to ``self``.
        old: bound to ``oldSelf`` (meaningful only when ``has_old``).
        has_old: whether there is an old value; transition rules are skipped otherwise.
        path: the value's field path.
        type_name: the node's schema type, quoted as the "Invalid value" (as Kubernetes does).
        errors: where failures go.
    """
    context = _context()
    context.add_variable("self", project(value, fields))
    if has_old:
        context.add_variable("oldSelf", old)
    for rule in rules:
        if rule.uses_old_self and not has_old:
            continue
        _check(context, rule, rule.program, rule.message_program, path, type_name, value, errors)


def _check(
    context: cel.Context,
    rule: Rule,
    program: cel.Program,
    message_program: cel.Program | None,
    path: Path,
    type_name: str,
    value: Any,
    errors: list[FieldError],
) -> None:
    # Worded as k8s.io/apiextensions-apiserver's schema/cel validateExpressions: an
    # evaluation error quotes the node's type and names the rule by its message (when
    # it has one); a failed rule quotes the value itself, or none for objects and lists.
    where = render_path(path, keys=True)
    named = rule.message.strip() if rule.has_message else rule.rule.strip()
    try:
        result = program.execute(context)
    except Exception as e:  # cel raises RuntimeError/TypeError/KeyError/ValueError
        detail = f"{_describe(e)} evaluating rule: {named}"
        errors.append(FieldError(ErrorType.INVALID, where, type_name, detail))
        return
    if result is True:
        return
    if result is not False:
        detail = f"rule {rule.rule!r} evaluated to {result!r}, not a bool"
        errors.append(FieldError(ErrorType.INVALID, where, type_name, detail))
        return
    message = rule.message
    if message_program is not None:
        try:
            produced = message_program.execute(context)
        except Exception:  # fall back to the fixed message, as the API server does
            produced = None
        if isinstance(produced, str) and produced.strip():
            message = produced.strip()
    field = render_path(path + rule.field_path, keys=True)
    shown = MISSING if type_name in ("object", "array") or value is MISSING else value
    if rule.reason in (ErrorType.INVALID, ErrorType.DUPLICATE):
        detail = message if rule.reason is ErrorType.INVALID else ""
        errors.append(FieldError(rule.reason, field, shown, detail))
    else:
        errors.append(FieldError(rule.reason, field, detail=message))


def _access(variable: str, relative: Path) -> str:
    steps = "".join(f"[{json.dumps(p)}]" if isinstance(p, str) else f"[{p}]" for p in relative)
    return f"({variable}{steps})"


@functools.lru_cache(maxsize=16384)
def _anchored(source: str, variable: str, relative: Path) -> cel.Program:
    """``source`` with ``self`` replaced by an access into a bound variable."""
    access = _access(variable, relative)
    out: list[str] = []
    previous = ""
    for match in _TOKEN.finditer(_rewrite(source)):
        text = match.group()
        if match.lastgroup == "ident" and text == "self" and previous != ".":
            text = access
        if match.lastgroup != "space":
            previous = text
        out.append(text)
    try:
        return cel.compile("".join(out))
    except Exception as e:  # the rule compiled on its own, so this is a bug of the rewrite
        raise CelRuleError(f"rule {source!r} could not be rebased on {access}: {e}") from None


class Evaluation:
    """The rule evaluations of one object, sharing values already converted to CEL.

    Converting a value to CEL is the dominant cost of a rule (about a microsecond per
    string), so a value whose rules read all of it is bound once as a variable, and the
    rules of every node below it read their ``self`` through that variable
    (``self`` is rewritten into ``(__v0[0]["matches"][0])``; rewritten programs are
    cached by rule, variable and relative path).
    """

    def __init__(self) -> None:
        self.context = _context()
        self.bound = 0

    def bind(self, value: Any) -> str:
        """Bind ``value`` to a fresh variable; return its name."""
        name = f"__v{self.bound}"
        self.bound += 1
        self.context.add_variable(name, value)
        return name

    def run(
        self,
        rules: Sequence[Rule],
        variable: str,
        relative: Path,
        path: Path,
        type_name: str,
        errors: list[FieldError],
        value: Any = MISSING,
    ) -> None:
        """Evaluate rules (without ``oldSelf``) whose ``self`` is ``variable`` + ``relative``.

        ``value`` is the value at ``path`` (quoted by failures of rules on scalars).
        """
        for rule in rules:
            program = _anchored(rule.rule, variable, relative)
            message_program = None
            if rule.message_program is not None:
                message_program = _anchored(rule.message_expression, variable, relative)
            _check(self.context, rule, program, message_program, path, type_name, value, errors)


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no such key: {error.args[0] if error.args else ''}"
    return str(error)
