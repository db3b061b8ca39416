"""What ``meshops plan`` and ``meshops apply`` share: a platform's objects against a cluster.

The objects are the ones ``meshops render`` prints (not the IstioOperator, which is
``istioctl``'s), written through the same :class:`~meshops.k8s.reconciler.Reconciler`
the charms use: owner ``meshops.<platform>``, scope ``platform``. Every object it
writes carries those labels, so that a later apply knows which objects are its own.

Namespaces are handled with care, because deleting one deletes everything in it:

* a Namespace that does not exist is created (and is then the platform's);
* one that exists and is not the platform's (made by ``kubectl``, another tool, or
  Juju) is *adopted*: only the mesh labels are server-side applied to it, with a field
  manager of their own, and nothing else about it changes; a mesh label another field
  manager set to another value (the istio-beacon-k8s charm's waypoint, say) is never
  overwritten: that Namespace is refused, naming the label, its value and who set it;
* no Namespace is ever deleted, with or without ``--prune``: one the file no longer
  declares is reported as kept.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from meshops.cli.control_plane import (
    ControlPlane,
    generate,
    istioctl_from,
    reconcile_control_plane,
)
from meshops.cli.files import read_declaration
from meshops.cli.output import write_json
from meshops.cli.render import PLATFORM_SCOPE, checked_objects, platform_owner
from meshops.k8s import objects as k8s_objects
from meshops.k8s.api import Api, label_patch, owners_of_labels
from meshops.k8s.deadline import Deadline
from meshops.k8s.errors import Conflict, CrdMissing, KubernetesError
from meshops.k8s.istioctl import IstioctlError, IstioctlMissing
from meshops.k8s.kinds import (
    AUTHORIZATION_POLICY,
    DESTINATION_RULE,
    GATEWAY,
    GRPC_ROUTE,
    HTTP_ROUTE,
    NAMESPACE,
    OPTIONAL_KINDS,
    REFERENCE_GRANT,
    TCP_ROUTE,
    TLS_ROUTE,
    kind_of,
)
from meshops.k8s.reconciler import OWNER_LABEL, SCOPE_LABEL, Change, Reconciler
from meshops.model.ownership import owner_labels
from meshops.model.platform import Platform
from meshops.plan.istio import istio_operator

__all__ = [
    "ACTION_WORDS",
    "KINDS",
    "SCOPE",
    "ClusterError",
    "Outcome",
    "Progress",
    "connect",
    "describe",
    "outcome_json",
    "owner_of",
    "reconcile",
    "run_against_cluster",
    "summary",
]

Obj = dict[str, Any]
#: Told of each change as it is made, and whether it wrote only a Namespace's labels.
Progress = Callable[[Change, bool], None]

#: The scope of a platform's objects.
SCOPE = PLATFORM_SCOPE
#: Every kind a platform file renders.
KINDS = (
    NAMESPACE,
    GATEWAY,
    REFERENCE_GRANT,
    HTTP_ROUTE,
    GRPC_ROUTE,
    TLS_ROUTE,
    TCP_ROUTE,
    DESTINATION_RULE,
    AUTHORIZATION_POLICY,
)

#: What to install when a required CRD is missing.
_INSTALL_HINTS = {
    AUTHORIZATION_POLICY.crd: "Istio is not installed: install it first "
    "(meshops render FILE -o DIR; istioctl install -f DIR/istio-operator.yaml)",
    GATEWAY.crd: "the Kubernetes Gateway API CRDs are not installed: install them first "
    "(kubectl apply --server-side -f standard-install.yaml of the kubernetes-sigs/"
    "gateway-api release; experimental-install.yaml for TCPRoute)",
}


class ClusterError(Exception):
    """The cluster cannot be used: unreachable, refusing us, or missing a CRD we need."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a plan or an apply did (or would do) to each object.

    Attributes:
        changes: one per object, in the order they were made.
        dry_run: whether nothing was changed (a plan).
        adopted: the Namespaces that exist and are not the platform's: only their
            labels are (or would be) written.
    """

    changes: tuple[Change, ...]
    dry_run: bool
    adopted: frozenset[str] = frozenset()

    def count(self, action: str) -> int:
        """How many changes have this action."""
        return sum(c.action == action for c in self.changes)

    @property
    def ok(self) -> bool:
        """Whether the cluster took (or would take) every object."""
        return not any(c.action in ("failed", "refused") for c in self.changes)


def owner_of(platform: str) -> str:
    """The owner label value (and field manager) of a platform's objects."""
    return platform_owner(platform)


def connect(owner: str, kubeconfig: str | Path | None, context: str | None) -> Api:
    """An :class:`Api` for the configured cluster that fails fast when it is unreachable.

    Raises:
        ClusterError: no cluster is configured.
    """
    try:
        return Api.connect(
            field_manager=owner,
            kubeconfig=kubeconfig,
            context=context,
            retries=1,
            # a command has no hook to end: each request has its own timeout (10 s),
            # the whole apply none
            deadline=Deadline(None),
        )
    except KubernetesError as e:
        raise ClusterError(e.message) from None


def reconcile(
    api: Api,
    platform: str,
    desired: Sequence[Mapping[str, Any]],
    *,
    prune: bool,
    dry_run: bool,
    progress: Progress | None = None,
    check: bool = True,
    adopt: bool = False,
) -> Outcome:
    """Make the cluster hold the platform's objects (or, with ``dry_run``, say how).

    Args:
        api: the cluster.
        platform: the platform's name.
        desired: the objects, as rendered (Namespaces first).
        prune: delete the platform's objects the file no longer asks for (never
            Namespaces); without it they are reported as kept.
        dry_run: send every write as a server-side dry run (a plan).
        progress: called with each change as it is made, and whether only the labels of
            a Namespace that is not the platform's were written.
        check: in a dry run, have the server check each object; False when it cannot
            (the CRDs of their kinds are not installed yet): they are then listed as
            they would be written.
        adopt: take over the objects (not Namespaces) of the platform's names that are
            not its own, instead of refusing them.

    Raises:
        ClusterError: the cluster is unreachable, forbids us something, or lacks a CRD
            every platform needs (Istio's, the Gateway API's).
    """
    owner = owner_of(platform)
    reconciler = Reconciler(
        api,
        owner=owner,
        scope=SCOPE,
        kinds=KINDS,
        namespaces=None,
        optional_kinds=OPTIONAL_KINDS,
    )

    def keep(obj: Obj) -> bool:
        return not prune or kind_of(obj) is NAMESPACE

    try:
        adopted = _adopt_namespaces(api, reconciler, desired, dry_run, progress)
        names = {c.name for c in adopted}
        rest = [
            o for o in desired if not (kind_of(o) is NAMESPACE and k8s_objects.name(o) in names)
        ]
        if dry_run and not check:
            changes = reconciler.diff(rest, keep=keep)
            for change in changes:
                if progress is not None:
                    progress(change, False)
        else:
            changes = reconciler.reconcile(
                rest,
                keep=keep,
                dry_run=dry_run,
                progress=_whole_objects(progress),
                adopt=adopt,
            ).changes
    except CrdMissing as e:
        raise ClusterError(_INSTALL_HINTS.get(e.crd, e.message)) from None
    except KubernetesError as e:
        raise ClusterError(e.message) from None
    return Outcome((*adopted, *changes), dry_run, frozenset(names))


def _adopt_namespaces(
    api: Api,
    reconciler: Reconciler,
    desired: Sequence[Mapping[str, Any]],
    dry_run: bool,
    progress: Progress | None,
) -> list[Change]:
    """Label the desired Namespaces that exist and are not ours; say what was done."""
    changes: list[Change] = []
    wanted_namespaces = [obj for obj in desired if kind_of(obj) is NAMESPACE]
    if not wanted_namespaces:
        return changes
    existing = {k8s_objects.name(ns): ns for ns in api.list(NAMESPACE, None)}  # one read
    for obj in wanted_namespaces:
        name = k8s_objects.name(obj)
        live = existing.get(name)
        if live is None or _ours(live, reconciler):
            continue
        # Only the mesh labels: the ownership marks render puts on it would make a
        # Namespace that is not the platform's look like the platform's.
        ownership = set(owner_labels(reconciler.owner, SCOPE))
        wanted = {k: v for k, v in k8s_objects.labels(obj).items() if k not in ownership}
        current = k8s_objects.labels(live)
        manager = f"{reconciler.owner}-labels"
        taken = _labels_taken(live, wanted, manager)
        if taken:
            change = Change("refused", NAMESPACE, "", name, "; ".join(taken))
        elif all(current.get(k) == v for k, v in wanted.items()):
            change = Change("unchanged", NAMESPACE, "", name)
        else:
            patch = label_patch(NAMESPACE, name, None, wanted)
            try:  # never forced: a label set meanwhile by someone else is refused too
                api.apply(patch, NAMESPACE, field_manager=manager, dry_run=dry_run)
                change = Change("update", NAMESPACE, "", name)
            except Conflict as e:
                change = Change("refused", NAMESPACE, "", name, e.message)
        changes.append(change)
        if progress is not None:
            progress(change, True)
    return changes


def _labels_taken(live: Mapping[str, Any], wanted: Mapping[str, str], manager: str) -> list[str]:
    """The labels in ``wanted`` that another field manager set to another value."""
    current = k8s_objects.labels(live)
    owners = owners_of_labels(live)
    taken: list[str] = []
    for key, value in sorted(wanted.items()):
        if key not in current or current[key] == value or manager in owners.get(key, set()):
            continue
        by = ", ".join(sorted(owners.get(key, set()))) or "an unknown field manager"
        taken.append(
            f"label {key}={current[key]} is set by {by}; the platform would set {value!r}"
        )
    return taken


def _whole_objects(progress: Progress | None) -> Callable[[Change], None] | None:
    """``progress`` for the reconciler's changes, which write whole objects."""
    if progress is None:
        return None
    report = progress

    def each(change: Change) -> None:
        report(change, False)

    return each


def _ours(obj: Mapping[str, Any], reconciler: Reconciler) -> bool:
    labels = k8s_objects.labels(obj)
    return labels.get(OWNER_LABEL) == reconciler.owner and labels.get(SCOPE_LABEL) == SCOPE


# -- the command line ------------------------------------------------------------------

#: How each action reads in a plan (what would happen) and after an apply (what did).
ACTION_WORDS = {
    "create": ("would create", "created"),
    "update": ("would update", "updated"),
    "delete": ("would delete", "deleted"),
    "unchanged": ("unchanged", "unchanged"),
    "kept": ("kept", "kept"),
    "refused": ("refused", "refused"),
    "failed": ("failed", "failed"),
    "adopt": ("would adopt", "adopted"),
}
#: How the summary counts each action in a plan and after an apply.
_SUMMARY_WORDS = {
    "create": ("to create", "created"),
    "update": ("to update", "updated"),
    "delete": ("to delete", "deleted"),
}


def describe(change: Change, *, dry_run: bool, labels_only: bool = False) -> str:
    """One line for a change, as a plan or an apply prints it.

    Example:
        >>> from meshops.k8s.kinds import GATEWAY
        >>> describe(Change("create", GATEWAY, "shop", "waypoint"), dry_run=True)
        'would create  Gateway shop/waypoint'
    """
    word = ACTION_WORDS[change.action][0 if dry_run else 1]
    where = f"{change.namespace}/{change.name}" if change.namespace else change.name
    line = f"{word:<14}{change.kind.kind} {where}"
    if labels_only:
        line += " (its labels only: the namespace is not the platform's)"
    if change.action == "kept":
        line += (
            " (namespaces are never deleted)"
            if change.kind is NAMESPACE
            else " (no longer in the file; --prune deletes it)"
        )
    if change.error:
        line += f": {change.error}"
    return line


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """An outcome for ``--output json``."""
    changes: list[dict[str, Any]] = []
    for c in outcome.changes:
        entry: dict[str, Any] = {
            "action": c.action,
            "kind": c.kind.kind,
            "namespace": c.namespace,
            "name": c.name,
        }
        if c.error:
            entry["error"] = c.error
        if _labels_only(c, outcome):
            entry["labelsOnly"] = True
        changes.append(entry)
    summary = {action: outcome.count(action) for action in ACTION_WORDS}
    return {"dryRun": outcome.dry_run, "changes": changes, "summary": summary}


def summary(outcome: Outcome) -> str:
    """The last line of a plan or an apply: how many objects had each action.

    Example:
        >>> summary(Outcome((), dry_run=True))
        'Plan: 0 to create, 0 to update, 0 to delete. Nothing was changed.'
    """
    when = 0 if outcome.dry_run else 1
    counts = [
        f"{outcome.count(action)} {_SUMMARY_WORDS.get(action, ACTION_WORDS[action])[when]}"
        for action in ACTION_WORDS
        if outcome.count(action) or action in _SUMMARY_WORDS
    ]
    if outcome.dry_run:
        return f"Plan: {', '.join(counts)}. Nothing was changed."
    return f"Applied: {', '.join(counts)}."


def run_against_cluster(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, dry_run: bool, command: str
) -> int:
    """Plan or apply ``args.file``: the shared body of both commands.

    A plan prints its lines when it is done; an apply prints each change as it is made.
    Unchanged objects are only counted.

    Returns:
        0 when the cluster took (or would take) every object, 1 when it refused some,
        2 when the file is invalid or the cluster cannot be used.
    """
    as_json = args.output == "json"
    declaration = read_declaration(
        args.file, out, err, output=args.output, max_bytes=args.max_file_size
    )
    if declaration is None:
        return 2
    objects = checked_objects(declaration, args.file, err)
    if objects is None:
        return 2

    def show(change: Change, labels_only: bool) -> None:
        if change.action != "unchanged":
            line = describe(change, dry_run=dry_run, labels_only=labels_only)
            print(line, file=out, flush=True)

    platform = declaration.platform.name
    try:
        plane = _control_plane(args, declaration.platform)
    except (IstioctlMissing, IstioctlError) as e:
        print(f"meshops {command}: {_istioctl_line(e)}", file=err)
        return 2
    try:
        api = connect(owner_of(platform), args.kubeconfig, args.context)
        plane_changes: list[Change] = []
        created: list[Any] = []
        if plane is not None:
            try:
                plane_changes, created = reconcile_control_plane(
                    api,
                    owner_of(platform),
                    plane,
                    tcp_routes=any(o["kind"] == TCP_ROUTE.kind for o in objects),
                    prune=args.prune,
                    dry_run=dry_run,
                    progress=_whole_objects(None if as_json else show),
                )
            except KubernetesError as e:
                raise ClusterError(e.message) from None
        outcome = reconcile(
            api,
            platform,
            objects,
            prune=args.prune,
            dry_run=dry_run,
            progress=None if as_json else show,
            check=not created,
            adopt=args.adopt,
        )
        outcome = dataclasses.replace(outcome, changes=(*plane_changes, *outcome.changes))
    except ClusterError as e:
        print(f"meshops {command}: {e}", file=err)
        return 2
    if as_json:
        write_json(outcome_json(outcome), out)
    else:
        print(summary(outcome), file=out)
    return 0 if outcome.ok else 1


def _control_plane(args: argparse.Namespace, platform: Platform) -> ControlPlane | None:
    """The control plane istioctl generates for the file's istio section, if it has one."""
    if istio_operator(platform) is None:
        return None
    return generate(platform, istioctl_from(args))


def _istioctl_line(error: Exception) -> str:
    if isinstance(error, IstioctlMissing):
        return (
            f"{error}: the file's istio section needs istioctl to generate the control "
            "plane (install it, or give --istioctl PATH)"
        )
    return str(error)


def _labels_only(change: Change, outcome: Outcome) -> bool:
    return change.kind is NAMESPACE and change.name in outcome.adopted
