"""Contract tests for meshops.k8s.Reconciler, against the in-process fake and the real server.

Covers ownership labels and the applied-hash annotation, apply and delete order, the
zero-write no-op reconcile and its read budget, updates, deletions, objects that are not
ours (never touched), other owners and scopes, the keep predicate, cluster-wide lists,
rejected objects, a missing CRD (required or optional), a missing namespace, dry
runs (the server checks, nothing is stored) and progress reports.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.k8s import Api, CrdMissing, KubernetesError, Reconciler, make_client
from meshops.k8s.kinds import (
    AUTHORIZATION_POLICY,
    GATEWAY,
    HTTP_ROUTE,
    NAMESPACE,
    REFERENCE_GRANT,
    SERVICE_ACCOUNT,
)
from meshops.k8s.reconciler import (
    HASH_ANNOTATION,
    OWNER_LABEL,
    SCOPE_LABEL,
    Change,
    content_hash,
)
from meshops.testing.pytest_plugin import SERVERS, contract_server

GW = "gateway.networking.k8s.io/v1"
AP = "security.istio.io/v1"
CRDS = ("gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io")


@pytest.fixture(params=SERVERS)
def fake(request: pytest.FixtureRequest) -> Any:
    return contract_server(request, *CRDS, namespaces=("a", "b"))


def api_for(fake: Any, manager: str = "owner.m") -> Api:
    return Api(make_client(fake.transport, field_manager=manager), field_manager=manager)


def reconciler(
    fake: Any, *, owner: str = "owner.m", scope: str = "s", namespaces: Any = ("a", "b")
) -> Reconciler:
    kinds = [NAMESPACE, SERVICE_ACCOUNT, GATEWAY, AUTHORIZATION_POLICY]
    return Reconciler(
        api_for(fake, owner), owner=owner, scope=scope, kinds=kinds, namespaces=namespaces
    )


def gateway(name: str, ns: str = "a", port: int = 15008) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": port, "protocol": "HBONE"}],
        },
    }


def policy(name: str, ns: str = "a", sa: str = "x") -> dict[str, Any]:
    return {
        "apiVersion": AP,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": [f"cluster.local/ns/{ns}/sa/{sa}"]}}]}],
        },
    }


def writes(fake: Any) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method != "GET"]


def test_creates_with_ownership_labels_hash_and_field_manager(fake: Any) -> None:
    result = reconciler(fake).reconcile([policy("p1"), gateway("w")])
    assert [c.action for c in result.changes] == ["create", "create"]
    gw = fake.get(GW, "Gateway", "w", "a")
    labels = gw["metadata"]["labels"]
    assert labels[OWNER_LABEL] == "owner.m"
    assert labels[SCOPE_LABEL] == "s"
    assert labels["app.kubernetes.io/managed-by"] == "meshops"
    assert len(gw["metadata"]["annotations"][HASH_ANNOTATION]) == 32
    assert {m["manager"] for m in gw["metadata"]["managedFields"]} == {"owner.m"}
    # server-side apply with our field manager, not forced: it creates
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert len(patches) == 2
    assert all(
        r.query.get("fieldManager") == "owner.m" and r.query.get("force") != "true"
        for r in patches
    )


@pytest.mark.fake_only("the audit log does not record a request's Content-Type")
def test_writes_are_server_side_applies(fake: Any) -> None:
    reconciler(fake).reconcile([policy("p1"), gateway("w")])
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.content_type for r in patches] == ["application/apply-patch+yaml"] * 2


def test_applies_in_dependency_order_and_deletes_in_reverse(fake: Any) -> None:
    r = reconciler(fake)
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "sa", "namespace": "b"},
    }
    r.reconcile([policy("p1"), gateway("w"), sa])
    assert [path.split("/")[-2] for _, path in writes(fake)] == [
        "serviceaccounts",
        "gateways",
        "authorizationpolicies",
    ]
    fake.clear_log()
    r.delete_all()
    assert [path.split("/")[-2] for _, path in writes(fake)] == [
        "authorizationpolicies",
        "gateways",
        "serviceaccounts",
    ]
    assert [m for m, _ in writes(fake)] == ["DELETE"] * 3


def test_nothing_new_means_no_writes_and_one_list_per_kind_and_namespace(fake: Any) -> None:
    r = reconciler(fake)
    desired = [gateway("w"), policy("p1"), policy("p2", ns="b")]
    r.reconcile(desired)
    fake.clear_log()
    result = r.reconcile(desired)
    assert fake.writes == 0
    assert {c.action for c in result.changes} == {"unchanged"}
    # Namespace (cluster-wide) + 3 namespaced kinds x 2 namespaces
    assert fake.reads == 1 + 3 * 2
    assert all("labelSelector" in r.query for r in fake.requests)


def test_a_changed_object_is_updated_alone(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([gateway("w"), policy("p1")])
    fake.clear_log()
    result = r.reconcile([gateway("w"), policy("p1", sa="y")])
    assert [c.action for c in result.changes] == ["unchanged", "update"]
    assert fake.writes == 1
    principals = fake.get(AP, "AuthorizationPolicy", "p1", "a")["spec"]["rules"][0]["from"][0][
        "source"
    ]["principals"]
    assert principals == ["cluster.local/ns/a/sa/y"]


def test_fields_no_longer_desired_are_removed(fake: Any) -> None:
    r = reconciler(fake)
    with_label = gateway("w")
    with_label["metadata"]["labels"] = {"extra": "yes"}
    r.reconcile([with_label])
    r.reconcile([gateway("w")])
    assert "extra" not in fake.get(GW, "Gateway", "w", "a")["metadata"]["labels"]


def test_objects_no_longer_desired_are_deleted(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([gateway("w"), policy("p1"), policy("p2")])
    result = r.reconcile([gateway("w"), policy("p2")])
    assert [str(c) for c in result.of("delete")] == ["delete AuthorizationPolicy a/p1"]
    assert fake.get(AP, "AuthorizationPolicy", "p1", "a") is None


def test_objects_without_our_labels_are_never_touched(fake: Any) -> None:
    fake.add(policy("theirs"))
    fake.add(policy("same-name", sa="someone"))
    r = reconciler(fake)
    result = r.reconcile([policy("same-name"), policy("mine")])
    assert [(c.action, c.name) for c in result.changes] == [
        ("create", "mine"),
        ("refused", "same-name"),
    ]
    assert result.problems[0].error == "an object of that name exists and is not ours"
    theirs = fake.get(AP, "AuthorizationPolicy", "same-name", "a")
    assert theirs["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/a/sa/someone"
    ]
    r.delete_all()
    assert {p["metadata"]["name"] for p in fake.list(AP, "AuthorizationPolicy", "a")} == {
        "theirs",
        "same-name",
    }


def test_other_owners_and_scopes_are_separate(fake: Any) -> None:
    reconciler(fake, owner="one.m").reconcile([policy("p-one")])
    reconciler(fake, owner="one.m", scope="other").reconcile([policy("p-other")])
    reconciler(fake, owner="two.m").reconcile([policy("p-two")])
    reconciler(fake, owner="one.m").delete_all()
    assert {p["metadata"]["name"] for p in fake.list(AP, "AuthorizationPolicy", "a")} == {
        "p-other",
        "p-two",
    }


def test_keep_leaves_owned_objects_that_are_no_longer_desired(fake: Any) -> None:
    r = reconciler(fake)
    kept = policy("kept")
    kept["metadata"]["labels"] = {"source": "broken-app"}
    r.reconcile([kept, policy("gone")])
    result = r.reconcile([], keep=lambda o: o["metadata"]["labels"].get("source") == "broken-app")
    assert sorted((c.action, c.name) for c in result.changes) == [
        ("delete", "gone"),
        ("kept", "kept"),
    ]
    assert fake.get(AP, "AuthorizationPolicy", "kept", "a") is not None


def test_without_namespaces_lists_are_cluster_wide(fake: Any) -> None:
    r = reconciler(fake, namespaces=None)
    r.reconcile([policy("p1", ns="a"), policy("p2", ns="b")])
    fake.clear_log()
    r.reconcile([policy("p1", ns="a")])
    lists = [req.path for req in fake.requests if req.method == "GET"]
    assert "/apis/security.istio.io/v1/authorizationpolicies" in lists
    assert fake.get(AP, "AuthorizationPolicy", "p2", "b") is None


def test_an_object_the_server_rejects_fails_alone(fake: Any) -> None:
    bad = gateway("bad")
    bad["spec"]["listeners"].append(
        {"name": "mesh", "port": 15009, "protocol": "HBONE"}
    )  # duplicate name
    result = reconciler(fake).reconcile([bad, policy("p1")])
    assert [(c.action, c.name) for c in result.changes] == [("failed", "bad"), ("create", "p1")]
    assert result.problems[0].error  # the server's reason
    assert fake.get(AP, "AuthorizationPolicy", "p1", "a") is not None


def test_a_missing_crd_names_it(make_fake: Any) -> None:
    bare = make_fake(namespaces=["a"])
    with pytest.raises(CrdMissing) as e:
        reconciler(bare, namespaces=["a"]).reconcile([gateway("w")])
    assert e.value.crd == "gateways.gateway.networking.k8s.io"
    assert "gateways.gateway.networking.k8s.io is not installed" in str(e.value)


def test_a_missing_optional_crd_fails_its_objects_only(make_fake: Any) -> None:
    only_policies = make_fake("authorizationpolicies.security.istio.io", namespaces=["a"])
    kinds = [GATEWAY, AUTHORIZATION_POLICY]
    r = Reconciler(
        api_for(only_policies),
        owner="owner.m",
        scope="s",
        kinds=kinds,
        namespaces=None,
        optional_kinds=[GATEWAY],
    )
    result = r.reconcile([gateway("w"), policy("p1")])
    assert [(c.action, c.name) for c in result.changes] == [("failed", "w"), ("create", "p1")]
    assert "gateways.gateway.networking.k8s.io" in str(result.problems[0].error)


def test_an_object_whose_namespace_is_missing_fails_alone(fake: Any) -> None:
    result = reconciler(fake, namespaces=None).reconcile([policy("p0", ns="gone"), policy("p1")])
    assert [(c.action, c.name) for c in result.changes] == [("create", "p1"), ("failed", "p0")]
    assert "gone" in result.problems[0].error  # the server's reason
    assert fake.get(AP, "AuthorizationPolicy", "p1", "a") is not None


def test_a_dry_run_says_what_it_would_change(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([gateway("w"), policy("p1")])
    result = r.reconcile([gateway("w", port=15009), policy("p2")], dry_run=True)
    assert fake.get(GW, "Gateway", "w", "a")["spec"]["listeners"][0]["port"] == 15008
    assert fake.get(AP, "AuthorizationPolicy", "p1", "a") is not None
    assert fake.get(AP, "AuthorizationPolicy", "p2", "a") is None
    assert sorted(str(c) for c in result.changes) == [
        "create AuthorizationPolicy a/p2",
        "delete AuthorizationPolicy a/p1",
        "update Gateway a/w",
    ]


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        ([policy("p"), policy("p")], "^AuthorizationPolicy a/p is desired twice$"),
        (
            [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}}],
            "not one of the kinds",
        ),
        (
            [policy("p", ns="elsewhere")],
            "^AuthorizationPolicy 'p': namespace 'elsewhere' is not one of a, b$",
        ),
        (
            [{"apiVersion": AP, "kind": "AuthorizationPolicy", "metadata": {"name": ""}}],
            "without metadata.name",
        ),
        (
            [{"apiVersion": AP, "kind": "AuthorizationPolicy", "metadata": {"namespace": "a"}}],
            "without metadata.name",
        ),
        (
            [{"apiVersion": AP, "kind": "AuthorizationPolicy", "metadata": {"name": "x"}}],
            "needs metadata.namespace",
        ),
        (
            [{"apiVersion": "x/v1", "kind": "Nope", "metadata": {"name": "x"}}],
            "not a kind meshops manages",
        ),
    ],
)
def test_programming_errors_are_refused_before_any_request(
    fake: Any, desired: list[Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        reconciler(fake).reconcile(desired)
    assert fake.writes == 0


def test_owner_and_scope_must_be_label_values(fake: Any) -> None:
    with pytest.raises(ValueError, match="owner 'a/b'"):
        reconciler(fake, owner="a/b")


def test_delete_all_goes_on_when_a_crd_is_gone(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([gateway("w"), policy("p1")])
    fake.delete(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "gateways.gateway.networking.k8s.io"
    )
    result = r.delete_all()
    assert [str(c) for c in result.changes] == ["delete AuthorizationPolicy a/p1"]
    assert fake.list(AP, "AuthorizationPolicy", "a") == []


def test_a_dry_run_checks_with_the_server_and_stores_nothing(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("old")])
    fake.clear_log()
    bad = policy("bad")
    bad["spec"]["action"] = "MAYBE"
    result = r.reconcile([gateway("w"), bad], dry_run=True)
    assert [(c.action, c.name) for c in result.changes] == [
        ("create", "w"),
        ("failed", "bad"),
        ("delete", "old"),
    ]
    assert {r.query.get("dryRun") for r in fake.requests if r.is_write} == {"All"}
    assert fake.list(GW, "Gateway") == []
    assert [p["metadata"]["name"] for p in fake.list(AP, "AuthorizationPolicy")] == ["old"]


def test_a_dry_run_reports_objects_in_a_namespace_it_would_create(fake: Any) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}
    r = reconciler(fake, namespaces=None)
    result = r.reconcile([ns, gateway("w", "c")], dry_run=True)
    assert [(c.action, c.kind.kind, c.name) for c in result.changes] == [
        ("create", "Namespace", "c"),
        ("create", "Gateway", "w"),
    ]
    assert [r.path for r in fake.requests if r.is_write] == ["/api/v1/namespaces/c"]


def test_progress_hears_of_each_change_as_it_is_made(fake: Any) -> None:
    fake.add(policy("theirs"))
    r = reconciler(fake)
    r.reconcile([policy("old")])
    heard: list[tuple[str, str]] = []
    r.reconcile(
        [gateway("w"), policy("theirs")],
        progress=lambda c: heard.append((c.action, c.name)),
    )
    assert heard == [("create", "w"), ("refused", "theirs"), ("delete", "old")]


# -- no takeover: objects that appear, or change hands, between our list and our write ---


def ours(obj: dict[str, Any]) -> bool:
    return obj["metadata"].get("labels", {}).get(OWNER_LABEL) == "owner.m"


@pytest.mark.fake_only("injects a write between our list and our write, as only the fake can")
def test_a_foreign_object_made_after_our_list_is_not_overwritten(fake: Any) -> None:
    theirs = policy("p", sa="someone")
    fake.before_next("PATCH", "/authorizationpolicies/p", lambda: fake.add(theirs))
    r = reconciler(fake)
    result = r.reconcile([policy("p")])
    [change] = result.changes
    assert change.action == "refused"
    assert change.error.startswith("an object of that name exists and is not ours")
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert stored["spec"] == theirs["spec"] and not ours(stored)
    r.delete_all()
    assert fake.get(AP, "AuthorizationPolicy", "p", "a") is not None


@pytest.mark.fake_only("injects a write between our list and our write, as only the fake can")
def test_a_foreign_object_equal_to_ours_is_left_as_it_was_not_adopted(fake: Any) -> None:
    theirs = policy("p")  # what we want, to the letter, made by someone else
    fake.before_next("PATCH", "/authorizationpolicies/p", lambda: fake.add(theirs))
    r = reconciler(fake)
    [change] = r.reconcile([policy("p")]).changes
    assert (change.action, change.error) == (
        "refused",
        "an object of that name exists and is not ours (written by test)",
    )
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert stored["metadata"].get("labels", {}) == {}
    assert HASH_ANNOTATION not in stored["metadata"].get("annotations", {})
    assert {m["manager"] for m in stored["metadata"]["managedFields"]} == {"test"}
    # never ours later either: nothing lists it as ours, nothing deletes it
    assert r.reconcile([]).changes == ()
    assert fake.get(AP, "AuthorizationPolicy", "p", "a") is not None


@pytest.mark.fake_only("injects a write between our list and our write, as only the fake can")
def test_an_object_replaced_by_a_foreign_one_after_our_list_is_not_overwritten(
    fake: Any,
) -> None:
    r = reconciler(fake)
    r.reconcile([policy("p")])

    def replace() -> None:
        fake.delete(AP, "AuthorizationPolicy", "p", "a")
        fake.add(policy("p", sa="someone"))

    fake.before_next("PATCH", "/authorizationpolicies/p", replace)
    [change] = r.reconcile([policy("p", sa="new")]).changes
    assert (change.action, change.error) == (
        "refused",
        "an object of that name exists and is not ours",
    )
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert not ours(stored)
    assert stored["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/a/sa/someone"
    ]


@pytest.mark.fake_only("injects a write between our list and our write, as only the fake can")
def test_an_object_of_ours_that_changed_after_our_list_is_still_updated(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("p")])

    def annotate() -> None:
        live = fake.get(AP, "AuthorizationPolicy", "p", "a")
        live["metadata"]["annotations"]["someone"] = "was here"
        fake.add(live)

    fake.before_next("PATCH", "/authorizationpolicies/p", annotate)
    [change] = r.reconcile([policy("p", sa="new")]).changes
    assert change.action == "update"
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert stored["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/a/sa/new"
    ]


def test_forced_applies_carry_the_resource_version_we_listed(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("p")])
    listed = fake.get(AP, "AuthorizationPolicy", "p", "a")["metadata"]["resourceVersion"]
    fake.clear_log()
    r.reconcile([policy("p", sa="new")])
    [forced] = [q for q in fake.requests if q.query.get("force") == "true"]
    assert forced.body["metadata"]["resourceVersion"] == listed


def test_deleting_takes_routes_before_what_they_rely_on(fake: Any, make_fake: Any) -> None:
    route_fake = make_fake(
        "httproutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
        "authorizationpolicies.security.istio.io",
        namespaces=["a"],
    )
    kinds = [HTTP_ROUTE, REFERENCE_GRANT, AUTHORIZATION_POLICY]
    r = Reconciler(api_for(route_fake), owner="owner.m", scope="s", kinds=kinds, namespaces=["a"])
    route = {
        "apiVersion": GW,
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "a"},
        "spec": {"rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]},
    }
    grant = {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "g", "namespace": "a"},
        "spec": {
            "from": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "b"}
            ],
            "to": [{"group": "", "kind": "Service"}],
        },
    }
    r.reconcile([route, grant, policy("p")])
    assert [c.kind.kind for c in r.delete_all().changes] == [
        "HTTPRoute",
        "AuthorizationPolicy",
        "ReferenceGrant",
    ]


@pytest.mark.fake_only("injects errors, as only the fake can")
@pytest.mark.parametrize("status", [401, 403, 503])
def test_an_error_that_outlasts_the_retries_stops_the_reconcile(fake: Any, status: int) -> None:
    api = Api(
        make_client(fake.transport, field_manager="owner.m"),
        field_manager="owner.m",
        sleep=lambda _: None,
    )
    r = Reconciler(
        api, owner="owner.m", scope="s", kinds=[GATEWAY, AUTHORIZATION_POLICY], namespaces=["a"]
    )
    fake.fail_next("PATCH", "/gateways/", status, times=10)
    with pytest.raises(KubernetesError) as e:
        r.reconcile([gateway("w"), policy("p1")])
    assert e.value.code == status
    # Nothing after it was written: the next reconcile tries everything again.
    assert fake.get(AP, "AuthorizationPolicy", "p1", "a") is None
    fake.clear_faults()
    assert [c.action for c in r.reconcile([gateway("w"), policy("p1")]).changes] == [
        "create",
        "create",
    ]


@pytest.mark.fake_only("injects errors, as only the fake can")
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_update_stops_the_reconcile_too(fake: Any, status: int) -> None:
    r = reconciler(fake)
    r.reconcile([gateway("w"), policy("p1")])
    fake.fail_next("PATCH", "/gateways/", status, times=10)
    with pytest.raises(KubernetesError) as e:
        r.reconcile([gateway("w", port=15009), policy("p1", sa="new")])
    assert e.value.code == status
    got = fake.get(AP, "AuthorizationPolicy", "p1", "a")
    assert got["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/a/sa/x"
    ]


def test_the_same_object_with_its_keys_in_another_order_writes_nothing(fake: Any) -> None:
    r = reconciler(fake)
    p = policy("p1")
    r.reconcile([p])
    fake.clear_log()
    reordered = {
        "spec": {"rules": p["spec"]["rules"], "action": "ALLOW"},
        "metadata": {"namespace": "a", "name": "p1"},
        "kind": "AuthorizationPolicy",
        "apiVersion": AP,
    }
    result = r.reconcile([reordered])
    assert [str(c) for c in result.changes] == ["unchanged AuthorizationPolicy a/p1"]
    assert fake.writes == 0


def test_owned_objects_are_listed_in_the_reconcilers_namespaces_only(fake: Any) -> None:
    both = reconciler(fake, namespaces=("a", "b"))
    both.reconcile([policy("pa", ns="a"), policy("pb", ns="b")])
    only_a = reconciler(fake, namespaces=("a",))
    fake.clear_log()
    result = only_a.reconcile([policy("pa", ns="a")])
    # The object in b is of the same owner and scope, but not this reconciler's to see.
    assert [(c.action, c.name) for c in result.changes] == [("unchanged", "pa")]
    assert fake.get(AP, "AuthorizationPolicy", "pb", "b") is not None
    lists = [q.path for q in fake.requests if q.method == "GET"]
    assert "/apis/security.istio.io/v1/namespaces/a/authorizationpolicies" in lists
    assert not any("/namespaces/b/" in path for path in lists)
    assert "/apis/security.istio.io/v1/authorizationpolicies" not in lists


def test_the_hash_of_an_object_is_the_same_from_one_release_to_the_next() -> None:
    """An upgraded charm's first reconcile writes nothing it had written already."""
    assert content_hash({"b": [1, "x"], "a": {"c": None}}) == "7002905de57682573f1eceeba283bfe8"


def test_an_object_json_cannot_hold_has_no_hash() -> None:
    with pytest.raises(TypeError, match="is not JSON serializable"):
        content_hash({"metadata": {"creationTimestamp": object()}})


def test_a_change_reads_as_a_line() -> None:
    assert str(Change("create", NAMESPACE, "", "shop")) == "create Namespace shop"
    assert str(Change("failed", GATEWAY, "a", "w", "no room")) == "failed Gateway a/w: no room"


@pytest.mark.parametrize(("owner", "scope", "what"), [("", "s", "owner"), ("o", "a b", "scope")])
def test_owner_and_scope_errors_name_which(fake: Any, owner: str, scope: str, what: str) -> None:
    with pytest.raises(ValueError, match=f"^{what} {scope if what == 'scope' else owner!r}"):
        Reconciler(api_for(fake), owner=owner, scope=scope, kinds=[GATEWAY], namespaces=["a"])


def test_a_cluster_scoped_object_of_ours_is_unchanged_the_second_time(fake: Any) -> None:
    r = reconciler(fake, namespaces=None)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c", "namespace": "x"}}
    r.reconcile([ns])
    fake.clear_log()
    result = r.reconcile([ns])
    assert [str(c) for c in result.changes] == ["unchanged Namespace c"]
    # a namespace in a cluster-scoped object's metadata means nothing, and counts for nothing
    other = {**ns, "metadata": {"name": "c", "namespace": "y"}}
    assert [str(c) for c in r.reconcile([other]).changes] == ["unchanged Namespace c"]
    assert fake.writes == 0


def test_the_objects_own_annotations_are_kept(fake: Any) -> None:
    p = policy("p")
    p["metadata"]["annotations"] = {"team": "o11y"}
    reconciler(fake).reconcile([p])
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert stored["metadata"]["annotations"]["team"] == "o11y"


def test_a_hash_annotation_on_a_desired_object_does_not_count(fake: Any) -> None:
    """Objects read back (with our hash on them) and desired again are unchanged."""
    r = reconciler(fake)
    r.reconcile([policy("p")])
    fake.clear_log()
    again = policy("p")
    again["metadata"]["annotations"] = {HASH_ANNOTATION: "from an earlier read"}
    assert [c.action for c in r.reconcile([again]).changes] == ["unchanged"]
    assert fake.writes == 0


def test_the_result_holds_the_owned_objects_as_listed(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("p")])
    result = r.reconcile([policy("p")])
    assert list(result.live) == [(AUTHORIZATION_POLICY, "a", "p")]
    assert result.live[(AUTHORIZATION_POLICY, "a", "p")]["metadata"]["name"] == "p"


def test_deletions_of_one_kind_go_by_namespace_then_name(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("z", ns="a"), policy("a", ns="b"), policy("m", ns="a")])
    assert [f"{c.namespace}/{c.name}" for c in r.delete_all().changes] == ["a/m", "a/z", "b/a"]


def test_an_object_to_create_is_checked_against_its_own_namespace_only(fake: Any) -> None:
    reconciler(fake).reconcile([policy("p", ns="b")])
    lists = [q for q in fake.requests if q.method == "GET" and "labelSelector" not in q.query]
    assert [q.path for q in lists] == [
        "/apis/security.istio.io/v1/namespaces/b/authorizationpolicies"
    ]


def test_a_dry_run_checks_objects_in_namespaces_that_exist(fake: Any) -> None:
    # a Gateway named like the namespace of the next object: that namespace exists
    r = reconciler(fake)
    fake.clear_log()
    r.reconcile([gateway("b", ns="a"), policy("p", ns="b")], dry_run=True)
    sent = [q.path for q in fake.requests if q.is_write]
    assert sent == [
        "/apis/gateway.networking.k8s.io/v1/namespaces/a/gateways/b",
        "/apis/security.istio.io/v1/namespaces/b/authorizationpolicies/p",
    ]


@pytest.mark.fake_only("injects a delete between our list and our write, as only the fake can")
def test_an_object_of_ours_deleted_after_our_list_is_made_again(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("p")])
    fake.before_next(
        "PATCH",
        "/authorizationpolicies/p",
        lambda: fake.delete(AP, "AuthorizationPolicy", "p", "a"),
    )
    [change] = r.reconcile([policy("p", sa="new")]).changes
    assert str(change) == "create AuthorizationPolicy a/p"
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert stored["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/a/sa/new"
    ]
    assert ours(stored)


def test_a_dry_run_of_an_update_stores_nothing(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([gateway("w")])
    fake.clear_log()
    [change] = r.reconcile([gateway("w", port=15009)], dry_run=True).changes
    assert change.action == "update"
    assert {q.query.get("dryRun") for q in fake.requests if q.is_write} == {"All"}
    assert fake.get(GW, "Gateway", "w", "a")["spec"]["listeners"][0]["port"] == 15008


@pytest.mark.fake_only("injects errors, as only the fake can")
def test_what_could_not_be_written_is_logged_naming_it_and_why(
    fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bad = gateway("bad")
    bad["spec"]["listeners"].append({"name": "mesh", "port": 15009, "protocol": "HBONE"})
    caplog.set_level("DEBUG", logger="meshops.k8s.reconciler")
    result = reconciler(fake, namespaces=None).reconcile([bad, policy("p0", ns="gone")])
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w.split(": ", 1)[0] for w in warnings] == [
        "create Gateway a/bad",
        "create AuthorizationPolicy gone/p0",
    ]
    assert [w.split(": ", 1)[1] for w in warnings] == [c.error for c in result.problems]
    # nothing else: the one summary line of a reconcile is its caller's (a charm's, the CLI's)
    assert [r.levelname for r in caplog.records if r.name == "meshops.k8s.reconciler"] == [
        "WARNING",
        "WARNING",
    ]


@pytest.mark.fake_only("injects a write between our list and our write, as only the fake can")
def test_refusals_and_missing_optional_crds_are_logged_naming_the_object_and_why(
    make_fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    only_policies = make_fake("authorizationpolicies.security.istio.io", namespaces=["a"])
    r = Reconciler(
        api_for(only_policies),
        owner="owner.m",
        scope="s",
        kinds=[GATEWAY, AUTHORIZATION_POLICY],
        namespaces=["a"],
        optional_kinds=[GATEWAY],
    )
    theirs = policy("p", sa="someone")
    only_policies.before_next(
        "PATCH", "/authorizationpolicies/p", lambda: only_policies.add(theirs)
    )
    caplog.set_level("WARNING", logger="meshops.k8s.reconciler")
    result = r.reconcile([gateway("w"), policy("p")])
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [(c.action, c.name) for c in result.changes] == [("failed", "w"), ("refused", "p")]
    assert warnings[0] == f"create Gateway a/w: {result.changes[0].error}"
    conflict = result.changes[1].error.removeprefix(
        "an object of that name exists and is not ours: "
    )
    assert conflict != result.changes[1].error  # the server's 409, quoted
    assert warnings[1] == f"create AuthorizationPolicy a/p: {conflict}"


@pytest.mark.fake_only("injects writes between our list and our write, as only the fake can")
def test_an_object_two_others_made_after_our_list_names_both(
    fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def two_others() -> None:
        api_for(fake, "one.m").apply(policy("p"), AUTHORIZATION_POLICY)
        label = {"apiVersion": AP, "kind": "AuthorizationPolicy"}
        label["metadata"] = {"name": "p", "namespace": "a", "labels": {"team": "x"}}
        api_for(fake, "two.m").apply(label, AUTHORIZATION_POLICY)

    fake.before_next("PATCH", "/authorizationpolicies/p", two_others)
    caplog.set_level("WARNING", logger="meshops.k8s.reconciler")
    [change] = reconciler(fake).reconcile([policy("p")]).changes
    reason = "an object of that name exists and is not ours (written by one.m, two.m)"
    assert (change.action, change.error) == ("refused", reason)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"create AuthorizationPolicy a/p: {reason}"]


@pytest.mark.fake_only("injects writes between our list and our write, as only the fake can")
def test_a_dry_run_stores_nothing_when_the_object_changed_after_our_list(fake: Any) -> None:
    r = reconciler(fake)
    r.reconcile([policy("p"), policy("q")])

    def annotate() -> None:
        live = fake.get(AP, "AuthorizationPolicy", "p", "a")
        live["metadata"]["annotations"]["someone"] = "was here"
        fake.add(live)

    fake.before_next("PATCH", "/authorizationpolicies/p", annotate)
    fake.before_next(
        "PATCH",
        "/authorizationpolicies/q",
        lambda: fake.delete(AP, "AuthorizationPolicy", "q", "a"),
    )
    changes = r.reconcile([policy("p", sa="new"), policy("q", sa="new")], dry_run=True).changes
    assert [(c.action, c.name) for c in changes] == [("update", "p"), ("create", "q")]
    stored = fake.get(AP, "AuthorizationPolicy", "p", "a")
    assert stored["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/a/sa/x"
    ]
    assert fake.get(AP, "AuthorizationPolicy", "q", "a") is None
