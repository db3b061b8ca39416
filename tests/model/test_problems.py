"""meshops.model.problems: how a problem reads, and the one "did you mean" rule."""

from __future__ import annotations

import pytest

from meshops.model.problems import SUGGESTION_CUTOFF, Problem, closest, did_you_mean


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        pytest.param(
            Problem("service-mesh:3", "policies[0]", "bad", app="grafana"),
            "service-mesh:3 (grafana): policies[0]: bad",
            id="source-app-field",
        ),
        pytest.param(
            Problem("mesh.yaml:12:5", "ports[1]", "bad"),
            "mesh.yaml:12:5: ports[1]: bad",
            id="field",
        ),
        pytest.param(Problem("config", "", "bad", app="x"), "config (x): bad", id="no-field"),
        pytest.param(Problem("config", "", "bad"), "config: bad", id="source-only"),
    ],
)
def test_a_problem_reads_source_app_field_then_message(problem: Problem, text: str) -> None:
    assert str(problem) == text


def test_problems_sort_by_source_then_field_then_message_then_app() -> None:
    problems = [
        Problem("b", "a", "a"),
        Problem("a", "b", "a"),
        Problem("a", "a", "b"),
        Problem("a", "a", "a", app="z"),
        Problem("a", "a", "a"),
    ]
    assert sorted(problems) == problems[::-1]


CLOSEST_CASES = [
    pytest.param("post", ["GET", "POST"], "POST", id="case-does-not-count"),
    pytest.param("backend_port", ["backendPort", "port"], "backendPort", id="nor-underscores"),
    pytest.param("back-end", ["backend"], "backend", id="nor-dashes"),
    # Equal but for case, - and _ wins over a closer spelling, and the first such wins.
    pytest.param("a-b", ["abc", "A_B", "ab"], "A_B", id="normal-equal-first"),
    pytest.param("a-b-c-d", ["a-b-c-x", "abcd"], "abcd", id="dashes-do-not-count"),
    pytest.param("a_b_c_d", ["a_b_c_x", "abcd"], "abcd", id="nor-do-underscores"),
    pytest.param("STRASSE", ["straße"], "straße", id="caseless-as-unicode-says"),
    pytest.param("PSOT", ["GET", "POST", "PUT"], "POST", id="misspelt"),
    # Of equally close candidates, the first given.
    pytest.param("abcd", ["abcx", "abcy"], "abcx", id="tie-first"),
    pytest.param("abcd", ["abcy", "abcx"], "abcy", id="tie-first-reversed"),
    # The closest wins wherever it is given.
    pytest.param("abcdef", ["abcxyz", "abcdez"], "abcdez", id="closest-later"),
    # At the cutoff (2 * 3 alike of 10 characters) a candidate is offered; below, none.
    pytest.param("abcde", ["abcxy"], "abcxy", id="at-cutoff"),
    pytest.param("abcde", ["abcxyz"], None, id="below-cutoff"),
    pytest.param("zzz", ["cart"], None, id="nothing-close"),
    pytest.param("cart", [], None, id="no-candidates"),
]


@pytest.mark.parametrize(("value", "candidates", "expected"), CLOSEST_CASES)
def test_closest(value: str, candidates: list[str], expected: str | None) -> None:
    assert closest(value, candidates) == expected
    assert closest(value, iter(candidates)) == expected  # any iterable, read once


def test_the_cutoff_is_the_one_the_cases_above_are_measured_at() -> None:
    assert SUGGESTION_CUTOFF == 0.6


def test_did_you_mean() -> None:
    assert did_you_mean("fronted", ["frontend", "cart"]) == "; did you mean 'frontend'?"
    assert did_you_mean("zzz", ["frontend", "cart"]) == ""
