"""``meshops check`` and ``graph`` over examples/bank.yaml: ambient and sidecar namespaces.

The ledger's namespace runs sidecars: its accept rules are enforced by the ledger's own
sidecar, L7 fields included, with no waypoint before it; the ledger calling into the
ambient namespace passes that namespace's waypoint, then ztunnel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshops import platform_file
from meshops.cli import main
from meshops.cli.graph import EdgeKind, describe, dot_source

BANK = Path(__file__).parents[2] / "examples" / "bank.yaml"

LEDGER = "sidecar (pods app.kubernetes.io/name=ledger in payments)"


@pytest.fixture
def bank() -> Path:
    return BANK


@pytest.mark.parametrize(
    ("args", "status", "lines"),
    [
        pytest.param(
            [
                "--from",
                "web/frontend",
                "--to",
                "payments/ledger:8080",
                "--method",
                "POST",
                "--path",
                "/entries",
            ],
            0,
            [
                "ALLOWED: web/frontend -> payments/ledger:8080 (POST /entries)",
                f"  1. {LEDGER}: allowed: rule 0 of ALLOW policy payments/bank-ledger-pods "
                "matches",
            ],
            id="l7 rule at the callee's sidecar",
        ),
        pytest.param(
            ["--from", "web/frontend", "--to", "payments/ledger:8080", "--path", "/entries"],
            1,
            [
                "DENIED: web/frontend -> payments/ledger:8080 (GET /entries)",
                f"  1. {LEDGER}: denied: no rule of the ALLOW policies here "
                "(payments/bank-ledger-pods) matches",
            ],
            id="method refused by the sidecar",
        ),
        pytest.param(
            ["--from", "payments/reconciler", "--to", "payments/ledger:9090"],
            0,
            [
                "ALLOWED: payments/reconciler -> payments/ledger:9090 (TCP)",
                f"  1. {LEDGER}: allowed: rule 1 of ALLOW policy payments/bank-ledger-pods "
                "matches",
                "     note: rule 0 of payments/bank-ledger-pods cannot match: it needs HTTP "
                "fields (methods, paths), not an HTTP call",
            ],
            id="l4 rule at the sidecar",
        ),
        pytest.param(
            ["--from", "payments/ledger", "--to", "web/accounts", "--path", "/accounts/7"],
            0,
            [
                "ALLOWED: payments/ledger -> web/accounts:8080 (GET /accounts/7)",
                "  1. waypoint web/waypoint: allowed: rule 0 of ALLOW policy "
                "web/bank-accounts-svc matches",
                "  2. ztunnel (pods app.kubernetes.io/name=accounts in web): allowed: no ALLOW "
                "policy applies here: allowed by default",
                "     note: ztunnel sees the waypoint's identity "
                "cluster.local/ns/web/sa/waypoint, not the caller's",
            ],
            id="a caller with a sidecar through an ambient waypoint",
        ),
    ],
)
def test_check_with_sidecar_semantics(
    capsys: pytest.CaptureFixture[str], bank: Path, args: list[str], status: int, lines: list[str]
) -> None:
    assert main(["check", str(bank), *args]) == status
    captured = capsys.readouterr()
    assert (captured.out.splitlines(), captured.err) == (lines, "")


def test_render_labels_the_sidecar_namespace_and_gives_it_no_waypoint(
    capsys: pytest.CaptureFixture[str], bank: Path
) -> None:
    assert main(["validate", str(bank)]) == 0
    assert capsys.readouterr().out == f"{bank}: valid (2 namespaces, 4 apps, 0 routes)\n"
    assert main(["render", str(bank)]) == 0
    out = capsys.readouterr().out
    assert "istio-injection: enabled" in out
    assert out.count("kind: Gateway\n") == 1  # the ambient namespace's waypoint only


def test_graph_draws_the_sidecar_namespace_and_its_sidecar_enforced_calls(bank: Path) -> None:
    graph = describe(platform_file.read_file(bank))
    assert {c.title: c.lines for c in graph.clusters} == {
        "web": ("ambient mesh",),
        "payments": ("sidecar mesh",),
    }
    kinds = {(e.tail, e.head): (e.kind, e.title) for e in graph.edges}
    assert kinds == {
        ("app:web/frontend", "app:payments/ledger"): (EdgeKind.call_sidecar, ""),
        ("app:payments/reconciler", "app:payments/ledger"): (EdgeKind.call_sidecar, "L4"),
        ("app:payments/ledger", "app:web/accounts"): (EdgeKind.call, ""),
    }
    assert "by the callee's sidecar" in dot_source(graph)
