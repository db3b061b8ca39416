"""Where the Go-built tools are: kube-apiserver, etcd and istioctl (``gotools/build``).

The repository's ``gotools/build`` compiles them from their official Go modules into a
cache folder outside the repository, one folder per pin. This module finds that folder
(``$MESHOPS_TOOLS_BIN`` overrides it) and the Go module cache's copy of a pinned module.

``gotools/build --istioctl-in-background`` leaves istioctl building after it exits, holding
the folder's ``.istioctl.lock``; :func:`bin_dir` asked for istioctl waits on that lock
(a blocking ``flock``, no polling), so tests that need istioctl start once it is built.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["TOOLS", "ToolsMissing", "bin_dir", "module_dirs", "require_go"]

#: The tools ``gotools/build`` makes.
TOOLS = ("kube-apiserver", "etcd", "istioctl")


class ToolsMissing(RuntimeError):
    """Go or a Go-built tool is not there; the message says how to get it."""


def require_go() -> str:
    """The path of ``go``.

    Raises:
        ToolsMissing: no ``go`` on PATH.
    """
    go = shutil.which("go")
    if go is None:
        raise ToolsMissing("no 'go' on PATH: install Go 1.26, then run gotools/build")
    return go


def bin_dir(repo: Path, *needed: str) -> Path:
    """The folder holding the tools built for the repository's current pins.

    Args:
        repo: the repository's root (holding ``gotools/``).
        needed: the tools that must be there (default: all of :data:`TOOLS`).

    Raises:
        ToolsMissing: Go is missing, or a tool is not built for these pins.
    """
    given = os.environ.get("MESHOPS_TOOLS_BIN")
    if given:
        folder = Path(given)
    else:
        require_go()
        script = repo / "gotools" / "build"
        run = subprocess.run(
            [str(script), "--bin-dir"], capture_output=True, text=True, check=False
        )
        if run.returncode not in (0, 3) or not run.stdout.strip():
            raise ToolsMissing(f"{script} --bin-dir failed: {run.stderr.strip()}")
        folder = Path(run.stdout.strip().splitlines()[-1])
    if "istioctl" in (needed or TOOLS) and not os.access(folder / "istioctl", os.X_OK):
        _wait_for_background_build(folder)
    missing = [tool for tool in needed or TOOLS if not os.access(folder / tool, os.X_OK)]
    if missing:
        log = folder / "istioctl.build.log"
        tail = ""
        if "istioctl" in missing and log.is_file():
            tail = "; its background build's log ends: " + " / ".join(
                log.read_text(errors="replace").strip().splitlines()[-3:]
            )
        raise ToolsMissing(
            f"{', '.join(missing)} not built in {folder}: run gotools/build "
            f"(it compiles them from their Go modules){tail}"
        )
    return folder


def _wait_for_background_build(folder: Path) -> None:
    """Block until no ``gotools/build`` holds ``folder``'s istioctl lock."""
    lock = folder / ".istioctl.lock"
    if not lock.is_file():
        return
    with lock.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        fcntl.flock(held, fcntl.LOCK_UN)


def module_dirs(module_root: Path, *modules: str) -> dict[str, Path]:
    """The Go module cache's folders of ``modules`` at the versions ``module_root`` pins.

    Args:
        module_root: a folder with a go.mod (e.g. ``gotools/istio``).
        modules: module paths, e.g. ``sigs.k8s.io/gateway-api``.

    Raises:
        ToolsMissing: Go is missing or a module cannot be had.
    """
    go = require_go()
    run = subprocess.run(
        [go, "mod", "download", "-json", *modules],
        cwd=module_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise ToolsMissing(f"go mod download {' '.join(modules)} failed: {run.stderr.strip()}")
    found: dict[str, Path] = {}
    for chunk in _json_stream(run.stdout):
        found[str(chunk["Path"])] = Path(str(chunk["Dir"]))
    return found


def _json_stream(text: str) -> list[dict[str, object]]:
    """The JSON objects of ``go ... -json`` output, which prints them one after another."""
    decoder = json.JSONDecoder()
    out: list[dict[str, object]] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return out
        value, index = decoder.raw_decode(text, index)
        out.append(value)
