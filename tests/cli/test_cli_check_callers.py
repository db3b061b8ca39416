"""Tests for ``meshops check`` on what a caller brings: its IP, a JWT, --direct, --from-outside.

Runs examples/shop.yaml: calls to a pod address (only ztunnel's L4 policies apply),
callers off the mesh (no identity), the caller's IP and JWT in the text and in every
field of the JSON, the JWT read from a token file, and each user error as one line with
exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from meshops.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
ISSUER = "https://id.example.com"
CLAIMS = json.dumps({"iss": ISSUER, "sub": "alice", "groups": ["admin"]})


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["check", str(EXAMPLE), *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_direct_to_the_pods_skips_the_waypoint(capsys: pytest.CaptureFixture[str]) -> None:
    """Through the Service the waypoint denies /admin; to a pod address only ztunnel checks."""
    args = ("--from", "frontend", "--to", "cart", "--method", "GET", "--path", "/admin")
    status, out, _ = check(capsys, *args)
    assert status == 1 and "1. waypoint shop/waypoint: denied" in out
    assert check(capsys, *args, "--direct") == (
        0,
        "ALLOWED: shop/frontend -> pods of shop/cart:8080 (GET /admin)\n"
        "  1. ztunnel (pods app.kubernetes.io/name=cart in shop): allowed: no ALLOW policy "
        "applies here: allowed by default\n",
        "",
    )


def test_from_outside_has_no_identity(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = check(capsys, "--from-outside", "--to", "cart-db")
    assert (status, err) == (1, "")
    assert out.splitlines()[:3] == [
        "DENIED: outside the mesh -> shop/cart-db:5432 (TCP)",
        "  1. ztunnel (pods app.kubernetes.io/name=cart-db in shop): denied: no rule of the "
        "ALLOW policies here (shop/shop-cart-db-pods) matches",
        "     note: a caller off the mesh reaches the pods directly: it skips waypoint "
        "shop/waypoint",
    ]


def test_ip_and_jwt_in_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = check(
        capsys,
        *("--from", "frontend", "--to", "cart", "--path", "/cart"),
        *("--source-ip", "10.0.0.1", "--jwt-claims", CLAIMS),
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[1] == f"  caller: IP 10.0.0.1, JWT {ISSUER}/alice"
    assert lines[3] == (
        f"     note: the JWT of issuer {ISSUER!r} is taken as valid, but no "
        "RequestAuthentication among the objects (in shop or istio-system) accepts that "
        "issuer: without one Istio reads no request.auth.* from it"
    )


def test_every_new_field_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = check(
        capsys,
        *("--from-outside", "--to", "frontend", "--direct", "--source-ip", "192.0.2.7"),
        "--output",
        "json",
    )
    report = json.loads(out)
    assert status == 1 and report["from"] == "outside the mesh"
    assert report["to"] == "pods of shop/frontend:8080"
    assert report["call"] == {
        "service": None,
        "direct": True,
        "from_outside": True,
        "port": 8080,
        "http": False,
        "method": None,
        "path": None,
        "host": None,
        "source_ip": "192.0.2.7",
        "jwt": None,
    }
    assert report["delegations"] == [] and report["hops"][0]["delegations"] == []


def test_the_jwt_from_a_token_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text(
        jwt.encode(
            json.loads(CLAIMS),
            "a key the evaluator never checks, 32+ bytes long",
            algorithm="HS256",
        )
        + "\n"
    )
    status, out, _ = check(
        capsys,
        "--from",
        "frontend",
        "--to",
        "cart",
        "--path",
        "/cart",
        "--jwt-file",
        str(token),
        "--output",
        "json",
    )
    report = json.loads(out)
    assert status == 0
    assert report["call"]["jwt"] == {"principal": f"{ISSUER}/alice", "claims": json.loads(CLAIMS)}
    assert report["call"]["http"] is True and report["call"]["method"] == "GET"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source-ip", "10.0.0.256"], "source IP '10.0.0.256' is not an IPv4 or IPv6 address"),
        (["--jwt-claims", "[1"], "--jwt-claims '[1' is not JSON: Expecting ',' delimiter"),
        (["--jwt-claims", "[1]"], "--jwt-claims: the claims must be a JSON object, got [1]"),
        (["--jwt-claims", '{"iss": "x"}'], "--jwt-claims: JWT claim 'sub': Field required"),
        (
            ["--jwt-file", "/no/such/token"],
            "--jwt-file '/no/such/token' cannot be read: [Errno 2] No such file or directory:"
            " '/no/such/token'",
        ),
        (
            ["--host", "cart.example", "--direct"],
            "--host names a Service's host: a call with --direct has none",
        ),
    ],
)
def test_user_errors(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert check(capsys, "--from", "frontend", "--to", "cart", *args) == (
        2,
        "",
        f"meshops check: {message}\n",
    )


def test_a_file_that_holds_no_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("not a token")
    status, out, err = check(
        capsys, "--from", "frontend", "--to", "cart", "--jwt-file", str(token)
    )
    assert (status, out) == (2, "")
    assert (
        err
        == f"meshops check: --jwt-file {str(token)!r} holds no valid JWT: Not enough segments\n"
    )


def test_a_jwt_needs_an_http_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(capsys, "--from", "cart", "--to", "cart-db", "--jwt-claims", CLAIMS) == (
        2,
        "",
        "meshops check: port 5432 of app 'cart-db' is tcp: a JWT needs an http or grpc port\n",
    )
