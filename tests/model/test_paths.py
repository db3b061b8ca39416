"""meshops.model.paths: the one rule for request paths, and Istio's wildcards in policies.

Each refusal names the field and quotes the value with the rule it breaks; a value too
long to quote whole is cut to its first 40 characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from meshops.model.paths import MAX_PATH_LENGTH, check_path, check_policy_path

CHARS = "letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes"
LONG = "/" + "a" * MAX_PATH_LENGTH  # one character too many

#: Paths both functions take as they are.
ACCEPTED = [
    "/",
    "/cart/items",
    "/a-b_c.d~e!$&'()+,;=:@",
    "/caf%C3%A9",
    "/a/.well-known",
    "/" + "a" * (MAX_PATH_LENGTH - 1),
]

#: Paths both functions refuse, and why (after "paths[0]: path <value> ").
REFUSED = [
    ("cart", "must start with '/'"),
    ("", "must start with '/'"),
    ("/a b", f"may hold only {CHARS}"),
    ("/a?b", f"may hold only {CHARS}"),
    ("/a%2", f"may hold only {CHARS}"),
    ("/a//b", "must not contain '//'"),
    ("/a/./b", "must not contain '/./'"),
    ("/a/../b", "must not contain '/../'"),
    ("/a%2fb", "must not contain '%2f'"),
    ("/a%2Fb", "must not contain '%2F'"),
    ("/a/..", "must not end with '/.' or '/..'"),
    ("/a/.", "must not end with '/.' or '/..'"),
]

CHECKS: list[Callable[[object, str], str]] = [check_path, check_policy_path]


def refusal(check: Callable[[object, str], str], value: object, field: str = "paths[0]") -> str:
    """What ``check`` says when it refuses ``value``."""
    with pytest.raises(ValueError, match=f"^{re.escape(field)}: path ") as raised:
        check(value, field)
    return str(raised.value)


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("path", ACCEPTED)
def test_a_path_that_keeps_the_rule_is_returned(
    check: Callable[[object, str], str], path: str
) -> None:
    assert check(path, "paths[0]") == path


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize(("path", "why"), REFUSED)
def test_a_path_that_breaks_the_rule_is_refused_saying_which_rule(
    check: Callable[[object, str], str], path: str, why: str
) -> None:
    assert refusal(check, path) == f"paths[0]: path {path!r} {why}"


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("value", [5, None, b"/a"])
def test_a_path_must_be_a_string(check: Callable[[object, str], str], value: object) -> None:
    assert refusal(check, value) == f"paths[0]: path {value!r} must be a string"


@pytest.mark.parametrize("check", CHECKS)
def test_a_path_too_long_is_quoted_cut_short(check: Callable[[object, str], str]) -> None:
    assert refusal(check, LONG, "path") == (
        f"path: path {LONG[:40]!r}... is {MAX_PATH_LENGTH + 1} characters, "
        f"at most {MAX_PATH_LENGTH}"
    )


#: Istio's wildcard forms, which only policies take.
POLICY_ACCEPTED = [
    "*",
    "*.json",
    "*json",  # a suffix need not start with '/'
    "*/a",
    "/api/*",
    "/*",
    "/static/.*",  # a prefix may end in '/.'
    "/a/..*",
]

POLICY_REFUSED = [
    ("/a*b", "may use '*' only at its start or end"),
    ("/a*X", "may use '*' only at its start or end"),
    ("**/a", "may use '*' only at its start or end"),
    ("/a**", "may use '*' only at its start or end"),
    ("**", "may use '*' only at its start or end"),
    ("*/a*", "may use '*' at its start or its end"),
    ("api/*", "must start with '/'"),
    ("*a b", f"may hold only {CHARS}"),
    ("*a//b", "must not contain '//'"),
    ("*/..", "must not end with '/.' or '/..'"),
    ("*/a/.", "must not end with '/.' or '/..'"),
    ("/a//*", "must not contain '//'"),
    ("/a/../*", "must not contain '/../'"),
]


@pytest.mark.parametrize("path", POLICY_ACCEPTED)
def test_a_policy_path_may_be_any_a_suffix_or_a_prefix(path: str) -> None:
    assert check_policy_path(path, "paths[0]") == path


@pytest.mark.parametrize(("path", "why"), POLICY_REFUSED)
def test_a_policy_path_refused(path: str, why: str) -> None:
    assert refusal(check_policy_path, path) == f"paths[0]: path {path!r} {why}"


@pytest.mark.parametrize("path", ["*", "*.json", "/api/*"])
def test_a_route_path_takes_no_wildcard_at_its_start(path: str) -> None:
    # '*' is a path character: a route matches it literally, but must start with '/'.
    if path.startswith("/"):
        assert check_path(path, "path") == path
    else:
        with pytest.raises(ValueError, match="must start with '/'"):
            check_path(path, "path")


@pytest.mark.parametrize(
    ("path", "quoted"),
    [
        pytest.param("/" + "a" * 77 + "*b", repr("/" + "a" * 77 + "*b"), id="80-whole"),
        pytest.param("/" + "a" * 78 + "*b", repr("/" + "a" * 39) + "...", id="81-cut"),
    ],
)
def test_a_wildcard_refusal_quotes_a_long_path_cut_short(path: str, quoted: str) -> None:
    assert (
        refusal(check_policy_path, path)
        == f"paths[0]: path {quoted} may use '*' only at its start or end"
    )
