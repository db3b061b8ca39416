"""Load a charm's ``src/charm.py`` as a module, for ops.testing tests and benchmarks.

A charm's source is not a package: each charm's tests and the benchmarks import it from
its file, under a module name of their choosing (once per process).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["load_charm"]


def load_charm(charm_dir: Path, module_name: str) -> ModuleType:
    """The module ``<charm_dir>/src/charm.py``, imported as ``module_name``.

    If a module of that name is imported already, that one is returned.
    """
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, charm_dir / "src" / "charm.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no charm source at {charm_dir / 'src' / 'charm.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
