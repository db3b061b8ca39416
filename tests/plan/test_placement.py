"""Table tests for meshops.plan.placement: a requirer's routes go only where it lives.

Covers where a requirer lives (its own model's namespace, the one marked with its
model's UUID across models, none), the namespace it asks for against that and the
operator's list, whose Services its backends may be, the refusals (each naming the
field and the value), and where a refused requirer's earlier objects may stay.
"""

from __future__ import annotations

import pytest

from meshops.model.ingress import Backend, Protocol, Route
from meshops.plan.ingress import RouteSet, web_route
from meshops.plan.placement import Requirer, Whereabouts, parse_namespaces, place

EDGE, SHOP = "uuid-edge", "uuid-shop"
WHERE = Whereabouts("edge", EDGE, {EDGE: ("edge",), SHOP: ("shop",)})
SERVICES = {
    "edge": {"web": "web", "db": "db", "web-admin": "web"},
    "shop": {"cart": "cart", "cart-api": "cart", "pay": "pay", "odd": ""},
    "kube-system": {"kube-dns": ""},
}


def ingress(
    app: str, namespace: str, *, uuid: str | None = EDGE, name: str | None = None, port: int = 80
) -> Requirer:
    """An ingress v2 requirer Juju calls ``app``, naming itself ``name``."""
    name = name or app
    asks = RouteSet("ingress:1", name, namespace, 1, (web_route(name, namespace, port),))
    return Requirer("ingress:1", app, uuid, asks, app_field="name")


def routes(app: str, namespace: str, *services: str, uuid: str | None = EDGE) -> Requirer:
    """An istio-ingress-route requirer Juju calls ``app``, with one route to ``services``."""
    backends = tuple(Backend(s, 8080) for s in services)
    route = Route("r", Protocol.HTTP, None, backends=backends)
    asks = RouteSet("istio-ingress-route:2", app, namespace, 2, (route,))
    return Requirer("istio-ingress-route:2", app, uuid, asks, namespace_field="config.model")


def refusal(requirer: Requirer, where: Whereabouts = WHERE) -> tuple[str, str]:
    placement = place([requirer], where, SERVICES)
    assert placement.route_sets == ()
    assert placement.refused == {requirer.source}
    [problem] = placement.problems
    assert (problem.source, problem.app) == (requirer.source, requirer.app)
    return problem.field, problem.message


# -- where it lives ------------------------------------------------------------------------


def test_a_requirer_of_this_model_is_placed_in_this_namespace() -> None:
    placement = place(
        [ingress("web", "edge"), routes("web", "edge", "web-admin")], WHERE, SERVICES
    )
    assert [(s.namespace, s.app) for s in placement.route_sets] == [
        ("edge", "web"),
        ("edge", "web"),
    ]
    assert placement.problems == () and placement.refused == frozenset()


def test_without_juju_saying_the_requirer_is_taken_to_be_of_this_model() -> None:
    assert place([ingress("web", "edge", uuid=None)], WHERE, SERVICES).route_sets
    field, message = refusal(ingress("cart", "shop", uuid=None))
    assert (field, message) == ("model", "app cart asked for namespace 'shop'; it lives in 'edge'")


def test_the_namespace_asked_for_must_be_its_own_models() -> None:
    """The issue's probe: kube-system's DNS, asked for by a requirer of the gateway's model."""
    field, message = refusal(ingress("web", "kube-system", name="kube-dns", port=53))
    assert field == "model"
    assert message == "app web asked for namespace 'kube-system'; it lives in 'edge'"
    field, message = refusal(routes("web", "kube-system", "kube-dns"))
    assert field == "config.model"
    assert message == "app web asked for namespace 'kube-system'; it lives in 'edge'"


def test_a_requirer_of_another_model_is_placed_in_the_namespace_marked_with_its_uuid() -> None:
    placement = place([ingress("remote-1f2e", "shop", uuid=SHOP, name="cart")], WHERE, SERVICES)
    [placed] = placement.route_sets
    assert (placed.namespace, placed.app) == ("shop", "cart")


def test_a_requirer_of_another_model_cannot_claim_the_gateways_namespace() -> None:
    field, message = refusal(ingress("remote-1f2e", "edge", uuid=SHOP, name="web"))
    assert field == "model"
    assert message == "app remote-1f2e asked for namespace 'edge'; it lives in 'shop'"


@pytest.mark.parametrize(
    ("namespaces", "why"),
    [
        ({}, "no namespace here is its model's (model.juju.is/id=uuid-blog)"),
        (
            {"uuid-blog": ("blog", "blog-copy")},
            "namespaces 'blog', 'blog-copy' all claim to be its model's "
            "(model.juju.is/id=uuid-blog)",
        ),
    ],
)
def test_a_model_without_exactly_one_namespace_places_nothing(
    namespaces: dict[str, tuple[str, ...]], why: str
) -> None:
    where = Whereabouts("edge", EDGE, namespaces)
    field, message = refusal(ingress("remote-9a", "blog", uuid="uuid-blog"), where)
    assert (field, message) == ("model", f"app remote-9a asked for namespace 'blog'; {why}")


# -- whose Services ------------------------------------------------------------------------


def test_in_its_own_model_an_ingress_requirer_is_served_under_its_own_name() -> None:
    field, message = refusal(ingress("web", "edge", name="db"))
    assert field == "name"
    assert (
        message == "'db' is not the application's name 'web': an app is served under its own name"
    )


def test_a_requirer_routes_only_to_its_own_applications_services() -> None:
    """Another app of the same model: its Service is labelled with that app."""
    field, message = refusal(routes("web", "edge", "web", "db"))
    assert field == "routes['r'].backends[1].service"
    assert message == (
        "app web may route only to its own Services: Service 'db' in 'edge' is labelled "
        "app.kubernetes.io/name=db, not web"
    )


def test_a_backend_must_be_a_service_that_exists() -> None:
    field, message = refusal(routes("web", "edge", "ghost"))
    assert field == "routes['r'].backends[0].service"
    assert (
        message
        == "app web may route only to its own Services: there is no Service 'ghost' in 'edge'"
    )


def test_a_backend_in_another_namespace_is_refused() -> None:
    route = Route("r", Protocol.HTTP, None, backends=(Backend("db", 5432, namespace="data"),))
    asks = RouteSet("istio-ingress-route:2", "web", "edge", 2, (route,))
    field, message = refusal(Requirer("istio-ingress-route:2", "web", EDGE, asks))
    assert field == "routes['r'].backends[0].namespace"
    assert message == "app web may route only to its own Services, in 'edge': not in 'data'"


def test_across_models_the_application_is_the_one_its_backends_belong_to() -> None:
    placement = place(
        [routes("remote-77", "shop", "cart", "cart-api", uuid=SHOP)], WHERE, SERVICES
    )
    [placed] = placement.route_sets
    assert placed.app == "cart"  # named after its Services' app, not Juju's alias
    field, message = refusal(routes("remote-77", "shop", "cart", "pay", uuid=SHOP))
    assert field == "routes['r'].backends[1].service"
    assert message == (
        "app remote-77 may route only to its own Services: Service 'pay' in 'shop' is "
        "labelled app.kubernetes.io/name=pay, not cart"
    )


def test_across_models_an_ingress_requirer_is_held_to_the_name_it_gives() -> None:
    """Juju hides its real name: any one application of its model, by its Service's label."""
    requirer = ingress("remote-1f2e", "shop", uuid=SHOP, name="pay")
    assert place([requirer], WHERE, SERVICES).route_sets
    field, message = refusal(ingress("remote-1f2e", "shop", uuid=SHOP, name="odd"))
    assert field == "name"
    assert message == (
        "app remote-1f2e may route only to its own Services: Service 'odd' in 'shop' is not "
        "labelled app.kubernetes.io/name=odd"
    )


# -- the operator's list -------------------------------------------------------------------


def test_an_allowed_namespace_may_be_used_by_any_requirer() -> None:
    where = Whereabouts("edge", EDGE, {SHOP: ("shop",)}, allowed=frozenset({"shop"}))
    placement = place([ingress("web", "shop", name="cart")], where, SERVICES)
    [placed] = placement.route_sets
    assert (placed.namespace, placed.app) == ("shop", "cart")


def test_in_an_allowed_namespace_backends_are_still_checked() -> None:
    where = Whereabouts("edge", EDGE, {}, allowed=frozenset({"kube-system"}))
    field, message = refusal(ingress("web", "kube-system", name="kube-dns", port=53), where)
    assert field == "name"
    assert message == (
        "app web may route only to its own Services: Service 'kube-dns' in 'kube-system' is "
        "not labelled app.kubernetes.io/name=kube-dns"
    )


def test_a_refused_requirers_objects_may_stay_only_where_it_may_put_them() -> None:
    where = Whereabouts("edge", EDGE, {SHOP: ("shop",)}, allowed=frozenset({"shared"}))
    placement = place(
        [ingress("web", "kube-system"), routes("remote-77", "x", "cart", uuid="uuid-gone")],
        where,
        SERVICES,
    )
    assert placement.may_hold == {
        "ingress:1": frozenset({"edge", "shared"}),
        "istio-ingress-route:2": frozenset({"shared"}),
    }


def test_a_requirer_whose_request_was_not_read_is_only_located() -> None:
    unread = Requirer("ingress:5", "remote-3", SHOP, None)
    placement = place([unread], WHERE, SERVICES)
    assert (placement.route_sets, placement.problems, placement.refused) == ((), (), frozenset())
    assert placement.may_hold == {"ingress:5": frozenset({"shop"})}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", set[str]()), ("shop", {"shop"}), (" shop , blog,", {"shop", "blog"})],
)
def test_the_operators_list_is_read_as_namespaces(value: str, expected: set[str]) -> None:
    assert parse_namespaces(value, "allowed-requirer-namespaces") == expected


@pytest.mark.parametrize("bad", ["Shop", "shop;blog", "a" * 64, "-x"])
def test_a_bad_list_names_the_option_and_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match=rf"^allowed-requirer-namespaces: {bad!r} is not a valid"):
        parse_namespaces(f"shop,{bad}", "allowed-requirer-namespaces")


def test_in_its_own_model_a_requirer_may_not_route_first_to_another_apps_service() -> None:
    # Its own name, not its first backend's owner, is what its Services must be labelled.
    field, message = refusal(routes("web", "edge", "db", "web"))
    assert field == "routes['r'].backends[0].service"
    assert message == (
        "app web may route only to its own Services: Service 'db' in 'edge' is labelled "
        "app.kubernetes.io/name=db, not web"
    )


def test_a_namespace_with_no_services_has_none_to_route_to() -> None:
    where = Whereabouts("edge", EDGE, {}, allowed=frozenset({"empty"}))
    field, message = refusal(routes("web", "empty", "web"), where)
    assert (field, message) == (
        "routes['r'].backends[0].service",
        "app web may route only to its own Services: there is no Service 'web' in 'empty'",
    )


def test_across_models_an_unlabelled_service_belongs_to_no_app() -> None:
    field, message = refusal(routes("remote-77", "shop", "odd", uuid=SHOP))
    assert (field, message) == (
        "routes['r'].backends[0].service",
        "app remote-77 may route only to its own Services: Service 'odd' in 'shop' is not "
        "labelled app.kubernetes.io/name",
    )


def test_a_requirer_not_read_does_not_keep_the_next_from_being_placed() -> None:
    unread = Requirer("ingress:5", "remote-3", SHOP, None)
    placement = place([unread, ingress("web", "edge")], WHERE, SERVICES)
    assert [(s.namespace, s.app) for s in placement.route_sets] == [("edge", "web")]


def test_where_a_requirer_lives_needs_no_explanation_when_known() -> None:
    assert WHERE.home(ingress("web", "edge")) == ("edge", "")
    assert WHERE.home(ingress("cart", "shop", uuid=SHOP)) == ("shop", "")
