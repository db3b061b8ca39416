"""Finding the Go-built tools, and waiting for istioctl's background build."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from meshops.testing import tools


def make_tools(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MESHOPS_TOOLS_BIN", str(tmp_path))
    make_tools(tmp_path, "etcd", "kube-apiserver")
    return tmp_path


def test_a_missing_tool_is_named_with_how_to_build_it(folder: Path) -> None:
    with pytest.raises(tools.ToolsMissing, match=r"^istioctl not built in .*run gotools/build"):
        tools.bin_dir(Path("."))
    assert tools.bin_dir(Path("."), "etcd", "kube-apiserver") == folder


def test_istioctl_is_waited_for_while_its_background_build_holds_the_lock(folder: Path) -> None:
    lock = (folder / ".istioctl.lock").open("wb")
    fcntl.flock(lock, fcntl.LOCK_EX)
    finished: list[bool] = []

    def build_ends() -> None:
        make_tools(folder, "istioctl")
        finished.append(True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()

    builder = threading.Timer(0.2, build_ends)
    builder.start()
    try:
        assert tools.bin_dir(Path("."), "istioctl") == folder
        assert finished == [True]
    finally:
        builder.join()


def test_a_failed_background_build_is_reported_with_its_log(folder: Path) -> None:
    (folder / ".istioctl.lock").touch()
    (folder / "istioctl.build.log").write_text(
        "gotools/build: building istioctl from istio.io/istio/istioctl/cmd/istioctl\n"
        "go: disk full\ngotools/build: building istioctl failed\n"
    )
    with pytest.raises(
        tools.ToolsMissing,
        match=r"log ends: .*go: disk full / gotools/build: building istioctl failed",
    ):
        tools.bin_dir(Path("."), "istioctl")
