"""The command line's own errors: one line, exit 2, "did you mean", and JSON when asked.

Misspelt subcommands, choices and options get the closest known one by the project's
one rule (case, '-' and '_' aside, then difflib at one cutoff); ``check --method`` and
``--path`` are checked as routes and policies check them; with ``--output json`` every
error is JSON on stdout (where the answer would be), naming file, line and column.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshops.cli import EXIT_INVALID, main
from meshops.model.problems import closest, did_you_mean

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "shop.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["valdiate", EXAMPLE], "did you mean 'validate'?"),
        (["Render", EXAMPLE], "did you mean 'render'?"),
        (["validate", EXAMPLE, "--output", "jsn"], "did you mean 'json'?"),
        (["check", EXAMPLE, "--from", "frontend", "--to", "cart", "--metod", "GET"], "'--method'"),
    ],
)
def test_misspellings_get_one_line_and_a_guess(
    capsys: pytest.CaptureFixture[str], argv: list[str], guess: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (EXIT_INVALID, "")
    assert err.count("\n") == 1
    assert guess in err


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--method", "PSOT", "method 'PSOT' is not one of CONNECT, DELETE"),
        ("--method", "FETCH", "method 'FETCH' is not one of"),
        ("--path", "cart", "path 'cart' must start with '/'"),
        ("--path", "/cart/../admin", "must not contain '/../'"),
        ("--path", "/cart?x=1", "may hold only letters"),
    ],
)
def test_check_method_and_path_are_checked(
    capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
) -> None:
    status, out, err = run(
        capsys, "check", EXAMPLE, "--from", "frontend", "--to", "cart", option, value
    )
    assert (status, out) == (EXIT_INVALID, "")
    assert err.startswith(f"meshops check: {option}: ")
    assert expected in err


def test_a_misspelt_method_gets_a_guess(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(
        capsys, "check", EXAMPLE, "--from", "frontend", "--to", "cart", "--method", "PSOT"
    )
    assert err.rstrip().endswith("did you mean 'POST'?")


def test_a_method_in_lower_case_is_that_method(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "check", EXAMPLE, "--from", "frontend", "--to", "cart", "--method", "post"
    )
    assert status in (0, 1)
    assert "(POST /)" in out


def test_errors_are_json_with_output_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(
        capsys, "check", EXAMPLE, "--from", "frontnd", "--to", "cart", "--output", "json"
    )
    assert (status, err) == (EXIT_INVALID, "")
    document = json.loads(out)
    assert document["command"] == "meshops check"
    assert document["exit"] == EXIT_INVALID
    assert "did you mean 'frontend'?" in document["errors"][0]["message"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n")
    status, out, err = run(capsys, "check", str(bad), "--from", "a", "--to", "b", "--output=json")
    assert (status, err) == (EXIT_INVALID, "")
    error = json.loads(out)["errors"][0]
    assert (error["file"], error["line"], error["column"]) == (str(bad), 1, 1)


def test_usage_errors_are_json_with_output_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "valdiate", EXAMPLE, "--output", "json")
    assert (status, err) == (EXIT_INVALID, "")
    assert "did you mean 'validate'?" in json.loads(out)["errors"][0]["message"]


def test_one_rule_for_did_you_mean() -> None:
    assert closest("backend_port", ["backendPort", "port"]) == "backendPort"
    assert closest("HARDEND", ["hardened", "namespaces"]) == "hardened"
    assert closest("grpc", ["GRPCRoute", "grpc"]) == "grpc"
    assert closest("xyz", ["validate", "render"]) is None
    assert did_you_mean("carts", ["cart", "frontend"]) == "; did you mean 'cart'?"


def test_a_namespace_typo_is_reported_first_and_as_such(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = Path(EXAMPLE).read_text().splitlines(keepends=True)
    first_app = next(i for i, line in enumerate(lines) if line == "      namespace: shop\n")
    lines[first_app] = "      namespace: shpo\n"  # the frontend's namespace, misspelt
    route = next(i for i, line in enumerate(lines) if line.startswith("      - app: frontend"))
    lines[route] = lines[route].replace("app: frontend", "app: shop/frontend", 1)
    typo = tmp_path / "shop.yaml"
    typo.write_text("".join(lines))
    status, out, err = run(capsys, "validate", str(typo))
    assert (status, out) == (EXIT_INVALID, "")
    errors = err.splitlines()
    assert errors[0] == (
        f"{typo}:{first_app + 1}:18: spec.apps[0].namespace: namespace 'shpo' is not "
        "declared in namespaces; did you mean 'shop'?"
    )
    # Every reference to the app points at that cause, never at the typo as a fix.
    assert len(errors) > 1
    for line in errors[1:]:
        assert (
            "unknown app 'shop/frontend': app 'frontend' is declared in namespace 'shpo'" in line
        )
        assert "did you mean 'shpo/frontend'" not in line
