"""Whether one request could be taken by two route matches: what ingress ownership rests on.

On a listener, a route of one application may not take a request a route of another,
older, application serves (see :mod:`meshops.plan.ingress`). Rather than follow the
Gateway API's precedence (exact path, longest prefix, method, headers...), which would
let a newer route take part of an older one's requests (a longer prefix, a method, a
header), the plan refuses a newer route when any request could match both, whichever
would win. So each function here answers "is there a request both match?", and answers
yes whenever that cannot be ruled out: a wrong yes refuses a route that could have been
served; a wrong no would let one app take another's requests.

The rules, per condition (every condition must allow a common request):

* Hostnames: equal, or a ``*.`` wildcard covering the other (or both wildcards, one
  under the other); ``*`` (no hostname: the listener's every host) meets all.
* Paths, compared as the Gateway API compares them (after Istio's normalization, which
  happens before either is tried): two ``Exact`` paths meet when equal; an ``Exact``
  path meets a ``PathPrefix`` the prefix matches (by whole ``/``-separated elements, a
  trailing ``/`` ignored); two prefixes meet when one is an element-wise prefix of the
  other (``/`` meets everything). A ``RegularExpression`` meets an ``Exact`` path it
  fully matches (decided by RE2 itself). A regex against a prefix or another regex
  would need the intersection of two regular languages, which RE2 does not compute and
  this project does not hand-write; instead RE2's ``PossibleMatchRange`` gives bytes
  ``lo`` and ``hi`` that every string the regex matches lies between, and every path
  under a prefix ``P`` is ``P`` or lies in ``[P + "/", P + "0")`` (``"/"`` is the byte
  before ``"0"``).
  Only when those ranges are apart is overlap ruled out; otherwise (RE2 cannot bound
  the regex, or the ranges meet) they are taken to overlap. ``/shop/[0-9]+`` is thus
  apart from ``/shopping`` and ``/cart``, but ``/(shop|cart)/x`` is taken to meet
  ``/d`` (its range, ``/cart/x`` to ``/shop/x``, spans it).
* Methods: none, or the same.
* Headers (names compared case-insensitively): a header only one side names does not
  keep them apart (a request can send it); for a header both name, two exact values
  must be equal, an exact value must fully match the other's regex, and two regexes
  are apart only when their RE2 ranges are.
* gRPC: service and method each none, or the same; headers as above.

Example:
    >>> from meshops.model.ingress import PathMatch, PathMatchType as T
    >>> paths_overlap(PathMatch(T.PathPrefix, "/shop"), PathMatch(T.Exact, "/shop/admin"))
    True
    >>> paths_overlap(PathMatch(T.PathPrefix, "/shop"), PathMatch(T.PathPrefix, "/shopping"))
    False
"""

from __future__ import annotations

from collections.abc import Sequence

from meshops.model.ingress import (
    GRPCMatch,
    HeaderMatch,
    HTTPMatch,
    PathMatch,
    PathMatchType,
    hostnames_intersect,
)
from meshops.model.regex import Regex

__all__ = [
    "grpc_matches_overlap",
    "headers_overlap",
    "hostnames_overlap",
    "http_matches_overlap",
    "path_elements",
    "paths_overlap",
]


def hostnames_overlap(a: str, b: str) -> bool:
    """Whether a request could be for both hostnames; ``*`` stands for any host.

    Example:
        >>> hostnames_overlap("*", "shop.example.com"), hostnames_overlap("a.io", "b.io")
        (True, False)
    """
    return a == "*" or b == "*" or hostnames_intersect(a, b)


def http_matches_overlap(a: HTTPMatch, b: HTTPMatch) -> bool:
    """Whether one HTTP request could meet both matches (see the module docstring)."""
    if a.method is not None and b.method is not None and a.method is not b.method:
        return False
    return paths_overlap(a.effective_path, b.effective_path) and headers_overlap(
        a.headers, b.headers
    )


def grpc_matches_overlap(a: GRPCMatch, b: GRPCMatch) -> bool:
    """Whether one gRPC call could meet both matches (see the module docstring)."""
    for mine, theirs in ((a.service, b.service), (a.method, b.method)):
        if mine is not None and theirs is not None and mine != theirs:
            return False
    return headers_overlap(a.headers, b.headers)


def paths_overlap(a: PathMatch, b: PathMatch) -> bool:
    """Whether one (normalized) request path could meet both path conditions."""
    if a.type is PathMatchType.RegularExpression and b.type is PathMatchType.RegularExpression:
        return _regexes_overlap(_regex(a), _regex(b))
    if b.type is PathMatchType.RegularExpression:
        a, b = b, a
    if a.type is PathMatchType.RegularExpression:
        regex = _regex(a)
        if b.type is PathMatchType.Exact:
            return regex.fullmatch(b.value)
        return _regex_meets_prefix(regex, _base(b.value))
    if a.type is PathMatchType.Exact and b.type is PathMatchType.Exact:
        return a.value == b.value
    if a.type is PathMatchType.Exact:
        return _under(_base(b.value), a.value)
    if b.type is PathMatchType.Exact:
        return _under(_base(a.value), b.value)
    mine, theirs = _base(a.value), _base(b.value)
    return _under(mine, theirs) or _under(theirs, mine)


def headers_overlap(a: Sequence[HeaderMatch], b: Sequence[HeaderMatch]) -> bool:
    """Whether one request's headers could meet both lists of header conditions."""
    theirs = {h.name.lower(): h for h in b}
    for mine in a:
        other = theirs.get(mine.name.lower())
        if other is not None and not _values_overlap(mine, other):
            return False
    return True


def path_elements(path: PathMatch) -> tuple[str, ...] | None:
    """The ``/``-separated elements every path that ``path`` matches starts with.

    For an ``Exact`` path, its own elements; for a prefix, the prefix's; for a regex,
    the whole elements its RE2 bounds share (every string between two bounds starts
    with what they have in common: ``/api/v[0-9]+`` matches only under ``/api``). Two
    paths overlap only when the elements of one start with those of the other, which
    lets the plan keep held paths in a tree of elements and compare a path with its
    ancestors and (unless it is exact) its descendants only. None when no element is
    known: the prefix ``/``, a regex that may match any path.

    Example:
        >>> from meshops.model.ingress import PathMatchType as T
        >>> path_elements(PathMatch(T.PathPrefix, "/shop/"))
        ('shop',)
        >>> path_elements(PathMatch(T.Exact, "/a/"))
        ('a', '')
        >>> path_elements(PathMatch(T.RegularExpression, "/api/v[0-9]+/.*"))
        ('api',)
    """
    if path.type is PathMatchType.RegularExpression:
        value = _regex_stem(_regex(path))
    elif path.type is PathMatchType.Exact:
        value = path.value
    else:
        value = _base(path.value)
    return tuple(value.split("/")[1:]) if value else None


def _regex_stem(regex: Regex) -> str:
    """The whole path elements every match of ``regex`` starts with, as a path ("": none)."""
    bounds = regex.bounds
    if bounds is None:
        return ""
    lo, hi = bounds
    n = 0
    while n < min(len(lo), len(hi)) and lo[n] == hi[n]:
        n += 1
    common = lo[:n]
    if not common.startswith(b"/"):
        return ""
    # Cut before a '/' the bounds share, the stem is whole characters of the pattern.
    return common[: common.rfind(b"/")].decode(errors="replace")


def _base(prefix: str) -> str:
    """A prefix as the Gateway API compares it: without its trailing ``/`` ("" for "/")."""
    return prefix.rstrip("/")


def _under(base: str, path: str) -> bool:
    """Whether a prefix (as :func:`_base` gives it) matches ``path``, element-wise."""
    return path == base or path.startswith(base + "/")


def _regex(path: PathMatch) -> Regex:
    regex = path.regex
    assert regex is not None  # a RegularExpression path has one
    return regex


def _regex_meets_prefix(regex: Regex, base: str) -> bool:
    """Whether ``regex`` may fully match a path the prefix ``base`` matches.

    Such a path is ``base`` itself, or lies in ``[base + "/", base + "0")``.
    """
    if base and regex.fullmatch(base):
        return True
    bounds = regex.bounds
    if bounds is None:
        return True
    lo, hi = bounds
    start = base.encode()
    return not (hi < start + b"/" or lo >= start + b"0")


def _regexes_overlap(a: Regex, b: Regex) -> bool:
    if a.pattern == b.pattern:
        return True
    mine, theirs = a.bounds, b.bounds
    if mine is None or theirs is None:
        return True
    return not (mine[1] < theirs[0] or theirs[1] < mine[0])


def _values_overlap(a: HeaderMatch, b: HeaderMatch) -> bool:
    if a.regex is None and b.regex is None:
        return a.value == b.value
    if a.regex is None:
        a, b = b, a
    assert a.regex is not None
    if b.regex is None:
        return a.regex.fullmatch(b.value)
    return _regexes_overlap(a.regex, b.regex)
