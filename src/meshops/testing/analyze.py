"""``istioctl analyze`` on a set of objects, offline: files only, no cluster.

:func:`analyze` writes the objects to a file in a temporary folder and runs the pinned
istioctl on it (``istioctl analyze --use-kube=false --all-namespaces --output=json``,
every level down to Info), and returns its messages and the analyzers it skipped.

What istioctl does and does not judge offline (Istio 1.30):

- It reads Istio's kinds and the Gateway API's, CustomResourceDefinitions and
  workload controllers such as Deployments; it leaves out Services, Namespaces, Pods,
  Nodes and Secrets given in files (``kuberesource.DefaultExcludedSchemas``: it takes
  them from a cluster only), and skips every analyzer that needs one of them (which
  AuthorizationPolicies select no pod, which namespaces are on the mesh...). They are
  listed in :attr:`Analysis.skipped`.
- It ignores, without a word, documents of kinds it does not know (an IstioOperator).
- A document of a kind it knows that it cannot parse (a field of the wrong type, an
  unknown enum value) it reports on stderr and skips; :func:`analyze` raises
  :class:`AnalyzeFailed` for it instead, so that no object silently goes unjudged.

Example (with istioctl built by ``gotools/build``)::

    result = analyze(istioctl, objects)
    for message in result.messages:
        print(message)   # Warning [IST0129] (DestinationRule edge/...) ...
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import yaml

__all__ = ["Analysis", "AnalyzeFailed", "Message", "analyze"]


class _Dumper(yaml.SafeDumper):
    """A safe dumper writing a value used twice out twice, never as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class AnalyzeFailed(RuntimeError):
    """istioctl did not analyze the objects (it failed, or could not read some of them)."""


@dataclasses.dataclass(frozen=True, order=True)
class Message:
    """One message of ``istioctl analyze``.

    Attributes:
        code: the message's code, e.g. ``IST0127``.
        level: ``Error``, ``Warning`` or ``Info``.
        origin: the object it is about, as istioctl names it: ``Kind namespace/name``
            (``Kind name`` for a cluster-scoped object); empty when about none.
        text: what istioctl says.
    """

    code: str
    level: str
    origin: str
    text: str

    def __str__(self) -> str:
        return f"{self.level} [{self.code}] ({self.origin}) {self.text}"


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What one run of ``istioctl analyze`` found.

    Attributes:
        messages: its messages, sorted by code, level, origin and text.
        skipped: the analyzers it did not run, because they need kinds it does not
            read offline.
    """

    messages: tuple[Message, ...]
    skipped: tuple[str, ...]


def analyze(
    istioctl: Path,
    objects: Iterable[Mapping[str, Any]],
    *,
    mesh_config: Mapping[str, Any] | None = None,
    istio_namespace: str = "istio-system",
    timeout: float = 120,
) -> Analysis:
    """Run ``istioctl analyze`` offline on ``objects``.

    Args:
        istioctl: the istioctl binary.
        objects: the Kubernetes objects (of any kind istioctl reads).
        mesh_config: the MeshConfig to analyze under (e.g. the ``meshConfig`` an
            IstioOperator installs, with its ``rootNamespace``); default: Istio's.
        istio_namespace: the control plane's namespace.
        timeout: seconds istioctl may take.

    Raises:
        AnalyzeFailed: istioctl exited with an error, printed no messages it could
            parse, or could not read some of the objects.
    """
    with tempfile.TemporaryDirectory(prefix="meshops-analyze-") as tmp:
        folder = Path(tmp)
        objects_file = folder / "objects.yaml"
        objects_file.write_text(
            yaml.dump_all([dict(o) for o in objects], Dumper=_Dumper, sort_keys=False),
            encoding="utf-8",
        )
        command = [
            str(istioctl),
            "analyze",
            "--use-kube=false",
            "--all-namespaces",
            "--output=json",
            "--output-threshold=Info",
            "--color=false",
            "--verbose",
            f"--istioNamespace={istio_namespace}",
            f"--timeout={int(timeout)}s",
        ]
        if mesh_config is not None:
            mesh_file = folder / "mesh.yaml"
            mesh_file.write_text(yaml.safe_dump(dict(mesh_config)), encoding="utf-8")
            command.append(f"--meshConfigFile={mesh_file}")
        command.append(str(objects_file))
        try:
            run = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout + 30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AnalyzeFailed(f"{istioctl} analyze: {e}") from e
    if run.returncode != 0:
        raise AnalyzeFailed(f"istioctl analyze exited {run.returncode}: {run.stderr.strip()}")
    if "Error(s) adding files" in run.stderr:
        raise AnalyzeFailed(f"istioctl analyze could not read the objects: {run.stderr.strip()}")
    try:
        raw = json.loads(run.stdout)
    except ValueError as e:
        raise AnalyzeFailed(f"istioctl analyze printed no JSON: {run.stdout[:500]!r}") from e
    if not isinstance(raw, list):
        raise AnalyzeFailed(f"istioctl analyze printed {type(raw).__name__}, not a list")
    messages = sorted(_message(cast("Mapping[str, Any]", m)) for m in cast("list[Any]", raw))
    return Analysis(tuple(messages), _skipped(run.stderr))


def _skipped(stderr: str) -> tuple[str, ...]:
    """The analyzers ``--verbose`` lists under "Skipped analyzers:"."""
    names: list[str] = []
    listing = False
    for line in stderr.splitlines():
        if line.startswith("Skipped analyzers:"):
            listing = True
        elif listing and line.startswith("\t"):
            names.append(line.strip())
        else:
            listing = False
    return tuple(sorted(names))


def _message(raw: Mapping[str, Any]) -> Message:
    return Message(
        code=str(raw.get("code", "")),
        level=str(raw.get("level", "")),
        origin=str(raw.get("origin", "")),
        text=str(raw.get("message", "")),
    )
