"""model.overlap: whether one request could meet two matches (paths, regexes, headers, gRPC).

Tables of pairs and the answer, each asked both ways round, and a property test that
checks every "no" against the requests themselves: a "no" must never be wrong.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshops.model.ingress import (
    GRPCMatch,
    HeaderMatch,
    HeaderMatchType,
    HTTPMatch,
    PathMatch,
    PathMatchType,
)
from meshops.model.mesh import Method
from meshops.model.overlap import (
    grpc_matches_overlap,
    hostnames_overlap,
    http_matches_overlap,
    path_elements,
    paths_overlap,
)

X, P, R = PathMatchType.Exact, PathMatchType.PathPrefix, PathMatchType.RegularExpression


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        # prefixes, by whole elements; a trailing '/' does not count
        ((P, "/shop"), (P, "/shop"), True),
        ((P, "/shop"), (P, "/shop/admin"), True),
        ((P, "/shop/"), (P, "/shop"), True),
        ((P, "/shop"), (P, "/shopping"), False),
        ((P, "/shop"), (P, "/cart"), False),
        ((P, "/shopX"), (P, "/shop/a"), False),  # only a trailing '/' does not count
        ((P, "/"), (P, "/anything/at/all"), True),
        # exact paths, inside a prefix or not
        ((P, "/shop"), (X, "/shop"), True),
        ((P, "/shop"), (X, "/shop/"), True),
        ((P, "/shop"), (X, "/shop/admin"), True),
        ((P, "/shop"), (X, "/shopx"), False),
        ((P, "/shop/admin"), (X, "/shop"), False),
        ((X, "/shop"), (X, "/shop"), True),
        ((X, "/shop"), (X, "/shop/"), False),
        ((P, "/"), (X, "/"), True),
        # a regex and an exact path: RE2 decides
        ((R, "/shop/.*"), (X, "/shop/admin"), True),
        ((R, "/shop/[0-9]+"), (X, "/shop/admin"), False),
        ((R, "/sh.p"), (X, "/shop"), True),
        # a regex and a prefix: apart only when RE2's bounds are
        ((R, "/shop/[0-9]+"), (P, "/shop"), True),
        ((R, "/shop-web/.*"), (P, "/shop-web"), True),
        ((R, ".*admin"), (P, "/shop"), True),
        ((R, "/shop/[0-9]+"), (P, "/shopping"), False),
        ((R, "/shop/[0-9]+"), (P, "/cart"), False),
        ((R, "/a/.*"), (P, "/a-b"), False),
        ((R, "/(shop|cart)/x"), (P, "/d"), True),  # cannot be ruled out: taken to overlap
        ((R, "/(?i)SHOP"), (P, "/shop"), True),
        ((R, "/x"), (P, "/"), True),
        ((R, "/"), (P, "/"), True),
        ((R, "/shop"), (P, "/shop"), True),  # the prefix itself
        ((R, "/shop-"), (P, "/shop"), False),  # '-' sorts before '/': not under /shop
        ((R, "/shop0"), (P, "/shop"), False),  # nor is what sorts from /shop0 on
        ((R, r"\C*x"), (P, "/shop"), True),  # RE2 cannot bound it: taken to overlap
        # two regexes
        ((R, "/shop/.*"), (R, "/shop/[0-9]+"), True),
        ((R, "/shop/[0-9]+"), (R, "/cart/[0-9]+"), False),
        ((R, ".*"), (R, "/cart"), True),
        ((R, "/a|/b"), (R, "/b|/c"), True),  # the one string both bounds hold
        ((R, r"\C*"), (R, "/cart"), True),
    ],
)
def test_paths(a: tuple[PathMatchType, str], b: tuple[PathMatchType, str], overlap: bool) -> None:
    first, second = PathMatch(*a), PathMatch(*b)
    assert paths_overlap(first, second) is overlap
    assert paths_overlap(second, first) is overlap


def exact(name: str, value: str) -> HeaderMatch:
    return HeaderMatch(name, value)


def regex(name: str, value: str) -> HeaderMatch:
    return HeaderMatch(name, value, HeaderMatchType.RegularExpression)


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (HTTPMatch(), HTTPMatch(PathMatch(P, "/shop")), True),
        # a method narrows: the same prefix, one method, still takes requests
        (HTTPMatch(PathMatch(P, "/a")), HTTPMatch(PathMatch(P, "/a"), Method.get), True),
        (
            HTTPMatch(PathMatch(P, "/a"), Method.get),
            HTTPMatch(PathMatch(P, "/a"), Method.post),
            False,
        ),
        # headers narrow; only a header both name can keep them apart
        (
            HTTPMatch(PathMatch(P, "/a")),
            HTTPMatch(PathMatch(P, "/a"), headers=(exact("x", "1"),)),
            True,
        ),
        (HTTPMatch(headers=(exact("X-V", "1"),)), HTTPMatch(headers=(exact("x-v", "1"),)), True),
        (HTTPMatch(headers=(exact("X-V", "1"),)), HTTPMatch(headers=(exact("x-v", "2"),)), False),
        (HTTPMatch(headers=(exact("x", "1"),)), HTTPMatch(headers=(exact("y", "2"),)), True),
        (HTTPMatch(headers=(regex("x", "[0-9]+"),)), HTTPMatch(headers=(exact("x", "12"),)), True),
        (
            HTTPMatch(headers=(regex("x", "[0-9]+"),)),
            HTTPMatch(headers=(exact("x", "ab"),)),
            False,
        ),
        (HTTPMatch(headers=(regex("x", "a.*"),)), HTTPMatch(headers=(regex("x", "b.*"),)), False),
        (HTTPMatch(headers=(regex("x", "a.*"),)), HTTPMatch(headers=(regex("x", ".*b"),)), True),
        # every condition must meet
        (
            HTTPMatch(PathMatch(P, "/a"), Method.get),
            HTTPMatch(PathMatch(P, "/b"), Method.get),
            False,
        ),
    ],
)
def test_http_matches(a: HTTPMatch, b: HTTPMatch, overlap: bool) -> None:
    assert http_matches_overlap(a, b) is overlap
    assert http_matches_overlap(b, a) is overlap


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (GRPCMatch(), GRPCMatch("shop.Cart", "Get"), True),
        (GRPCMatch("shop.Cart"), GRPCMatch("shop.Cart", "Get"), True),
        (GRPCMatch("shop.Cart"), GRPCMatch("shop.Users"), False),
        (GRPCMatch(method="Get"), GRPCMatch("shop.Cart", "Put"), False),
        (GRPCMatch(headers=(exact("x", "1"),)), GRPCMatch(headers=(exact("x", "2"),)), False),
    ],
)
def test_grpc_matches(a: GRPCMatch, b: GRPCMatch, overlap: bool) -> None:
    assert grpc_matches_overlap(a, b) is overlap
    assert grpc_matches_overlap(b, a) is overlap


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("*", "shop.example.com", True),
        ("*", "*.example.com", True),
        ("*.example.com", "shop.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "*.shop.example.com", True),
        ("shop.example.com", "cart.example.com", False),
        ("*.a.io", "*.b.io", False),
    ],
)
def test_hostnames(a: str, b: str, overlap: bool) -> None:
    assert hostnames_overlap(a, b) is overlap
    assert hostnames_overlap(b, a) is overlap


# -- every "no" checked against requests ---------------------------------------------------------

SEGMENTS = ("a", "b", "ab")
# every path of up to three elements over SEGMENTS, with and without a trailing '/'
PATHS = sorted(
    {"/"}
    | {
        "/" + "/".join(parts) + tail
        for n in (1, 2, 3)
        for parts in itertools.product(SEGMENTS, repeat=n)
        for tail in ("", "/")
    }
)
REGEXES = (
    "/a/.*",
    "/a.*",
    "/(a|b)",
    "/ab?/b",
    ".*/b",
    "/b/[ab]+",
    "/[ab]{2}/.*",
    "/b",
    "/a",
    "/a|/a/b",
)


def _matches(path: PathMatch, request: str) -> bool:
    if path.regex is not None:
        return path.regex.fullmatch(request)
    if path.type is X:
        return request == path.value
    base = path.value.rstrip("/")
    return request == base or request.startswith(base + "/")


path_matches = st.one_of(
    st.builds(PathMatch, st.sampled_from([X, P]), st.sampled_from(PATHS)),
    st.builds(PathMatch, st.just(R), st.sampled_from(REGEXES)),
)


@settings(max_examples=300, deadline=None)
@given(path_matches, path_matches)
def test_paths_said_apart_share_no_request(a: PathMatch, b: PathMatch) -> None:
    common = [p for p in PATHS if _matches(a, p) and _matches(b, p)]
    if common:
        assert paths_overlap(a, b), f"{a} and {b} both match {common[0]}"


def test_paths_sit_in_a_tree_of_their_elements() -> None:
    """What lets the plan keep held paths in a tree of their elements."""
    assert path_elements(PathMatch(P, "/shop/x/")) == ("shop", "x")
    assert path_elements(PathMatch(X, "/shop/")) == ("shop", "")
    assert path_elements(PathMatch(X, "/")) == ("",)
    assert path_elements(PathMatch(P, "/")) is None
    # a regex: the whole elements of what RE2's bounds share
    assert path_elements(PathMatch(R, "/shop/.*")) == ("shop",)
    assert path_elements(PathMatch(R, "/shop/x/[0-9]+")) == ("shop", "x")
    assert path_elements(PathMatch(R, "/sh.p/.*")) is None
    assert path_elements(PathMatch(R, ".*")) is None
    assert path_elements(PathMatch(R, "/ab[cd]/x/.*")) is None  # they part in 'abc'/'abd'
    assert path_elements(PathMatch(R, "[/x]a/.*")) is None  # nor is a '/' shared
    assert path_elements(PathMatch(R, r"\C*")) is None  # RE2 cannot bound it
    assert path_elements(PathMatch(R, "/é/x/.*")) == ("é", "x")


@settings(max_examples=300, deadline=None)
@given(path_matches, path_matches)
def test_paths_that_share_a_request_share_their_leading_elements(
    a: PathMatch, b: PathMatch
) -> None:
    mine, theirs = path_elements(a), path_elements(b)
    common = [p for p in PATHS if _matches(a, p) and _matches(b, p)]
    if common and mine is not None and theirs is not None:
        shorter = min(len(mine), len(theirs))
        assert mine[:shorter] == theirs[:shorter], f"{a} and {b} both match {common[0]}"
