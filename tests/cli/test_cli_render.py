"""Tests for the meshops command: ``meshops render``, ``--help``, ``--version``, exit codes.

Runs ``main(argv)`` in process (capturing stdout and stderr), and the installed
``meshops`` script in a subprocess: same bytes in both, the same with any hash seed, and
rendering imports neither ops nor lightkube.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meshops import __version__, platform_file
from meshops.cli import EXIT_INVALID, EXIT_OK, main
from meshops.cli.output import objects_yaml
from meshops.cli.render import APPLY_ORDER, file_objects
from meshops.model.ownership import stamp
from meshops.plan.ingress import plan_ingress
from meshops.plan.istio import istio_operator
from meshops.plan.platform import platform_objects

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<rest>.+)$")


def test_render_prints_the_objects_as_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(EXAMPLE)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert err == ""
    objects, problems = file_objects(platform_file.read_file(EXAMPLE))
    assert problems == []
    assert (
        istio_operator(platform_file.load_file(EXAMPLE)) is None
    )  # its istio section is a comment
    assert out == objects_yaml(objects)
    assert out.startswith("---\n")
    assert out.endswith("\n")
    assert list(yaml.safe_load_all(out)) == objects
    # Each object carries the marks meshops apply writes (kubectl and meshops agree).
    mesh = [
        stamp(o, "meshops.shop", "platform")
        for o in platform_objects(platform_file.load_file(EXAMPLE))[0]
    ]
    assert [o for o in objects if o in mesh] == mesh  # the mesh's objects, in their order
    ingress = platform_file.read_file(EXAMPLE).ingress
    assert ingress is not None
    plan = plan_ingress(ingress.gateway, ingress.route_sets, ingress.waypoints)
    assert [o for o in objects if o not in mesh] == [  # then the ingress's, by kind
        stamp(o, "meshops.shop", "platform")
        for kind in APPLY_ORDER
        for o in plan.objects
        if o["kind"] == kind
    ]
    heads = [(o["kind"], o["metadata"].get("namespace", "")) for o in yaml.safe_load_all(out)]
    assert heads == [
        ("Namespace", ""),  # ingress
        ("Namespace", ""),  # monitoring
        ("Namespace", ""),  # shop
        ("Gateway", "monitoring"),  # waypoint
        ("Gateway", "shop"),  # waypoint
        ("Gateway", "ingress"),  # edge
        ("HTTPRoute", "ingress"),  # the redirect to HTTPS
        ("HTTPRoute", "shop"),  # route shop
        ("HTTPRoute", "shop"),  # route www
        ("HTTPRoute", "monitoring"),  # route grafana
        ("AuthorizationPolicy", "monitoring"),  # shop-prometheus-svc
        ("AuthorizationPolicy", "shop"),  # shop-cart-db-pods
        ("AuthorizationPolicy", "shop"),  # shop-cart-db-svc
        ("AuthorizationPolicy", "shop"),  # shop-cart-svc
        ("AuthorizationPolicy", "shop"),  # shop-catalogue-svc
        ("AuthorizationPolicy", "monitoring"),  # the gateway may reach grafana
        ("AuthorizationPolicy", "shop"),  # the gateway may reach the frontend
    ]
    assert [o["metadata"]["name"] for o in mesh] == [
        "ingress",
        "monitoring",
        "shop",
        "waypoint",
        "waypoint",
        "shop-prometheus-svc",
        "shop-cart-db-pods",
        "shop-cart-db-svc",
        "shop-cart-svc",
        "shop-catalogue-svc",
    ]


def test_render_twice_gives_the_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    main(["render", str(EXAMPLE)])
    first = capsys.readouterr().out
    main(["render", str(EXAMPLE)])
    assert capsys.readouterr().out == first


def test_an_invalid_file_prints_one_line_per_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text()
        .replace("namespace: monitoring", "namspace: monitoring", 1)
        .replace("ports: [5432]", "ports: [5432, 70000]")
        .replace("from: [grafana]", "from: [graphana]")
    )
    assert main(["render", str(bad)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines == [
        f"{bad}:64:25: spec.apps[3].accepts[0].ports[1]: port 70000 must be an integer 1-65535",
        f"{bad}:67:7: spec.apps[4].namspace: unknown key 'namspace'; did you mean 'namespace'?",
    ]
    assert all(ERROR_LINE.match(line) for line in lines)
    assert "Traceback" not in err
    # once the schema errors are fixed, the plan's are reported (graphana is unknown)
    bad.write_text(bad.read_text().replace("namspace", "namespace").replace(", 70000", ""))
    assert main(["render", str(bad)]) == EXIT_INVALID
    assert capsys.readouterr().err == (
        f"{bad}:71:18: spec.apps[4].accepts[0].from[0]: unknown app 'monitoring/graphana'; "
        "did you mean 'monitoring/grafana'?\n"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the file: No such file or directory"),
        ("a: [\n", "YAML syntax error: expected the node content"),
        ("[1, 2]\n", "a platform file must be a mapping"),
        ("", "the file holds no YAML document"),
    ],
    ids=["missing", "syntax", "not a mapping", "empty"],
)
def test_user_errors_never_show_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    path = tmp_path / "p.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["render", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(str(path))
    assert expected in err
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out == f"meshops {__version__}\n"


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "render" in out
    assert "meshops render examples/shop.yaml" in out
    assert main(["render", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "usage: meshops render [-h] [--max-file-size MB] [-o DIR] [--istioctl PATH]" in out
    assert "meshops render examples/shop.yaml -o out/" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "a command is required"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["render"], "the following arguments are required: FILE"),
        (["render", "a.yaml", "b.yaml"], "unrecognized arguments: b.yaml"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert main(argv) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.count("\n") == 1, "one line"
    assert err.startswith("meshops")
    assert expected in err
    assert "(usage: meshops" in err


def _script() -> str:
    found = shutil.which("meshops", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("the meshops script is not installed: pip install --no-deps -e .")
    return found


def test_the_installed_script_renders_the_same_bytes_with_any_hash_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["render", str(EXAMPLE)])
    expected = capsys.readouterr().out
    outputs: list[str] = []
    for seed in ("0", "1", "random"):
        result = subprocess.run(
            [_script(), "render", str(EXAMPLE)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=60,
        )
        assert (result.returncode, result.stderr) == (0, "")
        outputs.append(result.stdout)
    assert outputs == [expected] * 3


def test_the_installed_script_reports_errors_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: meshops.io/v1alpha1\nkind: Platform\n")
    result = subprocess.run(
        [_script(), "render", str(bad)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:1:1: metadata: 'metadata' is required",
        f"{bad}:1:1: spec: 'spec' is required",
    ]


def test_render_imports_neither_ops_nor_lightkube() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from meshops.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['render', {str(EXAMPLE)!r}]) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('ops', 'lightkube'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout == "[]\n"
