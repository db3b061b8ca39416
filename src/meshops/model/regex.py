"""Regular expressions as the gateway runs them: RE2, within Istio's size limit.

Envoy, which Istio runs as the gateway and the waypoints, evaluates every regular
expression of a route (paths, headers, query parameters, gRPC methods) with Google's RE2,
and refuses a whole configuration update when one of them does not compile. So each
regex a related app or a platform file gives is compiled here, once, with RE2 itself
(the ``google-re2`` bindings, the same library Envoy links), rather than with Python's
:mod:`re`, which accepts look-arounds and back-references RE2 lacks and lacks RE2's
limits. Beyond RE2's own rules (a counted repetition such as ``{1001}`` is refused,
nested counts included), Envoy refuses a regex whose compiled program is larger than its
runtime key ``re2.max_program_size.error_level``, which Istio's bootstrap sets to 32768
(istio/istio ``pkg/bootstrap/config.go``, ``extractRuntimeFlags``; Envoy's own default
is 100).

Example:
    >>> check_regex("/api/v[0-9]+", "path.value").fullmatch("/api/v2")
    True
    >>> check_regex("/a{99999999}", "path.value")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: path.value: regex '/a{99999999}' is not one RE2 (Envoy) accepts: invalid ...
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, cast

import re2

__all__ = ["MAX_PROGRAM_SIZE", "MAX_REGEX_LENGTH", "Regex", "check_regex"]

#: The largest RE2 program Istio's Envoy accepts (``re2.max_program_size.error_level``).
MAX_PROGRAM_SIZE = 32768
#: The longest regex checked: the longest value the Gateway API CRDs allow (a header's).
MAX_REGEX_LENGTH = 4096
# How far RE2 spells out the bounds of what a regex can match (see Regex.bounds).
_BOUNDS_LENGTH = 1100


def _options() -> re2.Options:
    # (made for each compile, which costs nothing beside it: none is shared or kept)
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refusal to stderr
    return options


@dataclasses.dataclass(frozen=True)
class Regex:
    """A regular expression RE2 compiled, matched as Envoy matches: in full.

    Attributes:
        pattern: the expression, as written.
    """

    pattern: str
    # re2's compiled type, which its stubs name privately
    _compiled: Any = dataclasses.field(repr=False, compare=False)

    def fullmatch(self, text: str) -> bool:
        """Whether the whole of ``text`` matches (Envoy's ``safe_regex`` matches in full).

        Example:
            >>> r = check_regex("/a.*", "path")
            >>> r.fullmatch("/abc"), r.fullmatch("/b/abc")
            (True, False)
        """
        return self._compiled.fullmatch(text) is not None

    @functools.cached_property
    def bounds(self) -> tuple[bytes, bytes] | None:
        """Bytes ``(lo, hi)`` with ``lo <= s <= hi`` for the UTF-8 of every ``s`` it matches.

        RE2's ``PossibleMatchRange``; None when RE2 cannot bound the expression. The
        bounds let two expressions (or an expression and a path prefix) be told apart
        without deciding the intersection of two regular languages: what falls outside
        the bounds cannot match.

        Example:
            >>> check_regex("/shop/(cart|list)", "path").bounds
            (b'/shop/cart', b'/shop/list')
        """
        try:
            found = cast("tuple[bytes, bytes]", self._compiled.possiblematchrange(_BOUNDS_LENGTH))
        except re2.error:
            return None
        return found


def check_regex(value: object, field: str) -> Regex:
    """``value`` compiled as Envoy compiles it, else raise naming ``field`` and the value.

    Args:
        value: the regular expression.
        field: where it was given, to start the message with.

    Raises:
        ValueError: ``value`` is not a string of at most :data:`MAX_REGEX_LENGTH`
            characters, RE2 refuses it, or its program is over :data:`MAX_PROGRAM_SIZE`.
    """
    if not isinstance(value, str):
        raise ValueError(f"{field}: regex {value!r} must be a string")
    if len(value) > MAX_REGEX_LENGTH:
        raise ValueError(
            f"{field}: regex {value[:40]!r}... is {len(value)} characters, "
            f"at most {MAX_REGEX_LENGTH}"
        )
    try:
        compiled = re2.compile(value, _options())
    except re2.error as e:
        raise ValueError(
            f"{field}: regex {value!r} is not one RE2 (Envoy) accepts: {_reason(e)}"
        ) from None
    size = compiled.programsize
    if size > MAX_PROGRAM_SIZE:
        raise ValueError(
            f"{field}: regex {value!r} compiles to an RE2 program of {size} instructions; "
            f"Istio's Envoy refuses more than {MAX_PROGRAM_SIZE}"
        )
    return Regex(value, compiled)


def _reason(error: re2.error) -> str:
    """RE2's own words: the bindings carry them as bytes, UTF-8 as RE2 reads patterns."""
    reason: bytes = error.args[0]
    return reason.decode()
