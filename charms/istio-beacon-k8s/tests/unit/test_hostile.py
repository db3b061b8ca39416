"""istio-beacon-k8s fed random and hostile databags on every relation (hypothesis).

service-mesh's `policies`, provide-cmr-mesh's `cmr_data` and the peers' `outcome`.
Whatever is written, no hook raises, and a valid consumer beside it keeps exactly its
policies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops import testing

pytestmark = pytest.mark.fake_only(
    "hundreds of generated hooks each; test_charm.py runs the charm on the real server"
)

MODEL = "m"
AP = "security.istio.io/v1"

GOOD = [
    {
        "source_namespace": MODEL,
        "source_app_name": "grafana",
        "target_namespace": MODEL,
        "target_app_name": "prometheus",
        "target_selector_labels": None,
        "target_service": None,
        "target_type": "app",
        "endpoints": [{"hosts": None, "ports": [9090], "methods": ["GET"], "paths": ["/api/*"]}],
    }
]

# any code point, lone surrogates included (valid JSON as \\ud800 escapes)
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=20), inner, max_size=6)
    ),
    max_leaves=40,
)
policy_like = st.fixed_dictionaries(
    {},
    optional={
        "source_namespace": st.one_of(st.just(MODEL), st.text(max_size=30), json_values),
        "source_app_name": st.one_of(st.text(max_size=70), json_values),
        "target_namespace": st.one_of(st.just(MODEL), json_values),
        "target_app_name": st.one_of(st.just("hostile"), st.text(max_size=30), st.none()),
        "target_selector_labels": st.one_of(
            st.none(), st.dictionaries(st.text(max_size=70), st.text(max_size=70), max_size=3)
        ),
        "target_service": st.one_of(st.none(), st.text(max_size=30)),
        "target_type": st.one_of(st.sampled_from(["app", "unit"]), json_values),
        "endpoints": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "hosts": st.one_of(st.none(), st.lists(st.text(max_size=20), max_size=3)),
                        "ports": st.one_of(
                            st.none(), st.lists(st.integers(-5, 70000) | st.booleans(), max_size=3)
                        ),
                        "methods": st.one_of(
                            st.none(),
                            st.lists(st.sampled_from(["GET", "get", "FETCH", ""]), max_size=3),
                        ),
                        "paths": st.one_of(st.none(), st.lists(st.text(max_size=20), max_size=3)),
                    },
                ),
                max_size=3,
            ),
        ),
    },
)
databags = st.one_of(
    any_text,
    json_values.map(json.dumps),
    st.lists(policy_like, max_size=5).map(json.dumps),
    # huge lists: a thousand copies of one (possibly valid) policy
    policy_like.map(lambda p: json.dumps([p] * 1000)),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bag=databags)
def test_no_hook_raises_and_the_valid_consumer_keeps_its_policies(
    ctx: Any, fake: Any, bag: str
) -> None:
    good = testing.Relation(
        "service-mesh",
        remote_app_name="prometheus",
        remote_app_data={"policies": json.dumps(GOOD)},
    )
    hostile = testing.Relation(
        "service-mesh", remote_app_name="hostile", remote_app_data={"policies": bag}
    )
    state = testing.State(leader=True, relations=[good, hostile], model=testing.Model(name=MODEL))
    out = ctx.run(ctx.on.relation_changed(hostile), state)
    ctx.run(ctx.on.update_status(), out)
    mine = [
        p
        for p in fake.list(AP, "AuthorizationPolicy", MODEL)
        if p["metadata"]["labels"]["meshops.io/policy-source"] == "prometheus"
    ]
    assert [p["spec"]["rules"][0]["from"] for p in mine] == [
        [{"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/grafana"]}}]
    ]
    # whatever the hostile app got applied is only ever about its own workloads
    for p in fake.list(AP, "AuthorizationPolicy", MODEL):
        spec = p["spec"]
        if p["metadata"]["labels"]["meshops.io/policy-source"] != "hostile":
            continue
        if "targetRefs" in spec:
            assert [r["name"] for r in spec["targetRefs"]] == ["hostile"]
        else:
            assert spec["selector"]["matchLabels"]["app.kubernetes.io/name"] == "hostile"
        for rule in spec["rules"]:
            for principal in rule["from"][0]["source"]["principals"]:
                assert "*" not in principal


# -- the other relations: provide-cmr-mesh, the peers --------------------------------------

cmr_like = st.one_of(
    any_text,
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "app_name": st.one_of(st.just("grafana"), any_text, json_values),
            "juju_model_name": st.one_of(st.just("other"), any_text, json_values),
        },
    ).map(json.dumps),
    st.just(json.dumps({"app_name": "x" * (1 << 20), "juju_model_name": "m"})),
)


def the_good_consumer_keeps_its_policy(fake: Any) -> None:
    mine = [
        p
        for p in fake.list(AP, "AuthorizationPolicy", MODEL)
        if p["metadata"]["labels"]["meshops.io/policy-source"] == "prometheus"
    ]
    assert [p["spec"]["rules"][0]["from"] for p in mine] == [
        [{"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/grafana"]}}]
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bag=cmr_like)
def test_any_cross_model_databag_leaves_every_hook_whole(ctx: Any, fake: Any, bag: str) -> None:
    good = testing.Relation(
        "service-mesh",
        id=1,
        remote_app_name="prometheus",
        remote_app_data={"policies": json.dumps(GOOD)},
    )
    cmr = testing.Relation(
        "provide-cmr-mesh", id=2, remote_app_name="remote-1234", remote_app_data={"cmr_data": bag}
    )
    state = testing.State(leader=True, relations=[good, cmr], model=testing.Model(name=MODEL))
    for event in (ctx.on.relation_changed(cmr), ctx.on.update_status()):
        out = ctx.run(event, state)
        assert not isinstance(out.unit_status, testing.ErrorStatus)
    the_good_consumer_keeps_its_policy(fake)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(outcome=st.one_of(any_text, json_values.map(json.dumps)), leader=st.booleans())
def test_any_peer_databag_leaves_every_hook_whole(
    ctx: Any, fake: Any, outcome: str, leader: bool
) -> None:
    good = testing.Relation(
        "service-mesh",
        id=1,
        remote_app_name="prometheus",
        remote_app_data={"policies": json.dumps(GOOD)},
    )
    peers = testing.PeerRelation("beacon-peers", id=3, local_app_data={"outcome": outcome})
    state = testing.State(leader=leader, relations=[good, peers], model=testing.Model(name=MODEL))
    out = ctx.run(ctx.on.update_status(), state)
    assert not isinstance(out.unit_status, testing.ErrorStatus)
    if leader:
        the_good_consumer_keeps_its_policy(fake)
