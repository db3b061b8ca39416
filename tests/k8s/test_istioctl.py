"""meshops.k8s.istioctl: the real istioctl's manifests, cached per binary and settings.

Runs the istioctl gotools/build made: what it generates parses into a control plane's
objects; the second identical request answers from the cache (a damaged entry is
generated anew); other settings generate anew; istioctl's own refusal is one line; a
binary that prints what no control plane holds, or none at all, is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from meshops.k8s.istioctl import Istioctl, IstioctlError, IstioctlMissing, find_istioctl
from meshops.plan.control_plane import ControlPlaneSettings, istio_operator


def operator(**kw: object) -> dict[str, object]:
    return istio_operator(ControlPlaneSettings("istio-system", **kw), "1.30.3")  # type: ignore[arg-type]


def test_generates_a_control_plane_and_caches_it(istioctl: Path, tmp_path: Path) -> None:
    ctl = Istioctl(istioctl, cache_dir=tmp_path)
    objects = ctl.manifest_generate(operator())
    kinds = {o["kind"] for o in objects}
    assert {"CustomResourceDefinition", "Deployment", "DaemonSet"} <= kinds
    assert len(list(tmp_path.glob("*.json"))) == 1
    # the same request again answers from the cache: what the entry holds
    (entry,) = tmp_path.glob("*.json")
    marker = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-cache"}}]
    entry.write_text(json.dumps(marker))
    assert ctl.manifest_generate(operator()) == marker
    entry.write_text("not json")  # a damaged entry: generated anew
    assert ctl.manifest_generate(operator()) == objects
    assert ctl.manifest_generate(operator(log_level="debug")) != objects
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_istioctls_refusal_is_one_line(istioctl: Path) -> None:
    bad = {**operator(), "spec": {"profile": "no-such-profile"}}
    with pytest.raises(IstioctlError) as raised:
        Istioctl(istioctl).manifest_generate(bad)
    assert str(raised.value).startswith("istioctl manifest generate failed: ")
    assert "\n" not in str(raised.value)


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "istioctl"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_what_no_control_plane_holds_is_refused(tmp_path: Path) -> None:
    pod = script(tmp_path, "echo 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}'")
    with pytest.raises(IstioctlError, match="kinds meshops does not manage: v1/Pod"):
        Istioctl(pod).manifest_generate(operator())
    empty = script(tmp_path, "true")
    with pytest.raises(IstioctlError, match="generated nothing"):
        Istioctl(empty).manifest_generate(operator())


def test_finding_istioctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(IstioctlMissing, match=r"no istioctl in .* nor on PATH"):
        find_istioctl(None, [tmp_path])
    with pytest.raises(IstioctlMissing, match="is not an executable file"):
        find_istioctl(tmp_path / "nope")
    found = script(tmp_path, "true")
    assert find_istioctl(None, [tmp_path]) == found
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{tmp_path / 'empty'}")
    assert find_istioctl(None) == found
