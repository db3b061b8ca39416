"""HTTP paths: one rule for every path a route matches or a policy names.

A path given to the gateway (an ``Exact`` or ``PathPrefix`` match, a rewrite or a
redirect) or to a waypoint (an AuthorizationPolicy's ``paths``, from a related charm or a
platform file's ``accepts``) is compared with request paths after Istio has normalized
them (dot segments removed, ``//`` kept, ``%2F`` left encoded, the query and fragment
cut off). A path that could only be meant to match something else is refused where it
is given, by the same rule everywhere, which is the Gateway API's for path matches (its
CRDs' CEL rules): it starts with ``/``, holds only what a URL path may (RFC 3986
``pchar`` and ``/``: no space, ``?``, ``#`` or control character), holds no ``//``, no
``/./`` or ``/../`` and does not end with ``/.`` or ``/..``, holds no ``%2F`` (an escaped
``/``), and is at most 1,024 characters.

Policy paths also take Istio's wildcards: ``*`` alone (any path), a leading ``*`` (a
suffix: ``*.json``) or a trailing one (a prefix: ``/api/*``); the rest follows the rule
above, as far as it applies to the part of a path it is (a suffix need not start with
``/``, a prefix may end in ``/.``: ``/static/.*`` matches ``/static/.well-known``).

Example:
    >>> check_path("/cart/items", "path")
    '/cart/items'
    >>> check_path("/cart/../admin", "paths[0]")
    Traceback (most recent call last):
    ...
    ValueError: paths[0]: path '/cart/../admin' must not contain '/../'
    >>> check_policy_path("/api/*", "paths[0]")
    '/api/*'
"""

from __future__ import annotations

import re

__all__ = ["MAX_PATH_LENGTH", "check_path", "check_policy_path"]

#: The longest path accepted: the Gateway API's limit on a path match.
MAX_PATH_LENGTH = 1024
# RFC 3986 path characters: unreserved, sub-delims, ':' and '@', '%XX' escapes, and '/'.
_PATH_CHARS = re.compile(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+")
_CHARS = "letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes"


def check_path(value: object, field: str) -> str:
    """Return ``value`` if it is a request path a route or policy may name, else raise.

    Raises:
        ValueError: naming ``field`` and quoting the value, with the rule it breaks.
    """
    path = _string(value, field)
    return _check(path, field, path, start=True)


def check_policy_path(value: object, field: str) -> str:
    """Like :func:`check_path`, with Istio's ``*``, ``*suffix`` and ``prefix*`` forms.

    Example:
        >>> check_policy_path("*.json", "paths[1]")
        '*.json'
        >>> check_policy_path("/a*b", "paths[1]")
        Traceback (most recent call last):
        ...
        ValueError: paths[1]: path '/a*b' may use '*' only at its start or end
    """
    path = _string(value, field)
    if path == "*":
        return path
    if "*" in path.strip("*") or path.startswith("**") or path.endswith("**"):
        raise ValueError(f"{field}: path {_quote(path)} may use '*' only at its start or end")
    if path.startswith("*") and path.endswith("*"):
        raise ValueError(f"{field}: path {_quote(path)} may use '*' at its start or its end")
    if path.startswith("*"):
        # A suffix: the end of a path, which need not start with '/'.
        return _check(path, field, path[1:], start=False)
    # A prefix ('/api/*') is checked whole: ending in '*', it never ends in '/.' or '/..'
    # ('*' is a path character), so '/static/.*' passes.
    return _check(path, field, path, start=True)


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field}: path {value!r} must be a string")
    return value


def _check(value: str, field: str, text: str, *, start: bool) -> str:
    """Check ``text``, the part of ``value`` that is a path (its end, or all of it)."""
    if len(value) > MAX_PATH_LENGTH:
        raise ValueError(
            f"{field}: path {_quote(value)} is {len(value)} characters, at most {MAX_PATH_LENGTH}"
        )
    if start and not text.startswith("/"):
        raise ValueError(f"{field}: path {value!r} must start with '/'")
    if not text or not _PATH_CHARS.fullmatch(text):
        raise ValueError(f"{field}: path {value!r} may hold only {_CHARS}")
    for bad in ("//", "/./", "/../", "%2f", "%2F"):
        if bad in text:
            raise ValueError(f"{field}: path {value!r} must not contain {bad!r}")
    if text.endswith(("/..", "/.")):
        raise ValueError(f"{field}: path {value!r} must not end with '/.' or '/..'")
    return value


def _quote(value: str) -> str:
    """``value`` quoted, cut short when it is too long to quote whole."""
    return repr(value) if len(value) <= 80 else f"{value[:40]!r}..."
