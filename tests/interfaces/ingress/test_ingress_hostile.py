"""Hostile and random databags: the ingress readers never raise and never half-accept.

Hypothesis feeds read_request random JSON values, random text and hostile strings
(deep nesting, huge numbers, lone surrogates, NUL, oversized values) in every key of
the app databag and of each unit databag. Whatever it gets, it returns an IngressRequest
that is either valid (every field within the interface's rules) or carries problems,
each naming the relation, the app and a field. Valid requests written by our models
read back unchanged; read_url returns a URL or nothing; and through ops.testing a
hostile requirer beside a good one never costs the good one its request.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops import testing

from meshops.interfaces import ingress

from .charms import TRAEFIK_APP, TRAEFIK_UNIT, make_provider, provider_context, seen, state

APP_KEYS = ["name", "model", "port", "strip-prefix", "redirect-https", "scheme"]
UNIT_KEYS = ["host", "ip"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["shop", "prod", "http", "h2c", "8080", "", "\x00", "\ud800", "a" * 64])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
raw_values = (
    json_values.map(json.dumps)
    | st.text(max_size=60)
    | st.sampled_from(
        [
            "[" * 3000 + "]" * 3000,
            "9" * 5000,
            "1e999",
            "NaN",
            '"\\ud800"',
            "x" * (ingress.MAX_VALUE_CHARS + 1),
            json.dumps("y" * (ingress.MAX_VALUE_CHARS + 1)),
            "true",
            "null",
            '"shop"',
            "65535",
        ]
    )
)
valid_values = {
    "name": st.sampled_from(['"shop"', '"a"', '"x-1"']),
    "model": st.sampled_from(['"prod"', '"m0"']),
    "port": st.integers(min_value=1, max_value=65535).map(str),
    "strip-prefix": st.sampled_from(["true", "false", "null"]),
    "redirect-https": st.sampled_from(["true", "false"]),
    "scheme": st.sampled_from(['"http"', '"https"', '"h2c"']),
}


@st.composite
def app_databags(draw: st.DrawFn) -> dict[str, str]:
    """Each ingress key absent, valid or hostile; plus some unknown keys."""
    bag: dict[str, str] = {}
    for key in APP_KEYS:
        choice = draw(st.sampled_from(["absent", "valid", "hostile"]))
        if choice == "valid":
            bag[key] = draw(valid_values[key])
        elif choice == "hostile":
            bag[key] = draw(raw_values)
    extra = draw(st.dictionaries(st.text(max_size=10), raw_values, max_size=2))
    return {**extra, **bag}


unit_databags = st.dictionaries(
    st.sampled_from(["shop/0", "shop/1", "shop/12", "odd", ""]),
    st.dictionaries(
        st.sampled_from([*UNIT_KEYS, "ingress-address"]),
        raw_values | st.sampled_from(['"shop-0.shop-endpoints"', '"10.0.0.1"', '"fd00::1"']),
        max_size=3,
    ),
    max_size=3,
)


def assert_sound(request: ingress.IngressRequest) -> None:
    """Valid within the interface's rules, or carrying problems that say where."""
    assert isinstance(request, ingress.IngressRequest)
    if request.problems:
        assert not request.ok
        for problem in request.problems:
            assert (problem.source, problem.app) == ("ingress:4", "shop")
            assert problem.field
            assert problem.message
            assert len(problem.message) <= 300
        return
    assert ingress.IngressRequirerAppData.model_validate(
        {
            "name": request.name,
            "model": request.model,
            "port": request.port,
            "strip-prefix": request.strip_prefix,
            "redirect-https": request.redirect_https,
            "scheme": request.scheme,
        }
    )
    for host in request.hosts:
        assert ingress.IngressRequirerUnitData(host=host)


@settings(max_examples=120, deadline=None, database=None)
@given(app_databags(), unit_databags)
def test_read_request_never_raises_and_is_valid_or_has_problems(
    app_bag: dict[str, str], unit_bags: dict[str, dict[str, str]]
) -> None:
    assert_sound(ingress.read_request(app_bag, unit_bags, relation_id=4, app="shop"))


@settings(max_examples=80, deadline=None, database=None)
@given(
    st.dictionaries(st.sampled_from(APP_KEYS) | st.text(max_size=8), raw_values, max_size=8),
    st.dictionaries(
        st.text(max_size=8), st.dictionaries(st.text(max_size=6), raw_values, max_size=3)
    ),
)
def test_read_request_survives_anything_in_any_key(
    app_bag: dict[str, str], unit_bags: dict[str, dict[str, str]]
) -> None:
    assert_sound(ingress.read_request(app_bag, unit_bags, relation_id=4, app="shop"))


@settings(max_examples=50, deadline=None, database=None)
@given(
    name=st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    model=st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
    port=st.integers(min_value=1, max_value=65535),
    strip_prefix=st.booleans(),
    redirect_https=st.booleans(),
    scheme=st.sampled_from(ingress.SCHEMES),
    hosts=st.lists(st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,3}", fullmatch=True)),
)
def test_what_our_models_write_reads_back_unchanged(
    name: str,
    model: str,
    port: int,
    strip_prefix: bool,
    redirect_https: bool,
    scheme: ingress.Scheme,
    hosts: list[str],
) -> None:
    app = ingress.IngressRequirerAppData.model_validate(
        {
            "name": name,
            "model": model,
            "port": port,
            "strip-prefix": strip_prefix,
            "redirect-https": redirect_https,
            "scheme": scheme,
        }
    )
    units = {
        f"{name}/{i}": ingress.IngressRequirerUnitData(host=host).databag()
        for i, host in enumerate(hosts)
    }
    request = ingress.read_request(app.databag(), units, relation_id=4, app="shop")
    assert request == ingress.IngressRequest(
        relation_id=4,
        app="shop",
        name=name,
        model=model,
        port=port,
        strip_prefix=strip_prefix,
        redirect_https=redirect_https,
        scheme=scheme,
        hosts=tuple(hosts),
        problems=(),
    )


@settings(max_examples=100, deadline=None, database=None)
@given(
    raw_values
    | json_values.map(lambda v: json.dumps({"url": v}))
    | st.text(max_size=40).map(lambda t: json.dumps({"url": "http://" + t}))
)
def test_read_url_returns_a_url_nothing_or_a_problem(raw: str) -> None:
    url, problem = ingress.read_url({"ingress": raw}, source="ingress:4", app="gw")
    assert url is None or problem is None
    if url is not None:
        assert url.startswith(("http://", "https://"))
        assert ingress.IngressUrl.model_validate({"url": url})
    if problem is not None:
        assert problem.field in ("ingress", "ingress.url")


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(app_databags(), st.dictionaries(st.sampled_from(UNIT_KEYS), raw_values, max_size=2))
def test_a_hostile_requirer_never_costs_a_good_one_its_request(
    app_bag: dict[str, str], unit_bag: dict[str, str]
) -> None:
    good = testing.Relation(
        "ingress",
        remote_app_name="shop",
        remote_app_data=TRAEFIK_APP,
        remote_units_data={0: dict(TRAEFIK_UNIT)},
    )
    hostile = testing.Relation(
        "ingress", remote_app_name="evil", remote_app_data=app_bag, remote_units_data={0: unit_bag}
    )
    charm = make_provider()
    ctx = provider_context(charm)
    out = ctx.run(ctx.on.relation_changed(hostile, remote_unit=0), state(good, hostile))
    ctx.run(ctx.on.update_status(), out)
    requests: list[ingress.IngressRequest] = seen(charm)[-1][1]
    by_app = {request.app: request for request in requests}
    assert by_app["shop"].ok
    assert by_app["shop"].port == 8080
    evil: Any = by_app.get("evil")
    assert evil is not None or not ingress.has_request(app_bag)
