"""Table tests for meshops.plan.platform: a platform in, its exact Kubernetes objects out.

Covers namespaces on and off the mesh, waypoints, L7 (app) and L4 (unit) rules, service
accounts in principals, callers from other namespaces, object names and order, and every
problem the plan reports about how a platform's parts fit together (with the field it
names). Every expected object is also applied to the in-process Kubernetes API fake
with the upstream CRDs installed, so the tables cannot hold objects a cluster would refuse.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from meshops.k8s.api import Api
from meshops.k8s.client import make_client
from meshops.k8s.kinds import kind_of
from meshops.model.mesh import Endpoint, MeshPolicy, Method, TargetType
from meshops.model.platform import (
    Accept,
    App,
    AppRef,
    Istio,
    Level,
    MeshMode,
    Namespace,
    Platform,
    Port,
    Profile,
    Protocol,
)
from meshops.plan.mesh import PolicySet, authorization_policies
from meshops.plan.platform import WAYPOINT, mesh_policies, namespace_object, platform_objects

Obj = dict[str, Any]

AMBIENT_LABELS = {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}


def ns_obj(name: str, *, mesh: bool = True) -> Obj:
    metadata: Obj = {"name": name}
    if mesh:
        metadata["labels"] = AMBIENT_LABELS
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def waypoint_obj(namespace: str) -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": "waypoint",
            "namespace": namespace,
            "labels": {"istio.io/waypoint-for": "service"},
        },
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        },
    }


def http(port: int) -> Port:
    return Port(port, Protocol.http)


def ref(text: str) -> AppRef:
    namespace, name = text.split("/")
    return AppRef(namespace, name)


def rule(*sources: str, **kw: Any) -> Accept:
    return Accept(tuple(ref(s) for s in sources), **kw)


SHOP = Namespace("shop")
MONITORING = Namespace("monitoring")
LEGACY = Namespace("legacy", MeshMode.off)
FRONTEND = App("frontend", "shop", ports=(http(8080),))


# -- exact objects --------------------------------------------------------------------------

CASES: list[tuple[str, Platform, list[Obj]]] = [
    ("empty platform", Platform("p"), []),
    (
        "ambient namespace: labels and a waypoint",
        Platform("p", (SHOP,)),
        [ns_obj("shop"), waypoint_obj("shop")],
    ),
    (
        "namespace off the mesh: a plain Namespace",
        Platform("p", (LEGACY,)),
        [ns_obj("legacy", mesh=False)],
    ),
    (
        "namespaces sorted by name, then waypoints by namespace",
        Platform("p", (SHOP, LEGACY, MONITORING)),
        [
            ns_obj("legacy", mesh=False),
            ns_obj("monitoring"),
            ns_obj("shop"),
            waypoint_obj("monitoring"),
            waypoint_obj("shop"),
        ],
    ),
    (
        "an app without accept rules gets no policy",
        Platform("p", (SHOP,), (FRONTEND,)),
        [ns_obj("shop"), waypoint_obj("shop")],
    ),
    (
        "l7 rule: an app policy on the Service, with methods and paths",
        Platform(
            "shop",
            (SHOP,),
            (
                FRONTEND,
                App(
                    "cart",
                    "shop",
                    ports=(http(8080),),
                    accepts=(rule("shop/frontend", methods=(Method.get,), paths=("/cart",)),),
                ),
            ),
        ),
        [
            ns_obj("shop"),
            waypoint_obj("shop"),
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {
                    "name": "shop-cart-svc",
                    "namespace": "shop",
                    "labels": {"meshops.io/policy-source": "cart"},
                },
                "spec": {
                    "targetRefs": [{"kind": "Service", "group": "", "name": "cart"}],
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [
                                {"source": {"principals": ["cluster.local/ns/shop/sa/frontend"]}}
                            ],
                            "to": [
                                {
                                    "operation": {
                                        "ports": ["8080"],
                                        "methods": ["GET"],
                                        "paths": ["/cart"],
                                    }
                                }
                            ],
                        }
                    ],
                },
            },
        ],
    ),
    (
        "ports omitted: every port the app declares; the caller's service account",
        Platform(
            "shop",
            (SHOP,),
            (
                App("frontend", "shop", service_account="web"),
                App(
                    "cart",
                    "shop",
                    ports=(http(8080), http(9090)),
                    accepts=(rule("shop/frontend"),),
                ),
            ),
        ),
        [
            ns_obj("shop"),
            waypoint_obj("shop"),
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {
                    "name": "shop-cart-svc",
                    "namespace": "shop",
                    "labels": {"meshops.io/policy-source": "cart"},
                },
                "spec": {
                    "targetRefs": [{"kind": "Service", "group": "", "name": "cart"}],
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}],
                            "to": [{"operation": {"ports": ["8080", "9090"]}}],
                        }
                    ],
                },
            },
        ],
    ),
    (
        "l4 rule: a unit policy selecting the app's pods, ports only",
        Platform(
            "p",
            (SHOP,),
            (
                App("cart", "shop"),
                App(
                    "db",
                    "shop",
                    ports=(Port(5432),),
                    accepts=(rule("shop/cart", level=Level.l4, ports=(5432,)),),
                ),
            ),
        ),
        [
            ns_obj("shop"),
            waypoint_obj("shop"),
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {
                    "name": "p-db-pods",
                    "namespace": "shop",
                    "labels": {"meshops.io/policy-source": "db"},
                },
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "db"}},
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [
                                {"source": {"principals": ["cluster.local/ns/shop/sa/cart"]}}
                            ],
                            "to": [{"operation": {"ports": ["5432"]}}],
                        },
                        # calls through the Service reach the pods from the waypoint
                        {
                            "from": [
                                {"source": {"principals": ["cluster.local/ns/shop/sa/waypoint"]}}
                            ]
                        },
                    ],
                },
            },
            # ... so the waypoint lets only the same callers through the Service
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {
                    "name": "p-db-svc",
                    "namespace": "shop",
                    "labels": {"meshops.io/policy-source": "db"},
                },
                "spec": {
                    "targetRefs": [{"kind": "Service", "group": "", "name": "db"}],
                    "action": "ALLOW",
                    "rules": [
                        {
                            "from": [
                                {"source": {"principals": ["cluster.local/ns/shop/sa/cart"]}}
                            ],
                            "to": [{"operation": {"ports": ["5432"]}}],
                        }
                    ],
                },
            },
        ],
    ),
]


@pytest.mark.parametrize(
    ("platform", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_objects(platform: Platform, expected: list[Obj]) -> None:
    objects, problems = platform_objects(platform)
    assert problems == []
    assert objects == expected


@pytest.mark.parametrize("expected", [c[2] for c in CASES], ids=[c[0] for c in CASES])
def test_expected_objects_validate_against_the_upstream_crds(
    expected: list[Obj], make_fake: Any
) -> None:
    fake = make_fake(
        "gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io"
    )
    api = Api(make_client(fake.transport, field_manager="t"), field_manager="t")
    for obj in expected:
        api.apply(obj, kind_of(obj))  # raises meshops.k8s.errors.Invalid on a 422


def test_callers_from_two_namespaces_are_rules_of_one_policy_in_the_target_namespace() -> None:
    catalogue = App(
        "catalogue",
        "shop",
        ports=(http(8080),),
        accepts=(rule("shop/frontend", "monitoring/prometheus", methods=(Method.get,)),),
    )
    platform = Platform(
        "p", (SHOP, MONITORING), (catalogue, FRONTEND, App("prometheus", "monitoring"))
    )
    objects, problems = platform_objects(platform)
    assert problems == []
    assert [
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects
    ] == [
        ("Namespace", None, "monitoring"),
        ("Namespace", None, "shop"),
        ("Gateway", "monitoring", "waypoint"),
        ("Gateway", "shop", "waypoint"),
        ("AuthorizationPolicy", "shop", "p-catalogue-svc"),
    ]
    principals = [r["from"][0]["source"]["principals"] for r in objects[4]["spec"]["rules"]]
    assert principals == [
        ["cluster.local/ns/shop/sa/frontend"],
        ["cluster.local/ns/monitoring/sa/prometheus"],
    ]


def test_policies_are_the_ones_plan_mesh_builds_for_the_charm() -> None:
    """The file and the beacon charm share plan.mesh: same policy, same object."""
    cart = App(
        "cart",
        "shop",
        ports=(http(8080),),
        accepts=(
            rule("shop/frontend", methods=(Method.post,), paths=("/cart/*",), hosts=("cart",)),
        ),
    )
    objects, _ = platform_objects(Platform("shop", (SHOP,), (FRONTEND, cart)))
    policy = MeshPolicy(
        source_namespace="shop",
        source_app_name="frontend",
        target_namespace="shop",
        target_type=TargetType.app,
        target_app_name="cart",
        target_service="cart",
        endpoints=(
            Endpoint(hosts=("cart",), ports=(8080,), methods=(Method.post,), paths=("/cart/*",)),
        ),
        source_service_account="frontend",
    )
    expected, _ = authorization_policies(
        [PolicySet("apps[1]", "cart", (policy,))], prefix="shop", waypoints={"shop": WAYPOINT}
    )
    assert objects[-1:] == expected


def test_mesh_policies_one_set_per_accepting_app_in_rule_then_caller_order() -> None:
    platform = Platform(
        "p",
        (SHOP,),
        (
            FRONTEND,
            App("cart", "shop"),
            App(
                "db",
                "shop",
                ports=(Port(5432),),
                accepts=(
                    rule("shop/cart", "shop/frontend", level=Level.l4),
                    rule("shop/frontend", level=Level.l4, ports=(5432,)),
                ),
            ),
        ),
    )
    sets, problems = mesh_policies(platform)
    assert problems == []
    assert [(s.source, s.app) for s in sets] == [("apps[2]", "db")]
    assert [(p.source_app_name, p.target_type) for p in sets[0].policies] == [
        ("cart", TargetType.unit),
        ("frontend", TargetType.unit),
        ("frontend", TargetType.unit),
    ]


def test_a_hardened_platform_lets_each_ambient_namespaces_waypoint_reach_its_pods() -> None:
    platform = Platform("p", (SHOP, LEGACY), hardened=True)
    objects, problems = platform_objects(platform)
    assert problems == []
    from_waypoint = [o for o in objects if o["metadata"]["name"] == "p-from-waypoint"]
    assert [(o["metadata"]["namespace"], o["spec"]) for o in from_waypoint] == [
        (
            "shop",
            {
                "action": "ALLOW",
                "rules": [
                    {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/waypoint"]}}]}
                ],
            },
        )
    ]


def test_namespace_object_and_waypoint_name() -> None:
    assert WAYPOINT == "waypoint"
    assert namespace_object(SHOP) == ns_obj("shop")
    assert namespace_object(LEGACY) == ns_obj("legacy", mesh=False)


# -- problems -------------------------------------------------------------------------------

PROBLEMS: list[tuple[str, Platform, str, str]] = [
    (
        "duplicate namespace",
        Platform("p", (SHOP, MONITORING, SHOP)),
        "namespaces[2].name",
        "namespace 'shop' is declared twice (first as namespaces[0])",
    ),
    (
        "app in an undeclared namespace",
        Platform("p", (SHOP,), (App("x", "shp"),)),
        "apps[0].namespace",
        "namespace 'shp' is not declared in namespaces; did you mean 'shop'?",
    ),
    (
        "duplicate app in a namespace",
        Platform("p", (SHOP,), (FRONTEND, App("frontend", "shop"))),
        "apps[1].name",
        "app 'frontend' is declared twice in namespace 'shop' (first as apps[0])",
    ),
    (
        "duplicate port",
        Platform("p", (SHOP,), (App("a", "shop", ports=(Port(80), Port(80))),)),
        "apps[0].ports[1].port",
        "port 80 is declared twice",
    ),
    (
        "unknown caller, with the same name in another namespace",
        Platform(
            "p",
            (SHOP, MONITORING),
            (
                App("prometheus", "monitoring"),
                App("cart", "shop", ports=(http(80),), accepts=(rule("shop/prometheus"),)),
            ),
        ),
        "apps[1].accepts[0].sources[0]",
        "unknown app 'shop/prometheus'; did you mean 'monitoring/prometheus'?",
    ),
    (
        "unknown caller, with a close name",
        Platform(
            "p",
            (SHOP,),
            (FRONTEND, App("cart", "shop", ports=(http(80),), accepts=(rule("shop/frontent"),))),
        ),
        "apps[1].accepts[0].sources[0]",
        "unknown app 'shop/frontent'; did you mean 'shop/frontend'?",
    ),
    (
        "caller listed twice",
        Platform(
            "p",
            (SHOP,),
            (
                FRONTEND,
                App(
                    "cart",
                    "shop",
                    ports=(http(80),),
                    accepts=(rule("shop/frontend", "shop/frontend"),),
                ),
            ),
        ),
        "apps[1].accepts[0].sources[1]",
        "app 'shop/frontend' is listed twice",
    ),
    (
        "caller off the mesh",
        Platform(
            "p",
            (SHOP, LEGACY),
            (
                App("old", "legacy"),
                App("cart", "shop", ports=(http(80),), accepts=(rule("legacy/old"),)),
            ),
        ),
        "apps[1].accepts[0].sources[0]",
        "app 'legacy/old' is in namespace 'legacy', whose mesh is off: it has no mesh "
        "identity to allow (put the namespace on the mesh)",
    ),
    (
        "accept rules in a namespace off the mesh",
        Platform(
            "p",
            (SHOP, LEGACY),
            (FRONTEND, App("old", "legacy", ports=(http(80),), accepts=(rule("shop/frontend"),))),
        ),
        "apps[1].accepts",
        "app 'old' is in namespace 'legacy', whose mesh is off: nothing would enforce its "
        "accept rules (put the namespace on the mesh)",
    ),
    (
        "accept rules but no ports",
        Platform("p", (SHOP,), (FRONTEND, App("cart", "shop", accepts=(rule("shop/frontend"),)))),
        "apps[1].ports",
        "app 'cart' accepts calls but declares no ports",
    ),
    (
        "a port the app does not expose",
        Platform(
            "p",
            (SHOP,),
            (
                FRONTEND,
                App(
                    "cart",
                    "shop",
                    ports=(http(8080), http(8081)),
                    accepts=(rule("shop/frontend", ports=(8080, 9090)),),
                ),
            ),
        ),
        "apps[1].accepts[0].ports[1]",
        "port 9090 is not a port of app 'cart' (its ports: 8080, 8081)",
    ),
    (
        "an L7 field in an l4 rule",
        Platform(
            "p",
            (SHOP,),
            (
                FRONTEND,
                App(
                    "db",
                    "shop",
                    ports=(Port(5432),),
                    accepts=(rule("shop/frontend", level=Level.l4, paths=("/x",)),),
                ),
            ),
        ),
        "apps[1].accepts[0].paths",
        "paths need an l7 rule: an l4 rule is enforced by ztunnel, which sees only ports "
        "(remove paths, or drop level: l4)",
    ),
    (
        "methods on a tcp port named in the rule",
        Platform(
            "p",
            (SHOP,),
            (
                FRONTEND,
                App(
                    "db",
                    "shop",
                    ports=(http(80), Port(5432)),
                    accepts=(rule("shop/frontend", ports=(80, 5432), methods=(Method.get,)),),
                ),
            ),
        ),
        "apps[1].accepts[0].ports[1]",
        "port 5432 of app 'db' is tcp: methods need an http or grpc port",
    ),
    (
        "methods on a tcp port the rule covers by default",
        Platform(
            "p",
            (SHOP,),
            (
                FRONTEND,
                App(
                    "db",
                    "shop",
                    ports=(Port(5432),),
                    accepts=(rule("shop/frontend", methods=(Method.get,), hosts=("db",)),),
                ),
            ),
        ),
        "apps[1].accepts[0].methods",
        "port 5432 of app 'db' is tcp: methods/hosts need an http or grpc port",
    ),
]


@pytest.mark.parametrize(
    ("platform", "field", "message"), [c[1:] for c in PROBLEMS], ids=[c[0] for c in PROBLEMS]
)
def test_problems(platform: Platform, field: str, message: str) -> None:
    _, problems = platform_objects(platform)
    assert [(p.field, p.message) for p in problems] == [(field, message)]
    assert problems[0].source == "platform p"
    # A problem of an app names that app; one of the platform's namespaces, none.
    at_app = re.match(r"apps\[(\d+)\]", field)
    assert problems[0].app == (str(platform.apps[int(at_app[1])].ref) if at_app else "")


STRAY_CASES = [
    pytest.param(
        ("shp",), "app 'api' is declared in namespace 'shp', which is not declared", id="one"
    ),
    pytest.param(
        ("shp", "shpo"),
        "app 'api' is declared in namespaces 'shp', 'shpo', which are not declared",
        id="two",
    ),
]


@pytest.mark.parametrize(("namespaces", "cause"), STRAY_CASES)
def test_an_unknown_caller_whose_app_is_in_an_undeclared_namespace_points_there(
    namespaces: tuple[str, ...], cause: str
) -> None:
    # The reference is likely right and the app's namespace wrong: the message says so,
    # after the app's own problem, instead of offering the stray app as a correction.
    cart = App("cart", "shop", ports=(http(80),), accepts=(rule("shop/api"),))
    strays = tuple(App("api", ns) for ns in namespaces)
    _, problems = platform_objects(Platform("p", (SHOP,), (*strays, cart)))
    assert [(p.field, p.message, p.app) for p in problems] == [
        *(
            (
                f"apps[{i}].namespace",
                f"namespace {ns!r} is not declared in namespaces; did you mean 'shop'?",
                f"{ns}/api",
            )
            for i, ns in enumerate(namespaces)
        ),
        (
            f"apps[{len(namespaces)}].accepts[0].sources[0]",
            f"unknown app 'shop/api': {cause} in namespaces (see that app's namespace)",
            "shop/cart",
        ),
    ]


def test_an_unknown_caller_is_offered_the_declared_apps_of_its_name() -> None:
    # Of the apps named as the caller, those in declared namespaces are offered, each.
    cart = App("cart", "shop", ports=(http(80),), accepts=(rule("shop/api"),))
    apps = (App("api", "shp"), App("api", "monitoring"), App("api", "batch"), cart)
    platform = Platform("p", (SHOP, MONITORING, Namespace("batch")), apps)
    _, problems = platform_objects(platform)
    assert [(p.field, p.message) for p in problems][1:] == [
        (
            "apps[3].accepts[0].sources[0]",
            "unknown app 'shop/api'; did you mean 'batch/api' or 'monitoring/api'?",
        )
    ]


def test_a_bad_app_gets_no_policies_and_the_others_keep_theirs() -> None:
    good = App("cart", "shop", ports=(http(80),), accepts=(rule("shop/frontend"),))
    bad = App(
        "catalogue",
        "shop",
        ports=(http(80),),
        accepts=(rule("shop/frontend"), rule("shop/nobody")),
    )
    objects, problems = platform_objects(Platform("p", (SHOP,), (FRONTEND, bad, good)))
    assert [p.app for p in problems] == ["shop/catalogue"]
    policies = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
    assert [o["metadata"]["labels"]["meshops.io/policy-source"] for o in policies] == ["cart"]


def test_the_same_app_object_twice_is_still_a_duplicate() -> None:
    cart = App("cart", "shop", ports=(http(80),), accepts=(rule("shop/frontend"),))
    objects, problems = platform_objects(Platform("p", (SHOP,), (FRONTEND, cart, cart)))
    assert [p.field for p in problems] == ["apps[2].name"]
    assert sum(o["kind"] == "AuthorizationPolicy" for o in objects) == 1


def test_problems_come_in_platform_order() -> None:
    platform = Platform(
        "p",
        (SHOP, SHOP),
        (
            App("a", "nowhere"),
            App("b", "shop", ports=(http(80),), accepts=(rule("shop/x"), rule("shop/y"))),
        ),
    )
    _, problems = platform_objects(platform)
    assert [p.field for p in problems] == [
        "namespaces[1].name",
        "apps[0].namespace",
        "apps[1].accepts[0].sources[0]",
        "apps[1].accepts[1].sources[0]",
    ]


# -- the domain types check their own values ------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Port(0), "port: port 0 must be an integer 1-65535"),
        (lambda: Port(80, "udp"), "protocol: 'udp' is not one of 'http', 'grpc', 'tcp'"),
        (lambda: Namespace("a", "on"), "mesh: 'on' is not one of 'ambient', 'sidecar', 'off'"),
        (lambda: Namespace(""), "name: '' must be a non-empty string"),
        (lambda: AppRef("ns", "a/b"), "name: 'a/b' is not a valid name"),
        (lambda: Accept(()), "sources: an accept rule needs at least one source"),
        (lambda: Accept((AppRef("a", "b"),), ports=(70000,)), "ports[0]: port 70000"),
        (lambda: Accept((AppRef("a", "b"),), methods=("get",)), "methods[0]: 'get' is not one"),
        (lambda: Accept((AppRef("a", "b"),), paths=("x",)), "paths[0]: path 'x' must start"),
        (lambda: Accept((AppRef("a", "b"),), level="l3"), "level: 'l3' is not one of"),
        (lambda: App("a", "ns", service_account="x\n"), "service_account: 'x\\n' is not"),
        (lambda: Accept((AppRef("a", "b"),), hosts=("a b",)), "hosts[0]: host 'a b' must be"),
        (lambda: AppRef("NS", "a"), "namespace: 'NS' is not a valid namespace"),
        (lambda: App("A", "ns"), "name: 'A' is not a valid name"),
        (lambda: App("a", "NS"), "namespace: 'NS' is not a valid namespace"),
        (lambda: Istio(profile="big"), "profile: 'big' is not one of 'default', 'minimal'"),
        (lambda: Istio(namespace="Istio"), "namespace: 'Istio' is not a valid namespace"),
        (
            lambda: Istio(watched_namespaces=("shop", "Shop")),
            "watched_namespaces[1]: 'Shop' is not a valid namespace",
        ),
        (lambda: Platform("P"), "name: 'P' is not a valid name"),
    ],
)
def test_model_values_are_checked(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        make()


def test_model_accepts_enum_values_and_coerces_them() -> None:
    assert Namespace("a", "off").mesh is MeshMode.off  # type: ignore[arg-type]
    assert Port(80, "http").protocol is Protocol.http  # type: ignore[arg-type]
    accept = Accept((AppRef("a", "b"),), level="l4", methods=("GET",))  # type: ignore[arg-type]
    assert accept.level is Level.l4
    assert [type(m) for m in accept.methods] == [Method]
    assert accept.methods == (Method.get,)
    assert Istio(profile="minimal").profile is Profile.minimal  # type: ignore[arg-type]
    assert App("a", "ns").account == "a"
    assert App("a", "ns", service_account="sa").account == "sa"


def test_a_platform_finds_its_first_namespace_and_app_of_a_name() -> None:
    first, second = App("cart", "shop", ports=(http(80),)), App("cart", "shop")
    platform = Platform(
        "p", (MONITORING, SHOP, Namespace("shop", MeshMode.off)), (FRONTEND, first, second)
    )
    assert platform.namespace("shop") is SHOP
    assert platform.namespace("nowhere") is None
    assert platform.app(AppRef("shop", "cart")) is first
    assert platform.app(AppRef("monitoring", "cart")) is None
