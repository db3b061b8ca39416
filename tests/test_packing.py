"""charms/stage.py: each charm packs the meshops modules it imports, and only those.

For every charm, a copy is staged as ``charms/pack.sh`` stages it; the command line,
the platform file, the semantics, the test fakes and the CRDs stay out, and the
charm's module imports with meshops found in the staged ``lib/`` alone (every meshops
module it loads comes from there).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHARMS = sorted(p.parent.name for p in REPO.glob("charms/*/charmcraft.yaml"))
NEVER_PACKED = ("cli", "platform_file", "semantics", "testing")


def _stage_module():
    spec = importlib.util.spec_from_file_location("stage", REPO / "charms" / "stage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("charm", CHARMS)
def test_a_charm_packs_what_it_imports(charm: str, tmp_path: Path) -> None:
    copy = tmp_path / charm
    shutil.copytree(REPO / "charms" / charm, copy, ignore=shutil.ignore_patterns("lib", "tests"))
    staged = _stage_module().stage(copy)
    packages = {name.split(".")[1] for name in staged if name.count(".") >= 1}
    assert not packages & set(NEVER_PACKED)
    assert (copy / "lib" / "meshops" / "__init__.py").is_file()
    crds = REPO / "src" / "meshops" / "crds"
    carried = sorted(p.relative_to(crds) for p in crds.rglob("*.yaml"))
    packed = copy / "lib" / "meshops" / "crds"
    # The CRDs go with the code that reads them (the istio-k8s charm), whole, or not at all.
    assert sorted(p.relative_to(packed) for p in packed.rglob("*.yaml")) == (
        carried if "crds" in packages else []
    )
    check = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import charm; "
        "outside = [n for n, m in sys.modules.items() if n.split('.')[0] == 'meshops' "
        "and not (getattr(m, '__file__', None) or '').startswith(sys.argv[1])]; "
        "print(outside)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", check, str(copy / "lib"), str(copy / "src")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_stage_refuses_what_is_no_charm(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "charms" / "stage.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: charms/stage.py")
