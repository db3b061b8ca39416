"""Make the cluster hold exactly the objects an owner wants, with the fewest API calls.

A :class:`Reconciler` manages the objects of one *owner* (an application, e.g.
``istio-beacon-k8s.my-model``) within one *scope* (a purpose, e.g. ``beacon``). Every
object it writes carries three labels (:data:`MANAGED_BY_LABEL`, :data:`OWNER_LABEL`,
:data:`SCOPE_LABEL`) and an annotation (:data:`HASH_ANNOTATION`) holding a hash of the
content it applied. A reconcile:

1. lists, per managed kind and namespace, the objects carrying this owner's and scope's
   labels (one list each; cluster-wide when no namespaces are given);
2. server-side applies (field manager = the owner) only the desired objects whose hash
   differs from the one on the live object, in dependency order (:data:`APPLY_ORDER`);
3. deletes the objects it owns and no longer wants (:data:`DELETE_ORDER`: routes
   before what they rely on), except those the caller asks to keep (e.g. the last good
   policies of a related app that now sends invalid data).

Objects without our owner label are never taken over, modified or deleted, even when one
appears between our list and our write:

* an object about to be created is first checked against one unlabelled list of its
  kind and namespace (an object of that name that is not ours is reported ``refused``);
  then it is applied *without* force, so that an object made since the list by another
  field manager either conflicts (409) or, when none of its fields conflict, shows that
  manager in the answer's managedFields: our fields are then taken off it again at
  once, leaving it as it was, and it is reported ``refused`` too;
* an update is a forced apply of the object we listed, carrying our owner label, *at
  the resourceVersion we listed*: if it changed since, the server refuses (409), and
  the object is read again and written only if it is still ours.

A reconcile in which nothing changed therefore writes nothing and reads one list per
managed kind and namespace. Drift made by hand to a field we set is not seen by the
hash (we compare with what we last applied, not with the live object): a caller that
knows an object drifted (its generation moved, see :mod:`meshops.charm.memory`)
names it in ``stale``, and it is applied again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from meshops.k8s import objects
from meshops.k8s.api import Api
from meshops.k8s.errors import Conflict, CrdMissing, KubernetesError, NotFound
from meshops.k8s.kinds import Kind, apply_rank, delete_rank, kind_of
from meshops.model.names import valid_label_value

# The ownership marks live in meshops.model.ownership (render stamps objects with them);
# they are re-exported here, where the reconciler's users have always found them.
from meshops.model.ownership import HASH_ANNOTATION as HASH_ANNOTATION
from meshops.model.ownership import MANAGED_BY as MANAGED_BY
from meshops.model.ownership import MANAGED_BY_LABEL as MANAGED_BY_LABEL
from meshops.model.ownership import OWNER_LABEL as OWNER_LABEL
from meshops.model.ownership import SCOPE_LABEL as SCOPE_LABEL
from meshops.model.ownership import content_hash as content_hash
from meshops.model.ownership import owner_labels, stamp

__all__ = [
    "HASH_ANNOTATION",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "NOT_OURS",
    "OWNER_LABEL",
    "SCOPE_LABEL",
    "Action",
    "Change",
    "Key",
    "ReconcileResult",
    "Reconciler",
    "content_hash",
]

log = logging.getLogger(__name__)


Obj = dict[str, Any]
Key = tuple[Kind, str, str]  # kind, namespace ("" when cluster-scoped), name
Action = Literal["create", "update", "delete", "unchanged", "kept", "refused", "failed", "adopt"]
#: Why an object was refused: it exists, and it is not ours.
NOT_OURS = "an object of that name exists and is not ours"


@dataclasses.dataclass(frozen=True)
class Change:
    """What a reconcile did (or, in a dry run, would do) to one object.

    Attributes:
        action: create, update, delete, unchanged, kept (owned, not wanted, kept on the
            caller's request), refused (an object of that name exists and is not ours),
            or failed (the API server rejected it; ``error`` says why).
        kind: the object's kind.
        namespace: its namespace ("" when cluster-scoped).
        name: its name.
        error: for refused and failed, the reason.
    """

    action: Action
    kind: Kind
    namespace: str
    name: str
    error: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        text = f"{self.action} {self.kind.kind} {where}"
        return f"{text}: {self.error}" if self.error else text


@dataclasses.dataclass(frozen=True)
class ReconcileResult:
    """Every :class:`Change` of one reconcile, in the order they were made.

    Attributes:
        changes: the changes.
        live: the owned objects as they were listed at the start (with their status).
    """

    changes: tuple[Change, ...]
    live: Mapping[Key, Obj] = dataclasses.field(default_factory=lambda: dict[Key, Obj]())
    stored: Mapping[Key, Obj] = dataclasses.field(default_factory=lambda: dict[Key, Obj]())
    """The objects created or updated, as the server answered the write."""

    def left(self) -> list[Obj]:
        """The owned objects as this reconcile left them (as written, else as listed)."""
        gone = {(c.kind, c.namespace, c.name) for c in self.of("delete")}
        keys = (self.live.keys() | self.stored.keys()) - gone
        return [self.stored.get(k) or self.live[k] for k in sorted(keys, key=_order)]

    def of(self, *actions: Action) -> list[Change]:
        """The changes with one of ``actions``."""
        return [c for c in self.changes if c.action in actions]

    @property
    def writes(self) -> int:
        """How many objects were created, updated or deleted."""
        return len(self.of("create", "update", "delete"))

    @property
    def problems(self) -> list[Change]:
        """Objects that could not be written: refused or failed."""
        return self.of("refused", "failed")


def _order(key: Key) -> tuple[int, str, str]:
    return (apply_rank(key[0]), key[1], key[2])


class Reconciler:
    """Reconciles one owner's objects within one scope.

    Args:
        api: Kubernetes access; its field manager is used for every write.
        owner: who owns the objects; a label value, see :func:`label_value`.
        scope: what the objects are for (several scopes may share an owner).
        kinds: every kind this scope may ever hold; objects of other kinds are refused.
        namespaces: every namespace this scope may ever hold objects in; None means any
            (lists are then cluster-wide, one per kind).
        optional_kinds: kinds whose CRD may be missing without stopping the reconcile:
            their objects are reported ``failed`` instead (say, the experimental TCPRoute).

    Example:
        >>> from meshops.k8s import make_client
        >>> from meshops.k8s.kinds import SERVICE_ACCOUNT
        >>> from meshops.testing import FakeKubernetes
        >>> fake = FakeKubernetes()
        >>> _ = fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "m"}})
        >>> api = Api(make_client(fake.transport, field_manager="me.m"), field_manager="me.m")
        >>> r = Reconciler(api, owner="me.m", scope="demo", kinds=[SERVICE_ACCOUNT],
        ...                namespaces=["m"])
        >>> sa = {"apiVersion": "v1", "kind": "ServiceAccount",
        ...       "metadata": {"name": "x", "namespace": "m"}}
        >>> r.reconcile([sa]).writes, r.reconcile([sa]).writes, r.delete_all().writes
        (1, 0, 1)
    """

    def __init__(
        self,
        api: Api,
        *,
        owner: str,
        scope: str,
        kinds: Sequence[Kind],
        namespaces: Sequence[str] | None,
        optional_kinds: Sequence[Kind] = (),
    ) -> None:
        for what, value in (("owner", owner), ("scope", scope)):
            if not valid_label_value(value):
                raise ValueError(f"{what} {value!r} must be a label value (see label_value)")
        self.api = api
        self.owner = owner
        self.scope = scope
        self.kinds = tuple(sorted(set(kinds), key=apply_rank))
        self.namespaces = tuple(sorted(set(namespaces))) if namespaces is not None else None
        self.optional_kinds = frozenset(optional_kinds)
        self._stored: dict[Key, Obj] = {}

    @property
    def labels(self) -> dict[str, str]:
        """The labels every object of this owner and scope carries."""
        return owner_labels(self.owner, self.scope)

    def prepare(self, obj: Mapping[str, Any]) -> tuple[Key, Obj]:
        """The object as it will be applied (ownership labels and hash added) and its key.

        ``obj`` is not modified; the result shares everything but its metadata with it,
        so neither may be modified afterwards.
        """
        kind = kind_of(obj)
        if kind not in self.kinds:
            raise ValueError(f"{kind} is not one of the kinds of scope {self.scope!r}")
        out = dict(obj)
        meta = out["metadata"] = dict(objects.metadata(obj))
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{kind.kind} without metadata.name: {obj!r}")
        namespace = str(meta.get("namespace") or "") if kind.namespaced else ""
        if kind.namespaced:
            if not namespace:
                raise ValueError(f"{kind.kind} {name!r} needs metadata.namespace")
            if self.namespaces is not None and namespace not in self.namespaces:
                allowed = ", ".join(self.namespaces)
                raise ValueError(
                    f"{kind.kind} {name!r}: namespace {namespace!r} is not one of {allowed}"
                )
        elif "namespace" in meta:
            del meta["namespace"]
        return (kind, namespace, name), stamp(out, self.owner, self.scope)

    def owned(self) -> dict[Key, Obj]:
        """The live objects of this owner and scope, by key (one list per kind and namespace).

        A kind whose CRD is not installed has no objects (applying one raises
        :class:`CrdMissing`).
        """
        found: dict[Key, Obj] = {}
        for kind in self.kinds:
            for namespace in self._namespaces_for(kind):
                try:
                    listed = self.api.list(kind, namespace, self.labels)
                except CrdMissing:
                    break
                for obj in listed:
                    ns = objects.namespace(obj) if kind.namespaced else ""
                    found[(kind, ns, objects.name(obj))] = obj
        return found

    def diff(
        self, desired: Iterable[Mapping[str, Any]], *, keep: Callable[[Obj], bool] | None = None
    ) -> list[Change]:
        """What :meth:`reconcile` would do, reading but never writing.

        For a plan whose objects the server cannot check (``meshops plan`` when the CRDs of
        their kinds are not installed yet): the changes are worked out here alone.
        """
        wanted = self._prepare_all(desired)
        live = self.owned()
        changes = [self._compare(key, obj, live) for key, obj in wanted.items()]
        changes += self._deletions(wanted, live, keep)
        return changes

    def reconcile(
        self,
        desired: Iterable[Mapping[str, Any]],
        *,
        keep: Callable[[Obj], bool] | None = None,
        dry_run: bool = False,
        progress: Callable[[Change], None] | None = None,
        adopt: bool = False,
        stale: Callable[[Obj], bool] | None = None,
    ) -> ReconcileResult:
        """Make the cluster hold exactly ``desired`` for this owner and scope.

        Args:
            desired: the objects wanted (plain Kubernetes dicts).
            keep: owned objects that are not desired but for which this returns True are
                left as they are instead of being deleted.
            dry_run: send every write as a server-side dry run: the API server checks
                each (schema, admission) and stores nothing; the result says what a
                real reconcile would do. An object in a namespace this reconcile would
                create cannot be checked (the namespace does not exist yet): it is
                reported as it would be written.
            progress: called with each change as soon as it is made (or checked).
            adopt: take over a desired object that exists and is not ours (made by
                hand, say): force-apply ours over it, with our labels, reported as
                ``adopt``. Without it such an object is refused and left as it was.
            stale: owned live objects for which this returns True are applied again
                even when their hash is the one wanted (they were edited by hand).

        Raises:
            KubernetesError: a failure that stops the whole reconcile (API unreachable,
                forbidden, a CRD missing that is not one of ``optional_kinds``). An
                object the server rejects (422), whose namespace does not exist, or one
                of the same name that is not ours does not stop it; it is reported in
                the result as ``failed`` or ``refused``.
        """
        wanted = self._prepare_all(desired)
        live = self.owned()
        self._stored = {}
        changes: list[Change] = []
        foreign: dict[tuple[Kind, str], set[str]] = {}
        created: set[str] = set()  # namespaces created (or, in a dry run, to be)
        for key, obj in wanted.items():
            change = self._compare(key, obj, live)
            if change.action == "unchanged" and stale is not None and stale(live[key]):
                change = dataclasses.replace(change, action="update")
            if change.action == "create" and key[2] in self._unowned_names(key, foreign):
                if adopt:
                    change = self._adopt(change, obj, dry_run=dry_run)
                else:
                    change = dataclasses.replace(change, action="refused", error=NOT_OURS)
            if change.action in ("create", "update"):
                if not (dry_run and change.namespace in created):
                    # (the server cannot check an object in a namespace that a dry run
                    # did not create: it is reported as it would be written)
                    change = self._apply(change, obj, live.get(key), dry_run=dry_run)
                if change.kind.kind == "Namespace" and change.action == "create":
                    created.add(change.name)
            changes.append(change)
            if progress is not None:
                progress(change)
        for change in self._deletions(wanted, live, keep):
            if change.action == "delete":
                self.api.delete(
                    change.kind, change.name, change.namespace or None, dry_run=dry_run
                )
            changes.append(change)
            if progress is not None:
                progress(change)
        result = ReconcileResult(tuple(changes), live, dict(self._stored))
        return result

    def delete_all(self) -> ReconcileResult:
        """Delete every object of this owner and scope."""
        return self.reconcile([])

    # -- helpers -------------------------------------------------------------------------

    def _namespaces_for(self, kind: Kind) -> Sequence[str | None]:
        if not kind.namespaced or self.namespaces is None:
            return [None]
        return self.namespaces

    def _prepare_all(self, desired: Iterable[Mapping[str, Any]]) -> dict[Key, Obj]:
        prepared = [self.prepare(obj) for obj in desired]
        prepared.sort(key=lambda item: (apply_rank(item[0][0]), item[0][1], item[0][2]))
        wanted: dict[Key, Obj] = {}
        for key, obj in prepared:
            if key in wanted:
                raise ValueError(f"{key[0].kind} {key[1]}/{key[2]} is desired twice")
            wanted[key] = obj
        return wanted

    def _compare(self, key: Key, obj: Obj, live: Mapping[Key, Obj]) -> Change:
        kind, namespace, name = key
        current = live.get(key)
        if current is None:
            return Change("create", kind, namespace, name)
        live_hash = objects.annotations(current).get(HASH_ANNOTATION)
        if live_hash == objects.annotations(obj)[HASH_ANNOTATION]:
            return Change("unchanged", kind, namespace, name)
        return Change("update", kind, namespace, name)

    def _deletions(
        self,
        wanted: Mapping[Key, Obj],
        live: Mapping[Key, Obj],
        keep: Callable[[Obj], bool] | None,
    ) -> list[Change]:
        gone = [key for key in live if key not in wanted]
        gone.sort(key=lambda k: (delete_rank(k[0]), k[1], k[2]))
        return [
            Change("kept" if keep is not None and keep(live[key]) else "delete", *key)
            for key in gone
        ]

    def _unowned_names(self, key: Key, cache: dict[tuple[Kind, str], set[str]]) -> set[str]:
        kind, namespace, _ = key
        if (kind, namespace) not in cache:
            names: set[str] = set()
            ours = self.labels
            try:
                listed = self.api.list(kind, namespace or None)
            except NotFound:
                listed = []  # no such namespace, or CRD: applying will say which
            for obj in listed:
                labels = objects.labels(obj)
                if any(labels.get(k) != ours[k] for k in (OWNER_LABEL, SCOPE_LABEL)):
                    names.add(objects.name(obj))
            cache[(kind, namespace)] = names
        return cache[(kind, namespace)]

    def _apply(
        self, change: Change, obj: Obj, current: Obj | None, *, dry_run: bool = False
    ) -> Change:
        """Create or update one object; a failure of that object alone is in the change."""
        try:
            if current is None:
                return self._create(change, obj, dry_run=dry_run)
            return self._update(change, obj, current, dry_run=dry_run)
        except CrdMissing as e:
            if change.kind not in self.optional_kinds:
                raise
            log.warning("%s: %s", change, e)
            return dataclasses.replace(change, action="failed", error=e.message)
        except NotFound as e:
            # The object's namespace does not exist: that object fails, not the others.
            log.warning("%s: %s", change, e)
            return dataclasses.replace(change, action="failed", error=e.message)
        except KubernetesError as e:
            if e.temporary or e.code in (0, 401, 403):
                raise
            log.warning("%s: %s", change, e)
            return dataclasses.replace(change, action="failed", error=e.message)

    def _adopt(self, change: Change, obj: Obj, *, dry_run: bool) -> Change:
        """Force-apply ``obj`` over an object of its name that is not ours (``adopt``)."""
        adopted = dataclasses.replace(change, action="adopt")
        try:
            self.api.apply(obj, change.kind, force=True, dry_run=dry_run)
        except KubernetesError as e:
            if e.temporary or e.code in (0, 401, 403):
                raise
            log.warning("%s: %s", adopted, e)
            return dataclasses.replace(adopted, action="failed", error=e.message)
        return adopted

    def _create(self, change: Change, obj: Obj, *, dry_run: bool) -> Change:
        """Apply an object we do not have, without force; refuse it if it was there."""
        try:
            stored = self.api.apply(obj, change.kind, force=False, dry_run=dry_run)
            self._stored[(change.kind, change.namespace, change.name)] = stored
        except Conflict as e:
            log.warning("%s: %s", change, e)
            return dataclasses.replace(change, action="refused", error=f"{NOT_OURS}: {e.message}")
        others = sorted(
            {str(m.get("manager", "")) for m in objects.managed_fields(stored)}
            - {self.api.field_manager}
        )
        if not others:
            return change
        del self._stored[(change.kind, change.namespace, change.name)]
        # It was made by someone else after our list, and none of its fields conflicted
        # with ours: take our fields off it again (an apply of nothing), leaving it as
        # it was.
        if not dry_run:
            meta = {
                "name": change.name,
                **({"namespace": change.namespace} if change.namespace else {}),
            }
            self.api.apply(
                {
                    "apiVersion": change.kind.api_version,
                    "kind": change.kind.kind,
                    "metadata": meta,
                },
                change.kind,
            )
        log.warning("%s: %s (written by %s)", change, NOT_OURS, ", ".join(others))
        return dataclasses.replace(
            change, action="refused", error=f"{NOT_OURS} (written by {', '.join(others)})"
        )

    def _update(self, change: Change, obj: Obj, current: Obj, *, dry_run: bool) -> Change:
        """Force-apply an object we own, if it is still the one we listed (or still ours)."""
        try:
            self._force(change, obj, current, dry_run=dry_run)
            return change
        except Conflict:
            pass
        # It changed since we listed it: write it only if it is still ours (a second
        # change meanwhile fails this object, and the next reconcile tries again).
        found = self.api.get(change.kind, change.name, change.namespace or None)
        if found is None:
            return self._create(dataclasses.replace(change, action="create"), obj, dry_run=dry_run)
        if not self._ours(found):
            return dataclasses.replace(change, action="refused", error=NOT_OURS)
        self._force(change, obj, found, dry_run=dry_run)
        return change

    def _force(self, change: Change, obj: Obj, current: Obj, *, dry_run: bool) -> None:
        """A forced apply of ``obj`` that the server refuses unless ``current`` is live."""
        version = objects.metadata(current).get("resourceVersion")
        meta = {**obj["metadata"], "resourceVersion": version} if version else obj["metadata"]
        stored = self.api.apply(
            {**obj, "metadata": meta}, change.kind, force=True, dry_run=dry_run
        )
        self._stored[(change.kind, change.namespace, change.name)] = stored

    def _ours(self, obj: Mapping[str, Any]) -> bool:
        labels = objects.labels(obj)
        return all(labels.get(k) == self.labels[k] for k in (OWNER_LABEL, SCOPE_LABEL))
