"""Stage into a charm's lib/ the meshops modules its code imports, and nothing else.

``charms/pack.sh`` runs this before ``charmcraft pack``: the charm's ``src/`` is read,
every ``meshops`` module it imports, directly or through other meshops modules, is
found with :mod:`modulefinder` (the standard library's import tracer, which follows
``from x import y`` to submodules and packages' ``__init__``), and those files alone
are copied to ``lib/meshops/``, so a charm carries neither the command line, nor the
platform file, nor the test fakes, nor the plan code of another charm.

Usage: ``python3 charms/stage.py CHARM_DIR`` (prints what it staged, one module a line).
"""

from __future__ import annotations

import modulefinder
import shutil
import sys
from pathlib import Path

__all__ = ["meshops_modules", "stage"]

SRC = Path(__file__).resolve().parent.parent / "src"
#: Packages whose data files (not modules) a charm needs beside their code: the CRDs
#: the project carries (the istio-k8s charm installs the Gateway API's).
DATA_PACKAGES = ("meshops.crds",)


def meshops_modules(charm: Path) -> dict[str, Path]:
    """The meshops modules the charm's ``src/*.py`` import, name -> file."""
    # Searching only the charm's src/ and the repository's src/ keeps the tracer out of
    # site-packages: third-party imports are left unresolved, which is all we need.
    finder = modulefinder.ModuleFinder(path=[str(charm / "src"), str(SRC)])
    for script in sorted((charm / "src").glob("*.py")):
        finder.run_script(str(script))
    found: dict[str, Path] = {}
    for name, module in finder.modules.items():
        file: str | None = getattr(module, "__file__", None)
        if (name == "meshops" or name.startswith("meshops.")) and file:
            found[name] = Path(file)
    return dict(sorted(found.items()))


def stage(charm: Path) -> dict[str, Path]:
    """Replace ``charm/lib/meshops`` with the modules :func:`meshops_modules` finds."""
    modules = meshops_modules(charm)
    target = charm / "lib" / "meshops"
    shutil.rmtree(target, ignore_errors=True)
    for path in modules.values():
        dest = target / path.relative_to(SRC / "meshops")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    for name in DATA_PACKAGES:
        if name in modules:
            package = modules[name].parent
            for path in sorted(package.rglob("*")):
                if path.is_file() and path.suffix != ".pyc" and "__pycache__" not in path.parts:
                    dest = target / path.relative_to(SRC / "meshops")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, dest)
    shutil.copy2(SRC / "meshops" / "py.typed", target / "py.typed")
    return modules


def main(argv: list[str]) -> int:
    """Stage the charm named by ``argv[1]`` (its directory)."""
    if len(argv) != 2 or not (Path(argv[1]) / "charmcraft.yaml").is_file():
        print("usage: charms/stage.py CHARM_DIR (holding a charmcraft.yaml)", file=sys.stderr)
        return 2
    for name in stage(Path(argv[1])):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
