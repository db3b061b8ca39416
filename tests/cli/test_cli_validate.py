"""Tests for ``meshops validate``: exit 0 and a summary, or every error and exit 2.

As text for people, or JSON for programs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshops.cli import EXIT_INVALID, EXIT_OK, main

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
BAD = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: p}
spec:
  namespaces: [{name: shop, mesh: ambiant}]
  hardend: true
"""


def test_a_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == f"{EXAMPLE}: valid (3 namespaces, 6 apps, 3 routes)\n"
    assert captured.err == ""


def test_a_valid_file_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE), "--output", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {
        "valid": True,
        "errors": [],
        "namespaces": 3,
        "apps": 6,
        "routes": 3,
        "hardened": False,
    }


def test_an_invalid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BAD)
    assert main(["validate", str(path)]) == EXIT_INVALID
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{path}:5:35: spec.namespaces[0].mesh: mesh 'ambiant' must be one of 'ambient', "
        "'sidecar', 'off'; did you mean 'ambient'?",
        f"{path}:6:3: spec.hardend: unknown key 'hardend'; did you mean 'hardened'?",
    ]


def test_an_invalid_file_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BAD)
    assert main(["validate", str(path), "--output", "json"]) == EXIT_INVALID
    captured = capsys.readouterr()
    assert captured.err == ""
    report = json.loads(captured.out)
    assert report["valid"] is False
    assert [(e["line"], e["column"], e["path"]) for e in report["errors"]] == [
        (5, 35, "spec.namespaces[0].mesh"),
        (6, 3, "spec.hardend"),
    ]
    assert report["errors"][1]["file"] == str(path)
    assert report["errors"][1]["message"] == "unknown key 'hardend'; did you mean 'hardened'?"


def test_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == EXIT_INVALID
    assert "cannot read the file" in capsys.readouterr().err


def test_a_hardened_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BAD.replace("ambiant", "ambient").replace("hardend", "hardened"))
    assert main(["validate", str(path)]) == EXIT_OK
    assert capsys.readouterr().out.endswith("(1 namespaces, 0 apps, 0 routes, deny by default)\n")


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.yaml"
    # invalid YAML too: only the size is reported, so it was never parsed
    big.write_text(EXAMPLE.read_text() + "\n[\n" + "# padding\n" * 1_000_000)
    assert big.stat().st_size > 10_000_000
    assert main(["validate", str(big)]) == EXIT_INVALID
    assert capsys.readouterr().err == (
        f"{big}: the file is larger than 10 MB, the most that is read; refused unread "
        "(--max-file-size raises the limit)\n"
    )
    assert main(["validate", str(big), "--max-file-size", "11"]) == EXIT_INVALID
    assert "YAML syntax error" in capsys.readouterr().err


def test_the_size_limit_can_be_lowered_and_is_reported_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    limit = "0.001"  # 1,000 bytes; the example is larger
    assert main(["validate", str(EXAMPLE), "--max-file-size", limit, "--output", "json"]) == 2
    [error] = json.loads(capsys.readouterr().out)["errors"]
    assert error["message"].startswith("the file is larger than 1000 bytes, the most")


@pytest.mark.parametrize("value", ["0", "-1", "ten", "nan", "inf"])
def test_the_size_limit_must_be_a_positive_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(EXAMPLE), "--max-file-size", value]) == EXIT_INVALID
    assert f"{value!r} is not a positive number of megabytes" in capsys.readouterr().err
