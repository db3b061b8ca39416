"""Istio's manifests, as the real ``istioctl manifest generate`` makes them.

meshops writes no Istio manifest itself: istioctl renders Istio's own charts for its
release, and :class:`Istioctl` runs it (offline: it reads no cluster) on an
IstioOperator document and parses what it prints. Generating takes istioctl a few
seconds, so each result is kept in a cache folder, keyed by the binary (its real path,
size and modification time) and the document: the same istioctl asked the same thing
answers from the cache, and a new istioctl (an upgrade) generates anew.

Example:
    >>> ctl = Istioctl(find_istioctl(None, [Path("bin")]))  # doctest: +SKIP
    >>> objects = ctl.manifest_generate(operator)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import yaml

from meshops.k8s.kinds import CONTROL_PLANE_KINDS, kind_of

__all__ = ["Istioctl", "IstioctlError", "IstioctlMissing", "find_istioctl"]

Obj = dict[str, Any]
#: How many generated manifests the cache keeps (the newest).
CACHE_ENTRIES = 8
#: The longest istioctl may take to generate, in seconds.
TIMEOUT = 120.0


class IstioctlMissing(RuntimeError):
    """No istioctl where it was looked for; the message says where."""


class IstioctlError(RuntimeError):
    """istioctl failed, or printed something that is not a control plane's manifests."""


def find_istioctl(given: Path | None, folders: Sequence[Path] = ()) -> Path:
    """The istioctl to run: ``given``, else the first in ``folders``, else the one on PATH.

    Raises:
        IstioctlMissing: none is there (or ``given`` is not an executable).
    """
    if given is not None:
        if given.is_file() and os.access(given, os.X_OK):
            return given
        raise IstioctlMissing(f"istioctl {str(given)!r} is not an executable file")
    for folder in folders:
        candidate = folder / "istioctl"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("istioctl")
    if found is None:
        where = ", ".join(str(f) for f in folders)
        raise IstioctlMissing(
            f"no istioctl in {where} nor on PATH" if where else "no istioctl on PATH"
        )
    return Path(found)


@dataclasses.dataclass(frozen=True)
class Istioctl:
    """One istioctl binary, and where its generated manifests are cached.

    Attributes:
        path: the binary.
        cache_dir: the cache folder (None: no cache).
    """

    path: Path
    cache_dir: Path | None = None

    def manifest_generate(self, operator: Mapping[str, Any]) -> list[Obj]:
        """The objects ``istioctl manifest generate -f`` makes of ``operator``.

        Raises:
            IstioctlError: istioctl failed (its last line of error is quoted), or
                printed an object of a kind an Istio control plane does not hold.
        """
        text = json.dumps(operator, sort_keys=True)
        cached = self._cache_file(text)
        if cached is not None and cached.exists():
            # kept as JSON: reading it back is ten times faster than parsing the YAML
            try:
                return _checked(json.loads(cached.read_text(encoding="utf-8")), str(cached))
            except ValueError:
                cached.unlink(missing_ok=True)  # a damaged entry: generate anew
        with tempfile.TemporaryDirectory(prefix="meshops-istioctl-") as tmp:
            spec = Path(tmp) / "operator.json"
            spec.write_text(text, encoding="utf-8")
            output = self._run("manifest", "generate", "-f", str(spec))
        objects = _parse(output, "istioctl manifest generate")
        if cached is not None:
            self._store(cached, json.dumps(objects))
        return objects

    def version(self) -> str:
        """The Istio release this istioctl generates (``istioctl version --remote=false``)."""
        cached = self._cache_file("version")
        if cached is not None and cached.exists():
            return cached.read_text(encoding="utf-8").strip()
        # "client version: 1.30.3"
        printed = self._run("version", "--remote=false", "--short").strip().splitlines()
        version = printed[-1].rpartition(":")[2].strip() if printed else ""
        if not version:
            raise IstioctlError("istioctl version printed no version")
        if cached is not None:
            self._store(cached, version)
        return version

    # -- helpers ---------------------------------------------------------------------------

    def _run(self, *args: str) -> str:
        try:
            run = subprocess.run(
                [str(self.path), *args],
                capture_output=True,
                text=True,
                check=False,
                timeout=TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise IstioctlError(f"istioctl {args[0]} could not run: {e}") from e
        if run.returncode != 0:
            lines = [line for line in run.stderr.splitlines() if line.strip()]
            last = lines[-1].strip() if lines else f"exit status {run.returncode}"
            raise IstioctlError(f"istioctl {' '.join(args[:2])} failed: {last}")
        return run.stdout

    def _cache_file(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        real = self.path.resolve()
        stat = real.stat()
        identity = f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}\0{key}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        return self.cache_dir / f"{digest}.json"

    def _store(self, path: Path, text: str) -> None:
        """Write one cache entry (atomically), keeping only the newest entries."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
            entries = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
            for old in entries[:-CACHE_ENTRIES]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs the next call a generation


def _parse(text: str, source: str) -> list[Obj]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs: list[object] = list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as e:
        raise IstioctlError(f"{source}: not YAML: {e}") from e
    return _checked(docs, source)


def _checked(docs: object, source: str) -> list[Obj]:
    """The mapping documents of ``docs``, all of kinds a control plane holds."""
    if not isinstance(docs, list):
        raise IstioctlError(f"{source}: not a list of objects")
    objects = [cast("Obj", d) for d in cast("list[object]", docs) if isinstance(d, dict) and d]
    unknown = sorted(
        {f"{o.get('apiVersion')}/{o.get('kind')}" for o in objects if not _control_plane_kind(o)}
    )
    if unknown:
        raise IstioctlError(
            f"{source}: istioctl generated kinds meshops does not manage: {', '.join(unknown)}"
        )
    if not objects:
        raise IstioctlError(f"{source}: istioctl generated nothing")
    return objects


def _control_plane_kind(obj: Mapping[str, Any]) -> bool:
    try:
        return kind_of(obj) in CONTROL_PLANE_KINDS
    except ValueError:
        return False
