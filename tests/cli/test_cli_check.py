"""Tests for ``meshops check``: ALLOWED or DENIED over the rendered policies, and why.

Runs examples/shop.yaml as written and hardened (deny by default): the verdict, each
enforcement point with the policy and rule that decided, the exit status, JSON, and
every user error as one line with exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshops.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"


def uncommented_example() -> str:
    """examples/shop.yaml with the istio section and hardened mode its comment shows."""
    text = EXAMPLE.read_text()
    head, _, tail = text.partition("add to spec:\n  #\n")
    lines = [line.replace("  # ", "  ", 1) for line in tail.splitlines(keepends=True)]
    return head + "\n" + "".join(lines)


@pytest.fixture
def hardened(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(uncommented_example())
    return path


def test_the_example_shows_a_valid_istio_section_and_hardened_mode(
    hardened: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "\n  istio:\n    profile: ambient\n" in hardened.read_text()
    assert main(["validate", str(hardened)]) == 0
    assert capsys.readouterr().out.endswith("(3 namespaces, 6 apps, 3 routes, deny by default)\n")


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["check", *argv])
    captured = capsys.readouterr()
    assert captured.err == ""
    return status, captured.out


def test_an_allowed_l7_call(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--from", "frontend", "--to", "cart", "--method", "post", "--path", "/cart/items")
    assert check(capsys, str(EXAMPLE), *args) == (
        0,
        "ALLOWED: shop/frontend -> shop/cart:8080 (POST /cart/items)\n"
        "  1. waypoint shop/waypoint: allowed: rule 0 of ALLOW policy shop/shop-cart-svc "
        "matches\n"
        "  2. ztunnel (pods app.kubernetes.io/name=cart in shop): allowed: no ALLOW policy "
        "applies here: allowed by default\n"
        "     note: ztunnel sees the waypoint's identity cluster.local/ns/shop/sa/waypoint, "
        "not the caller's\n",
    )


@pytest.mark.parametrize(
    ("args", "status", "first_line"),
    [
        pytest.param(
            ["--from", "frontend", "--to", "cart", "--method", "PUT", "--path", "/cart"],
            1,
            "DENIED: shop/frontend -> shop/cart:8080 (PUT /cart)",
            id="method not allowed",
        ),
        pytest.param(
            ["--from", "frontend", "--to", "catalogue", "--path", "/admin"],
            1,
            "DENIED: shop/frontend -> shop/catalogue:8080 (GET /admin)",
            id="path not allowed",
        ),
        pytest.param(
            ["--from", "monitoring/prometheus", "--to", "cart", "--path", "/metrics"],
            0,
            "ALLOWED: monitoring/prometheus -> shop/cart:8080 (GET /metrics)",
            id="from another namespace",
        ),
        pytest.param(
            ["--from", "cart", "--to", "cart-db:5432"],
            0,
            "ALLOWED: shop/cart -> shop/cart-db:5432 (TCP)",
            id="l4 rule",
        ),
        pytest.param(
            ["--from", "frontend", "--to", "cart-db"],
            1,
            "DENIED: shop/frontend -> shop/cart-db:5432 (TCP)",
            id="l4 rule, another caller",
        ),
        pytest.param(
            ["--from", "grafana", "--to", "frontend", "--path", "/"],
            0,
            "ALLOWED: monitoring/grafana -> shop/frontend:8080 (GET /)",
            id="no accepts: anyone",
        ),
        pytest.param(
            ["--from", "ingress/edge", "--to", "grafana"],
            0,
            "ALLOWED: gateway ingress/edge -> monitoring/grafana:3000 (TCP)",
            id="the ingress gateway",
        ),
    ],
)
def test_the_shop(
    capsys: pytest.CaptureFixture[str], args: list[str], status: int, first_line: str
) -> None:
    got, out = check(capsys, str(EXAMPLE), *args)
    assert (got, out.splitlines()[0]) == (status, first_line)


@pytest.mark.parametrize(
    ("args", "status", "decided"),
    [
        pytest.param(
            ["--from", "frontend", "--to", "cart", "--path", "/cart"],
            0,
            "  2. ztunnel (pods app.kubernetes.io/name=cart in shop): allowed: rule 0 of "
            "ALLOW policy shop/shop-from-waypoint matches",
            id="allowed at the waypoint, then the waypoint is allowed at the pods",
        ),
        pytest.param(
            ["--from", "grafana", "--to", "frontend", "--path", "/"],
            1,
            "  1. waypoint shop/waypoint: denied: no rule of the ALLOW policies here "
            "(istio-system/shop-waypoint-deny-all) matches",
            id="no accepts: nobody",
        ),
        pytest.param(
            ["--from", "edge", "--to", "frontend"],
            0,
            "  1. ztunnel (pods app.kubernetes.io/name=frontend in shop): allowed: rule 0 "
            "of ALLOW policy shop/edge-frontend-shop matches",
            id="the ingress gateway still reaches its backends",
        ),
    ],
)
def test_the_shop_hardened(
    capsys: pytest.CaptureFixture[str], hardened: Path, args: list[str], status: int, decided: str
) -> None:
    got, out = check(capsys, str(hardened), *args)
    assert got == status
    assert decided in out.splitlines()


def test_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = check(
        capsys, str(EXAMPLE), "--from", "frontend", "--to", "cart-db", "--output", "json"
    )
    assert status == 1
    report = json.loads(out)
    assert (report["from"], report["to"], report["verdict"]) == (
        "shop/frontend",
        "shop/cart-db:5432",
        "DENIED",
    )
    assert report["hops"][0]["enforcer"] == "waypoint shop/waypoint"
    assert report["hops"][0]["allowed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--from", "fronted", "--to", "cart"],
            "--from 'fronted' is not an app of the platform file; did you mean 'frontend'?",
        ),
        (
            ["--from", "frontend", "--to", "shop/kart"],
            "--to 'shop/kart' is not an app of the platform file; did you mean 'shop/cart'?",
        ),
        (
            ["--from", "frontend", "--to", "cart:9"],
            "port '9' is not a port of app 'cart' (its ports: 8080)",
        ),
        (
            ["--from", "frontend", "--to", "cart:http"],
            "port 'http' is not a port of app 'cart' (its ports: 8080)",
        ),
        (
            ["--from", "frontend", "--to", "cart-db", "--path", "/"],
            "port 5432 of app 'cart-db' is tcp: --method, --path and --host need an http or "
            "grpc port",
        ),
    ],
)
def test_user_errors(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["check", str(EXAMPLE), *args]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"meshops check: {message}\n")


def test_an_ambiguous_name_and_an_app_with_several_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "apiVersion: meshops.io/v1alpha1\nkind: Platform\nmetadata: {name: p}\nspec:\n"
        "  namespaces: [{name: a}, {name: b}]\n"
        "  apps:\n"
        "    - {name: api, namespace: a, ports: [{port: 80, protocol: http}, {port: 81}]}\n"
        "    - {name: api, namespace: b}\n"
    )
    assert main(["check", str(path), "--from", "api", "--to", "a/api:80"]) == 2
    assert (
        capsys.readouterr().err
        == "meshops check: --from 'api' is ambiguous: say which of a/api, b/api\n"
    )
    assert main(["check", str(path), "--from", "b/api", "--to", "a/api"]) == 2
    assert (
        capsys.readouterr().err
        == "meshops check: app 'api' has ports 80, 81: say which (--to api:PORT)\n"
    )
    assert main(["check", str(path), "--from", "b/api", "--to", "a/api:81"]) == 0


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    assert "meshops check examples/shop.yaml --from frontend --to cart" in capsys.readouterr().out
