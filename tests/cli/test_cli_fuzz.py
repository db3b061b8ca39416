"""Property tests: whatever file ``meshops render`` is given, it exits 0 or 2, never crashes.

Hypothesis writes random YAML documents (unicode, huge numbers, nulls, lists where
mappings belong), random text, and the example file (its ingress section included) with
one random part replaced, removed or added, drawing keys and values from the format's own
vocabulary; ``main`` must return 0 with YAML on stdout, or 2 with only
``file[:line:column]: ...`` lines on stderr.
"""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshops.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"
BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())

KEYS = st.sampled_from(
    [
        "apiVersion", "kind", "metadata", "spec", "name", "namespaces", "apps", "mesh",
        "namespace", "serviceAccount", "ports", "port", "protocol", "accepts", "from", "level",
        "methods", "paths", "hosts", "istio", "ingress", "hardened",
        # spec.ingress
        "gateway", "hostname", "httpPort", "httpsPort", "tls", "secret", "logLevel", "routes",
        "app", "hostnames", "matches", "path", "type", "value", "method", "service", "headers",
        "filters", "urlRewrite", "requestRedirect", "requestHeaderModifier",
        "responseHeaderModifier", "replacePrefixMatch", "replaceFullPath", "scheme",
        "statusCode", "set", "add", "remove", "backends", "weight", "backendScheme",
    ]
) | st.text(max_size=12)  # fmt: skip

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**60)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["ambient", "off", "l4", "l7", "http", "tcp", "GET", "/x", "shop", "cart"])
    | st.sampled_from(
        ["grpc", "tls", "h2c", "https", "PathPrefix", "RegularExpression", "URLRewrite", "edge"]
    )
    | st.sampled_from(["frontend", "monitoring/grafana", "*.example.com", "a.example.com", 443])
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)

settings_ = settings(
    max_examples=150,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def render(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["render", str(path)])
    assert status in (0, 2)
    if status == 0:
        assert err.getvalue() == ""
        assert out.getvalue() == "" or out.getvalue().startswith("---\n")
        list(yaml.safe_load_all(out.getvalue()))
    else:
        assert out.getvalue() == ""
        lines = err.getvalue().splitlines()
        assert lines
        assert all(line.startswith(f"{path}") for line in lines), lines


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a document: the keys and indexes leading to each value."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths_of(item, (*prefix, i))
    return found


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "p.yaml"


@settings_
@given(document=VALUES)
def test_random_documents(target: Path, document: Any) -> None:
    render(target, yaml.safe_dump(document, allow_unicode=True))


@settings_
@given(text=st.text(max_size=200))
def test_random_text(target: Path, text: str) -> None:
    render(target, text)


@settings_
@given(data=st.data())
def test_the_example_with_one_part_changed(target: Path, data: st.DataObject) -> None:
    document = copy.deepcopy(BASE)
    places = paths_of(document)
    place = data.draw(st.sampled_from(places[1:]), label="place")
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    action = data.draw(st.sampled_from(["replace", "remove", "add"]), label="action")
    if action == "replace":
        parent[place[-1]] = data.draw(VALUES, label="value")
    elif action == "remove":
        del parent[place[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(KEYS, label="key")] = data.draw(VALUES, label="value")
    else:
        parent.append(data.draw(VALUES, label="value"))
    render(target, yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def test_the_unchanged_example_renders(target: Path) -> None:
    render(target, EXAMPLE.read_text())
