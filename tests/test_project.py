"""Project checks run with the tests: lint, formatting, layering and types.

ruff (lint and format), import-linter (the layering contracts in pyproject.toml) and
pyright (strict on src/meshops) each run as they would by hand; a failure prints their
report.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*argv: str, timeout: float = 300) -> None:
    tool = BIN / argv[0]
    exe = str(tool) if tool.exists() else shutil.which(argv[0])
    if exe is None:
        pytest.fail(f"{argv[0]} is not installed: install requirements-dev.lock")
    proc = subprocess.run(
        [exe, *argv[1:]], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)


def test_ruff_lint() -> None:
    run("ruff", "check", ".")


def test_ruff_format() -> None:
    run("ruff", "format", "--check", ".")


def test_layering_contracts() -> None:
    run("lint-imports")


def test_pyright() -> None:
    run("pyright")


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


#: Distributions a charm pins only when its code imports the module named.
IMPORTED_ONLY = {
    "charmlibs.interfaces.tls_certificates": {
        "charmlibs-interfaces-tls-certificates",
        "cryptography",
        "cffi",
        "pycparser",
    },
    "charmlibs.interfaces.istio_metadata": {"charmlibs-interfaces-istio-metadata"},
}


@pytest.mark.parametrize(
    "charm", sorted(p.parent.name for p in REPO.glob("charms/*/charmcraft.yaml"))
)
def test_charm_requirements_pin_what_the_lock_pins(charm: str) -> None:
    """A packed charm runs the same dependencies the tests ran, less what it does not use.

    The ecosystem's libraries of :data:`IMPORTED_ONLY` (and what they alone bring) are
    pinned only by a charm whose code, or the meshops modules packed with it, imports them.
    """
    pins = _pins(REPO / "charms" / charm / "requirements.txt")
    lock = _pins(REPO / "requirements.lock")
    assert {name: lock.get(name) for name in pins} == pins, "pinned otherwise than the lock"
    spec = importlib.util.spec_from_file_location("stage", REPO / "charms" / "stage.py")
    assert spec is not None and spec.loader is not None
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    sources = [*(REPO / "charms" / charm / "src").glob("*.py")]
    sources += stage.meshops_modules(REPO / "charms" / charm).values()
    texts = [p.read_text() for p in sources]
    expected = set(lock)
    for module, distributions in IMPORTED_ONLY.items():
        if not any(module in text for text in texts):
            expected -= distributions
    assert set(pins) == expected


def _public_modules() -> list[str]:
    """Every module of src/meshops a user may import: no part of its path starts with _."""
    root = REPO / "src"
    found: list[str] = []
    for path in sorted((root / "meshops").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            found.append(".".join(parts))
    return found


def test_every_public_module_says_what_it_exports() -> None:
    """An explicit ``__all__``, whose every name the module has."""
    import importlib

    lacking: list[str] = []
    for name in _public_modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            lacking.append(name)
            continue
        missing = [n for n in exported if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    assert lacking == []
