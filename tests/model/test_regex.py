"""meshops.model.regex: a regex is compiled as Envoy compiles it, RE2 within Istio's limit.

Refusals name the field, quote the regex and say why in RE2's own words.
"""

from __future__ import annotations

import re

import pytest

from meshops.model.regex import MAX_PROGRAM_SIZE, MAX_REGEX_LENGTH, Regex, check_regex

# Each "a{1000}" compiles to 1,000 instructions; with 764 more "a" and RE2's 4 of its
# own the program is exactly Istio's limit.
AT_LIMIT = "a{1000}" * 32 + "a" * 764


def refusal(value: object, field: str = "path.value") -> str:
    with pytest.raises(ValueError, match=f"^{re.escape(field)}: regex ") as raised:
        check_regex(value, field)
    return str(raised.value)


def test_a_regex_re2_accepts_matches_in_full() -> None:
    regex = check_regex("/api/v[0-9]+", "path.value")
    assert isinstance(regex, Regex)
    assert regex.pattern == "/api/v[0-9]+"
    assert regex.fullmatch("/api/v2")
    assert not regex.fullmatch("/api/v2/x")


@pytest.mark.parametrize("value", [5, None, b"/a"])
def test_a_regex_must_be_a_string(value: object) -> None:
    assert refusal(value) == f"path.value: regex {value!r} must be a string"


def test_a_regex_may_be_as_long_as_the_longest_crd_value() -> None:
    assert check_regex("a" * MAX_REGEX_LENGTH, "x").pattern == "a" * MAX_REGEX_LENGTH


def test_a_longer_regex_is_quoted_cut_short() -> None:
    long = "b" + "a" * MAX_REGEX_LENGTH
    assert refusal(long, "headers[0].value") == (
        f"headers[0].value: regex {long[:40]!r}... is {MAX_REGEX_LENGTH + 1} characters, "
        f"at most {MAX_REGEX_LENGTH}"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("(?=a)", "invalid perl operator: (?="),
        ("x**", "bad repetition operator: **"),
        ("a{1001}", "invalid repetition size: {1001}"),
        ("[é-a]", "invalid character class range: é-a"),
    ],
)
def test_what_re2_refuses_is_refused_in_its_words(value: str, reason: str) -> None:
    assert refusal(value) == (
        f"path.value: regex {value!r} is not one RE2 (Envoy) accepts: {reason}"
    )


def test_a_refusal_is_said_once_not_printed_by_re2_too(capfd: pytest.CaptureFixture[str]) -> None:
    refusal("(?=a)")
    assert capfd.readouterr() == ("", "")


def test_a_program_of_istios_limit_passes_and_one_more_instruction_does_not() -> None:
    assert check_regex(AT_LIMIT, "x").pattern == AT_LIMIT
    over = AT_LIMIT + "a"
    assert refusal(over, "x") == (
        f"x: regex {over!r} compiles to an RE2 program of {MAX_PROGRAM_SIZE + 1} "
        f"instructions; Istio's Envoy refuses more than {MAX_PROGRAM_SIZE}"
    )
