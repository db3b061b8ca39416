"""Tests for ``meshops route``'s account of what applies once a rule is chosen.

A gRPC call no route serves, on examples/shop.yaml, in text and JSON (its gRPC status,
not an HTTP code); and the text lines for a backend's own filters, the headers each
backend receives, mirrors, timeouts, retries and CORS, from objects the platform file
cannot write yet (``outcome_lines`` prints any set of objects).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshops.cli import main
from meshops.cli.route import outcome_lines
from meshops.semantics.routing import Request, Routes

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
V1 = "gateway.networking.k8s.io/v1"


def test_a_grpc_call_with_no_route(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://nothing.example.com/"
    assert main(["route", str(EXAMPLE), url, "--grpc", "shop.Cart/Add"]) == 1
    assert capsys.readouterr().out.startswith("UNIMPLEMENTED: no route\n")
    assert main(["route", str(EXAMPLE), url, "--grpc", "shop.Cart/Add", "--output", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["grpc_status"] == {"name": "UNIMPLEMENTED", "code": 12}
    assert (data["http_status"], data["summary"]) == (200, "UNIMPLEMENTED: no route")


def objects(rule: dict[str, Any]) -> list[dict[str, Any]]:
    listener = {"name": "http", "port": 80, "protocol": "HTTP"}
    return [
        {
            "apiVersion": V1,
            "kind": "Gateway",
            "metadata": {"name": "edge", "namespace": "web"},
            "spec": {"gatewayClassName": "istio", "listeners": [listener]},
        },
        {
            "apiVersion": V1,
            "kind": "HTTPRoute",
            "metadata": {"name": "api", "namespace": "web"},
            "spec": {"parentRefs": [{"name": "edge"}], "rules": [rule]},
        },
    ]


def test_what_applies_in_the_text() -> None:
    rule = {
        "filters": [
            {
                "type": "RequestMirror",
                "requestMirror": {"backendRef": {"name": "shadow", "port": 80}, "percent": 10},
            },
            {"type": "CORS", "cors": {"allowOrigins": ["https://app.example"]}},
        ],
        "timeouts": {"request": "10s", "backendRequest": "2s"},
        "retry": {"attempts": 2, "codes": [503]},
        "backendRefs": [
            {
                "name": "api",
                "port": 8080,
                "filters": [
                    {
                        "type": "RequestHeaderModifier",
                        "requestHeaderModifier": {"set": [{"name": "x-v", "value": "2"}]},
                    }
                ],
            }
        ],
    }
    request = Request.from_url("http://a.example/", headers=[("origin", "https://app.example")])
    lines = outcome_lines(Routes.from_objects(objects(rule)).route(request))
    headers = next(i for i, line in enumerate(lines) if line.startswith("  headers"))
    assert lines[headers : lines.index("  why:")] == [
        "  headers   request   set x-v: 2  (backend Service web/api:8080 only)",
        "  received  Service web/api:8080 gets origin: https://app.example, x-v: 2",
        "  mirror    Service web/shadow:80  10% of requests, responses ignored",
        "  timeouts  request 10s, backendRequest 2s",
        "            retry up to 2 times on 503",
        "  cors      origin https://app.example allowed",
        "            Access-Control-Allow-Origin: https://app.example",
    ]
