"""Label and field selectors on list requests.

Covers every label-selector operator (``=``, ``==``, ``!=``, ``in``, ``notin``, exists,
``!``, ``>``/``<``) through lightkube and raw queries, 400 for malformed selectors,
field selectors on ``metadata.name``/``metadata.namespace``, and (with hypothesis) that
parsing and matching agree with the Kubernetes semantics for random labels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import httpx2
import lightkube
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lightkube import operators
from lightkube.resources.core_v1 import ConfigMap

from meshops.testing import FakeKubernetes
from meshops.testing.fake_kubernetes.selectors import (
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

OBJECTS: dict[str, dict[str, str]] = {
    "web": {"app": "web", "tier": "front", "rank": "3"},
    "api": {"app": "api", "tier": "back", "rank": "10"},
    "db": {"app": "db", "tier": "back"},
    "bare": {},
}


@pytest.fixture
def labelled(fake: FakeKubernetes) -> FakeKubernetes:
    for name, labels in OBJECTS.items():
        fake.add(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "apps", "labels": labels},
            }
        )
    return fake


def names(client: lightkube.Client, **selector: object) -> list[str]:
    return sorted(c.metadata.name for c in client.list(ConfigMap, labels=selector))  # type: ignore[union-attr, arg-type, misc]


@pytest.mark.usefixtures("labelled")
def test_operators_through_lightkube(client: lightkube.Client) -> None:
    assert names(client, app="web") == ["web"]
    assert names(client, tier=operators.not_equal("back")) == ["bare", "web"]
    assert names(client, app=operators.in_(["web", "db"])) == ["db", "web"]
    assert names(client, app=operators.not_in(["web", "db"])) == ["api", "bare"]
    assert names(client, rank=operators.exists()) == ["api", "web"]
    assert names(client, rank=operators.not_exists()) == ["bare", "db"]
    assert names(client, tier="back", app=operators.not_equal("db")) == ["api"]


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["api", "bare", "db", "web"]),
        ("app=web", ["web"]),
        ("app==web", ["web"]),
        ("app!=web", ["api", "bare", "db"]),
        ("app in (web,api)", ["api", "web"]),
        ("app in ( web , api )", ["api", "web"]),
        ("app notin (web,api)", ["bare", "db"]),
        ("rank", ["api", "web"]),
        ("!rank", ["bare", "db"]),
        ("rank>5", ["api"]),
        ("rank<5", ["web"]),
        ("tier=back,!rank", ["db"]),
        ("  tier = back ,  app != db ", ["api"]),
        ("missing=", []),
        ("missing!=", ["api", "bare", "db", "web"]),
    ],
)
def test_raw_selectors(api: httpx2.Client, selector: str, expected: list[str]) -> None:
    response = api.get("/api/v1/namespaces/apps/configmaps", params={"labelSelector": selector})
    assert response.status_code == 200
    assert sorted(i["metadata"]["name"] for i in response.json()["items"]) == expected


EXPECTED = "expected: in, notin, =, ==, !=, gt, lt"


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        # errors outside one requirement have no "unable to parse requirement" in front
        ("=web", "found '=', expected: !, identifier, or 'end of string'"),
        ("app=web,", "found '', expected: identifier after ','"),
        ("!app=web", "found '=', expected: ',' or 'end of string'"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("app in web", "unable to parse requirement: found 'web' expected: '('"),
        ("app in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a b", f"unable to parse requirement: found 'b', {EXPECTED}"),
        ("app=(x)", "unable to parse requirement: found '(', expected: identifier"),
        ("Bad Key=x", f"unable to parse requirement: found 'Key', {EXPECTED}"),
        (
            "app=-x",
            'unable to parse requirement: values[0][app]: Invalid value: "-x": a valid label '
            "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
            "'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
        (
            "rank>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' "
            "operators, the value must be an integer",
        ),
    ],
)
def test_malformed_selectors_are_400(api: httpx2.Client, selector: str, message: str) -> None:
    response = api.get("/api/v1/namespaces/apps/configmaps", params={"labelSelector": selector})
    assert response.status_code == 400, selector
    body = response.json()
    assert body["reason"] == "BadRequest"
    assert body["message"] == message


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        # apimachinery reads "()" as the empty value and skips empty items of a set
        ("app in ()", []),
        ("app notin ()", ["api", "bare", "db", "web"]),
        ("app in (,web,)", ["web"]),
    ],
)
def test_empty_values_in_sets(api: httpx2.Client, selector: str, expected: list[str]) -> None:
    response = api.get("/api/v1/namespaces/apps/configmaps", params={"labelSelector": selector})
    assert response.status_code == 200, response.text
    assert sorted(i["metadata"]["name"] for i in response.json()["items"]) == expected


@pytest.mark.usefixtures("labelled")
def test_field_selectors(api: httpx2.Client, client: lightkube.Client) -> None:
    assert [c.metadata.name for c in client.list(ConfigMap, fields={"metadata.name": "db"})] == [
        "db"
    ]  # type: ignore[union-attr]
    items = api.get(
        "/api/v1/namespaces/apps/configmaps", params={"fieldSelector": "metadata.namespace!=apps"}
    ).json()["items"]
    assert items == []
    response = api.get("/api/v1/configmaps", params={"fieldSelector": "status.phase=Running"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    response = api.get("/api/v1/configmaps", params={"fieldSelector": "metadata.name=a,bad"})
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "invalid selector: 'metadata.name=a,bad'; can't understand 'bad'"
    )


def test_fake_list_takes_a_selector(labelled: FakeKubernetes) -> None:
    assert [
        c["metadata"]["name"] for c in labelled.list("v1", "ConfigMap", labels="tier=back")
    ] == ["api", "db"]


def test_parser_errors_name_the_problem() -> None:
    with pytest.raises(SelectorError, match="name part must consist of alphanumeric"):
        parse_label_selector("-a=b")
    with pytest.raises(SelectorError, match="is not a known field selector"):
        parse_field_selector("spec.x=1")


KEYS = st.sampled_from(["app", "tier", "example.com/owner", "k8s.io/name"])
VALUES = st.sampled_from(["", "a", "b", "web", "x-1", "3", "12"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)


def reference(op: str, key: str, values: list[str], labels: Mapping[str, str]) -> bool:
    """The Kubernetes semantics of one requirement."""
    if op in ("=", "==", "!="):
        values = values[:1]
    if op in ("=", "==", "in"):
        return key in labels and labels[key] in values
    if op in ("!=", "notin"):
        return key not in labels or labels[key] not in values
    if op == "exists":
        return key in labels
    if op == "!":
        return key not in labels
    bound = int(values[0])
    try:
        have = int(labels[key]) if key in labels else None
    except ValueError:
        return False
    return have is not None and (have > bound if op == ">" else have < bound)


def render(op: str, key: str, values: list[str], spaces: str) -> str:
    if op == "exists":
        return key
    if op == "!":
        return f"!{key}"
    if op in ("in", "notin"):
        return f"{key} {op}{spaces}({spaces}{(',' + spaces).join(values)}{spaces})"
    return f"{key}{spaces}{op}{spaces}{values[0]}"


REQUIREMENT = st.tuples(
    st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", ">", "<"]),
    KEYS,
    st.lists(VALUES, min_size=1, max_size=3),
    st.sampled_from(["", " ", "  "]),
).map(lambda t: (t[0], t[1], _values(t[0], t[2]), t[3]))


def _values(op: str, values: list[str]) -> list[str]:
    if op in (">", "<"):
        return ["5"]
    return values


@given(requirements=st.lists(REQUIREMENT, max_size=4), labels=LABELS)
def test_parsing_and_matching_follow_kubernetes(
    requirements: list[tuple[str, str, list[str], str]], labels: dict[str, str]
) -> None:
    text = ",".join(render(op, key, values, spaces) for op, key, values, spaces in requirements)
    selector = parse_label_selector(text)
    assert len(selector.requirements) == len(requirements)
    expected = all(reference(op, key, values, labels) for op, key, values, _ in requirements)
    assert selector.matches(labels) == expected


@given(text=st.text(alphabet="ab=!(), in", max_size=12))
def test_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(SelectorError):
        parse_label_selector(text)
