"""Mutation testing of the core: which written promises does no test hold?

Runs mutmut on one module at a time, against the tests that cover that module only, and
prints one JSON line per module: ``mutants``, ``killed``, ``survived`` (not killed and
not listed as equivalent), ``equivalent`` (listed in ``dev/equivalent_mutants.toml``,
each with the reason it cannot change behaviour) and the surviving mutants' names.
A report for developers, not a gate: it exits 0 whatever survives (2 on a usage error).

Each module is mutated in a working copy of its own under ``.mutation/<module>/``
(``src/``, ``tests/``, ``examples/``, ``conftest.py`` and ``pyproject.toml`` with a
``[tool.mutmut]`` section for that module), made afresh on each run; it is left there
afterwards, for
``mutmut show NAME`` and ``mutmut browse`` in it. One mutmut process runs at a time,
with ``--max-children`` workers (default 1: the machine is shared). The tests run on the
fake API server only (their real-server runs skip); a module's tests that need istioctl
are given the one ``gotools/build`` made (``TOOLS``).

Usage::

    .venv/bin/python dev/mutation.py                      # every module of MODULES
    .venv/bin/python dev/mutation.py model/names.py plan/mesh.py
    .venv/bin/python dev/mutation.py --list               # the modules and their tests
    .venv/bin/python dev/mutation.py --show plan/mesh.py  # each survivor's diff too

Why ``dev/`` and not ``bench/``: ``bench/`` measures speed; this measures the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import tomllib  # Python 3.11 or later

from meshops.testing import tools

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".mutation"
EQUIVALENT = REPO / "dev" / "equivalent_mutants.toml"
MUTMUT = Path(sys.executable).parent / "mutmut"

#: Each module mutated (under src/meshops/) and the tests that cover it.
MODULES: dict[str, tuple[str, ...]] = {
    "model/names.py": ("tests/model/test_names.py",),
    "model/paths.py": ("tests/model/",),
    "model/ambient.py": (
        "tests/charm/test_placement.py",
        "tests/semantics/test_authz.py",
        "tests/semantics/test_authz_sidecar.py",
    ),
    "model/selectors.py": ("tests/model/test_selectors.py", "tests/semantics/"),
    "model/mesh.py": ("tests/model/test_mesh.py",),
    "model/problems.py": ("tests/model/", "tests/plan/test_mesh.py"),
    "model/regex.py": ("tests/model/",),
    "model/overlap.py": ("tests/model/test_overlap.py",),
    "model/ingress.py": ("tests/model/test_ingress.py",),
    "model/platform.py": ("tests/plan/test_platform.py", "tests/platform_file/"),
    "model/juju.py": ("tests/charm/test_placement.py", "tests/plan/test_placement.py"),
    "model/ownership.py": (
        "tests/k8s/test_reconciler.py",
        "tests/cli/test_cli_render.py",
        "tests/fake/test_fake_apply.py",
    ),
    "plan/mesh.py": (
        "tests/plan/test_mesh.py",
        "tests/plan/test_mesh_sidecar.py",
        "tests/plan/test_beacon.py",
        "tests/plan/test_platform_sidecar.py",
    ),
    "plan/beacon.py": ("tests/plan/test_beacon.py",),
    "plan/istio.py": ("tests/plan/test_istio.py",),
    "plan/placement.py": ("tests/plan/test_placement.py",),
    "plan/ingress.py": (
        "tests/plan/test_ingress.py",
        "tests/plan/test_ingress_objects.py",
        "tests/plan/test_ingress_claims.py",
        "tests/plan/test_ingress_ownership.py",
        "tests/plan/test_ingress_gateway_api.py",
    ),
    "plan/control_plane.py": (
        "tests/plan/test_control_plane.py",
        "tests/k8s/test_istioctl.py",
        "tests/cli/test_cli_control_plane.py",
        "charms/istio-k8s/tests/unit/test_charm.py",
    ),
    "plan/gateway_api.py": (
        "tests/plan/test_ingress_gateway_api.py",
        "charms/gateway-api-integrator/tests/unit/",
    ),
    "plan/ingress_report.py": ("tests/plan/test_ingress_report.py",),
    "plan/platform.py": (
        "tests/plan/test_platform.py",
        "tests/plan/test_platform_sidecar.py",
        "tests/platform_file/",
    ),
    "k8s/reconciler.py": ("tests/k8s/test_reconciler.py", "tests/k8s/test_reconciler_shared.py"),
    "semantics/authz.py": (
        "tests/semantics/test_authz.py",
        "tests/semantics/test_authz_callers.py",
        "tests/semantics/test_authz_objects_read.py",
        "tests/semantics/test_authz_sidecar.py",
    ),
    "semantics/authz_objects.py": ("tests/semantics/", "tests/cli/test_cli_check_sidecar.py"),
    "semantics/routing.py": (
        "tests/semantics/test_routing.py",
        "tests/semantics/test_routing_filters.py",
        "tests/semantics/test_routing_explained.py",
        "tests/semantics/test_routing_objects_read.py",
    ),
    "semantics/routing_objects.py": (
        "tests/semantics/test_routing.py",
        "tests/semantics/test_routing_filters.py",
        "tests/semantics/test_routing_explained.py",
        "tests/semantics/test_routing_objects_read.py",
        "tests/cli/test_cli_route.py",
        "tests/cli/test_cli_route_explain.py",
    ),
}

#: The Go-built tools a module's tests may use (linked into that run's MESHOPS_TOOLS_BIN).
#: istioctl only: it is one process per call and cheap, where one real API server per
#: mutant would cost 15-25 s.
TOOLS: dict[str, tuple[str, ...]] = {
    "plan/control_plane.py": ("istioctl",),
}

#: mutmut's statuses: which count as the tests noticing the mutant.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
NOT_RUN = {"not checked", "check was interrupted by user", "skipped"}


def slug(module: str) -> str:
    """The working copy's folder name for ``module`` (``plan/mesh.py`` → ``plan.mesh``)."""
    return module.removesuffix(".py").replace("/", ".")


def prepare(module: str, tests: Sequence[str]) -> Path:
    """A working copy for ``module``: the sources, the tests and a mutmut config."""
    work = WORK / slug(module)
    if work.exists():
        # mutmut keeps which tests cover which function from its last run, and would
        # not run a test added since: every run starts afresh.
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # Beside the sources and tests: the examples (some tests read them) and charms/ when
    # a charm's tests are among the module's, with gotools/ (the pins they read).
    extra = ["examples", *sorted({t.split("/")[0] for t in tests} - {"tests"})]
    if "charms" in extra:
        extra.append("gotools")
    for name in ("src", "tests", *extra):
        shutil.copytree(
            REPO / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    shutil.copy2(REPO / "conftest.py", work / "conftest.py")
    # Doctests are left out: collected from the mutated tree, each module would be
    # imported a second time under another name.
    config = (REPO / "pyproject.toml").read_text().replace(" --doctest-modules", "")
    config += (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"also_copy = {json.dumps(['conftest.py', *extra])}\n"
        f'only_mutate = ["src/meshops/{module}"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n"
        'pytest_add_cli_args = ["-q"]\n'
        "use_git_change_detection = false\n"
    )
    (work / "pyproject.toml").write_text(config)
    return work


def results(work: Path) -> dict[str, str]:
    """Every mutant's status, by name, as mutmut recorded it."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("meshops."):
            found[name] = status
    return found


def diff(work: Path, name: str) -> str:
    """The mutant's diff against the module, as ``mutmut show`` prints it."""
    out = subprocess.run(
        [str(MUTMUT), "show", name], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    return "\n".join(out.splitlines()[1:]).strip()


def changed_lines(text: str) -> list[str]:
    """The lines a diff adds (``+``), stripped: what an equivalent entry is matched on."""
    return [
        line[1:].strip()
        for line in text.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]


def equivalents(module: str) -> dict[str, dict[str, str]]:
    """The equivalent mutants listed for ``module``, by name."""
    if not EQUIVALENT.exists():
        return {}
    data = tomllib.loads(EQUIVALENT.read_text())
    return {e["name"]: e for e in data.get("mutant", []) if e["module"] == module}


def run(module: str, *, max_children: int, show: bool) -> dict[str, object]:
    """Mutate ``module``, run its tests against every mutant, and count."""
    tests = MODULES[module]
    work = prepare(module, tests)
    # Contract tests run on the fake only: with no API server in MESHOPS_TOOLS_BIN their
    # runs on a real one skip. The tools TOOLS names for the module are linked in.
    given = work / "tools"
    given.mkdir()
    wanted = TOOLS.get(module, ())
    if wanted:
        try:
            built = tools.bin_dir(REPO, *wanted)
        except tools.ToolsMissing as missing:
            return {"module": module, "error": str(missing)}
        for tool in wanted:
            (given / tool).symlink_to(built / tool)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["MESHOPS_TOOLS_BIN"] = str(given)
    proc = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(max_children)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = proc.stdout + proc.stderr
    (work / "mutmut-run.log").write_text(log)
    statuses = results(work)
    # mutmut stops early, exiting 1, when no test runs any mutated function: each mutant
    # then survives, untested (and a module of constants alone has no mutant at all).
    untested = "could not find any test case for any mutant" in log
    if untested:
        statuses = dict.fromkeys(statuses, "no tests")
    if not untested and (proc.returncode != 0 or not statuses):
        tail = log.strip().splitlines()[-15:]
        return {"module": module, "error": f"mutmut run exited {proc.returncode}", "log": tail}
    listed = equivalents(module)
    killed = [n for n, s in statuses.items() if s in KILLED]
    not_run = [n for n, s in statuses.items() if s in NOT_RUN]
    alive = [n for n, s in statuses.items() if s not in KILLED and s not in NOT_RUN]
    equivalent: list[str] = []
    survived: list[str] = []
    stale: list[str] = []
    diffs: dict[str, str] = {}
    for name in sorted(alive):
        text = diff(work, name)
        entry = listed.get(name)
        if entry is not None and entry["line"].strip() in changed_lines(text):
            equivalent.append(name)
            continue
        if entry is not None:
            stale.append(name)  # listed, but that name is another mutation now
        survived.append(name)
        diffs[name] = text
    report: dict[str, object] = {
        "module": module,
        "tests": list(tests),
        "tools": list(wanted),
        "mutants": len(statuses),
        "killed": len(killed),
        "survived": len(survived),
        "equivalent": len(equivalent),
        "not_run": len(not_run),
        "survivors": survived,
    }
    if stale:
        report["stale_equivalent_entries"] = stale
    if show:
        report["diffs"] = diffs
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the modules asked for (every one by default), printing a JSON line each."""
    parser = argparse.ArgumentParser(description="Mutation testing of the core, module by module")
    parser.add_argument("modules", nargs="*", help="modules under src/meshops (default: all)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument("--max-children", type=int, default=1, help="mutmut workers (1)")
    args = parser.parse_args(argv)
    if args.list:
        for module, tests in MODULES.items():
            print(f"{module}: {' '.join(tests)}")
        return 0
    gone = [t for tests in MODULES.values() for t in tests if not (REPO / t).exists()]
    if gone:
        parser.error(f"MODULES names tests that are not there: {', '.join(gone)}")
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not a module of MODULES: {', '.join(unknown)} (see --list)")
    if not MUTMUT.exists():
        parser.error(f"{MUTMUT} is missing: install requirements-dev.lock")
    for module in args.modules or list(MODULES):
        report = run(module, max_children=args.max_children, show=args.show)
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
