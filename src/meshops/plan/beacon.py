"""What istio-beacon-k8s wants for its model: a waypoint, labels and policies.

:func:`plan_beacon` is pure: the charm reads its config and relation data into
:class:`BeaconInputs`, and gets back every object to apply, the labels for its
namespace and for its consumers, and the problems to report. ``meshops render`` builds
its namespaces' objects from the same :mod:`meshops.plan.mesh` functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from meshops.model.mesh import APP_NAME_LABEL, MeshPolicy
from meshops.model.problems import Problem
from meshops.plan.mesh import (
    PolicySet,
    authorization_policies,
    namespace_labels,
    waypoint,
    waypoint_name,
    workload_labels,
)

__all__ = [
    "BeaconInputs",
    "BeaconPlan",
    "foreign_services",
    "plan_beacon",
]

Obj = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class BeaconInputs:
    """Everything the beacon's plan depends on.

    Attributes:
        namespace: the model's namespace.
        app: the beacon application's name.
        model_on_mesh: whether the whole namespace joins the mesh (config).
        manage_authorization_policies: whether consumers' policies become
            AuthorizationPolicies (config).
        consumers: each related consumer's valid policies (a set with problems is
            passed as ``refused`` instead).
        refused: consumers whose data could not be read, with the problems.
        cross_model: for apps related across models, the name the consumer sees them
            by (the offer's remote alias) mapped to their real (app, model).
        service_apps: the namespace's Services and the application each belongs to (its
            ``app.kubernetes.io/name`` label), for policies whose ``target_service`` is
            not named after the consumer; None when they could not be read.
    """

    namespace: str
    app: str
    model_on_mesh: bool = False
    manage_authorization_policies: bool = True
    consumers: tuple[PolicySet, ...] = ()
    refused: tuple[tuple[str, tuple[Problem, ...]], ...] = ()
    cross_model: Mapping[str, tuple[str, str]] = dataclasses.field(
        default_factory=lambda: dict[str, tuple[str, str]]()
    )
    service_apps: Mapping[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class BeaconPlan:
    """The beacon's desired state.

    Attributes:
        waypoint: the waypoint Gateway's name.
        objects: every object to apply (the waypoint and the AuthorizationPolicies).
        namespace_labels: labels to hold on the model's namespace ({} for none).
        consumer_labels: labels consumers put on their pods when the namespace is not
            on the mesh; used when :attr:`namespace_labels` could not be applied too.
        problems: input that could not be used.
        refused_apps: consumers whose objects from an earlier, valid state are kept (none
            when authorization policies are not managed).
    """

    waypoint: str
    objects: tuple[Obj, ...]
    namespace_labels: Mapping[str, str]
    consumer_labels: Mapping[str, str]
    problems: tuple[Problem, ...]
    refused_apps: frozenset[str]

    def labels_for_consumers(self, *, namespace_labelled: bool) -> dict[str, str]:
        """What consumers need, given whether the namespace labels are in place."""
        return {} if namespace_labelled and self.namespace_labels else dict(self.consumer_labels)


def plan_beacon(inputs: BeaconInputs) -> BeaconPlan:
    """The beacon's desired state for ``inputs``."""
    name = waypoint_name(inputs.app)
    objects: list[Obj] = [waypoint(inputs.namespace, name)]
    problems: list[Problem] = []
    refused: set[str] = set()
    if inputs.manage_authorization_policies:
        # Consumers' data matters only while their policies are managed: with the
        # option off, every AuthorizationPolicy goes, the last good ones included.
        problems.extend(p for _, ps in inputs.refused for p in ps)
        refused.update(app for app, _ in inputs.refused)
        sets: list[PolicySet] = []
        for policy_set in inputs.consumers:
            checked, set_problems = _check_set(policy_set, inputs)
            if set_problems:
                problems.extend(set_problems)
                refused.add(policy_set.app)
            else:
                sets.append(checked)
        policies, policy_problems = authorization_policies(
            sets, prefix=inputs.app, waypoints={inputs.namespace: name}
        )
        problems.extend(policy_problems)
        refused.update(p.app for p in policy_problems)
        objects.extend(policies)
    return BeaconPlan(
        waypoint=name,
        objects=tuple(objects),
        namespace_labels=namespace_labels(name) if inputs.model_on_mesh else {},
        consumer_labels=workload_labels(inputs.namespace, name, namespace_on_mesh=False),
        problems=tuple(problems),
        refused_apps=frozenset(refused),
    )


def foreign_services(consumers: Iterable[PolicySet]) -> set[str]:
    """Services that consumers' policies target and that are not named after them.

    The charm looks these up (:attr:`BeaconInputs.service_apps`) only when there are any.
    """
    return {
        p.target_service
        for c in consumers
        for p in c.policies
        if p.target_service is not None and p.target_service != c.app
    }


def _check_set(policy_set: PolicySet, inputs: BeaconInputs) -> tuple[PolicySet, list[Problem]]:
    """Resolve cross-model sources; refuse policies that open someone else's workloads.

    A consumer speaks for itself only: its policies may open its own application's
    Services and pods in this model's namespace, nothing else. Otherwise any related
    charm could let itself (or anyone) call any other application of the model, or cut
    everyone else off from it.
    """
    problems: list[Problem] = []
    resolved: list[MeshPolicy] = []
    for i, policy in enumerate(policy_set.policies):
        refusal = _not_its_own(policy, policy_set.app, inputs)
        if refusal is not None:
            field, message = refusal
            problems.append(
                Problem(policy_set.source, f"policies[{i}].{field}", message, app=policy_set.app)
            )
            continue
        remote = inputs.cross_model.get(policy.source_app_name)
        if remote is not None and policy.source_namespace == inputs.namespace:
            app, model = remote
            policy = dataclasses.replace(policy, source_app_name=app, source_namespace=model)
        resolved.append(policy)
    return dataclasses.replace(policy_set, policies=tuple(resolved)), problems


def _not_its_own(policy: MeshPolicy, app: str, inputs: BeaconInputs) -> tuple[str, str] | None:
    """Why ``policy`` reaches beyond ``app``'s own workloads (field, message), if it does."""
    tail = "a consumer may only open its own workloads"
    if policy.target_namespace != inputs.namespace:
        return (
            "target_namespace",
            f"{policy.target_namespace!r} is not this model's namespace "
            f"{inputs.namespace!r}; {tail}",
        )
    if policy.target_app_name is not None and policy.target_app_name != app:
        return (
            "target_app_name",
            f"{policy.target_app_name!r} is not the related application {app!r}; {tail}",
        )
    service = policy.target_service
    if service is not None and service != app:
        owner = (inputs.service_apps or {}).get(service)
        if owner != app:
            seen = "could not be read" if inputs.service_apps is None else f"belongs to {owner!r}"
            return (
                "target_service",
                f"Service {service!r} is not labelled {APP_NAME_LABEL}={app} ({seen}); {tail}",
            )
    labels = dict(policy.target_selector_labels)
    if labels and labels.get(APP_NAME_LABEL) != app:
        return (
            "target_selector_labels",
            f"{labels!r} must include {APP_NAME_LABEL}: {app!r}, to select only its pods; {tail}",
        )
    return None
