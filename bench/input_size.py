"""Benchmark: how long ``meshops validate`` takes, and how much memory, on large files.

For each size (1, 5 and 10 MB, each just under that many bytes) it writes three
platform files and runs ``meshops validate`` on each in a fresh interpreter (start-up
and imports included), measuring the wall time and the peak resident memory:

* ``apps``: the densest platform file there is, as many apps as fit (bench/cli.py's
  shape: hardened, accepts, an ingress route for every fifth app). At 1 MB it is valid
  (about 87,000 values); larger ones hold more than the 100,000 values a file may, and
  are refused as soon as the reader has seen that many;
* ``comments``: examples/shop.yaml padded with comment lines: valid at every size;
* ``string``: one scalar of the whole size (a Platform whose name is that long), refused
  by the schema.

And one file just over the 10 MB limit, refused unread (``over_limit``). Prints one JSON
line: for each file ``<shape>_<N>mb_s`` (wall time), ``..._cpu_s`` (the process's CPU
time: on a shared machine, what the wall time would be without the other work),
``..._peak_mb`` and ``..._exit``. Run: ``.venv/bin/python bench/input_size.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cli import platform_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop.yaml"
SIZES_MB = (1, 5, 10)
MB = 1_000_000


def apps(size: int) -> str:
    """The densest platform file of at most ``size`` bytes: as many apps as fit."""
    low, high = 1, size // 40
    while low < high:  # the most apps whose file fits
        middle = (low + high + 1) // 2
        if len(platform_text(middle).encode()) <= size:
            low = middle
        else:
            high = middle - 1
    return platform_text(low)


def comments(size: int) -> str:
    """examples/shop.yaml and comment lines, ``size`` bytes at most."""
    text = EXAMPLE.read_text()
    line = "# " + "padding " * 12 + "\n"
    count = (size - len(text.encode())) // len(line)
    return text + line * count


def string(size: int) -> str:
    """A platform file whose name is one scalar of nearly ``size`` bytes."""
    head = "apiVersion: meshops.io/v1alpha1\nkind: Platform\nmetadata:\n  name: "
    tail = "\nspec: {namespaces: [{name: a}]}\n"
    return head + "x" * (size - len(head) - len(tail)) + tail


#: ``meshops validate FILE`` in a fresh interpreter, then its peak memory on stderr. The
#: peak is the process's VmHWM: getrusage's ru_maxrss would count the parent's memory
#: at fork time as the child's.
_CHILD = """
import os, sys
from meshops.cli import main
status = main(["validate", sys.argv[1]])
with open("/proc/self/status") as f:
    kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
cpu = sum(os.times()[:2])
print(f"peak-kib {kib} cpu-s {cpu}", file=sys.stderr)
sys.exit(status)
"""


def measure(path: Path) -> tuple[float, float, float, int]:
    """``meshops validate PATH`` (Linux): wall and CPU seconds, peak MB, exit status."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    kib, cpu = done.stderr.rsplit("peak-kib ", 1)[1].split(" cpu-s ")
    return seconds, float(cpu), int(kib) / 1024, done.returncode


def main() -> None:
    shapes: dict[str, Callable[[int], str]] = {
        "apps": apps,
        "comments": comments,
        "string": string,
    }
    figures: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files: list[tuple[str, Path]] = []
        for mb in SIZES_MB:
            for shape, make in shapes.items():
                path = Path(tmp) / f"{shape}-{mb}mb.yaml"
                path.write_text(make(mb * MB - 1))
                files.append((f"{shape}_{mb}mb", path))
        over = Path(tmp) / "over-limit.yaml"
        over.write_text(comments(10 * MB + 1000))
        files.append(("over_limit", over))
        for name, path in files:
            seconds, cpu, peak, status = measure(path)
            figures[f"{name}_s"] = round(seconds, 2)
            figures[f"{name}_cpu_s"] = round(cpu, 2)
            figures[f"{name}_peak_mb"] = round(peak, 1)
            figures[f"{name}_exit"] = status
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
