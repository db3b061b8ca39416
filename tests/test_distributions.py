"""The distributions users install, built as wheels in the test run and tried on their own.

``distributions/`` holds three projects built from the one source tree: meshops-core
(the domain model and the Kubernetes reconciler), meshops-interfaces (the relation
libraries, what a charm depends on) and meshops (the command, without ops). Their
wheels are built here with setuptools (no build isolation, so nothing is fetched to
build them); each holds exactly its packages, and every package of ``src/meshops`` is
in one of them but ``meshops.charm`` (the project's own charms' glue, which
``charms/stage.py`` packs into them). Then two fresh virtualenvs: one with only the
interface wheel (and meshops-core, its dependency) beside ops runs the sample charm's
tests (``examples/mesh-charm``), finding none of the command's packages; one with the
command's wheel runs ``meshops validate`` without ops installed.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

import meshops

REPO = Path(__file__).resolve().parent.parent
DISTRIBUTIONS = ("meshops-core", "meshops-interfaces", "meshops")
# The packages under meshops/ each distribution holds (a module at the top: its file).
HOLDS = {
    "meshops-core": {"__init__.py", "py.typed", "model", "k8s"},
    "meshops-interfaces": {"interfaces"},
    "meshops": {"cli", "platform_file", "plan", "semantics", "testing", "crds"},
}
IN_NO_DISTRIBUTION = {"charm"}


def run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, env=env, check=False, **kwargs
    )  # type: ignore[call-overload]
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, argv))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}",
            pytrace=False,
        )
    return proc


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three wheels, built from a copy of the tree (builds leave files behind)."""
    root = tmp_path_factory.mktemp("build")
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(REPO / "src" / "meshops", root / "src" / "meshops", ignore=skip)
    shutil.copytree(REPO / "distributions", root / "distributions", ignore=skip)
    out = root / "wheels"
    for name in DISTRIBUTIONS:
        run(
            [
                *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"),
                *("--no-build-isolation", "-w", out, root / "distributions" / name),
            ]
        )
    built = {name: next(out.glob(f"{name.replace('-', '_')}-*.whl")) for name in DISTRIBUTIONS}
    for name, path in built.items():
        print(f"{name}: {path.stat().st_size / 1000:.0f} kB")
    return built


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(z.read(name).decode())


def top_level(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return {n.split("/")[1] for n in z.namelist() if n.startswith("meshops/")}


def test_each_wheel_holds_its_packages(wheels: dict[str, Path]) -> None:
    for name, wheel in wheels.items():
        assert top_level(wheel) == HOLDS[name], name
    with zipfile.ZipFile(wheels["meshops-interfaces"]) as z:
        libraries = {n.split("/")[2] for n in z.namelist() if n.count("/") == 3}
    assert libraries == {"service_mesh", "ingress", "istio_ingress_route"}


def test_every_package_is_in_one_distribution() -> None:
    source = {p.name for p in (REPO / "src" / "meshops").iterdir() if p.name != "__pycache__"}
    held = set().union(*HOLDS.values())
    assert source - held == IN_NO_DISTRIBUTION, "a package no distribution carries"
    assert held <= source


def test_versions_agree(wheels: dict[str, Path]) -> None:
    for wheel in wheels.values():
        assert metadata(wheel)["Version"] == meshops.__version__
    for name in ("meshops-interfaces", "meshops"):
        requires = metadata(wheels[name]).get_all("Requires-Dist") or []
        assert f"meshops-core=={meshops.__version__}" in requires


def test_the_command_and_the_core_do_not_pull_ops(wheels: dict[str, Path]) -> None:
    for name in ("meshops-core", "meshops"):
        requires = metadata(wheels[name]).get_all("Requires-Dist") or []
        assert not [r for r in requires if r.split()[0].split(">")[0].split("<")[0] == "ops"]
    interfaces = metadata(wheels["meshops-interfaces"]).get_all("Requires-Dist") or []
    assert any(r.startswith("ops") for r in interfaces)


def fresh_venv(path: Path, *requirements: str | Path) -> Path:
    """A new virtualenv holding ``requirements``, pinned as the tests' lock pins them."""
    # No pip of its own (ensurepip takes seconds): this pip installs into it.
    venv.create(path, with_pip=False)
    python = path / "bin" / "python"
    run(
        [
            *(sys.executable, "-m", "pip", "--python", python, "install", "-q"),
            *("-c", REPO / "requirements-dev.lock", *requirements),
        ]
    )
    return python


def test_a_charm_runs_on_the_interface_wheel_alone(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    started = time.monotonic()
    python = fresh_venv(
        tmp_path / "venv",
        wheels["meshops-core"],
        wheels["meshops-interfaces"],
        "ops[testing]",
        "pytest",
    )
    installed = time.monotonic()
    charm = tmp_path / "mesh-charm"
    shutil.copytree(REPO / "examples" / "mesh-charm", charm)
    (charm / "pytest.ini").write_text("[pytest]\naddopts = -W error -p no:cacheprovider\n")
    proc = run([python, "-m", "pytest", "-q", "tests"], cwd=charm)
    assert " passed" in proc.stdout
    script = (
        "import importlib.util as u; import meshops.interfaces.service_mesh; "
        "print([m for m in ('meshops.cli', 'meshops.platform_file', 'meshops.plan', "
        "'meshops.semantics', 'meshops.testing', 'meshops.charm') if u.find_spec(m)])"
    )
    absent = run([python, "-c", script])
    assert absent.stdout.strip() == "[]"
    print(f"venv {installed - started:.1f} s, charm tests {time.monotonic() - installed:.1f} s")


def test_the_command_runs_without_ops(wheels: dict[str, Path], tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv", wheels["meshops-core"], wheels["meshops"])
    proc = run(
        [tmp_path / "venv" / "bin" / "meshops", "validate", REPO / "examples" / "shop.yaml"]
    )
    assert "valid" in (proc.stdout + proc.stderr)
    found = run([python, "-c", "import importlib.util as u; print(u.find_spec('ops'))"])
    assert found.stdout.strip() == "None"
